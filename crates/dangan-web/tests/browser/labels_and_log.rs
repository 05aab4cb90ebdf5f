//! Chinese on every page staff read (codes by their labels, choices as selects), each role's
//! landing page, and the operation log (操作日志) with its filters, pages and Beijing days.

use super::harness::*;
use dangan_app::problems::damage::DamageInput;
use dangan_app::security::audit::LogQuery;

/// Codes that must never show on a staff page.
const RAW_CODES: &[&str] = &[
    "male",
    "female",
    "collection",
    "organising",
    "normal",
    "damaged",
    "missing",
    "lost",
    "active",
    "suspended",
    "terminated",
    "division_code",
    "access.denied",
    "person.read",
    "person.events.read",
    "use_case",
    "not_found",
];

/// The text of the main element, after checking it shows no raw code (a `word.word` action
/// code included).
async fn main_in_chinese(c: &Client, page: &str) -> String {
    let text = c
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for word in text.split(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_' || ch == '.')) {
        let word = word.trim_matches('.');
        assert!(
            !RAW_CODES.contains(&word),
            "{page} shows the code {word:?}: {text}"
        );
        let dotted = word.split('.').collect::<Vec<_>>();
        assert!(
            dotted.len() < 2
                || dotted
                    .iter()
                    .any(|p| p.is_empty()
                        || !p.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_')),
            "{page} shows the action code {word:?}: {text}"
        );
    }
    text
}

fn enrolment(person: i64) -> EventInput {
    EventInput {
        person_id: Some(person),
        business_type: "enrolment".into(),
        business_date: "2024-05-06".into(),
        materials: vec![MaterialInput {
            material_code: "enrolment_form".into(),
            pages: 2,
            carrier: Some("electronic".into()),
            ..MaterialInput::default()
        }],
        ..EventInput::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_lands_on_a_page_it_may_use_and_no_sign_in_is_logged_as_refused() {
    let t = TestApp::start(TestDb::sqlite().await).await;
    t.actor("archivist1", Role::Archivist).await;
    t.actor("handler1", Role::Handler).await;
    t.actor("window1", Role::Window).await;
    let server = TestServer::spawn(t).await;
    let b = browser(1280, 800).await;
    let c = &b.client;
    let base = &server.base_url;
    for (user, landing, path) in [
        ("admin", "工作台", "/workbench"),
        ("archivist1", "工作台", "/workbench"),
        ("handler1", "工作台", "/workbench"),
        ("window1", "工作台", "/workbench"),
        ("auditor", "操作日志", "/audit"),
        ("secadmin", "用户与角色", "/users"),
    ] {
        assert_eq!(staff_login(c, base, user).await, landing, "{user}");
        assert!(c.current_url().await.unwrap().path() == path, "{user}");
        // The home page and the brand link lead there too.
        c.goto(&format!("{base}/")).await.unwrap();
        expect_text(c, "nav.side a[aria-current=page]", landing).await;
        click(c, "header a.brand").await;
        expect_text(c, "nav.side a[aria-current=page]", landing).await;
        if user == "auditor" {
            screenshot(c, "40-auditor-lands-on-the-log").await;
        }
        logout(c).await;
    }
    let refused = server
        .test_app
        .app
        .search_log(
            &server.test_app.auditor,
            &LogQuery {
                action: Some("access.denied".into()),
                ..LogQuery::default()
            },
        )
        .await
        .unwrap();
    assert!(
        refused.is_empty(),
        "no sign-in opens a page that refuses it: {refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_pages_show_sex_status_material_state_and_corrections_in_chinese_never_as_codes() {
    let t = TestApp::start(TestDb::sqlite().await).await;
    let p = t
        .app
        .create_person(&t.admin, &person_input(61, "孙十四"))
        .await
        .unwrap();
    let ev = t
        .app
        .record_event(&t.admin, &enrolment(p.id.0))
        .await
        .unwrap()
        .event;
    let material = ev.materials[0].id;
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
    let server = TestServer::spawn(t).await;
    let b = browser(1280, 800).await;
    let c = &b.client;
    let base = &server.base_url;

    staff_login(c, base, "admin").await;
    main_in_chinese(c, "工作台").await;
    c.goto(&format!("{base}/persons?name=孙")).await.unwrap();
    let row = expect_text(c, "#results", "孙十四").await;
    assert!(row.contains('男') || row.contains('女'), "{row}");
    assert!(row.contains("正常参保"), "{row}");
    main_in_chinese(c, "参保人").await;
    c.goto(&format!("{base}/persons/new")).await.unwrap();
    main_in_chinese(c, "登记参保人").await;

    register_and_open(c, base, p.id.0, p.id_number.as_str()).await;
    let tree = main_in_chinese(c, "档案").await;
    assert!(tree.contains("损毁") && tree.contains("正常参保"), "{tree}");
    c.goto(&format!("{base}/materials/{}?person={}", material.0, p.id))
        .await
        .unwrap();
    expect_text(c, "#material-status", "损毁").await;
    main_in_chinese(c, "损毁与丢失").await;

    // 参保状态 is chosen from its labels, and the record shows labels.
    c.goto(&format!("{base}/persons/{}/corrections", p.id))
        .await
        .unwrap();
    c.execute(
        "const s = document.getElementById('field-choice'); s.value = 'status';",
        vec![],
    )
    .await
    .unwrap();
    click(c, "#field-form button").await;
    expect_text(c, "#field", "参保状态").await;
    let choices = expect_text(c, "select#new_value", "暂停参保").await;
    assert!(choices.contains("终止参保"), "{choices}");
    c.execute(
        "const s = document.getElementById('new_value');
         s.selectedIndex = [...s.options].findIndex(o => o.text === '暂停参保');",
        vec![],
    )
    .await
    .unwrap();
    fill(c, "#basis", "户口本").await;
    click(c, "#correction-form button").await;
    // No proof: the error is in Chinese and the choices stay as they were.
    expect_text(c, "#error", "证明材料").await;
    let kept = c
        .execute("return document.getElementById('new_value').value + '|' + document.getElementById('basis').value;", vec![])
        .await
        .unwrap();
    assert_eq!(kept.as_str(), Some("suspended|户口本"));
    c.execute(
        "document.getElementById('proof_material_id').selectedIndex = 1;",
        vec![],
    )
    .await
    .unwrap();
    click(c, "#correction-form button").await;
    let record = expect_text(c, "#corrections", "暂停参保").await;
    assert!(
        record.contains("参保状态") && record.contains("正常参保"),
        "{record}"
    );
    main_in_chinese(c, "更正").await;
    screenshot(c, "41-correction-in-chinese").await;
    logout(c).await;

    // The auditor reads the log in Chinese: actions, objects, outcomes, roles.
    staff_login(c, base, "auditor").await;
    let log = expect_text(c, "#log", "更正档案信息").await;
    assert!(
        log.contains("查看档案材料") && log.contains("系统管理员") && log.contains("成功"),
        "{log}"
    );
    main_in_chinese(c, "操作日志").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operation_log_shows_the_beijing_day_filters_by_person_and_action_and_pages_by_fifty() {
    let t = TestApp::start(TestDb::sqlite().await).await;
    let p = t
        .app
        .create_person(&t.admin, &person_input(62, "周十五"))
        .await
        .unwrap();
    // The registration happened at 07:30 on 6 December in Beijing: 23:30 on the 5th in UTC.
    dangan_testkit::insider::exec(
        &t.db.config,
        &[format!(
            "UPDATE operation_log SET at = '2026-12-05T23:30:00.000000Z' WHERE action = 'person.create' AND target_id = '{}'",
            p.id
        )],
    )
    .await;
    let search = dangan_app::access::persons::PersonQuery {
        name: Some("周".into()),
        ..Default::default()
    };
    for _ in 0..60 {
        t.app.search_persons(&t.admin, &search).await.unwrap();
    }
    let server = TestServer::spawn(t).await;
    let b = browser(1280, 800).await;
    let c = &b.client;
    let base = &server.base_url;
    staff_login(c, base, "auditor").await;
    assert!(
        c.find(Locator::Css("#log-filter #log-export"))
            .await
            .is_ok()
    );

    c.goto(&format!(
        "{base}/audit?from=2026-12-06&to=2026-12-06&person={}",
        p.id
    ))
    .await
    .unwrap();
    let row = expect_text(c, "#log", "登记参保人").await;
    assert!(row.contains("2026-12-06 07:30:00"), "Beijing time: {row}");
    expect_text(c, "#log-count", "共 1 条").await;
    screenshot(c, "42-audit-one-beijing-day").await;
    c.goto(&format!(
        "{base}/audit?from=2026-12-05&to=2026-12-05&person={}",
        p.id
    ))
    .await
    .unwrap();
    expect_text(c, "#log-count", "共 0 条").await;

    // The action is chosen by its Chinese label; sixty entries make two pages.
    c.goto(&format!("{base}/audit")).await.unwrap();
    c.execute(
        "const s = document.getElementById('action');
         s.selectedIndex = [...s.options].findIndex(o => o.text === '查询参保人');",
        vec![],
    )
    .await
    .unwrap();
    click(c, "#log-filter button").await;
    expect_text(c, "#log-count", "共 60 条").await;
    expect_text(c, "#log-pager", "第 1 / 2 页").await;
    let rows = c.find_all(Locator::Css("#log tbody tr")).await.unwrap();
    assert_eq!(rows.len(), 50);
    click(c, "#log-next").await;
    expect_text(c, "#log-pager", "第 2 / 2 页").await;
    let rows = c.find_all(Locator::Css("#log tbody tr")).await.unwrap();
    assert_eq!(
        rows.len(),
        10,
        "the page does not shift for the searches logged meanwhile"
    );
    let url = c.current_url().await.unwrap();
    assert!(url.as_str().contains("action=person.search"), "{url}");
    main_in_chinese(c, "操作日志").await;

    // A person given by something other than the archive number: a Chinese error, input kept.
    c.goto(&format!("{base}/audit")).await.unwrap();
    fill(c, "#person", "周十五").await;
    click(c, "#log-filter button").await;
    expect_text(c, "#filter-error", "参保人档案编号应为数字").await;
    let kept = c
        .find(Locator::Css("#person"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("周十五"));
}
