//! Durability of the electronic archive (issue 3, item 8): the server is killed with SIGKILL in
//! the middle of a stream of concurrent uploads. After a restart every acknowledged scan is
//! there and verifies, nothing half-written is visible, and `dangan gc` leaves only what the
//! metadata knows.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

mod common;
use common::dangan;

const PASSWORD: &str = "archive-pass-2026";

fn add_archivist(data: &Path) {
    let mut child = dangan(data)
        .args([
            "user",
            "add",
            "--username",
            "archivist1",
            "--role",
            "archivist",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("user add");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .expect("password");
    assert!(child.wait().expect("user add").success());
}

async fn login(client: &reqwest::Client, base: &str) -> String {
    let res: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "archivist1", "password": PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login body");
    res["token"].as_str().expect("token").to_owned()
}

/// A distinct scan of 0.5 to 3 MB: a TIFF header, then bytes derived from `n`.
fn scan(n: u64) -> Vec<u8> {
    let len = 512 * 1024 + (n as usize * 389_017) % (2560 * 1024);
    let mut b = b"II*\x00".to_vec();
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    b.extend((0..len).map(|_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x as u8
    }));
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_upload_survives_sigkill_and_nothing_half_written_is_visible() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    add_archivist(data);
    let (mut child, base) = common::serve(data, "127.0.0.1:0");
    let client = reqwest::Client::new();
    let token = login(&client, &base).await;
    let res = client
        .post(format!("{base}/api/v1/persons"))
        .bearer_auth(&token)
        .json(&json!({"id_number": "43032119800101002X", "name": "张三", "division_code": "430321", "tier": 300}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = client
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(&token)
        .json(&json!({
            "id_number": "43032119800101002X",
            "business_type": "参保登记",
            "business_date": "2024-05-06",
            "materials": [{"material_code": "enrolment_form", "pages": 2}]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let recorded: Value = res.json().await.unwrap();
    let material = recorded["event"]["materials"][0]["id"].as_i64().unwrap();
    let person = recorded["event"]["person_id"].as_i64().unwrap();

    // Four clients upload without pause; each records a scan only once its 201 has arrived.
    let acked: Arc<Mutex<BTreeMap<i64, String>>> = Arc::default();
    let mut uploaders = Vec::new();
    for worker in 0..4u64 {
        let (client, base, token, acked) = (
            client.clone(),
            base.clone(),
            token.clone(),
            Arc::clone(&acked),
        );
        uploaders.push(tokio::spawn(async move {
            for i in 0.. {
                let body = scan(worker * 10_000 + i);
                let sha = hex::encode(Sha256::digest(&body));
                let sent = client
                    .post(format!("{base}/api/v1/materials/{material}/files"))
                    .bearer_auth(&token)
                    .header("x-file-name", format!("scan-{worker}-{i}.tif"))
                    .body(body)
                    .send()
                    .await;
                let Ok(res) = sent else { return };
                if res.status() != 201 {
                    return;
                }
                let Ok(file) = res.json::<Value>().await else {
                    return;
                };
                assert_eq!(file["sha256"], sha.as_str());
                let id = file["id"].as_i64().expect("file id");
                acked.lock().unwrap().insert(id, sha);
            }
        }));
    }
    while acked.lock().unwrap().len() < 12 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    for u in uploaders {
        u.await.expect("uploader");
    }
    let acknowledged = acked.lock().unwrap().clone();
    assert!(acknowledged.len() >= 12);

    // Restart: every acknowledged scan is listed with its digest (listing a material's scans
    // is a read of the person's archive: the query is registered first).
    let (child, base) = common::serve(data, "127.0.0.1:0");
    let token = login(&client, &base).await;
    let res = client
        .post(format!("{base}/api/v1/queries"))
        .bearer_auth(&token)
        .json(&json!({"person_id": person, "enquirer_name": "张三", "enquirer_id_number": "43032119800101002X", "question": "扫描件", "purpose": "核对入库"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let listed: Vec<Value> = client
        .get(format!("{base}/api/v1/materials/{material}/files"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed: BTreeMap<i64, String> = listed
        .iter()
        .map(|f| {
            (
                f["id"].as_i64().unwrap(),
                f["sha256"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (id, sha) in &acknowledged {
        assert_eq!(listed.get(id), Some(sha), "acknowledged file {id} is there");
    }
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut child = child;
    assert!(child.wait().unwrap().success());

    // Every file the metadata shows — acknowledged or committed just before the kill — verifies.
    let out = dangan(data).arg("verify").output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains(&format!("共校验 {} 个电子文件，0 个有问题", listed.len())),
        "{said}"
    );
    // What the kill cut short is at most a spooled temporary file or an orphan blob; gc removes
    // them and the archive still verifies.
    let gc = dangan(data)
        .args(["gc", "--grace-minutes", "0"])
        .output()
        .unwrap();
    assert!(gc.status.success());
    assert_eq!(
        std::fs::read_dir(data.join("vault/tmp")).unwrap().count(),
        0
    );
    let blobs = walk(&data.join("vault/blobs"));
    assert_eq!(
        blobs,
        listed.len(),
        "one blob per distinct scan, no orphans"
    );
    assert!(
        dangan(data)
            .arg("verify")
            .output()
            .unwrap()
            .status
            .success()
    );
}

fn walk(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                walk(&e.path())
            } else {
                1
            }
        })
        .sum()
}
