//! Every route × every role against the permission matrix, the insured person's probing of
//! other people's ids (IDOR), and hostile input. Over a real port, as clients would call.

use std::collections::BTreeSet;

use dangan_app::Role;
use dangan_app::administration::roles::{Grant, UseCase, grant};
use dangan_app::intake::events::{EventInput, MaterialInput};
use dangan_testkit::{TEST_PASSWORD, TestApp, TestDb, TestServer, person_input};
use reqwest::Method;
use serde_json::{Value, json};

/// One route: method, path (with `{person}`, `{event}`, `{user}`, `{token}`), body, and the
/// use-case the matrix decides it by (`None`: open to anyone signed in or not).
struct Route {
    method: Method,
    path: &'static str,
    body: Body,
    use_case: Option<UseCase>,
}

enum Body {
    None,
    Json(fn(usize) -> Value),
    Text(&'static str),
}

fn routes() -> Vec<Route> {
    use Body as B;
    use UseCase as U;
    let r = |method: Method, path: &'static str, body: Body, use_case: Option<UseCase>| Route {
        method,
        path,
        body,
        use_case,
    };
    vec![
        r(Method::GET, "/healthz", B::None, None),
        r(Method::GET, "/readyz", B::None, None),
        r(
            Method::POST,
            "/api/v1/auth/login",
            B::Json(|_| json!({"username": "nobody", "password": "x"})),
            None,
        ),
        r(
            Method::POST,
            "/api/v1/auth/insured-login",
            B::Json(|_| json!({"id_number": "11010519491231002X", "password": "x"})),
            None,
        ),
        r(Method::GET, "/api/v1/auth/me", B::None, None),
        r(
            Method::POST,
            "/api/v1/persons",
            B::Json(|i| {
                let p = person_input(500 + i as u32, "新人");
                json!({"id_number": p.id_number, "name": p.name, "division_code": p.division_code})
            }),
            Some(U::WritePersons),
        ),
        r(
            Method::GET,
            "/api/v1/persons?name=%E5%BC%A0",
            B::None,
            Some(U::SearchPersons),
        ),
        r(
            Method::POST,
            "/api/v1/persons/search",
            B::Json(|_| json!({"name": "张"})),
            Some(U::SearchPersons),
        ),
        r(
            Method::GET,
            "/api/v1/persons/{person}",
            B::None,
            Some(U::ReadArchive),
        ),
        r(
            Method::GET,
            "/api/v1/persons/{person}/events",
            B::None,
            Some(U::ReadArchive),
        ),
        r(
            Method::POST,
            "/api/v1/persons/{other}/account",
            B::Json(|_| json!({"basis": "query"})),
            Some(U::ManageInsuredAccounts),
        ),
        r(
            Method::GET,
            "/api/v1/my/person",
            B::None,
            Some(U::ReadArchive),
        ),
        r(
            Method::GET,
            "/api/v1/my/events",
            B::None,
            Some(U::ReadArchive),
        ),
        r(
            Method::POST,
            "/api/v1/events",
            B::Json(|i| {
                json!({
                    "person_id": 1, "business_type": "contribution", "business_date": "2024-05-01",
                    "source_system": "walk", "external_id": format!("walk-{i}"),
                    "materials": [{"material_code": "contribution_voucher", "pages": 1}]
                })
            }),
            Some(U::WriteEvents),
        ),
        r(
            Method::GET,
            "/api/v1/events/{event}",
            B::None,
            Some(U::ReadArchive),
        ),
        r(
            Method::GET,
            "/api/v1/catalogue",
            B::None,
            Some(U::ReadCatalogue),
        ),
        r(
            Method::PUT,
            "/api/v1/catalogue",
            B::Json(|_| {
                json!({"note": "walk", "entries": [
                    {"business_type": "enrolment", "material_code": "enrolment_form", "name": "参保登记申请表", "required": true, "retention": "Y"}
                ]})
            }),
            Some(U::EditCatalogue),
        ),
        r(
            Method::GET,
            "/api/v1/business-types",
            B::None,
            Some(U::ReadReference),
        ),
        r(
            Method::GET,
            "/api/v1/divisions?q=%E6%9C%9D%E9%98%B3",
            B::None,
            Some(U::ReadReference),
        ),
        r(
            Method::GET,
            "/api/v1/divisions/110105",
            B::None,
            Some(U::ReadReference),
        ),
        r(
            Method::GET,
            "/api/v1/calendar/add-working-days?from=2025-09-30&days=1",
            B::None,
            Some(U::ReadReference),
        ),
        r(
            Method::GET,
            "/api/v1/calendar/years",
            B::None,
            Some(U::ReadReference),
        ),
        r(
            Method::PUT,
            "/api/v1/calendar/years",
            B::Text("# years: 2027\n2027-01-01\tholiday\t元旦\n"),
            Some(U::EditCalendar),
        ),
        r(
            Method::POST,
            "/api/v1/queries",
            B::Json(|_| {
                json!({
                    "person_id": 1, "enquirer_name": "张三", "enquirer_id_number": "11010519491231002X",
                    "question": "参保登记", "purpose": "核对"
                })
            }),
            Some(U::RegisterQuery),
        ),
        r(
            Method::POST,
            "/api/v1/queries/search",
            B::Json(|_| json!({})),
            Some(U::ReadQueryRegister),
        ),
        r(
            Method::POST,
            "/api/v1/queries/export",
            B::Json(|_| json!({})),
            Some(U::ReadQueryRegister),
        ),
        r(
            Method::POST,
            "/api/v1/users",
            B::Json(|i| json!({"username": format!("walk{i}"), "role": "window"})),
            Some(U::ManageUsers),
        ),
        r(Method::GET, "/api/v1/users", B::None, Some(U::ManageUsers)),
        r(
            Method::PUT,
            "/api/v1/users/{user}/role",
            B::Json(|_| json!({"role": "window"})),
            Some(U::ManageUsers),
        ),
        r(
            Method::POST,
            "/api/v1/users/{user}/password-reset",
            B::None,
            Some(U::ManageUsers),
        ),
        r(
            Method::POST,
            "/api/v1/users/{user}/unlock",
            B::None,
            Some(U::ManageUsers),
        ),
        r(
            Method::POST,
            "/api/v1/users/requests",
            B::Json(
                |i| json!({"kind": "create", "username": format!("walkofficer{i}"), "role": "auditor", "reason": "岗位增补"}),
            ),
            Some(U::RequestOfficerChange),
        ),
        r(
            Method::GET,
            "/api/v1/users/requests?state=all",
            B::None,
            Some(U::ApproveOfficerChange),
        ),
        r(
            Method::POST,
            "/api/v1/users/requests/999999/approve",
            B::None,
            Some(U::ApproveOfficerChange),
        ),
        r(
            Method::POST,
            "/api/v1/users/requests/999999/reject",
            B::Json(|_| json!({"note": "不需要"})),
            Some(U::ApproveOfficerChange),
        ),
        r(
            Method::POST,
            "/api/v1/tokens",
            B::Json(|i| json!({"name": format!("walk{i}"), "scopes": ["reference:read"]})),
            Some(U::ManageTokens),
        ),
        r(
            Method::GET,
            "/api/v1/tokens",
            B::None,
            Some(U::ManageTokens),
        ),
        r(
            Method::DELETE,
            "/api/v1/tokens/{token}",
            B::None,
            Some(U::ManageTokens),
        ),
        r(Method::GET, "/api/v1/audit/log", B::None, Some(U::ReadLog)),
        r(
            Method::POST,
            "/api/v1/audit/verify",
            B::None,
            Some(U::VerifyLog),
        ),
        r(
            Method::POST,
            "/api/v1/audit/anchor",
            B::None,
            Some(U::VerifyLog),
        ),
        r(
            Method::GET,
            "/api/v1/tasks?post=collection&state=overdue",
            B::None,
            Some(U::ReadWorkflow),
        ),
        r(
            Method::POST,
            "/api/v1/handovers",
            B::Json(|_| json!({"items": [{"material_id": 1}]})),
            Some(U::HandOver),
        ),
        r(
            Method::GET,
            "/api/v1/handovers?state=open&limit=10&offset=0",
            B::None,
            Some(U::ReadWorkflow),
        ),
        r(
            Method::GET,
            "/api/v1/handovers/1",
            B::None,
            Some(U::ReadWorkflow),
        ),
        r(
            Method::POST,
            "/api/v1/handovers/1/confirm",
            B::Json(|_| json!({"items": []})),
            Some(U::ReceiveHandover),
        ),
        r(
            Method::GET,
            "/api/v1/handovers/1/print",
            B::None,
            Some(U::ReadWorkflow),
        ),
        r(
            Method::GET,
            "/api/v1/supplements?state=open",
            B::None,
            Some(U::ReadWorkflow),
        ),
        r(
            Method::POST,
            "/api/v1/supplements/1/contact",
            B::Json(|_| json!({"method": "phone", "who": "本人", "note": "已通知"})),
            Some(U::ManageSupplements),
        ),
        r(
            Method::POST,
            "/api/v1/supplements/2/fulfil",
            B::Json(|_| json!({"pages": 1, "explanation": "补交"})),
            Some(U::ManageSupplements),
        ),
        r(
            Method::POST,
            "/api/v1/supplements/1/close",
            B::Json(|_| json!({"explanation": "材料缺失"})),
            Some(U::ManageSupplements),
        ),
        r(
            Method::GET,
            "/api/v1/volumes?year=2024&business_class=registration",
            B::None,
            Some(U::ReadWorkflow),
        ),
        r(
            Method::POST,
            "/api/v1/volumes/build",
            B::Json(|_| json!({"year": 2024, "business_class": "registration"})),
            Some(U::Organise),
        ),
        r(
            Method::GET,
            "/api/v1/volumes/999999",
            B::None,
            Some(U::ReadWorkflow),
        ),
        r(
            Method::PUT,
            "/api/v1/volumes/999999/note",
            B::Json(|_| json!({"note": "备考"})),
            Some(U::Organise),
        ),
        r(
            Method::POST,
            "/api/v1/volumes/999999/seal",
            B::None,
            Some(U::Organise),
        ),
        r(
            Method::GET,
            "/api/v1/volumes/999999/print",
            B::None,
            Some(U::ReadWorkflow),
        ),
        r(
            Method::GET,
            "/api/v1/volumes/labels?year=2024&class=registration",
            B::None,
            Some(U::ReadWorkflow),
        ),
        r(
            Method::GET,
            "/api/v1/volumes/999999/location",
            B::None,
            Some(U::ReadWorkflow),
        ),
        r(
            Method::POST,
            "/api/v1/volumes/999999/location",
            B::Json(|_| json!({"to": "K01-A-1"})),
            Some(U::PlaceVolumes),
        ),
        r(
            Method::POST,
            "/api/v1/volumes/999999/take-out",
            B::Json(|_| json!({"reason": "修复"})),
            Some(U::PlaceVolumes),
        ),
        r(Method::GET, "/api/v1/rooms", B::None, Some(U::ReadRoom)),
        r(
            Method::POST,
            "/api/v1/rooms",
            B::Json(|i| json!({"code": format!("R{i}"), "name": "库房", "area_m2": "20"})),
            Some(U::ConfigureRooms),
        ),
        r(
            Method::GET,
            "/api/v1/rooms/999999",
            B::None,
            Some(U::ReadRoom),
        ),
        r(
            Method::PUT,
            "/api/v1/rooms/999999",
            B::Json(|_| json!({"name": "库房", "area_m2": "20"})),
            Some(U::ConfigureRooms),
        ),
        r(
            Method::POST,
            "/api/v1/rooms/999999/places",
            B::Json(|_| json!({"kind": "shelving", "segment": "A"})),
            Some(U::ConfigureRooms),
        ),
        r(
            Method::GET,
            "/api/v1/rooms/999999/labels",
            B::None,
            Some(U::ReadRoom),
        ),
        r(
            Method::POST,
            "/api/v1/rooms/999999/stocktakes",
            B::Json(|_| json!({})),
            Some(U::TakeStock),
        ),
        r(
            Method::GET,
            "/api/v1/stocktakes/999999",
            B::None,
            Some(U::ReadRoom),
        ),
        r(
            Method::POST,
            "/api/v1/stocktakes/999999/scans",
            B::Json(|_| json!({"place": "K01-A-1", "code": "V00000001"})),
            Some(U::TakeStock),
        ),
        r(
            Method::POST,
            "/api/v1/stocktakes/999999/close",
            B::None,
            Some(U::TakeStock),
        ),
        r(
            Method::GET,
            "/api/v1/stocktakes/999999/print",
            B::None,
            Some(U::ReadRoom),
        ),
        r(
            Method::POST,
            "/api/v1/persons/{person}/corrections",
            B::Json(|_| json!({"field": "tier", "new_value": "300", "basis": "申请表"})),
            Some(U::CorrectData),
        ),
        r(
            Method::GET,
            "/api/v1/persons/{person}/corrections",
            B::None,
            Some(U::ReadArchive),
        ),
        r(Method::GET, "/api/v1/outbox", B::None, Some(U::CorrectData)),
        r(
            Method::GET,
            "/api/v1/outbox?state=all&limit=10",
            B::None,
            Some(U::CorrectData),
        ),
        r(
            Method::GET,
            "/api/v1/outbox/999999/deliveries",
            B::None,
            Some(U::CorrectData),
        ),
        r(
            Method::POST,
            "/api/v1/outbox/999999/resend",
            B::None,
            Some(U::ResendOutbox),
        ),
        r(Method::GET, "/api/v1/equipment", B::None, Some(U::ReadRoom)),
        r(
            Method::POST,
            "/api/v1/equipment",
            B::Json(
                |_| json!({"room_id": 999999, "kind": "extinguisher", "name": "1号灭火器", "installed_on": "2025-01-10", "interval_months": 12}),
            ),
            Some(U::ConfigureRooms),
        ),
        r(
            Method::GET,
            "/api/v1/equipment/999999",
            B::None,
            Some(U::ReadRoom),
        ),
        r(
            Method::PUT,
            "/api/v1/equipment/999999",
            B::Json(
                |_| json!({"room_id": 999999, "kind": "camera", "name": "摄像头", "installed_on": "2025-01-10", "interval_months": 12}),
            ),
            Some(U::ConfigureRooms),
        ),
        r(
            Method::POST,
            "/api/v1/equipment/999999/retire",
            B::Json(|_| json!({"reason": "报废"})),
            Some(U::ConfigureRooms),
        ),
        r(
            Method::POST,
            "/api/v1/equipment/999999/inspections",
            B::Json(|_| json!({"result": "normal"})),
            Some(U::RecordCustody),
        ),
        r(
            Method::GET,
            "/api/v1/rooms/checks",
            B::None,
            Some(U::ReadRoom),
        ),
        r(
            Method::GET,
            "/api/v1/rooms/capacity",
            B::None,
            Some(U::ReadRoom),
        ),
        r(
            Method::POST,
            "/api/v1/materials/999999/damage",
            B::Json(|_| json!({"degree": "light", "cause": "撕裂"})),
            Some(U::RecordDamage),
        ),
        r(
            Method::POST,
            "/api/v1/materials/999999/loss",
            B::Json(|_| json!({"reported_to": "主任"})),
            Some(U::RecordDamage),
        ),
        r(
            Method::GET,
            "/api/v1/materials/999999/incidents",
            B::None,
            Some(U::ReadWorkflow),
        ),
        r(
            Method::POST,
            "/api/v1/damage/999999/repair",
            B::Json(|_| json!({"result": "修复"})),
            Some(U::RecordDamage),
        ),
        r(
            Method::PUT,
            "/api/v1/losses/999999/steps",
            B::Json(
                |_| json!({"searched_handovers": true, "contacted_person": false, "recollected": false}),
            ),
            Some(U::RecordDamage),
        ),
        r(
            Method::POST,
            "/api/v1/sync/person-changes",
            B::Json(|_| json!({"source_system": "pension", "records": []})),
            Some(U::SyncRecords),
        ),
        r(
            Method::GET,
            "/api/v1/persons/{person}/changes",
            B::None,
            Some(U::ReadArchive),
        ),
        r(
            Method::POST,
            "/api/v1/archive",
            B::Text("not multipart"),
            Some(U::AutoArchive),
        ),
        r(
            Method::POST,
            "/api/v1/materials/999999/files",
            B::Text("%PDF-1.4 walk"),
            Some(U::IngestScans),
        ),
        r(
            Method::GET,
            "/api/v1/materials/{material}/files",
            B::None,
            Some(U::ReadArchive),
        ),
        r(
            Method::GET,
            "/api/v1/files/{file}/content",
            B::None,
            Some(U::ReadArchive),
        ),
        r(
            Method::GET,
            "/api/v1/files/999999/verification",
            B::None,
            Some(U::VerifyFiles),
        ),
        r(
            Method::GET,
            "/api/v1/files/{file}/checks",
            B::None,
            Some(U::ReadArchive),
        ),
        r(
            Method::GET,
            "/api/v1/vault/scrubs",
            B::None,
            Some(U::VerifyFiles),
        ),
        r(
            Method::POST,
            "/api/v1/files/999999/withdraw",
            B::Json(|_| json!({"reason": "误传"})),
            Some(U::IngestScans),
        ),
        r(
            Method::GET,
            "/api/v1/backups",
            B::None,
            Some(U::ReadBackups),
        ),
        r(Method::GET, "/api/v1/jobs", B::None, Some(U::ReadJobs)),
        r(
            Method::GET,
            "/api/v1/jobs/999999",
            B::None,
            Some(U::ReadJobs),
        ),
        r(
            Method::POST,
            "/api/v1/jobs",
            B::Json(|_| json!({"kind": "jobs.prune"})),
            Some(U::RunJobs),
        ),
        r(
            Method::POST,
            "/api/v1/sync/contributions",
            B::Json(|_| json!({"source_system": "pension", "records": []})),
            Some(U::SyncRecords),
        ),
        r(
            Method::POST,
            "/api/v1/sync/benefits",
            B::Json(|_| json!({"source_system": "pension", "records": []})),
            Some(U::SyncRecords),
        ),
        r(
            Method::POST,
            "/api/v1/environment/readings",
            B::Json(|_| json!({"logger": "TH-00", "readings": []})),
            Some(U::SubmitReadings),
        ),
        r(
            Method::GET,
            "/api/v1/rooms/999999/environment/print?month=2026-12",
            B::None,
            Some(U::ReadRoom),
        ),
        r(
            Method::GET,
            "/api/v1/rooms/999999/checks/print",
            B::None,
            Some(U::ReadRoom),
        ),
        // Routes that end or change the caller's session come last.
        r(
            Method::POST,
            "/api/v1/auth/password",
            B::Json(
                |_| json!({"current_password": "wrong-one-1", "new_password": "another-pass-2"}),
            ),
            Some(U::OwnAccount),
        ),
        r(
            Method::POST,
            "/api/v1/auth/logout-all",
            B::None,
            Some(U::OwnAccount),
        ),
        r(
            Method::POST,
            "/api/v1/auth/logout",
            B::None,
            Some(U::OwnAccount),
        ),
    ]
}

struct Ids {
    file: i64,
    person: i64,
    other: i64,
    event: i64,
    user: i64,
    token: i64,
    material: i64,
}

fn fill(path: &str, ids: &Ids) -> String {
    path.replace("{file}", &ids.file.to_string())
        .replace("{person}", &ids.person.to_string())
        .replace("{other}", &ids.other.to_string())
        .replace("{event}", &ids.event.to_string())
        .replace("{user}", &ids.user.to_string())
        .replace("{token}", &ids.token.to_string())
        .replace("{material}", &ids.material.to_string())
}

async fn call(
    s: &TestServer,
    token: Option<&str>,
    route: &Route,
    ids: &Ids,
    i: usize,
) -> (u16, Value) {
    let mut req = s.client.request(
        route.method.clone(),
        format!("{}{}", s.base_url, fill(route.path, ids)),
    );
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req = match &route.body {
        Body::None => req,
        Body::Json(f) => req.json(&f(i)),
        Body::Text(t) => req.header("content-type", "text/plain").body(*t),
    };
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn enrolment(person: i64) -> EventInput {
    EventInput {
        person_id: Some(person),
        business_type: "enrolment".into(),
        business_date: "2024-03-01".into(),
        materials: vec![MaterialInput {
            material_code: "enrolment_form".into(),
            pages: 1,
            ..MaterialInput::default()
        }],
        ..EventInput::default()
    }
}

/// A signed-in client of each role, and the ids it should use.
async fn cast(s: &TestServer) -> Vec<(String, Role, String, Ids)> {
    let t = &s.test_app;
    let app = &t.app;
    let someone = app
        .create_person(&t.admin, &person_input(1, "张三"))
        .await
        .unwrap();
    let event = app
        .record_event(&t.admin, &enrolment(someone.id.0))
        .await
        .unwrap()
        .event;
    let insured_input = person_input(2, "李四");
    let insured = app.create_person(&t.admin, &insured_input).await.unwrap();
    let own_event = app
        .record_event(&t.admin, &enrolment(insured.id.0))
        .await
        .unwrap()
        .event;
    let someone_file = app
        .ingest_file(
            &t.admin,
            event.materials[0].id,
            Some("a.pdf"),
            &b"%PDF-1.4 someone"[..],
        )
        .await
        .unwrap()
        .id
        .0;
    let own_file = app
        .ingest_file(
            &t.admin,
            own_event.materials[0].id,
            Some("b.pdf"),
            &b"%PDF-1.4 own"[..],
        )
        .await
        .unwrap()
        .id
        .0;
    let clerk = t.actor("clerk", Role::Window).await;
    let card = dangan_app::administration::accounts::BasisInput {
        basis: "card".into(),
        id_number: Some(insured_input.id_number.clone()),
    };
    let opened = app
        .open_insured_account(&clerk, insured.id, &card)
        .await
        .unwrap();
    let first = app
        .login_insured(&insured_input.id_number, &opened.initial_password, "t")
        .await
        .unwrap();
    app.change_password(
        &first.user,
        &first.token,
        &opened.initial_password,
        TEST_PASSWORD,
    )
    .await
    .unwrap();
    let target_user = t.actor("target", Role::Window).await;
    let mut out = Vec::new();
    for (i, role) in Role::STAFF.into_iter().enumerate() {
        let name = format!("{}{i}", role.code().replace('_', ""));
        let token = match role {
            Role::Admin => s.login("admin", TEST_PASSWORD).await,
            Role::SecurityOfficer => s.login("secadmin", TEST_PASSWORD).await,
            Role::Auditor => s.login("auditor", TEST_PASSWORD).await,
            _ => {
                t.actor(&name, role).await;
                s.login(&name, TEST_PASSWORD).await
            }
        };
        let tok = app
            .create_token(
                &t.security,
                &format!("victim{i}"),
                &["reference:read".into()],
            )
            .await
            .unwrap();
        let ids = Ids {
            file: someone_file,
            person: someone.id.0,
            other: someone.id.0,
            event: event.id.0,
            user: target_user.user_id().unwrap().0,
            token: tok.token.id.0,
            material: event.materials[0].id.0,
        };
        out.push((name, role, token, ids));
    }
    let login: Value = s
        .client
        .post(format!("{}/api/v1/auth/insured-login", s.base_url))
        .json(&json!({"id_number": insured_input.id_number, "password": TEST_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tok = app
        .create_token(&t.security, "victim-insured", &["reference:read".into()])
        .await
        .unwrap();
    out.push((
        "insured".into(),
        Role::Insured,
        login["token"].as_str().unwrap().to_owned(),
        Ids {
            file: own_file,
            person: insured.id.0,
            other: someone.id.0,
            event: own_event.id.0,
            user: target_user.user_id().unwrap().0,
            token: tok.token.id.0,
            material: own_event.materials[0].id.0,
        },
    ));
    let all_scopes: Vec<String> = UseCase::ALL
        .iter()
        .filter_map(|u| u.scope())
        .map(str::to_owned)
        .collect();
    let machine = app
        .create_token(&t.admin, "machine-all", &all_scopes)
        .await
        .unwrap();
    let tok = app
        .create_token(&t.security, "victim-machine", &["reference:read".into()])
        .await
        .unwrap();
    out.push((
        "machine".into(),
        Role::Machine,
        machine.secret,
        Ids {
            file: someone_file,
            person: someone.id.0,
            other: someone.id.0,
            event: event.id.0,
            user: target_user.user_id().unwrap().0,
            token: tok.token.id.0,
            material: event.materials[0].id.0,
        },
    ));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_every_role_as_the_matrix_says() {
    let s = TestServer::spawn(TestApp::start(TestDb::sqlite().await).await).await;
    let actors = cast(&s).await;
    let mut checked = 0;
    for (ai, (name, role, token, ids)) in actors.iter().enumerate() {
        for (ri, route) in routes().iter().enumerate() {
            let i = ai * 100 + ri;
            let (status, body) = call(&s, Some(token), route, ids, i).await;
            let code = body["error"]["code"].as_str().unwrap_or("");
            let refused = match role {
                Role::Insured => status == 404 && code == "not_found",
                _ => status == 403 && code == "forbidden",
            };
            let expected_refused = match route.use_case {
                None => false,
                Some(uc) => grant(*role, uc) == Grant::No,
            };
            // /my/… is the insured person's; staff asking for "my" records find none.
            let staff_asking_for_my =
                route.path.starts_with("/api/v1/my/") && *role != Role::Insured;
            if staff_asking_for_my {
                assert!(
                    status == 404 || status == 403,
                    "{name} {} → {status}",
                    route.path
                );
            } else {
                assert_eq!(
                    refused, expected_refused,
                    "{name} {} {} → {status} {body}",
                    route.method, route.path
                );
            }
            assert!(
                status < 500,
                "{name} {} {} → {status} {body}",
                route.method,
                route.path
            );
            checked += 1;
        }
    }
    assert_eq!(checked, actors.len() * routes().len());
}

#[test]
fn the_walk_covers_every_route_in_the_router() {
    let source = include_str!("../src/router.rs");
    let mut in_router = BTreeSet::new();
    for chunk in source.split(".route(").skip(1) {
        let path = chunk.split('"').nth(1).unwrap();
        let end = chunk
            .find(".route(")
            .or_else(|| chunk.find(".fallback("))
            .unwrap_or(chunk.len());
        for method in ["get", "post", "put", "delete"] {
            if chunk[..end].contains(&format!("{method}(api::")) {
                let full = if path == "/healthz" || path == "/readyz" {
                    path.to_owned()
                } else {
                    format!("/api/v1{path}")
                };
                in_router.insert((method.to_uppercase(), full));
            }
        }
    }
    let walked: BTreeSet<(String, String)> = routes()
        .iter()
        .map(|r| {
            let p = r
                .path
                .split('?')
                .next()
                .unwrap()
                .replace("{person}", "{id}")
                .replace("{other}", "{id}")
                .replace("{event}", "{id}")
                .replace("{user}", "{id}")
                .replace("{token}", "{id}")
                .replace("{file}", "{id}")
                .replace("{material}", "{id}");
            let p: String = p
                .split('/')
                .map(|seg| {
                    if !seg.is_empty() && seg.chars().all(|c| c.is_ascii_digit()) && seg != "110105"
                    {
                        "{id}"
                    } else {
                        seg
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            (r.method.to_string(), p)
        })
        .collect();
    let in_router: BTreeSet<(String, String)> = in_router
        .into_iter()
        .map(|(m, p)| (m, p.replace("{code}", "110105")))
        .collect();
    let missing: Vec<_> = in_router.difference(&walked).collect();
    assert!(
        missing.is_empty(),
        "routes not in the permission walk: {missing:?}"
    );
    assert!(in_router.len() >= 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_insured_person_probing_other_ids_gets_404_everywhere_and_is_logged() {
    let s = TestServer::spawn(TestApp::start(TestDb::sqlite().await).await).await;
    let actors = cast(&s).await;
    let (_, _, token, ids) = actors.iter().find(|a| a.1 == Role::Insured).unwrap();
    let other = ids.other;
    let other_event = actors[0].3.event;
    let probes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/api/v1/persons/{other}"), None),
        (Method::GET, format!("/api/v1/persons/{other}/events"), None),
        (Method::GET, format!("/api/v1/events/{other_event}"), None),
        (
            Method::POST,
            format!("/api/v1/persons/{other}/account"),
            Some(json!({"basis": "card", "id_number": "11010519491231002X"})),
        ),
        (
            Method::POST,
            "/api/v1/events".into(),
            Some(
                json!({"person_id": other, "business_type": "enrolment", "business_date": "2024-01-01"}),
            ),
        ),
        (
            Method::POST,
            "/api/v1/queries".into(),
            Some(
                json!({"person_id": other, "enquirer_name": "李四", "enquirer_id_number": "11010519491231002X", "question": "x", "purpose": "y"}),
            ),
        ),
        (
            Method::POST,
            "/api/v1/persons/search".into(),
            Some(json!({"name": "张"})),
        ),
        (Method::GET, "/api/v1/persons/999999".into(), None),
    ];
    for (method, path, body) in &probes {
        let mut req = s
            .client
            .request(method.clone(), format!("{}{path}", s.base_url))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 404, "{method} {path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            body["error"]["code"], "not_found",
            "{method} {path}: the same answer whether or not it exists"
        );
    }
    let auditor = s.login("auditor", TEST_PASSWORD).await;
    let log: Value = s
        .client
        .get(format!(
            "{}/api/v1/audit/log?actor_kind=insured&actor_id={}&outcome=not_found&limit=100",
            s.base_url, ids.person
        ))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(log.as_array().unwrap().len() >= probes.len(), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_gets_a_clear_4xx_and_changes_nothing() {
    let s = TestServer::spawn(TestApp::start(TestDb::sqlite().await).await).await;
    let t = &s.test_app;
    let p = t
        .app
        .create_person(&t.admin, &person_input(9, "张三"))
        .await
        .unwrap();
    let token = s.login("admin", TEST_PASSWORD).await;
    let url = |p: &str| format!("{}{p}", s.base_url);
    let count = || async {
        let v: Value = s
            .client
            .post(url("/api/v1/persons/search"))
            .bearer_auth(&token)
            .json(&json!({"division_code": "430321"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["total"].as_i64().unwrap()
    };
    assert_eq!(count().await, 1);

    // SQL metacharacters in every text field are data, never SQL.
    let sql = "'; DROP TABLE persons; --";
    let res = s.client.post(url("/api/v1/persons")).bearer_auth(&token)
        .json(&json!({"id_number": person_input(10, "x").id_number, "name": sql, "division_code": "430321"}))
        .send().await.unwrap();
    assert_eq!(res.status(), 422);
    let res = s
        .client
        .post(url("/api/v1/persons/search"))
        .bearer_auth(&token)
        .json(&json!({"name": "' OR '1'='1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["total"], 0);
    let res = s.client.post(url("/api/v1/events")).bearer_auth(&token)
        .json(&json!({"person_id": p.id.0, "business_type": "enrolment", "business_date": "2024-01-01", "remarks": sql, "handler": "O'Brien",
                      "materials": [{"material_code": "enrolment_form", "pages": 1, "remarks": "\" OR 1=1 --"}]}))
        .send().await.unwrap();
    assert_eq!(res.status(), 201);
    let ev: Value = res.json().await.unwrap();
    assert_eq!(ev["event"]["remarks"], sql);
    assert_eq!(ev["event"]["handler"], "O'Brien");
    assert_eq!(count().await, 1, "the persons table is intact");

    // Path traversal in names.
    for path in [
        "/api/v1/divisions/..%2F..%2Fetc%2Fpasswd",
        "/api/v1/persons/..%2F1",
        "/api/v1/../../etc/passwd",
        "/api/v1/events/%2e%2e",
    ] {
        let res = s
            .client
            .get(url(path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error(), "{path} → {}", res.status());
    }

    // Control characters (a header-injection attempt carried in a field) are refused.
    let res = s.client.post(url("/api/v1/events")).bearer_auth(&token)
        .json(&json!({"person_id": p.id.0, "business_type": "enrolment", "business_date": "2024-01-01", "source_system": "x\r\nSet-Cookie: a=b"}))
        .send().await.unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["field"],
        "source_system"
    );

    // A raw request with a broken header line is refused by the HTTP layer.
    let addr = s.base_url.trim_start_matches("http://").to_owned();
    let raw = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut c = std::net::TcpStream::connect(&addr).unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\rb\r\n\r\n")
            .unwrap();
        let mut out = String::new();
        let _ = c.read_to_string(&mut out);
        out
    })
    .await
    .unwrap();
    assert!(raw.is_empty() || raw.starts_with("HTTP/1.1 400"), "{raw}");

    // A huge body and malformed JSON.
    let res = s
        .client
        .post(url("/api/v1/persons"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(vec![b'['; 3 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    // A new connection: the server may close the one it refused the huge body on.
    let res = reqwest::Client::new()
        .post(url("/api/v1/persons"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"name\": }")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(count().await, 1);
}

/// An `application/x-www-form-urlencoded` body.
fn form_body(fields: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A page request: method, path and, for a POST, the form fields.
type PageCall = (Method, String, Option<Vec<(&'static str, String)>>);

/// The CSRF token of a page session (as the UI derives it from the session token).
fn csrf_of(token: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(format!("dangan-csrf\n{token}").as_bytes())[..16])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_that_returns_person_data_refuses_every_staff_role_without_a_registered_query()
{
    let s = TestServer::spawn(TestApp::start(TestDb::sqlite().await).await).await;
    let t = &s.test_app;
    let app = &t.app;
    let victim = person_input(7, "欧阳秘");
    let p = app.create_person(&t.admin, &victim).await.unwrap();
    let event = app
        .record_event(&t.admin, &enrolment(p.id.0))
        .await
        .unwrap()
        .event;
    let material = event.materials[0].id;
    // The S6.1 name of a hot-folder scan carries the full identity number.
    let s61 = format!("2024-参保登记-{}-参保登记表.pdf", victim.id_number);
    let file = app
        .ingest_file(&t.admin, material, Some(&s61), &b"%PDF-1.4 secret"[..])
        .await
        .unwrap();
    let masked = dangan_domain::id_number::mask(&victim.id_number);
    let ids = Ids {
        file: file.id.0,
        person: p.id.0,
        other: p.id.0,
        event: event.id.0,
        user: 0,
        token: 0,
        material: material.0,
    };
    // Every API route the matrix decides by the archive read, and the routes that act on an
    // opened archive or for the person.
    let mut api: Vec<Route> = routes()
        .into_iter()
        .filter(|r| r.use_case == Some(UseCase::ReadArchive))
        .collect();
    assert!(api.len() >= 10, "{}", api.len());
    api.push(Route {
        method: Method::GET,
        path: "/api/v1/files/{file}/content?name=full",
        body: Body::None,
        use_case: Some(UseCase::ReadArchive),
    });
    api.push(Route {
        method: Method::POST,
        path: "/api/v1/persons/{person}/corrections",
        body: Body::Json(|_| json!({"field": "tier", "new_value": "300", "basis": "申请表", "proof_material_id": 1})),
        use_case: Some(UseCase::CorrectData),
    });
    api.push(Route {
        method: Method::POST,
        path: "/api/v1/persons/{person}/account",
        body: Body::Json(|_| json!({"basis": "query"})),
        use_case: Some(UseCase::ManageInsuredAccounts),
    });
    let leaks = |body: &str| {
        [
            victim.id_number.as_str(),
            &victim.id_number[6..14],
            masked.as_str(),
            "欧阳秘",
            "参保登记表",
            "secret",
        ]
        .into_iter()
        .find(|needle| body.contains(needle))
        .map(str::to_owned)
    };
    let mut checked = 0;
    for (i, role) in Role::STAFF.into_iter().enumerate() {
        let name = match role {
            Role::Admin => "admin".to_owned(),
            Role::SecurityOfficer => "secadmin".to_owned(),
            Role::Auditor => "auditor".to_owned(),
            _ => {
                let name = format!("reader{i}");
                t.actor(&name, role).await;
                name
            }
        };
        let token = s.login(&name, TEST_PASSWORD).await;
        for (ri, route) in api.iter().enumerate() {
            let (status, body) = call(&s, Some(&token), route, &ids, ri).await;
            let code = body["error"]["code"].as_str().unwrap_or("");
            let refused = (status == 403
                && matches!(code, "forbidden" | "query_registration_required"))
                || (route.path.starts_with("/api/v1/my/") && status == 404);
            assert!(
                refused,
                "{name} {} {} → {status} {body}",
                route.method, route.path
            );
            assert_eq!(leaks(&body.to_string()), None, "{name} {}", route.path);
            checked += 1;
        }
        // The same through the pages, with the page session.
        let cookie = format!("dangan_session={token}");
        let csrf = csrf_of(&token);
        let pages: Vec<PageCall> = vec![
            (Method::GET, format!("/persons/{}", p.id), None),
            (Method::GET, format!("/persons/{}/corrections", p.id), None),
            (Method::GET, format!("/files/{}", file.id), None),
            (Method::GET, format!("/files/{}/raw", file.id), None),
            (
                Method::POST,
                format!("/persons/{}/account", p.id),
                Some(vec![("_csrf", csrf.clone()), ("basis", "query".into())]),
            ),
        ];
        for (method, path, form) in pages {
            let mut req = s
                .client
                .request(method.clone(), format!("{}{path}", s.base_url))
                .header("cookie", &cookie);
            if let Some(f) = &form {
                let fields: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
                req = req
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(form_body(&fields));
            }
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let body = res.text().await.unwrap();
            let registration_form = status == 200 && body.contains("id=\"query-form\"");
            assert!(
                registration_form || matches!(status, 403 | 422),
                "{name} {method} {path} → {status}"
            );
            assert_eq!(leaks(&body), None, "{name} {method} {path}");
            checked += 1;
        }
        // The kiosk's staff-assisted sign-in on a query this clerk never registered.
        let res = s
            .client
            .post(format!("{}/kiosk/assisted", s.base_url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&[
                ("id_number", victim.id_number.as_str()),
                ("basis", "query"),
                ("staff_username", name.as_str()),
                ("staff_password", TEST_PASSWORD),
            ]))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{name} kiosk");
        let session = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("dangan_session=dgp_"));
        assert!(!session, "{name}: no insured session without a basis");
        assert_eq!(leaks(&res.text().await.unwrap()), None, "{name} kiosk");
        checked += 1;
    }
    assert_eq!(checked, Role::STAFF.len() * (api.len() + 6));
    // Each refusal of a staff member who may read archives is in the operation log.
    let denied = app
        .search_log(
            &t.auditor,
            &dangan_app::security::audit::LogQuery {
                outcome: Some("denied".into()),
                limit: Some(1000),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    for action in [
        "file.list",
        "file.read",
        "file.checks",
        "person.read",
        "person.correct",
        "insured.account_open",
        "auth.insured_assisted",
    ] {
        assert!(
            denied
                .iter()
                .any(|e| e.action == action && e.actor_name == "reader1"),
            "{action} is logged as denied"
        );
    }
    assert!(
        denied
            .iter()
            .all(|e| !e.detail.contains(&victim.id_number[6..14])),
        "no full number in the log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_names_show_the_identity_number_masked_in_lists_titles_and_the_viewer() {
    let s = TestServer::spawn(TestApp::start(TestDb::sqlite().await).await).await;
    let t = &s.test_app;
    let victim = person_input(8, "上官洁");
    let p = t.app.create_person(&t.admin, &victim).await.unwrap();
    let event = t
        .app
        .record_event(&t.admin, &enrolment(p.id.0))
        .await
        .unwrap()
        .event;
    let material = event.materials[0].id;
    let s61 = format!("2024-参保登记-{}-参保登记表.pdf", victim.id_number);
    let file = t
        .app
        .ingest_file(&t.admin, material, Some(&s61), &b"%PDF-1.4 named"[..])
        .await
        .unwrap();
    let masked_name = format!(
        "2024-参保登记-{}-参保登记表.pdf",
        dangan_domain::id_number::mask(&victim.id_number)
    );
    let window = t.actor("window1", Role::Window).await;
    t.register(&window, p.id).await;
    let token = s.login("window1", TEST_PASSWORD).await;
    let get = |path: String, bearer: bool| {
        let req = s.client.get(format!("{}{path}", s.base_url));
        if bearer {
            req.bearer_auth(&token)
        } else {
            req.header("cookie", format!("dangan_session={token}"))
        }
    };
    let listed: Value = get(format!("/api/v1/materials/{material}/files"), true)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["original_name"], masked_name.as_str());
    for (what, path) in [
        ("the archive tree", format!("/persons/{}", p.id)),
        ("the viewer", format!("/files/{}", file.id)),
    ] {
        let res = get(path, false).send().await.unwrap();
        assert_eq!(res.status(), 200, "{what}");
        let page = res.text().await.unwrap();
        assert!(page.contains(&masked_name), "{what} shows the masked name");
        assert!(!page.contains(&victim.id_number), "{what}: {page}");
    }
    let viewer = get(format!("/files/{}", file.id), false)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        viewer.contains(&format!("<title>{masked_name}")),
        "the title"
    );
    // The download keeps its S6.1 name masked by default, as before.
    let res = get(format!("/api/v1/files/{}/content", file.id), true)
        .send()
        .await
        .unwrap();
    let disposition = res.headers()["content-disposition"].to_str().unwrap();
    assert!(!disposition.contains(&victim.id_number), "{disposition}");
    // The operation log has the reads, never the number.
    let log = t
        .app
        .search_log(
            &t.auditor,
            &dangan_app::security::audit::LogQuery {
                action: Some("file.".into()),
                limit: Some(100),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        log.iter()
            .any(|e| e.action == "file.list" && e.actor_name == "window1")
    );
    assert!(log.iter().all(|e| !e.detail.contains(&victim.id_number)));
}
