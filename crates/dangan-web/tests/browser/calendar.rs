//! 工作日历 in the UI: a task whose deadline needs a missing year says so; the administrator
//! is warned, loads the year from the notice's dates (preview, then confirm) and the task
//! gets its deadline.

use super::harness::*;
use dangan_app::administration::calendar_notice::calendar_warning_on;
use dangan_domain::calendar::WorkCalendar;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_waiting_for_a_missing_calendar_year_gets_its_deadline_once_the_administrator_loads_the_year()
 {
    let t = TestApp::start(TestDb::sqlite().await).await;
    // A supplement task opened in 2014, a year that does not ship: no deadline yet.
    t.db.execute(
        "INSERT INTO tasks (kind, post, subject_kind, subject_id, title, opened_on, due_on, state, created_at) \
         VALUES ('supplement', 'collection', 'supplement', 999, '补件：待补身份证复印件', '2014-12-30', NULL, 'open', '2024-01-01T00:00:00Z')",
    )
    .await;
    let server = TestServer::spawn(t).await;
    let b = browser(1280, 800).await;
    let c = &b.client;
    let base = &server.base_url;
    staff_login(c, base, "admin").await;
    let warning = calendar_warning_on(&WorkCalendar::builtin(), Role::Admin, dangan_app::today());
    if let Some(w) = warning {
        let shown = expect_text(c, "#calendar-warning", "工作日历尚未载入").await;
        assert!(shown.contains(&w), "{shown}");
    }
    expect_text(c, "main", "期限待定（2014 年工作日历未载入）").await;
    screenshot(c, "calendar-01-workbench").await;

    c.goto(&format!("{base}/catalogue")).await.unwrap();
    click(c, "#load-calendar").await;
    fill(c, "#year", "2014").await;
    fill(c, "#holidays", "2015-01-01 元旦").await;
    click(c, "#preview-button").await;
    expect_text(c, "#error", "不在 2014 年内").await;
    let kept = c
        .find(Locator::Css("#holidays"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(
        kept.as_deref(),
        Some("2015-01-01 元旦"),
        "the form keeps its input"
    );
    fill(
        c,
        "#holidays",
        "2014-01-01 元旦\n2014-10-01 至 2014-10-07 国庆节",
    )
    .await;
    fill(c, "#workdays", "2014-10-08 国庆节").await;
    click(c, "#preview-button").await;
    expect_text(c, "#error", "本来就是工作日").await;
    fill(c, "#workdays", "2014-10-11 国庆节").await;
    click(c, "#preview-button").await;
    expect_text(c, "#preview-counts", "放假 8 天，调休上班 1 天").await;
    screenshot(c, "calendar-02-preview").await;
    click(c, "#confirm-load").await;
    expect_text(c, "#calendar", "2014").await;

    c.goto(&format!("{base}/workbench")).await.unwrap();
    let overdue = expect_text(c, "#overdue", "待补身份证复印件").await;
    assert!(!overdue.contains("期限待定"), "{overdue}");
}
