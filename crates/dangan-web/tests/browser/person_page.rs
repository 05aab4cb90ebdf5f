//! A person's archive page (issue 18 leftovers): the 移交 button gives way to the open handover
//! once the paper is on one, the query registration explains an internal query, and the
//! README's demo path (search 张, open the first result) reaches a scan.

use crate::harness::*;

/// A person with an enrolment of two paper materials, in a test app with `handler1` (业务经办).
async fn with_paper(n: u32, name: &str) -> (TestServer, dangan_app::access::persons::PersonView) {
    let t = TestApp::start(TestDb::sqlite().await).await;
    t.actor("handler1", Role::Handler).await;
    let person = t
        .app
        .create_person(&t.admin, &person_input(n, name))
        .await
        .unwrap();
    paper_enrolment(&t, person.id.0, &["enrolment_form", "id_card_copy"]).await;
    (TestServer::spawn(t).await, person)
}

async fn count(c: &Client, css: &str) -> usize {
    c.find_all(Locator::Css(css)).await.unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_the_paper_is_handed_over_the_person_page_links_the_open_handover_instead_of_offering_it_again()
 {
    let (server, person) = with_paper(71, "孙十一").await;
    let b = browser(1280, 900).await;
    let c = &b.client;
    let base = &server.base_url;
    staff_login(c, base, "handler1").await;
    register_and_open(c, base, person.id.0, person.id_number.as_str()).await;
    expect_text(c, "#archive", "纸质：待移交").await;
    assert_eq!(count(c, "form[action$='/handover'] button").await, 1);

    click(c, "form[action$='/handover'] button").await;
    let state = expect_text(c, "#handover-state", "待确认").await;
    let handover_url = c.current_url().await.unwrap();
    assert!(
        handover_url.path().starts_with("/handovers/"),
        "{handover_url} ({state})"
    );

    c.goto(&format!("{base}/persons/{}", person.id.0))
        .await
        .unwrap();
    let tree = expect_text(c, "#archive", "纸质：移交中").await;
    assert!(!tree.contains("待移交"), "{tree}");
    assert_eq!(
        count(c, "form[action$='/handover'] button").await,
        0,
        "no second handover of the same paper"
    );
    let note = expect_text(c, ".open-handover", "待档案岗确认接收").await;
    assert!(note.contains("交接单"), "{note}");
    let href = c
        .find(Locator::Css(".open-handover a"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(href, handover_url.path());
    screenshot(c, "41-person-handed-over").await;
    click(c, ".open-handover a").await;
    expect_text(c, "#handover-state", "待确认").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_query_registration_explains_what_a_colleague_enters_for_an_internal_query() {
    let (server, person) = with_paper(72, "周十二").await;
    let b = browser(1280, 900).await;
    let c = &b.client;
    let base = &server.base_url;
    staff_login(c, base, "handler1").await;
    c.goto(&format!("{base}/persons/{}", person.id.0))
        .await
        .unwrap();
    expect_text(c, "main h1", "查询登记").await;
    let help = expect_text(c, "#internal-query-help", "内部查询").await;
    for words in [
        "经办人本人的姓名和身份证号码",
        "科室",
        "依据",
        "业务经办核查",
    ] {
        assert!(help.contains(words), "{words} in {help}");
    }
    let placeholder = c
        .find(Locator::Css("#purpose"))
        .await
        .unwrap()
        .attr("placeholder")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(placeholder.contains("业务经办核查"), "{placeholder}");
    screenshot(c, "42-query-registration-help").await;
}
