//! Benchmark of the store (prints its figures; not a timed test).
//!
//! 1. Bulk creation: N demo persons with their business events and materials written through
//!    the store (`dangan_app::administration::demo::insert_person`, the path `dangan demo-data` uses) in one
//!    transaction, against a raw baseline in the same run: the same rows inserted with plain
//!    prepared SQL on one connection in one transaction. Rows/s for both, on SQLite and
//!    PostgreSQL, best of two alternating rounds.
//! 2. Lookup: persons by identity number at M persons, through the store (a read transaction
//!    and `find_by_id_number`, as the use-case does: the blind index, then the sealed number
//!    opened), against the layout before issue 14 in the same database and the same run: a
//!    table `persons_plain` with the number in plain text under a unique index, read the same
//!    way (read transaction, indexed select, row decoded). Lookups/s, p50 and p99 of both, and
//!    the ratio of the p99s. The two are measured in alternating rounds.
//!
//! 3. Surname search at M persons: the count and first page of `张` through the store, beside the
//!    same search with `LIKE` on the plain table (as before issue 15), alternating.
//! 4. Name search anywhere in the name at M persons (issue 18): the count and first page of texts
//!    from common (`明`, tens of thousands) to absent through the store (along the name-suffix
//!    key), beside the plain scan it replaces (the name tested on every row of the plain table,
//!    counted in full and sorted by name), alternating.
//!
//! `cargo bench -p dangan-app --bench store_bulk`. Environment: `DANGAN_BENCH_PERSONS` (bulk,
//! default 10000), `DANGAN_BENCH_LOOKUP_PERSONS` (default 1000000), `DANGAN_BENCH_LOOKUPS`
//! (default 20000), `DANGAN_BENCH_SEARCHES` (40), `DANGAN_BENCH_SKIP_PG=1`, `DANGAN_TEST_DATABASE_URL`.

use std::time::{Duration, Instant};

use chrono::Utc;
use dangan_app::administration::demo::{self, DemoPerson};
use dangan_domain::catalogue::Catalogue;
use dangan_store::persons;
use dangan_store::sealing::{self, FieldCipher};
use dangan_store::{Pool, Store, catalogue, on_conn};
use dangan_testkit::TestDb;
use sqlx::{Connection, Executor};
use std::sync::Arc;

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
    // Fresh keys, as the application makes them at its first start.
    let key = |n| dangan_vault::crypto::random_bytes(n).expect("random");
    let fields = FieldCipher::new(key(32).try_into().expect("32 bytes"));
    fields
        .add_key(1, sealing::AES_256_GCM, &key(32), true)
        .expect("field key");
    store.install_field_cipher(Arc::new(fields));
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

/// The raw baseline writes the number unsealed into both columns.
const PERSON_SQL: &str = "INSERT INTO persons (id_number_enc, id_number_hmac, name, sex, birth_date, division_code, status, tier, identity, created_at, updated_at) VALUES ($1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id";
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
                        .bind(m.retention.code())
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

/// The persons table as it was before issue 14: the number in plain text, unique.
const PLAIN_TABLE: &str = "CREATE TABLE persons_plain (
    id BIGINT PRIMARY KEY,
    id_number TEXT NOT NULL,
    name TEXT NOT NULL,
    sex TEXT NOT NULL,
    birth_date DATE NOT NULL,
    division_code TEXT NOT NULL,
    status TEXT NOT NULL,
    tier BIGINT,
    identity TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT persons_plain_id_number_key UNIQUE (id_number)
)";
const PLAIN_INSERT: &str = "INSERT INTO persons_plain (id, id_number, name, sex, birth_date, division_code, status, tier, identity, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)";
const PLAIN_SELECT: &str = "SELECT id, id_number, name, sex, birth_date, division_code, status, tier, identity, created_at, updated_at FROM persons_plain WHERE id_number = $1";

/// A row of the plain table, decoded as the store decoded persons before issue 14.
#[derive(sqlx::FromRow)]
#[expect(dead_code, reason = "decoded as the store decoded persons, not read")]
struct PlainPerson {
    id: i64,
    id_number: String,
    name: String,
    sex: String,
    birth_date: chrono::NaiveDate,
    division_code: String,
    status: String,
    tier: Option<i64>,
    identity: String,
    created_at: chrono::DateTime<Utc>,
    updated_at: chrono::DateTime<Utc>,
}

/// p50 and p99 of some durations, in µs.
fn percentiles(times: &mut [Duration]) -> (f64, f64) {
    times.sort_unstable();
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    (pct(0.50).as_secs_f64() * 1e6, pct(0.99).as_secs_f64() * 1e6)
}

async fn lookup(backend: &str, catalogue: &Catalogue, n: usize, lookups: usize) {
    let (_db, store, _) = fresh(backend).await;
    let mut tx = store.begin_write().await.expect("tx");
    on_conn!(&mut tx, c => sqlx::query(PLAIN_TABLE).execute(c).await.map(|r| r.rows_affected()))
        .expect("plain table");
    let name_index = match backend {
        "postgres" => {
            "CREATE INDEX persons_plain_name_idx ON persons_plain (name text_pattern_ops)"
        }
        _ => "CREATE INDEX persons_plain_name_idx ON persons_plain (name)",
    };
    on_conn!(&mut tx, c => sqlx::query(name_index).execute(c).await.map(|r| r.rows_affected()))
        .expect("plain name index");
    tx.commit().await.expect("commit");
    let mut ids = Vec::with_capacity(n);
    let fill = Instant::now();
    let mut stream = demo::people(7, catalogue);
    while ids.len() < n {
        let mut tx = store.begin_write().await.expect("tx");
        let now = Utc::now();
        for p in stream.by_ref().take((n - ids.len()).min(20_000)) {
            let id = persons::insert(&mut tx, &p.as_new_person(), now)
                .await
                .expect("insert");
            let new = p.as_new_person();
            on_conn!(&mut tx, c => {
                sqlx::query(PLAIN_INSERT)
                    .bind(id.0)
                    .bind(new.id_number)
                    .bind(new.name)
                    .bind(new.sex)
                    .bind(new.birth_date)
                    .bind(new.division_code)
                    .bind(new.status)
                    .bind(new.tier)
                    .bind(new.identity)
                    .bind(now)
                    .execute(c)
                    .await
                    .map(|r| r.rows_affected())
            })
            .expect("plain insert");
            ids.push(p.id_number);
        }
        tx.commit().await.expect("commit");
        eprint!("\r  filling {backend}: {} / {n} persons", ids.len());
    }
    eprintln!("  ({:.0} s)", fill.elapsed().as_secs_f64());
    if let Pool::Postgres(pool) = store.pool() {
        sqlx::query("ANALYZE persons")
            .execute(pool)
            .await
            .expect("analyze");
        sqlx::query("ANALYZE persons_plain")
            .execute(pool)
            .await
            .expect("analyze");
    }
    let mut sealed_times = Vec::with_capacity(lookups);
    let mut plain_times = Vec::with_capacity(lookups);
    let (mut sealed_total, mut plain_total) = (Duration::ZERO, Duration::ZERO);
    // A fixed stride through the ids, so that every run looks up the same persons; four
    // alternating rounds of each, so that the machine's noise falls on both alike.
    let stride = 7919usize;
    let rounds = 4;
    let per_round = lookups / rounds;
    for round in 0..rounds {
        let part = round * per_round..(round + 1) * per_round;
        let start = Instant::now();
        for i in part.clone() {
            let id = &ids[(i * stride) % ids.len()];
            let t = Instant::now();
            let mut tx = store.begin().await.expect("tx");
            let row: Option<PlainPerson> = on_conn!(&mut tx, c => {
                sqlx::query_as(PLAIN_SELECT).bind(id).fetch_optional(c).await
            })
            .expect("plain lookup");
            tx.rollback().await.expect("rollback");
            plain_times.push(t.elapsed());
            assert!(row.is_some(), "every looked-up person exists");
        }
        plain_total += start.elapsed();
        let start = Instant::now();
        for i in part {
            let id = &ids[(i * stride) % ids.len()];
            let t = Instant::now();
            let mut tx = store.begin().await.expect("tx");
            let row = persons::find_by_id_number(&mut tx, id)
                .await
                .expect("lookup");
            tx.rollback().await.expect("rollback");
            sealed_times.push(t.elapsed());
            assert_eq!(
                row.map(|r| r.id_number.as_str().to_owned()).as_ref(),
                Some(id),
                "every looked-up person exists"
            );
        }
        sealed_total += start.elapsed();
    }
    let done = (per_round * rounds) as f64;
    let (p50, p99) = percentiles(&mut sealed_times);
    let (b50, b99) = percentiles(&mut plain_times);
    println!(
        "lookup {backend:<8} persons={n} lookups={}  sealed {:>7.0}/s p50 {p50:>6.1} µs p99 {p99:>6.1} µs | plain (before) {:>7.0}/s p50 {b50:>6.1} µs p99 {b99:>6.1} µs | p99 sealed/plain {:>5.1} %",
        done as usize,
        done / sealed_total.as_secs_f64(),
        done / plain_total.as_secs_f64(),
        100.0 * p99 / b99
    );
    surname_search(backend, &store).await;
    contains_search(backend, &store).await;
    store.close().await;
}

/// A clerk's surname search (张, the commonest surname of the demo data): the count and the
/// first page of 50, through the store, beside the same search as it was before issue 15 — a
/// `LIKE '张%'` on the plain table with its name index — in alternating rounds.
async fn surname_search(backend: &str, store: &Store) {
    let searches = env_usize("DANGAN_BENCH_SEARCHES", 40);
    let filter = persons::PersonFilter {
        name: Some("张".to_owned()),
        limit: 50,
        ..persons::PersonFilter::default()
    };
    let count_like = "SELECT COUNT(*) FROM persons_plain WHERE name LIKE $1 ESCAPE '\\'";
    let page_like = "SELECT id, id_number, name, sex, birth_date, division_code, status, tier, identity, created_at, updated_at FROM persons_plain WHERE name LIKE $1 ESCAPE '\\' ORDER BY division_code, id_number LIMIT 50";
    let (mut now_times, mut before_times) = (Vec::new(), Vec::new());
    let mut matches = (0i64, 0i64);
    let mut more = false;
    for _ in 0..searches {
        let t = Instant::now();
        let mut tx = store.begin().await.expect("tx");
        let found = persons::search(&mut tx, &filter).await.expect("search");
        let (page, total) = (found.rows, found.total);
        tx.rollback().await.expect("rollback");
        now_times.push(t.elapsed());
        assert!(!page.is_empty());
        matches.0 = total;
        more = found.more;
        let t = Instant::now();
        let mut tx = store.begin().await.expect("tx");
        let total: i64 = on_conn!(&mut tx, c => {
            sqlx::query_scalar(count_like).bind("张%").fetch_one(c).await
        })
        .expect("count");
        let page: Vec<PlainPerson> = on_conn!(&mut tx, c => {
            sqlx::query_as(page_like).bind("张%").fetch_all(c).await
        })
        .expect("page");
        tx.rollback().await.expect("rollback");
        before_times.push(t.elapsed());
        assert!(!page.is_empty());
        matches.1 = total;
    }
    // The store counts 1,000 past its page and then says "more" (issue 15).
    if more {
        assert!(matches.0 < matches.1, "the store stopped counting early");
    } else {
        assert_eq!(matches.0, matches.1, "both find the same persons");
    }
    let (p50, p99) = percentiles(&mut now_times);
    let (b50, b99) = percentiles(&mut before_times);
    println!(
        "search {backend:<8} surname 张 ({} matches, the store counted {}{}) searches={searches}  store p50 {:>7.1} ms p99 {:>7.1} ms | LIKE (before) p50 {:>7.1} ms p99 {:>7.1} ms",
        matches.1,
        matches.0,
        if more { "+" } else { "" },
        p50 / 1e3,
        p99 / 1e3,
        b50 / 1e3,
        b99 / 1e3
    );
}

/// Name search at M persons (issue 18: a name containing the text anywhere): the count and first
/// page through the store for texts from common to absent, beside the plain scan it replaces —
/// the name tested on every row of the plain table (`instr`/`strpos`), counted in full and
/// listed in name order — in alternating rounds.
async fn contains_search(backend: &str, store: &Store) {
    let searches = env_usize("DANGAN_BENCH_SEARCHES", 40).div_ceil(4).max(2);
    let find = if backend == "postgres" {
        "strpos"
    } else {
        "instr"
    };
    let count_scan = format!("SELECT COUNT(*) FROM persons_plain WHERE {find}(name, $1) > 0");
    let page_scan = format!(
        "SELECT id, id_number, name, sex, birth_date, division_code, status, tier, identity, created_at, updated_at FROM persons_plain WHERE {find}(name, $1) > 0 ORDER BY name, id LIMIT 50"
    );
    // From a common given name to a name nobody has: 明 in 明 and 德明, 欧阳德明 a few hundred.
    for text in ["明", "桂英", "阳德", "欧阳德明", "查无此人"] {
        let filter = persons::PersonFilter {
            name: Some(text.to_owned()),
            limit: 50,
            ..persons::PersonFilter::default()
        };
        let (mut now_times, mut before_times) = (Vec::new(), Vec::new());
        let mut found = (0i64, false, 0i64);
        for _ in 0..searches {
            let t = Instant::now();
            let mut tx = store.begin().await.expect("tx");
            let page = persons::search(&mut tx, &filter).await.expect("search");
            tx.rollback().await.expect("rollback");
            now_times.push(t.elapsed());
            found.0 = page.total;
            found.1 = page.more;
            assert!(page.rows.iter().all(|p| p.name.contains(text)));
            let t = Instant::now();
            let mut tx = store.begin().await.expect("tx");
            let total: i64 = on_conn!(&mut tx, c => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(count_scan.clone())).bind(text).fetch_one(c).await
            })
            .expect("count");
            let page: Vec<PlainPerson> = on_conn!(&mut tx, c => {
                sqlx::query_as(sqlx::AssertSqlSafe(page_scan.clone())).bind(text).fetch_all(c).await
            })
            .expect("page");
            tx.rollback().await.expect("rollback");
            before_times.push(t.elapsed());
            found.2 = total;
            assert!(page.len() <= 50);
        }
        if !found.1 {
            assert_eq!(found.0, found.2, "both find the same persons");
        }
        let (p50, p99) = percentiles(&mut now_times);
        let (b50, b99) = percentiles(&mut before_times);
        let shown = if found.1 {
            format!("> {}", found.0)
        } else {
            found.0.to_string()
        };
        println!(
            "search {backend:<8} contains {text:<6} ({shown} of {} matches) searches={searches}  store p50 {:>7.1} ms p99 {:>7.1} ms | scan (before) p50 {:>7.1} ms p99 {:>7.1} ms",
            found.2,
            p50 / 1e3,
            p99 / 1e3,
            b50 / 1e3,
            b99 / 1e3
        );
    }
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
