//! Many writers and readers at once, as the business system and the windows send them: group
//! commit, the writers' queue and read transactions must lose nothing and log everything.

use dangan_app::access::persons::PersonQuery;
use dangan_app::intake::events::{EventInput, MaterialInput};
use dangan_app::security::audit::LogQuery;
use dangan_testkit::{TestApp, on_both_backends, person_input};

fn contribution(person_id: i64, external_id: &str) -> EventInput {
    EventInput {
        person_id: Some(person_id),
        business_type: "contribution".into(),
        business_date: "2025-03-01".into(),
        source_system: Some("pension".into()),
        external_id: Some(external_id.to_owned()),
        materials: vec![MaterialInput {
            material_code: "contribution_voucher".into(),
            pages: 1,
            ..MaterialInput::default()
        }],
        ..EventInput::default()
    }
}

on_both_backends! {
    async fn events_arriving_together_are_all_kept_and_a_duplicate_among_them_costs_nobody_else(db: TestDb) {
        // 24 events and 6 deliveries of one more, all at once: they share group commits, and
        // the duplicates fail on the unique key inside a group, which rolls that group back and
        // makes its members write again, alone.
        let t = TestApp::start(db).await;
        let p = t.app.create_person(&t.admin, &person_input(1, "张三")).await.unwrap();
        let mut sent = Vec::new();
        for n in 0..30 {
            let (app, admin) = (t.app.clone(), t.admin.clone());
            let ext = if n % 5 == 0 { "DUP-1".to_owned() } else { format!("E-{n}") };
            sent.push(tokio::spawn(async move {
                let r = app.record_event(&admin, &contribution(p.id.0, &ext)).await;
                (ext, r)
            }));
        }
        let mut created = 0;
        let mut ids = std::collections::BTreeMap::new();
        for s in sent {
            let (ext, r) = s.await.unwrap();
            let r = r.unwrap_or_else(|e| panic!("{ext}: {e:?}"));
            created += usize::from(r.created);
            ids.entry(ext).or_insert_with(Vec::new).push(r.event.id);
        }
        assert_eq!(created, 25, "24 events and the first delivery of DUP-1");
        let dup = &ids["DUP-1"];
        assert!(dup.iter().all(|id| *id == dup[0]), "every delivery answered with one event: {dup:?}");
        // Every answer names an event that is there, with its material.
        t.register(&t.admin, p.id).await;
        let events = t.app.person_events(&t.admin, p.id).await.unwrap();
        assert_eq!(events.len(), 25);
        for list in ids.values() {
            assert!(events.iter().any(|e| e.id == list[0] && e.materials.len() == 1));
        }
        let q = LogQuery { action: Some("event.record".into()), limit: Some(100), ..LogQuery::default() };
        let logged = t.app.search_log(&t.auditor, &q).await.unwrap();
        assert_eq!(logged.len(), 30, "25 recordings and 5 replays");
        let report = t.app.verify_log(&t.auditor).await.unwrap();
        assert!(report.ok, "{report:?}");
    }

    async fn searches_running_beside_recording_are_each_logged(db: TestDb) {
        // Reads run in read transactions and their entries go through the log's group commit:
        // none may be lost, however many run beside the writes.
        let t = TestApp::start(db).await;
        let p = t.app.create_person(&t.admin, &person_input(2, "李四")).await.unwrap();
        let mut tasks = Vec::new();
        for n in 0..10 {
            let (app, admin) = (t.app.clone(), t.admin.clone());
            tasks.push(tokio::spawn(async move {
                app.record_event(&admin, &contribution(p.id.0, &format!("S-{n}"))).await.map(|_| ())
            }));
            let (app, admin) = (t.app.clone(), t.admin.clone());
            tasks.push(tokio::spawn(async move {
                let q = PersonQuery { name: Some("李".into()), ..PersonQuery::default() };
                app.search_persons(&admin, &q).await.map(|page| assert_eq!(page.total, 1))
            }));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let q = LogQuery { action: Some("person.search".into()), limit: Some(100), ..LogQuery::default() };
        assert_eq!(t.app.search_log(&t.auditor, &q).await.unwrap().len(), 10);
        assert!(t.app.verify_log(&t.auditor).await.unwrap().ok);
    }
}
