//! 人员变更 (S6.6): status, tier, division and death changes from the business system, applied
//! by their effective dates; replays change nothing; older changes never overwrite newer ones;
//! nothing is dropped silently.

use chrono::Days;
use serde_json::{Value, json};

use dangan_app::integration::person_changes::PersonChangeBatch;
use dangan_testkit::{TestApp, on_both_backends, person_input};

fn batch(records: Value) -> PersonChangeBatch {
    serde_json::from_value(json!({"source_system": "pension", "records": records})).unwrap()
}

on_both_backends! {
    async fn person_changes_apply_by_effective_date_and_never_let_an_older_one_win(db: TestDb) {
        let t = TestApp::start(db).await;
        let input = person_input(21, "韩二十一");
        let p = t.app.create_person(&t.admin, &input).await.unwrap();
        let n = input.id_number.as_str();
        let today = dangan_app::today();
        let tomorrow = today.checked_add_days(Days::new(1)).unwrap();

        let report = t.app.sync_person_changes(&t.admin, &batch(json!([
            {"source_id": "C1", "id_number": n, "kind": "tier", "value": 500, "effective_date": "2024-01-01"},
            {"source_id": "C2", "id_number": n, "kind": "division", "value": "110108", "effective_date": "2025-03-01"},
            {"source_id": "C3", "id_number": n, "kind": "status", "value": "suspended", "effective_date": "2025-06-01"},
            {"source_id": "C4", "id_number": n, "kind": "tier", "value": 1000, "effective_date": tomorrow.to_string()},
            {"source_id": "C5", "id_number": n, "kind": "tier", "value": 7, "effective_date": "2024-01-01"},
            {"source_id": "C6", "id_number": "110105194912310029", "kind": "status", "value": "active", "effective_date": "2024-01-01"},
            {"source_id": "C7", "id_number": n, "kind": "colour", "value": "red", "effective_date": "2024-01-01"},
        ]))).await.unwrap();
        assert_eq!((report.accepted, report.pending), (4, 1), "{report:?}");
        let codes: Vec<(usize, &str, &str)> = report.rejected.iter().map(|r| (r.index, r.field.as_str(), r.code.as_str())).collect();
        assert_eq!(codes[0], (4, "value", "invalid_contribution_tier"));
        assert_eq!(codes[1].0, 5);
        assert_eq!(codes[2], (6, "kind", "invalid_change_kind"));
        assert!(report.rejected.iter().all(|r| !r.message.is_empty()));

        let now = t.app.person(&t.admin, p.id).await;
        let now = match now {
            Ok(v) => v,
            Err(_) => {
                t.register(&t.admin, p.id).await;
                t.app.person(&t.admin, p.id).await.unwrap()
            }
        };
        assert_eq!((now.tier, now.division_code.as_str(), now.status.code()), (Some(500), "110108", "suspended"),
            "the tier of tomorrow waits for its day");

        // An older status change arrives late: kept in the history, the newer one stays.
        let late = t.app.sync_person_changes(&t.admin, &batch(json!([
            {"source_id": "C8", "id_number": n, "kind": "status", "value": "active", "effective_date": "2025-01-01"},
        ]))).await.unwrap();
        assert_eq!(late.accepted, 1);
        assert_eq!(late.superseded[0].code, "superseded_by_later_change");
        assert_eq!(t.app.person(&t.admin, p.id).await.unwrap().status.code(), "suspended");

        // The same batch again changes nothing.
        let again = t.app.sync_person_changes(&t.admin, &batch(json!([
            {"source_id": "C3", "id_number": n, "kind": "status", "value": "suspended", "effective_date": "2025-06-01"},
        ]))).await.unwrap();
        assert_eq!((again.accepted, again.rejected.len(), again.superseded.len()), (1, 0, 0));

        // A death ends the insurance; a later status change is refused.
        let death = t.app.sync_person_changes(&t.admin, &batch(json!([
            {"source_id": "D1", "id_number": n, "kind": "death", "effective_date": "2025-09-01"},
            {"source_id": "C9", "id_number": n, "kind": "status", "value": "active", "effective_date": "2025-10-01"},
        ]))).await.unwrap();
        assert_eq!(death.accepted, 1);
        assert_eq!(death.rejected[0].code, "after_death");
        assert!(death.rejected[0].message.contains("2025-09-01"));
        assert_eq!(t.app.person(&t.admin, p.id).await.unwrap().status.code(), "terminated");

        let history = t.app.person_changes(&t.admin, p.id).await.unwrap();
        assert_eq!(history.len(), 6, "every accepted change is in the history");
        assert_eq!(history[0].source_id, "C4", "newest effective date first");
        assert!(history[0].applied_at.is_none(), "tomorrow's change is not in force yet");
        assert_eq!(t.app.apply_due_person_changes(&t.admin).await.unwrap(), 0, "nothing else is due today");
    }
}
