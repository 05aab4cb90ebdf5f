//! 备份与恢复 (S6.3): the restore drill on both backends against a real S3-compatible server,
//! incremental sets that carry only what is new, a target that goes down mid-set, and a
//! corrupted object found by verification.

use dangan_app::backup::{RestoreInto, restore};
use dangan_app::corrections::CorrectionInput;
use dangan_app::{App, KeyRing, Settings, StoreConfig, VaultSettings};
use dangan_testkit::{S3Server, TEST_PASSWORD, TestApp, TestDb, on_both_backends, png_scan};
use dangan_vault::Target;
use tokio::io::AsyncReadExt;

on_both_backends! {
    async fn a_restore_from_full_and_incremental_sets_gives_back_every_file_seal_and_log_entry(db: TestDb) {
        let s3 = S3Server::start().await;
        let target = Target::s3(&s3.config(), "dangan").unwrap();
        let backend = db.backend();
        let t = TestApp::start(db).await;
        let (person, m) = t.enrolment_material().await;
        let mut kept = Vec::new();
        for seed in 1..=3u8 {
            let data = png_scan(150_000 + usize::from(seed) * 1000, seed);
            let f = t.app.ingest_file(&t.admin, m, Some("a.png"), &data[..]).await.unwrap();
            kept.push((f.id, data));
        }
        let full = t.app.backup(&t.admin, "cloud", &target, false, 8, |_, _| {}).await.unwrap();
        assert_eq!((full.kind.as_str(), full.objects), ("full", 4), "three blobs and the database");

        // More work after the full set: two scans, one of them withdrawn; a correction.
        let d4 = png_scan(170_000, 4);
        let f4 = t.app.ingest_file(&t.admin, m, Some("d.png"), &d4[..]).await.unwrap();
        kept.push((f4.id, d4));
        let wrong = t.app.ingest_file(&t.admin, m, Some("wrong.png"), &png_scan(5_000, 9)[..]).await.unwrap();
        t.app.withdraw_file(&t.admin, wrong.id, "误传：不是本人材料").await.unwrap();
        t.register(&t.admin, person).await;
        t.app.correct_person(&t.admin, person, &CorrectionInput {
            field: "name".into(),
            new_value: "张叁".into(),
            proof_material_id: Some(m.0),
            basis: "户口本".into(),
        }).await.unwrap();
        let incr = t.app.backup(&t.admin, "cloud", &target, false, 8, |_, _| {}).await.unwrap();
        assert_eq!(incr.kind, "incremental");
        assert_eq!(
            incr.objects, 2,
            "only the new scan's blob and the database (the withdrawn one is gone): {incr:?}"
        );
        let runs = t.app.backup_runs(&t.auditor).await.unwrap();
        assert_eq!(runs.len(), 2);
        assert!(runs.iter().all(|r| r.status == "ok" && r.target == "cloud"));

        let checks = t.app.verify_backups(&t.auditor, &target).await.unwrap();
        assert_eq!(checks.len(), 2);
        assert!(checks.iter().all(|c| c.ok), "{checks:?}");

        // Destroy the scans; restore into a new data directory (and a new database).
        std::fs::remove_dir_all(t.keys_dir.path().join("vault")).unwrap();
        let keys = KeyRing::load_existing(t.keys_dir.path()).unwrap();
        let new_dir = tempfile::tempdir().unwrap();
        let new_db = match backend {
            "postgres" => Some(TestDb::postgres().await),
            _ => None,
        };
        let database_url = new_db.as_ref().and_then(|d| match &d.config {
            StoreConfig::Postgres(url) => Some(url.clone()),
            _ => None,
        });
        let report = restore(&target, None, &keys, &RestoreInto {
            data_dir: new_dir.path().to_owned(),
            database_url: database_url.clone(),
        }, |_, _| {}).await.unwrap();
        assert_eq!(report.chain.len(), 2);
        assert_eq!(report.blobs, 4, "the withdrawn scan's blob is not brought back");

        let config = match database_url {
            Some(url) => StoreConfig::Postgres(url),
            None => StoreConfig::SqliteFile(new_dir.path().join("dangan.db")),
        };
        let settings = Settings {
            vault: Some(VaultSettings {
                root: new_dir.path().join("vault"),
                s3: None,
                cipher: dangan_vault::Cipher::Aes256Gcm,
                seal: dangan_app::SealAlgorithm::default(),
                max_upload: 64 * 1024 * 1024,
                min_dpi: 300,
            }),
            ..Settings::default()
        };
        let (app, boot) = App::start(&config, settings, KeyRing::load_existing(t.keys_dir.path()).unwrap()).await.unwrap();
        assert!(boot.initial_accounts.is_empty(), "the restored accounts are used");
        let auditor = app.login("auditor", TEST_PASSWORD, "test").await.unwrap().user;
        let admin = app.login("admin", TEST_PASSWORD, "test").await.unwrap().user;
        let (n, failures) = app.verify_all_files(&auditor, |_| {}).await.unwrap();
        assert_eq!((n, failures.len()), (4, 0), "{failures:?}");
        let log = app.verify_log(&auditor).await.unwrap();
        assert!(log.ok, "{log:?}");
        app.register_query(&admin, &dangan_app::register::QueryInput {
            person_id: person.0,
            enquirer_name: "李查询".to_owned(),
            enquirer_id_number: "11010519491231002X".to_owned(),
            question: "恢复演练核对".to_owned(),
            purpose: "备份恢复演练".to_owned(),
        }).await.unwrap();
        for (id, data) in &kept {
            let (_, mut reader) = app.open_file(&admin, *id).await.unwrap();
            let mut back = Vec::new();
            reader.read_to_end(&mut back).await.unwrap();
            assert!(back == *data, "file {id} is byte-identical");
        }
        let p = app.person(&admin, person).await.unwrap();
        assert_eq!(p.name, "张叁", "the correction made after the full set is there");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_goes_down_mid_set_fails_visibly_and_leaves_no_set_that_looks_complete() {
    let mut s3 = S3Server::start().await;
    let cloud = Target::s3(&s3.config(), "").unwrap();
    let local_dir = tempfile::tempdir().unwrap();
    let local = Target::local(local_dir.path()).await.unwrap();
    let t = TestApp::start(TestDb::sqlite().await).await;
    let (_, m) = t.enrolment_material().await;
    for seed in 1..=12u8 {
        t.app
            .ingest_file(&t.admin, m, Some("a.png"), &png_scan(400_000, seed)[..])
            .await
            .unwrap();
    }
    // The server goes down after the third object has been written.
    let written = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let w = std::sync::Arc::clone(&written);
    let backup = t
        .app
        .backup(&t.admin, "cloud", &cloud, true, 8, move |done, _| {
            w.store(done, std::sync::atomic::Ordering::SeqCst);
        });
    let stopper = async {
        while written.load(std::sync::atomic::Ordering::SeqCst) < 3 {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        s3.stop().await;
    };
    let (result, ()) = tokio::join!(backup, stopper);
    let err = result.expect_err("the set fails");
    assert!(err.to_string().contains("备份目标"), "{err}");
    let runs = t.app.backup_runs(&t.auditor).await.unwrap();
    assert_eq!(runs[0].status, "failed");
    assert!(!runs[0].error.is_empty());
    // The other target is not affected.
    let ok = t
        .app
        .backup(&t.admin, "local", &local, false, 8, |_, _| {})
        .await
        .unwrap();
    assert_eq!((ok.kind.as_str(), ok.objects), ("full", 13));
    // What the failed set left on the bucket has no manifest: verification calls it
    // incomplete, and a restore would not see it.
    let sets: Vec<_> = std::fs::read_dir(s3.object_path("sets"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(sets.len(), 1);
    assert!(
        !s3.object_path(&format!("sets/{}/manifest.json", sets[0].to_string_lossy()))
            .exists()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_object_in_a_target_is_found_by_verification_and_refused_by_restore() {
    let dir = tempfile::tempdir().unwrap();
    let target = Target::local(dir.path()).await.unwrap();
    let t = TestApp::start(TestDb::sqlite().await).await;
    let (_, m) = t.enrolment_material().await;
    let f = t
        .app
        .ingest_file(&t.admin, m, Some("a.png"), &png_scan(100_000, 1)[..])
        .await
        .unwrap();
    let full = t
        .app
        .backup(&t.admin, "local", &target, false, 8, |_, _| {})
        .await
        .unwrap();
    t.app
        .ingest_file(&t.admin, m, Some("b.png"), &png_scan(100_000, 2)[..])
        .await
        .unwrap();
    let incr = t
        .app
        .backup(&t.admin, "local", &target, false, 8, |_, _| {})
        .await
        .unwrap();
    let object = dir.path().join(format!(
        "sets/{}/{}",
        full.set,
        dangan_vault::store::blob_key(&f.sha256)
    ));
    let mut bytes = std::fs::read(&object).unwrap();
    bytes[1000] ^= 0x01;
    std::fs::write(&object, bytes).unwrap();
    let checks = t.app.verify_backups(&t.auditor, &target).await.unwrap();
    let bad: Vec<_> = checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.set.clone())
        .collect();
    assert_eq!(
        bad,
        [full.set.clone(), incr.set.clone()],
        "the incremental depends on the damaged full set"
    );
    assert!(
        checks[0].problems[0].contains("摘要或大小不符"),
        "{checks:?}"
    );
    let keys = KeyRing::load_existing(t.keys_dir.path()).unwrap();
    let new_dir = tempfile::tempdir().unwrap();
    let err = restore(
        &target,
        None,
        &keys,
        &RestoreInto {
            data_dir: new_dir.path().to_owned(),
            database_url: None,
        },
        |_, _| {},
    )
    .await
    .expect_err("a damaged blob is refused");
    assert!(err.to_string().contains("摘要与清单不符"), "{err}");
    // A manifest signed by another key is not trusted at all.
    let stranger = KeyRing::load_or_create(tempfile::tempdir().unwrap().path()).unwrap();
    let other = tempfile::tempdir().unwrap();
    let err = restore(
        &target,
        None,
        &stranger,
        &RestoreInto {
            data_dir: other.path().to_owned(),
            database_url: None,
        },
        |_, _| {},
    )
    .await
    .expect_err("no set is trusted");
    assert_eq!(err.code(), "no_backup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_newest_full_sets_are_kept_with_their_incrementals() {
    let dir = tempfile::tempdir().unwrap();
    let target = Target::local(dir.path()).await.unwrap();
    let t = TestApp::start(TestDb::sqlite().await).await;
    let (_, m) = t.enrolment_material().await;
    let mut sets = Vec::new();
    for (i, full) in [true, false, true, false, true].into_iter().enumerate() {
        t.app
            .ingest_file(&t.admin, m, Some("a.png"), &png_scan(20_000, i as u8)[..])
            .await
            .unwrap();
        let r = t
            .app
            .backup(&t.admin, "local", &target, full, 2, |_, _| {})
            .await
            .unwrap();
        sets.push(r);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(sets[4].retired, [sets[0].set.clone(), sets[1].set.clone()]);
    let left = target.list_dirs("sets").await.unwrap();
    assert_eq!(
        left,
        [
            sets[2].set.clone(),
            sets[3].set.clone(),
            sets[4].set.clone()
        ]
    );
    assert!(
        t.app
            .verify_backups(&t.auditor, &target)
            .await
            .unwrap()
            .iter()
            .all(|c| c.ok)
    );
    assert_eq!(
        t.app
            .backup(&t.auditor, "local", &target, true, 2, |_, _| {})
            .await
            .unwrap_err()
            .code(),
        "forbidden"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_restore_resumes_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let target = Target::local(dir.path()).await.unwrap();
    let t = TestApp::start(TestDb::sqlite().await).await;
    let (_, m) = t.enrolment_material().await;
    let mut shas = Vec::new();
    for seed in 1..=3u8 {
        let f = t
            .app
            .ingest_file(&t.admin, m, Some("a.png"), &png_scan(50_000, seed)[..])
            .await
            .unwrap();
        shas.push(f.sha256);
    }
    let set = t
        .app
        .backup(&t.admin, "local", &target, false, 8, |_, _| {})
        .await
        .unwrap();
    let keys = KeyRing::load_existing(t.keys_dir.path()).unwrap();
    let new_dir = tempfile::tempdir().unwrap();
    let into = RestoreInto {
        data_dir: new_dir.path().to_owned(),
        database_url: None,
    };
    restore(&target, None, &keys, &into, |_, _| {})
        .await
        .unwrap();
    assert!(!new_dir.path().join("restore.incomplete").exists());
    // As if the process had died after the database and one blob: the marker is back and two
    // blobs are missing, one of them half-written.
    std::fs::write(
        new_dir.path().join("restore.incomplete"),
        format!("{} database-done", set.set),
    )
    .unwrap();
    let vault = new_dir.path().join("vault");
    std::fs::remove_file(vault.join(dangan_vault::store::blob_key(&shas[1]))).unwrap();
    std::fs::write(vault.join(dangan_vault::store::blob_key(&shas[2])), b"half").unwrap();
    let report = restore(&target, None, &keys, &into, |_, _| {})
        .await
        .unwrap();
    assert_eq!(report.blobs, 3);
    assert!(!new_dir.path().join("restore.incomplete").exists());
    let (app, _) = App::start(
        &StoreConfig::SqliteFile(new_dir.path().join("dangan.db")),
        Settings {
            vault: Some(VaultSettings {
                root: vault.clone(),
                s3: None,
                cipher: dangan_vault::Cipher::Aes256Gcm,
                seal: dangan_app::SealAlgorithm::default(),
                max_upload: 1 << 20,
                min_dpi: 300,
            }),
            ..Settings::default()
        },
        KeyRing::load_existing(t.keys_dir.path()).unwrap(),
    )
    .await
    .unwrap();
    let auditor = app
        .login("auditor", TEST_PASSWORD, "test")
        .await
        .unwrap()
        .user;
    let (n, failures) = app.verify_all_files(&auditor, |_| {}).await.unwrap();
    assert_eq!((n, failures.len()), (3, 0));
    // A finished restore is not run again over its database.
    assert_eq!(
        restore(&target, None, &keys, &into, |_, _| {})
            .await
            .unwrap_err()
            .code(),
        "data_dir_not_empty"
    );
}
