//! Test support: a fresh database per test on SQLite (a temporary file) or PostgreSQL (a new
//! database on the server named by `DANGAN_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`, dropped when the test ends), an app started
//! on it, a server on a real port, and builders of valid input.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::NaiveDate;
use dangan_app::persons::PersonInput;
use dangan_app::{Actor, App, KeyRing, Settings, StoreConfig};
use dangan_domain::id_number::check_char;
use sqlx::Connection;

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
    pub async fn start_with(db: TestDb, mut settings: Settings) -> TestApp {
        let keys_dir = tempfile::tempdir().expect("key directory");
        if settings.vault.is_none() {
            settings.vault = Some(dangan_app::VaultSettings {
                root: keys_dir.path().join("vault"),
                cipher: dangan_vault::Cipher::Aes256Gcm,
                max_upload: 64 * 1024 * 1024,
                min_dpi: 300,
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

    /// A staff actor of the given role, created as a real user by the security officer.
    pub async fn actor(&self, username: &str, role: dangan_app::Role) -> Actor {
        self.app
            .add_user(&self.security, username, None, role, Some(TEST_PASSWORD))
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
        let input = dangan_app::register::QueryInput {
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
