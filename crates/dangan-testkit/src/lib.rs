//! Test support: a fresh database per test on SQLite (a temporary file) or PostgreSQL (a new
//! database on the server named by `DANGAN_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`, dropped when the test ends), an app started
//! on it, a server on a real port, and builders of valid input.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::NaiveDate;
use dangan_app::access::persons::PersonInput;
use dangan_app::{Actor, App, KeyRing, Settings, StoreConfig};
use dangan_domain::id_number::check_char;
use sqlx::Connection;

pub mod insider;

/// The PostgreSQL server the tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("DANGAN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDb {
    /// How to open it.
    pub config: StoreConfig,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    /// A new SQLite file in a temporary directory.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        TestDb {
            config: StoreConfig::SqliteFile(dir.path().join("dangan.db")),
            _dir: Some(dir),
            pg_name: None,
        }
    }

    /// A new, empty PostgreSQL database. Fails the test when the server is not reachable: the
    /// PostgreSQL half of the suite is never skipped silently.
    pub async fn postgres() -> TestDb {
        let admin = postgres_admin_url();
        let name = format!(
            "dangan_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            chrono::Utc::now().timestamp_micros() % 1_000_000
        );
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
            panic!("PostgreSQL is needed by this test ({admin}): {e}. Start it or set DANGAN_TEST_DATABASE_URL.")
        });
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        conn.close().await.ok();
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        TestDb {
            config: StoreConfig::Postgres(format!("{base}/{name}")),
            _dir: None,
            pg_name: Some(name),
        }
    }

    /// Runs raw SQL on the database on a connection of its own, as an older version of Dangan or
    /// an insider with write access would (for tests that tamper or upgrade).
    pub async fn execute(&self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match &self.config {
            StoreConfig::SqliteFile(path) => {
                let url = format!("sqlite://{}", path.display());
                let mut c = sqlx::SqliteConnection::connect(&url).await.expect("sqlite");
                sqlx::raw_sql(sql).execute(&mut c).await.expect("raw SQL");
            }
            StoreConfig::Postgres(url) => {
                let mut c = sqlx::PgConnection::connect(url).await.expect("postgres");
                sqlx::raw_sql(sql).execute(&mut c).await.expect("raw SQL");
            }
        }
    }

    /// The backend's name.
    pub fn backend(&self) -> &'static str {
        match self.config {
            StoreConfig::SqliteFile(_) => "sqlite",
            StoreConfig::Postgres(_) => "postgres",
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // Drop runs inside the test's runtime; a thread with its own runtime does the async work.
        let admin = postgres_admin_url();
        let handle = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                            .execute(&mut conn)
                            .await;
                    }
                });
            }
        });
        let _ = handle.join();
    }
}

/// The password every test account ends up with.
pub const TEST_PASSWORD: &str = "test-pass-2026";

/// An app started on a test database, with its three officers signed in (their generated
/// passwords already changed to [`TEST_PASSWORD`], as a real first sign-in requires).
#[derive(Debug)]
pub struct TestApp {
    /// The app.
    pub app: Arc<App>,
    /// 系统管理员
    pub admin: Actor,
    /// 安全保密员
    pub security: Actor,
    /// 安全审计员
    pub auditor: Actor,
    /// The generated passwords printed at first start (username, password).
    pub initial_passwords: Vec<(String, String)>,
    /// Keeps the key directory (and the vault under it, `vault/`) alive.
    pub keys_dir: tempfile::TempDir,
    /// Keeps the database alive.
    pub db: TestDb,
}

impl TestApp {
    /// Starts the app on `db` with default settings.
    pub async fn start(db: TestDb) -> TestApp {
        TestApp::start_with(db, Settings::default()).await
    }

    /// Starts the app on `db` with the given settings.
    pub async fn start_with(db: TestDb, settings: Settings) -> TestApp {
        TestApp::start_configured(db, settings, false).await
    }

    /// Starts the app on `db` making PDF/A-2B preservation copies of raster scans (as `serve`
    /// does by default).
    pub async fn start_preserving(db: TestDb) -> TestApp {
        TestApp::start_configured(db, Settings::default(), true).await
    }

    async fn start_configured(db: TestDb, mut settings: Settings, copies: bool) -> TestApp {
        let keys_dir = tempfile::tempdir().expect("key directory");
        if settings.vault.is_none() {
            settings.vault = Some(dangan_app::VaultSettings {
                root: keys_dir.path().join("vault"),
                s3: None,
                cipher: dangan_vault::Cipher::Aes256Gcm,
                digests: dangan_vault::Digests::default_for(dangan_vault::Cipher::Aes256Gcm),
                seal: dangan_app::SealAlgorithm::default(),
                max_upload: 64 * 1024 * 1024,
                min_dpi: 300,
                parse_limit: dangan_vault::store::DEFAULT_PARSE_LIMIT,
                // Off unless asked for, so that tests counting files count the scans they
                // store; the tests of preservation copies (and the browser walk-through) ask.
                preservation_copies: copies,
            });
        }
        let keys = KeyRing::load_or_create(keys_dir.path()).expect("keys");
        let (app, boot) = App::start(&db.config, settings, keys)
            .await
            .expect("app starts");
        let mut signed_in = Vec::new();
        let mut initial_passwords = Vec::new();
        for (username, _, password) in &boot.initial_accounts {
            let first = app
                .login(username, password, "test")
                .await
                .expect("officer signs in");
            assert!(
                first.must_change_password,
                "a generated password must be changed"
            );
            app.change_password(&first.user, &first.token, password, TEST_PASSWORD)
                .await
                .expect("password changed");
            let login = app
                .login(username, TEST_PASSWORD, "test")
                .await
                .expect("officer signs in again");
            signed_in.push(login.user);
            initial_passwords.push((username.clone(), password.clone()));
        }
        let mut it = signed_in.into_iter();
        let (admin, security, auditor) = (
            it.next().expect("admin"),
            it.next().expect("secadmin"),
            it.next().expect("auditor"),
        );
        TestApp {
            app: Arc::new(app),
            admin,
            security,
            auditor,
            initial_passwords,
            keys_dir,
            db,
        }
    }

    /// A staff actor of the given role, created as a real user: a business account by the
    /// security officer; an officer account (三员) from the console, as `dangan user add` does
    /// (one officer alone may not create one).
    pub async fn actor(&self, username: &str, role: dangan_app::Role) -> Actor {
        let creator = if role.is_officer() {
            Actor::system()
        } else {
            self.security.clone()
        };
        self.app
            .add_user(&creator, username, None, role, Some(TEST_PASSWORD))
            .await
            .expect("user created");
        self.app
            .login(username, TEST_PASSWORD, "test")
            .await
            .expect("user signs in")
            .user
    }

    /// Registers a query by `actor` about `person`, so that the actor may open the archive.
    pub async fn register(&self, actor: &Actor, person: dangan_app::ids::PersonId) {
        let input = dangan_app::access::register::QueryInput {
            person_id: person.0,
            enquirer_name: "李查询".to_owned(),
            enquirer_id_number: "11010519491231002X".to_owned(),
            question: "参保登记材料".to_owned(),
            purpose: "本人办理业务".to_owned(),
        };
        self.app
            .register_query(actor, &input)
            .await
            .expect("query registered");
    }
}

/// A server on a real port (127.0.0.1, chosen by the OS) serving the app's router.
#[derive(Debug)]
pub struct TestServer {
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    /// An HTTP client.
    pub client: reqwest::Client,
    /// The test app behind it.
    pub test_app: TestApp,
}

impl TestServer {
    /// Spawns the router of `test_app` on port 0.
    pub async fn spawn(test_app: TestApp) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let router = dangan_web::router(Arc::clone(&test_app.app));
        tokio::spawn(async move {
            axum::serve(listener, router).await.expect("server runs");
        });
        TestServer {
            base_url: format!("http://{addr}"),
            client: reqwest::Client::new(),
            test_app,
        }
    }

    /// Signs in over HTTP and returns the bearer token.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let res = self
            .client
            .post(format!("{}/api/v1/auth/login", self.base_url))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .expect("login request");
        assert_eq!(res.status(), 200, "login succeeds");
        let body: serde_json::Value = res.json().await.expect("json");
        body["token"].as_str().expect("token").to_owned()
    }
}

/// A valid identity number for a county, birth date and sequence.
pub fn id_number(county: &str, birth: NaiveDate, seq: u32) -> String {
    let body = format!("{county}{}{:03}", birth.format("%Y%m%d"), seq % 1000);
    let mut s = body.clone();
    s.push(check_char(body.as_bytes()));
    s
}

/// A valid person in 湘潭县 (430321), distinct for each `n` below 1000.
pub fn person_input(n: u32, name: &str) -> PersonInput {
    let birth =
        NaiveDate::from_ymd_opt(1960, 1, 1).expect("date") + chrono::Duration::days(i64::from(n));
    PersonInput {
        id_number: id_number("430321", birth, n % 1000),
        name: name.to_owned(),
        division_code: "430321".to_owned(),
        status: None,
        tier: Some(500),
        identity: None,
    }
}

/// Runs each `async fn NAME(db: TestDb) { … }` twice, as `NAME::on_sqlite` and
/// `NAME::on_postgres`: the one conformance suite for both backends.
#[macro_export]
macro_rules! on_both_backends {
    ($(async fn $name:ident($db:ident: TestDb) $body:block)*) => {
        $(
            mod $name {
                use super::*;

                async fn run($db: $crate::TestDb) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_sqlite() {
                    run($crate::TestDb::sqlite().await).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_postgres() {
                    run($crate::TestDb::postgres().await).await
                }
            }
        )*
    };
}

/// A real S3-compatible server (s3s-fs: the S3 protocol over HTTP, objects as files) listening
/// on 127.0.0.1 with signature-checked credentials, for the S3 backend and backup tests.
pub struct S3Server {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    /// The bucket created for the test.
    pub bucket: String,
    /// Where the server keeps its objects (`dir/BUCKET/KEY`), for tamper tests.
    pub dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for S3Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Server")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .finish()
    }
}

/// The test server's access key.
pub const S3_ACCESS_KEY: &str = "dangan-test";
/// The test server's secret key.
pub const S3_SECRET_KEY: &str = "dangan-test-secret-2026";

impl S3Server {
    /// Starts a server with one empty bucket, `archive`.
    pub async fn start() -> S3Server {
        let dir = tempfile::tempdir().expect("s3 directory");
        let bucket = "archive".to_owned();
        std::fs::create_dir_all(dir.path().join(&bucket)).expect("bucket directory");
        let (endpoint, task) = S3Server::listen(dir.path()).await;
        S3Server {
            endpoint,
            bucket,
            dir,
            task,
        }
    }

    /// Comes back up after [`S3Server::stop`] with the same objects, on a new port (take a new
    /// [`S3Server::config`]).
    pub async fn restart(&mut self) {
        self.task.abort();
        let (endpoint, task) = S3Server::listen(self.dir.path()).await;
        self.endpoint = endpoint;
        self.task = task;
    }

    async fn listen(root: &std::path::Path) -> (String, tokio::task::JoinHandle<()>) {
        use hyper_util::rt::{TokioExecutor, TokioIo};
        let fs = s3s_fs::FileSystem::new(root).expect("s3s-fs");
        let mut builder = s3s::service::S3ServiceBuilder::new(fs);
        builder.set_auth(s3s::auth::SimpleAuth::from_single(
            S3_ACCESS_KEY,
            S3_SECRET_KEY,
        ));
        let service = builder.build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind s3");
        let addr = listener.local_addr().expect("s3 address");
        let task = tokio::spawn(async move {
            let http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            // Connections live in this task's set: stopping the server drops them all, as a
            // server that goes down would.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let conn = http
                    .serve_connection(TokioIo::new(socket), service.clone())
                    .into_owned();
                connections.spawn(async move {
                    let _ = conn.await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
        (format!("http://{addr}"), task)
    }

    /// The vault's configuration for this server.
    pub fn config(&self) -> dangan_vault::S3Config {
        dangan_vault::S3Config {
            endpoint: self.endpoint.clone(),
            bucket: self.bucket.clone(),
            region: "us-east-1".to_owned(),
            access_key: S3_ACCESS_KEY.to_owned(),
            secret_key: S3_SECRET_KEY.to_owned(),
            allow_http: true,
        }
    }

    /// The file in which the server keeps an object.
    pub fn object_path(&self, key: &str) -> std::path::PathBuf {
        self.dir.path().join(&self.bucket).join(key)
    }

    /// Goes down: the port is closed and every open connection dropped.
    pub async fn stop(&mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
        // The connections' own tasks end at their next poll.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A real greyscale PNG scan declaring 300 dpi (`pHYs`), about `len` bytes long: its pixels are
/// derived from `seed` and barely compress, so the file is as long as its pixels. It decodes, so
/// identification finds it readable.
pub fn png_scan(len: usize, seed: u8) -> Vec<u8> {
    let width = 256u32;
    let height = u32::try_from(len / 256).unwrap_or(u32::MAX).max(1);
    let mut state = u64::from(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let pixels: Vec<u8> = (0..width as usize * height as usize)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, width, height);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_pixel_dims(Some(png::PixelDimensions {
        xppu: 11811,
        yppu: 11811,
        unit: png::Unit::Meter,
    }));
    let mut w = enc.write_header().expect("png header");
    w.write_image_data(&pixels).expect("png data");
    w.finish().expect("png end");
    out
}

/// A real greyscale JPEG scan of `width` × `height` pixels declaring `dpi` in its JFIF header
/// (e.g. 72 dpi, a screen image rather than a scan). It decodes.
pub fn jpeg_scan(width: u16, height: u16, dpi: u16) -> Vec<u8> {
    use image::codecs::jpeg::{JpegEncoder, PixelDensity};
    let pixels: Vec<u8> = (0..usize::from(width) * usize::from(height))
        .map(|i| (i % 251) as u8)
        .collect();
    let mut out = Vec::new();
    let mut enc = JpegEncoder::new_with_quality(&mut out, 85);
    enc.set_pixel_density(PixelDensity::dpi(dpi));
    enc.encode(
        &pixels,
        u32::from(width),
        u32::from(height),
        image::ExtendedColorType::L8,
    )
    .expect("jpeg");
    out
}

/// A 17-byte text file, e.g. to be sent under a `.pdf` name: no scan at all.
pub const TEXT_NOT_A_PDF: &[u8] = b"this is not a pdf";

impl TestApp {
    /// 张三 with an enrolment of 2024-05-06 holding one item, the application form (paper and
    /// electronic): the person and the material.
    pub async fn enrolment_material(
        &self,
    ) -> (dangan_app::ids::PersonId, dangan_app::ids::MaterialId) {
        let p = self
            .app
            .create_person(&self.admin, &person_input(1, "张三"))
            .await
            .expect("person");
        let input = dangan_app::intake::events::EventInput {
            person_id: Some(p.id.0),
            business_type: "enrolment".into(),
            business_date: "2024-05-06".into(),
            materials: vec![dangan_app::intake::events::MaterialInput {
                material_code: "enrolment_form".into(),
                pages: 2,
                carrier: Some("both".into()),
                ..dangan_app::intake::events::MaterialInput::default()
            }],
            ..dangan_app::intake::events::EventInput::default()
        };
        let ev = self
            .app
            .record_event(&self.admin, &input)
            .await
            .expect("event")
            .event;
        (p.id, ev.materials[0].id)
    }

    /// A sealed volume of `year` (class 参保登记) holding one paper enrolment form of `pages`
    /// pages of a new person (`n` makes their identity number): recorded, handed over, received,
    /// organised and sealed through the use-cases, as an archivist would. One volume per year.
    pub async fn sealed_volume(
        &self,
        n: u32,
        year: i32,
        pages: u32,
    ) -> dangan_app::organising::volumes::VolumeView {
        use dangan_app::intake::handovers::{
            ConfirmInput, HandoverInput, HandoverItemInput, ReceiptInput,
        };
        let p = self
            .app
            .create_person(&self.admin, &person_input(n, "王五"))
            .await
            .expect("person");
        let input = dangan_app::intake::events::EventInput {
            person_id: Some(p.id.0),
            business_type: "enrolment".into(),
            business_date: format!("{year}-05-06"),
            materials: vec![dangan_app::intake::events::MaterialInput {
                material_code: "enrolment_form".into(),
                pages: pages.into(),
                carrier: Some("paper".into()),
                ..dangan_app::intake::events::MaterialInput::default()
            }],
            ..dangan_app::intake::events::EventInput::default()
        };
        let ev = self
            .app
            .record_event(&self.admin, &input)
            .await
            .expect("event")
            .event;
        // 闭环交接: a handler hands over, the administrator receives.
        let handler = self
            .actor(&format!("kit-handler-{n}"), dangan_app::Role::Handler)
            .await;
        let h = self
            .app
            .create_handover(
                &handler,
                &HandoverInput {
                    items: vec![HandoverItemInput {
                        material_id: ev.materials[0].id.0,
                        quantity: None,
                    }],
                    note: None,
                },
            )
            .await
            .expect("handover");
        self.app
            .confirm_handover(
                &self.admin,
                h.id,
                &ConfirmInput {
                    items: vec![ReceiptInput {
                        item_id: h.items[0].id.0,
                        result: "ok".into(),
                        note: None,
                    }],
                    extras: vec![],
                },
            )
            .await
            .expect("receipt");
        let drafts = self
            .app
            .build_volumes(
                &self.admin,
                year,
                dangan_domain::business::BusinessClass::Registration,
            )
            .await
            .expect("volumes");
        self.app
            .seal_volume(
                &self.admin,
                drafts[0].id,
                dangan_app::organising::volumes::FailedScans::Refuse,
            )
            .await
            .expect("sealed")
    }
}

/// Copies a directory tree (a data directory with its keys, for a test that tampers with a copy).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create the copy");
    for entry in std::fs::read_dir(from).expect("read the directory") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy a file");
        }
    }
}
