//! The README's first look, followed as written: `serve --demo`, sign in as `admin`, search by
//! name 张, open the first result (查询登记 first), and it has a scan to click.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Ends the server when the test ends, even on a panic.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        for _ in 0..100 {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `serve --demo` and reads the administrator's printed password and the address.
fn serve_demo(data: &std::path::Path) -> (Server, String, String, Duration) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dangan"))
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env_remove("DANGAN_DATABASE_URL")
        .env("DANGAN_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn dangan");
    let stdout = child.stdout.take().expect("stdout");
    let server = Server(child);
    let mut password = None;
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        if line.contains("用户名 admin，") {
            password = line.split("初始密码 ").nth(1).map(|p| p.trim().to_owned());
        }
        if let Some(rest) = line.split("http://").nth(1) {
            let addr = rest.split_whitespace().next().expect("address").to_owned();
            let password = password.expect("the admin password is printed before the address");
            return (server, addr, password, started.elapsed());
        }
    }
    panic!("serve --demo never printed its address");
}

async fn call(
    c: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> Value {
    let mut req = c.request(method, &url);
    if !token.is_empty() {
        req = req.bearer_auth(token);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let text = res.text().await.expect("body");
    assert!(status.is_success(), "{url}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_person_a_search_for_zhang_finds_in_the_demo_has_a_scan_to_open() {
    let data = tempfile::tempdir().unwrap();
    let path = data.path().to_owned();
    let (_server, addr, password, took) = tokio::task::spawn_blocking(move || serve_demo(&path))
        .await
        .unwrap();
    eprintln!("serve --demo was ready after {took:?}");
    let base = format!("http://{addr}/api/v1");
    let c = reqwest::Client::new();
    use reqwest::Method;

    // Sign in as admin; the first sign-in changes the printed password.
    let login = call(
        &c,
        Method::POST,
        format!("{base}/auth/login"),
        "",
        Some(json!({"username": "admin", "password": password})),
    )
    .await;
    let token = login["token"].as_str().expect("token").to_owned();
    call(
        &c,
        Method::POST,
        format!("{base}/auth/password"),
        &token,
        Some(json!({"current_password": password, "new_password": "demo-admin-pass-1"})),
    )
    .await;

    // 参保人 → search 张: the first result, in the name order the page lists.
    let found = call(
        &c,
        Method::POST,
        format!("{base}/persons/search"),
        &token,
        Some(json!({"name": "张"})),
    )
    .await;
    let items = found["items"].as_array().expect("items");
    assert!(!items.is_empty(), "the demo has persons named 张…");
    let names: Vec<&str> = items.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "listed in name order");
    let first = items[0]["id"].as_i64().expect("id");

    // 查询登记, as the page asks before the archive opens.
    call(
        &c,
        Method::POST,
        format!("{base}/queries"),
        &token,
        Some(json!({
            "person_id": first,
            "enquirer_name": "王敏",
            "enquirer_id_number": "11010519491231002X",
            "question": "档案科：核对参保登记材料",
            "purpose": "业务经办核查",
        })),
    )
    .await;

    // The archive has at least one scan.
    let events = call(
        &c,
        Method::GET,
        format!("{base}/persons/{first}/events"),
        &token,
        None,
    )
    .await;
    let mut scans = 0;
    for e in events.as_array().expect("events") {
        for m in e["materials"].as_array().expect("materials") {
            let id = m["id"].as_i64().expect("material id");
            let files = call(
                &c,
                Method::GET,
                format!("{base}/materials/{id}/files"),
                &token,
                None,
            )
            .await;
            scans += files.as_array().map_or(0, Vec::len);
        }
    }
    assert!(scans >= 1, "{} ({first}) has no scan", names[0]);
}
