//! The first walk through every page family, as each role uses it.

use super::harness::*;
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_sign_in_and_a_wrong_check_digit_is_shown_beside_the_field_and_not_saved() {
    let server = TestServer::spawn(TestApp::start(TestDb::sqlite().await).await).await;
    let b = browser(1280, 800).await;
    let c = &b.client;
    let base = &server.base_url;
    c.goto(&format!("{base}/")).await.unwrap();
    screenshot(c, "01-login").await;
    fill(c, "#username", "admin").await;
    fill(c, "#password", "wrong-password-1").await;
    c.find(Locator::Css("#login-form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    expect_text(c, "#login-error", "密码").await;
    assert_eq!(
        c.find(Locator::Css("#username"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("admin"),
        "the form keeps its input"
    );
    staff_login(c, base, "admin").await;
    screenshot(c, "02-workbench").await;
    let nav = expect_text(c, "nav.side", "工作台").await;
    assert!(
        nav.contains("参保人") && nav.contains("登记参保人"),
        "{nav}"
    );

    let good = person_input(5, "赵六");
    let mut wrong = good.id_number.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == '0' { '1' } else { '0' });
    c.goto(&format!("{base}/persons/new")).await.unwrap();
    fill(c, "#id_number", &wrong).await;
    fill(c, "#name", "赵六").await;
    fill(c, "#division", &good.division_code).await;
    c.find(Locator::Css("#person-form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let error = expect_text(c, "#error.field-error", "校验位").await;
    assert!(error.contains("校验位"), "{error}");
    assert_eq!(
        c.find(Locator::Css("#id_number"))
            .await
            .unwrap()
            .attr("aria-invalid")
            .await
            .unwrap()
            .as_deref(),
        Some("true"),
        "the error is beside the identity number"
    );
    assert_eq!(
        c.find(Locator::Css("#name"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("赵六"),
        "the form keeps its input"
    );
    screenshot(c, "03-person-new-error").await;
    let found = server
        .test_app
        .app
        .search_persons(
            &server.test_app.admin,
            &dangan_app::access::persons::PersonQuery {
                name: Some("赵六".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(found.total, 0, "nothing was saved");

    fill(c, "#id_number", &good.id_number).await;
    c.find(Locator::Css("#person-form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // A new person's archive opens after a query registration.
    expect_text(c, "main h1", "查询登记").await;
    let found = server
        .test_app
        .app
        .search_persons(
            &server.test_app.admin,
            &dangan_app::access::persons::PersonQuery {
                name: Some("赵六".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(found.total, 1);
    let url = c.current_url().await.unwrap();
    assert!(
        !url.as_str().contains(&good.id_number),
        "no identity number in the URL"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archivist_finds_a_person_registers_the_query_sees_the_tree_and_views_a_scan() {
    let t = TestApp::start(TestDb::sqlite().await).await;
    let archivist = t.actor("archivist1", Role::Archivist).await;
    let p = t
        .app
        .create_person(&t.admin, &person_input(9, "孙七"))
        .await
        .unwrap();
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
    let ev = t.app.record_event(&t.admin, &input).await.unwrap().event;
    assert!(
        !ev.completeness.complete,
        "the identity card copy is missing"
    );
    // A real 1×1 PNG (what a browser can decode), named by S6.1 with the full number.
    let png = hex::decode(TINY_PNG).unwrap();
    let s61 = format!("2024-参保登记-{}-参保登记表.png", p.id_number);
    let masked_name = format!("2024-参保登记-{}-参保登记表.png", p.id_number.masked());
    let f = t
        .app
        .ingest_file(&t.admin, ev.materials[0].id, Some(&s61), &png[..])
        .await
        .unwrap();
    let server = TestServer::spawn(t).await;
    let b = browser(1280, 800).await;
    let c = &b.client;
    let base = &server.base_url;
    let _ = archivist;
    staff_login(c, base, "archivist1").await;
    c.goto(&format!("{base}/persons")).await.unwrap();
    fill(c, "#id_number", p.id_number.as_str()).await;
    c.find(Locator::Css("#search-form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    expect_text(c, "#result-count", "共 1 人").await;
    let row = expect_text(c, "#results tbody tr", "孙七").await;
    assert!(row.contains("孙七"));
    assert!(
        row.contains(&p.id_number.masked()),
        "masked in the list: {row}"
    );
    assert!(!row.contains(p.id_number.as_str()));
    assert!(
        !c.current_url()
            .await
            .unwrap()
            .as_str()
            .contains(p.id_number.as_str())
    );
    screenshot(c, "04-persons").await;
    c.find(Locator::Css("#results tbody a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    expect_text(c, "main h1", "查询登记").await;
    fill(c, "#enquirer_name", "孙七").await;
    fill(c, "#enquirer_id_number", p.id_number.as_str()).await;
    fill(c, "#question", "参保登记材料").await;
    fill(c, "#purpose", "本人办理业务").await;
    c.find(Locator::Css("#query-form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    expect_text(c, "main h1", "孙七的档案").await;
    let tree = expect_text(c, "#archive", "2024 年").await;
    assert!(
        tree.contains("2024 年") && tree.contains("参保登记"),
        "{tree}"
    );
    assert!(
        tree.contains("缺 2 件") && tree.contains("应归未归"),
        "completeness shown: {tree}"
    );
    assert!(
        tree.contains(&masked_name) && !tree.contains(p.id_number.as_str()),
        "the scan's name is masked in the tree: {tree}"
    );
    screenshot(c, "05-archive-tree").await;
    c.find(Locator::Css("a.file-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let img = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("img#viewer"))
        .await
        .unwrap();
    let mut width = None;
    for _ in 0..50 {
        width = c
            .execute(
                "const i = document.getElementById('viewer'); return i.complete ? i.naturalWidth : -1;",
                vec![],
            )
            .await
            .unwrap()
            .as_i64();
        if width.is_some_and(|w| w >= 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(width, Some(1), "the scan is decrypted and shown");
    let heading = expect_text(c, "main h1", "参保登记表").await;
    assert_eq!(
        heading, masked_name,
        "the viewer's heading masks the number"
    );
    assert_eq!(
        c.title().await.unwrap().split(" · ").next(),
        Some(masked_name.as_str())
    );
    c.find(Locator::Css("[data-zoom=in]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(
        img.attr("style")
            .await
            .unwrap()
            .unwrap_or_default()
            .contains("scale(1.25)")
    );
    screenshot(c, "06-scan-viewer").await;
    let _ = f;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_insured_person_signs_in_and_sees_only_their_own_archive() {
    let t = TestApp::start(TestDb::sqlite().await).await;
    let me = t
        .app
        .create_person(&t.admin, &person_input(21, "周八"))
        .await
        .unwrap();
    let other = t
        .app
        .create_person(&t.admin, &person_input(22, "吴九"))
        .await
        .unwrap();
    for p in [&me, &other] {
        let input = EventInput {
            person_id: Some(p.id.0),
            business_type: "enrolment".into(),
            business_date: "2024-05-06".into(),
            materials: vec![MaterialInput {
                material_code: "enrolment_form".into(),
                pages: 1,
                ..MaterialInput::default()
            }],
            ..EventInput::default()
        };
        t.app.record_event(&t.admin, &input).await.unwrap();
    }
    // What the business system synced: two years of contributions and a benefit payment.
    {
        use dangan_store::ledger::{self, BenefitPayment, Contribution};
        let mut tx = t.app.store().begin_write().await.unwrap();
        for (year, tier) in [(2023, 300), (2024, 500)] {
            ledger::upsert_contribution(
                &mut tx,
                &Contribution {
                    person_id: me.id,
                    source_system: "pension".into(),
                    source_id: format!("JF-{year}"),
                    year,
                    tier,
                    personal_fen: tier * 100,
                    subsidy_fen: 4_500,
                    collective_fen: 0,
                    paid_on: chrono::NaiveDate::from_ymd_opt(year, 6, 1).unwrap(),
                    channel: "银行代扣".into(),
                },
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        }
        ledger::upsert_benefit(
            &mut tx,
            &BenefitPayment {
                person_id: me.id,
                source_system: "pension".into(),
                source_id: "DY-2025-01".into(),
                month: "2025-01".into(),
                amount_fen: 21_050,
                status: "paid".into(),
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let window = t.actor("window1", Role::Window).await;
    let card = dangan_app::administration::accounts::BasisInput {
        basis: "card".into(),
        id_number: Some(me.id_number.as_str().to_owned()),
    };
    let opened = t
        .app
        .open_insured_account(&window, me.id, &card)
        .await
        .unwrap();
    let server = TestServer::spawn(t).await;
    let b = browser(390, 844).await;
    let c = &b.client;
    let base = &server.base_url;
    c.goto(&format!("{base}/my")).await.unwrap();
    fill(c, "#id_number", me.id_number.as_str()).await;
    fill(c, "#password", &opened.initial_password).await;
    c.find(Locator::Css("#my-login button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // First sign-in: the generated password is changed first.
    expect_text(c, "main h1", "修改密码").await;
    fill(c, "#current_password", &opened.initial_password).await;
    fill(c, "#new_password", "my-own-pass-2026").await;
    c.find(Locator::Css("main form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // After the change the person is back on their own page, signed in (not on the staff
    // sign-in); signing out and in again takes the new password.
    expect_text(c, "main", "周八，您好").await;
    assert!(c.current_url().await.unwrap().path().ends_with("/my"));
    click(c, "#logout-form button").await;
    expect_text(c, "#my-login", "身份").await;
    fill(c, "#id_number", me.id_number.as_str()).await;
    fill(c, "#password", "my-own-pass-2026").await;
    c.find(Locator::Css("#my-login button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let page = expect_text(c, "main", "周八，您好").await;
    assert!(page.contains("参保登记"));
    let paid = expect_text(c, "#contributions", "2024").await;
    assert!(paid.contains("500.00") && paid.contains("45.00"), "{paid}");
    let benefits = expect_text(c, "#benefits", "2025-01").await;
    assert!(
        benefits.contains("210.50") && benefits.contains("已发放"),
        "{benefits}"
    );
    assert!(!page.contains("吴九"), "nothing of another person");
    assert!(no_horizontal_scroll(c).await, "no layout break at 390×844");
    screenshot(c, "07-my").await;
    // Staff pages are not for insured persons.
    c.goto(&format!("{base}/persons/{}", other.id))
        .await
        .unwrap();
    // The visitor is sent to their own page instead.
    let page = expect_text(c, "main", "周八").await;
    assert!(!page.contains("吴九"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kiosk_signs_out_when_idle_and_leaves_nothing_on_screen() {
    let settings = Settings {
        kiosk_idle_seconds: 2,
        ..Settings::default()
    };
    let t = TestApp::start_with(TestDb::sqlite().await, settings).await;
    let me = t
        .app
        .create_person(&t.admin, &person_input(31, "郑十"))
        .await
        .unwrap();
    let window = t.actor("window1", Role::Window).await;
    let card = dangan_app::administration::accounts::BasisInput {
        basis: "card".into(),
        id_number: Some(me.id_number.as_str().to_owned()),
    };
    let opened = t
        .app
        .open_insured_account(&window, me.id, &card)
        .await
        .unwrap();
    let login = t
        .app
        .login_insured(me.id_number.as_str(), &opened.initial_password, "test")
        .await
        .unwrap();
    t.app
        .change_password(
            &login.user,
            &login.token,
            &opened.initial_password,
            "kiosk-pass-2026",
        )
        .await
        .unwrap();
    let server = TestServer::spawn(t).await;
    let b = browser(1280, 800).await;
    let c = &b.client;
    let base = &server.base_url;
    c.goto(&format!("{base}/kiosk")).await.unwrap();
    // An ID-card reader types the number like a keyboard.
    fill(c, "#id_number", me.id_number.as_str()).await;
    fill(c, "#password", "kiosk-pass-2026").await;
    c.find(Locator::Css("#my-login button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    expect_text(c, "main h1", "郑十").await;
    screenshot(c, "08-kiosk").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Signed out after 2 idle seconds.
    expect_text(c, "main h1", "自助查询").await;
    let page = c.source().await.unwrap();
    assert!(
        !page.contains("郑十"),
        "nothing of the previous person stays"
    );
    // The session is over on the server too.
    c.goto(&format!("{base}/kiosk")).await.unwrap();
    expect_text(c, "main h1", "自助查询").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_posted_without_its_csrf_token_is_refused() {
    let server = TestServer::spawn(TestApp::start(TestDb::sqlite().await).await).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = http
        .post(format!("{}/login", server.base_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("username=admin&password={TEST_PASSWORD}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_owned();
    let res = http
        .post(format!("{}/persons/new", server.base_url))
        .header("cookie", &session)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("_csrf=forged&id_number=x&name=x&division=430321")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("表单已过期"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_business_is_entered_handed_over_received_scanned_organised_sealed_and_printed() {
    let t = TestApp::start_preserving(TestDb::sqlite().await).await;
    t.actor("handler1", Role::Handler).await;
    t.actor("archivist1", Role::Archivist).await;
    let p = t
        .app
        .create_person(&t.admin, &person_input(41, "冯十一"))
        .await
        .unwrap();
    let server = TestServer::spawn(t).await;
    let b = browser(1280, 800).await;
    let c = &b.client;
    let base = &server.base_url;

    // The handler enters an enrolment with one material of three.
    staff_login(c, base, "handler1").await;
    register_and_open(c, base, p.id.0, p.id_number.as_str()).await;
    click(c, "#new-event").await;
    expect_text(c, "main h1", "登记业务").await;
    // Choosing another business type reloads the form (a listener in app.js: the
    // Content-Security-Policy allows no inline handler), and back.
    for code in ["info_change", "enrolment"] {
        c.find(Locator::Css("#type"))
            .await
            .unwrap()
            .select_by_value(code)
            .await
            .unwrap();
        let mut url = String::new();
        for _ in 0..100 {
            url = c.current_url().await.unwrap().to_string();
            if url.ends_with(&format!("type={code}")) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(url.ends_with(&format!("type={code}")), "{url}");
    }
    expect_text(c, "main h1", "登记业务").await;
    c.execute(
        "document.getElementById('business_date').value = '2024-05-06';",
        vec![],
    )
    .await
    .unwrap();
    click(c, "#m_enrolment_form").await;
    screenshot(c, "09-event-new").await;
    click(c, "#event-form button[type=submit]").await;
    let said = expect_text(c, "#completeness", "缺少").await;
    assert!(said.contains("身份证复印件"), "{said}");
    expect_text(c, "#supplement", "补件").await;
    screenshot(c, "10-event-done").await;
    click(c, "#to-archive").await;
    expect_text(c, "#archive", "缺 2 件").await;
    click(c, "button[id^=handover-]").await;
    expect_text(c, "#handover-state", "待确认").await;
    let handover_url = c.current_url().await.unwrap().to_string();
    logout(c).await;

    // The archivist confirms it item by item and prints it.
    staff_login(c, base, "archivist1").await;
    c.goto(&handover_url).await.unwrap();
    click(c, "input[type=radio][value=ok]").await;
    screenshot(c, "11-handover").await;
    click(c, "#confirm").await;
    expect_text(c, "#handover-state", "已确认").await;
    let print = c
        .find(Locator::Css("#print-handover"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    c.goto(&format!("{base}{print}")).await.unwrap();
    expect_text(c, "body", "交接").await;

    // Scans a page of the received material and views it.
    register_and_open(c, base, p.id.0, p.id_number.as_str()).await;
    let scan = tempfile::tempdir().unwrap().keep().join("参保登记表.png");
    std::fs::write(&scan, dangan_testkit::png_scan(20_000, 1)).unwrap();
    c.find(Locator::Css("input[data-upload]"))
        .await
        .unwrap()
        .send_keys(scan.to_str().unwrap())
        .await
        .unwrap();
    // PNG is not an archival format: the upload's answer says so at once, with the way on.
    let said = expect_text(c, "#upload-status", "四性检测未通过").await;
    assert!(said.contains("GD-3-1"), "{said}");
    click(c, "#upload-open").await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("img#viewer"))
        .await
        .unwrap();
    expect_text(c, "main h1", "参保登记表.png").await;
    // The viewer says it too, with the reason and a withdraw form.
    let failed = expect_text(c, "#checks-failed", "四性检测未通过").await;
    assert!(failed.contains("GD-3-1"), "{failed}");
    c.find(Locator::Css("#withdraw-form button")).await.unwrap();
    expect_text(c, "#checks", "GD-3-3").await;
    // Back in the archive tree, the scan is marked, beside its PDF/A-2B preservation copy.
    click(c, "#back-to-person").await;
    expect_text(c, "#archive", "四性检测未通过").await;
    expect_text(c, "#archive", "保存副本").await;

    // Organises the year's registration volumes, seals one, opens its print view.
    c.goto(&format!("{base}/volumes?year=2024&class=registration"))
        .await
        .unwrap();
    click(c, "#build-form button").await;
    expect_text(c, "#volumes", "草稿").await;
    // The PNG scan failed its check: sealing lists it and asks to confirm.
    click(c, ".seal").await;
    expect_text(c, "#failed-scans", "参保登记表.png").await;
    click(c, "#confirm-seal").await;
    expect_text(c, "#volumes", "已封卷").await;
    screenshot(c, "12-volumes").await;
    let print = c
        .find(Locator::Css("a.print-link"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    c.goto(&format!("{base}{print}")).await.unwrap();
    expect_text(c, "body", "卷内").await;
    screenshot(c, "13-volume-print").await;
    c.goto(&format!("{base}/volumes?year=2024&class=registration"))
        .await
        .unwrap();
    logout(c).await;

    // The auditor checks the operation log's chain.
    staff_login(c, base, "auditor").await;
    let nav = expect_text(c, "nav.side", "操作日志").await;
    assert!(
        !nav.contains("参保人"),
        "an auditor does not search persons: {nav}"
    );
    c.goto(&format!("{base}/audit")).await.unwrap();
    click(c, "#verify-form button").await;
    expect_text(c, "#verify-result", "日志链完好").await;
    let log = expect_text(c, "#log", "移交纸质材料").await;
    assert!(
        log.contains("接收电子文件") && log.contains("封卷") && log.contains("交接单"),
        "{log}"
    );
    assert!(
        !log.contains(p.id_number.as_str()),
        "no identity number in the log"
    );
    screenshot(c, "14-audit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_supplements_corrections_damage_and_the_catalogue_work_from_their_pages() {
    let t = TestApp::start(TestDb::sqlite().await).await;
    let p = t
        .app
        .create_person(&t.admin, &person_input(51, "陈十二"))
        .await
        .unwrap();
    let input = EventInput {
        person_id: Some(p.id.0),
        business_type: "enrolment".into(),
        business_date: "2024-05-06".into(),
        materials: vec![MaterialInput {
            material_code: "enrolment_form".into(),
            pages: 2,
            carrier: Some("electronic".into()),
            ..MaterialInput::default()
        }],
        ..EventInput::default()
    };
    let ev = t.app.record_event(&t.admin, &input).await.unwrap().event;
    let server = TestServer::spawn(t).await;
    let b = browser(1280, 800).await;
    let c = &b.client;
    let base = &server.base_url;

    // The security officer opens an account; the password is shown once.
    staff_login(c, base, "secadmin").await;
    let nav = expect_text(c, "nav.side", "用户与角色").await;
    assert!(!nav.contains("参保人"), "{nav}");
    c.goto(&format!("{base}/users")).await.unwrap();
    fill(c, "#username", "clerk7").await;
    fill(c, "#display_name", "李窗口").await;
    click(c, "#user-form button").await;
    let pw = expect_text(c, "#initial-password", "").await;
    assert!(pw.len() >= 10, "{pw}");
    expect_text(c, "#users", "clerk7").await;
    c.goto(&format!("{base}/users")).await.unwrap();
    let again = c.source().await.unwrap();
    assert!(!again.contains(&pw), "the password is not shown again");
    screenshot(c, "15-users").await;
    // An auditor's account takes two officers: the request waits for another one.
    fill(c, "#rq_username", "audit9").await;
    fill(c, "#rq_display_name", "郑审计").await;
    c.execute(
        "document.getElementById('rq_role').value = 'auditor';",
        vec![],
    )
    .await
    .unwrap();
    fill(c, "#rq_reason", "审计岗位增补").await;
    click(c, "#request-create-form button").await;
    expect_text(c, "#notice", "待另一名三员批准").await;
    let row = expect_text(c, "#requests", "audit9").await;
    assert!(
        row.contains("本人提出"),
        "no approve button for the requester: {row}"
    );
    assert!(
        c.find(Locator::Css("#requests .approve-form"))
            .await
            .is_err()
    );
    expect_text(c, "#users", "clerk7").await;
    assert!(
        !c.source().await.unwrap().contains(">audit9<"),
        "not created yet"
    );
    logout(c).await;

    // The administrator approves and is the one who sees the one-time password.
    staff_login(c, base, "admin").await;
    let nav = expect_text(c, "nav.side", "用户与角色").await;
    assert!(nav.contains("参保人"), "{nav}");
    c.goto(&format!("{base}/users")).await.unwrap();
    expect_text(c, "#requests", "新建安全审计员账号 audit9").await;
    assert!(
        c.find(Locator::Css("#users")).await.is_err(),
        "the administrator manages no accounts"
    );
    click(c, "#requests .approve-form button").await;
    expect_text(c, "#notice", "已批准").await;
    let officer_pw = expect_text(c, "#initial-password", "").await;
    assert!(officer_pw.len() >= 10, "{officer_pw}");
    expect_text(c, "#no-requests", "没有待批准的申请").await;
    screenshot(c, "15b-officer-approval").await;
    logout(c).await;

    // The administrator works the supplement, corrects the name, records damage.
    staff_login(c, base, "admin").await;
    c.goto(&format!("{base}/supplements")).await.unwrap();
    let first = expect_text(c, "section.supplement", "身份证复印件").await;
    assert!(first.contains("期限"), "{first}");
    screenshot(c, "16-supplements").await;
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
    form.find(Locator::Css("input[name=note]"))
        .await
        .unwrap()
        .send_keys("电话告知补交")
        .await
        .unwrap();
    form.find(Locator::Css("button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    expect_text(c, "section.supplement ul", "电话告知补交").await;

    register_and_open(c, base, p.id.0, p.id_number.as_str()).await;
    click(c, "#corrections").await;
    expect_text(c, "main h1", "更正档案信息").await;
    fill(c, "#new_value", "陈拾贰").await;
    fill(c, "#basis", "户口本").await;
    click(c, "#correction-form button").await;
    expect_text(c, "#error", "证明材料").await;
    c.execute(
        "document.getElementById('proof_material_id').selectedIndex = 1;",
        vec![],
    )
    .await
    .unwrap();
    fill(c, "#new_value", "陈拾贰").await;
    fill(c, "#basis", "户口本").await;
    click(c, "#correction-form button").await;
    expect_text(c, "#corrections", "陈拾贰").await;
    screenshot(c, "17-corrections").await;

    // No webhook is configured here: the correction waits to go back to the business system.
    click(c, "nav.side a[href='/outbox']").await;
    let row = expect_text(c, "#outbox", "陈拾贰").await;
    assert!(row.contains("姓名") && row.contains("尚未尝试"), "{row}");
    assert!(
        !row.contains(p.id_number.as_str()),
        "no identity number in the list: {row}"
    );
    click(c, "#outbox button").await;
    expect_text(c, "#done", "重新回传").await;
    fill(c, "#outbox_id", "999999").await;
    click(c, "#resend-form button").await;
    expect_text(c, "#error", "未找到该回传记录").await;
    screenshot(c, "17b-outbox").await;

    c.goto(&format!(
        "{base}/materials/{}?person={}",
        ev.materials[0].id, p.id
    ))
    .await
    .unwrap();
    fill(c, "#cause", "受潮").await;
    click(c, "#damage-form button").await;
    expect_text(c, "#damage", "受潮").await;
    screenshot(c, "18-damage").await;

    c.goto(&format!("{base}/catalogue")).await.unwrap();
    let cat = expect_text(c, "#catalogue", "参保登记").await;
    assert!(cat.contains("永久") || cat.contains("年"), "{cat}");
    expect_text(c, "#calendar", "2026").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_clerk_confirms_a_person_at_the_kiosk_and_staff_pages_fit_a_phone() {
    let t = TestApp::start(TestDb::sqlite().await).await;
    t.actor("window1", Role::Window).await;
    t.actor("auditor2", Role::Auditor).await;
    let p = t
        .app
        .create_person(&t.admin, &person_input(61, "褚十三"))
        .await
        .unwrap();
    let server = TestServer::spawn(t).await;
    let b = browser(390, 844).await;
    let c = &b.client;
    let base = &server.base_url;
    c.goto(&format!("{base}/kiosk")).await.unwrap();
    c.execute("document.getElementById('assisted').open = true;", vec![])
        .await
        .unwrap();
    fill(c, "#a_id_number", p.id_number.as_str()).await;
    click(c, "#basis-card").await;
    fill(c, "#staff_username", "auditor2").await;
    fill(c, "#staff_password", TEST_PASSWORD).await;
    click(c, "#assisted-form button").await;
    expect_text(c, "#my-error", "无权").await;
    // On a query this clerk never registered: refused.
    c.execute("document.getElementById('assisted').open = true;", vec![])
        .await
        .unwrap();
    fill(c, "#a_id_number", p.id_number.as_str()).await;
    click(c, "#basis-query").await;
    fill(c, "#staff_username", "window1").await;
    fill(c, "#staff_password", TEST_PASSWORD).await;
    click(c, "#assisted-form button").await;
    expect_text(c, "#my-error", "查询登记").await;
    // The person is here with the card the number was read from.
    c.execute("document.getElementById('assisted').open = true;", vec![])
        .await
        .unwrap();
    fill(c, "#a_id_number", p.id_number.as_str()).await;
    click(c, "#basis-card").await;
    fill(c, "#staff_username", "window1").await;
    fill(c, "#staff_password", TEST_PASSWORD).await;
    click(c, "#assisted-form button").await;
    expect_text(c, "main h1", "褚十三").await;
    let log = server
        .test_app
        .app
        .search_log(
            &server.test_app.auditor,
            &dangan_app::security::audit::LogQuery {
                action: Some("auth.insured_assisted".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let ok: Vec<_> = log.iter().filter(|e| e.outcome == "ok").collect();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].actor_name, "window1");
    assert!(ok[0].detail.contains("basis=card"), "{}", ok[0].detail);
    let register = server
        .test_app
        .app
        .query_register(
            &server.test_app.auditor,
            &dangan_app::access::register::RegisterQuery::default(),
        )
        .await
        .unwrap();
    assert_eq!(register.total, 1, "the card use is in the query register");
    assert_eq!(register.items[0].enquirer_name, "褚十三");
    click(c, "#logout-form button").await;
    expect_text(c, "main h1", "自助查询").await;

    // Staff pages at 390×844: no sideways scrolling of the page.
    staff_login(c, base, "admin").await;
    assert!(no_horizontal_scroll(c).await);
    c.goto(&format!("{base}/persons?name=%E8%A4%9A"))
        .await
        .unwrap();
    expect_text(c, "#results", "褚十三").await;
    assert!(
        no_horizontal_scroll(c).await,
        "the search results fit a phone"
    );
    screenshot(c, "19-persons-phone").await;
    c.goto(&format!("{base}/catalogue")).await.unwrap();
    expect_text(c, "#catalogue", "参保登记").await;
    assert!(
        no_horizontal_scroll(c).await,
        "wide tables scroll inside the page"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_description_renders_in_swagger_ui_under_its_content_security_policy() {
    let server = TestServer::spawn(TestApp::start(TestDb::sqlite().await).await).await;
    let b = browser(1280, 800).await;
    let c = &b.client;
    c.goto(&format!("{}/api/docs", server.base_url))
        .await
        .unwrap();
    // Rendered by Swagger UI's own scripts, which the policy allows, from our description.
    expect_text(c, ".swagger-ui .info .title", "Dangan 档案 API").await;
    expect_text(c, ".swagger-ui", "/auth/login").await;
    screenshot(c, "20-api-docs").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_administrator_runs_a_scrub_from_the_jobs_page_and_sees_which_node_ran_it() {
    let t = TestApp::start(TestDb::sqlite().await).await;
    dangan_app::jobs::start(
        std::sync::Arc::clone(&t.app),
        dangan_app::jobs::JobContext {
            node: "节点甲".into(),
            workers: 1,
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(200),
            schedules: Vec::new(),
            targets: Vec::new(),
            keep_fulls: 1,
            scrub_bytes_per_second: 0,
            keep_finished: chrono::Duration::days(30),
        },
    );
    let server = TestServer::spawn(t).await;
    let b = browser(1280, 800).await;
    let c = &b.client;
    let base = &server.base_url;

    staff_login(c, base, "admin").await;
    expect_text(c, "nav.side", "后台作业").await;
    click(c, "nav.side a[href='/jobs']").await;
    expect_text(c, "main h1", "后台作业").await;
    c.execute("document.getElementById('kind').value = 'scrub';", vec![])
        .await
        .unwrap();
    click(c, "#run-form button").await;
    let done = expect_text(c, "#done", "已加入队列").await;
    assert!(done.contains("巡检"), "{done}");
    // The worker runs it; the list shows it finished, in Chinese and Beijing time. Other jobs
    // (the startup anchor, person changes) may finish first: only the scrub's own row counts.
    let mut row = String::new();
    for _ in 0..100 {
        c.goto(&format!("{base}/jobs")).await.unwrap();
        let list = expect_text(c, "#jobs", "巡检").await;
        row = list
            .lines()
            .find(|l| l.contains("巡检"))
            .unwrap_or_default()
            .to_owned();
        if row.contains("已完成") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(row.contains("已完成") && row.contains("节点甲"), "{row}");
    assert!(row.contains("全部通过"), "{row}");
    screenshot(c, "30-jobs").await;
    click(c, "#jobs a").await;
    let attempts = expect_text(c, "#attempts", "节点甲").await;
    assert!(attempts.contains("完成"), "{attempts}");
    logout(c).await;

    // The auditor reads the page but has no 立即运行.
    staff_login(c, base, "auditor").await;
    c.goto(&format!("{base}/jobs")).await.unwrap();
    expect_text(c, "#jobs", "巡检").await;
    assert!(c.find(Locator::Css("#run-form")).await.is_err());
}
