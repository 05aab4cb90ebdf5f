//! HTTP tests: through the router in-process for the error shapes, and on a real port for a
//! whole round trip as a client would make it.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use dangan_testkit::{TEST_PASSWORD, TestApp, TestDb, TestServer, on_both_backends, person_input};

async fn call(app: &TestApp, req: Request<Body>) -> (StatusCode, Value) {
    let res = dangan_web::router(Arc::clone(&app.app))
        .oneshot(req)
        .await
        .unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn token(app: &TestApp) -> String {
    app.app
        .login("admin", TEST_PASSWORD, "test")
        .await
        .unwrap()
        .token
}

fn get(uri: &str, token: &str) -> Request<Body> {
    Request::get(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

fn post(uri: &str, token: &str, body: &str) -> Request<Body> {
    Request::post(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

#[tokio::test]
async fn a_request_without_a_token_gets_401_in_the_error_shape() {
    let app = TestApp::start(TestDb::sqlite().await).await;
    let (status, body) = call(
        &app,
        Request::get("/api/v1/catalogue")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthenticated");
    assert!(body["error"]["message"].as_str().unwrap().contains("登录"));
    let (status, _) = call(&app, get("/api/v1/catalogue", "not-a-token")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn malformed_json_and_missing_fields_are_told_apart_in_chinese() {
    let app = TestApp::start(TestDb::sqlite().await).await;
    let t = token(&app).await;
    let (status, body) = call(&app, post("/api/v1/persons", &t, "{\"id_number\": ")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "malformed_json");
    let (status, body) = call(&app, post("/api/v1/persons", &t, "{\"name\": \"张三\"}")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["code"], "invalid_json_fields");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("请求内容")
    );
    let req = Request::post("/api/v1/persons")
        .header("authorization", format!("Bearer {t}"))
        .body(Body::from("id_number=1"))
        .unwrap();
    assert_eq!(call(&app, req).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn an_oversized_body_is_refused_before_it_is_read() {
    let app = TestApp::start(TestDb::sqlite().await).await;
    let t = token(&app).await;
    let big = format!("{{\"name\": \"{}\"}}", "张".repeat(1_000_000));
    let (status, _) = call(&app, post("/api/v1/persons", &t, &big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn an_identity_number_in_a_url_is_refused() {
    let app = TestApp::start(TestDb::sqlite().await).await;
    let t = token(&app).await;
    let (status, body) = call(
        &app,
        get("/api/v1/persons?id_number=11010519491231002X", &t),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "id_number_in_url");
}

#[tokio::test]
async fn the_deadline_endpoint_skips_the_national_day_holiday() {
    let app = TestApp::start(TestDb::sqlite().await).await;
    let t = token(&app).await;
    let (status, body) = call(
        &app,
        get(
            "/api/v1/calendar/add-working-days?from=2025-09-30&days=1",
            &t,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"date": "2025-10-09"}));
    let (status, body) = call(
        &app,
        get(
            "/api/v1/calendar/add-working-days?from=2025-02-30&days=1",
            &t,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "from");
    let (_, body) = call(
        &app,
        get(
            "/api/v1/calendar/add-working-days?from=2026-12-31&days=3",
            &t,
        ),
    )
    .await;
    assert_eq!(body["error"]["code"], "calendar_year_not_loaded");
}

#[tokio::test]
async fn an_unknown_route_and_a_bad_id_get_the_error_shape() {
    let app = TestApp::start(TestDb::sqlite().await).await;
    let t = token(&app).await;
    let (status, body) = call(&app, get("/api/v1/nothing-here", &t)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, body) = call(&app, get("/api/v1/persons/abc", &t)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_id"))
    );
    let (status, body) = call(&app, get("/api/v1/persons/424242", &t)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("person_not_found"))
    );
}

on_both_backends! {
    async fn a_client_registers_a_person_records_business_and_reads_it_back_over_a_real_port(db: TestDb) {
        let server = TestServer::spawn(TestApp::start(db).await).await;
        let pw = TEST_PASSWORD.to_owned();
        let token = server.login("admin", &pw).await;
        let c = &server.client;
        let url = |p: &str| format!("{}{p}", server.base_url);
        let health: Value = c.get(url("/healthz")).send().await.unwrap().json().await.unwrap();
        assert_eq!(health["status"], "ok");

        let input = person_input(11, "张三");
        let res = c
            .post(url("/api/v1/persons"))
            .bearer_auth(&token)
            .json(&json!({"id_number": input.id_number.to_lowercase(), "name": "张三", "division_code": "430321", "tier": 300}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let person: Value = res.json().await.unwrap();
        assert_eq!(person["division_name"], "湖南省湘潭市湘潭县");

        let event = json!({
            "id_number": input.id_number,
            "business_type": "参保登记",
            "business_date": "2024-05-06",
            "source_system": "pension",
            "external_id": "CB-0001",
            "materials": [
                {"material_code": "enrolment_form", "pages": 2},
                {"material_code": "id_card_copy", "pages": 1},
                {"material_code": "household_register_copy", "pages": 3, "formation_date": "2024-05-01"}
            ]
        });
        let res = c.post(url("/api/v1/events")).bearer_auth(&token).json(&event).send().await.unwrap();
        assert_eq!(res.status(), 201);
        let recorded: Value = res.json().await.unwrap();
        assert_eq!(recorded["event"]["completeness"]["complete"], true);
        let res = c.post(url("/api/v1/events")).bearer_auth(&token).json(&event).send().await.unwrap();
        assert_eq!(res.status(), 200, "a replay returns the stored event");

        let found: Value = c
            .post(url("/api/v1/persons/search"))
            .bearer_auth(&token)
            .json(&json!({"id_number": input.id_number}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(found["total"], 1);
        let masked = found["items"][0]["id_number_masked"].as_str().unwrap();
        assert_eq!(masked.len(), 18);
        assert!(masked.contains("***********"), "{masked}");
        assert!(found["items"][0].get("id_number").is_none(), "lists never carry the whole number");
        let by_given_name: Value = c
            .get(url("/api/v1/persons?name=%E4%B8%89"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            (by_given_name["total"].as_i64(), by_given_name["items"][0]["name"].as_str()),
            (Some(1), Some("张三")),
            "三, the given name, finds 张三: a name is searched anywhere, not only from its start"
        );

        let res = c
            .get(url(&format!("/api/v1/persons/{}/events", person["id"])))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "opening an archive needs a query registration first");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "query_registration_required");
        let res = c
            .post(url("/api/v1/queries"))
            .bearer_auth(&token)
            .json(&json!({
                "person_id": person["id"],
                "enquirer_name": "张三",
                "enquirer_id_number": input.id_number,
                "question": "参保登记材料",
                "purpose": "本人查询"
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let events: Value = c
            .get(url(&format!("/api/v1/persons/{}/events", person["id"])))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(events.as_array().unwrap().len(), 1);
        assert_eq!(events[0]["materials"][2]["formation_date"], "2024-05-01");

        let res = c.post(url("/api/v1/auth/logout")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(res.status(), 204);
        let res = c.get(url("/api/v1/catalogue")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(res.status(), 401);
    }
}

#[tokio::test]
async fn the_print_views_carry_the_forms_in_chinese_headed_by_the_agency_with_values_escaped() {
    use dangan_app::intake::events::{EventInput, MaterialInput};
    let settings = dangan_app::Settings {
        agency_name: "示范县社会保险事业中心".into(),
        fonds: Some("J047".into()),
        ..dangan_app::Settings::default()
    };
    let app = TestApp::start_with(TestDb::sqlite().await, settings).await;
    let t = token(&app).await;
    let p = app
        .app
        .create_person(&app.admin, &person_input(21, "张三"))
        .await
        .unwrap();
    let input = EventInput {
        person_id: Some(p.id.0),
        business_type: "enrolment".into(),
        business_date: "2024-05-06".into(),
        materials: vec![MaterialInput {
            material_code: "enrolment_form".into(),
            pages: 3,
            carrier: Some("electronic".into()),
            remarks: Some("<b>手写补充</b>".into()),
            ..MaterialInput::default()
        }],
        ..EventInput::default()
    };
    app.app.record_event(&app.admin, &input).await.unwrap();
    let drafts = app
        .app
        .build_volumes(
            &app.admin,
            2024,
            dangan_domain::business::BusinessClass::Registration,
        )
        .await
        .unwrap();
    app.app
        .add_user(
            &app.security,
            "archivist9",
            Some("李立卷"),
            dangan_app::Role::Archivist,
            Some(dangan_testkit::TEST_PASSWORD),
        )
        .await
        .unwrap();
    let archivist = app
        .app
        .login("archivist9", dangan_testkit::TEST_PASSWORD, "test")
        .await
        .unwrap()
        .user;
    let sealed = app
        .app
        .seal_volume(
            &archivist,
            drafts[0].id,
            dangan_app::organising::volumes::FailedScans::Refuse,
        )
        .await
        .unwrap();
    let res = dangan_web::router(Arc::clone(&app.app))
        .oneshot(get(&format!("/api/v1/volumes/{}/print", sealed.id), &t))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html =
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    for words in [
        "卷内目录",
        "备考表",
        "2024-参保登记-001",
        "参保登记申请表",
        "@page{size:A4",
        "保管期限：永久",
        "示范县社会保险事业中心　全宗号：J047",
        // The narrow columns never wrap (序号, dates, page numbers).
        "<th class=\"nw\">序号</th>",
        "<th class=\"nw\">形成日期</th>",
        // 卷内目录 names the person of every line, the number masked, on one line.
        "<th class=\"nw\">参保人</th>",
    ] {
        assert!(html.contains(words), "{words}");
    }
    let masked = dangan_domain::id_number::mask(&person_input(21, "张三").id_number);
    assert!(
        html.contains(&format!(
            "<td class=\"nw\">张三<br><span class=\"mono\">{masked}</span></td>"
        )),
        "{html}"
    );
    assert!(
        !html.contains(&person_input(21, "张三").id_number),
        "never the full number"
    );
    // The 立卷人 is the person's name, never a sign-in name.
    assert!(html.contains("立卷人：李立卷"), "{html}");
    assert!(!html.contains("archivist9"), "no sign-in name on paper");
    // Markup in a value prints as text (askama writes `<` as `&#60;`).
    assert!(html.contains("&#60;b&#62;手写补充&#60;/b&#62;"), "{html}");
    assert!(!html.contains("<b>手写补充"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_uploads_streamed_downloads_decrypted_and_verifies_over_http() {
    use dangan_app::intake::events::{EventInput, MaterialInput};
    let server = TestServer::spawn(TestApp::start(TestDb::sqlite().await).await).await;
    let app = &server.test_app;
    let p = app
        .app
        .create_person(&app.admin, &person_input(31, "张三"))
        .await
        .unwrap();
    let input = EventInput {
        person_id: Some(p.id.0),
        business_type: "enrolment".into(),
        business_date: "2024-05-06".into(),
        materials: vec![MaterialInput {
            material_code: "enrolment_form".into(),
            pages: 2,
            ..MaterialInput::default()
        }],
        ..EventInput::default()
    };
    let m = app
        .app
        .record_event(&app.admin, &input)
        .await
        .unwrap()
        .event
        .materials[0]
        .id;
    app.register(&app.admin, p.id).await;
    let token = server.login("admin", dangan_testkit::TEST_PASSWORD).await;
    let body: Vec<u8> = b"%PDF-1.7\n<</Type /Page>>\n"
        .iter()
        .copied()
        .chain((0..3_000_000u32).map(|i| (i % 251) as u8))
        .collect();
    let url = |p: &str| format!("{}{p}", server.base_url);
    let res = server
        .client
        .post(url(&format!("/api/v1/materials/{m}/files")))
        .bearer_auth(&token)
        .header("connection", "close")
        .body("%PDF-1.4")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422, "the file name is required");
    let res = server
        .client
        .post(url(&format!("/api/v1/materials/{m}/files")))
        .bearer_auth(&token)
        .header(
            "x-file-name",
            "2024-%E5%8F%82%E4%BF%9D%E7%99%BB%E8%AE%B0.pdf",
        )
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        201,
        "a 3 MB body passes the 2 MB JSON limit: it is streamed"
    );
    let f: Value = res.json().await.unwrap();
    assert_eq!(f["format"], "pdf");
    assert_eq!(f["original_name"], "2024-参保登记.pdf");
    assert!(
        f["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x == "not_pdfa")
    );
    let id = f["id"].as_i64().unwrap();
    let res = server
        .client
        .get(url(&format!("/api/v1/files/{id}/content")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let named = |res: &reqwest::Response| {
        let h = res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_owned();
        let encoded = h.split("filename*=UTF-8''").nth(1).unwrap().to_owned();
        let bytes: Vec<u8> = {
            let b = encoded.as_bytes();
            let mut out = Vec::new();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'%' {
                    out.push(u8::from_str_radix(&encoded[i + 1..i + 3], 16).unwrap());
                    i += 3;
                } else {
                    out.push(b[i]);
                    i += 1;
                }
            }
            out
        };
        String::from_utf8(bytes).unwrap()
    };
    let masked = p.id_number.masked();
    let name = named(&res);
    assert!(
        name.starts_with("2024-参保登记-") && name.ends_with(".pdf"),
        "named by the S6.1 rule: {name}"
    );
    assert!(
        name.contains(&masked) && !name.contains(p.id_number.as_str()),
        "the identity number is masked by default: {name}"
    );
    assert_eq!(res.bytes().await.unwrap().to_vec(), body);
    let res = server
        .client
        .get(url(&format!("/api/v1/files/{id}/content?name=full")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(
        named(&res).contains(p.id_number.as_str()),
        "asked for explicitly, the full S6.1 name"
    );
    let res = server
        .client
        .get(url(&format!("/api/v1/files/{id}/content?name=yes")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let res = server
        .client
        .get(url(&format!("/api/v1/files/{id}/content")))
        .bearer_auth(&token)
        .header("range", "bytes=70000-200009")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 206);
    assert_eq!(
        res.headers()["content-range"],
        format!("bytes 70000-200009/{}", body.len())
    );
    assert_eq!(res.bytes().await.unwrap().to_vec(), &body[70_000..=200_009]);
    let res = server
        .client
        .get(url(&format!("/api/v1/files/{id}/content")))
        .bearer_auth(&token)
        .header("range", "bytes=-10")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 206);
    assert_eq!(
        res.bytes().await.unwrap().to_vec(),
        &body[body.len() - 10..]
    );
    let res = server
        .client
        .get(url(&format!("/api/v1/files/{id}/content")))
        .bearer_auth(&token)
        .header("range", format!("bytes={}-", body.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 416);
    assert_eq!(
        res.headers()["content-range"],
        format!("bytes */{}", body.len())
    );
    let auditor = server.login("auditor", dangan_testkit::TEST_PASSWORD).await;
    let v: Value = server
        .client
        .get(url(&format!("/api/v1/files/{id}/verification")))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["ok"], true);
}

/// Signs a staff member in through the sign-in form; the session cookie.
async fn page_session(c: &reqwest::Client, base: &str, user: &str) -> String {
    let res = c
        .post(format!("{base}/login"))
        .header("origin", base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("username={user}&password={TEST_PASSWORD}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    cookie.split(';').next().unwrap().to_owned()
}

/// The rows of the first sheet of an .xlsx download.
fn xlsx_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    use calamine::Reader;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

on_both_backends! {
    async fn the_persons_list_exports_to_excel_in_chinese_with_masked_numbers_and_the_export_is_logged(db: TestDb) {
        let t = TestApp::start(db).await;
        t.actor("archivist3", dangan_app::Role::Archivist).await;
        let mut full = Vec::new();
        for i in 0..3 {
            let p = t.app.create_person(&t.admin, &person_input(60 + i, ["张一", "张二", "张三"][i as usize])).await.unwrap();
            full.push(p.id_number.as_str().to_owned());
        }
        let server = TestServer::spawn(t).await;
        let base = &server.base_url;
        let c = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let session = page_session(&c, base, "archivist3").await;
        let res = c.get(format!("{base}/persons/export.xlsx?name=张")).header("cookie", &session).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
        let disposition = res.headers()["content-disposition"].to_str().unwrap().to_owned();
        assert!(disposition.contains("filename*=UTF-8''%E5%8F%82%E4%BF%9D%E4%BA%BA-"), "{disposition}");
        let rows = xlsx_rows(&res.bytes().await.unwrap());
        assert_eq!(rows[0], ["编号", "姓名", "性别", "公民身份号码", "行政区划", "参保状态"]);
        assert_eq!(rows.len(), 4, "{rows:?}");
        let cells = rows.concat().join(" ");
        assert!(cells.contains("张一") && cells.contains("张三"), "{cells}");
        assert!(!cells.contains("male") && !cells.contains("active"), "labels, not codes: {cells}");
        for n in &full {
            assert!(!cells.contains(n.as_str()), "no full identity number in an export");
        }
        assert!(rows[1][3].contains('*'), "{:?}", rows[1]);
        // Without a session: the sign-in page, no file.
        let res = c.get(format!("{base}/persons/export.xlsx?name=张")).send().await.unwrap();
        assert_eq!(res.status(), 303);
        // The export is in the operation log, with who and how many rows.
        let log = server.test_app.app.search_log(&server.test_app.auditor, &dangan_app::security::audit::LogQuery {
            action: Some("export.xlsx".into()),
            ..Default::default()
        }).await.unwrap();
        assert_eq!(log.len(), 1, "{log:?}");
        assert_eq!((log[0].actor_name.as_str(), log[0].target_id.as_str(), log[0].detail.as_str()), ("archivist3", "persons", "3 rows"));
        // The auditor exports the log itself, filtered to exports: in Chinese, no codes.
        let auditor = page_session(&c, base, "auditor").await;
        let res = c.get(format!("{base}/audit/export.xlsx?action=export.xlsx")).header("cookie", &auditor).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let rows = xlsx_rows(&res.bytes().await.unwrap());
        assert_eq!(rows[0], ["序号", "时间（北京时间）", "操作人", "来源", "操作", "对象", "结果"]);
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!((rows[1][4].as_str(), rows[1][6].as_str()), ("导出 Excel", "成功"));
        // A clerk may not export the log.
        let res = c.get(format!("{base}/audit/export.xlsx")).header("cookie", &session).send().await.unwrap();
        assert_eq!(res.status(), 403);
    }
}

/// 张三's enrolment with its paper form handed over by a clerk (`handler9`): the test app,
/// the person and the list.
async fn handed_over(db: TestDb) -> (TestApp, dangan_app::ids::PersonId, i64) {
    use dangan_app::intake::handovers::{HandoverInput, HandoverItemInput};
    let t = TestApp::start(db).await;
    let handler = t.actor("handler9", dangan_app::Role::Handler).await;
    let (person, material) = t.enrolment_material().await;
    let items = vec![HandoverItemInput {
        material_id: material.0,
        quantity: None,
    }];
    let h = t
        .app
        .create_handover(&handler, &HandoverInput { items, note: None })
        .await
        .unwrap();
    (t, person, h.id.0)
}

on_both_backends! {
    async fn the_handover_list_api_pages_filters_by_state_and_names_the_person_masked(db: TestDb) {
        let (t, person, handover) = handed_over(db).await;
        let full = person_input(1, "张三").id_number;
        let server = TestServer::spawn(t).await;
        let token = server.login("admin", TEST_PASSWORD).await;
        let c = &server.client;
        let get = |q: &str| c.get(format!("{}/api/v1/handovers{q}", server.base_url)).bearer_auth(&token).send();
        let res = get("?state=open&limit=10&offset=0").await.unwrap();
        assert_eq!(res.status(), 200);
        let page: Value = res.json().await.unwrap();
        assert_eq!((page["total"].as_i64(), page["limit"].as_i64(), page["offset"].as_i64()), (Some(1), Some(10), Some(0)));
        let list = &page["items"][0];
        assert_eq!(list["id"], handover);
        assert_eq!(list["state"], "open");
        assert_eq!(list["person_id"], person.0);
        assert_eq!(list["person_name"], "张三");
        assert!(list["id_number_masked"].as_str().unwrap().contains("***"), "{list}");
        assert!(!page.to_string().contains(&full), "never the whole number");
        let page: Value = get("?state=confirmed").await.unwrap().json().await.unwrap();
        assert_eq!(page["total"], 0);
        let page: Value = get("?offset=1").await.unwrap().json().await.unwrap();
        assert_eq!((page["total"].as_i64(), page["items"].as_array().map(Vec::len)), (Some(1), Some(0)));
        for (q, status, code) in [
            ("?limit=0", 422, "invalid_limit"),
            ("?limit=501", 422, "invalid_limit"),
            ("?offset=-1", 422, "invalid_offset"),
            ("?state=lost", 422, "invalid_state"),
            ("?limit=many", 400, "invalid_query"),
        ] {
            let res = get(q).await.unwrap();
            assert_eq!(res.status(), status, "{q}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["error"]["code"], code, "{q}: {body}");
        }
        // The auditor reads no workflow.
        let auditor = server.login("auditor", TEST_PASSWORD).await;
        let res = c.get(format!("{}/api/v1/handovers", server.base_url)).bearer_auth(&auditor).send().await.unwrap();
        assert_eq!(res.status(), 403);
    }

    async fn api_tasks_and_supplements_name_their_person_with_the_number_masked(db: TestDb) {
        let (t, person, _) = handed_over(db).await;
        let server = TestServer::spawn(t).await;
        let token = server.login("admin", TEST_PASSWORD).await;
        let c = &server.client;
        let tasks: Value = c.get(format!("{}/api/v1/tasks", server.base_url)).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        let task = tasks.as_array().unwrap().iter().find(|t| t["person_id"] == person.0).unwrap_or_else(|| panic!("a task of the person: {tasks}"));
        assert_eq!(task["person_name"], "张三");
        assert!(task["id_number_masked"].as_str().unwrap().contains("***"), "{task}");
        assert!(task.get("due_pending").is_some() && task.get("event_id").is_some(), "{task}");
        let supplements: Value = c.get(format!("{}/api/v1/supplements", server.base_url)).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        let s = &supplements.as_array().unwrap_or_else(|| panic!("{supplements}"));
        let s = s.first().unwrap_or_else(|| panic!("the enrolment lacks materials: {supplements}"));
        assert_eq!(s["person_id"], person.0);
        assert_eq!(s["person_name"], "张三");
        assert!(s["id_number_masked"].as_str().unwrap().contains("***"), "{s}");
    }

    async fn the_handover_list_exports_to_excel_with_its_filter_in_chinese(db: TestDb) {
        let (t, _, handover) = handed_over(db).await;
        let server = TestServer::spawn(t).await;
        let base = &server.base_url;
        let c = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let session = page_session(&c, base, "admin").await;
        let page = c.get(format!("{base}/handovers")).header("cookie", &session).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("href=\"/handovers/export.xlsx?state=\""), "the page links its export");
        let res = c.get(format!("{base}/handovers/export.xlsx?state=open")).header("cookie", &session).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let rows = xlsx_rows(&res.bytes().await.unwrap());
        assert_eq!(rows[0], ["交接单", "状态", "参保人", "件数", "移交人", "移交时间", "接收人", "接收时间"]);
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!((rows[1][0].as_str(), rows[1][1].as_str()), (handover.to_string().as_str(), "待确认"));
        assert!(rows[1][2].starts_with("张三 ") && rows[1][2].contains("***"), "{:?}", rows[1]);
        let res = c.get(format!("{base}/handovers/export.xlsx?state=confirmed")).header("cookie", &session).send().await.unwrap();
        assert_eq!(xlsx_rows(&res.bytes().await.unwrap()).len(), 1, "only the header");
        let log = server.test_app.app.search_log(&server.test_app.auditor, &dangan_app::security::audit::LogQuery {
            action: Some("export.xlsx".into()),
            ..Default::default()
        }).await.unwrap();
        assert_eq!(log.iter().filter(|e| e.target_id == "handovers").count(), 2, "{log:?}");
    }
}

/// The CSRF token a page's form carries.
fn csrf_in(page: &str) -> String {
    let at = page
        .find("name=\"_csrf\" value=\"")
        .expect("a form with its CSRF token")
        + 20;
    page[at..].split('"').next().unwrap().to_owned()
}

/// Percent-encodes a form value.
fn form_value(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

on_both_backends! {
    async fn the_query_register_page_finds_a_person_by_identity_number_exports_and_is_logged_as_the_api(db: TestDb) {
        let t = TestApp::start(db).await;
        t.actor("archivist8", dangan_app::Role::Archivist).await;
        let (person, _) = t.enrolment_material().await;
        let other = t.app.create_person(&t.admin, &person_input(2, "李四")).await.unwrap();
        t.register(&t.admin, person).await;
        t.register(&t.admin, other.id).await;
        let full = person_input(1, "张三").id_number;
        let server = TestServer::spawn(t).await;
        let base = &server.base_url;
        let c = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let session = page_session(&c, base, "archivist8").await;
        let page = c.get(format!("{base}/queries")).header("cookie", &session).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("href=\"/queries\"") && page.contains("查询登记"), "a navigation entry");
        assert!(page.contains("共 2 条"), "{page}");
        let csrf = csrf_in(&page);
        let post = |path: &str, body: String| {
            c.post(format!("{base}{path}"))
                .header("cookie", &session)
                .header("origin", base.as_str())
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
        };
        let body = format!("_csrf={}&person={full}&purpose={}", form_value(&csrf), form_value("本人办理业务"));
        let res = post("/queries", body.clone()).await.unwrap();
        assert_eq!(res.status(), 200);
        let page = res.text().await.unwrap();
        assert!(page.contains("共 1 条") && page.contains("张三") && !page.contains("李四"), "{page}");
        assert!(!page.contains(&format!(">{full}")) && page.contains("***"), "numbers masked in the list");
        // By the person's name, and a wrong number in Chinese (422).
        let res = post("/queries", format!("_csrf={}&person={}", form_value(&csrf), form_value("李"))).await.unwrap();
        assert!(res.text().await.unwrap().contains("共 1 条"));
        let res = post("/queries", format!("_csrf={}&enquirer=110105194912310021", form_value(&csrf))).await.unwrap();
        assert_eq!(res.status(), 422);
        assert!(res.text().await.unwrap().contains("id=\"filter-error\""));
        // The export: same filters, masked, in Chinese.
        let res = post("/queries/export.xlsx", body).await.unwrap();
        assert_eq!(res.status(), 200);
        let rows = xlsx_rows(&res.bytes().await.unwrap());
        assert_eq!(rows[0], ["登记号", "登记时间（北京时间）", "参保人", "查询人", "查询内容", "查询目的", "经办人"]);
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(rows[1][2].starts_with("张三 ") && !rows.concat().join(" ").contains(&full), "{rows:?}");
        // Every read of the register is logged as the API's search is.
        let log = server.test_app.app.search_log(&server.test_app.auditor, &dangan_app::security::audit::LogQuery {
            exact_action: Some("query.search".into()),
            ..Default::default()
        }).await.unwrap();
        assert!(log.len() >= 4 && log.iter().all(|e| e.actor_name == "archivist8"), "{log:?}");
        // A clerk at the collection post may not read the register.
        server.test_app.actor("handler8", dangan_app::Role::Handler).await;
        let clerk = page_session(&c, base, "handler8").await;
        let res = c.get(format!("{base}/queries")).header("cookie", &clerk).send().await.unwrap();
        assert_eq!(res.status(), 403);
    }

    async fn the_damage_and_loss_list_filters_by_kind_shows_chinese_labels_and_exports(db: TestDb) {
        use dangan_app::problems::damage::{DamageInput, LossInput};
        let t = TestApp::start(db).await;
        let (_, material) = t.enrolment_material().await;
        let damage = DamageInput { degree: "light".into(), cause: "受潮".into(), repair_by: None, institution: None };
        t.app.record_damage(&t.admin, material, &damage).await.unwrap();
        t.app.record_loss(&t.admin, material, &LossInput { reported_to: "局长".into(), note: None }).await.unwrap();
        let server = TestServer::spawn(t).await;
        let base = &server.base_url;
        let c = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let session = page_session(&c, base, "admin").await;
        let get = |path: &str| c.get(format!("{base}{path}")).header("cookie", &session).send();
        let page = get("/incidents").await.unwrap().text().await.unwrap();
        assert!(page.contains("href=\"/incidents\"") && page.contains("共 2 条"), "{page}");
        assert!(page.contains("<td>破损</td>") && page.contains("<td>丢失</td>") && page.contains("<td>处置中</td>"), "{page}");
        assert!(page.contains(&format!("href=\"/materials/{}?person=", material.0)), "links its material");
        let page = get("/incidents?kind=loss&from=2000-01-01").await.unwrap().text().await.unwrap();
        assert!(page.contains("共 1 条") && page.contains("局长") && !page.contains("受潮"), "{page}");
        assert!(page.contains("href=\"/incidents/export.xlsx?kind=loss&#38;from=2000-01-01\""), "{page}");
        let res = get("/incidents?from=2026-13-01").await.unwrap();
        assert_eq!(res.status(), 422);
        let res = get("/incidents/export.xlsx?kind=damage").await.unwrap();
        assert_eq!(res.status(), 200);
        let rows = xlsx_rows(&res.bytes().await.unwrap());
        assert_eq!(rows[0], ["登记号", "类别", "材料", "参保人", "原因或报告对象", "处置状态", "登记人", "登记时间（北京时间）"]);
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!((rows[1][1].as_str(), rows[1][4].as_str(), rows[1][5].as_str()), ("破损", "受潮", "处置中"));
        assert!(rows[1][3].contains("***"), "{rows:?}");
        // The window clerk neither sees nor exports it.
        server.test_app.actor("window8", dangan_app::Role::Window).await;
        let window = page_session(&c, base, "window8").await;
        let res = c.get(format!("{base}/incidents/export.xlsx")).header("cookie", &window).send().await.unwrap();
        assert_eq!(res.status(), 403);
    }

    async fn the_catalogue_and_a_job_page_show_no_raw_codes(db: TestDb) {
        let t = TestApp::start(db).await;
        let job = t.app.run_job_now(&t.admin, "scrub").await.unwrap();
        let server = TestServer::spawn(t).await;
        let base = &server.base_url;
        let c = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let session = page_session(&c, base, "admin").await;
        let page = c.get(format!("{base}/catalogue")).header("cookie", &session).send().await.unwrap().text().await.unwrap();
        let calendar = &page[page.find("id=\"calendar\"").unwrap()..];
        assert!(calendar.contains("<td>系统内置</td>") && calendar.contains("<td>系统 "), "{calendar}");
        assert!(!calendar.contains("builtin") && !calendar.contains(">system"), "{calendar}");
        let page = c.get(format!("{base}/jobs/{job}")).header("cookie", &session).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("<td id=\"job-parameters\">无</td>"), "{page}");
        assert!(!page.contains("{}") && !page.contains("{&#34;"), "no raw JSON: {page}");
    }
}
