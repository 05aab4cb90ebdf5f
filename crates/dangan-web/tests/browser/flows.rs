//! The handover and task flows (issue 18: defects 1, 2, 7 and part of 11): a handover with
//! differences is confirmed with its notes, pending handovers are found from the navigation
//! and the 工作台, work lists name their person, and a business with nothing ticked is refused.

use crate::harness::*;
use dangan_app::intake::handovers::{HandoverInput, HandoverItemInput};

/// A person with an enrolment of three paper materials (the 户口本复印件 lacking, so a
/// supplement request is open), handed over by `handler1`; the test app has `handler1`
/// (业务经办) and `archivist1` (档案管理员).
struct Handed {
    server: TestServer,
    person: dangan_app::access::persons::PersonView,
    handover: i64,
}

async fn handed_over(n: u32, name: &str) -> Handed {
    let t = TestApp::start(TestDb::sqlite().await).await;
    let handler = t.actor("handler1", Role::Handler).await;
    t.actor("archivist1", Role::Archivist).await;
    let person = t
        .app
        .create_person(&t.admin, &person_input(n, name))
        .await
        .unwrap();
    let ev = paper_enrolment(
        &t,
        person.id.0,
        &["enrolment_form", "id_card_copy", "subsistence_certificate"],
    )
    .await;
    let items = ev
        .materials
        .iter()
        .map(|m| HandoverItemInput {
            material_id: m.id.0,
            quantity: None,
        })
        .collect();
    let h = t
        .app
        .create_handover(&handler, &HandoverInput { items, note: None })
        .await
        .unwrap();
    Handed {
        server: TestServer::spawn(t).await,
        person,
        handover: h.id.0,
    }
}

async fn checked(c: &Client, css: &str) -> bool {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .prop("checked")
        .await
        .unwrap()
        .as_deref()
        == Some("true")
}

async fn value(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// The line ids of the handover page, in order.
async fn lines(c: &Client) -> Vec<String> {
    let mut out = Vec::new();
    for row in c
        .find_all(Locator::Css("#handover-items tbody tr"))
        .await
        .unwrap()
    {
        out.push(
            row.attr("id")
                .await
                .unwrap()
                .unwrap()
                .trim_start_matches("line-")
                .to_owned(),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archivist_confirms_a_handover_with_a_missing_and_a_damaged_line_and_a_forgotten_note_keeps_every_choice()
 {
    let h = handed_over(61, "钱十三").await;
    let b = browser(1280, 900).await;
    let c = &b.client;
    let base = &h.server.base_url;
    staff_login(c, base, "archivist1").await;
    c.goto(&format!("{base}/handovers/{}", h.handover))
        .await
        .unwrap();
    expect_text(c, "#handover-state", "待确认").await;
    let l = lines(c).await;
    assert_eq!(l.len(), 3);
    click(c, &format!("input[name=r_{}][value=ok]", l[0])).await;
    click(c, &format!("input[name=r_{}][value=missing]", l[1])).await;
    fill(c, &format!("#n_{}", l[1]), "身份证复印件未随件移交").await;
    click(c, &format!("input[name=r_{}][value=damaged]", l[2])).await;
    click(c, "#confirm").await;

    // The damaged line has no note: said in Chinese, and nothing entered is lost.
    let said = expect_text(c, "#error", "差异说明").await;
    assert!(said.contains("低保证明"), "{said}");
    assert!(checked(c, &format!("input[name=r_{}][value=ok]", l[0])).await);
    assert!(checked(c, &format!("input[name=r_{}][value=missing]", l[1])).await);
    assert!(checked(c, &format!("input[name=r_{}][value=damaged]", l[2])).await);
    assert_eq!(
        value(c, &format!("#n_{}", l[1])).await,
        "身份证复印件未随件移交"
    );
    expect_text(c, "#handover-state", "待确认").await;
    screenshot(c, "31-handover-note-missing").await;

    fill(c, &format!("#n_{}", l[2]), "右下角破损").await;
    click(c, "#confirm").await;
    expect_text(c, "#handover-state", "已确认").await;
    let table = expect_text(c, "#handover-items", "右下角破损").await;
    assert!(
        table.contains("缺失")
            && table.contains("破损")
            && table.contains("身份证复印件未随件移交"),
        "{table}"
    );
    assert!(
        c.find(Locator::Css("#confirm")).await.is_err(),
        "a confirmed list offers no confirmation"
    );
    screenshot(c, "32-handover-confirmed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_archivist_finds_a_pending_handover_from_the_navigation_and_the_workbench_and_its_person_is_masked()
 {
    let h = handed_over(62, "郑十四").await;
    let b = browser(1280, 900).await;
    let c = &b.client;
    let base = &h.server.base_url;
    let full = h.person.id_number.as_str().to_owned();
    let masked = h.person.id_number.masked();

    // The handler who handed it over cannot confirm it: the page says who must.
    staff_login(c, base, "handler1").await;
    c.goto(&format!("{base}/handovers/{}", h.handover))
        .await
        .unwrap();
    expect_text(c, "#confirm-hint", "档案岗").await;
    assert!(
        c.find(Locator::Css("#confirm")).await.is_err(),
        "no button that always fails"
    );
    assert!(c.find(Locator::Css("input[type=radio]")).await.is_err());
    logout(c).await;

    // The archivist sees the receipt task on the 工作台, naming the person, as a link.
    staff_login(c, base, "archivist1").await;
    let row = expect_text(c, "main", "接收交接单").await;
    assert!(row.contains("郑十四") && row.contains(&masked), "{row}");
    assert!(!row.contains(&full), "masked on the 工作台: {row}");
    screenshot(c, "33-workbench-receipt").await;
    let hrefs = all_hrefs(c, "a.task-link").await;
    assert!(
        hrefs
            .iter()
            .any(|u| u.ends_with(&format!("/handovers/{}", h.handover))),
        "{hrefs:?}"
    );
    assert!(
        hrefs.iter().any(|u| u.contains("/supplements#supplement-")),
        "supplement tasks lead to 补件: {hrefs:?}"
    );
    assert!(
        hrefs
            .iter()
            .any(|u| u.ends_with(&format!("/persons/{}", h.person.id.0))),
        "a business leads to its person: {hrefs:?}"
    );

    // …and the 交接 list from the navigation, pending first, filtered by state.
    click(c, "nav.side a[href='/handovers']").await;
    let list = expect_text(c, "#handovers", "待确认").await;
    assert!(
        list.contains("郑十四") && list.contains(&masked) && !list.contains(&full),
        "{list}"
    );
    screenshot(c, "34-handovers").await;
    c.find(Locator::Css("#state"))
        .await
        .unwrap()
        .select_by_value("confirmed")
        .await
        .unwrap();
    expect_text(c, "#none", "没有交接单").await;
    c.find(Locator::Css("#state"))
        .await
        .unwrap()
        .select_by_value("open")
        .await
        .unwrap();
    click(c, "#handovers a").await;
    expect_text(c, "#handover-state", "待确认").await;
    c.find(Locator::Css("#confirm"))
        .await
        .expect("the archivist may confirm");
}

async fn all_hrefs(c: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for a in c.find_all(Locator::Css(css)).await.unwrap() {
        out.push(a.prop("href").await.unwrap().unwrap_or_default());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_supplement_page_names_the_person_with_a_masked_number_and_links_to_the_archive() {
    let h = handed_over(63, "王十五").await;
    let b = browser(1280, 900).await;
    let c = &b.client;
    let base = &h.server.base_url;
    let full = h.person.id_number.as_str().to_owned();
    staff_login(c, base, "handler1").await;
    c.goto(&format!("{base}/supplements")).await.unwrap();
    // The lacking 户口本复印件 names its person and business.
    let card = expect_text(c, "section.supplement .subject", "王十五").await;
    assert!(
        card.contains("参保登记") && card.contains("2024-05-06"),
        "the business by name and date: {card}"
    );
    assert!(
        !card.contains(&full) && card.contains("*"),
        "masked: {card}"
    );
    let person_link = all_hrefs(c, "section.supplement a.person-link").await;
    assert!(
        person_link[0].ends_with(&format!("/persons/{}", h.person.id.0)),
        "{person_link:?}"
    );
    screenshot(c, "35-supplements-person").await;

    // A refused contact form comes back open with what was typed.
    c.execute(
        "document.querySelectorAll('section.supplement details').forEach(d => d.open = true);",
        vec![],
    )
    .await
    .unwrap();
    let form = c
        .find(Locator::Css("section.supplement form"))
        .await
        .unwrap();
    form.find(Locator::Css("input[name=who]"))
        .await
        .unwrap()
        .send_keys("本人")
        .await
        .unwrap();
    c.execute("document.querySelector('section.supplement input[name=note]').removeAttribute('required');", vec![]).await.unwrap();
    form.find(Locator::Css("button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    expect_text(c, "#error", "联系情况").await;
    assert_eq!(value(c, "section.supplement input[name=who]").await, "本人");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_a_business_with_nothing_ticked_says_so_keeps_the_input_and_saves_nothing() {
    let t = TestApp::start(TestDb::sqlite().await).await;
    t.actor("handler1", Role::Handler).await;
    let p = t
        .app
        .create_person(&t.admin, &person_input(64, "冯十六"))
        .await
        .unwrap();
    let server = TestServer::spawn(t).await;
    let b = browser(1280, 900).await;
    let c = &b.client;
    let base = &server.base_url;
    staff_login(c, base, "handler1").await;
    register_and_open(c, base, p.id.0, p.id_number.as_str()).await;
    click(c, "#new-event").await;
    expect_text(c, "main h1", "登记业务").await;
    c.execute(
        "document.getElementById('business_date').value = '2024-05-06';",
        vec![],
    )
    .await
    .unwrap();
    fill(c, "#p_enrolment_form", "3").await;
    click(c, "#event-form button[type=submit]").await;
    expect_text(c, "#error", "至少勾选一件").await;
    assert_eq!(
        value(c, "#business_date").await,
        "2024-05-06",
        "the date is kept"
    );
    assert_eq!(
        value(c, "#p_enrolment_form").await,
        "3",
        "the pages are kept"
    );
    screenshot(c, "36-event-nothing-ticked").await;

    // A ticked material with a wrong page count comes back ticked, with its carrier.
    click(c, "#m_enrolment_form").await;
    c.find(Locator::Css("#c_enrolment_form"))
        .await
        .unwrap()
        .select_by_value("both")
        .await
        .unwrap();
    fill(c, "#p_enrolment_form", "0").await;
    click(c, "#event-form button[type=submit]").await;
    expect_text(c, "#error", "页数").await;
    assert!(checked(c, "#m_enrolment_form").await, "the tick is kept");
    assert_eq!(value(c, "#c_enrolment_form").await, "both");

    // Nothing was saved: the archive has no business yet.
    c.goto(&format!("{base}/persons/{}", p.id.0)).await.unwrap();
    expect_text(c, "main", "尚无业务档案").await;
}
