//! Sign-in at the HTTP edge (issue 13 §4): a refused address gets 429 with `Retry-After` from
//! the API and the pages alike; every failure answers alike; sign-in forms posted from another
//! site are refused; every page carries a Content-Security-Policy without inline script.

use dangan_app::Role;
use dangan_testkit::{TEST_PASSWORD, TestApp, TestDb, TestServer};
use reqwest::header;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn api_login(s: &TestServer, username: &str, password: &str) -> reqwest::Response {
    s.client
        .post(format!("{}/api/v1/auth/login", s.base_url))
        .json(&serde_json::json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

/// Posts a form with the given extra headers.
async fn form(
    s: &TestServer,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = client()
        .post(format!("{}{path}", s.base_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn an_address_that_keeps_failing_gets_429_with_retry_after_from_the_api_and_the_pages() {
    let server = TestServer::spawn(TestApp::start(TestDb::sqlite().await).await).await;
    for i in 0..10 {
        let res = api_login(&server, &format!("nobody{i}"), "wrong-pass-123").await;
        assert_eq!(res.status(), 401);
    }
    let res = api_login(&server, "admin", TEST_PASSWORD).await;
    assert_eq!(res.status(), 429);
    let wait: u64 = res.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((800..=900).contains(&wait), "{wait}");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_sign_ins");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("分钟后再试")
    );
    // The pages answer the same way, in Chinese, with the header.
    for (path, body) in [
        ("/login", format!("username=admin&password={TEST_PASSWORD}")),
        (
            "/my/login",
            "id_number=11010519491231002X&password=x-pass-123".to_owned(),
        ),
        (
            "/kiosk/login",
            "id_number=11010519491231002X&password=x-pass-123".to_owned(),
        ),
    ] {
        let res = form(&server, path, &body, &[]).await;
        assert_eq!(res.status(), 429, "{path}");
        assert!(res.headers().contains_key(header::RETRY_AFTER), "{path}");
        assert!(
            res.text().await.unwrap().contains("此地址登录失败次数过多"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn an_unknown_name_a_wrong_password_and_a_locked_account_get_the_same_answer() {
    let t = TestApp::start(TestDb::sqlite().await).await;
    t.actor("archivist1", Role::Archivist).await;
    let server = TestServer::spawn(t).await;
    let unknown = api_login(&server, "nobody", "wrong-pass-123").await;
    let unknown = (unknown.status(), unknown.text().await.unwrap());
    for _ in 0..5 {
        let wrong = api_login(&server, "archivist1", "wrong-pass-123").await;
        assert_eq!((wrong.status(), wrong.text().await.unwrap()), unknown);
    }
    let locked = api_login(&server, "archivist1", TEST_PASSWORD).await;
    assert_eq!((locked.status(), locked.text().await.unwrap()), unknown);
    assert_eq!(unknown.0, 401);
}

#[tokio::test]
async fn a_sign_in_form_posted_from_another_site_is_refused_in_chinese() {
    let t = TestApp::start(TestDb::sqlite().await).await;
    let server = TestServer::spawn(t).await;
    let own = server.base_url.clone();
    let staff = format!("username=admin&password={TEST_PASSWORD}");
    let insured = "id_number=11010519491231002X&password=x-pass-123".to_owned();
    let assisted = "id_number=11010519491231002X&staff_username=admin&staff_password=x".to_owned();
    for (path, body) in [
        ("/login", &staff),
        ("/my/login", &insured),
        ("/kiosk/login", &insured),
        ("/kiosk/assisted", &assisted),
    ] {
        for headers in [
            vec![("origin", "https://evil.example")],
            vec![("origin", "null")],
            vec![("sec-fetch-site", "cross-site")],
            vec![("origin", own.as_str()), ("sec-fetch-site", "same-site")],
        ] {
            let res = form(&server, path, body, &headers).await;
            assert_eq!(res.status(), 403, "{path} {headers:?}");
            let page = res.text().await.unwrap();
            assert!(page.contains("不是从本系统的页面提交的"), "{path}: {page}");
        }
    }
    // From the server's own page the sign-in goes through.
    let res = form(
        &server,
        "/login",
        &staff,
        &[("origin", own.as_str()), ("sec-fetch-site", "same-origin")],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert!(res.headers().contains_key(header::SET_COOKIE));
}

#[tokio::test]
async fn every_page_carries_a_content_security_policy_without_inline_script() {
    let server = TestServer::spawn(TestApp::start(TestDb::sqlite().await).await).await;
    let http = client();
    for path in ["/", "/my", "/kiosk"] {
        let res = http
            .get(format!("{}{path}", server.base_url))
            .send()
            .await
            .unwrap();
        let csp = res.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned();
        let script = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .unwrap_or_else(|| panic!("{path}: no script-src in {csp}"));
        assert_eq!(script, "script-src 'self'", "{path}");
        assert!(csp.contains("frame-ancestors 'self'"), "{csp}");
        assert!(!csp.contains("unsafe"), "{path}: {csp}");
        // Referrer-Policy lets the browser send the real Origin with our own forms.
        assert_eq!(res.headers()[header::REFERRER_POLICY], "same-origin");
    }
    // Swagger UI keeps its scripts on this server; only its styles may be inline.
    let res = http
        .get(format!("{}/api/docs", server.base_url))
        .send()
        .await
        .unwrap();
    let csp = res.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(csp.contains("style-src 'self' 'unsafe-inline'"), "{csp}");
    // JSON is not a document: no policy needed there.
    let res = http
        .get(format!("{}/healthz", server.base_url))
        .send()
        .await
        .unwrap();
    assert!(!res.headers().contains_key(header::CONTENT_SECURITY_POLICY));
    // And the templates hold no inline script for the policy to break.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let mut paths: Vec<std::path::PathBuf> = Vec::new();
    let mut dirs = vec![dir];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                paths.push(path);
            }
        }
    }
    assert!(
        paths.iter().any(|p| p.ends_with("print/volume.html")),
        "the prints are walked too"
    );
    for path in paths {
        let html = std::fs::read_to_string(&path).unwrap().to_lowercase();
        for part in html.split("<script").skip(1) {
            let tag = part.split('>').next().unwrap();
            assert!(tag.contains("src="), "{}: inline <script>", path.display());
        }
        for word in html.split(|c: char| c.is_whitespace()) {
            let handler = word.starts_with("on")
                && word.contains('=')
                && word[2..word.find('=').unwrap()]
                    .chars()
                    .all(|c| c.is_ascii_lowercase());
            assert!(!handler, "{}: an inline handler {word}", path.display());
        }
    }
}

#[tokio::test]
async fn an_unknown_address_gets_a_chinese_page_and_an_unknown_api_path_its_json_error() {
    let server = TestServer::spawn(TestApp::start(TestDb::sqlite().await).await).await;
    let res = server
        .client
        .get(format!("{}/no-such-page", server.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(res.text().await.unwrap().contains("页面不存在"));
    let res = server
        .client
        .get(format!("{}/api/v1/no-such-thing", server.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}
