//! Benchmark of the operation log's append path (prints its figures; not a timed test).
//!
//! For 1 and 16 concurrent writers, on SQLite and PostgreSQL, N entries in all:
//!
//! - **raw**: the baseline — a row of the same width inserted into a plain table, one committed
//!   transaction per row (`BEGIN IMMEDIATE` on SQLite, as Dangan's writers);
//! - **change**: an entry written in a transaction of its own, as a change writes it together
//!   with the change (`App::bench_append(true)`: on SQLite it joins the chain in that
//!   transaction; on PostgreSQL it is a plain insert and the sealer links it after commit);
//! - **group**: an entry that records no change (a read, a denial), through the writer task's
//!   group commit (`App::bench_append(false)`), the caller waiting for its commit.
//!
//! Each line prints entries/s, p50 and p99 per append; on PostgreSQL also how long the sealer
//! needed after the last commit to have every entry in the chain. Finally the whole log is
//! verified, so the figures are of a chain that holds.
//!
//! `cargo bench -p dangan-app --bench audit_log`. Environment: `DANGAN_BENCH_LOG_ENTRIES`
//! (default 20000), `DANGAN_BENCH_SKIP_PG=1`, `DANGAN_TEST_DATABASE_URL`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dangan_app::{Actor, App, KeyRing, Settings, StoreConfig};
use dangan_testkit::TestDb;
use sqlx::Connection;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const RAW_TABLE_SQLITE: &str = "CREATE TABLE bench_raw_log (id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor_kind TEXT NOT NULL, actor_id TEXT NOT NULL, actor_name TEXT NOT NULL, role TEXT NOT NULL, source TEXT NOT NULL, action TEXT NOT NULL, target_kind TEXT NOT NULL, target_id TEXT NOT NULL, detail TEXT NOT NULL, outcome TEXT NOT NULL, entry_mac TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, mac TEXT NOT NULL)";
const RAW_TABLE_PG: &str = "CREATE TABLE bench_raw_log (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at TEXT NOT NULL, actor_kind TEXT NOT NULL, actor_id TEXT NOT NULL, actor_name TEXT NOT NULL, role TEXT NOT NULL, source TEXT NOT NULL, action TEXT NOT NULL, target_kind TEXT NOT NULL, target_id TEXT NOT NULL, detail TEXT NOT NULL, outcome TEXT NOT NULL, entry_mac TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, mac TEXT NOT NULL)";
const RAW_INSERT: &str = "INSERT INTO bench_raw_log (at, actor_kind, actor_id, actor_name, role, source, action, target_kind, target_id, detail, outcome, entry_mac, prev_hash, hash, mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";

/// One raw row, as wide as an entry (hashes and MACs are 64 hex characters).
macro_rules! raw_row {
    ($conn:expr) => {{
        let hex = "ab".repeat(32);
        sqlx::query(RAW_INSERT)
            .bind("2026-12-05T08:00:00.000000Z")
            .bind("system")
            .bind("")
            .bind("system")
            .bind("admin")
            .bind("cli")
            .bind("bench.append")
            .bind("log")
            .bind("")
            .bind("benchmark")
            .bind("ok")
            .bind(&hex)
            .bind(&hex)
            .bind(&hex)
            .bind(&hex)
            .execute($conn)
            .await
            .expect("raw insert");
    }};
}

struct Figures {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
}

fn figures(total: Duration, mut times: Vec<Duration>) -> Figures {
    times.sort_unstable();
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    Figures {
        per_sec: times.len() as f64 / total.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
    }
}

/// `n` appends split over `writers` tasks; each append is timed.
async fn run<F, Fut>(writers: usize, n: usize, append: F) -> Figures
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let append = Arc::new(append);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let append = Arc::clone(&append);
        let share = n / writers + usize::from(w < n % writers);
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::with_capacity(share);
            for _ in 0..share {
                let t = Instant::now();
                append().await;
                times.push(t.elapsed());
            }
            times
        }));
    }
    let mut times = Vec::with_capacity(n);
    for t in tasks {
        times.extend(t.await.expect("writer"));
    }
    figures(start.elapsed(), times)
}

async fn raw(config: &StoreConfig, writers: usize, n: usize) -> Figures {
    match config {
        StoreConfig::SqliteFile(path) => {
            let opts = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(30));
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(opts)
                .await
                .expect("sqlite");
            sqlx::raw_sql(RAW_TABLE_SQLITE)
                .execute(&pool)
                .await
                .expect("table");
            let f = run(writers, n, move || {
                let pool = pool.clone();
                async move {
                    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.expect("begin");
                    raw_row!(&mut *tx);
                    tx.commit().await.expect("commit");
                }
            })
            .await;
            let mut c = sqlx::SqliteConnection::connect_with(
                &sqlx::sqlite::SqliteConnectOptions::new().filename(path),
            )
            .await
            .expect("sqlite");
            sqlx::raw_sql("DROP TABLE bench_raw_log")
                .execute(&mut c)
                .await
                .expect("drop");
            f
        }
        StoreConfig::Postgres(url) => {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(16)
                .connect(url)
                .await
                .expect("postgres");
            sqlx::raw_sql(RAW_TABLE_PG)
                .execute(&pool)
                .await
                .expect("table");
            let p = pool.clone();
            let f = run(writers, n, move || {
                let pool = p.clone();
                async move {
                    let mut tx = pool.begin().await.expect("begin");
                    raw_row!(&mut *tx);
                    tx.commit().await.expect("commit");
                }
            })
            .await;
            sqlx::raw_sql("DROP TABLE bench_raw_log")
                .execute(&pool)
                .await
                .expect("drop");
            pool.close().await;
            f
        }
    }
}

fn print(backend: &str, what: &str, writers: usize, f: &Figures, raw: &Figures, extra: &str) {
    println!(
        "{backend:<8} {what:<6} writers={writers:<2} {:>8.0} entries/s  p50 {:>7.2} ms  p99 {:>7.2} ms  {:>5.0} % of raw{extra}",
        f.per_sec,
        f.p50.as_secs_f64() * 1e3,
        f.p99.as_secs_f64() * 1e3,
        100.0 * f.per_sec / raw.per_sec
    );
}

async fn backend(name: &str, n: usize) {
    let db = if name == "sqlite" {
        TestDb::sqlite().await
    } else {
        TestDb::postgres().await
    };
    let keys_dir = tempfile::tempdir().expect("keys");
    let keys = KeyRing::load_or_create(keys_dir.path()).expect("keys");
    let (app, _) = App::start(&db.config, Settings::default(), keys)
        .await
        .expect("app");
    let app = Arc::new(app);
    for writers in [1usize, 16] {
        let base = raw(&db.config, writers, n).await;
        println!(
            "{name:<8} raw    writers={writers:<2} {:>8.0} rows/s     p50 {:>7.2} ms  p99 {:>7.2} ms",
            base.per_sec,
            base.p50.as_secs_f64() * 1e3,
            base.p99.as_secs_f64() * 1e3
        );
        for (what, own) in [("change", true), ("group", false)] {
            let a = Arc::clone(&app);
            let f = run(writers, n, move || {
                let a = Arc::clone(&a);
                async move { a.bench_append(own).await.expect("append") }
            })
            .await;
            let t = Instant::now();
            let sealed = app.seal_log().await.expect("seal");
            let extra = if name == "postgres" {
                format!(
                    "  (after the last commit {sealed} entries left to link, in {:.0} ms)",
                    t.elapsed().as_secs_f64() * 1e3
                )
            } else {
                String::new()
            };
            print(name, what, writers, &f, &base, &extra);
        }
    }
    let t = Instant::now();
    let report = app.verify_log(&Actor::system()).await.expect("verify");
    assert!(report.ok, "{report:?}");
    println!(
        "{name:<8} verify {} entries in {:.1} s: intact",
        report.entries,
        t.elapsed().as_secs_f64()
    );
    app.store().close().await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let n = env_usize("DANGAN_BENCH_LOG_ENTRIES", 20_000);
        let skip_pg = std::env::var("DANGAN_BENCH_SKIP_PG").is_ok_and(|v| v == "1");
        println!("operation log appends: {n} entries per line");
        backend("sqlite", n).await;
        if !skip_pg {
            backend("postgres", n).await;
        }
    });
}
