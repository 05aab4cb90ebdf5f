//! 自动归档 (S6.5) over a real port: the business system files a business with its scans in one
//! multipart request, retries it as often as it likes, and never gets a second copy; a request
//! that fails part way leaves nothing behind.

use serde_json::{Value, json};

use dangan_testkit::{TestApp, TestServer, on_both_backends, person_input, png_scan};
use dangan_web::encode_archive_request as encode_request;

/// A machine token with the given scopes, made by the administrator (the machine scopes are
/// theirs to issue).
async fn machine_token(server: &TestServer, scopes: &[&str]) -> String {
    let t = &server.test_app;
    let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
    t.app
        .create_token(&t.admin, "pension-system", &scopes)
        .await
        .expect("token")
        .secret
}

fn enrolment(id_number: &str, external_id: &str) -> Value {
    json!({
        "id_number": id_number,
        "business_type": "enrolment",
        "business_date": "2024-05-06",
        "source_system": "pension",
        "external_id": external_id,
        "handler": "王经办",
        "materials": [
            {"material_code": "enrolment_form", "pages": 1, "carrier": "electronic"},
            {"material_code": "id_card_copy", "pages": 1, "carrier": "electronic"}
        ]
    })
}

async fn post_archive(
    server: &TestServer,
    token: &str,
    event: &Value,
    files: &[(usize, &str, &[u8])],
) -> (u16, Value) {
    let (content_type, body) = encode_request(event, files);
    let res = server
        .client
        .post(format!("{}/api/v1/archive", server.base_url))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn event_count(server: &TestServer, person: i64) -> usize {
    let t = &server.test_app;
    t.register(&t.admin, dangan_app::ids::PersonId(person))
        .await;
    t.app
        .person_events(&t.admin, dangan_app::ids::PersonId(person))
        .await
        .expect("events")
        .len()
}

on_both_backends! {
    async fn a_business_filed_with_its_scans_is_archived_once_however_often_it_is_replayed(db: TestDb) {
        let server = TestServer::spawn(TestApp::start(db).await).await;
        let t = &server.test_app;
        let p = t.app.create_person(&t.admin, &person_input(7, "赵六")).await.unwrap();
        let token = machine_token(&server, &["archive:write"]).await;
        let form = png_scan(40_000, 1);
        let card = png_scan(30_000, 2);
        let event = enrolment(&person_input(7, "赵六").id_number, "PEN-2024-000123");
        let files: [(usize, &str, &[u8]); 2] = [(0, "参保登记表.png", &form), (1, "身份证.png", &card)];

        let (status, first) = post_archive(&server, &token, &event, &files).await;
        assert_eq!(status, 201, "{first}");
        assert_eq!(first["created"], true);
        assert_eq!(first["files"].as_array().unwrap().len(), 2);
        assert_eq!(first["files"][0]["original_name"], "参保登记表.png");
        assert_eq!(first["event"]["external_id"], "PEN-2024-000123");

        // 99 more deliveries, four at a time, as a retrying client on a bad network would send.
        let mut handles = Vec::new();
        for _ in 0..4 {
            let (client, base, token, event) =
                (server.client.clone(), server.base_url.clone(), token.clone(), event.clone());
            let (form, card) = (form.clone(), card.clone());
            handles.push(tokio::spawn(async move {
                let mut statuses = Vec::new();
                for _ in 0..25 {
                    let files: [(usize, &str, &[u8]); 2] = [(0, "参保登记表.png", &form), (1, "身份证.png", &card)];
                    let (ct, body) = encode_request(&event, &files);
                    let res = client.post(format!("{base}/api/v1/archive")).bearer_auth(&token)
                        .header("content-type", ct).body(body).send().await.unwrap();
                    let status = res.status().as_u16();
                    let v: Value = res.json().await.unwrap();
                    statuses.push((status, v["event"]["id"].clone(), v["files"].as_array().map(Vec::len)));
                }
                statuses
            }));
        }
        let mut replays = Vec::new();
        for h in handles {
            replays.extend(h.await.unwrap());
        }
        assert_eq!(replays.len(), 100);
        for (status, id, files) in replays.iter().skip(1) {
            assert_eq!(*status, 200, "a replay answers 200 with the stored record");
            assert_eq!(*id, first["event"]["id"]);
            assert_eq!(*files, Some(2));
        }
        assert_eq!(event_count(&server, p.id.0).await, 1, "stored once");
        let material = dangan_app::ids::MaterialId(first["event"]["materials"][0]["id"].as_i64().unwrap());
        t.register(&t.admin, p.id).await;
        assert_eq!(t.app.files_of(&t.admin, material).await.unwrap().len(), 1);
    }

    async fn an_archive_request_that_fails_part_way_records_nothing(db: TestDb) {
        let server = TestServer::spawn(TestApp::start(db).await).await;
        let t = &server.test_app;
        let p = t.app.create_person(&t.admin, &person_input(8, "钱七")).await.unwrap();
        let token = machine_token(&server, &["archive:write"]).await;
        let form = png_scan(40_000, 3);
        let event = enrolment(&person_input(8, "钱七").id_number, "PEN-2024-000124");

        // The second scan names a material the event does not have.
        let (status, body) = post_archive(&server, &token, &event, &[(0, "表.png", &form), (5, "多余.png", &form)]).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["error"]["code"], "unknown_material_index");
        assert!(body["error"]["message"].as_str().unwrap().contains("序号"));
        // The second scan is empty.
        let (status, body) = post_archive(&server, &token, &event, &[(0, "表.png", &form), (1, "空.png", b"")]).await;
        assert_eq!((status, body["error"]["code"].as_str()), (422, Some("empty_file")));
        // A material outside the filing catalogue.
        let mut bad = event.clone();
        bad["materials"][1]["material_code"] = json!("no_such_material");
        let (status, _) = post_archive(&server, &token, &bad, &[(0, "表.png", &form)]).await;
        assert_eq!(status, 422);
        // No business id: a retry could not be recognised, so it is refused.
        let mut anonymous = event.clone();
        anonymous.as_object_mut().unwrap().remove("external_id");
        let (status, body) = post_archive(&server, &token, &anonymous, &[]).await;
        assert_eq!((status, body["error"]["code"].as_str()), (422, Some("external_id_required")));
        // Not multipart at all.
        let res = server.client.post(format!("{}/api/v1/archive", server.base_url)).bearer_auth(&token)
            .json(&event).send().await.unwrap();
        assert_eq!(res.status(), 415);
        assert_eq!(event_count(&server, p.id.0).await, 0, "nothing half-written stays behind");

        // The corrected request goes through whole.
        let (status, body) = post_archive(&server, &token, &event, &[(0, "表.png", &form)]).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(event_count(&server, p.id.0).await, 1);
    }

    async fn a_scan_uploaded_twice_to_the_same_material_is_stored_once(db: TestDb) {
        let server = TestServer::spawn(TestApp::start(db).await).await;
        let t = &server.test_app;
        let (person, material) = t.enrolment_material().await;
        let token = machine_token(&server, &["files:write"]).await;
        let scan = png_scan(50_000, 4);
        let upload = || server.client
            .post(format!("{}/api/v1/materials/{}/files", server.base_url, material.0))
            .bearer_auth(&token)
            .header("x-file-name", "scan.png")
            .body(scan.clone())
            .send();
        let first = upload().await.unwrap();
        assert_eq!(first.status(), 201);
        let first: Value = first.json().await.unwrap();
        let again = upload().await.unwrap();
        assert_eq!(again.status(), 200, "a retried upload answers with the stored file");
        let again: Value = again.json().await.unwrap();
        assert_eq!(again["id"], first["id"]);
        t.register(&t.admin, person).await;
        assert_eq!(t.app.files_of(&t.admin, material).await.unwrap().len(), 1);
    }

    async fn a_token_without_the_archive_scope_cannot_auto_archive(db: TestDb) {
        let server = TestServer::spawn(TestApp::start(db).await).await;
        let token = machine_token(&server, &["events:write"]).await;
        let event = enrolment(&person_input(9, "孙八").id_number, "PEN-1");
        let (status, body) = post_archive(&server, &token, &event, &[]).await;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")));
    }
}
