//! The archive room over a real port (issue 19): a custodian sets up a room, places a sealed
//! volume by its scanned codes and counts it, through the JSON API and through the pages;
//! a bad field is a 422 with a Chinese message and a stable code; and the roles without the
//! custody duties are refused on the pages as on the API.

use serde_json::{Value, json};

use dangan_app::Role;
use dangan_testkit::{TEST_PASSWORD, TestApp, TestServer, on_both_backends};

async fn send(
    s: &TestServer,
    token: &str,
    method: reqwest::Method,
    path: &str,
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

on_both_backends! {
    async fn a_custodian_sets_up_a_room_places_a_volume_and_counts_it_through_the_api(db: TestDb) {
        let t = TestApp::start(db).await;
        t.actor("keeper1", Role::Custodian).await;
        let volume = t.sealed_volume(1, 2021, 4).await;
        let s = TestServer::spawn(t).await;
        let token = s.login("keeper1", TEST_PASSWORD).await;
        use reqwest::Method as M;

        let (status, room) = send(&s, &token, M::POST, "/rooms", Some(json!({"code": "k01", "name": "一号库房", "area_m2": "36.5", "separate_from_service": true}))).await;
        assert_eq!(status, 201, "{room}");
        assert_eq!((room["code"].as_str(), room["rh_range"].as_str()), (Some("K01"), Some("45–60 %")));
        let id = room["id"].as_i64().unwrap();
        let (status, unit) = send(&s, &token, M::POST, &format!("/rooms/{id}/places"), Some(json!({"kind": "shelving", "segment": "A"}))).await;
        assert_eq!(status, 201, "{unit}");
        let (status, shelf) = send(&s, &token, M::POST, &format!("/rooms/{id}/places"), Some(json!({"parent_id": unit["id"], "kind": "shelf", "segment": "1", "capacity_mm": "900"}))).await;
        assert_eq!((status, shelf["code"].as_str()), (201, Some("K01-A-1")));

        // A bad field: 422, a stable code, a Chinese message naming the field.
        let (status, err) = send(&s, &token, M::POST, &format!("/rooms/{id}/places"), Some(json!({"kind": "shelf", "segment": "2", "capacity_mm": "9"}))).await;
        assert_eq!((status, err["error"]["code"].as_str()), (422, Some("place_kind_not_allowed")), "{err}");
        assert!(err["error"]["message"].as_str().unwrap().contains("库房下不能设置层"), "{err}");
        let (status, err) = send(&s, &token, M::POST, &format!("/rooms/{id}/places"), Some(json!({"parent_id": unit["id"], "kind": "shelf", "segment": "2", "capacity_mm": "九百"}))).await;
        assert_eq!((status, err["error"]["field"].as_str()), (422, Some("capacity_mm")), "{err}");

        let vid = volume.id.0;
        let (status, at) = send(&s, &token, M::POST, &format!("/volumes/{vid}/location"), Some(json!({"to": "K01-A-1"}))).await;
        assert_eq!(status, 200, "{at}");
        assert_eq!((at["state"].as_str(), at["place"].as_str()), (Some("in_place"), Some("K01-A-1")));
        assert_eq!(at["moves"][0]["kind_label"], "上架");
        let (status, layout) = send(&s, &token, M::GET, &format!("/rooms/{id}"), None).await;
        assert_eq!(status, 200);
        assert_eq!((layout["capacity_mm"].as_i64(), layout["places"][0]["volumes"].as_i64()), (Some(900), Some(1)));

        let (status, st) = send(&s, &token, M::POST, &format!("/rooms/{id}/stocktakes"), Some(json!({}))).await;
        assert_eq!(status, 201, "{st}");
        let sid = st["id"].as_i64().unwrap();
        let (status, _) = send(&s, &token, M::POST, &format!("/stocktakes/{sid}/scans"), Some(json!({"place": "K01-A-1", "code": at["code"]}))).await;
        assert_eq!(status, 200);
        let (status, done) = send(&s, &token, M::POST, &format!("/stocktakes/{sid}/close"), None).await;
        assert_eq!(status, 200);
        assert_eq!(done["counts"], json!({"in_place": 1, "elsewhere": 0, "missing": 0, "unexpected": 0}));

        // The print views: the volume's cover names its place, the spine carries its barcode.
        let page = s.client.get(format!("{}/api/v1/volumes/{vid}/print", s.base_url)).bearer_auth(&token).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("存放位置：一号库房 K01-A-1"), "the cover names the place");
        assert!(page.contains(&format!("条码 V{vid:08}")), "the spine carries the barcode");
        let report = s.client.get(format!("{}/api/v1/stocktakes/{sid}/print", s.base_url)).bearer_auth(&token).send().await.unwrap().text().await.unwrap();
        assert!(report.contains("账实相符 1"), "{report}");
    }

    async fn the_pages_refuse_the_roles_without_custody_duties_as_the_api_does(db: TestDb) {
        let t = TestApp::start(db).await;
        t.actor("window1", Role::Window).await;
        t.actor("handler1", Role::Handler).await;
        let volume = t.sealed_volume(1, 2021, 2).await;
        let s = TestServer::spawn(t).await;
        for user in ["window1", "handler1"] {
            let token = s.login(user, TEST_PASSWORD).await;
            let cookie = format!("dangan_session={token}");
            for path in ["/rooms", "/places/K01-A-1", "/stocktakes/1"] {
                let res = s.client.get(format!("{}{path}", s.base_url)).header("cookie", &cookie).send().await.unwrap();
                assert_eq!(res.status(), 403, "{user} {path}");
            }
            let (status, err) = send(&s, &token, reqwest::Method::POST, &format!("/volumes/{}/location", volume.id.0), Some(json!({"to": "K01-A-1"}))).await;
            assert_eq!((status, err["error"]["code"].as_str()), (403, Some("forbidden")), "{user}");
        }
    }
}
