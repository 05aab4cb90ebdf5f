//! 四性检测 made visible: a failed check is said at upload and in the archive tree, with the
//! withdraw (撤回) form; sealing a volume that holds failed scans lists them and asks first; an
//! aborted scan download is no error.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::harness::*;
use dangan_app::organising::volumes::FailedScans;
use dangan_domain::business::BusinessClass;
use dangan_testkit::{TEXT_NOT_A_PDF, jpeg_scan, png_scan};

/// 王五 with an enrolment of 2024-05-06 whose application form is electronic only.
async fn person_with_material(
    t: &TestApp,
) -> (
    dangan_app::ids::PersonId,
    String,
    dangan_app::ids::MaterialId,
) {
    let input = person_input(7, "王五");
    let p = t.app.create_person(&t.admin, &input).await.unwrap();
    let event = EventInput {
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
    let ev = t.app.record_event(&t.admin, &event).await.unwrap().event;
    (p.id, input.id_number, ev.materials[0].id)
}

/// Chooses `bytes` as a file named `name` in the first upload field of the archive tree.
async fn upload(c: &Client, name: &str, bytes: &[u8]) {
    let path = tempfile::tempdir().unwrap().keep().join(name);
    std::fs::write(&path, bytes).unwrap();
    c.find(Locator::Css("input[data-upload]"))
        .await
        .unwrap()
        .send_keys(path.to_str().unwrap())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_file_named_pdf_and_a_72_dpi_jpeg_are_said_to_fail_at_upload_and_are_withdrawn_from_the_archive_tree()
 {
    let t = TestApp::start(TestDb::sqlite().await).await;
    let (person, id_number, _) = person_with_material(&t).await;
    let server = TestServer::spawn(t).await;
    let b = browser(1280, 800).await;
    let c = &b.client;
    let base = &server.base_url;
    staff_login(c, base, "admin").await;
    register_and_open(c, base, person.0, &id_number).await;

    assert_eq!(TEXT_NOT_A_PDF.len(), 17);
    upload(c, "申请表.pdf", TEXT_NOT_A_PDF).await;
    let said = expect_text(c, "#upload-status", "四性检测未通过").await;
    assert!(said.contains("GD-1-3") && said.contains("GD-3-3"), "{said}");
    screenshot(c, "checks-01-upload-failed").await;

    c.goto(&format!("{base}/persons/{}", person.0))
        .await
        .unwrap();
    upload(c, "申请表.jpg", &jpeg_scan(600, 800, 72)).await;
    let said = expect_text(c, "#upload-status", "GD-3-2").await;
    assert!(said.contains("72 dpi"), "{said}");

    // The archive tree names the failed items beside each scan, with the withdraw form.
    c.goto(&format!("{base}/persons/{}", person.0))
        .await
        .unwrap();
    let tree = expect_text(c, "#archive", "GD-3-2").await;
    assert!(tree.contains("GD-1-3") && tree.contains("72 dpi"), "{tree}");
    assert_eq!(
        c.find_all(Locator::Css("#archive .withdraw-form button"))
            .await
            .unwrap()
            .len(),
        2
    );
    screenshot(c, "checks-02-archive-tree").await;
    click(c, "#archive .withdraw-form button").await;
    c.accept_alert().await.unwrap();
    expect_text(c, "main h1", "的档案").await;
    for _ in 0..50 {
        let tree = expect_text(c, "#archive", "申请表.jpg").await;
        if !tree.contains("申请表.pdf") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the withdrawn scan is still in the archive tree");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealing_a_volume_that_holds_a_failed_scan_lists_it_and_asks_to_confirm() {
    let t = TestApp::start(TestDb::sqlite().await).await;
    let (_, _, m) = person_with_material(&t).await;
    t.app
        .ingest_file(
            &t.admin,
            m,
            Some("低分辨率.jpg"),
            &jpeg_scan(300, 400, 72)[..],
        )
        .await
        .unwrap();
    let drafts = t
        .app
        .build_volumes(&t.admin, 2024, BusinessClass::Registration)
        .await
        .unwrap();
    // The API refuses the seal without the acknowledgement, with a stable code.
    let refused = t
        .app
        .seal_volume(&t.admin, drafts[0].id, FailedScans::Refuse)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "failed_scans_not_acknowledged");
    assert!(refused.to_string().contains("低分辨率.jpg"), "{refused}");
    let server = TestServer::spawn(t).await;
    let b = browser(1280, 800).await;
    let c = &b.client;
    let base = &server.base_url;
    staff_login(c, base, "admin").await;
    c.goto(&format!("{base}/volumes?year=2024&class=registration"))
        .await
        .unwrap();
    expect_text(c, "#volumes", "1 个扫描件四性检测未通过").await;
    click(c, ".seal").await;
    let listed = expect_text(c, "#failed-scans", "低分辨率.jpg").await;
    assert!(
        listed.contains("GD-3-2") && listed.contains("72 dpi"),
        "{listed}"
    );
    c.find(Locator::Css("#failed-scans .withdraw-form button"))
        .await
        .unwrap();
    screenshot(c, "checks-03-seal-confirm").await;
    click(c, "#confirm-seal").await;
    expect_text(c, "#volumes", "已封卷").await;
}

/// Counts ERROR events.
struct Errors(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Errors {
    fn on_event(&self, e: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if *e.metadata().level() == tracing::Level::ERROR {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_a_scan_page_early_logs_no_error() {
    use tracing_subscriber::layer::SubscriberExt;
    let errors = Arc::new(AtomicUsize::new(0));
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(Errors(Arc::clone(&errors))),
    )
    .unwrap();
    let t = TestApp::start(TestDb::sqlite().await).await;
    let (person, _, m) = person_with_material(&t).await;
    let f = t
        .app
        .ingest_file(&t.admin, m, Some("大图.png"), &png_scan(4_000_000, 9)[..])
        .await
        .unwrap();
    t.register(&t.admin, person).await;
    let server = TestServer::spawn(t).await;
    let token = server.login("admin", TEST_PASSWORD).await;
    // The viewer's image download, aborted after its first bytes (the user left the page).
    for _ in 0..3 {
        let mut res = server
            .client
            .get(format!("{}/api/v1/files/{}/content", server.base_url, f.id))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.chunk().await.unwrap().is_some());
        drop(res);
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        errors.load(Ordering::SeqCst),
        0,
        "an aborted download is no error"
    );
}
