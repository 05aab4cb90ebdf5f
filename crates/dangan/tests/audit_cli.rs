//! The operation log's witnesses and time-stamps from the command line: anchors POSTed to an
//! external witness and copied to a backup target, an auditor who holds only the public key
//! and those copies catching a rewrite made with the agency's own keys, and RFC 3161 tokens
//! from a real time-stamping authority (OpenSSL's `ts`, run by the test).

#[expect(
    dead_code,
    reason = "this file starts no server; it shares the binary's command builder"
)]
mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use dangan_app::StoreConfig;
use dangan_app::security::audit::WitnessCopy;
use dangan_app::security::keyring::PublicKey;
use dangan_testkit::insider::{exec, rewrite};

use common::dangan;

fn run(args: &[&str], data: &Path) -> (bool, String) {
    let out = dangan(data).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn run_ok(args: &[&str], data: &Path) -> String {
    let (ok, text) = run(args, data);
    assert!(ok, "{args:?}: {text}");
    text
}

fn config(data: &Path) -> StoreConfig {
    StoreConfig::SqliteFile(data.join("dangan.db"))
}

/// The Ed25519 public key as `dangan audit public-key` prints it.
fn public_key(data: &Path) -> String {
    run_ok(&["audit", "public-key"], data)
        .lines()
        .find(|l| l.starts_with("ed25519 "))
        .and_then(|l| l.split_whitespace().nth(2))
        .expect("the ed25519 key is printed")
        .to_owned()
}

/// An external witness: keeps every anchor POSTed to it as a file, after checking the
/// request's signature against the agency's public key.
async fn witness_server(dir: PathBuf, key: PublicKey) -> String {
    let app = axum::Router::new().route(
        "/witness",
        post(move |headers: HeaderMap, body: Bytes| {
            let (dir, key) = (dir.clone(), key.clone());
            async move {
                let sig = headers
                    .get("x-dangan-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if !key.verify(&body, sig) {
                    return StatusCode::UNAUTHORIZED;
                }
                let Ok(copy) = serde_json::from_slice::<WitnessCopy>(&body) else {
                    return StatusCode::BAD_REQUEST;
                };
                std::fs::write(dir.join(copy.file_name()), &body).unwrap();
                StatusCode::CREATED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/witness")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_with_the_public_key_and_the_witness_copies_catches_a_rewrite_made_with_the_agencys_keys()
 {
    let base = tempfile::tempdir().unwrap();
    let data = base.path().join("data");
    let received = base.path().join("received");
    let backup = base.path().join("backup");
    std::fs::create_dir_all(&received).unwrap();
    run_ok(&["migrate"], &data);
    run_ok(&["demo-data", "--persons", "4", "--seed", "1"], &data);
    let hex = public_key(&data);
    let key = PublicKey::parse_hex(&hex).unwrap();
    let url = witness_server(received.clone(), key).await;
    run_ok(&["demo-data", "--persons", "4", "--seed", "2"], &data);
    let backup_dir = backup.to_str().unwrap();
    let out = run_ok(
        &[
            "audit",
            "anchor",
            "--audit-witness-url",
            &url,
            "--backup-dir",
            backup_dir,
        ],
        &data,
    );
    assert!(out.contains("备份目标 local"), "{out}");
    let posted = std::fs::read_dir(&received).unwrap().count();
    let copied = std::fs::read_dir(backup.join("anchors")).unwrap().count();
    assert!(
        posted >= 2,
        "every anchor reached the witness URL: {posted}"
    );
    assert_eq!(posted, copied, "and the backup target");

    // The auditor's machine: the database, the public key, the witness copies — no key
    // directory.
    let offline = |witness: &Path| {
        run(
            &[
                "audit",
                "verify",
                "--public-key",
                &hex,
                "--witness",
                witness.to_str().unwrap(),
                "--key-dir",
                "/nonexistent",
            ],
            &data,
        )
    };
    let (ok, text) = offline(&received);
    assert!(ok, "{text}");
    assert!(text.contains("离线校验"), "{text}");
    assert!(
        text.contains("[未检查] 密钥校验码"),
        "the keyed MACs are not checked offline, and it says so: {text}"
    );

    // The insider holds the key directory: deletes one clerk's work, recomputes every MAC,
    // deletes the anchors and the local witness, and signs the result anew.
    let keys = dangan_app::KeyRing::load_or_create(&data.join("keys")).unwrap();
    let k = keys.log_chain_key(dangan_domain::audit::ChainAlgorithm::HmacSha256);
    rewrite(&config(&data), |e| e.action != "demo.load", Some(&k)).await;
    exec(&config(&data), &["DELETE FROM log_anchors".to_owned()]).await;
    std::fs::remove_dir_all(data.join("keys").join("log-witness")).unwrap();
    run_ok(&["audit", "anchor"], &data);
    let (ok, text) = run(&["audit", "verify"], &data);
    assert!(
        ok,
        "the server itself cannot see a rewrite made with its own keys: {text}"
    );

    for witness in [&received, &backup] {
        let (ok, text) = offline(witness);
        assert!(!ok, "{}: {text}", witness.display());
        assert!(text.contains("不符"), "{text}");
    }
    // The server, given the backup target as a witness, sees it too.
    let (ok, text) = run(
        &[
            "audit",
            "verify",
            "--backup-dir",
            backup_dir,
            "--witness",
            "local",
        ],
        &data,
    );
    assert!(!ok, "{text}");
}

/// A time-stamping authority: OpenSSL's `ts -reply` behind an HTTP endpoint, with a CA and a
/// TSA certificate made for the test.
struct Tsa {
    url: String,
    ca: PathBuf,
    _dir: tempfile::TempDir,
}

fn openssl(args: &[&str], dir: &Path) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn tsa() -> Tsa {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "30",
            "-subj",
            "/CN=Test TSA CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
        d,
    );
    openssl(
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "tsa.key",
            "-out",
            "tsa.csr",
            "-subj",
            "/CN=Test TSA",
        ],
        d,
    );
    std::fs::write(
        d.join("ext.cnf"),
        "extendedKeyUsage=critical,timeStamping\n",
    )
    .unwrap();
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "tsa.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "tsa.pem",
            "-days",
            "30",
            "-extfile",
            "ext.cnf",
        ],
        d,
    );
    std::fs::write(d.join("serial"), "01\n").unwrap();
    std::fs::write(
        d.join("tsa.cnf"),
        format!(
            "[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\ndir = {0}\nserial = {0}/serial\ncrypto_device = builtin\nsigner_cert = {0}/tsa.pem\nsigner_key = {0}/tsa.key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\naccuracy = secs:1\nordering = yes\ntsa_name = yes\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n",
            d.display()
        ),
    )
    .unwrap();
    let work = Arc::new(d.to_owned());
    let app = axum::Router::new().route(
        "/tsa",
        post(move |body: Bytes| {
            let work = Arc::clone(&work);
            async move {
                let n: u64 = rand_suffix();
                let req = work.join(format!("req-{n}.tsq"));
                let resp = work.join(format!("resp-{n}.tsr"));
                std::fs::write(&req, &body).unwrap();
                let out = tokio::process::Command::new("openssl")
                    .args(["ts", "-reply", "-config"])
                    .arg(work.join("tsa.cnf"))
                    .arg("-queryfile")
                    .arg(&req)
                    .arg("-out")
                    .arg(&resp)
                    .output()
                    .await
                    .unwrap();
                if !out.status.success() {
                    return (StatusCode::INTERNAL_SERVER_ERROR, Vec::new());
                }
                (StatusCode::OK, std::fs::read(&resp).unwrap())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Tsa {
        url: format!("http://{addr}/tsa"),
        ca: d.join("ca.pem"),
        _dir: dir,
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anchors_carry_rfc_3161_time_stamps_that_a_swapped_or_damaged_token_fails() {
    let tsa = tsa().await;
    let base = tempfile::tempdir().unwrap();
    let data = base.path().join("data");
    run_ok(&["migrate"], &data);
    run_ok(&["demo-data", "--persons", "2", "--seed", "1"], &data);
    // Every command anchors as it ends, with the configured time-stamping authority.
    run_ok(
        &[
            "demo-data",
            "--persons",
            "2",
            "--seed",
            "2",
            "--tsa-url",
            &tsa.url,
        ],
        &data,
    );
    let ca = tsa.ca.to_str().unwrap();
    let text = run_ok(&["audit", "verify", "--tsa-ca", ca], &data);
    assert!(
        text.contains("[通过] 可信时间戳：1 个时间戳签名有效"),
        "{text}"
    );
    let text = run_ok(&["audit", "verify"], &data);
    assert!(
        text.contains("[未检查] 可信时间戳"),
        "without the CA it says so: {text}"
    );

    // A genuine token for another digest put in its place.
    let other = dangan_app::security::audit::tsa::timestamp(&tsa.url, &[7u8; 32])
        .await
        .unwrap();
    let swapped = base.path().join("swapped");
    dangan_testkit::copy_dir(&data, &swapped);
    exec(
        &config(&swapped),
        &[format!(
            "UPDATE log_anchors SET tsa_token = '{}' WHERE tsa_token IS NOT NULL",
            hex::encode(&other)
        )],
    )
    .await;
    let (ok, text) = run(&["audit", "verify", "--tsa-ca", ca], &swapped);
    assert!(!ok && text.contains("时间戳与锚点不符"), "{text}");

    // The token's signature damaged (its last bytes).
    let damaged = base.path().join("damaged");
    dangan_testkit::copy_dir(&data, &damaged);
    exec(
        &config(&damaged),
        &["UPDATE log_anchors SET tsa_token = substr(tsa_token, 1, length(tsa_token) - 8) || '00000000' WHERE tsa_token IS NOT NULL".to_owned()],
    )
    .await;
    let (ok, text) = run(&["audit", "verify", "--tsa-ca", ca], &damaged);
    assert!(!ok && text.contains("时间戳签名无效"), "{text}");
}
