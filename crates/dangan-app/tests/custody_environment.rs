//! The custody post's daily check and environment monitoring (issue 19; S2.3, S7.1) on both
//! backends: daily-check tasks over the working-day calendar, logger batches and CSV imports,
//! one alert per room and measure delivered through the signed webhook, and who may send readings.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::NaiveDate;
use hmac::{KeyInit, Mac as _};
use serde_json::Value;

use dangan_app::administration::tasks::TaskQuery;
use dangan_app::custody::checks::{CheckInput, ItemInput};
use dangan_app::custody::environment::{ReadingBatch, ReadingInput};
use dangan_app::custody::rooms::RoomInput;
use dangan_app::ids::RoomId;
use dangan_app::integration::outbox::{OutboxQuery, WebhookSettings};
use dangan_app::security::audit::LogQuery;
use dangan_app::{Actor, Role, Settings};
use dangan_testkit::{TestApp, on_both_backends};

const SECRET: &[u8] = b"secret-of-the-agency-alert-receiver";

async fn room(t: &TestApp, code: &str) -> RoomId {
    let input = RoomInput {
        code: code.to_owned(),
        name: format!("{code}库房"),
        area_m2: "60".to_owned(),
        separate_from_service: true,
        ..RoomInput::default()
    };
    t.app.create_room(&t.admin, &input).await.unwrap().room.id
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn batch(logger: &str, readings: &[(&str, f64, f64)]) -> ReadingBatch {
    ReadingBatch {
        logger: logger.to_owned(),
        readings: readings
            .iter()
            .map(|(at, t, h)| ReadingInput {
                at: (*at).to_owned(),
                temperature: *t,
                humidity: *h,
            })
            .collect(),
    }
}

async fn check_all_normal(
    t: &TestApp,
    actor: &Actor,
    room: RoomId,
    temp: &str,
    rh: &str,
) -> Result<NaiveDate, dangan_app::AppError> {
    let items = t.app.custody_checklist(&t.admin, false).await.unwrap();
    let input = CheckInput {
        temperature: temp.to_owned(),
        humidity: rh.to_owned(),
        items: items
            .iter()
            .map(|i| ItemInput {
                item_id: i.id,
                result: "normal".to_owned(),
                note: None,
            })
            .collect(),
        note: None,
    };
    t.app.record_custody_check(actor, room, &input).await
}

fn code_of<T: std::fmt::Debug>(r: Result<T, dangan_app::AppError>) -> String {
    r.unwrap_err().code().to_owned()
}

type Received = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;

async fn receive(State(got): State<Received>, headers: HeaderMap, body: Bytes) -> StatusCode {
    got.lock().unwrap().push((headers, body.to_vec()));
    StatusCode::OK
}

async fn receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/hooks", axum::routing::post(receive))
        .with_state(Arc::clone(&got));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hooks"), got)
}

fn verifies(headers: &HeaderMap, body: &[u8]) -> bool {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (ts, sig) = (h("x-dangan-timestamp"), h("x-dangan-signature"));
    let Some(hex_mac) = sig.strip_prefix("hmac-sha256=") else {
        return false;
    };
    let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET).unwrap();
    m.update(ts.as_bytes());
    m.update(b".");
    m.update(body);
    m.verify_slice(&hex::decode(hex_mac).unwrap_or_default())
        .is_ok()
}

on_both_backends! {
    async fn a_missed_daily_check_becomes_overdue_across_a_holiday(db: TestDb) {
        let t = TestApp::start(db).await;
        // 2014 does not ship; the agency loads its notice: 国庆 1–7 October, 28 September and
        // 11 October (Sunday, Saturday) are make-up working days.
        t.app
            .load_calendar_notice(&t.admin, 2014, "2014-10-01 至 2014-10-07 国庆节", "2014-09-28 国庆节\n2014-10-11 国庆节")
            .await
            .unwrap();
        let k01 = room(&t, "K01").await;
        // The room was set up on Friday 26 September 2014.
        t.db.execute("UPDATE rooms SET created_at = '2014-09-26T01:00:00+00:00'").await;
        let system = Actor::system();
        t.app.open_custody_tasks(&system, day("2014-09-26")).await.unwrap();
        // Nobody checks on 26, 28, 29 or 30 September; the server is down over the holiday and
        // runs again on 11 October (a Saturday, a working day).
        let opened = t.app.open_custody_tasks(&system, day("2014-10-11")).await.unwrap();
        assert_eq!(opened, 7, "28 (a make-up Sunday), 29, 30 September; 8, 9, 10, 11 October");
        assert_eq!(t.app.open_custody_tasks(&system, day("2014-10-11")).await.unwrap(), 0, "a second run opens nothing");

        let open = TaskQuery { state: Some("overdue".into()), ..TaskQuery::default() };
        let overdue = t.app.tasks(&t.admin, &open).await.unwrap();
        let days: Vec<NaiveDate> = overdue.iter().filter(|v| v.subject_id == k01.0).map(|v| v.opened_on).collect();
        assert_eq!(
            days,
            ["2014-09-26", "2014-09-28", "2014-09-29", "2014-09-30", "2014-10-08", "2014-10-09", "2014-10-10", "2014-10-11"].map(day),
            "no task on the holiday or the weekend of 27 September, one on each make-up day"
        );
        let v = &overdue[3];
        assert_eq!(v.due_on, Some(day("2014-09-30")), "due the same working day");
        assert!(v.overdue);
        assert_eq!(v.post.code(), "custody");

        // Today's task of a room set up today closes with today's check.
        let k02 = room(&t, "K02").await;
        let today = dangan_app::today();
        t.app.open_custody_tasks(&system, today).await.unwrap();
        let custodian = t.actor("keeper1", Role::Custodian).await;
        let is_open_today = |tasks: &[dangan_app::administration::tasks::TaskView]| {
            tasks.iter().any(|v| v.subject_id == k02.0 && v.opened_on == today)
        };
        let open_q = TaskQuery { state: Some("open".into()), ..TaskQuery::default() };
        let today_working = t.app.work_calendar().is_working_day(today).unwrap_or(false);
        assert_eq!(is_open_today(&t.app.tasks(&t.admin, &open_q).await.unwrap()), today_working);
        let k02_tasks = t.app.tasks(&t.admin, &open_q).await.unwrap().into_iter().filter(|v| v.subject_id == k02.0).count();
        assert!(k02_tasks <= 1, "a room set up today has no task of earlier days");
        check_all_normal(&t, &custodian, k02, "18.5", "52").await.unwrap();
        assert!(!is_open_today(&t.app.tasks(&t.admin, &open_q).await.unwrap()));
        assert_eq!(code_of(check_all_normal(&t, &custodian, k02, "18.5", "52").await), "custody_check_exists");
    }

    async fn an_abnormal_item_needs_a_note_and_the_month_shows_the_check(db: TestDb) {
        let t = TestApp::start(db).await;
        let k01 = room(&t, "K01").await;
        let custodian = t.actor("keeper1", Role::Custodian).await;
        let items = t.app.custody_checklist(&custodian, false).await.unwrap();
        assert_eq!(items.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), ["烟感报警器", "灭火器", "监控摄像头", "除湿机", "门窗门锁"]);
        let mut input = CheckInput {
            temperature: "25.5".into(),
            humidity: "50".into(),
            items: items.iter().map(|i| ItemInput { item_id: i.id, result: "normal".into(), note: None }).collect(),
            note: None,
        };
        input.items[3].result = "abnormal".into();
        assert_eq!(code_of(t.app.record_custody_check(&custodian, k01, &input).await), "abnormal_needs_note");
        input.items[3].note = Some("除湿机水箱已满".into());
        input.items.pop();
        assert_eq!(code_of(t.app.record_custody_check(&custodian, k01, &input).await), "check_item_missing");
        input.items.push(ItemInput { item_id: items[4].id, result: "normal".into(), note: None });
        t.app.record_custody_check(&custodian, k01, &input).await.unwrap();
        let month = dangan_app::today().format("%Y-%m").to_string();
        let m = t.app.custody_month(&custodian, k01, &month).await.unwrap();
        assert_eq!(m.days.len(), 1);
        assert_eq!((m.days[0].temperature.as_str(), m.days[0].humidity.as_str(), m.days[0].in_range), ("25.5", "50", false));
        assert_eq!(m.days[0].by_user, "keeper1");
        assert_eq!(m.days[0].items[3].2, "除湿机水箱已满");
        // The manual reading (25.5 ℃) is a reading too: it raised a temperature alert.
        let alerts = t.app.open_environment_alerts(&custodian).await.unwrap();
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].alert.measure.code(), "temperature");
    }

    async fn an_out_of_range_batch_raises_one_alert_delivered_signed_that_closes_after_action_and_recovery(db: TestDb) {
        let (url, got) = receiver().await;
        let settings = Settings {
            webhook: Some(WebhookSettings { timeout: Duration::from_secs(5), ..WebhookSettings::new(url, SECRET) }),
            ..Settings::default()
        };
        let t = TestApp::start_with(db, settings).await;
        let k01 = room(&t, "K01").await;
        let k02 = room(&t, "K02").await;
        t.app.add_logger(&t.admin, k01, "TH-01").await.unwrap();
        t.app.add_logger(&t.admin, k02, "TH-02").await.unwrap();
        let token = t.app.create_token(&t.admin, "loggers", &["environment:write".into()]).await.unwrap();
        let machine = t.app.authenticate(&token.secret, "10.0.0.9").await.unwrap();

        // Humidity climbs past 60 % and stays there for three readings; temperature is fine.
        let stored = t.app.submit_readings(&machine, &batch("TH-01", &[
            ("2026-12-01T08:00:00+08:00", 18.0, 55.0),
            ("2026-12-01T09:00:00+08:00", 18.2, 63.5),
            ("2026-12-01T10:00:00+08:00", 18.3, 66.0),
            ("2026-12-01T11:00:00+08:00", 18.1, 64.0),
        ])).await.unwrap();
        assert_eq!((stored.received, stored.stored, stored.alerts_raised), (4, 4, 1));
        let more = t.app.submit_readings(&machine, &batch("TH-01", &[("2026-12-01T12:00:00+08:00", 18.1, 68.0)])).await.unwrap();
        assert_eq!(more.alerts_raised, 0, "one open alert per room and measure");
        let open = t.app.open_environment_alerts(&t.admin).await.unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].alert.measure.code(), "humidity");
        assert_eq!(open[0].alert.value, 635);
        assert!(open[0].summary.contains("高于"), "{}", open[0].summary);

        // The alert travels through the signed webhook outbox, keyed by its room.
        let pending = t.app.list_outbox(&t.admin, &OutboxQuery { state: Some("pending".into()), ..OutboxQuery::default() }).await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!((pending[0].kind.as_str(), pending[0].person_id, pending[0].room_id), ("environment_alert", None, Some(k01.0)));
        let round = t.app.deliver_outbox_once().await.unwrap();
        assert_eq!(round.delivered, 1);
        {
            let got = got.lock().unwrap();
            assert_eq!(got.len(), 1);
            let (headers, body) = &got[0];
            assert!(verifies(headers, body), "signed");
            let body: Value = serde_json::from_slice(body).unwrap();
            assert_eq!(body["kind"], "environment_alert");
            assert_eq!(body["room_id"], k01.0);
            assert!(body["person_id"].is_null());
            assert_eq!(body["payload"]["room_code"], "K01");
            assert_eq!(body["payload"]["measure"], "humidity");
        }

        // A reading back in range does not close it before an action is recorded.
        let back = t.app.submit_readings(&machine, &batch("TH-01", &[("2026-12-01T13:00:00+08:00", 18.0, 58.0)])).await.unwrap();
        assert_eq!(back.alerts_closed, 0);
        let alert_id = open[0].alert.id;
        let custodian = t.actor("keeper1", Role::Custodian).await;
        t.app.record_alert_action(&custodian, alert_id, "已开启除湿机").await.unwrap();
        // The readings before the action do not count; one after it, in range, closes it.
        let later = chrono::Utc::now() + chrono::Duration::minutes(5);
        let closed = t.app.submit_readings(&machine, &batch("TH-01", &[(&later.to_rfc3339(), 18.0, 57.5)])).await.unwrap();
        assert_eq!(closed.alerts_closed, 1);
        assert!(t.app.open_environment_alerts(&t.admin).await.unwrap().is_empty());
        assert_eq!(code_of(t.app.record_alert_action(&custodian, alert_id, "再次处置").await), "alert_closed");
        assert_eq!(t.app.deliver_outbox_once().await.unwrap().delivered, 1);
        let second = got.lock().unwrap()[1].1.clone();
        let body: Value = serde_json::from_slice(&second).unwrap();
        assert_eq!(body["kind"], "environment_alert_closed");
        assert_eq!(body["payload"]["action"], "已开启除湿机");
        let log = |action: &str| LogQuery { action: Some(action.into()), limit: Some(10), ..LogQuery::default() };
        for action in ["alert.raise", "alert.action", "alert.close"] {
            assert_eq!(t.app.search_log(&t.auditor, &log(action)).await.unwrap().len(), 1, "{action}");
        }
    }

    async fn a_replayed_logger_batch_stores_nothing_twice(db: TestDb) {
        let t = TestApp::start(db).await;
        let k01 = room(&t, "K01").await;
        t.app.add_logger(&t.admin, k01, "TH-01").await.unwrap();
        assert_eq!(code_of(t.app.add_logger(&t.admin, k01, "TH-01").await), "logger_code_taken");
        let token = t.app.create_token(&t.admin, "loggers", &["environment:write".into()]).await.unwrap();
        let machine = t.app.authenticate(&token.secret, "10.0.0.9").await.unwrap();
        let b = batch("TH-01", &[
            ("2026-12-02T08:00:00+08:00", 18.0, 50.0),
            ("2026-12-02T08:05:00+08:00", 18.1, 50.5),
            ("2026-12-02T00:10:00Z", 18.2, 51.0),
        ]);
        assert_eq!(t.app.submit_readings(&machine, &b).await.unwrap().stored, 3);
        let again = t.app.submit_readings(&machine, &b).await.unwrap();
        assert_eq!((again.received, again.stored), (3, 0));
        // The same instant written in another offset is the same reading.
        let same = batch("TH-01", &[("2026-12-02T00:00:00Z", 18.0, 50.0), ("2026-12-02T08:15:00+08:00", 18.0, 50.0)]);
        assert_eq!(t.app.submit_readings(&machine, &same).await.unwrap().stored, 1);
        assert_eq!(code_of(t.app.submit_readings(&machine, &batch("TH-99", &[("2026-12-02T08:00:00+08:00", 18.0, 50.0)])).await), "logger_not_found");
        assert_eq!(code_of(t.app.submit_readings(&machine, &batch("TH-01", &[("2026-12-02 08:00", 18.0, 50.0)])).await), "invalid_time");
        assert_eq!(code_of(t.app.submit_readings(&machine, &batch("TH-01", &[])).await), "invalid_batch_size");
        let too_many: Vec<(String, f64, f64)> = (0..5001).map(|i| (format!("2026-12-03T00:00:{:02}Z", i % 60), 18.0, 50.0)).collect();
        let too_many: Vec<(&str, f64, f64)> = too_many.iter().map(|(a, t, h)| (a.as_str(), *t, *h)).collect();
        assert_eq!(code_of(t.app.submit_readings(&machine, &batch("TH-01", &too_many)).await), "invalid_batch_size");
        let env = t.app.room_environment(&t.admin, k01).await.unwrap();
        assert_eq!(env.loggers.len(), 1);
    }

    async fn a_csv_import_with_a_bad_row_is_refused_with_its_row_number_and_nothing_stored(db: TestDb) {
        let t = TestApp::start(db).await;
        let k01 = room(&t, "K01").await;
        t.app.add_logger(&t.admin, k01, "TH-01").await.unwrap();
        let custodian = t.actor("keeper1", Role::Custodian).await;
        // A GB18030 export with a Chinese header; its fourth line has no humidity.
        let text = "时间,温度(℃),湿度(%RH)\n2026-12-03 08:00:00,18.0,50.0\n2026-12-03 08:10:00,18.1,50.2\n2026-12-03 08:20:00,18.2,\n";
        let (gb, _, _) = encoding_rs::GB18030.encode(text);
        let e = t.app.import_readings_csv(&custodian, "TH-01", &gb).await.unwrap_err();
        assert_eq!(e.code(), "invalid_csv_row");
        assert!(e.to_string().contains("第 4 行"), "{e}");
        let fixed = text.replace("18.2,\n", "18.2,50.4\n");
        let (gb, _, _) = encoding_rs::GB18030.encode(&fixed);
        let stored = t.app.import_readings_csv(&custodian, "TH-01", &gb).await.unwrap();
        assert_eq!((stored.received, stored.stored), (3, 3), "nothing was kept of the refused file");
        // The same export again, in UTF-8: nothing new. Times without zone are Beijing time.
        assert_eq!(t.app.import_readings_csv(&custodian, "TH-01", fixed.as_bytes()).await.unwrap().stored, 0);
        let api = batch("TH-01", &[("2026-12-03T00:00:00Z", 18.0, 50.0)]);
        let token = t.app.create_token(&t.admin, "loggers", &["environment:write".into()]).await.unwrap();
        let machine = t.app.authenticate(&token.secret, "10.0.0.9").await.unwrap();
        assert_eq!(t.app.submit_readings(&machine, &api).await.unwrap().stored, 0, "08:00 Beijing is 00:00 UTC");
    }

    async fn a_token_without_the_scope_or_a_window_clerk_is_refused_and_logged(db: TestDb) {
        let t = TestApp::start(db).await;
        let k01 = room(&t, "K01").await;
        t.app.add_logger(&t.admin, k01, "TH-01").await.unwrap();
        let token = t.app.create_token(&t.admin, "keeper-tablet", &["reference:read".into()]).await.unwrap();
        let machine = t.app.authenticate(&token.secret, "10.0.0.9").await.unwrap();
        let b = batch("TH-01", &[("2026-12-02T08:00:00+08:00", 30.0, 50.0)]);
        assert_eq!(code_of(t.app.submit_readings(&machine, &b).await), "forbidden");
        let clerk = t.actor("window1", Role::Window).await;
        assert_eq!(code_of(t.app.submit_readings(&clerk, &b).await), "forbidden");
        assert_eq!(code_of(t.app.import_readings_csv(&clerk, "TH-01", b"2026-12-02 08:00,30,50\n").await), "forbidden");
        assert_eq!(code_of(check_all_normal(&t, &clerk, k01, "18", "50").await), "forbidden");
        assert_eq!(code_of(t.app.add_logger(&clerk, k01, "TH-09").await), "forbidden");
        let denied = t
            .app
            .search_log(&t.auditor, &LogQuery { action: Some("access.denied".into()), outcome: Some("denied".into()), limit: Some(50), ..LogQuery::default() })
            .await
            .unwrap();
        let who: Vec<(&str, &str)> = denied.iter().map(|e| (e.actor_name.as_str(), e.target_id.as_str())).collect();
        assert!(who.contains(&("keeper-tablet", "SubmitReadings")), "{who:?}");
        assert!(who.contains(&("window1", "SubmitReadings")), "{who:?}");
        assert!(who.contains(&("window1", "RecordCustody")), "{who:?}");
        assert!(t.app.open_environment_alerts(&t.admin).await.unwrap().is_empty(), "nothing stored");
    }
}
