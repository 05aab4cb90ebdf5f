//! The electronic archive on both backends: ingest, duplicates, download, and verification that
//! catches a flipped byte in a blob and an edited metadata row.

use dangan_app::AppError;
use dangan_app::intake::events::{EventInput, MaterialInput};
use dangan_testkit::{TestApp, TestDb, on_both_backends, person_input, png_scan};
use tokio::io::AsyncReadExt;

fn code_of<T: std::fmt::Debug>(r: Result<T, AppError>) -> String {
    r.expect_err("an error").code().to_owned()
}

on_both_backends! {
    async fn a_scan_is_stored_once_read_back_and_verified(db: TestDb) {
        let t = TestApp::start(db).await;
        let (person, m) = t.enrolment_material().await;
        let data = png_scan(200_000, 1);
        let window = t.actor("window1", dangan_app::Role::Window).await;
        assert_eq!(code_of(t.app.ingest_file(&window, m, Some("a.png"), &data[..]).await), "forbidden");
        assert_eq!(code_of(t.app.ingest_file(&t.admin, m, Some("../etc/passwd"), &data[..]).await), "invalid_file_name");
        assert_eq!(code_of(t.app.ingest_file(&t.admin, m, Some("empty.png"), &b""[..]).await), "empty_file");
        let f = t.app.ingest_file(&t.admin, m, Some("2024-参保登记-申请表.png"), &data[..]).await.unwrap();
        assert_eq!((f.format.as_str(), f.dpi, f.duplicate), ("png", Some(300), false));
        assert_eq!(f.flags, ["not_archival_format"], "PNG is kept but flagged");
        assert_eq!(f.four_properties_passed, Some(false));
        assert_eq!(f.size as usize, data.len());
        let again = t.app.ingest_file(&t.admin, m, Some("copy.png"), &data[..]).await.unwrap();
        assert_eq!(again.id, f.id, "the same bytes again for the same material are the file already stored");
        assert_eq!(again.sha256, f.sha256);

        assert_eq!(code_of(t.app.open_file(&t.admin, f.id).await), "query_registration_required");
        assert_eq!(code_of(t.app.file_checks(&t.admin, f.id).await), "query_registration_required");
        t.register(&t.admin, person).await;
        let report = t.app.file_checks(&t.admin, f.id).await.unwrap();
        let failed: Vec<&str> = report.checks.iter().filter(|c| c.passed == Some(false)).map(|c| c.code.as_str()).collect();
        assert_eq!(failed, ["GD-3-1"], "only the format fails: {report:?}");
        let dpi = report.checks.iter().find(|c| c.code == "GD-3-2").unwrap();
        assert_eq!(dpi.passed, Some(true));
        let virus = report.checks.iter().find(|c| c.code == "GD-4-1").unwrap();
        assert!(virus.passed.is_some() || virus.reason.contains("ClamAV"), "a skipped scan says so plainly");
        let (_, mut reader) = t.app.open_file(&t.admin, f.id).await.unwrap();
        let mut back = Vec::new();
        reader.read_to_end(&mut back).await.unwrap();
        assert_eq!(back, data);
        let v = t.app.verify_file(&t.auditor, f.id).await.unwrap();
        assert!(v.ok, "{v:?}");
        let (n, failures) = t.app.verify_all_files(&t.auditor, |_| {}).await.unwrap();
        assert_eq!((n, failures.len()), (1, 0));
    }

    async fn a_flipped_byte_or_an_edited_row_fails_verification_naming_the_file(db: TestDb) {
        let t = TestApp::start(db).await;
        let (_, m) = t.enrolment_material().await;
        let a = t.app.ingest_file(&t.admin, m, Some("a.png"), &png_scan(90_000, 2)[..]).await.unwrap();
        let b = t.app.ingest_file(&t.admin, m, Some("b.png"), &png_scan(90_000, 3)[..]).await.unwrap();
        let c = t.app.ingest_file(&t.admin, m, Some("c.png"), &png_scan(90_000, 4)[..]).await.unwrap();
        // One flipped byte in a's blob.
        let path = t.keys_dir.path().join("vault").join("blobs").join(&a.sha256[..2]).join(format!("{}.dgvb", a.sha256));
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[40_000] ^= 0x01;
        std::fs::write(&path, bytes).unwrap();
        // One edited metadata row of b.
        t.db.execute(&format!("UPDATE files SET scanned_by = '他人' WHERE id = {}", b.id)).await;
        let (n, failures) = t.app.verify_all_files(&t.auditor, |_| {}).await.unwrap();
        assert_eq!(n, 3);
        let failed: Vec<_> = failures.iter().map(|f| f.file_id).collect();
        assert_eq!(failed, [a.id, b.id]);
        assert!(!failures[0].content_ok && failures[0].seal_ok);
        assert!(failures[0].problems[0].contains("被修改"));
        assert!(failures[1].content_ok && !failures[1].seal_ok);
        assert!(failures[1].problems.iter().any(|p| p.contains("元数据")));
        assert!(t.app.verify_file(&t.auditor, c.id).await.unwrap().ok);
        // The scheduled scrub finds the same two and records its run beside the manual one.
        let (n, failures) = t.app.scrub(&dangan_app::Actor::system()).await.unwrap();
        assert_eq!((n, failures.len()), (3, 2));
        let runs = t.app.scrub_runs(&t.auditor, 10).await.unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!((runs[0].trigger.as_str(), runs[1].trigger.as_str()), ("schedule", "manual"));
        assert!(runs[0].finished_at.is_some());
        assert_eq!((runs[0].files_checked, runs[0].files_failed), (3, 2));
        assert_eq!(runs[0].failed_file_ids, format!("{} {}", a.id, b.id));
        assert_eq!(code_of(t.app.scrub_runs(&t.security, 10).await), "forbidden");
        // The material's name is sealed too.
        t.db.execute(&format!("UPDATE material_items SET name = '伪造材料' WHERE id = {}", m)).await;
        assert!(!t.app.verify_file(&t.auditor, c.id).await.unwrap().seal_ok);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_master_key_rewraps_data_keys_without_touching_blobs() {
    let t = TestApp::start(TestDb::sqlite().await).await;
    let (person, m) = t.enrolment_material().await;
    let a = t
        .app
        .ingest_file(&t.admin, m, Some("a.png"), &png_scan(150_000, 5)[..])
        .await
        .unwrap();
    let b = t
        .app
        .ingest_file(&t.admin, m, Some("b.png"), &png_scan(10_000, 6)[..])
        .await
        .unwrap();
    let blob_path = |sha: &str| {
        t.keys_dir
            .path()
            .join("vault")
            .join("blobs")
            .join(&sha[..2])
            .join(format!("{sha}.dgvb"))
    };
    let before = std::fs::read(blob_path(&a.sha256)).unwrap();
    let old_id = t.app.keys().master_key_id().to_owned();
    assert_eq!(
        code_of(t.app.rotate_master_key(&t.admin, |_| {}).await),
        "forbidden"
    );
    let n = t.app.rotate_master_key(&t.security, |_| {}).await.unwrap();
    assert_eq!(n.data_keys, 2);
    assert!(
        n.personal_values >= 1,
        "the person's number and the scans' manifests: {n:?}"
    );
    assert_eq!(
        std::fs::read(blob_path(&a.sha256)).unwrap(),
        before,
        "the blob is not rewritten"
    );
    assert!(
        t.keys_dir
            .path()
            .join("retired")
            .join(format!("master-aes256-{old_id}.key"))
            .exists()
    );
    let (ok, failures) = t.app.verify_all_files(&t.auditor, |_| {}).await.unwrap();
    assert_eq!((ok, failures.len()), (2, 0), "{failures:?}");
    t.register(&t.admin, person).await;
    let (_, mut reader) = t.app.open_file(&t.admin, b.id).await.unwrap();
    let mut back = Vec::new();
    reader.read_to_end(&mut back).await.unwrap();
    assert_eq!(back, png_scan(10_000, 6));
    // A restarted ring (the next process) has the new key current and the old one retired.
    let ring = dangan_app::KeyRing::load_or_create(t.keys_dir.path()).unwrap();
    assert_ne!(ring.master_key_id(), old_id);
    assert!(ring.master_key_by_id(&old_id).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mistaken_scan_is_withdrawn_with_its_reason_until_its_volume_is_sealed() {
    use dangan_domain::business::BusinessClass;
    let t = TestApp::start(TestDb::sqlite().await).await;
    let p = t
        .app
        .create_person(&t.admin, &person_input(7, "王五"))
        .await
        .unwrap();
    let input = EventInput {
        person_id: Some(p.id.0),
        business_type: "enrolment".into(),
        business_date: "2024-05-06".into(),
        materials: vec![
            MaterialInput {
                material_code: "enrolment_form".into(),
                pages: 2,
                carrier: Some("electronic".into()),
                ..MaterialInput::default()
            },
            MaterialInput {
                material_code: "id_card_copy".into(),
                pages: 1,
                carrier: Some("electronic".into()),
                ..MaterialInput::default()
            },
        ],
        ..EventInput::default()
    };
    let event = t.app.record_event(&t.admin, &input).await.unwrap().event;
    let (m, other) = (event.materials[0].id, event.materials[1].id);
    let data = png_scan(30_000, 11);
    let a = t
        .app
        .ingest_file(&t.admin, m, Some("a.png"), &data[..])
        .await
        .unwrap();
    // The same bytes filed by mistake under another material: a second file sharing the blob.
    let same = t
        .app
        .ingest_file(&t.admin, other, Some("again.png"), &data[..])
        .await
        .unwrap();
    assert!(same.duplicate);
    let blank = t.app.withdraw_file(&t.admin, a.id, "  ").await.unwrap_err();
    assert_eq!(blank.code(), "invalid_text");
    assert!(blank.to_string().contains("撤回原因"), "{blank}");
    let window = t.actor("window7", dangan_app::Role::Window).await;
    assert_eq!(
        code_of(t.app.withdraw_file(&window, a.id, "误传").await),
        "forbidden"
    );
    t.app
        .withdraw_file(&t.admin, same.id, "重复上传")
        .await
        .unwrap();
    assert_eq!(
        code_of(t.app.withdraw_file(&t.admin, same.id, "重复上传").await),
        "file_not_found"
    );
    // The bytes stay: the first file still holds them.
    assert!(t.app.verify_file(&t.auditor, a.id).await.unwrap().ok);
    let drafts = t
        .app
        .build_volumes(&t.admin, 2024, BusinessClass::Registration)
        .await
        .unwrap();
    t.app
        .seal_volume(
            &t.admin,
            drafts[0].id,
            dangan_app::organising::volumes::FailedScans::Acknowledged,
        )
        .await
        .unwrap();
    assert_eq!(
        code_of(t.app.withdraw_file(&t.admin, a.id, "误传").await),
        "volume_sealed"
    );
    t.register(&t.admin, p.id).await;
    assert_eq!(t.app.files_of(&t.admin, m).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_persons_get_one_readable_pdf_scan_per_material_once() {
    let t = TestApp::start(TestDb::sqlite().await).await;
    t.app
        .load_demo(&dangan_app::Actor::system(), 3, 5, |_| {})
        .await
        .unwrap();
    let n = t
        .app
        .load_demo_scans(&dangan_app::Actor::system(), 3, 2)
        .await
        .unwrap();
    assert!(n >= 2, "{n}");
    assert_eq!(
        t.app
            .load_demo_scans(&dangan_app::Actor::system(), 3, 2)
            .await
            .unwrap(),
        0,
        "a second run adds nothing"
    );
    let (checked, failures) = t.app.verify_all_files(&t.auditor, |_| {}).await.unwrap();
    assert_eq!((checked, failures.len()), (n, 0));
    let pdf =
        dangan_app::administration::demo::demo_scan_pdf(&["material: enrolment_form".to_owned()]);
    let id =
        dangan_vault::identify::identify(&pdf, true, &dangan_vault::identify::Limits::new(300));
    assert_eq!((id.format.code(), id.pages), ("pdf", Some(1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_national_digest_profile_computes_sm3_and_an_edited_or_blanked_sm3_is_caught() {
    use sha2::Digest;
    let data = png_scan(120_000, 7);
    let sm3 = hex::encode(sm3::Sm3::digest(&data));
    // The AES profile: SHA-256 alone, and the digest check still passes.
    let aes = TestApp::start(TestDb::sqlite().await).await;
    let (person, m) = aes.enrolment_material().await;
    let f = aes
        .app
        .ingest_file(&aes.admin, m, Some("a.png"), &data[..])
        .await
        .unwrap();
    assert_eq!(f.sm3, None, "no SM3 without the national profile");
    aes.register(&aes.admin, person).await;
    let report = aes.app.file_checks(&aes.admin, f.id).await.unwrap();
    let digests = report.checks.iter().find(|c| c.code == "GD-1-1").unwrap();
    assert_eq!(digests.passed, Some(true), "{digests:?}");
    assert!(digests.reason.contains("不含 SM3"), "{}", digests.reason);
    // An SM3 slipped in afterwards does not match the bytes.
    aes.db
        .execute(&format!(
            "UPDATE blobs SET sm3 = '{}' WHERE sha256 = '{}'",
            "0".repeat(64),
            f.sha256
        ))
        .await;
    assert!(!aes.app.verify_file(&aes.auditor, f.id).await.unwrap().ok);

    // The national profile: SM4-GCM with SHA-256 and SM3.
    let vault = tempfile::tempdir().unwrap();
    let settings = dangan_app::Settings {
        vault: Some(dangan_app::VaultSettings {
            root: vault.path().to_owned(),
            s3: None,
            cipher: dangan_vault::Cipher::Sm4Gcm,
            digests: dangan_vault::Digests::Sha256AndSm3,
            seal: dangan_app::SealAlgorithm::default(),
            max_upload: 64 * 1024 * 1024,
            min_dpi: 300,
            parse_limit: dangan_vault::store::DEFAULT_PARSE_LIMIT,
            preservation_copies: false,
        }),
        ..dangan_app::Settings::default()
    };
    let gm = TestApp::start_with(TestDb::sqlite().await, settings).await;
    let (_, m) = gm.enrolment_material().await;
    let a = gm
        .app
        .ingest_file(&gm.admin, m, Some("a.png"), &data[..])
        .await
        .unwrap();
    let b = gm
        .app
        .ingest_file(&gm.admin, m, Some("b.png"), &png_scan(60_000, 8)[..])
        .await
        .unwrap();
    assert_eq!(a.sm3.as_deref(), Some(sm3.as_str()));
    assert!(gm.app.verify_file(&gm.auditor, a.id).await.unwrap().ok);
    // An edited SM3 fails the recomputation; a blanked one (to skip it) breaks the seal.
    gm.db
        .execute(&format!(
            "UPDATE blobs SET sm3 = '{}' WHERE sha256 = '{}'",
            "0".repeat(64),
            a.sha256
        ))
        .await;
    gm.db
        .execute(&format!(
            "UPDATE blobs SET sm3 = '' WHERE sha256 = '{}'",
            b.sha256
        ))
        .await;
    let (n, failures) = gm.app.verify_all_files(&gm.auditor, |_| {}).await.unwrap();
    assert_eq!(n, 2);
    assert_eq!(failures.len(), 2, "{failures:?}");
    let by_id = |id| failures.iter().find(|f| f.file_id == id).unwrap();
    assert!(!by_id(a.id).content_ok);
    assert!(!by_id(b.id).seal_ok);
}

/// A file's current sealed manifest, opened, and the manifests it replaced.
async fn manifest_of(
    t: &TestApp,
    id: dangan_store::files::FileId,
) -> (
    std::collections::BTreeMap<String, String>,
    Vec<dangan_store::files::ManifestVersion>,
) {
    let mut tx = t.app.store().begin().await.unwrap();
    let row = dangan_store::files::get(&mut tx, id)
        .await
        .unwrap()
        .unwrap();
    let history = dangan_store::files::manifest_history(&mut tx, id)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    (serde_json::from_str(&row.manifest).unwrap(), history)
}

on_both_backends! {
    async fn an_edited_identification_result_fails_verification(db: TestDb) {
        let t = TestApp::start(db).await;
        let (_, m) = t.enrolment_material().await;
        let mut files = Vec::new();
        for seed in 21..25 {
            let f = t.app.ingest_file(&t.admin, m, Some("a.png"), &png_scan(20_000, seed)[..]).await.unwrap();
            assert!(!f.archival, "PNG is not an archival format");
            files.push(f.id);
        }
        // An insider with the database at hand makes the scans look archival, or rewrites what
        // identification found.
        t.db.execute(&format!("UPDATE files SET archival = TRUE WHERE id = {}", files[0])).await;
        t.db.execute(&format!("UPDATE files SET flags = '' WHERE id = {}", files[1])).await;
        t.db.execute(&format!("UPDATE files SET pages = 9, dpi = 600 WHERE id = {}", files[2])).await;
        t.db.execute(&format!("UPDATE files SET original_name = 'b.png' WHERE id = {}", files[3])).await;
        let (n, failures) = t.app.verify_all_files(&t.auditor, |_| {}).await.unwrap();
        assert_eq!(n, 4);
        let failed: Vec<_> = failures.iter().map(|f| f.file_id).collect();
        assert_eq!(failed, files, "{failures:?}");
        assert!(failures.iter().all(|f| f.content_ok && !f.seal_ok));
    }

    async fn sealing_a_volume_reissues_each_scan_manifest_with_its_archive_number(db: TestDb) {
        use dangan_domain::business::BusinessClass;
        let t = TestApp::start(db).await;
        let p = t.app.create_person(&t.admin, &person_input(8, "赵六")).await.unwrap();
        let input = EventInput {
            person_id: Some(p.id.0),
            business_type: "enrolment".into(),
            business_date: "2024-05-06".into(),
            materials: vec![MaterialInput {
                material_code: "enrolment_form".into(),
                pages: 1,
                carrier: Some("electronic".into()),
                ..MaterialInput::default()
            }],
            ..EventInput::default()
        };
        let m = t.app.record_event(&t.admin, &input).await.unwrap().event.materials[0].id;
        let f = t.app.ingest_file(&t.admin, m, Some("a.png"), &png_scan(20_000, 31)[..]).await.unwrap();
        let (before, history) = manifest_of(&t, f.id).await;
        assert_eq!(before["archive_number"], "", "no archive number before the volume is sealed");
        assert_eq!(before["manifest_version"], "2");
        assert_eq!(before["archival"], "false");
        assert!(history.is_empty());
        let drafts = t.app.build_volumes(&t.admin, 2024, BusinessClass::Registration).await.unwrap();
        let volume = t.app.seal_volume(&t.admin, drafts[0].id, dangan_app::organising::volumes::FailedScans::Acknowledged).await.unwrap();
        let number = volume.archive_number.clone().unwrap();
        let (after, history) = manifest_of(&t, f.id).await;
        assert_eq!(after["archive_number"], number);
        assert_eq!(history.len(), 1, "the first manifest is kept");
        use sha2::Digest;
        let digest = hex::encode(sha2::Sha256::digest(history[0].manifest.as_bytes()));
        assert_eq!(after["previous"], digest, "the new manifest names the one it replaces");
        assert!(t.app.verify_file(&t.auditor, f.id).await.unwrap().ok);
        // The kept manifest is covered too: dropping it from the history is found.
        t.db.execute(&format!("DELETE FROM file_manifests WHERE file_id = {}", f.id)).await;
        let v = t.app.verify_file(&t.auditor, f.id).await.unwrap();
        assert!(!v.ok && v.problems.iter().any(|p| p.contains("历史版本")), "{v:?}");
    }
}

on_both_backends! {
    async fn a_png_scan_gets_a_sealed_pdfa_preservation_copy_that_goes_with_it(db: TestDb) {
        let t = TestApp::start_preserving(db).await;
        let (person, m) = t.enrolment_material().await;
        let original = t.app.ingest_file(&t.admin, m, Some("申请表.png"), &png_scan(60_000, 41)[..]).await.unwrap();
        assert_eq!((original.format.as_str(), original.pages, original.dpi), ("png", Some(1), Some(300)));
        t.register(&t.admin, person).await;
        let files = t.app.files_of(&t.admin, m).await.unwrap();
        assert_eq!(files.len(), 2, "the original and its copy: {files:?}");
        let copy = files.iter().find(|f| f.preservation_of == Some(original.id)).expect("a copy of the original");
        assert_eq!(copy.format, "pdf");
        assert_eq!(copy.pdfa.as_deref(), Some("2B"));
        assert_eq!(copy.pages, Some(1));
        assert!(copy.archival, "{:?}", copy.flags);
        assert!(copy.original_name.ends_with("保存副本.pdf"), "{}", copy.original_name);
        let report = t.app.file_checks(&t.admin, copy.id).await.unwrap();
        assert!(report.passed, "{report:?}");
        let readable = report.checks.iter().find(|c| c.code == "GD-3-3").unwrap();
        assert_eq!(readable.passed, Some(true), "{readable:?}");
        let conformance = report.checks.iter().find(|c| c.code == "GD-3-4").unwrap();
        assert_ne!(conformance.passed, Some(false), "{conformance:?}");
        let (manifest, _) = manifest_of(&t, copy.id).await;
        assert_eq!(manifest["preservation_of"], original.id.to_string(), "the link is sealed");
        assert!(t.app.verify_file(&t.auditor, copy.id).await.unwrap().ok);
        // The original stays the master: withdrawing it withdraws the copy.
        t.app.withdraw_file(&t.admin, original.id, "扫描错误").await.unwrap();
        assert!(t.app.files_of(&t.admin, m).await.unwrap().is_empty());
    }
}
