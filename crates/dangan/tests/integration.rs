//! Integration with the pension business system (issue 7), end to end with the real binary: the
//! server is killed with SIGKILL while a sync batch is in flight and while the simulator is
//! filing business; after a restart and a replay every record is there exactly once.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

mod common;
use common::dangan;

/// A port that was free a moment ago, so that a restarted server listens where clients expect.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts `serve` on `port` and returns once it listens.
fn serve(data: &Path, port: u16) -> Child {
    common::serve(data, &format!("127.0.0.1:{port}")).0
}

/// A machine token with the scopes the business system needs, made with `dangan user token`.
fn machine_token(data: &Path) -> String {
    let out = dangan(data)
        .args([
            "user",
            "token",
            "--name",
            "pension-system",
            "--scope",
            "persons:write",
            "--scope",
            "archive:write",
            "--scope",
            "sync:write",
        ])
        .output()
        .expect("user token");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    stdout
        .lines()
        .last()
        .expect("the token line")
        .trim()
        .to_owned()
}

async fn count(data: &Path, sql: &str) -> i64 {
    let mut conn = SqliteConnectOptions::new()
        .filename(data.join("dangan.db"))
        .read_only(true)
        .connect()
        .await
        .expect("open the database");
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&mut conn)
        .await
        .expect("count");
    conn.close().await.expect("close");
    n
}

fn kill(mut child: Child) {
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_during_a_sync_batch_keeps_exactly_one_copy_of_each_record_after_the_replay()
 {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let token = machine_token(data);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let child = serve(data, port);
    let client = reqwest::Client::new();

    // 200 persons, then a batch of 10 000 contribution records over them.
    let catalogue = dangan_domain::catalogue::Catalogue::builtin();
    let persons = dangan_app::administration::demo::generate(7, 200, &catalogue);
    for p in &persons {
        let res = client
            .post(format!("{base}/api/v1/persons"))
            .bearer_auth(&token)
            .json(&json!({"id_number": p.id_number, "name": p.name, "division_code": p.division_code, "tier": p.tier}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
    let records: Vec<Value> = (0..10_000)
        .map(|i| {
            let p = &persons[i % persons.len()];
            json!({
                "source_id": format!("K-{i}"),
                "id_number": p.id_number,
                "year": 1990 + (i / persons.len()) as i32 % 35,
                "tier": 300,
                "personal": "300.00",
                "paid_on": "2025-06-01",
                "channel": "银行代扣",
            })
        })
        .collect();
    let batch = json!({"source_system": "pension", "records": records});

    // The batch is sent and the server killed while it works on it.
    let sending = {
        let (client, base, token, batch) =
            (client.clone(), base.clone(), token.clone(), batch.clone());
        tokio::spawn(async move {
            client
                .post(format!("{base}/api/v1/sync/contributions"))
                .bearer_auth(&token)
                .json(&batch)
                .send()
                .await
                .map(|r| r.status().as_u16())
        })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    kill(child);
    let first = sending.await.unwrap();
    let stored = count(data, "SELECT COUNT(*) FROM contributions").await;
    assert!(
        stored == 0 || stored == 10_000,
        "a batch is all or nothing, found {stored} (first answer {first:?})"
    );

    // The client did not get (or could not trust) an answer: it sends the batch again.
    let child = serve(data, port);
    for _ in 0..2 {
        let res = client
            .post(format!("{base}/api/v1/sync/contributions"))
            .bearer_auth(&token)
            .json(&batch)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let report: Value = res.json().await.unwrap();
        assert_eq!(report["accepted"], 10_000);
        assert_eq!(report["rejected"].as_array().unwrap().len(), 0);
    }
    kill(child);
    assert_eq!(
        count(data, "SELECT COUNT(*) FROM contributions").await,
        10_000
    );
    assert_eq!(
        count(data, "SELECT COUNT(DISTINCT source_id) FROM contributions").await,
        10_000
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_rides_out_a_server_kill_and_a_full_replay_stores_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let token = machine_token(data);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let child = serve(data, port);

    let simulate = |extra: &[&str]| {
        let mut c = dangan(data);
        c.args([
            "simulate",
            "--url",
            &base,
            "--persons",
            "12",
            "--rate",
            "0",
            "--seed",
            "11",
        ])
        .args(extra)
        .env("DANGAN_TOKEN", &token)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        c
    };
    let running = simulate(&[]).spawn().expect("simulate");
    // Let it file some business, then kill the server under it and bring it back.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while count(data, "SELECT COUNT(*) FROM business_events").await < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the simulator files business"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    kill(child);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let child = serve(data, port);
    let out = running.wait_with_output().expect("simulate ends");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("模拟完成"), "{report}");
    assert!(
        !report.contains("重试 0 次"),
        "the kill was felt and ridden out: {report}"
    );

    let events = count(data, "SELECT COUNT(*) FROM business_events").await;
    let files = count(data, "SELECT COUNT(*) FROM files").await;
    let contributions = count(data, "SELECT COUNT(*) FROM contributions").await;
    let persons = count(data, "SELECT COUNT(*) FROM persons").await;
    let catalogue = dangan_domain::catalogue::Catalogue::builtin();
    let expected = dangan_app::administration::demo::generate(11, 12, &catalogue);
    let expected_events: usize = expected.iter().map(|p| p.events.len()).sum();
    let expected_files: usize = expected
        .iter()
        .flat_map(|p| &p.events)
        .map(|e| e.materials.len())
        .sum();
    assert_eq!(persons, 12);
    assert_eq!(events, expected_events as i64, "each business once");
    assert_eq!(files, expected_files as i64, "each scan once");

    // The whole run again: everything is recognised, nothing is stored twice.
    let again = simulate(&[]).output().expect("simulate again");
    let report = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{report}");
    assert!(report.contains("新登记 0"), "{report}");
    assert!(
        report.contains(&format!("自动归档 0 笔业务（重发 {expected_events} 笔）")),
        "{report}"
    );
    kill(child);
    assert_eq!(
        count(data, "SELECT COUNT(*) FROM business_events").await,
        events
    );
    assert_eq!(count(data, "SELECT COUNT(*) FROM files").await, files);
    assert_eq!(
        count(data, "SELECT COUNT(*) FROM contributions").await,
        contributions
    );
}
