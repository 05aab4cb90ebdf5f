//! The lists of issue 18 in the browser: the query register searched by a person's whole
//! identity number (never in the address), the damage and loss list filtered by kind, and the
//! calendar source and a job's parameters in Chinese, never as codes.

use super::harness::*;
use dangan_app::problems::damage::{DamageInput, LossInput};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archivist_finds_a_registration_by_the_persons_identity_number_and_lists_damage_and_loss_in_chinese()
 {
    let t = TestApp::start(TestDb::sqlite().await).await;
    t.actor("archivist7", Role::Archivist).await;
    let (person, material) = t.enrolment_material().await;
    let other = t
        .app
        .create_person(&t.admin, &person_input(2, "李四"))
        .await
        .unwrap();
    t.register(&t.admin, person).await;
    t.register(&t.admin, other.id).await;
    t.app
        .record_damage(
            &t.admin,
            material,
            &DamageInput {
                degree: "light".into(),
                cause: "受潮".into(),
                repair_by: None,
                institution: None,
            },
        )
        .await
        .unwrap();
    t.app
        .record_loss(
            &t.admin,
            material,
            &LossInput {
                reported_to: "局长".into(),
                note: None,
            },
        )
        .await
        .unwrap();
    let full = person_input(1, "张三").id_number;
    let server = TestServer::spawn(t).await;
    let b = browser(1280, 800).await;
    let c = &b.client;
    let base = &server.base_url;
    staff_login(c, base, "archivist7").await;

    click(c, "nav.side a[href='/queries']").await;
    expect_text(c, "#register-count", "共 2 条").await;
    fill(c, "#person", &full).await;
    click(c, "#register-filter button[type=submit]").await;
    expect_text(c, "#register-count", "共 1 条").await;
    let table = expect_text(c, "#register", "张三").await;
    assert!(!table.contains("李四"), "{table}");
    assert!(!table.contains(&full), "the number is masked: {table}");
    let url = c.current_url().await.unwrap();
    assert!(
        !url.as_str().contains(&full[..6]),
        "no identity number in the address: {url}"
    );
    screenshot(c, "lists-01-query-register").await;

    click(c, "nav.side a[href='/incidents']").await;
    let table = expect_text(c, "#incidents", "丢失").await;
    assert!(
        table.contains("破损") && table.contains("处置中"),
        "{table}"
    );
    for code in ["damage", "loss", "open", "closed"] {
        assert!(!table.contains(code), "no raw code {code}: {table}");
    }
    c.find(Locator::Css("#kind"))
        .await
        .unwrap()
        .select_by_value("loss")
        .await
        .unwrap();
    click(c, "#incident-filter button[type=submit]").await;
    expect_text(c, "#incident-count", "共 1 条").await;
    let table = expect_text(c, "#incidents", "局长").await;
    assert!(!table.contains("受潮"), "{table}");
    screenshot(c, "lists-02-incidents").await;
    click(c, "#incidents a[href^='/materials/']").await;
    expect_text(c, "#material-status", "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_calendar_source_and_a_jobs_parameters_read_in_chinese_never_as_codes() {
    let t = TestApp::start(TestDb::sqlite().await).await;
    let job = t.app.run_job_now(&t.admin, "scrub").await.unwrap();
    let server = TestServer::spawn(t).await;
    let b = browser(1280, 800).await;
    let c = &b.client;
    let base = &server.base_url;
    staff_login(c, base, "admin").await;
    c.goto(&format!("{base}/catalogue")).await.unwrap();
    let calendar = expect_text(c, "#calendar", "系统内置").await;
    for code in ["builtin", "system"] {
        assert!(!calendar.contains(code), "no raw code {code}: {calendar}");
    }
    c.goto(&format!("{base}/jobs/{job}")).await.unwrap();
    let shown = expect_text(c, "#job-parameters", "无").await;
    assert!(!shown.contains('{'), "{shown}");
    let page = expect_text(c, "#job", "状态").await;
    assert!(!page.contains("{}") && !page.contains("system"), "{page}");
    screenshot(c, "lists-03-job").await;
}
