//! 更正回传 (S9.2) on both backends: corrections delivered to a real HTTP receiver on
//! 127.0.0.1 that fails, stalls or goes away — every correction arrives, each person's in order,
//! signed, retried with back-off, and logged.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{KeyInit, Mac as _};
use serde_json::Value;

use dangan_app::Settings;
use dangan_app::ids::{MaterialId, PersonId};
use dangan_app::intake::events::{EventInput, MaterialInput};
use dangan_app::integration::outbox::{DeliveryRound, Mac, OutboxId, OutboxQuery, WebhookSettings};
use dangan_app::problems::corrections::CorrectionInput;
use dangan_app::security::audit::LogQuery;
use dangan_testkit::{TestApp, on_both_backends, person_input};

const SECRET: &[u8] = b"shared-secret-of-the-pension-system";

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Received {
    delivery: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
    answered: u16,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn id(&self) -> i64 {
        self.json()["id"].as_i64().unwrap()
    }

    fn person(&self) -> i64 {
        self.json()["person_id"].as_i64().unwrap()
    }
}

/// What the receiver does with the next requests.
#[derive(Debug, Default)]
struct Plan {
    /// Answer 500 to this many more requests, whoever they are for.
    fail_next: usize,
    /// Answer 500 to every request for this person.
    fail_person: Option<i64>,
    /// Wait this long before answering.
    delay: Duration,
    received: Vec<Received>,
}

type Shared = Arc<Mutex<Plan>>;

async fn receive(State(plan): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let person = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["person_id"].as_i64());
    let (status, delay) = {
        let mut p = plan.lock().unwrap();
        let status = if p.fail_next > 0 {
            p.fail_next -= 1;
            StatusCode::INTERNAL_SERVER_ERROR
        } else if p.fail_person.is_some() && p.fail_person == person {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::OK
        };
        p.received.push(Received {
            delivery: header("x-dangan-delivery"),
            timestamp: header("x-dangan-timestamp"),
            signature: header("x-dangan-signature"),
            body: body.to_vec(),
            answered: status.as_u16(),
        });
        (status, p.delay)
    };
    tokio::time::sleep(delay).await;
    status
}

/// The business system's webhook: `(url, plan, server task)`.
async fn receiver() -> (String, Shared, tokio::task::JoinHandle<()>) {
    let plan: Shared = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/hooks/corrections", axum::routing::post(receive))
        .with_state(Arc::clone(&plan));
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}/hooks/corrections"), plan, task)
}

fn settings(url: &str, mac: Mac, backoff: Duration) -> Settings {
    Settings {
        webhook: Some(WebhookSettings {
            url: url.to_owned(),
            secret: SECRET.to_vec(),
            mac,
            timeout: Duration::from_secs(2),
            backoff,
        }),
        ..Settings::default()
    }
}

/// Recomputes the MAC the way a receiver would: over `timestamp + "." + body`.
fn verifies(r: &Received, secret: &[u8]) -> bool {
    let Some((scheme, hex_mac)) = r.signature.split_once('=') else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_mac) else {
        return false;
    };
    let mut signed = r.timestamp.as_bytes().to_vec();
    signed.push(b'.');
    signed.extend_from_slice(&r.body);
    match scheme {
        "hmac-sha256" => {
            let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
            m.update(&signed);
            m.verify_slice(&expected).is_ok()
        }
        "hmac-sm3" => {
            let mut m = hmac::Hmac::<sm3::Sm3>::new_from_slice(secret).unwrap();
            m.update(&signed);
            m.verify_slice(&expected).is_ok()
        }
        _ => false,
    }
}

/// A person with one archived proof material (a copy of the household register).
async fn person_with_proof(t: &TestApp, n: u32, name: &str) -> (PersonId, MaterialId, String) {
    let p = t
        .app
        .create_person(&t.admin, &person_input(n, name))
        .await
        .unwrap();
    let input = EventInput {
        person_id: Some(p.id.0),
        business_type: "enrolment".into(),
        business_date: "2024-01-10".into(),
        materials: vec![MaterialInput {
            material_code: "household_register_copy".into(),
            pages: 2,
            carrier: Some("paper".into()),
            ..MaterialInput::default()
        }],
        ..EventInput::default()
    };
    let ev = t.app.record_event(&t.admin, &input).await.unwrap().event;
    (p.id, ev.materials[0].id, p.id_number.as_str().to_owned())
}

async fn rename(t: &TestApp, person: PersonId, proof: MaterialId, name: &str) {
    let input = CorrectionInput {
        field: "name".into(),
        new_value: name.into(),
        proof_material_id: Some(proof.0),
        basis: "户口本记载的姓名".into(),
    };
    t.register(&t.admin, person).await;
    t.app
        .correct_person(&t.admin, person, &input)
        .await
        .unwrap();
}

fn query(state: &str) -> OutboxQuery {
    OutboxQuery {
        state: Some(state.to_owned()),
        ..OutboxQuery::default()
    }
}

/// Runs rounds until nothing is pending (at most `max` rounds).
async fn drive(t: &TestApp, max: usize) -> Vec<DeliveryRound> {
    let mut rounds = Vec::new();
    for _ in 0..max {
        if t.app
            .list_outbox(&t.admin, &query("pending"))
            .await
            .unwrap()
            .is_empty()
        {
            return rounds;
        }
        rounds.push(t.app.deliver_outbox_once().await.unwrap());
    }
    panic!("still pending after {max} rounds: {rounds:?}");
}

fn received(plan: &Shared) -> Vec<Received> {
    plan.lock().unwrap().received.clone()
}

/// The acknowledged deliveries' ids per person, in the order they arrived.
fn acknowledged_by_person(all: &[Received]) -> BTreeMap<i64, Vec<i64>> {
    let mut out: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for r in all.iter().filter(|r| r.answered == 200) {
        out.entry(r.person()).or_default().push(r.id());
    }
    out
}

async fn outbox_log(t: &TestApp) -> Vec<dangan_domain::audit::LogEntry> {
    let q = LogQuery {
        action: Some("outbox.".to_owned()),
        limit: Some(1000),
        ..LogQuery::default()
    };
    t.app.search_log(&t.auditor, &q).await.unwrap()
}

on_both_backends! {
    async fn a_receiver_that_fails_the_first_attempts_still_gets_every_correction_in_order(db: TestDb) {
        let (url, plan, _server) = receiver().await;
        plan.lock().unwrap().fail_next = 3;
        let t = TestApp::start_with(db, settings(&url, Mac::HmacSha256, Duration::ZERO)).await;
        let (a, a_proof, a_number) = person_with_proof(&t, 11, "孙七").await;
        let (b, b_proof, b_number) = person_with_proof(&t, 12, "周八").await;
        // Interleaved: A 孙一, B 周一, A 孙二, B 周二, A 孙三, B 周三.
        for (a_name, b_name) in [("孙一", "周一"), ("孙二", "周二"), ("孙三", "周三")] {
            rename(&t, a, a_proof, a_name).await;
            rename(&t, b, b_proof, b_name).await;
        }
        let queued = t.app.list_outbox(&t.admin, &query("pending")).await.unwrap();
        assert_eq!(queued.len(), 6);
        assert!(queued.iter().all(|i| i.attempts == 0 && i.state == "pending"));
        let ids_of = |p: PersonId| -> Vec<i64> {
            queued.iter().filter(|i| i.person_id == Some(p)).map(|i| i.id.0).collect()
        };
        let (a_ids, b_ids) = (ids_of(a), ids_of(b));

        let rounds = drive(&t, 30).await;
        assert_eq!(rounds.iter().map(|r| r.delivered).sum::<usize>(), 6);
        assert_eq!(rounds.iter().map(|r| r.failed).sum::<usize>(), 3);

        let all = received(&plan);
        assert_eq!(all.len(), 9, "six corrections and three refused attempts");
        // Every correction arrived, each person's in id order…
        let acked = acknowledged_by_person(&all);
        assert_eq!(acked[&a.0], a_ids);
        assert_eq!(acked[&b.0], b_ids);
        // …and no later item of a person was sent before an earlier one was acknowledged.
        for p in [a.0, b.0] {
            let sent: Vec<i64> = all.iter().filter(|r| r.person() == p).map(Received::id).collect();
            assert!(sent.windows(2).all(|w| w[0] <= w[1]), "person {p}: {sent:?}");
        }
        let names: Vec<String> = all
            .iter()
            .filter(|r| r.answered == 200 && r.person() == a.0)
            .map(|r| r.json()["payload"]["new_value"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["孙一", "孙二", "孙三"]);
        let now = chrono::Utc::now().timestamp();
        for r in &all {
            assert!(verifies(r, SECRET), "signature of {}", r.delivery);
            assert!(!verifies(r, b"another secret"));
            assert_eq!(r.delivery, r.id().to_string());
            assert!(r.signature.starts_with("hmac-sha256="));
            let ts: i64 = r.timestamp.parse().unwrap();
            assert!((now - ts).abs() < 120, "timestamp {ts}");
            let body = r.json();
            for key in ["id", "kind", "person_id", "created_at", "payload"] {
                assert!(!body[key].is_null(), "{key} in {body}");
            }
            assert_eq!(body["kind"], "correction");
            assert_eq!(body["payload"]["field"], "name");
        }

        // The delivery log has the refused attempts and the acknowledgements.
        let mut failed = 0;
        for item in t.app.list_outbox(&t.admin, &query("all")).await.unwrap() {
            assert_eq!(item.state, "delivered");
            assert!(item.delivered_at.is_some() && item.last_error.is_none());
            let log = t.app.outbox_deliveries(&t.admin, item.id).await.unwrap();
            assert_eq!(log.len() as i64, item.attempts, "item {}", item.id);
            let (last, before) = log.split_last().unwrap();
            assert_eq!((last.outcome.as_str(), last.http_status), ("delivered", Some(200)));
            for f in before {
                assert_eq!((f.outcome.as_str(), f.http_status), ("failed", Some(500)));
                assert!(f.error.as_deref().unwrap().contains("500"), "{f:?}");
            }
            assert_eq!(log.iter().map(|d| d.attempt).collect::<Vec<_>>(), (1..=item.attempts).collect::<Vec<_>>());
            failed += before.len();
        }
        assert_eq!(failed, 3);

        // The operation log: one entry per delivered item and per failure, without personal data.
        let entries = outbox_log(&t).await;
        let delivered: Vec<_> = entries.iter().filter(|e| e.action == "outbox.deliver" && e.outcome == "ok").collect();
        let failures: Vec<_> = entries.iter().filter(|e| e.action == "outbox.deliver" && e.outcome == "failed").collect();
        assert_eq!((delivered.len(), failures.len()), (6, 3));
        for e in &entries {
            for secret in [a_number.as_str(), b_number.as_str(), "孙二", "周二"] {
                assert!(!e.detail.contains(secret), "{e:?}");
            }
        }

        // Re-sending: only the administrator; the item goes again and the log continues.
        let archivist = t.actor("archivist1", dangan_app::Role::Archivist).await;
        let window = t.actor("window1", dangan_app::Role::Window).await;
        let first = OutboxId(a_ids[0]);
        assert_eq!(t.app.resend_outbox(&archivist, first).await.unwrap_err().code(), "forbidden");
        assert_eq!(t.app.list_outbox(&window, &query("all")).await.unwrap_err().code(), "forbidden");
        assert!(!t.app.outbox_deliveries(&archivist, first).await.unwrap().is_empty(), "the archive post reads the log");
        assert_eq!(t.app.resend_outbox(&t.admin, OutboxId(999_999)).await.unwrap_err().code(), "outbox_not_found");
        let attempts_before = t.app.outbox_deliveries(&t.admin, first).await.unwrap().len() as i64;
        let again = t.app.resend_outbox(&t.admin, first).await.unwrap();
        assert_eq!((again.state, again.attempts), ("pending", 0));
        assert_eq!(t.app.list_outbox(&archivist, &query("pending")).await.unwrap().len(), 1);
        drive(&t, 5).await;
        let last = received(&plan).pop().unwrap();
        assert_eq!((last.id(), last.answered), (a_ids[0], 200));
        assert!(verifies(&last, SECRET));
        let log = t.app.outbox_deliveries(&t.admin, first).await.unwrap();
        assert_eq!(log.last().unwrap().attempt, attempts_before + 1);
        assert_eq!(outbox_log(&t).await.iter().filter(|e| e.action == "outbox.resend").count(), 1);
    }

    async fn a_failing_correction_of_one_person_does_not_hold_up_another(db: TestDb) {
        let (url, plan, _server) = receiver().await;
        let t = TestApp::start_with(db, settings(&url, Mac::HmacSha256, Duration::ZERO)).await;
        let (a, a_proof, _) = person_with_proof(&t, 21, "郑十").await;
        let (b, b_proof, _) = person_with_proof(&t, 22, "王五").await;
        plan.lock().unwrap().fail_person = Some(a.0);
        for (a_name, b_name) in [("郑一", "王一"), ("郑二", "王二")] {
            rename(&t, a, a_proof, a_name).await;
            rename(&t, b, b_proof, b_name).await;
        }
        for _ in 0..4 {
            t.app.deliver_outbox_once().await.unwrap();
        }
        let pending = t.app.list_outbox(&t.admin, &query("pending")).await.unwrap();
        assert_eq!(pending.iter().map(|i| i.person_id).collect::<Vec<_>>(), [Some(a), Some(a)], "B is through");
        let (head, waiting) = (&pending[0], &pending[1]);
        assert_eq!(head.attempts, 4);
        assert!(head.last_error.as_deref().unwrap().contains("500"));
        assert_eq!(waiting.attempts, 0, "A's later correction waits behind the failing one");
        assert!(t.app.outbox_deliveries(&t.admin, waiting.id).await.unwrap().is_empty());
        let all = received(&plan);
        assert!(all.iter().all(|r| r.person() == b.0 || r.id() == head.id.0));
        assert_eq!(acknowledged_by_person(&all).get(&b.0).map(Vec::len), Some(2));

        plan.lock().unwrap().fail_person = None;
        drive(&t, 5).await;
        assert_eq!(acknowledged_by_person(&received(&plan))[&a.0], [head.id.0, waiting.id.0]);
    }

    async fn a_receiver_that_is_too_slow_or_gone_is_retried_and_nothing_is_dropped(db: TestDb) {
        let (url, plan, server) = receiver().await;
        plan.lock().unwrap().delay = Duration::from_secs(4);
        let t = TestApp::start_with(db, settings(&url, Mac::HmacSha256, Duration::ZERO)).await;
        let (p, proof, _) = person_with_proof(&t, 31, "冯六").await;
        rename(&t, p, proof, "冯琦").await;
        let round = t.app.deliver_outbox_once().await.unwrap();
        assert_eq!((round.attempted, round.failed), (1, 1));
        let item = t.app.list_outbox(&t.admin, &query("pending")).await.unwrap().remove(0);
        let log = t.app.outbox_deliveries(&t.admin, item.id).await.unwrap();
        assert_eq!((log[0].outcome.as_str(), log[0].http_status), ("failed", None));
        assert!(log[0].error.as_deref().unwrap().contains("timed out"), "{log:?}");
        assert!(log[0].duration_ms >= 1_900, "{log:?}");

        plan.lock().unwrap().delay = Duration::ZERO;
        assert_eq!(t.app.deliver_outbox_once().await.unwrap().delivered, 1);

        // The receiver goes away: the next correction fails to connect and stays queued.
        server.abort();
        let _ = server.await;
        rename(&t, p, proof, "冯七").await;
        let round = t.app.deliver_outbox_once().await.unwrap();
        assert_eq!((round.attempted, round.failed), (1, 1));
        let item = t.app.list_outbox(&t.admin, &query("pending")).await.unwrap().remove(0);
        assert_eq!(item.attempts, 1);
        let error = item.last_error.unwrap();
        assert!(error.contains("connection failed") && !error.contains(&url), "{error}");
        let log = t.app.outbox_deliveries(&t.admin, item.id).await.unwrap();
        assert_eq!((log.len(), log[0].http_status), (1, None));
    }

    async fn a_failed_delivery_waits_out_its_back_off_and_a_resend_sends_it_at_once(db: TestDb) {
        let (url, plan, _server) = receiver().await;
        plan.lock().unwrap().fail_next = 1;
        let t = TestApp::start_with(db, settings(&url, Mac::HmacSha256, Duration::from_secs(60))).await;
        let (p, proof, _) = person_with_proof(&t, 41, "褚八").await;
        rename(&t, p, proof, "褚一").await;
        rename(&t, p, proof, "褚二").await;
        let before = chrono::Utc::now();
        assert_eq!(t.app.deliver_outbox_once().await.unwrap().failed, 1);
        let pending = t.app.list_outbox(&t.admin, &query("pending")).await.unwrap();
        let wait = pending[0].next_attempt_at.unwrap() - before;
        assert!((55..=70).contains(&wait.num_seconds()), "{wait}");
        // Neither the failed item nor the person's next one goes before the back-off is over.
        assert_eq!(t.app.deliver_outbox_once().await.unwrap(), DeliveryRound::default());
        assert_eq!(received(&plan).len(), 1);
        t.app.resend_outbox(&t.admin, pending[0].id).await.unwrap();
        assert_eq!(t.app.deliver_outbox_once().await.unwrap().delivered, 1);
        assert_eq!(t.app.deliver_outbox_once().await.unwrap().delivered, 1);
        let acked = acknowledged_by_person(&received(&plan));
        assert_eq!(acked[&p.0], [pending[0].id.0, pending[1].id.0]);
    }

    async fn signatures_made_with_hmac_sm3_verify_with_the_shared_secret(db: TestDb) {
        let (url, plan, _server) = receiver().await;
        let t = TestApp::start_with(db, settings(&url, Mac::HmacSm3, Duration::ZERO)).await;
        let (p, proof, _) = person_with_proof(&t, 51, "卫九").await;
        rename(&t, p, proof, "卫琦").await;
        drive(&t, 3).await;
        let all = received(&plan);
        assert_eq!(all.len(), 1);
        assert!(all[0].signature.starts_with("hmac-sm3="), "{}", all[0].signature);
        assert!(verifies(&all[0], SECRET));
        assert!(!verifies(&all[0], b"wrong"));
    }

    async fn without_a_webhook_corrections_stay_queued(db: TestDb) {
        let t = TestApp::start(db).await;
        let (p, proof, _) = person_with_proof(&t, 61, "蒋十").await;
        rename(&t, p, proof, "蒋琦").await;
        assert_eq!(t.app.deliver_outbox_once().await.unwrap(), DeliveryRound::default());
        let pending = t.app.list_outbox(&t.admin, &OutboxQuery::default()).await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].payload["new_value"], "蒋琦");
        assert_eq!(
            t.app.list_outbox(&t.admin, &query("sent")).await.unwrap_err().code(),
            "invalid_state"
        );
    }
}
