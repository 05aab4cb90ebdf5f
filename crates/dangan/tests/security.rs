//! The operator's view of security: TLS end to end with a self-signed set-up, and
//! `dangan audit verify` catching an edited, deleted, swapped or truncated log.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use sqlx::{Connection, SqliteConnection};

fn dangan() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dangan"));
    c.env_remove("DANGAN_DATABASE_URL")
        .env("DANGAN_LOG", "warn");
    c
}

fn run_ok(args: &[&str], data: &Path) -> String {
    let out = dangan()
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn verify(data: &Path) -> (bool, String) {
    let out = dangan()
        .args(["audit", "verify", "--data-dir"])
        .arg(data)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn tamper(data: &Path, statements: &[&str]) {
    let url = format!("sqlite://{}", data.join("dangan.db").display());
    let mut conn = SqliteConnection::connect(&url).await.unwrap();
    for s in statements {
        sqlx::raw_sql(sqlx::AssertSqlSafe(s.to_string()))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    conn.close().await.unwrap();
}

async fn scalar(data: &Path, sql: &str) -> i64 {
    let url = format!("sqlite://{}", data.join("dangan.db").display());
    let mut conn = SqliteConnection::connect(&url).await.unwrap();
    let v: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_names_the_first_edited_deleted_swapped_or_truncated_entry() {
    let base = tempfile::tempdir().unwrap();
    let data = base.path().join("data");
    // Every command that writes to the log signs the head as it ends: three anchors here.
    run_ok(&["migrate"], &data);
    run_ok(&["demo-data", "--persons", "3", "--seed", "1"], &data);
    run_ok(&["demo-data", "--persons", "3", "--seed", "2"], &data);
    assert!(run_ok(&["audit", "anchor"], &data).contains("没有变化"));
    let anchored = scalar(&data, "SELECT MAX(seq) FROM log_anchors").await;
    run_ok(&["demo-data", "--persons", "3", "--seed", "3"], &data);
    let entries = scalar(&data, "SELECT MAX(seq) FROM operation_log").await;
    let (ok, text) = verify(&data);
    assert!(ok, "{text}");
    assert!(text.contains(&format!("共 {entries} 条")), "{text}");
    assert!(text.contains("[通过] 签名锚点"), "{text}");

    let truncate = format!("DELETE FROM operation_log WHERE seq >= {anchored}");
    let head = format!(
        "UPDATE operation_log_head SET seq = {0}, hash = (SELECT hash FROM operation_log WHERE seq = {0})",
        anchored - 1
    );
    let cases: Vec<(&str, Vec<String>, String)> = vec![
        (
            "edit",
            vec!["UPDATE operation_log SET detail = detail || 'x' WHERE seq = 2".into()],
            "第 2 条".into(),
        ),
        (
            "delete",
            vec!["DELETE FROM operation_log WHERE seq = 3".into()],
            "第 3 条".into(),
        ),
        (
            "swap",
            vec![
                "UPDATE operation_log SET seq = -2 WHERE seq = 2".into(),
                "UPDATE operation_log SET seq = 2 WHERE seq = 3".into(),
                "UPDATE operation_log SET seq = 3 WHERE seq = -2".into(),
            ],
            "第 2 条".into(),
        ),
        (
            "truncate",
            vec![truncate.clone(), head.clone()],
            "截断".into(),
        ),
        (
            "truncate and delete the anchors",
            vec![truncate, head, "DELETE FROM log_anchors".into()],
            "见证".into(),
        ),
    ];
    for (what, statements, expected) in &cases {
        let copy = base.path().join(what.replace(' ', "-"));
        dangan_testkit::copy_dir(&data, &copy);
        let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
        tamper(&copy, &statements).await;
        let (ok, text) = verify(&copy);
        assert!(!ok, "{what}: verify must fail");
        assert!(text.contains(expected.as_str()), "{what}: {text}");
    }

    // The insider's rewrite: every entry of the first demo load deleted, the rest renumbered
    // and re-hashed, the head rewritten — then also the anchors deleted, then also the local
    // witness. Without the log key the chain MAC fails at the first renumbered entry.
    let first_demo = scalar(
        &data,
        "SELECT MIN(seq) FROM operation_log WHERE action = 'demo.load'",
    )
    .await;
    for (what, drop_anchors, drop_witness) in [
        ("rewrite", false, false),
        ("rewrite without anchors", true, false),
        ("rewrite without anchors or witness", true, true),
    ] {
        let copy = base.path().join(what.replace(' ', "-"));
        dangan_testkit::copy_dir(&data, &copy);
        let config = dangan_app::StoreConfig::SqliteFile(copy.join("dangan.db"));
        let demo = scalar(
            &copy,
            "SELECT MIN(id) FROM operation_log WHERE action = 'demo.load'",
        )
        .await;
        dangan_testkit::insider::rewrite(&config, |e| e.id != demo, None).await;
        if drop_anchors {
            tamper(&copy, &["DELETE FROM log_anchors"]).await;
        }
        if drop_witness {
            std::fs::remove_dir_all(copy.join("keys").join("log-witness")).unwrap();
        }
        let (ok, text) = verify(&copy);
        assert!(!ok, "{what}: verify must fail");
        // The chain MAC fails at the first renumbered entry whatever else was removed; a
        // witness copy of a deleted anchor may name an earlier place first.
        assert!(
            text.contains(&format!("第{first_demo}条日志的链校验码无效")),
            "{what}: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_works_end_to_end_with_a_self_signed_certificate_and_plain_http_fails() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let out = dangan()
        .args(["cert", "self-signed", "--out-dir"])
        .arg(&certs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(certs.join("key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let mut child = dangan()
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(certs.join("cert.pem"))
        .arg("--tls-key")
        .arg(certs.join("key.pem"))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let addr = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|l| {
                l.split("https://")
                    .nth(1)
                    .map(|r| r.split_whitespace().next().unwrap().to_owned())
            })
            .expect("serve prints its https address")
    })
    .await
    .unwrap();

    let pem = std::fs::read(certs.join("cert.pem")).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .build()
        .unwrap();
    let res = client
        .get(format!("https://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    assert_eq!(res.headers()["cache-control"], "no-store");

    // A client that does not trust the certificate refuses to talk.
    let untrusting = reqwest::Client::builder()
        .tls_certs_only([])
        .build()
        .unwrap();
    assert!(
        untrusting
            .get(format!("https://{addr}/healthz"))
            .send()
            .await
            .is_err()
    );

    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = {
        let addr = addr.clone();
        tokio::task::spawn_blocking(move || {
            let mut s = TcpStream::connect(&addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            // The TLS server may hang up before the request is written: that is a refusal too.
            let _ = write!(
                s,
                "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
            );
            let mut buf = Vec::new();
            let _ = s.read_to_end(&mut buf);
            buf
        })
        .await
        .unwrap()
    };
    assert!(
        !plain.starts_with(b"HTTP/1.1 200"),
        "plain HTTP must not be served"
    );

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success());
}
