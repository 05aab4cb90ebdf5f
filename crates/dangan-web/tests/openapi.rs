//! The API description: generated from the code, it must list exactly the routes of the router
//! (read from `router.rs`, where every route is declared), be OpenAPI 3.1 JSON that anyone may
//! fetch, and the Swagger UI page must load everything from this server.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use dangan_testkit::{TEST_PASSWORD, TestApp, TestDb, on_both_backends, person_input};

/// The methods axum routes by name in `router.rs`.
const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

struct Answer {
    status: StatusCode,
    content_type: String,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

async fn call(app: &TestApp, req: Request<Body>) -> Answer {
    let res = dangan_web::router(Arc::clone(&app.app))
        .oneshot(req)
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Answer {
        status,
        content_type,
        headers,
        body,
    }
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

/// The `(METHOD, path)` pairs of the `/api/v1` router, read from the source of `router.rs`: the
/// `.route("…", get(…).post(…))` calls between `let v1 = Router::new()` and its fallback.
fn routes_in_router_rs() -> BTreeSet<(String, String)> {
    let src = include_str!("../src/router.rs");
    let start = src
        .find("let v1 = Router::new()")
        .expect("router.rs builds the v1 router");
    let end = start
        + src[start..]
            .find(".fallback(")
            .expect("the v1 router has a fallback");
    let block = &src[start..end];
    for hidden in [".nest(", ".merge(", ".route_service(", ".nest_service("] {
        assert!(
            !block.contains(hidden),
            "the v1 router uses {hidden}: its routes would not be visible here; list them with .route"
        );
    }
    let mut routes = BTreeSet::new();
    let mut rest = block;
    while let Some(i) = rest.find(".route(") {
        rest = &rest[i + ".route(".len()..];
        // The path: the first string literal.
        let open = rest.find('"').unwrap();
        let close = open + 1 + rest[open + 1..].find('"').unwrap();
        let path = rest[open + 1..close].to_owned();
        // The method routers: up to the parenthesis that closes `.route(`.
        let mut depth = 1;
        let mut stop = rest.len();
        for (j, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        stop = j;
                        break;
                    }
                }
                _ => {}
            }
        }
        let args = &rest[close + 1..stop];
        let mut found = 0;
        for (j, _) in args.char_indices() {
            for m in METHODS {
                let preceded_ok = j == 0
                    || !args[..j]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_');
                if preceded_ok && args[j..].starts_with(&format!("{m}(")) {
                    routes.insert((m.to_uppercase(), path.clone()));
                    found += 1;
                }
            }
        }
        assert!(found > 0, "no method found for the route {path}");
        rest = &rest[stop..];
    }
    routes
}

/// The `(METHOD, path)` pairs of the description.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, _) in item.as_object().unwrap() {
            assert!(
                METHODS.contains(&method.as_str()),
                "{path}: {method} is not an operation"
            );
            ops.insert((method.to_uppercase(), path.clone()));
        }
    }
    ops
}

async fn description(app: &TestApp) -> Value {
    let answer = call(app, get("/api/v1/openapi.json")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer.content_type.starts_with("application/json"),
        "{}",
        answer.content_type
    );
    serde_json::from_slice(&answer.body).expect("the description is JSON")
}

#[tokio::test]
async fn the_description_lists_every_api_route_of_the_router_and_nothing_else() {
    let app = TestApp::start(TestDb::sqlite().await).await;
    let doc = description(&app).await;
    let routed = routes_in_router_rs();
    let described = operations(&doc);
    let undescribed: Vec<_> = routed.difference(&described).collect();
    let unrouted: Vec<_> = described.difference(&routed).collect();
    assert!(
        undescribed.is_empty() && unrouted.is_empty(),
        "routes without a #[utoipa::path] in ApiDoc: {undescribed:?}; described but not routed: {unrouted:?}"
    );
    // And the running router agrees: every described operation reaches a handler (not the 404
    // fallback, not 405), with its path parameters filled in.
    for (method, path) in &described {
        let uri = format!(
            "/api/v1{}",
            path.replace("{id}", "1").replace("{code}", "110105")
        );
        let req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(&uri)
            .body(Body::empty())
            .unwrap();
        let answer = call(&app, req).await;
        assert_ne!(
            answer.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {uri}"
        );
        if answer.status == StatusCode::NOT_FOUND {
            let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
            assert_ne!(
                body["error"]["message"], "请求的地址不存在",
                "{method} {uri} reaches the fallback"
            );
        }
    }
}

#[tokio::test]
async fn the_description_is_openapi_3_1_json_that_needs_no_sign_in() {
    let app = TestApp::start(TestDb::sqlite().await).await;
    let doc = description(&app).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "Dangan 档案 API");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(doc["security"][0]["bearer"], serde_json::json!([]));

    // Every reference resolves inside the document.
    let text = serde_json::to_string(&doc).unwrap();
    for reference in text.split("\"$ref\":\"").skip(1) {
        let target = reference.split('"').next().unwrap();
        let pointer = target.strip_prefix('#').expect("a local reference");
        assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
    }

    // Operation ids are unique; every operation that needs a token says what happens without
    // one, and every one says what a client error looks like.
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().expect("operationId");
            assert!(ids.insert(id.to_owned()), "{id} twice");
            let open = op["security"] == serde_json::json!([{}]);
            let responses = op["responses"].as_object().unwrap();
            if !open {
                assert!(responses.contains_key("401"), "{method} {path}: no 401");
            }
            assert!(responses.contains_key("500"), "{method} {path}: no 500");
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path}: no success answer"
            );
            if op
                .get("requestBody")
                .is_some_and(|b| b["content"].get("application/json").is_some())
            {
                for status in ["400", "413", "415", "422"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path}: a JSON body but no {status}"
                    );
                }
            }
        }
    }
    // Exactly these need no token.
    let mut open = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for op in item.as_object().unwrap().values() {
            if op["security"] == serde_json::json!([{}]) {
                open.insert(path.as_str());
            }
        }
    }
    assert_eq!(
        open,
        BTreeSet::from(["/auth/insured-login", "/auth/login", "/openapi.json"])
    );

    // The error body is the one the API sends.
    let err = &doc["components"]["schemas"]["ApiErrorBody"];
    assert_eq!(err["required"], serde_json::json!(["error"]));
    assert_eq!(
        err["properties"]["error"]["$ref"],
        "#/components/schemas/ApiErrorDetail"
    );
    let inner = &doc["components"]["schemas"]["ApiErrorDetail"];
    assert_eq!(inner["required"], serde_json::json!(["code", "message"]));
    let answer = call(&app, get("/api/v1/catalogue")).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    let body: Value = serde_json::from_slice(&answer.body).unwrap();
    let fields: BTreeSet<_> = body["error"].as_object().unwrap().keys().cloned().collect();
    let described: BTreeSet<_> = inner["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert!(fields.is_subset(&described), "{fields:?} vs {described:?}");
}

/// `src`/`href` attribute values of an HTML page.
fn asset_references(html: &str) -> Vec<String> {
    let mut refs = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            refs.push(part.split('"').next().unwrap().to_owned());
        }
    }
    refs
}

#[tokio::test]
async fn the_docs_page_answers_200_and_loads_only_assets_of_this_server() {
    let app = TestApp::start(TestDb::sqlite().await).await;
    let page = call(&app, get("/api/docs")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );
    // The security headers of every answer are there, and allow the page (it is not framed).
    assert_eq!(page.headers[header::X_FRAME_OPTIONS], "SAMEORIGIN");
    assert_eq!(page.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let html = String::from_utf8(page.body).unwrap();
    assert!(html.contains("<base href=\"/api/docs/\">"), "{html}");

    let refs = asset_references(&html);
    assert!(refs.iter().any(|r| r.ends_with(".js")), "{refs:?}");
    for r in &refs {
        assert!(
            !r.contains("//") && !r.contains(':'),
            "{r} is not an asset of this server"
        );
        if r == "/api/docs/" {
            continue; // the <base> itself
        }
        let path = format!("/api/docs/{}", r.trim_start_matches("./"));
        let asset = call(&app, get(&path)).await;
        assert_eq!(asset.status, StatusCode::OK, "{path}");
        // nosniff: a script or a style sheet is only used with its own content type.
        if path.ends_with(".js") {
            assert!(
                asset.content_type.contains("javascript"),
                "{path}: {}",
                asset.content_type
            );
        }
        if path.ends_with(".css") {
            assert!(
                asset.content_type.starts_with("text/css"),
                "{path}: {}",
                asset.content_type
            );
        }
    }

    // The page reads our description and sends it to no online validator.
    let init = call(&app, get("/api/docs/swagger-initializer.js")).await;
    let init = String::from_utf8(init.body).unwrap();
    assert!(init.contains("\"/api/v1/openapi.json\""), "{init}");
    assert!(init.contains("\"validatorUrl\": \"none\""), "{init}");
    assert!(
        !init.contains("http://") && !init.contains("https://"),
        "{init}"
    );
}

/// Follows `$ref`s to the schema itself.
fn resolve<'a>(doc: &'a Value, mut schema: &'a Value) -> &'a Value {
    while let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        schema = doc
            .pointer(r.trim_start_matches('#'))
            .expect("reference resolves");
    }
    schema
}

/// The schema's type, without `null`.
fn type_of(schema: &Value) -> Option<&str> {
    match &schema["type"] {
        Value::String(t) => Some(t),
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null"),
        _ => None,
    }
}

/// A small instance of `schema` that passes the checks the description states: its example, or
/// its required properties with plain values, so that a request gets past the first checks.
fn instance(doc: &Value, schema: &Value, depth: usize) -> Value {
    let schema = resolve(doc, schema);
    if let Some(example) = schema.get("example") {
        return example.clone();
    }
    if let Some(first) = schema["oneOf"].as_array().and_then(|s| s.first()) {
        return instance(doc, first, depth);
    }
    match type_of(schema) {
        Some("object") => {
            let required: Vec<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut out = serde_json::Map::new();
            for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                if required.contains(&name.as_str()) {
                    out.insert(name.clone(), instance(doc, property, depth + 1));
                }
            }
            Value::Object(out)
        }
        Some("array") if depth < 3 => {
            Value::Array(vec![instance(doc, &schema["items"], depth + 1)])
        }
        Some("array") => Value::Array(Vec::new()),
        Some("string") => {
            let pattern = schema["pattern"].as_str().unwrap_or("");
            let text = if schema["format"] == "date" {
                "2025-03-01".to_owned()
            } else if let Some(choices) = pattern
                .strip_prefix("^(")
                .and_then(|p| p.strip_suffix(")$"))
            {
                choices.split('|').next().unwrap().to_owned()
            } else if pattern.starts_with("^[0-9]{17}") {
                "11010519491231002X".to_owned()
            } else if pattern == "^[0-9]{6}$" {
                "110105".to_owned()
            } else if pattern.starts_with("^[0-9]{4}-") {
                "2025-01".to_owned()
            } else {
                "测试".to_owned()
            };
            Value::String(text)
        }
        Some("integer") => schema["minimum"]
            .as_i64()
            .map_or(json!(1), |m| json!(m.max(1))),
        Some("number") => json!(1),
        Some("boolean") => json!(false),
        _ => Value::Null,
    }
}

/// JSON pointers to every string (or string alternative) inside instances of `schema`.
fn text_fields(doc: &Value, schema: &Value, at: String, depth: usize, out: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if let Some(alternatives) = schema["oneOf"].as_array() {
        if alternatives
            .iter()
            .any(|a| type_of(resolve(doc, a)) == Some("string"))
        {
            out.push(at);
        }
        return;
    }
    match type_of(schema) {
        Some("string") => out.push(at),
        Some("object") if depth < 4 => {
            for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                text_fields(doc, property, format!("{at}/{name}"), depth + 1, out);
            }
        }
        Some("array") if depth < 4 => {
            text_fields(doc, &schema["items"], format!("{at}/0"), depth + 1, out);
        }
        _ => {}
    }
}

/// Sets the value at `pointer`, creating the objects and one-element arrays on the way.
fn set(root: &mut Value, pointer: &str, value: Value) {
    let mut at = root;
    let steps: Vec<&str> = pointer.split('/').skip(1).collect();
    for (i, step) in steps.iter().enumerate() {
        let last = i + 1 == steps.len();
        let next = if last {
            value.clone()
        } else if steps[i + 1].parse::<usize>().is_ok() {
            json!([])
        } else {
            json!({})
        };
        at = match step.parse::<usize>() {
            Ok(index) => {
                let items = at.as_array_mut().expect("an array");
                while items.len() <= index {
                    items.push(next.clone());
                }
                if last {
                    items[index] = value.clone();
                }
                &mut items[index]
            }
            Err(_) => {
                let fields = at.as_object_mut().expect("an object");
                let entry = fields.entry((*step).to_owned()).or_insert(next);
                if last {
                    *entry = value.clone();
                }
                entry
            }
        };
    }
}

on_both_backends! {
    async fn a_nul_in_any_text_of_any_body_or_query_gets_a_client_error_not_a_500(db: TestDb) {
        // PostgreSQL refuses a NUL inside text (SQLite stores it): every text input must be
        // checked before it reaches the database. The description is the map of those inputs.
        let app = TestApp::start(db).await;
        let person = app
            .app
            .create_person(&app.admin, &person_input(1, "张三"))
            .await
            .unwrap();
        app.register(&app.admin, person.id).await;
        let doc = description(&app).await;
        let mut tokens = std::collections::BTreeMap::new();
        for (tag, user) in [("accounts", "secadmin"), ("audit", "auditor"), ("", "admin")] {
            let login = app.app.login(user, TEST_PASSWORD, "test").await.unwrap();
            tokens.insert(tag, login.token);
        }
        let mut tried = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"].as_str().unwrap();
                if id == "logout" || id == "logout_all" {
                    continue;
                }
                let tag = op["tags"][0].as_str().unwrap();
                let token = tokens.get(tag).unwrap_or(&tokens[""]);
                let uri = format!(
                    "/api/v1{}",
                    path.replace("{id}", &person.id.to_string()).replace("{code}", "110105")
                );
                let body_schema = &op["requestBody"]["content"]["application/json"]["schema"];
                let body = (!body_schema.is_null()).then(|| instance(&doc, body_schema, 0));
                let mut cases: Vec<(String, Option<Value>)> = Vec::new();
                if let Some(body) = &body {
                    let mut fields = Vec::new();
                    text_fields(&doc, body_schema, String::new(), 0, &mut fields);
                    for field in fields {
                        let mut with_nul = body.clone();
                        set(&mut with_nul, &field, json!("a\u{0}b"));
                        cases.push((uri.clone(), Some(with_nul)));
                    }
                }
                for param in op["parameters"].as_array().into_iter().flatten() {
                    if param["in"] == "query" {
                        let name = param["name"].as_str().unwrap();
                        cases.push((format!("{uri}?{name}=a%00b"), body.clone()));
                    }
                }
                for (uri, body) in cases {
                    let mut req = Request::builder()
                        .method(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap())
                        .uri(&uri)
                        .header(header::AUTHORIZATION, format!("Bearer {token}"));
                    if body.is_some() {
                        req = req.header(header::CONTENT_TYPE, "application/json");
                    }
                    let text = body.as_ref().map(Value::to_string).unwrap_or_default();
                    let answer = call(&app, req.body(Body::from(text.clone())).unwrap()).await;
                    assert!(
                        answer.status.is_client_error() || answer.status.is_success(),
                        "{method} {uri} {text}: {} {}",
                        answer.status,
                        String::from_utf8_lossy(&answer.body)
                    );
                    tried += 1;
                }
            }
        }
        assert!(tried > 100, "only {tried} requests");
    }
}

/// utoipa names a schema after its Rust type: two wire types of one name in different modules
/// would silently share one schema, and the description would lie about one of them (a
/// capacity history once answered as the calendar's `YearView`).
#[test]
fn no_two_wire_types_share_a_schema_name() {
    fn walk(dir: &std::path::Path, seen: &mut std::collections::BTreeMap<String, Vec<String>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                walk(&path, seen);
                continue;
            }
            if path.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let mut schema = false;
            for line in text.lines() {
                let l = line.trim();
                if l.starts_with("#[derive(") && l.contains("ToSchema") {
                    schema = true;
                } else if schema && (l.starts_with("pub struct ") || l.starts_with("pub enum ")) {
                    let name = l
                        .split_whitespace()
                        .nth(2)
                        .unwrap()
                        .trim_end_matches(['{', ';', '('])
                        .to_owned();
                    seen.entry(name)
                        .or_default()
                        .push(path.display().to_string());
                    schema = false;
                } else if !l.starts_with("#[") && !l.starts_with("///") && !l.is_empty() {
                    schema = false;
                }
            }
        }
    }
    let mut seen = std::collections::BTreeMap::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut seen,
    );
    assert!(seen.len() > 50, "the wire types were read: {}", seen.len());
    let shared: Vec<_> = seen.iter().filter(|(_, v)| v.len() > 1).collect();
    assert!(shared.is_empty(), "schema names used twice: {shared:?}");
}
