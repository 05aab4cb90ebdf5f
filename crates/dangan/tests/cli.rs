//! The binary as an operator uses it: start on a fresh data directory, read the printed
//! administrator password, check health, stop with SIGTERM; add users; load demo data.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use dangan_testkit::TestDb;

fn dangan() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dangan"));
    c.env_remove("DANGAN_DATABASE_URL")
        .env("DANGAN_LOG", "warn");
    c
}

/// Starts `serve` and collects its stdout lines until it reports its address.
#[expect(
    clippy::zombie_processes,
    reason = "the child is returned to the caller, which waits for it after SIGTERM"
)]
fn start(mut cmd: Command) -> (Child, Vec<String>, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn dangan");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("serve prints its address");
        if let Some(rest) = line.split("http://").nth(1) {
            let addr = rest.split_whitespace().next().expect("address").to_owned();
            lines.push(line);
            return (child, lines, addr);
        }
        lines.push(line);
    }
}

fn http_get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

fn http_json(addr: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> String {
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

fn sigterm_and_wait(mut child: Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    let ok = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(ok.success());
    for _ in 0..100 {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().ok();
    panic!("dangan did not stop within 10 s of SIGTERM");
}

#[test]
fn version_is_printed() {
    let out = dangan().arg("--version").output().expect("run");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("dangan "));
}

#[test]
fn a_fresh_start_on_sqlite_prints_the_admin_password_once_serves_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = dangan();
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .env("DANGAN_DATA_DIR", dir.path());
    let (child, lines, addr) = start(cmd);
    assert!(lines.iter().any(|l| l.contains("初始密码")), "{lines:?}");
    assert!(lines.last().unwrap().contains("sqlite"));
    let health = http_get(&addr, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(sigterm_and_wait(child).success());
    assert!(dir.path().join("dangan.db").exists());

    // A second start on the same directory creates no new administrator.
    let mut cmd = dangan();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path());
    let (child, lines, _) = start(cmd);
    assert!(!lines.iter().any(|l| l.contains("初始密码")), "{lines:?}");
    assert!(sigterm_and_wait(child).success());
}

#[test]
fn identity_numbers_never_reach_the_log_even_at_debug_level() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let mut cmd = dangan();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("DANGAN_LOG", "debug")
        .stderr(std::fs::File::create(&log).unwrap());
    let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok);
    let password = lines
        .by_ref()
        .find_map(|l| {
            l.split("初始密码 ")
                .nth(1)
                .map(|p| p.split('，').next().unwrap().trim().to_owned())
        })
        .expect("password printed");
    let addr = lines
        .find_map(|l| {
            l.split("http://")
                .nth(1)
                .map(|r| r.split_whitespace().next().unwrap().to_owned())
        })
        .expect("address printed");
    let login = http_json(
        &addr,
        "POST",
        "/api/v1/auth/login",
        None,
        &format!("{{\"username\":\"admin\",\"password\":\"{password}\"}}"),
    );
    let token = login
        .split("\"token\":\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let changed = http_json(
        &addr,
        "POST",
        "/api/v1/auth/password",
        Some(&token),
        &format!("{{\"current_password\":\"{password}\",\"new_password\":\"new-admin-pass-1\"}}"),
    );
    assert!(changed.starts_with("HTTP/1.1 204"), "{changed}");
    let id = "11010519491231002X";
    let created = http_json(
        &addr,
        "POST",
        "/api/v1/persons",
        Some(&token),
        &format!("{{\"id_number\":\"{id}\",\"name\":\"张三\",\"division_code\":\"110105\"}}"),
    );
    assert!(created.starts_with("HTTP/1.1 201"), "{created}");
    let found = http_json(
        &addr,
        "POST",
        "/api/v1/persons/search",
        Some(&token),
        &format!("{{\"id_number\":\"{id}\"}}"),
    );
    assert!(found.contains("110105***********X"), "{found}");
    let refused = http_json(
        &addr,
        "GET",
        &format!("/api/v1/persons?id_number={id}"),
        Some(&token),
        "",
    );
    assert!(refused.starts_with("HTTP/1.1 400"), "{refused}");
    let dup = http_json(
        &addr,
        "POST",
        "/api/v1/persons",
        Some(&token),
        &format!("{{\"id_number\":\"{id}\",\"name\":\"张三\",\"division_code\":\"110105\"}}"),
    );
    assert!(dup.starts_with("HTTP/1.1 409"), "{dup}");
    assert!(sigterm_and_wait(child).success());
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("/api/v1/persons"),
        "the debug log has request lines: {logged}"
    );
    assert!(
        !logged.contains("19491231"),
        "an identity number reached the log: {logged}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_starts_on_postgresql_with_a_database_url() {
    let db = TestDb::postgres().await;
    let dangan_app::StoreConfig::Postgres(url) = &db.config else {
        unreachable!()
    };
    // The keys and the vault go to a temporary directory, never beside the sources.
    let data = tempfile::tempdir().unwrap();
    let mut cmd = dangan();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--database-url", url])
        .arg("--data-dir")
        .arg(data.path());
    let (child, lines, addr) = tokio::task::spawn_blocking(move || start(cmd))
        .await
        .unwrap();
    assert!(lines.last().unwrap().contains("postgres"), "{lines:?}");
    let health = tokio::task::spawn_blocking(move || http_get(&addr, "/healthz"))
        .await
        .unwrap();
    assert!(health.contains("\"database\":\"postgres\""), "{health}");
    assert!(
        tokio::task::spawn_blocking(move || sigterm_and_wait(child))
            .await
            .unwrap()
            .success()
    );
}

#[test]
fn user_add_reads_the_password_from_stdin_and_refuses_a_taken_name() {
    let dir = tempfile::tempdir().unwrap();
    let add = || {
        let mut child = dangan()
            .args([
                "user",
                "add",
                "--username",
                "li.si",
                "--role",
                "archivist",
                "--password-stdin",
                "--data-dir",
            ])
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"archive-pass-2026\n")
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let first = add();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(String::from_utf8_lossy(&first.stdout).contains("档案管理员"));
    let second = add();
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("用户名已被使用"));
    let bad_role = dangan()
        .args([
            "user",
            "add",
            "--username",
            "x1",
            "--role",
            "boss",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!bad_role.status.success());
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("角色"));
}

#[test]
fn demo_data_loads_once_per_seed() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        dangan()
            .args(["demo-data", "--persons", "25", "--seed", "9", "--data-dir"])
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let first = run();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(String::from_utf8_lossy(&first.stdout).contains("新增参保人 25 人"));
    let second = run();
    assert!(String::from_utf8_lossy(&second.stdout).contains("新增参保人 0 人"));
}

#[test]
fn a_bad_archive_number_pattern_stops_the_server_with_a_chinese_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = dangan()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--archive-number-pattern",
            "{year}-{serial}",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("档号规则"));
}

/// Demo data for three persons and an empty hot folder beside it, with the first person's
/// enrolment (found through the generator itself): its year and its materials' names.
struct HotFolder {
    _dir: tempfile::TempDir,
    data: std::path::PathBuf,
    scans: std::path::PathBuf,
    person: dangan_app::administration::demo::DemoPerson,
    year: i32,
    materials: Vec<String>,
}

impl HotFolder {
    fn new() -> HotFolder {
        use chrono::Datelike;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let out = dangan()
            .args(["demo-data", "--persons", "3", "--seed", "4", "--data-dir"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(out.status.success());
        let people = dangan_app::administration::demo::generate(
            4,
            3,
            &dangan_domain::catalogue::Catalogue::builtin(),
        );
        let person = people.into_iter().next().unwrap();
        let enrolment = person
            .events
            .iter()
            .find(|e| e.business_type == dangan_domain::business::BusinessType::Enrolment)
            .unwrap();
        let year = enrolment.date.year();
        let materials = enrolment.materials.iter().map(|m| m.name.clone()).collect();
        let scans = dir.path().join("scans");
        std::fs::create_dir_all(&scans).unwrap();
        HotFolder {
            _dir: dir,
            data,
            scans,
            person,
            year,
            materials,
        }
    }
}

#[test]
fn a_hot_folder_is_ingested_once_and_unmatched_scans_are_quarantined() {
    let f = HotFolder::new();
    let (data, scans, p, year) = (&f.data, &f.scans, &f.person, f.year);
    let material = &f.materials[0];
    std::fs::write(
        scans.join(format!("{year}-参保登记-{}-{material}.pdf", p.id_number)),
        b"%PDF-1.4\n<</Type /Page>>",
    )
    .unwrap();
    std::fs::write(
        scans.join(format!("{year}-参保登记-{}-不存在的材料.pdf", p.id_number)),
        b"%PDF-1.4 x",
    )
    .unwrap();
    std::fs::write(scans.join("scan0001.jpg"), [0xFF, 0xD8, 0xFF, 0xE0]).unwrap();
    let run = || {
        dangan()
            .args(["ingest", "--data-dir"])
            .arg(data)
            .arg(scans)
            .output()
            .unwrap()
    };
    let first = run();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let text = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(
        text.contains("入库 1 个，已存在而跳过 0 个，待处理（隔离） 2 个"),
        "{text}"
    );
    assert!(
        !text.contains(p.id_number.as_str()),
        "identity numbers are printed masked: {text}"
    );
    // The batch's four-property summary: the PDF is not PDF/A, so its format check fails.
    assert!(
        text.contains("四性检测：本批入库 1 个文件，0 个全部通过"),
        "{text}"
    );
    assert!(text.contains("可用性：通过"), "{text}");
    assert!(text.contains("GD-3-1 格式符合归档要求"), "{text}");
    assert!(
        text.contains(
            "批次 GD-2-4 数据总量（批次）：通过（文件夹中 3 个文件：入库 1、已存在 0、隔离 2）"
        ),
        "{text}"
    );
    assert!(text.contains("批次 GD-2-5 页数与登记一致"), "{text}");
    let second = run();
    let text = String::from_utf8_lossy(&second.stdout).into_owned();
    assert!(text.contains("入库 0 个，已存在而跳过 1 个"), "{text}");
    let verify = dangan()
        .args(["verify", "--data-dir"])
        .arg(data)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(String::from_utf8_lossy(&verify.stdout).contains("共校验 1 个电子文件，0 个有问题"));
}

#[test]
fn an_empty_scan_in_a_hot_folder_is_quarantined_and_the_batch_goes_on() {
    let f = HotFolder::new();
    let (data, scans, p, year) = (&f.data, &f.scans, &f.person, f.year);
    // Sorted first: the empty scan of a real material, then a misnamed file and a good scan.
    let first_material = &f.materials[0];
    std::fs::write(
        scans.join(format!(
            "{year}-参保登记-{}-{first_material}.pdf",
            p.id_number
        )),
        b"",
    )
    .unwrap();
    std::fs::write(scans.join("scan0001.jpg"), [0xFF, 0xD8, 0xFF, 0xE0]).unwrap();
    let second_material = &f.materials[1];
    std::fs::write(
        scans.join(format!(
            "{year}-参保登记-{}-{second_material}.pdf",
            p.id_number
        )),
        b"%PDF-1.4\n<</Type /Page>>",
    )
    .unwrap();
    let run = || {
        dangan()
            .args(["ingest", "--data-dir"])
            .arg(data)
            .arg(scans)
            .output()
            .unwrap()
    };
    for attempt in ["first", "rerun"] {
        let out = run();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{attempt}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ingested = if attempt == "first" { 1 } else { 0 };
        assert!(
            text.contains(&format!(
                "入库 {ingested} 个，已存在而跳过 {} 个，待处理（隔离） 2 个",
                1 - ingested
            )),
            "{attempt}: {text}"
        );
        assert!(text.contains("文件为空"), "{attempt}: {text}");
        assert!(text.contains("隔离：scan0001.jpg"), "{attempt}: {text}");
        assert!(text.contains("批次 GD-2-4"), "{attempt}: {text}");
    }
}
