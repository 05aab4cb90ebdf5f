//! 库房日常检查 in the UI: the custodian fills the day's readings and checklist on the room's
//! page, marks an item 异常 with its note, submits, and finds the check in the month's record,
//! the chart and the printable 温湿度记录表 and 库房检查记录.

use super::harness::*;
use dangan_app::custody::rooms::RoomInput;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_custodian_records_the_daily_check_and_finds_it_in_the_monthly_record() {
    let t = TestApp::start(TestDb::sqlite().await).await;
    let room = t
        .app
        .create_room(
            &t.admin,
            &RoomInput {
                code: "K01".into(),
                name: "一号库房".into(),
                area_m2: "80".into(),
                separate_from_service: true,
                ..RoomInput::default()
            },
        )
        .await
        .unwrap()
        .room
        .id;
    t.actor("keeper1", Role::Custodian).await;
    let server = TestServer::spawn(t).await;
    let b = browser(1280, 900).await;
    let c = &b.client;
    let base = &server.base_url;
    staff_login(c, base, "keeper1").await;

    c.goto(&format!("{base}/custody")).await.unwrap();
    expect_text(c, "#rooms", "未检查").await;
    screenshot(c, "custody-01-rooms").await;
    click(c, "#room-K01").await;
    expect_text(c, "main h1", "一号库房").await;
    fill(c, "#temperature", "19.5").await;
    fill(c, "#humidity", "63").await;
    // 除湿机 (the fourth seeded item) is out of order: 异常 without a note is refused.
    click(c, "#abnormal-4").await;
    click(c, "#check-submit").await;
    expect_text(c, "#form-error", "请写明异常情况").await;
    fill(c, "#temperature", "19.5").await;
    fill(c, "#humidity", "63").await;
    click(c, "#abnormal-4").await;
    fill(c, "#note-4", "除湿机不启动，已报修").await;
    screenshot(c, "custody-02-check-form").await;
    click(c, "#check-submit").await;
    expect_text(c, "#done", "已登记").await;
    let today = dangan_app::today().to_string();
    let month = expect_text(c, "#month", &today).await;
    assert!(
        month.contains("除湿机：异常（除湿机不启动，已报修）"),
        "{month}"
    );
    assert!(month.contains("keeper1"), "{month}");
    expect_text(c, "#checked-today", "今日检查已登记").await;
    // 63 % is above the room's 45–60 %: the manual reading raised a humidity alert.
    expect_text(c, "#room-alerts", "湿度 63 %").await;
    assert!(
        c.find(Locator::Css("#environment-chart polyline"))
            .await
            .is_ok()
    );
    screenshot(c, "custody-03-recorded").await;

    c.goto(&format!("{base}/workbench")).await.unwrap();
    expect_text(c, "#environment-alerts", "一号库房").await;

    c.goto(&format!("{base}/api/v1/rooms/{}/environment/print", room.0))
        .await
        .unwrap();
    let sheet = expect_text(c, "#readings", &today).await;
    assert!(sheet.contains("否（超出范围）"), "{sheet}");
    screenshot(c, "custody-04-print-environment").await;
    c.goto(&format!("{base}/api/v1/rooms/{}/checks/print", room.0))
        .await
        .unwrap();
    expect_text(c, "#checks", "异常：除湿机不启动，已报修").await;
    screenshot(c, "custody-05-print-checks").await;
}
