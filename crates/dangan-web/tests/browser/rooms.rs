//! The archive room in the browser (issue 19): the custodian prints the shelf and spine labels —
//! their Code 128 barcodes read back by an independent decoder (zbar's `zbarimg`) from the
//! rendered page — then stocktakes a unit by typing codes as a USB scanner does (the code and
//! Enter), and sees each of the four outcomes.

use super::harness::*;
use dangan_app::custody::locations::PlaceVolumeInput;
use dangan_app::custody::rooms::{PlaceInput, RoomInput};
use dangan_domain::room::volume_code;
use fantoccini::key::Key;

/// The codes an independent decoder reads from a screenshot of the page, zoomed so that a
/// module is several pixels wide.
async fn decoded(c: &fantoccini::Client, name: &str) -> Vec<String> {
    let (w, h) = c.get_window_size().await.unwrap();
    c.set_window_size(2400, 1600).await.unwrap();
    c.execute(
        "document.body.style.zoom = '1.6'; window.scrollTo(0, 0);",
        vec![],
    )
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let png = c.screenshot().await.unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-zoomed.png"));
    std::fs::write(&path, png).unwrap();
    let out = std::process::Command::new("zbarimg")
        .args(["--raw", "-q", "-Sdisable", "-Scode128.enable"])
        .arg(&path)
        .output()
        .expect("zbarimg is installed (apt-get install zbar-tools; scripts/test does it)");
    c.execute("document.body.style.zoom = '1';", vec![])
        .await
        .unwrap();
    c.set_window_size(w as u32, h as u32).await.unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

async fn scan(c: &fantoccini::Client, css: &str, code: &str) {
    let e = c
        .wait()
        .at_most(std::time::Duration::from_secs(10))
        .for_element(fantoccini::Locator::Css(css))
        .await
        .unwrap();
    e.clear().await.unwrap();
    // A scanner types the code and Enter, which submits the form.
    e.send_keys(&format!("{code}{}", char::from(Key::Enter)))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custodian_prints_labels_whose_barcodes_decode_and_stocktakes_a_unit_by_scanning() {
    let t = TestApp::start(TestDb::sqlite().await).await;
    t.actor("keeper9", Role::Custodian).await;
    let room = t
        .app
        .create_room(
            &t.admin,
            &RoomInput {
                code: "K01".into(),
                name: "一号库房".into(),
                area_m2: "36.5".into(),
                separate_from_service: true,
                ..RoomInput::default()
            },
        )
        .await
        .unwrap()
        .room
        .id;
    let add = |parent, kind: &str, seg: &str, cap: Option<&str>| PlaceInput {
        parent_id: parent,
        kind: kind.into(),
        segment: seg.into(),
        name: None,
        capacity_mm: cap.map(str::to_owned),
    };
    let a = t
        .app
        .add_place(&t.admin, room, &add(None, "shelving", "A", None))
        .await
        .unwrap();
    for s in ["1", "2"] {
        t.app
            .add_place(&t.admin, room, &add(Some(a.id), "shelf", s, Some("800")))
            .await
            .unwrap();
    }
    let mut vols = Vec::new();
    for (n, y) in [(1, 2021), (2, 2022), (3, 2023)] {
        vols.push(t.sealed_volume(n, y, 3).await);
    }
    let code = |i: usize| volume_code(vols[i].id.0);
    for (i, place) in [(0, "K01-A-1"), (1, "K01-A-1"), (2, "K01-A-2")] {
        t.app
            .place_volume(
                &t.admin,
                &code(i),
                &PlaceVolumeInput {
                    to: place.into(),
                    reason: None,
                },
            )
            .await
            .unwrap();
    }
    let server = TestServer::spawn(t).await;
    let b = browser(1280, 900).await;
    let c = &b.client;
    let base = &server.base_url;
    assert_eq!(staff_login(c, base, "keeper9").await, "工作台");

    click(c, "nav.side a[href='/rooms']").await;
    expect_text(c, "#rooms", "一号库房").await;
    screenshot(c, "rooms").await;
    click(c, "#rooms a").await;
    expect_text(c, "#place-tree", "K01-A-1").await;
    screenshot(c, "room").await;

    // The shelf labels: every place of the room, each barcode readable by an outside decoder.
    c.goto(&format!("{base}/api/v1/rooms/{room}/labels"))
        .await
        .unwrap();
    expect_text(c, "#labels", "K01-A-2").await;
    screenshot(c, "labels-room").await;
    let codes = decoded(c, "labels-room").await;
    for want in ["K01-A", "K01-A-1", "K01-A-2"] {
        assert!(
            codes.iter().any(|c| c == want),
            "{want} not decoded: {codes:?}"
        );
    }
    // The spine labels of 2021's registration volumes carry the spine code.
    c.goto(&format!(
        "{base}/api/v1/volumes/labels?year=2021&class=registration"
    ))
    .await
    .unwrap();
    expect_text(c, "#labels", "2021-参保登记-001").await;
    let codes = decoded(c, "labels-spine").await;
    assert_eq!(codes, vec![code(0)]);

    // A stocktake of unit A, scanned as the scanner types.
    c.goto(&format!("{base}/rooms/{room}")).await.unwrap();
    scan(c, "#stocktake-place", "K01-A").await;
    expect_text(c, "#stocktake-state", "盘点中").await;
    scan(c, "#place", "K01-A-1").await;
    // The place field is empty, so Enter in it submits without a code: the page says so.
    expect_text(c, "#error", "条码").await;
    fill(c, "#place", "K01-A-1").await;
    scan(c, "#code", &code(0)).await;
    expect_text(c, "#count-in_place", "1").await;
    // The place is kept for the next spine; the second volume stands on shelf 2.
    scan(c, "#place", "k01-a-2").await;
    expect_text(c, "#error", "条码").await;
    fill(c, "#place", "K01-A-2").await;
    scan(c, "#code", &code(1)).await;
    expect_text(c, "#count-elsewhere", "1").await;
    assert_eq!(
        c.find(fantoccini::Locator::Css("#place"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("K01-A-2")
    );
    scan(c, "#code", "V99999999").await;
    expect_text(c, "#count-unexpected", "1").await;
    screenshot(c, "stocktake-scanning").await;
    click(c, "#close-form button").await;
    c.accept_alert().await.unwrap();
    expect_text(c, "#stocktake-state", "已完成").await;
    expect_text(c, "#count-missing", "1").await;
    let lines = expect_text(c, "#stocktake-lines", "未找到").await;
    assert!(lines.contains("2023-参保登记-001"), "{lines}");
    assert!(lines.contains("V99999999"), "{lines}");
    screenshot(c, "stocktake-result").await;
    click(c, "#print-stocktake").await;
    let handles = c.windows().await.unwrap();
    c.switch_to_window(handles.last().unwrap().clone())
        .await
        .unwrap();
    let report = expect_text(c, "body", "库房盘点报告").await;
    assert!(report.contains("未找到 1"), "{report}");
}
