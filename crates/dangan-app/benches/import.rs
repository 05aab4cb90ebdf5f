//! Benchmark of bulk migration (`dangan import contributions`; prints its figures, not a timed
//! test).
//!
//! N contribution rows (default 1 000 000) for P generated persons (default 20 000, inserted
//! first) are written as a UTF-8 CSV file with the Chinese headers of an agency export. On SQLite
//! (a temporary file) and on PostgreSQL (a fresh database from the testkit) it measures:
//!
//! - **raw baseline** — the same rows, already parsed and with their person ids resolved, written
//!   with no validation: on SQLite plain multi-row `INSERT` statements as large as the bind limit
//!   allows, once in one transaction and once committed every batch as the import commits (with
//!   `synchronous=FULL` a commit is a WAL sync, and the WAL is checkpointed as it grows, while one
//!   long transaction leaves its checkpoint to after the clock stops); on PostgreSQL
//!   `COPY … FROM STDIN` in one transaction;
//! - **import** — `ImportPlan::prepare` and `App::import_file` on the CSV file, end to end: the
//!   UTF-8 check, reading, decoding, the API's validation of every row, person lookups, batched
//!   upserts with one log entry and one checkpoint per batch.
//!
//! and prints rows/s of both and import/raw in percent.
//!
//! With `DANGAN_BENCH_IMPORT_KIND=persons` it imports N persons instead (`dangan import
//! persons`; a CSV of the demo generator's persons) into an empty database. The baseline there
//! is the batched raw insert: the same rows as stored (blind index and sealed number computed
//! on the clock, as any writer of the table must), in multi-row `INSERT`s of as many rows as the
//! bind limit allows, committed every batch, through the store's own write transactions. Both
//! print their rate over every million rows, and the last million's slowdown against the first.
//!
//! `cargo bench -p dangan-app --bench import`. Environment: `DANGAN_BENCH_ROWS` (default
//! 1000000), `DANGAN_BENCH_IMPORT_PERSONS` (default 20000), `DANGAN_BENCH_BATCH` (default the
//! import's), `DANGAN_BENCH_IMPORT_KIND` (`contributions` or `persons`),
//! `DANGAN_BENCH_SKIP_PG=1`, `DANGAN_TEST_DATABASE_URL`.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use dangan_app::administration::demo::{self, DemoPerson};
use dangan_app::integration::import::{DEFAULT_BATCH, ImportKind, ImportOptions, ImportPlan};
use dangan_app::{Actor, App, KeyRing, Settings, StoreConfig};
use dangan_domain::catalogue::Catalogue;
use dangan_store::persons;
use dangan_testkit::TestDb;
use sqlx::{Connection, Executor};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One generated contribution, parsed (the baseline's input).
struct Row {
    person: usize,
    source_id: String,
    year: i32,
    tier: i64,
    personal_fen: i64,
    subsidy_fen: i64,
    collective_fen: i64,
    paid_on: NaiveDate,
    channel: &'static str,
}

const TIERS: [i64; 6] = [200, 300, 500, 1000, 2000, 3000];
const CHANNELS: [&str; 3] = ["银行代扣", "税务征收", "窗口缴费"];

fn rows(n: usize, persons: usize) -> Vec<Row> {
    (0..n)
        .map(|i| {
            let person = i % persons;
            let k = i / persons;
            let year = 2000 + (k % 25) as i32;
            let tier = TIERS[(i / 7) % TIERS.len()];
            Row {
                person,
                source_id: format!("JF{i:09}"),
                year,
                tier,
                personal_fen: tier * 100,
                subsidy_fen: 3_000 + (i % 3) as i64 * 1_000,
                collective_fen: if i % 5 == 0 { 5_000 } else { 0 },
                paid_on: NaiveDate::from_ymd_opt(year, 1 + (i % 12) as u32, 1 + (i % 28) as u32)
                    .expect("date"),
                channel: CHANNELS[i % CHANNELS.len()],
            }
        })
        .collect()
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

fn write_csv(path: &Path, rows: &[Row], people: &[DemoPerson]) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).expect("csv"));
    writeln!(
        w,
        "来源编号,身份证号码,缴费年度,缴费档次,个人缴费,政府补贴,集体补助,缴费日期,缴费渠道"
    )
    .expect("write");
    for r in rows {
        writeln!(
            w,
            "{},{},{},{},{},{},{},{},{}",
            r.source_id,
            people[r.person].id_number,
            r.year,
            r.tier,
            yuan(r.personal_fen),
            yuan(r.subsidy_fen),
            yuan(r.collective_fen),
            r.paid_on,
            r.channel
        )
        .expect("write");
    }
    w.flush().expect("flush");
}

/// A fresh database with the app started on it (migrations, seeds) and the persons inserted;
/// returns the persons' ids by identity number.
async fn fresh(backend: &str, people: &[DemoPerson]) -> (TestDb, App, tempfile::TempDir, Vec<i64>) {
    let (db, app, keys) = empty(backend).await;
    let mut tx = app.store().begin_write().await.expect("tx");
    let now = Utc::now();
    let mut ids = Vec::with_capacity(people.len());
    for p in people {
        let id = persons::insert(&mut tx, &p.as_new_person(), now)
            .await
            .expect("person");
        ids.push(id.0);
    }
    tx.commit().await.expect("commit");
    (db, app, keys, ids)
}

const COLUMNS: &str = "person_id, source_system, source_id, year, tier, personal_fen, subsidy_fen, collective_fen, paid_on, channel, updated_at";

/// Plain multi-row `INSERT`s as large as SQLite's bind limit allows, committed every `commit_every`
/// rows (`usize::MAX`: one transaction).
async fn raw_sqlite(path: &Path, rows: &[Row], ids: &[i64], commit_every: usize) -> Duration {
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
        .foreign_keys(true);
    let mut conn = sqlx::SqliteConnection::connect_with(&opts)
        .await
        .expect("sqlite");
    let per_statement = 32_766 / 11;
    let start = Instant::now();
    let now = Utc::now();
    for tx_rows in rows.chunks(commit_every) {
        conn.execute("BEGIN").await.expect("begin");
        for chunk in tx_rows.chunks(per_statement) {
            // Anonymous `?` (numbered parameters make SQLite's prepare quadratic).
            let values = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()];
            let sql = format!(
                "INSERT INTO contributions ({COLUMNS}) VALUES {}",
                values.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for r in chunk {
                q = q
                    .bind(ids[r.person])
                    .bind("bench")
                    .bind(&r.source_id)
                    .bind(r.year)
                    .bind(r.tier)
                    .bind(r.personal_fen)
                    .bind(r.subsidy_fen)
                    .bind(r.collective_fen)
                    .bind(r.paid_on)
                    .bind(r.channel)
                    .bind(now);
            }
            q.execute(&mut conn).await.expect("insert");
        }
        conn.execute("COMMIT").await.expect("commit");
    }
    start.elapsed()
}

async fn raw_postgres(url: &str, rows: &[Row], ids: &[i64]) -> Duration {
    let mut conn = sqlx::PgConnection::connect(url).await.expect("postgres");
    let start = Instant::now();
    let now = Utc::now().to_rfc3339();
    let mut copy = conn
        .copy_in_raw(&format!("COPY contributions ({COLUMNS}) FROM STDIN"))
        .await
        .expect("copy");
    let mut buf = String::with_capacity(1 << 20);
    for r in rows {
        use std::fmt::Write as _;
        writeln!(
            buf,
            "{}\tbench\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{now}",
            ids[r.person],
            r.source_id,
            r.year,
            r.tier,
            r.personal_fen,
            r.subsidy_fen,
            r.collective_fen,
            r.paid_on,
            r.channel
        )
        .expect("format");
        if buf.len() > (1 << 20) - 256 {
            copy.send(buf.as_bytes()).await.expect("send");
            buf.clear();
        }
    }
    copy.send(buf.as_bytes()).await.expect("send");
    copy.finish().await.expect("finish");
    start.elapsed()
}

async fn count(app: &App) -> i64 {
    let mut tx = app.store().begin().await.expect("tx");
    let n = dangan_store::on_conn!(&mut tx, c => {
        sqlx::query_scalar("SELECT COUNT(*) FROM contributions").fetch_one(c).await
    })
    .expect("count");
    tx.rollback().await.expect("rollback");
    n
}

fn rate(rows: usize, d: Duration) -> f64 {
    rows as f64 / d.as_secs_f64()
}

/// The raw baseline on a fresh database; returns its time.
async fn raw(backend: &str, people: &[DemoPerson], rows: &[Row], commit_every: usize) -> Duration {
    let (db, app, _keys, ids) = fresh(backend, people).await;
    let took = match &db.config {
        StoreConfig::SqliteFile(path) => raw_sqlite(path, rows, &ids, commit_every).await,
        StoreConfig::Postgres(url) => raw_postgres(url, rows, &ids).await,
    };
    assert_eq!(
        count(&app).await,
        rows.len() as i64,
        "baseline wrote every row"
    );
    app.store().close().await;
    took
}

/// The import of `csv` as `dangan import` plans it, from the start.
fn plan(kind: ImportKind, csv: &Path, batch: usize) -> ImportPlan {
    ImportPlan::prepare(ImportOptions {
        kind,
        path: csv.to_owned(),
        format: None,
        encoding: None,
        source_system: "bench".to_owned(),
        rejects: None,
        batch,
        restart: true,
        stop_after_rows: None,
    })
    .expect("plan")
}

async fn bench(backend: &str, people: &[DemoPerson], rows: &[Row], csv: &Path, batch: usize) {
    let raw_one = raw(backend, people, rows, usize::MAX).await;
    let raw_batched = match backend {
        "sqlite" => Some(raw(backend, people, rows, batch).await),
        _ => None,
    };

    let (db, app, _keys, _) = fresh(backend, people).await;
    let start = Instant::now();
    let plan = plan(ImportKind::Contributions, csv, batch);
    let report = app
        .import_file(&Actor::system(), plan, |_| {})
        .await
        .expect("import");
    let import = start.elapsed();
    assert_eq!(report.counts.accepted, rows.len() as u64, "{report:?}");
    assert_eq!(
        count(&app).await,
        rows.len() as i64,
        "import wrote every row"
    );
    app.store().close().await;
    drop(db);

    let n = rows.len();
    let i = rate(n, import);
    let label = match backend {
        "sqlite" => "INSERT, one transaction",
        _ => "COPY FROM STDIN",
    };
    println!(
        "import {backend:<8} rows={n} persons={} batch={batch}",
        people.len()
    );
    let line = |what: &str, d: Duration| {
        println!(
            "  raw ({what}) {:>9.0} rows/s ({:.1} s)  import {i:>9.0} rows/s ({:.1} s)  import/raw {:>5.1} %",
            rate(n, d),
            d.as_secs_f64(),
            import.as_secs_f64(),
            100.0 * i / rate(n, d)
        );
    };
    line(label, raw_one);
    if let Some(d) = raw_batched {
        line(&format!("INSERT, a commit every {batch} rows"), d);
    }
}

/// One person of the persons mode, as written to the CSV and inserted by the baseline.
struct PersonLine {
    id_number: String,
    name: String,
    sex: &'static str,
    birth_date: NaiveDate,
    division_code: &'static str,
    tier: i64,
    identity: String,
}

fn person_lines(n: usize) -> Vec<PersonLine> {
    demo::people(11, &Catalogue::builtin())
        .take(n)
        .map(|p| PersonLine {
            sex: p.sex,
            birth_date: p.birth_date,
            division_code: p.division_code,
            tier: p.tier,
            identity: p.identity,
            name: p.name,
            id_number: p.id_number,
        })
        .collect()
}

fn write_persons_csv(path: &Path, people: &[PersonLine]) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).expect("csv"));
    writeln!(w, "身份证号码,姓名,行政区划代码,参保状态,缴费档次,参保身份").expect("write");
    for p in people {
        writeln!(
            w,
            "{},{},{},正常参保,{},{}",
            p.id_number, p.name, p.division_code, p.tier, p.identity
        )
        .expect("write");
    }
    w.flush().expect("flush");
}

/// An empty database with the app started on it (migrations, seeds, keys).
async fn empty(backend: &str) -> (TestDb, App, tempfile::TempDir) {
    let db = if backend == "sqlite" {
        TestDb::sqlite().await
    } else {
        TestDb::postgres().await
    };
    let keys = tempfile::tempdir().expect("keys");
    let (app, _) = App::start(
        &db.config,
        Settings::default(),
        KeyRing::load_or_create(keys.path()).expect("keys"),
    )
    .await
    .expect("app");
    (db, app, keys)
}

const PERSON_COLUMNS: &str = "id_number_enc, id_number_hmac, name, sex, birth_date, division_code, status, tier, identity, created_at, updated_at";

/// The batched raw insert of persons; returns the time at the end of every million rows and at
/// the end.
async fn raw_persons(app: &App, people: &[PersonLine], batch: usize) -> Vec<Duration> {
    let fields = app.store().field_cipher().expect("field cipher");
    let backend = app.store().backend();
    let max_binds = match backend {
        dangan_store::Backend::Sqlite => 32_766,
        dangan_store::Backend::Postgres => 65_535,
    };
    let per_statement = max_binds / 11;
    let mut marks = Vec::new();
    let start = Instant::now();
    let now = Utc::now();
    let mut done = 0;
    for tx_rows in people.chunks(batch) {
        let mut tx = app.store().begin_write().await.expect("tx");
        for chunk in tx_rows.chunks(per_statement) {
            let sealed: Vec<persons::SealedId> = chunk
                .iter()
                .map(|p| persons::seal_id(&fields, &p.id_number).expect("seal"))
                .collect();
            let values = (0..chunk.len())
                .map(|r| match backend {
                    dangan_store::Backend::Sqlite => "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)".to_owned(),
                    dangan_store::Backend::Postgres => format!(
                        "({})",
                        (1..=11)
                            .map(|i| format!("${}", r * 11 + i))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!("INSERT INTO persons ({PERSON_COLUMNS}) VALUES {values}");
            dangan_store::on_conn!(&mut tx, c => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (p, id) in chunk.iter().zip(&sealed) {
                    q = q
                        .bind(id.sealed_text())
                        .bind(&id.index)
                        .bind(&p.name)
                        .bind(p.sex)
                        .bind(p.birth_date)
                        .bind(p.division_code)
                        .bind("active")
                        .bind(p.tier)
                        .bind(&p.identity)
                        .bind(now)
                        .bind(now);
                }
                q.execute(&mut *c).await.map(|r| r.rows_affected())
            })
            .expect("insert");
        }
        tx.commit().await.expect("commit");
        let before = done;
        done += tx_rows.len();
        if done / 1_000_000 > before / 1_000_000 {
            marks.push(start.elapsed());
        }
    }
    if !done.is_multiple_of(1_000_000) {
        marks.push(start.elapsed());
    }
    marks
}

async fn count_persons(app: &App) -> i64 {
    let mut tx = app.store().begin().await.expect("tx");
    let n = persons::count(&mut tx).await.expect("count");
    tx.rollback().await.expect("rollback");
    n
}

/// Rows/s of each million from the marks, and the last million's slowdown against the first.
fn per_million(n: usize, marks: &[Duration]) -> String {
    let mut rates = Vec::new();
    let mut prev = Duration::ZERO;
    for (i, m) in marks.iter().enumerate() {
        let rows = (n - i * 1_000_000).min(1_000_000);
        rates.push(rows as f64 / (*m - prev).as_secs_f64());
        prev = *m;
    }
    let list: Vec<String> = rates.iter().map(|r| format!("{r:.0}")).collect();
    let full: Vec<f64> = rates
        .iter()
        .enumerate()
        .filter(|(i, _)| n >= (i + 1) * 1_000_000)
        .map(|(_, r)| *r)
        .collect();
    match (full.first(), full.last()) {
        (Some(a), Some(b)) if full.len() > 1 => format!(
            "per million rows/s [{}], first/last million {:.2}x",
            list.join(", "),
            a / b
        ),
        _ => format!("per million rows/s [{}]", list.join(", ")),
    }
}

async fn bench_persons(backend: &str, people: &[PersonLine], csv: &Path, batch: usize) {
    let n = people.len();
    let (db, app, _keys) = empty(backend).await;
    let raw = raw_persons(&app, people, batch).await;
    assert_eq!(
        count_persons(&app).await,
        n as i64,
        "baseline wrote every row"
    );
    app.store().close().await;
    drop(db);

    let (db, app, _keys) = empty(backend).await;
    let start = Instant::now();
    let plan = plan(ImportKind::Persons, csv, batch);
    let mut marks = Vec::new();
    let report = app
        .import_file(&Actor::system(), plan, |p| {
            if p.counts.rows / 1_000_000 > marks.len() as u64 {
                marks.push(start.elapsed());
            }
        })
        .await
        .expect("import");
    let import = start.elapsed();
    if !n.is_multiple_of(1_000_000) {
        marks.push(import);
    }
    assert_eq!(report.counts.accepted, n as u64, "{report:?}");
    assert_eq!(
        count_persons(&app).await,
        n as i64,
        "import wrote every row"
    );
    app.store().close().await;
    drop(db);

    let raw_total = *raw.last().expect("marks");
    println!("import persons {backend:<8} rows={n} batch={batch}");
    println!(
        "  raw (multi-row INSERT, sealed, a commit every {batch} rows) {:>9.0} rows/s ({:.1} s); {}",
        rate(n, raw_total),
        raw_total.as_secs_f64(),
        per_million(n, &raw)
    );
    println!(
        "  import {:>9.0} rows/s ({:.1} s); {}",
        rate(n, import),
        import.as_secs_f64(),
        per_million(n, &marks)
    );
    println!(
        "  import/raw {:.1} %",
        100.0 * raw_total.as_secs_f64() / import.as_secs_f64()
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let n = env_usize("DANGAN_BENCH_ROWS", 1_000_000);
        let p = env_usize("DANGAN_BENCH_IMPORT_PERSONS", 20_000);
        let batch = env_usize("DANGAN_BENCH_BATCH", DEFAULT_BATCH);
        let skip_pg = std::env::var("DANGAN_BENCH_SKIP_PG").is_ok_and(|v| v == "1");
        let backends: &[&str] = if skip_pg {
            &["sqlite"]
        } else {
            &["sqlite", "postgres"]
        };
        if std::env::var("DANGAN_BENCH_IMPORT_KIND").is_ok_and(|k| k == "persons") {
            let people = person_lines(n);
            let dir = tempfile::tempdir().expect("dir");
            let csv = dir.path().join("persons.csv");
            write_persons_csv(&csv, &people);
            let size = std::fs::metadata(&csv).expect("csv").len();
            println!("input: {n} persons, {:.1} MB of CSV", size as f64 / 1e6);
            for b in backends {
                bench_persons(b, &people, &csv, batch).await;
            }
            return;
        }
        let people = demo::generate(11, p, &Catalogue::builtin());
        let rows = rows(n, p);
        let dir = tempfile::tempdir().expect("dir");
        let csv = dir.path().join("contributions.csv");
        write_csv(&csv, &rows, &people);
        let size = std::fs::metadata(&csv).expect("csv").len();
        println!(
            "input: {} rows, {:.1} MB of CSV, {} persons",
            n,
            size as f64 / 1e6,
            p
        );
        for b in backends {
            bench(b, &people, &rows, &csv, batch).await;
        }
    });
}
