//! 缴费与待遇 (S8.1): records upserted by their source id, shown by year, read like the rest of
//! the archive (a query registration for staff, only their own for insured persons).

use dangan_store::ledger::{self, BenefitPayment, Contribution};
use dangan_testkit::{TestApp, on_both_backends, person_input};

fn contribution(person: dangan_app::ids::PersonId, id: &str, year: i32, tier: i64) -> Contribution {
    Contribution {
        person_id: person,
        source_system: "pension".into(),
        source_id: id.into(),
        year,
        tier,
        personal_fen: tier * 100,
        subsidy_fen: 3_000,
        collective_fen: 0,
        paid_on: chrono::NaiveDate::from_ymd_opt(year, 3, 1).unwrap(),
        channel: "税务".into(),
    }
}

on_both_backends! {
    async fn contributions_are_upserted_by_source_id_shown_by_year_and_read_with_the_archive_rules(db: TestDb) {
        let t = TestApp::start(db).await;
        let p = t.app.create_person(&t.admin, &person_input(3, "蒋十四")).await.unwrap();
        let now = chrono::Utc::now();
        let mut tx = t.app.store().begin_write().await.unwrap();
        ledger::upsert_contribution(&mut tx, &contribution(p.id, "A1", 2023, 200), now).await.unwrap();
        ledger::upsert_contribution(&mut tx, &contribution(p.id, "A2", 2024, 300), now).await.unwrap();
        // The same record sent again, corrected: one record, the new values.
        ledger::upsert_contribution(&mut tx, &contribution(p.id, "A2", 2024, 500), now).await.unwrap();
        ledger::upsert_benefit(&mut tx, &BenefitPayment {
            person_id: p.id,
            source_system: "pension".into(),
            source_id: "B1".into(),
            month: "2025-02".into(),
            amount_fen: 19_999,
            status: "suspended".into(),
        }, now).await.unwrap();
        tx.commit().await.unwrap();

        assert_eq!(
            t.app.person_ledger(&t.admin, p.id).await.unwrap_err().code(),
            "query_registration_required"
        );
        t.register(&t.admin, p.id).await;
        let l = t.app.person_ledger(&t.admin, p.id).await.unwrap();
        let years: Vec<(i32, i64, &str)> = l.years.iter().map(|y| (y.year, y.tier, y.personal.as_str())).collect();
        assert_eq!(years, [(2023, 200, "200.00"), (2024, 500, "500.00")]);
        assert_eq!(l.years[1].records.len(), 1, "upserted, not duplicated");
        assert_eq!((l.benefits[0].amount.as_str(), l.benefits[0].status.as_str()), ("199.99", "暂停"));
        assert_eq!(t.app.person_ledger(&t.auditor, p.id).await.unwrap_err().code(), "forbidden");
    }
}

fn contribution_record(
    id: &str,
    id_number: &str,
    year: i32,
    personal: serde_json::Value,
) -> dangan_app::integration::sync::ContributionRecord {
    serde_json::from_value(serde_json::json!({
        "source_id": id,
        "id_number": id_number,
        "year": year,
        "tier": 300,
        "personal": personal,
        "subsidy": "45.00",
        "paid_on": format!("{year}-06-01"),
        "channel": "银行代扣",
    }))
    .unwrap()
}

on_both_backends! {
    async fn a_sync_batch_applies_valid_records_reports_every_reject_and_replays_without_duplicates(db: TestDb) {
        let t = TestApp::start(db).await;
        let p = t.app.create_person(&t.admin, &person_input(4, "卫十五")).await.unwrap();
        let created = t.app.create_token(&t.admin, "pension-system", &["sync:write".to_owned()]).await.unwrap();
        let machine = t.app.authenticate(&created.secret, "10.0.0.9").await.unwrap();
        let batch = dangan_app::integration::sync::Batch {
            source_system: "pension".to_owned(),
            records: vec![
                contribution_record("JF1", p.id_number.as_str(), 2023, serde_json::json!(300)),
                contribution_record("JF2", p.id_number.as_str(), 2024, serde_json::json!("300.50")),
                contribution_record("JF3", "11010519491231002X", 2024, serde_json::json!(300)),
                contribution_record("JF4", p.id_number.as_str(), 1980, serde_json::json!(300)),
                contribution_record("JF5", p.id_number.as_str(), 2024, serde_json::json!("-3")),
            ],
        };
        let r = t.app.sync_contributions(&machine, &batch).await.unwrap();
        assert_eq!(r.accepted, 2);
        let rejected: Vec<(usize, &str, &str)> = r.rejected.iter().map(|x| (x.index, x.field.as_str(), x.code.as_str())).collect();
        assert_eq!(rejected, [(2, "id_number", "person_not_found"), (3, "year", "invalid_year"), (4, "personal", "invalid_amount")]);
        assert!(r.rejected.iter().all(|x| !x.message.is_empty()));
        // The same batch again: nothing new.
        let again = t.app.sync_contributions(&machine, &batch).await.unwrap();
        assert_eq!(again.accepted, 2);
        t.register(&t.admin, p.id).await;
        let l = t.app.person_ledger(&t.admin, p.id).await.unwrap();
        assert_eq!(l.years.iter().map(|y| y.records.len()).sum::<usize>(), 2, "replayed, not duplicated");
        assert_eq!(l.years[1].personal, "300.50");

        let benefits: dangan_app::integration::sync::Batch<dangan_app::integration::sync::BenefitRecord> = serde_json::from_value(serde_json::json!({
            "source_system": "pension",
            "records": [
                {"source_id": "DY1", "id_number": p.id_number, "month": "2025-01", "amount": 210.5, "status": "paid"},
                {"source_id": "DY2", "id_number": p.id_number, "month": "2025-13", "amount": 210.5, "status": "paid"},
                {"source_id": "DY3", "id_number": p.id_number, "month": "2025-02", "amount": 210.5, "status": "lost"}
            ]
        })).unwrap();
        let r = t.app.sync_benefits(&machine, &benefits).await.unwrap();
        assert_eq!(r.accepted, 1);
        assert_eq!(r.rejected.iter().map(|x| x.code.as_str()).collect::<Vec<_>>(), ["invalid_month", "invalid_status"]);
        let window = t.actor("window1", dangan_app::Role::Window).await;
        assert_eq!(t.app.sync_benefits(&window, &benefits).await.unwrap_err().code(), "forbidden");
        let bad_system = dangan_app::integration::sync::Batch { source_system: "养老 系统".to_owned(), records: Vec::new() };
        assert_eq!(t.app.sync_benefits(&machine, &bad_system).await.unwrap_err().code(), "invalid_source_system");
    }
}
