//! Issue 14 §2, attacked as an insider with a copy of the database would: every place that
//! held a full identity number holds it sealed or masked, on both backends; a database an older
//! version wrote in plain text is sealed at the next start; a key rotation re-seals every value
//! under a new field key.

use chrono::Utc;
use dangan_app::access::persons::PersonQuery;
use dangan_app::access::register::QueryInput;
use dangan_app::problems::corrections::CorrectionInput;
use dangan_app::{App, KeyRing, Settings};
use dangan_store::sealing;
use dangan_store::{Store, corrections, files, persons};

use dangan_testkit::{TestApp, TestDb, on_both_backends, person_input, png_scan};
use sqlx::Connection;

/// Everything a copy of the database shows to whoever holds it without the agency's keys: the
/// SQLite file with its write-ahead log as bytes, or every row of every PostgreSQL table as
/// text (what `pg_dump` or any client with read access prints).
async fn database_copy(db: &TestDb) -> Vec<u8> {
    match &db.config {
        dangan_app::StoreConfig::SqliteFile(path) => {
            let mut out = std::fs::read(path).expect("database file");
            let mut wal = path.as_os_str().to_owned();
            wal.push("-wal");
            if let Ok(w) = std::fs::read(&wal) {
                out.extend(w);
            }
            out
        }
        dangan_app::StoreConfig::Postgres(url) => {
            let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
            )
            .fetch_all(&mut c)
            .await
            .expect("tables");
            assert!(tables.len() > 20, "{tables:?}");
            let mut out = Vec::new();
            for t in tables {
                let sql =
                    format!("SELECT COALESCE(string_agg(t::text, E'\\n'), '') FROM \"{t}\" t");
                let text: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_one(&mut c)
                    .await
                    .expect("rows");
                out.extend(text.into_bytes());
            }
            out
        }
    }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Every stored identity number, opened, with the field key it is sealed under.
async fn sealed_numbers(store: &Store) -> Vec<(String, Option<i64>)> {
    let mut tx = store.begin().await.unwrap();
    let rows = persons::sealed_page(&mut tx, persons::PersonId(0), 10_000)
        .await
        .unwrap();
    let mut out = Vec::new();
    for (id, sealed, _) in rows {
        let p = persons::get(&mut tx, id).await.unwrap().unwrap();
        out.push((p.id_number.as_str().to_owned(), sealing::key_of(&sealed)));
    }
    out
}

on_both_backends! {
    async fn a_copy_of_the_database_holds_no_full_identity_number_anywhere(db: TestDb) {
        let t = TestApp::start(db).await;
        let (person, m) = t.enrolment_material().await;
        let zhang = person_input(1, "张三").id_number;
        let li = person_input(2, "李四");
        t.app.create_person(&t.admin, &li).await.unwrap();
        let enquirer = person_input(3, "王五").id_number;
        // A scan named by the S6.1 rule (the number in the name), a query registered by an
        // enquirer with their number, a correction queued for the business system.
        t.app
            .ingest_file(&t.admin, m, Some(&format!("2024-参保登记-{zhang}-参保登记表.png")), &png_scan(20_000, 1)[..])
            .await
            .unwrap();
        t.app
            .register_query(&t.admin, &QueryInput {
                person_id: person.0,
                enquirer_name: "王五".into(),
                enquirer_id_number: enquirer.clone(),
                question: "缴费记录".into(),
                purpose: "核对".into(),
            })
            .await
            .unwrap();
        t.app
            .correct_person(&t.admin, person, &CorrectionInput {
                field: "name".into(),
                new_value: "张叁".into(),
                proof_material_id: Some(m.0),
                basis: "户口本".into(),
            })
            .await
            .unwrap();
        // A hot folder with a scan for 张三 and one for 李四 that matches no material.
        let folder = tempfile::tempdir().unwrap();
        std::fs::write(folder.path().join(format!("2024-enrolment-{zhang}-enrolment_form.png")), png_scan(21_000, 2)).unwrap();
        let stray = format!("2024-enrolment-{}-不存在的材料.png", li.id_number);
        std::fs::write(folder.path().join(&stray), png_scan(22_000, 3)).unwrap();
        let report = t.app.ingest_folder(&t.admin, folder.path(), |_, _| {}).await.unwrap();
        assert_eq!((report.ingested, report.quarantined.len()), (1, 1), "{report:?}");

        // The business system keys its records by the number: a contribution delivered twice
        // and an event, each keyed so.
        let token = t.app.create_token(&t.admin, "pension-system", &["sync:write".to_owned()]).await.unwrap();
        let machine = t.app.authenticate(&token.secret, "10.0.0.9").await.unwrap();
        let batch: dangan_app::integration::sync::Batch<dangan_app::integration::sync::ContributionRecord> = serde_json::from_value(serde_json::json!({
            "source_system": "pension",
            "records": [{"source_id": format!("JF-{zhang}-2024"), "id_number": zhang, "year": 2024, "tier": 300,
                         "personal": 300, "subsidy": "45.00", "paid_on": "2024-06-01", "channel": "银行代扣"}]
        })).unwrap();
        for _ in 0..2 {
            assert_eq!(t.app.sync_contributions(&machine, &batch).await.unwrap().accepted, 1);
        }
        let keyed_event = dangan_app::intake::events::EventInput {
            person_id: Some(person.0),
            business_type: "info_change".into(),
            business_date: "2024-07-01".into(),
            external_id: Some(format!("BG-{zhang}")),
            ..dangan_app::intake::events::EventInput::default()
        };
        let first = t.app.record_event(&t.admin, &keyed_event).await.unwrap();
        let replay = t.app.record_event(&t.admin, &keyed_event).await.unwrap();
        assert_eq!((first.created, replay.created, replay.event.id), (true, false, first.event.id), "a replay is recognised");
        let ledger = t.app.person_ledger(&t.admin, person).await.unwrap();
        assert_eq!(ledger.years.iter().map(|y| y.records.len()).sum::<usize>(), 1, "delivered twice, kept once");

        let copy = database_copy(&t.db).await;
        assert!(contains(&copy, "张叁"), "the copy is read for real: names are kept searchable");
        for number in [&zhang, &li.id_number, &enquirer] {
            assert!(!contains(&copy, number), "{number} is in the copy of the database");
        }
        // What the agency still reads with its keys: the person by number, the quarantined
        // file's full name, the notice the business system will receive.
        let found = t.app
            .search_persons(&t.admin, &PersonQuery { id_number: Some(zhang.clone()), ..PersonQuery::default() })
            .await
            .unwrap();
        assert_eq!(found.items.len(), 1);
        let store = t.app.store();
        let mut tx = store.begin().await.unwrap();
        let q = files::quarantined(&mut tx).await.unwrap();
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].file_name, stray);
        assert!(q[0].masked_name.contains("430321***********") && !q[0].masked_name.contains(&li.id_number), "{q:?}");
        let pending = corrections::pending_outbox(&mut tx, 10).await.unwrap();
        assert!(pending.iter().any(|(_, _, _, payload)| payload.contains(&zhang)), "{pending:?}");
        tx.rollback().await.unwrap();
        // The scans' seals (whose manifests name the number) still verify.
        let (ok, failures) = t.app.verify_all_files(&t.auditor, |_| {}).await.unwrap();
        assert_eq!((ok, failures.len()), (2, 0), "{failures:?}");
    }

    async fn a_database_an_older_version_wrote_in_plain_text_is_sealed_at_the_next_start(db: TestDb) {
        // The database as version 15 of the schema left it, with a person, a quarantined file
        // and a queued notice in plain text.
        let store = Store::connect(&db.config).await.unwrap();
        store.migrate_to(15).await.unwrap();
        store.close().await;
        let old = person_input(7, "赵六");
        let now = Utc::now().to_rfc3339();
        let file = format!("2023-enrolment-{}-申请表.pdf", old.id_number);
        let payload = format!(r#"{{"kind":"correction","person_id":1,"id_number":"{}"}}"#, old.id_number);
        db.execute(&format!(
            "INSERT INTO persons (id_number, name, sex, birth_date, division_code, status, tier, identity, created_at, updated_at)
             VALUES ('{n}', '赵六', 'male', '1960-01-08', '430321', 'active', 500, '011', '{now}', '{now}');
             INSERT INTO ingest_quarantine (file_name, sha256, reason, created_at) VALUES ('{file}', 'abc', '未找到该参保人', '{now}');
             INSERT INTO outbox (kind, person_id, payload, created_at) VALUES ('correction', 1, '{payload}', '{now}');",
            n = old.id_number,
        )).await;
        assert!(contains(&database_copy(&db).await, &old.id_number), "the old version's plain text");

        let t = TestApp::start(db).await;
        let copy = database_copy(&t.db).await;
        assert!(!contains(&copy, &old.id_number), "nothing of the old plain text is left");
        let found = t.app
            .search_persons(&t.admin, &PersonQuery { id_number: Some(old.id_number.clone()), ..PersonQuery::default() })
            .await
            .unwrap();
        assert_eq!(found.items.len(), 1, "the old person is found by number");
        let mut tx = t.app.store().begin().await.unwrap();
        let q = files::quarantined(&mut tx).await.unwrap();
        assert_eq!(q[0].file_name, file);
        let pending = corrections::pending_outbox(&mut tx, 10).await.unwrap();
        assert_eq!(pending[0].3, payload);
        tx.rollback().await.unwrap();
        // A new person with the old one's number is still refused.
        let err = t.app.create_person(&t.admin, &old).await.unwrap_err();
        assert_eq!(err.code(), "person_exists");
    }

    async fn key_rotation_re_seals_every_number_under_a_new_field_key(db: TestDb) {
        let t = TestApp::start(db).await;
        let (person, m) = t.enrolment_material().await;
        t.app.ingest_file(&t.admin, m, Some("a.png"), &png_scan(20_000, 1)[..]).await.unwrap();
        for n in 2..6 {
            t.app.create_person(&t.admin, &person_input(n, "某人")).await.unwrap();
        }
        let before = sealed_numbers(t.app.store()).await;
        let old_key = before[0].1.unwrap();
        assert!(before.iter().all(|(_, k)| *k == Some(old_key)));
        let old_master = t.app.keys().master_key_id().to_owned();

        let r = t.app.rotate_master_key(&t.security, |_| {}).await.unwrap();
        assert_eq!(r.personal_values, 5 + 1, "five numbers and one manifest: {r:?}");
        let after = sealed_numbers(t.app.store()).await;
        assert_eq!(
            after.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            before.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            "the same numbers"
        );
        let new_key = after[0].1.unwrap();
        assert_ne!(new_key, old_key);
        assert!(after.iter().all(|(_, k)| *k == Some(new_key)));
        let mut tx = t.app.store().begin().await.unwrap();
        let keys = sealing::keys(&mut tx).await.unwrap();
        tx.rollback().await.unwrap();
        let new_master = KeyRing::load_existing(t.keys_dir.path()).unwrap().master_key_id().to_owned();
        assert_ne!(new_master, old_master);
        assert!(keys.iter().all(|k| k.master_key_id == new_master), "every field key re-wrapped: {keys:?}");

        // The next process opens them with the rotated ring; the scan's seal still verifies.
        let (again, _) = App::start(&t.db.config, Settings::default(), KeyRing::load_existing(t.keys_dir.path()).unwrap())
            .await
            .unwrap();
        assert_eq!(sealed_numbers(again.store()).await, after);
        let (ok, failures) = t.app.verify_all_files(&t.auditor, |_| {}).await.unwrap();
        assert_eq!((ok, failures.len()), (1, 0), "{failures:?}");
        t.register(&t.admin, person).await;
    }

    async fn two_servers_starting_at_once_on_a_new_database_seed_it_once_and_share_one_field_key(db: TestDb) {
        let keys = tempfile::tempdir().unwrap();
        let ring = || KeyRing::load_or_create(keys.path()).unwrap();
        let (a, b) = tokio::join!(
            App::start(&db.config, Settings::default(), ring()),
            App::start(&db.config, Settings::default(), ring()),
        );
        let ((a, first), (b, second)) = (a.unwrap(), b.unwrap());
        assert_eq!(first.initial_accounts.len() + second.initial_accounts.len(), 3, "the officers made once");
        let mut tx = a.store().begin().await.unwrap();
        assert_eq!(sealing::keys(&mut tx).await.unwrap().len(), 1, "one first key, not one each");
        tx.rollback().await.unwrap();
        // What one server seals, the other opens.
        let zhang = person_input(1, "张三");
        let mut tx = a.store().begin_write().await.unwrap();
        let new = persons::NewPerson {
            id_number: &zhang.id_number,
            name: "张三",
            sex: "male",
            birth_date: chrono::NaiveDate::from_ymd_opt(1960, 1, 2).unwrap(),
            division_code: "430321",
            status: "active",
            tier: Some(500),
            identity: "011",
        };
        persons::insert(&mut tx, &new, Utc::now()).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = b.store().begin().await.unwrap();
        let found = persons::find_by_id_number(&mut tx, &zhang.id_number).await.unwrap().unwrap();
        assert_eq!(found.name, "张三");
    }
}
