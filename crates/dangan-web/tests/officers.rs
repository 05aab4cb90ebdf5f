//! 三员分立 over HTTP, on both backends: the security officer's three solo attacks — a stand-in
//! administrator, a second security officer to change the first one's role, a `sync:write`
//! token to post a death record — are refused (403 with a stable code) and logged as denied;
//! the two-officer request and approval go through the API routes.

use serde_json::{Value, json};

use dangan_testkit::{TEST_PASSWORD, TestApp, TestServer, on_both_backends, person_input};

async fn send(
    s: &TestServer,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = s
        .client
        .request(method, format!("{}/api/v1{path}", s.base_url))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn post(s: &TestServer, path: &str, token: &str, body: Value) -> (u16, Value) {
    send(s, reqwest::Method::POST, path, token, Some(body)).await
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

async fn denied_actions(s: &TestServer, actor: &str) -> Vec<String> {
    let auditor = s.login("auditor", TEST_PASSWORD).await;
    let (_, log) = send(
        s,
        reqwest::Method::GET,
        "/audit/log?outcome=denied&limit=500",
        &auditor,
        None,
    )
    .await;
    log.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor_name"] == actor)
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

async fn user_id(s: &TestServer, token: &str, name: &str) -> Option<i64> {
    let (_, users) = send(s, reqwest::Method::GET, "/users", token, None).await;
    users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == name)
        .map(|u| u["id"].as_i64().unwrap())
}

on_both_backends! {
    async fn a_security_officer_cannot_create_a_stand_in_administrator_over_http(db: TestDb) {
        let s = TestServer::spawn(TestApp::start(db).await).await;
        let sec = s.login("secadmin", TEST_PASSWORD).await;
        let (status, body) = post(&s, "/users", &sec, json!({"username": "standin", "role": "admin"})).await;
        assert_eq!((status, code(&body)), (403, "two_officers_required"), "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("另一名三员"));
        assert_eq!(user_id(&s, &sec, "standin").await, None);
        // A business account made first and raised afterwards: refused as well.
        let (status, made) = post(&s, "/users", &sec, json!({"username": "helper", "role": "window"})).await;
        assert_eq!(status, 201, "{made}");
        let helper = made["user"]["id"].as_i64().unwrap();
        let (status, body) = send(&s, reqwest::Method::PUT, &format!("/users/{helper}/role"), &sec, Some(json!({"role": "admin"}))).await;
        assert_eq!((status, code(&body)), (403, "two_officers_required"), "{body}");

        // The two-officer way: a request, which its author cannot approve; the administrator can.
        let (status, req) = post(&s, "/users/requests", &sec, json!({"kind": "create", "username": "standin", "role": "admin", "reason": "岗位调整"})).await;
        assert_eq!(status, 201, "{req}");
        let id = req["id"].as_i64().unwrap();
        let (status, body) = post(&s, &format!("/users/requests/{id}/approve"), &sec, json!({})).await;
        assert_eq!((status, code(&body)), (403, "own_request"), "{body}");
        assert_eq!(user_id(&s, &sec, "standin").await, None);
        let admin = s.login("admin", TEST_PASSWORD).await;
        let (status, listed) = send(&s, reqwest::Method::GET, "/users/requests", &admin, None).await;
        assert_eq!((status, listed[0]["id"].as_i64()), (200, Some(id)));
        let (status, done) = post(&s, &format!("/users/requests/{id}/approve"), &admin, json!({})).await;
        assert_eq!(status, 200, "{done}");
        assert_eq!(done["user"]["role"], "admin");
        let password = done["initial_password"].as_str().unwrap();
        let res = s.client.post(format!("{}/api/v1/auth/login", s.base_url))
            .json(&json!({"username": "standin", "password": password})).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let (status, body) = post(&s, &format!("/users/requests/{id}/approve"), &admin, json!({})).await;
        assert_eq!((status, code(&body)), (409, "request_decided"));

        let denied = denied_actions(&s, "secadmin").await;
        for action in ["user.create", "user.update", "user.request_approve"] {
            assert!(denied.iter().any(|a| a == action), "{action} in {denied:?}");
        }
    }

    async fn a_second_security_officer_cannot_change_the_first_ones_role_over_http(db: TestDb) {
        let s = TestServer::spawn(TestApp::start(db).await).await;
        let sec = s.login("secadmin", TEST_PASSWORD).await;
        let (status, body) = post(&s, "/users", &sec, json!({"username": "secadmin2", "role": "security_officer"})).await;
        assert_eq!((status, code(&body)), (403, "two_officers_required"), "{body}");
        // Even a second officer made from the console cannot act on the first one alone.
        s.test_app.actor("secadmin2", dangan_app::Role::SecurityOfficer).await;
        let sec2 = s.login("secadmin2", TEST_PASSWORD).await;
        let first = user_id(&s, &sec2, "secadmin").await.unwrap();
        let (status, body) = send(&s, reqwest::Method::PUT, &format!("/users/{first}/role"), &sec2, Some(json!({"role": "window"}))).await;
        assert_eq!((status, code(&body)), (403, "two_officers_required"), "{body}");
        let (status, body) = send(&s, reqwest::Method::PUT, &format!("/users/{first}/role"), &sec2, Some(json!({"role": "security_officer", "disabled": true}))).await;
        assert_eq!((status, code(&body)), (403, "two_officers_required"), "{body}");
        let (status, req) = post(&s, "/users/requests", &sec2, json!({"kind": "change", "user_id": first, "role": "window", "reason": "调岗"})).await;
        assert_eq!(status, 201, "{req}");
        let id = req["id"].as_i64().unwrap();
        let (status, body) = post(&s, &format!("/users/requests/{id}/approve"), &sec, json!({})).await;
        assert_eq!((status, code(&body)), (403, "own_account"), "the target cannot approve");
        let (status, body) = post(&s, &format!("/users/requests/{id}/reject"), &sec, json!({"note": "不同意"})).await;
        assert_eq!((status, code(&body)), (403, "own_account"), "nor reject");
        let (status, body) = post(&s, &format!("/users/requests/{id}/approve"), &sec2, json!({})).await;
        assert_eq!((status, code(&body)), (403, "own_request"));
        let auditor = s.login("auditor", TEST_PASSWORD).await;
        let (status, body) = post(&s, &format!("/users/requests/{id}/approve"), &auditor, json!({})).await;
        assert_eq!((status, code(&body)), (403, "forbidden"));
        // The first officer is still in office.
        let (status, _) = send(&s, reqwest::Method::GET, "/users", &sec, None).await;
        assert_eq!(status, 200);

        let denied = denied_actions(&s, "secadmin2").await;
        assert!(denied.iter().filter(|a| *a == "user.update").count() >= 2, "{denied:?}");
        assert!(denied.iter().any(|a| a == "user.request_approve"), "{denied:?}");
        assert!(denied_actions(&s, "secadmin").await.iter().any(|a| a == "user.create"));
    }

    async fn a_security_officer_cannot_issue_itself_a_sync_token_to_post_a_death_record(db: TestDb) {
        let s = TestServer::spawn(TestApp::start(db).await).await;
        let t = &s.test_app;
        let input = person_input(41, "褚四十一");
        let p = t.app.create_person(&t.admin, &input).await.unwrap();
        let sec = s.login("secadmin", TEST_PASSWORD).await;
        let (status, body) = post(&s, "/tokens", &sec, json!({"name": "self-sync", "scopes": ["sync:write"]})).await;
        assert_eq!((status, code(&body)), (403, "machine_scope_admin_only"), "{body}");
        assert!(body.get("secret").is_none());
        let (status, body) = post(&s, "/tokens", &sec, json!({"name": "self-write", "scopes": ["persons:write"]})).await;
        assert_eq!((status, code(&body)), (403, "scope_beyond_issuer"), "{body}");
        // Posting the death record with the officer's own session: refused as well.
        let death = json!({"source_system": "pension", "records": [
            {"source_id": "D-1", "id_number": input.id_number, "kind": "death", "effective_date": "2025-01-01"}
        ]});
        let (status, body) = post(&s, "/sync/person-changes", &sec, death.clone()).await;
        assert_eq!((status, code(&body)), (403, "forbidden"), "{body}");
        t.register(&t.admin, p.id).await;
        assert_eq!(t.app.person(&t.admin, p.id).await.unwrap().status, dangan_domain::person::InsuranceStatus::Active, "nobody died");
        let (_, tokens) = send(&s, reqwest::Method::GET, "/tokens", &sec, None).await;
        assert_eq!(tokens, json!([]), "no token was made");
        let denied = denied_actions(&s, "secadmin").await;
        assert_eq!(denied.iter().filter(|a| *a == "token.create").count(), 2, "{denied:?}");

        // The administrator issues the business system's token; the officer may revoke it.
        let admin = s.login("admin", TEST_PASSWORD).await;
        let (status, made) = post(&s, "/tokens", &admin, json!({"name": "pension", "scopes": ["sync:write"]})).await;
        assert_eq!(status, 201, "{made}");
        let secret = made["secret"].as_str().unwrap().to_owned();
        let (status, report) = post(&s, "/sync/person-changes", &secret, death).await;
        assert_eq!((status, report["accepted"].as_i64()), (200, Some(1)), "{report}");
        let id = made["token"]["id"].as_i64().unwrap();
        let (status, _) = send(&s, reqwest::Method::DELETE, &format!("/tokens/{id}"), &sec, None).await;
        assert_eq!(status, 204);
    }
}
