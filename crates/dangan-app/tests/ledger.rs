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
