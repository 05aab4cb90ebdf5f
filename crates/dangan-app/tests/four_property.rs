//! 四性检测 at ingest on both backends: files that are no archival scans fail the checks that
//! say why, and a volume holding them is sealed only with an explicit acknowledgement.

use dangan_app::intake::events::{EventInput, MaterialInput};
use dangan_app::organising::volumes::FailedScans;
use dangan_domain::business::BusinessClass;
use dangan_testkit::{TEXT_NOT_A_PDF, TestApp, jpeg_scan, on_both_backends, person_input};

on_both_backends! {
    async fn a_text_file_named_pdf_and_a_72_dpi_jpeg_fail_and_hold_up_the_seal_until_acknowledged(db: TestDb) {
        let t = TestApp::start(db).await;
        let p = t.app.create_person(&t.admin, &person_input(3, "李四")).await.unwrap();
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
        let text = t.app.ingest_file(&t.admin, m, Some("申请表.pdf"), TEXT_NOT_A_PDF).await.unwrap();
        let jpeg = t.app.ingest_file(&t.admin, m, Some("申请表.jpg"), &jpeg_scan(300, 400, 72)[..]).await.unwrap();
        let codes = |f: &dangan_app::electronic::files::FileView| -> Vec<String> {
            f.failed_checks.iter().map(|c| c.code.clone()).collect()
        };
        assert_eq!(text.four_properties_passed, Some(false));
        assert_eq!(codes(&text), ["GD-1-3", "GD-3-1", "GD-3-3"]);
        assert_eq!(codes(&jpeg), ["GD-3-2"]);
        assert!(jpeg.failed_checks[0].reason.contains("72 dpi"), "{:?}", jpeg.failed_checks);
        t.register(&t.admin, p.id).await;
        let report = t.app.file_checks(&t.admin, text.id).await.unwrap();
        let dpi = report.checks.iter().find(|c| c.code == "GD-3-2").unwrap();
        assert_eq!(dpi.passed, None, "unknown is not passed: {dpi:?}");

        let drafts = t.app.build_volumes(&t.admin, 2024, BusinessClass::Registration).await.unwrap();
        assert_eq!(drafts[0].failed_scans.len(), 2);
        let refused = t.app.seal_volume(&t.admin, drafts[0].id, FailedScans::Refuse).await.unwrap_err();
        assert_eq!(refused.code(), "failed_scans_not_acknowledged");
        assert!(refused.to_string().contains("2 个扫描件"), "{refused}");
        t.app.withdraw_file(&t.admin, text.id, "四性检测未通过").await.unwrap();
        let sealed = t.app.seal_volume(&t.admin, drafts[0].id, FailedScans::Acknowledged).await.unwrap();
        assert!(sealed.archive_number.is_some());
        assert_eq!(sealed.failed_scans.len(), 1);
        let after = t.app.files_of(&t.admin, m).await.unwrap();
        assert!(after.iter().all(|f| f.sealed), "a scan of a sealed volume says so");
    }
}
