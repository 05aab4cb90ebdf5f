//! What every browser test uses: ChromeDriver and Chromium, waiting for text, signing in,
//! screenshots.

use std::process::{Child, Command, Stdio};

use fantoccini::ClientBuilder;

pub use std::time::Duration;

pub use dangan_app::intake::events::{EventInput, MaterialInput};
pub use dangan_app::{Role, Settings};
pub use dangan_testkit::{TEST_PASSWORD, TestApp, TestDb, TestServer, person_input};
pub use fantoccini::{Client, Locator};

/// A chromedriver process and a browser session on it; both end when dropped.
pub struct Browser {
    pub client: Client,
    driver: Child,
}

impl Drop for Browser {
    /// Ends ChromeDriver and every Chromium process it started (they share its process group),
    /// even when the test panicked.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Records an enrolment (参保登记) of the person with one paper material per code, by the
/// administrator, on 2024-05-06.
pub async fn paper_enrolment(
    t: &TestApp,
    person: i64,
    codes: &[&str],
) -> dangan_app::intake::events::EventView {
    let input = EventInput {
        person_id: Some(person),
        business_type: "enrolment".into(),
        business_date: "2024-05-06".into(),
        materials: codes
            .iter()
            .map(|code| MaterialInput {
                material_code: (*code).into(),
                pages: 1,
                carrier: Some("paper".into()),
                ..MaterialInput::default()
            })
            .collect(),
        ..EventInput::default()
    };
    t.app.record_event(&t.admin, &input).await.unwrap().event
}

/// A real 1×1 PNG (a browser can decode it), hex.
pub const TINY_PNG: &str = "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63fccfc0500f000485018084a98c210000000049454e44ae426082";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub async fn browser(width: u32, height: u32) -> Browser {
    let port = free_port();
    use std::os::unix::process::CommandExt;
    let driver = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is installed (apt-get install chromium chromium-driver; scripts/test does it)");
    let url = format!("http://127.0.0.1:{port}");
    let profile = tempfile::tempdir().unwrap().keep();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--lang=zh-CN",
                format!("--window-size={width},{height}"),
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    let mut last = None;
    for _ in 0..100 {
        match ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return Browser { client, driver },
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("cannot start a Chromium session: {last:?}");
}

/// Saves the page as the staff see it at a desk (1366 px wide) and on a phone (390 px wide),
/// as `target/ui-screenshots/{name}-1366.png` and `{name}-390.png`, then restores the window.
pub async fn screenshot(c: &Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let (w, h) = c.get_window_size().await.unwrap();
    for width in [1366u32, 390] {
        c.set_window_size(width, h as u32).await.unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
        let png = c.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}-{width}.png")), png).unwrap();
    }
    c.set_window_size(w as u32, h as u32).await.unwrap();
}

/// The text of the first element matching `css` once it contains `needle` (pages load and
/// navigate asynchronously: waits up to 10 s, across navigations).
pub async fn expect_text(c: &Client, css: &str, needle: &str) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(e) = c.find(Locator::Css(css)).await
            && let Ok(t) = e.text().await
        {
            if t.contains(needle) {
                return t;
            }
            last = t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never showed {needle:?}; last text: {last:?}");
}

pub async fn fill(c: &Client, css: &str, value: &str) {
    let e = c.find(Locator::Css(css)).await.unwrap();
    e.clear().await.unwrap();
    e.send_keys(value).await.unwrap();
}

/// Signs in and waits for the page the role lands on (its entry is the current one of the
/// navigation); returns that entry's label (`工作台`, `操作日志`, `用户与角色` …).
pub async fn staff_login(c: &Client, base: &str, user: &str) -> String {
    c.goto(&format!("{base}/")).await.unwrap();
    fill(c, "#username", user).await;
    fill(c, "#password", TEST_PASSWORD).await;
    c.find(Locator::Css("#login-form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    expect_text(c, "nav.side a[aria-current=page]", "").await
}

pub async fn no_horizontal_scroll(c: &Client) -> bool {
    c.execute(
        "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
        vec![],
    )
    .await
    .unwrap()
    .as_bool()
    .unwrap()
}

pub async fn logout(c: &Client) {
    c.find(Locator::Css("header form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    expect_text(c, "main h2", "工作人员登录").await;
}

pub async fn click(c: &Client, css: &str) {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

pub async fn register_and_open(c: &Client, base: &str, person: i64, id_number: &str) {
    c.goto(&format!("{base}/persons/{person}")).await.unwrap();
    expect_text(c, "main h1", "查询登记").await;
    fill(c, "#enquirer_name", "窗口代办").await;
    fill(c, "#enquirer_id_number", id_number).await;
    fill(c, "#question", "参保登记材料").await;
    fill(c, "#purpose", "办理业务").await;
    click(c, "#query-form button").await;
    expect_text(c, "main h1", "的档案").await;
}
