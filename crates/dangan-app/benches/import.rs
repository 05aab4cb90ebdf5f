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
//! `cargo bench -p dangan-app --bench import`. Environment: `DANGAN_BENCH_ROWS` (default
//! 1000000), `DANGAN_BENCH_IMPORT_PERSONS` (default 20000), `DANGAN_BENCH_BATCH` (default the
//! import's), `DANGAN_BENCH_SKIP_PG=1`, `DANGAN_TEST_DATABASE_URL`.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use dangan_app::demo::{self, DemoPerson};
use dangan_app::import::{DEFAULT_BATCH, ImportKind, ImportOptions, ImportPlan};
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

async fn bench(backend: &str, people: &[DemoPerson], rows: &[Row], csv: &Path, batch: usize) {
    let raw_one = raw(backend, people, rows, usize::MAX).await;
    let raw_batched = match backend {
        "sqlite" => Some(raw(backend, people, rows, batch).await),
        _ => None,
    };

    let (db, app, _keys, _) = fresh(backend, people).await;
    let start = Instant::now();
    let plan = ImportPlan::prepare(ImportOptions {
        kind: ImportKind::Contributions,
        path: csv.to_owned(),
        format: None,
        encoding: None,
        source_system: "bench".to_owned(),
        rejects: None,
        batch,
        restart: true,
        stop_after_rows: None,
    })
    .expect("plan");
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
        let backends: &[&str] = if skip_pg {
            &["sqlite"]
        } else {
            &["sqlite", "postgres"]
        };
        for b in backends {
            bench(b, &people, &rows, &csv, batch).await;
        }
    });
}
