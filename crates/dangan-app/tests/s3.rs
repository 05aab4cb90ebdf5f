//! The electronic archive with its blobs in an S3-compatible bucket (a real S3 server over HTTP,
//! s3s-fs, started on 127.0.0.1): ingest, multipart upload of a large scan, range reads,
//! verification that catches a flipped or swapped object, garbage collection, and a bucket that
//! goes down.

use dangan_app::{AppError, Settings, VaultSettings};
use dangan_testkit::{S3Server, TestApp, TestDb, png_scan};
use dangan_vault::store::blob_key;
use tokio::io::AsyncReadExt;

fn code_of<T: std::fmt::Debug>(r: Result<T, AppError>) -> String {
    r.expect_err("an error").code().to_owned()
}

async fn start(s3: &S3Server, spool: &std::path::Path) -> TestApp {
    let settings = Settings {
        vault: Some(VaultSettings {
            root: spool.to_owned(),
            s3: Some(s3.config()),
            cipher: dangan_vault::Cipher::Sm4Gcm,
            digests: dangan_vault::Digests::default_for(dangan_vault::Cipher::Sm4Gcm),
            seal: dangan_app::SealAlgorithm::Sm2,
            max_upload: 64 * 1024 * 1024,
            min_dpi: 300,
            parse_limit: dangan_vault::store::DEFAULT_PARSE_LIMIT,
            preservation_copies: false,
        }),
        ..Settings::default()
    };
    TestApp::start_with(TestDb::sqlite().await, settings).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_kept_in_an_s3_bucket_are_encrypted_read_back_by_range_and_verified() {
    let s3 = S3Server::start().await;
    let spool = tempfile::tempdir().unwrap();
    let t = start(&s3, spool.path()).await;
    let (person, m) = t.enrolment_material().await;
    let small = png_scan(300_000, 1);
    // Larger than one 8 MiB part: a multipart upload.
    let large = png_scan(9 * 1024 * 1024 + 123, 2);
    let a = t
        .app
        .ingest_file(&t.admin, m, Some("a.png"), &small[..])
        .await
        .unwrap();
    let b = t
        .app
        .ingest_file(&t.admin, m, Some("b.png"), &large[..])
        .await
        .unwrap();
    let again = t
        .app
        .ingest_file(&t.admin, m, Some("copy.png"), &small[..])
        .await
        .unwrap();
    assert_eq!(
        again.id, a.id,
        "identical bytes sent again for the same material are the file already stored"
    );

    let object = s3.object_path(&blob_key(&a.sha256));
    let stored = std::fs::read(&object).expect("the blob is an object in the bucket");
    assert!(
        !stored.windows(32).any(|w| w == &small[1000..1032]),
        "no plaintext in the bucket"
    );
    assert!(s3.object_path(&blob_key(&b.sha256)).is_file());
    assert_eq!(
        std::fs::read_dir(spool.path().join("tmp")).unwrap().count(),
        0,
        "the spool is empty once the uploads are acknowledged"
    );

    t.register(&t.admin, person).await;
    let (_, mut reader) = t.app.open_file(&t.admin, b.id).await.unwrap();
    let mut back = Vec::new();
    reader.read_to_end(&mut back).await.unwrap();
    assert!(back == large, "the large scan reads back byte for byte");
    let start = 5 * 1024 * 1024 - 7;
    let opened = t
        .app
        .open_file_range(
            &t.admin,
            b.id,
            Some(dangan_app::electronic::files::ByteRange::FromTo(
                start,
                start + 99_999,
            )),
        )
        .await
        .unwrap();
    let mut part = Vec::new();
    let mut reader = opened.reader;
    reader.read_to_end(&mut part).await.unwrap();
    assert_eq!(part, &large[start as usize..start as usize + 100_000]);

    let (n, failures) = t.app.verify_all_files(&t.auditor, |_| {}).await.unwrap();
    assert_eq!((n, failures.len()), (2, 0), "{failures:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_byte_or_swapped_objects_in_the_bucket_fail_verification() {
    let s3 = S3Server::start().await;
    let spool = tempfile::tempdir().unwrap();
    let t = start(&s3, spool.path()).await;
    let (_, m) = t.enrolment_material().await;
    let a = t
        .app
        .ingest_file(&t.admin, m, Some("a.png"), &png_scan(100_000, 3)[..])
        .await
        .unwrap();
    let b = t
        .app
        .ingest_file(&t.admin, m, Some("b.png"), &png_scan(100_000, 4)[..])
        .await
        .unwrap();
    let c = t
        .app
        .ingest_file(&t.admin, m, Some("c.png"), &png_scan(100_000, 5)[..])
        .await
        .unwrap();
    let d = t
        .app
        .ingest_file(&t.admin, m, Some("d.png"), &png_scan(100_000, 6)[..])
        .await
        .unwrap();
    let path = s3.object_path(&blob_key(&a.sha256));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[50_000] ^= 0x80;
    std::fs::write(&path, bytes).unwrap();
    let (pc, pd) = (
        s3.object_path(&blob_key(&c.sha256)),
        s3.object_path(&blob_key(&d.sha256)),
    );
    let (bc, bd) = (std::fs::read(&pc).unwrap(), std::fs::read(&pd).unwrap());
    std::fs::write(&pc, bd).unwrap();
    std::fs::write(&pd, bc).unwrap();
    let (n, failures) = t.app.verify_all_files(&t.auditor, |_| {}).await.unwrap();
    assert_eq!(n, 4);
    let failed: Vec<_> = failures.iter().map(|f| f.file_id).collect();
    assert_eq!(failed, [a.id, c.id, d.id], "b is untouched and passes");
    assert!(failures.iter().all(|f| !f.content_ok && f.seal_ok));
    assert!(t.app.verify_file(&t.auditor, b.id).await.unwrap().ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphan_objects_are_collected_after_the_grace_period_and_known_ones_kept() {
    let s3 = S3Server::start().await;
    let spool = tempfile::tempdir().unwrap();
    let t = start(&s3, spool.path()).await;
    let (_, m) = t.enrolment_material().await;
    let a = t
        .app
        .ingest_file(&t.admin, m, Some("a.png"), &png_scan(10_000, 7)[..])
        .await
        .unwrap();
    let orphan = "blobs/ff/ff/ffff0000.dgvb";
    std::fs::create_dir_all(s3.object_path("blobs/ff/ff")).unwrap();
    std::fs::write(s3.object_path(orphan), b"left by a crash").unwrap();
    let hour = std::time::Duration::from_secs(3600);
    assert_eq!(t.app.collect_garbage(&t.admin, hour).await.unwrap(), 0);
    assert!(
        s3.object_path(orphan).exists(),
        "a young orphan may be an ingest under way"
    );
    let removed = t
        .app
        .collect_garbage(&t.admin, std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert!(!s3.object_path(orphan).exists());
    assert!(s3.object_path(&blob_key(&a.sha256)).exists());
    assert!(t.app.verify_file(&t.auditor, a.id).await.unwrap().ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_bucket_is_down_an_upload_fails_and_leaves_nothing_behind() {
    let mut s3 = S3Server::start().await;
    let spool = tempfile::tempdir().unwrap();
    let t = start(&s3, spool.path()).await;
    let (person, m) = t.enrolment_material().await;
    t.register(&t.admin, person).await;
    s3.stop().await;
    // The server's port is closed now: every attempt (and its retries) is refused.
    let r = t
        .app
        .ingest_file(&t.admin, m, Some("a.png"), &png_scan(10_000, 8)[..])
        .await;
    assert_eq!(code_of(r), "internal_error");
    assert!(t.app.files_of(&t.admin, m).await.unwrap().is_empty());
    assert_eq!(
        std::fs::read_dir(spool.path().join("tmp")).unwrap().count(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_key_is_refused_when_the_vault_opens() {
    let s3 = S3Server::start().await;
    let spool = tempfile::tempdir().unwrap();
    let mut config = s3.config();
    config.secret_key = "wrong".to_owned();
    let err = dangan_vault::Vault::open_s3(spool.path(), dangan_vault::Cipher::Aes256Gcm, &config)
        .await
        .expect_err("bad credentials are found at start");
    assert!(matches!(err, dangan_vault::VaultError::Remote(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anchors_are_copied_to_a_bucket_once_and_a_deleted_anchor_is_caught_from_there() {
    let s3 = S3Server::start().await;
    let bucket = dangan_vault::Target::s3(&s3.config(), "witness").unwrap();
    let targets = vec![("cloud".to_owned(), bucket.clone())];
    let t = TestApp::start(TestDb::sqlite().await).await;
    t.app
        .create_person(&t.admin, &dangan_testkit::person_input(1, "张三"))
        .await
        .unwrap();
    let first = t
        .app
        .anchor_and_witness(&t.auditor, &targets)
        .await
        .unwrap();
    assert_eq!(first.map(|a| a.n), Some(1));
    t.app
        .create_person(&t.admin, &dangan_testkit::person_input(2, "李四"))
        .await
        .unwrap();
    t.app
        .anchor_and_witness(&t.auditor, &targets)
        .await
        .unwrap();
    let names = bucket.list_files("anchors/").await.unwrap();
    assert_eq!(names.len(), 2, "{names:?}");
    // Nothing new: nothing sent again.
    let pushed = t.app.push_witnesses(&targets).await.unwrap();
    assert_eq!(pushed[0].1, Ok(0));
    // A copy is never overwritten with other bytes.
    let key = format!("anchors/{}", names[0]);
    assert!(matches!(
        bucket.put_once(&key, b"{}".to_vec()).await,
        Err(dangan_vault::VaultError::Exists(_))
    ));
    // The insider deletes the newest anchor and the local witness; the bucket's copy remains.
    dangan_testkit::insider::exec(
        &t.db.config,
        &["DELETE FROM log_anchors WHERE n = 2".to_owned()],
    )
    .await;
    std::fs::remove_dir_all(t.keys_dir.path().join("log-witness")).unwrap();
    let report = t
        .app
        .verify_log_with(
            &t.auditor,
            dangan_app::security::audit::VerifyOptions {
                witnesses: vec![dangan_app::security::audit::WitnessSource {
                    name: "云端备份目标".to_owned(),
                    target: bucket,
                    prefix: "anchors/".to_owned(),
                    newest: None,
                }],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!report.ok);
    assert!(
        report
            .problem
            .clone()
            .unwrap()
            .contains("云端备份目标的第2号锚点"),
        "{report:?}"
    );
}
