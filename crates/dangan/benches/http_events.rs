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
//! A fourth round uploads scans (`POST /api/v1/materials/{id}/files`): `DANGAN_BENCH_UPLOADS`
//! files of 1 MB (200; incompressible bytes, as a JPEG scan is) from 4 clients, one material each,
//! and prints MB/s and p50/p99/max, beside two baselines on the same bytes in the same run: the
//! least a durable encrypted write needs (SHA-256 + AES-256-GCM over 64 KiB records + write +
//! fsync + rename + fsync of the directory; sequentially and from 4 threads, the faster counts),
//! and `restic backup` of the same files into a fresh repository (skipped, and said so, when
//! restic is not installed). Then one scan of `DANGAN_BENCH_BIG_MB` (2048; 0 skips it) is
//! streamed to the server over a plain socket, and the server's peak resident memory (VmHWM)
//! before and after is printed.
//!
//! `cargo bench -p dangan --bench http_events`. Environment: `DANGAN_BENCH_CLIENTS` (16),
//! `DANGAN_BENCH_SECONDS` (15), `DANGAN_BENCH_PERSONS` (2000), `DANGAN_BENCH_SKIP_PG=1`,
//! `DANGAN_BENCH_SKIP_SQLITE=1`,
//! `DANGAN_BENCH_SKIP_SEARCH=1`, `DANGAN_BENCH_SKIP_LOOKUP=1`, `DANGAN_BENCH_SKIP_EVENTS=1`
//! (the events rounds), `DANGAN_BENCH_UPLOADS` (200; 0 skips uploads), `DANGAN_BENCH_BIG_MB`,
//! `DANGAN_TEST_DATABASE_URL`.

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
        // The big scan of the upload round: the documented way to accept scans above the
        // default 200 MB.
        "--max-upload-mb",
        "4096",
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

/// An HTTP client keeping a connection per concurrent client.
fn http_client(clients: usize, timeout_seconds: u64) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .timeout(Duration::from_secs(timeout_seconds))
        .build()
        .expect("client")
}

/// The latencies and error counts of the client tasks, together.
async fn gather(
    tasks: Vec<tokio::task::JoinHandle<(Vec<Duration>, usize)>>,
) -> (Vec<Duration>, usize) {
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (times, e) = t.await.expect("client task");
        all.extend(times);
        errors += e;
    }
    (all, errors)
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
    let http = http_client(clients, 60);
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
    let (all, errors) = gather(tasks).await;
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
    for p in dangan_app::administration::demo::people(5, &catalogue).take(n) {
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
    let http = http_client(clients, 60);
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
    let (all, errors) = gather(tasks).await;
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

/// `n` incompressible files of `size` bytes (as scans are), the same in every run.
fn scans(n: usize, size: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let mut state = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let mut f = Vec::with_capacity(size + 8);
            while f.len() < size {
                f.extend_from_slice(&next(&mut state).to_le_bytes());
            }
            f.truncate(size);
            f
        })
        .collect()
}

/// Posts one event per file and returns the id of each event's material.
async fn materials_for(base: &str, token: &str, persons: u64, n: usize) -> Vec<i64> {
    let http = reqwest::Client::new();
    let mut ids = Vec::with_capacity(n);
    let mut state = 0x51ed_270b_u64;
    for i in 0..n {
        let answer = http
            .post(format!("{base}/api/v1/events"))
            .bearer_auth(token)
            .json(&event(next(&mut state) % persons + 1, "U", 0, i))
            .send()
            .await
            .expect("post event");
        assert_eq!(answer.status().as_u16(), 201, "event for an upload");
        let body: serde_json::Value = answer.json().await.expect("event json");
        ids.push(
            body["event"]["materials"][0]["id"]
                .as_i64()
                .expect("material id"),
        );
    }
    ids
}

/// `clients` clients uploading `files[i]` to `materials[i]`, each taking the next file: (MB/s,
/// latencies, errors).
async fn upload(
    base: &str,
    token: &str,
    clients: usize,
    materials: &[i64],
    files: &[Vec<u8>],
) -> (f64, Vec<Duration>, usize) {
    let http = http_client(clients, 120);
    let work: Arc<Vec<(i64, bytes::Bytes)>> = Arc::new(
        materials
            .iter()
            .zip(files)
            .map(|(m, f)| (*m, bytes::Bytes::from(f.clone())))
            .collect(),
    );
    let taken = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (http, work, taken) = (http.clone(), work.clone(), taken.clone());
        let (base, token) = (base.to_owned(), token.to_owned());
        tasks.push(tokio::spawn(async move {
            let (mut times, mut errors) = (Vec::new(), 0usize);
            loop {
                let i = taken.fetch_add(1, Ordering::Relaxed);
                let Some((material, body)) = work.get(i) else {
                    break;
                };
                let t = Instant::now();
                let answer = http
                    .post(format!("{base}/api/v1/materials/{material}/files"))
                    .bearer_auth(&token)
                    .header("X-File-Name", format!("scan-{i}.jpg"))
                    .body(body.clone())
                    .send()
                    .await;
                match answer {
                    Ok(r) if r.status().as_u16() == 201 => times.push(t.elapsed()),
                    other => failed(&format!("upload {client}"), &mut errors, other).await,
                }
            }
            (times, errors)
        }));
    }
    let (all, errors) = gather(tasks).await;
    let bytes: usize = files.iter().map(Vec::len).sum();
    (
        bytes as f64 / 1e6 / start.elapsed().as_secs_f64(),
        all,
        errors,
    )
}

/// The least a durable encrypted write needs, on `threads` threads: SHA-256 of each file,
/// AES-256-GCM over 64 KiB records, write, fsync, rename, fsync of the directory. MB/s.
fn durable_baseline(dir: &std::path::Path, files: &[Vec<u8>], threads: usize) -> f64 {
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    use sha2::Digest;
    use std::io::Write;
    let next_file = std::sync::atomic::AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let cipher = aes_gcm::Aes256Gcm::new_from_slice(&[7u8; 32]).expect("key");
                loop {
                    let i = next_file.fetch_add(1, Ordering::Relaxed);
                    let Some(f) = files.get(i) else { break };
                    let digest = sha2::Sha256::digest(f);
                    let tmp = dir.join(format!("{i}.tmp"));
                    let mut out = std::fs::File::create(&tmp).expect("create");
                    for (n, chunk) in f.chunks(64 * 1024).enumerate() {
                        let mut nonce = [0u8; 12];
                        nonce[4..].copy_from_slice(&(n as u64).to_be_bytes());
                        let sealed = cipher
                            .encrypt(
                                &aes_gcm::Nonce::try_from(&nonce[..]).expect("nonce"),
                                Payload {
                                    msg: chunk,
                                    aad: b"",
                                },
                            )
                            .expect("encrypt");
                        out.write_all(&sealed).expect("write");
                    }
                    out.sync_all().expect("fsync");
                    std::fs::rename(&tmp, dir.join(hex::encode(digest))).expect("rename");
                    std::fs::File::open(dir)
                        .and_then(|d| d.sync_all())
                        .expect("fsync dir");
                }
            });
        }
    });
    let bytes: usize = files.iter().map(Vec::len).sum();
    bytes as f64 / 1e6 / start.elapsed().as_secs_f64()
}

/// `restic backup` of the files (written to a directory first, not timed) into a fresh local
/// repository: MB/s, or why it could not run.
fn restic(dir: &std::path::Path, files: &[Vec<u8>]) -> Result<f64, String> {
    let source = dir.join("source");
    std::fs::create_dir_all(&source).map_err(|e| e.to_string())?;
    for (i, f) in files.iter().enumerate() {
        std::fs::write(source.join(format!("scan-{i}.jpg")), f).map_err(|e| e.to_string())?;
    }
    let repo = dir.join("repo");
    let restic = |args: &[&str]| {
        Command::new("restic")
            .args(args)
            .env("RESTIC_REPOSITORY", &repo)
            .env("RESTIC_PASSWORD", "bench")
            .env("RESTIC_CACHE_DIR", dir.join("cache"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
    };
    match restic(&["init"]) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err("restic is not installed (apt-get install restic)".to_owned());
        }
        Err(e) => return Err(e.to_string()),
        Ok(out) if !out.status.success() => {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        Ok(_) => {}
    }
    let start = Instant::now();
    let out = restic(&["backup", "--quiet", source.to_str().ok_or("path")?])
        .map_err(|e| e.to_string())?;
    let elapsed = start.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let bytes: usize = files.iter().map(Vec::len).sum();
    Ok(bytes as f64 / 1e6 / elapsed)
}

/// A field of `/proc/PID/status` in kB (`VmRSS`, `VmHWM`).
fn memory_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Streams one scan of `mb` MiB to `material` over a plain socket (`Content-Length`, the bytes
/// generated as they are sent): (seconds, the server's status line).
fn upload_big(base: &str, token: &str, material: i64, mb: usize) -> (f64, String) {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut socket = std::net::TcpStream::connect(addr).expect("connect");
    let len = mb << 20;
    let start = Instant::now();
    write!(
        socket,
        "POST /api/v1/materials/{material}/files HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nX-File-Name: big.jpg\r\nContent-Type: application/octet-stream\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    )
    .expect("headers");
    let mut state = 0xdead_beef_u64;
    let mut chunk = vec![0u8; 1 << 20];
    for _ in 0..mb {
        for word in chunk.chunks_mut(8) {
            word.copy_from_slice(&next(&mut state).to_le_bytes());
        }
        socket.write_all(&chunk).expect("body");
    }
    let mut answer = String::new();
    socket.read_to_string(&mut answer).expect("answer");
    let status = answer.lines().next().unwrap_or_default().to_owned();
    (start.elapsed().as_secs_f64(), status)
}

/// The upload round against a running server (see the module documentation).
async fn uploads(
    backend: &str,
    server: &Server,
    base: &str,
    tokens: (&str, &str),
    persons: u64,
    n: usize,
    big_mb: usize,
) {
    let (events_token, files_token) = tokens;
    let clients = 4;
    let files = scans(n, 1_000_000);
    let materials = materials_for(base, events_token, persons, n + 1).await;
    let (rate, mut times, errors) =
        upload(base, files_token, clients, &materials[..n], &files).await;
    let (p50, p99, max) = percentiles(&mut times);
    let dir = tempfile::tempdir().expect("baseline directory");
    let sequential = durable_baseline(dir.path(), &files, 1);
    let dir = tempfile::tempdir().expect("baseline directory");
    let parallel = durable_baseline(dir.path(), &files, clients);
    let baseline = sequential.max(parallel);
    let dir = tempfile::tempdir().expect("restic directory");
    let restic = match restic(dir.path(), &files) {
        Ok(r) => format!("restic {r:>7.1} MB/s (http/restic {:.2}x)", rate / r),
        Err(why) => format!("restic skipped: {}", why.trim()),
    };
    println!(
        "upload {backend:<8} {n} x 1 MB clients={clients}  http {rate:>7.1} MB/s p50 {p50:>6.1} ms p99 {p99:>7.1} ms max {max:>7.1} ms errors {errors} | SHA-256+AES-256-GCM+durable write {sequential:>7.1} MB/s (1 thread) {parallel:>7.1} MB/s ({clients} threads): http/best {:>5.1} % | {restic}",
        100.0 * rate / baseline
    );
    if big_mb > 0 {
        let pid = server.0.id();
        let (before, rss_before) = (memory_kb(pid, "VmHWM"), memory_kb(pid, "VmRSS"));
        let (base, token, material) = (base.to_owned(), files_token.to_owned(), materials[n]);
        let (seconds, status) =
            tokio::task::spawn_blocking(move || upload_big(&base, &token, material, big_mb))
                .await
                .expect("big upload");
        let after = memory_kb(pid, "VmHWM");
        println!(
            "upload {backend:<8} one scan of {big_mb} MiB  {status}  {:.1} MB/s in {seconds:.1} s | server peak resident memory {:.1} MiB before, {:.1} MiB after: growth {:.1} MiB (resident before {:.1} MiB)",
            (big_mb << 20) as f64 / 1e6 / seconds,
            before as f64 / 1024.0,
            after as f64 / 1024.0,
            after.saturating_sub(before) as f64 / 1024.0,
            rss_before as f64 / 1024.0
        );
    }
}

/// Which rounds run.
#[derive(Clone, Copy)]
struct Rounds {
    events: bool,
    search: bool,
    lookup: bool,
    uploads: usize,
    big_mb: usize,
}

async fn run(backend: &str, clients: usize, persons: usize, seconds: u64, rounds: Rounds) {
    let Rounds {
        events,
        search,
        lookup,
        ..
    } = rounds;
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
    let files_token = issue("scanner", "files:write");
    eprintln!(
        "  {backend}: {persons} persons and a token in {:.0} s",
        fill.elapsed().as_secs_f64()
    );
    let (server, base) = serve(data.path(), url);
    if rounds.uploads > 0 {
        let tokens = (token.as_str(), files_token.as_str());
        uploads(
            backend,
            &server,
            &base,
            tokens,
            persons as u64,
            rounds.uploads,
            rounds.big_mb,
        )
        .await;
    }
    if !events {
        return;
    }
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
    let skip = |name: &str| std::env::var(name).is_ok_and(|v| v == "1");
    let rounds = Rounds {
        events: !skip("DANGAN_BENCH_SKIP_EVENTS"),
        search: !skip("DANGAN_BENCH_SKIP_SEARCH"),
        lookup: !skip("DANGAN_BENCH_SKIP_LOOKUP"),
        uploads: env_usize("DANGAN_BENCH_UPLOADS", 200),
        big_mb: env_usize("DANGAN_BENCH_BIG_MB", 2048),
    };
    rt.block_on(async {
        if !skip("DANGAN_BENCH_SKIP_SQLITE") {
            run("sqlite", clients, persons, seconds, rounds).await;
        }
        if !skip_pg {
            run("postgres", clients, persons, seconds, rounds).await;
        }
    });
}
