//! What the monitoring sees of a real `dangan serve`: Prometheus metrics on their own listener,
//! readiness distinct from liveness, and JSON log lines (issue 17 item 5, `docs/operations.md`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use dangan_testkit::TestDb;

/// An identity number that must never leave the server except to the clerk who may see it.
const ID_NUMBER: &str = "11010519491231002X";

fn dangan() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dangan"));
    c.env_remove("DANGAN_DATABASE_URL")
        .env_remove("DANGAN_LOG_FORMAT")
        .env("DANGAN_LOG", "warn");
    c
}

/// A running server: the process, its main address, its metrics address (when asked for) and
/// the first administrator's printed password.
struct Server {
    child: Child,
    addr: String,
    metrics: Option<String>,
    password: String,
}

/// Starts `serve` and reads its stdout until it reports its main address.
#[expect(
    clippy::zombie_processes,
    reason = "the child is returned to the caller, which waits for it after SIGTERM or kill"
)]
fn start(mut cmd: Command) -> Server {
    let mut child = cmd.stdout(Stdio::piped()).spawn().expect("spawn dangan");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let (mut metrics, mut password) = (None, None);
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("serve prints its address");
        if let Some(p) = line.split("初始密码 ").nth(1)
            && password.is_none()
        {
            password = Some(p.split('，').next().unwrap().trim().to_owned());
        }
        if let Some(rest) = line.split("指标地址：").nth(1) {
            metrics = Some(rest.split('（').next().unwrap().trim().to_owned());
        }
        if let Some(rest) = line.split("http://").nth(1) {
            let addr = rest.split_whitespace().next().expect("address").to_owned();
            return Server {
                child,
                addr,
                metrics,
                password: password.expect("the administrator's password is printed"),
            };
        }
    }
}

fn http(addr: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

/// Signs in as the first administrator and changes the generated password; the token.
fn admin_token(server: &Server) -> String {
    let login = http(
        &server.addr,
        "POST",
        "/api/v1/auth/login",
        None,
        &format!(
            "{{\"username\":\"admin\",\"password\":\"{}\"}}",
            server.password
        ),
    );
    let token = login
        .split("\"token\":\"")
        .nth(1)
        .unwrap_or_else(|| panic!("{login}"))
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let changed = http(
        &server.addr,
        "POST",
        "/api/v1/auth/password",
        Some(&token),
        &format!(
            "{{\"current_password\":\"{}\",\"new_password\":\"new-admin-pass-1\"}}",
            server.password
        ),
    );
    assert!(changed.starts_with("HTTP/1.1 204"), "{changed}");
    token
}

/// Registers the person of `ID_NUMBER` and finds them by number; the person's row id.
fn register_and_search(server: &Server, token: &str) -> String {
    let created = http(
        &server.addr,
        "POST",
        "/api/v1/persons",
        Some(token),
        &format!(
            "{{\"id_number\":\"{ID_NUMBER}\",\"name\":\"张三\",\"division_code\":\"110105\"}}"
        ),
    );
    assert!(created.starts_with("HTTP/1.1 201"), "{created}");
    let found = http(
        &server.addr,
        "POST",
        "/api/v1/persons/search",
        Some(token),
        &format!("{{\"id_number\":\"{ID_NUMBER}\"}}"),
    );
    assert!(found.contains("110105***********X"), "{found}");
    created
        .split("\"id\":")
        .nth(1)
        .unwrap()
        .split([',', '}'])
        .next()
        .unwrap()
        .trim()
        .to_owned()
}

fn sigterm_and_wait(mut child: Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    let ok = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(ok.success());
    for _ in 0..150 {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().ok();
    panic!("dangan did not stop within 15 s of SIGTERM");
}

#[test]
fn metrics_count_a_request_under_its_route_template_and_status_with_no_raw_id_in_any_label() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = dangan();
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .args(["--metrics-listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path());
    let server = start(cmd);
    let metrics_addr = server
        .metrics
        .clone()
        .expect("the metrics address is printed");
    let token = admin_token(&server);
    let person = register_and_search(&server, &token);
    // Without a query registration the archive stays closed: a 403 under the route template.
    let refused = http(
        &server.addr,
        "GET",
        &format!("/api/v1/persons/{person}"),
        Some(&token),
        "",
    );
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    // An odd id in a path that no route knows.
    let unknown = http(&server.addr, "GET", "/no/such/page/4242424242", None, "");
    assert!(unknown.starts_with("HTTP/1.1 404"), "{unknown}");

    // The main listener has no /metrics: opening its port never exposes them.
    let main = http(&server.addr, "GET", "/metrics", None, "");
    assert!(main.starts_with("HTTP/1.1 404"), "{main}");
    assert!(!main.contains("dangan_http_requests_total"), "{main}");

    // The anchor of the start is a background job: scraped again until it has run.
    let mut scraped = String::new();
    for _ in 0..100 {
        scraped = http(&metrics_addr, "GET", "/metrics", None, "");
        if scraped.contains("dangan_audit_anchor_age_seconds ") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(scraped.starts_with("HTTP/1.1 200"), "{scraped}");
    let counted = |route: &str, status: &str| {
        scraped.lines().any(|l| {
            l.starts_with("dangan_http_requests_total{")
                && l.contains(&format!("route=\"{route}\""))
                && l.contains(&format!("status=\"{status}\""))
        })
    };
    assert!(counted("/api/v1/persons/{id}", "403"), "{scraped}");
    assert!(counted("/api/v1/persons", "201"), "{scraped}");
    assert!(counted("/api/v1/persons/search", "200"), "{scraped}");
    assert!(counted("unmatched", "404"), "{scraped}");
    assert!(
        scraped.contains("dangan_http_request_duration_seconds_bucket{"),
        "{scraped}"
    );
    // Nothing of the request reached a label: not the row id, not the odd path, not the number.
    let labels: Vec<&str> = scraped.lines().filter(|l| l.contains('{')).collect();
    for line in &labels {
        assert!(!line.contains(&format!("/{person}")), "a raw id in {line}");
        assert!(!line.contains("4242424242"), "a raw path in {line}");
        assert!(!line.contains("19491231"), "an identity number in {line}");
    }
    assert!(!scraped.contains("19491231"), "{scraped}");
    // Read from the database at scrape time: the anchor signed at start, the database up.
    assert!(
        scraped.contains("dangan_audit_anchor_age_seconds "),
        "{scraped}"
    );
    assert!(
        scraped.contains("dangan_metrics_database_up 1"),
        "{scraped}"
    );
    // The job queue: gauges by state and the age of the oldest due job.
    assert!(
        scraped.contains("dangan_jobs{state=\"failed\"} 0"),
        "{scraped}"
    );
    assert!(
        scraped.contains("dangan_jobs_oldest_due_age_seconds "),
        "{scraped}"
    );
    assert!(sigterm_and_wait(server.child).success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_is_200_on_a_healthy_server_and_503_once_its_postgresql_database_is_gone() {
    let db = TestDb::postgres().await;
    let dangan_app::StoreConfig::Postgres(url) = &db.config else {
        unreachable!()
    };
    let data = tempfile::tempdir().unwrap();
    let mut cmd = dangan();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--database-url", url])
        .arg("--data-dir")
        .arg(data.path());
    let server = tokio::task::spawn_blocking(move || start(cmd))
        .await
        .unwrap();
    let addr = server.addr.clone();
    let ready = {
        let addr = addr.clone();
        tokio::task::spawn_blocking(move || http(&addr, "GET", "/readyz", None, ""))
            .await
            .unwrap()
    };
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    assert!(ready.contains("\"status\":\"ready\""), "{ready}");

    // The database goes away under the running server (dropped with its connections).
    tokio::task::spawn_blocking(move || drop(db)).await.unwrap();
    let gone = {
        let addr = addr.clone();
        tokio::task::spawn_blocking(move || http(&addr, "GET", "/readyz", None, ""))
            .await
            .unwrap()
    };
    assert!(gone.starts_with("HTTP/1.1 503"), "{gone}");
    assert!(gone.contains("\"reason\":\"database\""), "{gone}");
    // Liveness says the same of the database, but is its own route.
    let health = tokio::task::spawn_blocking(move || http(&addr, "GET", "/healthz", None, ""))
        .await
        .unwrap();
    assert!(health.starts_with("HTTP/1.1 503"), "{health}");
    // Without its database the server cannot sign its last anchor: stop it hard.
    let mut child = server.child;
    child.kill().ok();
    child.wait().ok();
}

#[test]
fn json_log_lines_parse_as_json_and_contain_no_identity_number() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let mut cmd = dangan();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("DANGAN_LOG", "debug")
        .stderr(std::fs::File::create(&log).unwrap());
    let server = start(cmd);
    let token = admin_token(&server);
    register_and_search(&server, &token);
    let refused = http(
        &server.addr,
        "GET",
        &format!("/api/v1/persons?id_number={ID_NUMBER}"),
        Some(&token),
        "",
    );
    assert!(refused.starts_with("HTTP/1.1 400"), "{refused}");
    assert!(sigterm_and_wait(server.child).success());

    let logged = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = logged.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() > 5, "{logged}");
    let mut requests = 0;
    for line in &lines {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(value.get("level").is_some(), "{line}");
        assert!(value.get("timestamp").is_some(), "{line}");
        if line.contains("/api/v1/persons") {
            requests += 1;
        }
    }
    assert!(requests > 0, "the debug log has request lines: {logged}");
    assert!(
        !logged.contains("19491231"),
        "an identity number reached the log: {logged}"
    );
}
