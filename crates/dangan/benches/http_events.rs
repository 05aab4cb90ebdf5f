//! Load through the real server (issue 15): `POST /api/v1/events` from N concurrent clients
//! against the release `dangan serve`, on SQLite and PostgreSQL, beside a raw baseline in the same
//! run — the same rows (a business event and its material) inserted with plain SQL, one commit
//! per event: one connection on SQLite (its writers are serialised anyway), N on PostgreSQL (as
//! `pgbench` would).
//!
//! Each backend: `dangan import persons` registers the persons (a CSV of the demo generator's
//! persons), `dangan user token` issues a token with `events:write`, `dangan serve` starts on
//! 127.0.0.1; then every client posts events of random persons for the set time, each with its
//! own external id (as the business system sends them). Printed: events/s, p50, p99 and max
//! latency, errors, and the raw baseline's events/s.
//!
//! A second round runs the same load while one clerk repeats a surname search (`POST
//! /api/v1/persons/search` for 张, first page and total) without pause, and prints the events/s
//! it leaves and the search's own latency: reads must not hold up the business being recorded.
//!
//! A third round looks persons up by identity number (`POST /api/v1/persons/search` with
//! `id_number`, a random registered person each time; every lookup is logged before it is
//! answered) from 1 and then 8 clients, beside the raw indexed select of the same rows by their
//! blind index over the database's own driver (1 and 8 connections), and prints lookups/s and
//! p50/p99/max of both. The server runs with `--exact-search-limit 0`: the per-token limit of
//! exact searches (30 in 10 minutes by default) is a guard against a clerk browsing numbers,
//! not a capacity.
//!
//! `cargo bench -p dangan --bench http_events`. Environment: `DANGAN_BENCH_CLIENTS` (16),
//! `DANGAN_BENCH_SECONDS` (15), `DANGAN_BENCH_PERSONS` (2000), `DANGAN_BENCH_SKIP_PG=1`,
//! `DANGAN_BENCH_SKIP_SEARCH=1`, `DANGAN_BENCH_SKIP_LOOKUP=1`, `DANGAN_TEST_DATABASE_URL`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dangan_testkit::TestDb;
use sqlx::Connection;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const BIN: &str = env!("CARGO_BIN_EXE_dangan");

/// `dangan ARGS` on the data directory and database, to completion; its standard output.
fn dangan(data: &std::path::Path, url: Option<&str>, args: &[&str]) -> String {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("DANGAN_DATA_DIR", data)
        .env("DANGAN_LOG", "error")
        .env_remove("DANGAN_DATABASE_URL");
    if let Some(url) = url {
        cmd.env("DANGAN_DATABASE_URL", url);
    }
    let out = cmd.output().expect("run dangan");
    assert!(
        out.status.success(),
        "dangan {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `dangan serve` on a free port; the server and its base URL.
fn serve(data: &std::path::Path, url: Option<&str>) -> (Server, String) {
    let mut cmd = Command::new(BIN);
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--scrub-at",
        "off",
        "--backup-at",
        "off",
        "--anchor-minutes",
        "60",
        "--exact-search-limit",
        "0",
    ])
    .env("DANGAN_DATA_DIR", data)
    .env("DANGAN_LOG", "error")
    .env_remove("DANGAN_DATABASE_URL")
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    if let Some(url) = url {
        cmd.env("DANGAN_DATABASE_URL", url);
    }
    let mut child = cmd.spawn().expect("spawn dangan serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let server = Server(child);
    loop {
        let line = lines
            .next()
            .expect("dangan serve printed its address")
            .expect("read");
        if let Some(rest) = line.split("http://").nth(1) {
            let addr = rest.split_whitespace().next().expect("address").to_owned();
            // Keep draining its output so that it never blocks on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return (server, format!("http://{addr}"));
        }
    }
}

/// p50, p99 and max in ms.
fn percentiles(times: &mut [Duration]) -> (f64, f64, f64) {
    if times.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    times.sort_unstable();
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (ms(pct(0.50)), ms(pct(0.99)), ms(times[times.len() - 1]))
}

/// A small deterministic generator, so that every run posts the same persons.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn event(person: u64, round: &str, client: usize, n: usize) -> serde_json::Value {
    serde_json::json!({
        "person_id": person,
        "business_type": "contribution",
        "business_date": "2025-03-01",
        "source_system": "load",
        "external_id": format!("{round}{client}-{n}"),
        "materials": [{"material_code": "contribution_voucher", "pages": 1}],
    })
}

/// Counts a failed request and prints the first of a client's failures.
async fn failed(who: &str, errors: &mut usize, answer: Result<reqwest::Response, reqwest::Error>) {
    *errors += 1;
    if *errors > 1 {
        return;
    }
    match answer {
        Ok(r) => {
            let status = r.status();
            eprintln!("  {who}: {status} {}", r.text().await.unwrap_or_default());
        }
        Err(e) => eprintln!("  {who}: {e}"),
    }
}

/// N clients posting events for `seconds`: (events/s, latencies, errors).
async fn drive(
    round: &'static str,
    base: &str,
    token: &str,
    clients: usize,
    persons: u64,
    seconds: u64,
) -> (f64, Vec<Duration>, usize) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (http, stop) = (http.clone(), stop.clone());
        let url = format!("{base}/api/v1/events");
        let token = token.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut state = 0x9e37_79b9_7f4a_7c15_u64 ^ (client as u64 + 1);
            let (mut times, mut errors) = (Vec::new(), 0usize);
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let person = next(&mut state) % persons + 1;
                let t = Instant::now();
                let answer = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&event(person, round, client, n))
                    .send()
                    .await;
                match answer {
                    Ok(r) if r.status().as_u16() == 201 => times.push(t.elapsed()),
                    other => failed(&format!("client {client}"), &mut errors, other).await,
                }
                n += 1;
            }
            (times, errors)
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (times, e) = t.await.expect("client");
        all.extend(times);
        errors += e;
    }
    let elapsed = start.elapsed().as_secs_f64();
    (all.len() as f64 / elapsed, all, errors)
}

/// One clerk repeating a surname search until `stop`: the search latencies and errors.
async fn clerk(base: String, token: String, stop: Arc<AtomicBool>) -> (Vec<Duration>, usize) {
    let http = reqwest::Client::new();
    let url = format!("{base}/api/v1/persons/search");
    let (mut times, mut errors) = (Vec::new(), 0usize);
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        let answer = http
            .post(&url)
            .bearer_auth(&token)
            .json(&serde_json::json!({"name": "张", "page": 1, "per_page": 20}))
            .send()
            .await;
        match answer {
            Ok(r) if r.status().is_success() => times.push(t.elapsed()),
            other => failed("clerk", &mut errors, other).await,
        }
    }
    (times, errors)
}

/// Registers `n` demo persons through `dangan import persons` (rows 1..=n in file order);
/// their identity numbers.
fn register(data: &std::path::Path, url: Option<&str>, n: usize) -> Vec<String> {
    use std::io::Write;
    let catalogue = dangan_domain::catalogue::Catalogue::builtin();
    let dir = tempfile::tempdir().expect("csv directory");
    let csv = dir.path().join("persons.csv");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&csv).expect("csv"));
    writeln!(w, "身份证号码,姓名,行政区划代码,缴费档次,参保身份").expect("write");
    let mut ids = Vec::with_capacity(n);
    for p in dangan_app::demo::people(5, &catalogue).take(n) {
        writeln!(
            w,
            "{},{},{},{},{}",
            p.id_number, p.name, p.division_code, p.tier, p.identity
        )
        .expect("write");
        ids.push(p.id_number);
    }
    w.flush().expect("flush");
    drop(w);
    let out = dangan(
        data,
        url,
        &["import", "persons", csv.to_str().expect("path")],
    );
    assert!(out.contains(&format!("接收 {n} 条")), "{out}");
    ids
}

/// N clients looking persons up by identity number for `seconds`: (lookups/s, latencies,
/// errors).
async fn look_up(
    base: &str,
    token: &str,
    clients: usize,
    ids: &[String],
    seconds: u64,
) -> (f64, Vec<Duration>, usize) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let ids: Arc<[String]> = ids.into();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (http, ids) = (http.clone(), ids.clone());
        let url = format!("{base}/api/v1/persons/search");
        let token = token.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut state = 0x2545_f491_4f6c_dd1d_u64 ^ (client as u64 + 1);
            let (mut times, mut errors) = (Vec::new(), 0usize);
            while Instant::now() < deadline {
                let id = &ids[(next(&mut state) % ids.len() as u64) as usize];
                let t = Instant::now();
                let answer = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&serde_json::json!({"id_number": id}))
                    .send()
                    .await;
                match answer {
                    Ok(r) if r.status().is_success() => {
                        let body = r.text().await.unwrap_or_default();
                        if body.contains("\"total\":1") {
                            times.push(t.elapsed());
                        } else {
                            errors += 1;
                            if errors == 1 {
                                eprintln!("  lookup {client}: not found: {body}");
                            }
                        }
                    }
                    other => failed(&format!("lookup {client}"), &mut errors, other).await,
                }
            }
            (times, errors)
        }));
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (times, e) = t.await.expect("client");
        all.extend(times);
        errors += e;
    }
    (
        all.len() as f64 / start.elapsed().as_secs_f64(),
        all,
        errors,
    )
}

const LOOKUP_SQL: &str = "SELECT id, id_number_enc, id_number_hmac, name, sex, birth_date, division_code, status, tier, identity, created_at, updated_at FROM persons WHERE id_number_hmac = $1";

/// The raw baseline of a lookup: `n` connections selecting random persons by their blind index
/// (taken from the table beforehand) for `seconds`; (selects/s, latencies).
async fn raw_lookups(
    url: Option<&str>,
    data: &std::path::Path,
    n: usize,
    seconds: u64,
) -> (f64, Vec<Duration>) {
    macro_rules! drive_raw {
        ($connect:expr) => {{
            let mut first = $connect.await;
            let keys: Vec<String> = sqlx::query_scalar(
                "SELECT id_number_hmac FROM persons WHERE id % 97 = 0 LIMIT 20000",
            )
            .fetch_all(&mut first)
            .await
            .expect("keys");
            let keys: Arc<[String]> = keys.into();
            let deadline = Instant::now() + Duration::from_secs(seconds);
            let start = Instant::now();
            let mut tasks = Vec::new();
            for client in 0..n {
                let keys = keys.clone();
                let mut c = $connect.await;
                tasks.push(tokio::spawn(async move {
                    let mut state = 0x9e37_79b9_u64 + client as u64;
                    let mut times = Vec::new();
                    while Instant::now() < deadline {
                        let key = &keys[(next(&mut state) % keys.len() as u64) as usize];
                        let t = Instant::now();
                        let found = sqlx::query(LOOKUP_SQL)
                            .bind(key)
                            .fetch_optional(&mut c)
                            .await
                            .expect("select");
                        assert!(found.is_some());
                        times.push(t.elapsed());
                    }
                    times
                }));
            }
            let mut all = Vec::new();
            for t in tasks {
                all.extend(t.await.expect("raw client"));
            }
            (all.len() as f64 / start.elapsed().as_secs_f64(), all)
        }};
    }
    match url {
        None => {
            let opts = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(data.join("dangan.db"))
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
            drive_raw!(async {
                sqlx::SqliteConnection::connect_with(&opts)
                    .await
                    .expect("sqlite")
            })
        }
        Some(url) => {
            drive_raw!(async { sqlx::PgConnection::connect(url).await.expect("postgres") })
        }
    }
}

const EVENT_SQL: &str = "INSERT INTO business_events (person_id, business_type, business_date, handler, source_system, external_id, catalogue_version, remarks, created_by, created_at) VALUES ($1, 'contribution', $2, 'load', 'raw', $3, 1, NULL, 'load', $4) RETURNING id";
const MATERIAL_SQL: &str = "INSERT INTO material_items (event_id, material_code, name, formation_date, pages, carrier, retention, appraisal_due, remarks, created_at) VALUES ($1, 'contribution_voucher', '缴费凭证', $2, 1, 'paper', 'D30', $3, NULL, $4)";

/// One event with its material in its own transaction, as plain SQL.
macro_rules! raw_event {
    ($conn:expr, $person:expr, $ext:expr) => {{
        let date = chrono::NaiveDate::from_ymd_opt(2025, 3, 1).expect("date");
        let due = chrono::NaiveDate::from_ymd_opt(2056, 1, 1).expect("date");
        let now = chrono::Utc::now();
        let mut tx = $conn.begin().await.expect("begin");
        let id: i64 = sqlx::query_scalar(EVENT_SQL)
            .bind($person as i64)
            .bind(date)
            .bind($ext)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .expect("event");
        sqlx::query(MATERIAL_SQL)
            .bind(id)
            .bind(date)
            .bind(due)
            .bind(now)
            .execute(&mut *tx)
            .await
            .expect("material");
        tx.commit().await.expect("commit");
    }};
}

/// The raw baseline for `seconds`: events/s.
async fn raw(
    url: Option<&str>,
    data: &std::path::Path,
    clients: usize,
    persons: u64,
    seconds: u64,
) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let mut done = 0usize;
    match url {
        None => {
            let opts = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(data.join("dangan.db"))
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
                .foreign_keys(true);
            let mut c = sqlx::SqliteConnection::connect_with(&opts)
                .await
                .expect("sqlite");
            let mut state = 7u64;
            while Instant::now() < deadline {
                raw_event!(c, next(&mut state) % persons + 1, format!("R-{done}"));
                done += 1;
            }
        }
        Some(url) => {
            let mut tasks = Vec::new();
            for client in 0..clients {
                let url = url.to_owned();
                tasks.push(tokio::spawn(async move {
                    let mut c = sqlx::PgConnection::connect(&url).await.expect("postgres");
                    let mut state = 7u64 + client as u64;
                    let mut n = 0usize;
                    while Instant::now() < deadline {
                        raw_event!(c, next(&mut state) % persons + 1, format!("R{client}-{n}"));
                        n += 1;
                    }
                    n
                }));
            }
            for t in tasks {
                done += t.await.expect("raw client");
            }
        }
    }
    done as f64 / start.elapsed().as_secs_f64()
}

async fn run(
    backend: &str,
    clients: usize,
    persons: usize,
    seconds: u64,
    search: bool,
    lookup: bool,
) {
    // SQLite in the data directory, as `serve` makes it; PostgreSQL on a fresh database.
    let db = match backend {
        "postgres" => Some(TestDb::postgres().await),
        _ => None,
    };
    let data = tempfile::tempdir().expect("data directory");
    // As `serve` would make it (umask 077), so that it does not warn.
    std::fs::set_permissions(
        data.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .expect("chmod");
    let url = match db.as_ref().map(|d| &d.config) {
        Some(dangan_app::StoreConfig::Postgres(url)) => Some(url.as_str()),
        _ => None,
    };
    let fill = Instant::now();
    let ids = register(data.path(), url, persons);
    let issue = |name: &str, scope: &str| {
        let out = dangan(
            data.path(),
            url,
            &["user", "token", "--name", name, "--scope", scope],
        );
        // The secret is the last line (shown once).
        out.lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or_else(|| panic!("a token in: {out}"))
            .trim()
            .to_owned()
    };
    let token = issue("load", "events:write");
    let clerk_token = issue("clerk", "persons:search");
    eprintln!(
        "  {backend}: {persons} persons and a token in {:.0} s",
        fill.elapsed().as_secs_f64()
    );
    let (server, base) = serve(data.path(), url);
    let (rate, mut times, errors) =
        drive("L", &base, &token, clients, persons as u64, seconds).await;
    let looked_up = if lookup {
        let mut rounds = Vec::new();
        for n in [1, 8] {
            rounds.push((n, look_up(&base, &clerk_token, n, &ids, seconds).await));
        }
        Some(rounds)
    } else {
        None
    };
    let searched = if search {
        let stop = Arc::new(AtomicBool::new(false));
        let searching = tokio::spawn(clerk(base.clone(), clerk_token, stop.clone()));
        let beside = drive("S", &base, &token, clients, persons as u64, seconds).await;
        stop.store(true, Ordering::Relaxed);
        Some((beside, searching.await.expect("clerk")))
    } else {
        None
    };
    drop(server);
    let baseline = raw(url, data.path(), clients, persons as u64, seconds).await;
    let (p50, p99, max) = percentiles(&mut times);
    println!(
        "events {backend:<8} clients={clients} {seconds} s  http {rate:>7.0} events/s p50 {p50:>6.1} ms p99 {p99:>7.1} ms max {max:>7.1} ms errors {errors} | raw one commit per event {baseline:>7.0}/s | http/raw {:>5.1} %",
        100.0 * rate / baseline
    );
    for (n, (rate, mut times, errors)) in looked_up.into_iter().flatten() {
        let (p50, p99, max) = percentiles(&mut times);
        let (raw_rate, mut raw_times) = raw_lookups(url, data.path(), n, seconds).await;
        let (r50, r99, rmax) = percentiles(&mut raw_times);
        println!(
            "lookup {backend:<8} persons={persons} clients={n} {seconds} s  http {rate:>7.0}/s p50 {p50:>5.2} ms p99 {p99:>6.2} ms max {max:>7.2} ms errors {errors} | raw indexed select {raw_rate:>7.0}/s p50 {r50:.3} ms p99 {r99:.3} ms max {rmax:.2} ms"
        );
    }
    if let Some(((beside, mut times, errors), (mut searches, search_errors))) = searched {
        let (p50, p99, max) = percentiles(&mut times);
        let n = searches.len();
        let (s50, s99, smax) = percentiles(&mut searches);
        println!(
            "events {backend:<8} clients={clients} {seconds} s  beside a surname search loop: {beside:>7.0} events/s ({:.1} % of alone) p50 {p50:>6.1} ms p99 {p99:>7.1} ms max {max:>7.1} ms errors {errors} | {n} searches p50 {s50:.1} ms p99 {s99:.1} ms max {smax:.1} ms errors {search_errors}",
            100.0 * beside / rate
        );
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let clients = env_usize("DANGAN_BENCH_CLIENTS", 16);
    let seconds = env_usize("DANGAN_BENCH_SECONDS", 15) as u64;
    let persons = env_usize("DANGAN_BENCH_PERSONS", 2000);
    let skip_pg = std::env::var("DANGAN_BENCH_SKIP_PG").is_ok_and(|v| v == "1");
    let search = !std::env::var("DANGAN_BENCH_SKIP_SEARCH").is_ok_and(|v| v == "1");
    let lookup = !std::env::var("DANGAN_BENCH_SKIP_LOOKUP").is_ok_and(|v| v == "1");
    rt.block_on(async {
        run("sqlite", clients, persons, seconds, search, lookup).await;
        if !skip_pg {
            run("postgres", clients, persons, seconds, search, lookup).await;
        }
    });
}
