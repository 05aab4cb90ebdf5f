//! 备份与恢复 (S6.3): the restore drill on both backends against a real S3-compatible server,
//! with every object of the bucket read by a plain client and nothing personal in it;
//! incremental sets that carry only what is new; a set written before a key rotation, and one
//! written by the previous version (plain snapshot), restored after; a target that goes down
//! mid-set and whose debris the next run removes; a corrupted object found by verification.

use std::path::{Path, PathBuf};

use dangan_app::problems::corrections::CorrectionInput;
use dangan_app::security::backup::{RestoreInto, restore};
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

        // Every object of the bucket, read as any S3 client gets it (the server's files):
        // no identity number, no name, no database header.
        let id_number = dangan_testkit::person_input(1, "张三").id_number;
        let needles: [&[u8]; 5] = [
            id_number.as_bytes(),
            "张三".as_bytes(),
            "张叁".as_bytes(),
            b"SQLite format 3\0",
            b"PGDMP",
        ];
        let objects = files_under(s3.dir.path());
        assert!(objects.len() >= 8, "two sets with their objects: {objects:?}");
        for path in &objects {
            let bytes = std::fs::read(path).unwrap();
            for needle in needles {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle),
                    "{} holds {:?}",
                    path.display(),
                    String::from_utf8_lossy(needle)
                );
            }
        }
        // Two encrypted snapshots, and the plaintext never stayed in the data directory.
        let snapshots: Vec<_> = objects
            .iter()
            .filter(|p| p.to_string_lossy().contains("/database."))
            .collect();
        assert_eq!(snapshots.len(), 2, "{snapshots:?}");
        assert!(snapshots.iter().all(|p| p.to_string_lossy().ends_with(".dgvb")));
        assert!(files_under(&t.keys_dir.path().join("vault").join("tmp")).is_empty());

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
            target_name: "cloud".to_owned(),
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
                digests: dangan_vault::Digests::default_for(dangan_vault::Cipher::Aes256Gcm),
                seal: dangan_app::SealAlgorithm::default(),
                max_upload: 64 * 1024 * 1024,
                min_dpi: 300,
                parse_limit: dangan_vault::store::DEFAULT_PARSE_LIMIT,
                preservation_copies: false,
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
        app.register_query(&admin, &dangan_app::access::register::QueryInput {
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
    let cut = sets[0].to_string_lossy().into_owned();
    assert!(
        !s3.object_path(&format!("sets/{cut}/manifest.json"))
            .exists()
    );
    assert!(
        files_under(&t.keys_dir.path().join("vault").join("tmp")).is_empty(),
        "the failed run's plaintext snapshot is gone"
    );

    // The server comes back: the next run of that target removes what the failed one left.
    s3.restart().await;
    let cloud = Target::s3(&s3.config(), "").unwrap();
    let next = t
        .app
        .backup(&t.admin, "cloud", &cloud, false, 8, |_, _| {})
        .await
        .unwrap();
    assert_eq!(next.cleared, [cut.as_str()]);
    assert_eq!((next.kind.as_str(), next.objects), ("full", 13));
    assert_eq!(cloud.list_dirs("sets").await.unwrap(), [next.set.as_str()]);
    assert!(
        files_under(&s3.object_path(&format!("sets/{cut}"))).is_empty(),
        "no object of the failed set is left in the bucket"
    );
    let checks = t.app.verify_backups(&t.auditor, &cloud).await.unwrap();
    assert!(checks.len() == 1 && checks[0].ok, "{checks:?}");
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
            target_name: "local".to_owned(),
        },
        |_, _| {},
    )
    .await
    .expect_err("a damaged blob is refused");
    assert_eq!(err.code(), "backup_set_damaged");
    let text = err.to_string();
    assert!(text.contains("摘要与清单不符"), "{text}");
    assert!(
        text.contains(&format!("备份集 {} 已损坏", incr.set))
            && text.contains(&format!("它所依赖的备份集 {} 有问题", full.set)),
        "names the set restored and the one that is damaged: {text}"
    );
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
            target_name: "local".to_owned(),
        },
        |_, _| {},
    )
    .await
    .expect_err("no set is trusted");
    assert_eq!(err.code(), "backup_set_damaged");
    assert!(err.to_string().contains("清单签名无效"), "{err}");
    assert!(
        err.to_string().contains("没有可以改用的更早的备份集"),
        "{err}"
    );
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
        target_name: "local".to_owned(),
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
                digests: dangan_vault::Digests::default_for(dangan_vault::Cipher::Aes256Gcm),
                seal: dangan_app::SealAlgorithm::default(),
                max_upload: 1 << 20,
                min_dpi: 300,
                parse_limit: dangan_vault::store::DEFAULT_PARSE_LIMIT,
                preservation_copies: false,
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

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

/// Where a restore of a set from `backend` goes: a new data directory, and a new PostgreSQL
/// database for a PostgreSQL set (kept alive by the returned `TestDb`).
async fn new_instance(backend: &str) -> (tempfile::TempDir, Option<TestDb>, RestoreInto) {
    let dir = tempfile::tempdir().unwrap();
    let db = match backend {
        "postgres" => Some(TestDb::postgres().await),
        _ => None,
    };
    let database_url = db.as_ref().and_then(|d| match &d.config {
        StoreConfig::Postgres(url) => Some(url.clone()),
        _ => None,
    });
    let into = RestoreInto {
        data_dir: dir.path().to_owned(),
        database_url,
        target_name: "local".to_owned(),
    };
    (dir, db, into)
}

/// The restored instance started with the keys of `keys`: every file verifies, and those of
/// `person` read back as `kept` (after a query registration).
async fn check_restored(
    into: &RestoreInto,
    keys: &Path,
    person: dangan_app::ids::PersonId,
    kept: &[(dangan_app::ids::FileId, Vec<u8>)],
) {
    let config = match &into.database_url {
        Some(url) => StoreConfig::Postgres(url.clone()),
        None => StoreConfig::SqliteFile(into.data_dir.join("dangan.db")),
    };
    let settings = Settings {
        vault: Some(VaultSettings {
            root: into.data_dir.join("vault"),
            s3: None,
            cipher: dangan_vault::Cipher::Aes256Gcm,
            digests: dangan_vault::Digests::default_for(dangan_vault::Cipher::Aes256Gcm),
            seal: dangan_app::SealAlgorithm::default(),
            max_upload: 64 * 1024 * 1024,
            min_dpi: 300,
            parse_limit: dangan_vault::store::DEFAULT_PARSE_LIMIT,
            preservation_copies: false,
        }),
        ..Settings::default()
    };
    let (app, _) = App::start(&config, settings, KeyRing::load_existing(keys).unwrap())
        .await
        .unwrap();
    let auditor = app
        .login("auditor", TEST_PASSWORD, "test")
        .await
        .unwrap()
        .user;
    let admin = app
        .login("admin", TEST_PASSWORD, "test")
        .await
        .unwrap()
        .user;
    let (n, failures) = app.verify_all_files(&auditor, |_| {}).await.unwrap();
    assert_eq!((n, failures.len()), (kept.len(), 0), "{failures:?}");
    app.register_query(
        &admin,
        &dangan_app::access::register::QueryInput {
            person_id: person.0,
            enquirer_name: "李查询".to_owned(),
            enquirer_id_number: "11010519491231002X".to_owned(),
            question: "恢复演练核对".to_owned(),
            purpose: "备份恢复演练".to_owned(),
        },
    )
    .await
    .unwrap();
    for (id, data) in kept {
        let (_, mut reader) = app.open_file(&admin, *id).await.unwrap();
        let mut back = Vec::new();
        reader.read_to_end(&mut back).await.unwrap();
        assert!(back == *data, "file {id} is byte-identical");
    }
    app.close().await;
}

on_both_backends! {
    async fn a_set_written_before_a_key_rotation_restores_after_it_with_the_retired_key(db: TestDb) {
        let backend = db.backend();
        let vault_dir = tempfile::tempdir().unwrap();
        let t = TestApp::start_with(db, Settings {
            vault: Some(VaultSettings {
                root: vault_dir.path().to_owned(),
                s3: None,
                cipher: dangan_vault::Cipher::Sm4Gcm,
                digests: dangan_vault::Digests::default_for(dangan_vault::Cipher::Sm4Gcm),
                seal: dangan_app::SealAlgorithm::default(),
                max_upload: 64 * 1024 * 1024,
                min_dpi: 300,
                parse_limit: dangan_vault::store::DEFAULT_PARSE_LIMIT,
                preservation_copies: false,
            }),
            ..Settings::default()
        }).await;
        let dir = tempfile::tempdir().unwrap();
        let target = Target::local(dir.path()).await.unwrap();
        let (person, m) = t.enrolment_material().await;
        let mut kept = Vec::new();
        for seed in 1..=2u8 {
            let data = png_scan(90_000, seed);
            let f = t.app.ingest_file(&t.admin, m, Some("a.png"), &data[..]).await.unwrap();
            kept.push((f.id, data));
        }
        let before = t.app.backup(&t.admin, "local", &target, false, 8, |_, _| {}).await.unwrap();
        let old_master = KeyRing::load_existing(t.keys_dir.path()).unwrap().master_key_id().to_owned();
        let manifest: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.path().join(format!("sets/{}/manifest.json", before.set))).unwrap(),
        ).unwrap();
        assert_eq!(manifest["format"], "dangan-backup-2");
        assert_eq!(manifest["database"]["encryption"]["cipher"], "sm4-gcm", "the configured cipher");
        assert_eq!(manifest["database"]["encryption"]["master_key_id"], old_master.as_str());

        let n = t.app.rotate_master_key(&t.security, |_| {}).await.unwrap();
        assert_eq!(n.data_keys, 2);
        let keys = KeyRing::load_existing(t.keys_dir.path()).unwrap();
        assert_ne!(keys.master_key_id(), old_master, "rotated");
        let (_new, _db, into) = new_instance(backend).await;
        let report = restore(&target, None, &keys, &into, |_, _| {}).await.unwrap();
        assert_eq!(report.set, before.set);
        check_restored(&into, t.keys_dir.path(), person, &kept).await;

        // Without the retired master key the set cannot be read, and the restore says which key.
        let other_keys = tempfile::tempdir().unwrap();
        dangan_testkit::copy_dir(t.keys_dir.path(), other_keys.path());
        std::fs::remove_dir_all(other_keys.path().join("retired")).unwrap();
        let (_new, _db, into) = new_instance(backend).await;
        let err = restore(&target, None, &KeyRing::load_existing(other_keys.path()).unwrap(), &into, |_, _| {})
            .await
            .unwrap_err();
        assert_eq!(err.code(), "backup_key_missing");
        assert!(err.to_string().contains(&old_master), "{err}");
        assert!(!into.data_dir.join("restore.incomplete").exists(), "nothing was written");
    }

    async fn a_set_with_a_plain_snapshot_written_by_the_previous_version_still_verifies_and_restores(db: TestDb) {
        let backend = db.backend();
        let t = TestApp::start(db).await;
        let dir = tempfile::tempdir().unwrap();
        let target = Target::local(dir.path()).await.unwrap();
        let (person, m) = t.enrolment_material().await;
        let data = png_scan(60_000, 3);
        let f = t.app.ingest_file(&t.admin, m, Some("a.png"), &data[..]).await.unwrap();
        let set = t.app.backup(&t.admin, "local", &target, false, 8, |_, _| {}).await.unwrap().set;
        // The set as the previous version wrote it: the snapshot plain, format 1, signed.
        let keys = KeyRing::load_existing(t.keys_dir.path()).unwrap();
        let set_dir = dir.path().join("sets").join(&set);
        let mut manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(set_dir.join("manifest.json")).unwrap()).unwrap();
        let sealed_key = manifest["database"]["key"].as_str().unwrap().to_owned();
        let enc = &manifest["database"]["encryption"];
        let master = keys.master_key_by_id(enc["master_key_id"].as_str().unwrap()).unwrap();
        let data_key = dangan_vault::crypto::unwrap_key(
            &master,
            &hex::decode(enc["wrapped_key"].as_str().unwrap()).unwrap(),
        ).unwrap();
        let plain_key = sealed_key.trim_end_matches(".dgvb").to_owned();
        let plain_path = dir.path().join(&plain_key);
        target
            .read_through(&sealed_key, Some(&data_key), Some(std::fs::File::create(&plain_path).unwrap()))
            .await
            .unwrap();
        std::fs::remove_file(dir.path().join(&sealed_key)).unwrap();
        let plain = std::fs::read(&plain_path).unwrap();
        let header: &[u8] = if backend == "postgres" { b"PGDMP" } else { b"SQLite format 3\0" };
        assert!(plain.starts_with(header));
        manifest["format"] = "dangan-backup-1".into();
        manifest["database"] = serde_json::json!({
            "key": plain_key,
            "size": plain.len(),
            "sha256": hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&plain)),
        });
        let body = serde_json::to_vec_pretty(&manifest).unwrap();
        std::fs::write(set_dir.join("manifest.sig"), keys.sign(&body)).unwrap();
        std::fs::write(set_dir.join("manifest.json"), body).unwrap();

        let checks = t.app.verify_backups(&t.auditor, &target).await.unwrap();
        assert!(checks.len() == 1 && checks[0].ok, "{checks:?}");
        let (_new, _db, into) = new_instance(backend).await;
        let report = restore(&target, None, &keys, &into, |_, _| {}).await.unwrap();
        assert_eq!(report.set, set);
        check_restored(&into, t.keys_dir.path(), person, &[(f.id, data)]).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_and_restore_authenticate_the_encrypted_snapshot_not_only_its_digest() {
    let dir = tempfile::tempdir().unwrap();
    let target = Target::local(dir.path()).await.unwrap();
    let t = TestApp::start(TestDb::sqlite().await).await;
    let (_, m) = t.enrolment_material().await;
    t.app
        .ingest_file(&t.admin, m, Some("a.png"), &png_scan(30_000, 1)[..])
        .await
        .unwrap();
    let set = t
        .app
        .backup(&t.admin, "local", &target, false, 8, |_, _| {})
        .await
        .unwrap()
        .set;
    // A changed snapshot whose new digest is in a manifest signed again with the agency's key:
    // the digest matches, the records do not authenticate.
    let keys = KeyRing::load_existing(t.keys_dir.path()).unwrap();
    let set_dir = dir.path().join("sets").join(&set);
    let snapshot = set_dir.join("database.sqlite.dgvb");
    let mut bytes = std::fs::read(&snapshot).unwrap();
    let at = bytes.len() - 100;
    bytes[at] ^= 0x01;
    std::fs::write(&snapshot, &bytes).unwrap();
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(set_dir.join("manifest.json")).unwrap()).unwrap();
    manifest["database"]["sha256"] =
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)).into();
    let body = serde_json::to_vec_pretty(&manifest).unwrap();
    std::fs::write(set_dir.join("manifest.sig"), keys.sign(&body)).unwrap();
    std::fs::write(set_dir.join("manifest.json"), body).unwrap();

    let checks = t.app.verify_backups(&t.auditor, &target).await.unwrap();
    assert!(!checks[0].ok);
    assert!(
        checks[0].problems[0].contains("无法通过认证解密"),
        "{checks:?}"
    );
    let new_dir = tempfile::tempdir().unwrap();
    let err = restore(
        &target,
        None,
        &keys,
        &RestoreInto {
            data_dir: new_dir.path().to_owned(),
            database_url: None,
            target_name: "local".to_owned(),
        },
        |_, _| {},
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "backup_set_damaged");
    assert!(err.to_string().contains("无法通过认证解密"), "{err}");
    assert!(!new_dir.path().join("dangan.db").exists());
    assert_eq!(
        std::fs::read_dir(new_dir.path())
            .unwrap()
            .filter(|e| {
                let n = e.as_ref().unwrap().file_name();
                n.to_string_lossy().ends_with(".tmp")
            })
            .count(),
        0,
        "no plaintext left behind"
    );
}
