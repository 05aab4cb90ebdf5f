//! 设备与容量 in the UI: the custodian registers an extinguisher, sees the room's extinguisher
//! rule fail until there are enough, records an inspection (异常 refused without a note, its
//! input kept), and reads the capacity page; a business handler cannot open the page.

use super::harness::*;
use dangan_app::custody::rooms::RoomInput;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_custodian_registers_an_extinguisher_and_records_its_inspection_and_a_handler_cannot_open_the_page()
 {
    let t = TestApp::start(TestDb::sqlite().await).await;
    let room = RoomInput {
        code: "K1".into(),
        name: "一号库房".into(),
        area_m2: "15".into(),
        separate_from_service: true,
        ..RoomInput::default()
    };
    t.app.create_room(&t.admin, &room).await.unwrap();
    t.actor("keeper", Role::Custodian).await;
    t.actor("handler", Role::Handler).await;
    let server = TestServer::spawn(t).await;
    let b = browser(1280, 900).await;
    let c = &b.client;
    let base = &server.base_url;

    staff_login(c, base, "keeper").await;
    c.goto(&format!("{base}/equipment")).await.unwrap();
    expect_text(c, "#checks", "面积 15 平方米，需 2 具，在用 0 具").await;
    expect_text(c, "#no-items", "尚未登记设备").await;
    c.find(Locator::Css("#kind"))
        .await
        .unwrap()
        .select_by_value("extinguisher")
        .await
        .unwrap();
    fill(c, "#name", "1号灭火器").await;
    fill(c, "#model", "MFZ/ABC4").await;
    fill(c, "#serial_no", "MHJ-2025-001").await;
    // A date input takes the date as typed in the browser's locale; the value is set directly.
    c.execute(
        "document.getElementById('installed_on').value = '2025-09-01'",
        vec![],
    )
    .await
    .unwrap();
    fill(c, "#interval_months", "1").await;
    screenshot(c, "equipment-01-register-form").await;
    click(c, "#equipment-form button").await;
    expect_text(c, "#done", "设备已登记").await;
    // Due 1 October 2025 (National Day): the task falls on the first working day after it.
    expect_text(c, "#due", "2025-10-09（应检 2025-10-01，遇非工作日顺延）").await;
    expect_text(c, "#last", "尚未检查").await;

    // 异常 without a note is refused, and the form keeps what was entered.
    c.execute(
        "document.getElementById('inspected_on').value = '2025-10-09'",
        vec![],
    )
    .await
    .unwrap();
    c.find(Locator::Css("#result"))
        .await
        .unwrap()
        .select_by_value("abnormal")
        .await
        .unwrap();
    click(c, "#inspect-form button").await;
    expect_text(c, "#error", "检查结果为异常时").await;
    let kept = c
        .find(Locator::Css("#inspected_on"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(
        kept.as_deref(),
        Some("2025-10-09"),
        "the form keeps its date"
    );
    fill(c, "#note", "压力表指针偏低，已联系更换").await;
    click(c, "#inspect-form button").await;
    expect_text(c, "#done", "检查已登记").await;
    expect_text(c, "#inspections", "压力表指针偏低").await;
    expect_text(c, "#last", "2025-10-09").await;
    // 9 November 2025 is a Sunday.
    expect_text(c, "#due", "2025-11-10").await;
    screenshot(c, "equipment-02-inspected").await;

    c.goto(&format!("{base}/equipment")).await.unwrap();
    expect_text(c, "#register", "1号灭火器").await;
    expect_text(c, "#checks", "需 2 具，在用 1 具").await;
    screenshot(c, "equipment-03-register").await;
    click(c, "#capacity-link").await;
    expect_text(c, "#capacity", "K1 一号库房").await;
    expect_text(c, "#capacity", "未预测").await;
    screenshot(c, "equipment-04-capacity").await;
    logout(c).await;

    staff_login(c, base, "handler").await;
    let nav = c
        .find(Locator::Css("nav.side"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!nav.contains("设备与容量"), "{nav}");
    c.goto(&format!("{base}/equipment")).await.unwrap();
    expect_text(c, "main", "您的角色无权使用此功能").await;
}
