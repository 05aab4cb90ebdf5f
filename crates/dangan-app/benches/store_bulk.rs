//! Benchmark of the store (prints its figures; not a timed test).
//!
//! 1. Bulk creation: N demo persons with their business events and materials written through
//!    the store (`dangan_app::demo::insert_person`, the path `dangan demo-data` uses) in one
//!    transaction, against a raw baseline in the same run: the same rows inserted with plain
//!    prepared SQL on one connection in one transaction. Rows/s for both, on SQLite and
//!    PostgreSQL, best of two alternating rounds.
//! 2. Lookup: persons by identity number at M persons, through the store (a read transaction
//!    and `find_by_id_number`, as the use-case does): lookups/s, p50 and p99.
//!
//! `cargo bench -p dangan-app --bench store_bulk`. Environment: `DANGAN_BENCH_PERSONS` (bulk,
//! default 10000), `DANGAN_BENCH_LOOKUP_PERSONS` (default 1000000), `DANGAN_BENCH_LOOKUPS`
//! (default 20000), `DANGAN_BENCH_SKIP_PG=1`, `DANGAN_TEST_DATABASE_URL`.

use std::time::{Duration, Instant};

use chrono::Utc;
use dangan_app::demo::{self, DemoPerson};
use dangan_domain::catalogue::Catalogue;
use dangan_store::persons;
use dangan_store::{Store, catalogue};
use dangan_testkit::TestDb;
use sqlx::{Connection, Executor};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn fresh(backend: &str) -> (TestDb, Store, i64) {
    let db = if backend == "sqlite" {
        TestDb::sqlite().await
    } else {
        TestDb::postgres().await
    };
    let store = Store::connect(&db.config).await.expect("connect");
    store.migrate().await.expect("migrate");
    let mut tx = store.begin_write().await.expect("tx");
    let rows: Vec<catalogue::EntryRow> = Vec::new();
    let version = catalogue::insert_version(&mut tx, &rows, "bench", "bench", Utc::now())
        .await
        .expect("catalogue");
    tx.commit().await.expect("commit");
    (db, store, version)
}

async fn via_store(store: &Store, people: &[DemoPerson], version: i64) -> Duration {
    let start = Instant::now();
    let mut tx = store.begin_write().await.expect("tx");
    for p in people {
        demo::insert_person(&mut tx, p, version, "bench")
            .await
            .expect("insert");
    }
    tx.commit().await.expect("commit");
    start.elapsed()
}

const PERSON_SQL: &str = "INSERT INTO persons (id_number, name, sex, birth_date, division_code, status, tier, identity, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id";
const EVENT_SQL: &str = "INSERT INTO business_events (person_id, business_type, business_date, handler, source_system, external_id, catalogue_version, remarks, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id";
const MATERIAL_SQL: &str = "INSERT INTO material_items (event_id, material_code, name, formation_date, pages, carrier, retention, appraisal_due, remarks, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// The raw baseline: one connection, one transaction, plain prepared statements.
macro_rules! raw_insert {
    ($conn:expr, $people:expr, $version:expr) => {{
        let conn = $conn;
        let start = Instant::now();
        conn.execute("BEGIN").await.expect("begin");
        let now = Utc::now();
        for p in $people {
            let pid: i64 = sqlx::query_scalar(PERSON_SQL)
                .bind(&p.id_number)
                .bind(&p.name)
                .bind(p.sex)
                .bind(p.birth_date)
                .bind(p.division_code)
                .bind(p.status)
                .bind(p.tier)
                .bind(&p.identity)
                .bind(now)
                .fetch_one(&mut *conn)
                .await
                .expect("person");
            for e in &p.events {
                let eid: i64 = sqlx::query_scalar(EVENT_SQL)
                    .bind(pid)
                    .bind(e.business_type.code())
                    .bind(e.date)
                    .bind("演示数据")
                    .bind(demo::DEMO_SOURCE)
                    .bind(&e.external_id)
                    .bind($version)
                    .bind(None::<String>)
                    .bind("bench")
                    .bind(now)
                    .fetch_one(&mut *conn)
                    .await
                    .expect("event");
                for m in &e.materials {
                    sqlx::query(MATERIAL_SQL)
                        .bind(eid)
                        .bind(&m.code)
                        .bind(&m.name)
                        .bind(e.date)
                        .bind(m.pages)
                        .bind("paper")
                        .bind(m.retention)
                        .bind(m.appraisal_due)
                        .bind(None::<String>)
                        .bind(now)
                        .execute(&mut *conn)
                        .await
                        .expect("material");
                }
            }
        }
        conn.execute("COMMIT").await.expect("commit");
        start.elapsed()
    }};
}

async fn raw(db: &TestDb, people: &[DemoPerson], version: i64) -> Duration {
    match &db.config {
        dangan_app::StoreConfig::SqliteFile(path) => {
            let opts = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
                .foreign_keys(true);
            let mut conn = sqlx::SqliteConnection::connect_with(&opts)
                .await
                .expect("sqlite");
            raw_insert!(&mut conn, people, version)
        }
        dangan_app::StoreConfig::Postgres(url) => {
            let mut conn = sqlx::PgConnection::connect(url).await.expect("postgres");
            raw_insert!(&mut conn, people, version)
        }
    }
}

fn rate(rows: usize, d: Duration) -> f64 {
    rows as f64 / d.as_secs_f64()
}

async fn bulk(backend: &str, people: &[DemoPerson], rows: usize) {
    let mut best_store = Duration::MAX;
    let mut best_raw = Duration::MAX;
    for _round in 0..2 {
        let (db, _store, version) = fresh(backend).await;
        best_raw = best_raw.min(raw(&db, people, version).await);
        let (_db, store, version) = fresh(backend).await;
        best_store = best_store.min(via_store(&store, people, version).await);
        store.close().await;
    }
    let (s, r) = (rate(rows, best_store), rate(rows, best_raw));
    println!(
        "bulk   {backend:<8} persons={} rows={rows}  store {s:>9.0} rows/s  raw {r:>9.0} rows/s  store/raw {:>5.1} %",
        people.len(),
        100.0 * s / r
    );
}

async fn lookup(backend: &str, catalogue: &Catalogue, n: usize, lookups: usize) {
    let (_db, store, _) = fresh(backend).await;
    let mut ids = Vec::with_capacity(n);
    let fill = Instant::now();
    let mut stream = demo::people(7, catalogue);
    while ids.len() < n {
        let mut tx = store.begin_write().await.expect("tx");
        let now = Utc::now();
        for p in stream.by_ref().take((n - ids.len()).min(20_000)) {
            persons::insert(&mut tx, &p.as_new_person(), now)
                .await
                .expect("insert");
            ids.push(p.id_number);
        }
        tx.commit().await.expect("commit");
        eprint!("\r  filling {backend}: {} / {n} persons", ids.len());
    }
    eprintln!("  ({:.0} s)", fill.elapsed().as_secs_f64());
    if let Store::Postgres(pool) = &store {
        sqlx::query("ANALYZE persons")
            .execute(pool)
            .await
            .expect("analyze");
    }
    let mut times = Vec::with_capacity(lookups);
    // A fixed stride through the ids, so that every run looks up the same persons.
    let stride = 7919usize;
    let start = Instant::now();
    for i in 0..lookups {
        let id = &ids[(i * stride) % ids.len()];
        let t = Instant::now();
        let mut tx = store.begin().await.expect("tx");
        let row = persons::find_by_id_number(&mut tx, id)
            .await
            .expect("lookup");
        tx.rollback().await.expect("rollback");
        times.push(t.elapsed());
        assert!(row.is_some(), "every looked-up person exists");
    }
    let total = start.elapsed();
    times.sort_unstable();
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    println!(
        "lookup {backend:<8} persons={n} lookups={lookups}  {:>8.0} lookups/s  p50 {:>7.1} µs  p99 {:>7.1} µs",
        lookups as f64 / total.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e6,
        pct(0.99).as_secs_f64() * 1e6
    );
    store.close().await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let n = env_usize("DANGAN_BENCH_PERSONS", 10_000);
        let lookup_n = env_usize("DANGAN_BENCH_LOOKUP_PERSONS", 1_000_000);
        let lookups = env_usize("DANGAN_BENCH_LOOKUPS", 20_000);
        let skip_pg = std::env::var("DANGAN_BENCH_SKIP_PG").is_ok_and(|v| v == "1");
        let catalogue = Catalogue::builtin();
        let people = demo::generate(1, n, &catalogue);
        let rows: usize = people
            .iter()
            .map(|p| 1 + p.events.len() + p.events.iter().map(|e| e.materials.len()).sum::<usize>())
            .sum();
        let backends: &[&str] = if skip_pg {
            &["sqlite"]
        } else {
            &["sqlite", "postgres"]
        };
        for b in backends {
            bulk(b, &people, rows).await;
        }
        for b in backends {
            lookup(b, &catalogue, lookup_n, lookups).await;
        }
    });
}
