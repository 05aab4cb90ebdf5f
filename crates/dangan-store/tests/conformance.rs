//! The storage conformance suite: every test runs unchanged on SQLite and on PostgreSQL.

use chrono::{NaiveDate, TimeZone, Utc};
use dangan_domain::account::{AccountRequestKind, AccountRequestState};
use dangan_domain::business::BusinessType;
use dangan_domain::calendar::DayKind;
use dangan_domain::material::Carrier;
use dangan_domain::retention::Retention;
use dangan_domain::workflow::{IncidentKind, IncidentState};
use dangan_store::account_requests::{self, Decision, NewAccountRequest};
use dangan_store::events::MaterialId as MaterialIdOf;
use dangan_store::events::{self, NewEvent, NewMaterial};
use dangan_store::persons::{self, NewPerson, PersonFilter, PersonId};
use dangan_store::sealing::{self, FieldCipher};
use dangan_store::{
    Store, StoreError, archive_numbers, calendar, catalogue, damage, on_conn, users, volumes,
};
use dangan_testkit::{TestDb, on_both_backends};

async fn open(db: &TestDb) -> Store {
    let store = Store::connect(&db.config).await.expect("connect");
    store.migrate().await.expect("migrate");
    store.install_field_cipher(std::sync::Arc::new(field_cipher()));
    store
}

/// A field cipher with test keys (the application's come from its key directory).
fn field_cipher() -> FieldCipher {
    let fields = FieldCipher::new([0x5a; 32]);
    fields
        .add_key(1, sealing::AES_256_GCM, &[0xa5; 32], true)
        .unwrap();
    fields
}

fn person<'a>(id_number: &'a str, name: &'a str) -> NewPerson<'a> {
    NewPerson {
        id_number,
        name,
        sex: "female",
        birth_date: NaiveDate::from_ymd_opt(1949, 12, 31).unwrap(),
        division_code: "110105",
        status: "active",
        tier: Some(500),
        identity: "011",
    }
}

async fn seed_catalogue(store: &Store) -> i64 {
    let mut tx = store.begin_write().await.unwrap();
    let rows = vec![catalogue::EntryRow {
        business_type: BusinessType::Enrolment,
        material_code: "enrolment_form".into(),
        name: "参保登记申请表".into(),
        required: true,
        retention: Retention::Permanent,
        paper_original_kept: true,
        scan_required: true,
    }];
    let v = catalogue::insert_version(&mut tx, &rows, "t", "seed", Utc::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    v
}

fn event(person_id: PersonId, version: i64, external_id: Option<&str>) -> NewEvent<'_> {
    NewEvent {
        person_id,
        business_type: "enrolment",
        business_date: NaiveDate::from_ymd_opt(2024, 3, 1).unwrap(),
        handler: "李四",
        source_system: "pension",
        external_id,
        catalogue_version: version,
        remarks: None,
        created_by: "t",
    }
}

on_both_backends! {
    async fn migrating_twice_applies_nothing_the_second_time(db: TestDb) {
        let store = Store::connect(&db.config).await.unwrap();
        let first = store.migrate().await.unwrap();
        assert_eq!(first.applied.first(), Some(&1));
        assert!(first.applied.len() >= 13, "{:?}", first.applied);
        assert!(first.applied.windows(2).all(|w| w[0] < w[1]), "in order: {:?}", first.applied);
        let second = store.migrate().await.unwrap();
        assert!(second.applied.is_empty());
        assert_eq!(Some(&second.current), first.applied.last());
    }

    async fn the_rebuild_of_persons_keeps_every_person_and_every_reference_and_foreign_keys_stay_enforced(db: TestDb) {
        // Persons and an event of theirs written at version 16, then the rest of the migrations.
        let store = Store::connect(&db.config).await.unwrap();
        store.migrate_to(16).await.unwrap();
        store.install_field_cipher(std::sync::Arc::new(field_cipher()));
        let version = seed_catalogue(&store).await;
        let mut tx = store.begin_write().await.unwrap();
        let a = persons::insert(&mut tx, &person("11010519491231002X", "张三"), Utc::now()).await.unwrap();
        let b = persons::insert(&mut tx, &person("440524188001010014", "李四"), Utc::now()).await.unwrap();
        let e = events::insert(&mut tx, &event(b, version, Some("E-1")), Utc::now()).await.unwrap();
        tx.commit().await.unwrap();
        let report = store.migrate().await.unwrap();
        assert!(report.applied.contains(&17), "{report:?}");

        let mut tx = store.begin_write().await.unwrap();
        assert_eq!(persons::find_by_id_number(&mut tx, "11010519491231002X").await.unwrap().map(|p| p.id), Some(a));
        assert_eq!(persons::find_by_id_number(&mut tx, "440524188001010014").await.unwrap().map(|p| p.name), Some("李四".to_owned()));
        assert_eq!(events::list_for_person(&mut tx, b).await.unwrap().first().map(|r| r.id), Some(e));
        // The blind index still refuses a second registration; a missing person is still refused.
        assert!(matches!(
            persons::insert(&mut tx, &person("11010519491231002X", "张三"), Utc::now()).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(events::insert(&mut tx, &event(PersonId(9_999), version, Some("E-2")), Utc::now()).await.is_err());
        tx.rollback().await.unwrap();
        // Every pooled connection still enforces foreign keys (none was left with them off).
        if let dangan_store::Backend::Sqlite = store.backend() {
            for _ in 0..8 {
                let mut tx = store.begin().await.unwrap();
                let on: i64 = on_conn!(&mut tx, c => sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(c).await).unwrap();
                assert_eq!(on, 1);
                tx.rollback().await.unwrap();
            }
        }
    }

    async fn an_identity_number_is_stored_only_sealed_and_found_by_its_blind_index(db: TestDb) {
        let store = open(&db).await;
        let mut tx = store.begin_write().await.unwrap();
        let id = persons::insert(&mut tx, &person("11010519491231002X", "张三"), Utc::now()).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let (enc, index): (String, String) = on_conn!(&mut tx, c => {
            sqlx::query_as("SELECT id_number_enc, id_number_hmac FROM persons WHERE id = $1").bind(id).fetch_one(c).await
        }).unwrap();
        assert!(sealing::is_sealed(&enc), "{enc}");
        assert!(!enc.contains("1949") && !index.contains("1949"), "nothing of the number in the clear");
        assert_eq!(index, field_cipher().index("11010519491231002X"));
        let row = persons::find_by_id_number(&mut tx, "11010519491231002X").await.unwrap().unwrap();
        assert_eq!((row.id, row.id_number.as_str()), (id, "11010519491231002X"));
        let filter = PersonFilter { id_number: Some("11010519491231002X".into()), limit: 10, ..PersonFilter::default() };
        assert_eq!(persons::search(&mut tx, &filter).await.unwrap().total, 1);
        let second_page = PersonFilter { offset: 10, ..filter };
        let found = persons::search(&mut tx, &second_page).await.unwrap();
        assert_eq!((found.rows.len(), found.total), (0, 1), "a later page still counts the match");
        let unknown = PersonFilter { id_number: Some("440524188001010014".into()), limit: 10, ..PersonFilter::default() };
        assert_eq!(persons::search(&mut tx, &unknown).await.unwrap().total, 0);
    }

    async fn a_sealed_number_moved_to_another_person_is_refused_not_shown(db: TestDb) {
        // The insider with write access to the database swaps the sealed numbers of 张三 and
        // 李四, so that 张三's archive would show 李四's number and the reverse.
        let store = open(&db).await;
        let mut tx = store.begin_write().await.unwrap();
        let a = persons::insert(&mut tx, &person("11010519491231002X", "张三"), Utc::now()).await.unwrap();
        let b = persons::insert(&mut tx, &person("440524188001010014", "李四"), Utc::now()).await.unwrap();
        let c = persons::insert(&mut tx, &person("53010219200508011X", "王五"), Utc::now()).await.unwrap();
        let (ea, eb): (String, String) = on_conn!(&mut tx, conn => {
            sqlx::query_as("SELECT (SELECT id_number_enc FROM persons WHERE id = $1), (SELECT id_number_enc FROM persons WHERE id = $2)")
                .bind(a).bind(b).fetch_one(conn).await
        }).unwrap();
        // Through a placeholder: SQLite checks the old unique constraint row by row.
        for (row, enc) in [(a, "placeholder".to_owned()), (b, ea), (a, eb)] {
            on_conn!(&mut tx, conn => {
                sqlx::query("UPDATE persons SET id_number_enc = $1 WHERE id = $2")
                    .bind(&enc).bind(row).execute(conn).await.map(|r| r.rows_affected())
            }).unwrap();
        }
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        for id in [a, b] {
            let err = persons::get(&mut tx, id).await.unwrap_err();
            assert!(matches!(err, StoreError::Corrupt { table: "persons", .. }), "{err:?}");
        }
        assert!(persons::find_by_id_number(&mut tx, "440524188001010014").await.is_err());
        assert!(persons::get(&mut tx, c).await.unwrap().is_some(), "the others still read");
    }

    async fn a_store_without_its_field_cipher_refuses_personal_data(db: TestDb) {
        let store = Store::connect(&db.config).await.unwrap();
        store.migrate().await.unwrap();
        let mut tx = store.begin_write().await.unwrap();
        let err = persons::insert(&mut tx, &person("11010519491231002X", "张三"), Utc::now()).await.unwrap_err();
        assert!(matches!(err, StoreError::Unsupported(_)), "{err:?}");
        assert!(persons::find_by_id_number(&mut tx, "11010519491231002X").await.is_err());
    }

    async fn a_person_reads_back_exactly_as_written(db: TestDb) {
        let store = open(&db).await;
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 8, 30, 15).unwrap();
        let mut tx = store.begin_write().await.unwrap();
        let id = persons::insert(&mut tx, &person("11010519491231002X", "张三"), now).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let row = persons::find_by_id_number(&mut tx, "11010519491231002X").await.unwrap().unwrap();
        assert_eq!(row.id, id);
        assert_eq!(row.name, "张三");
        assert_eq!(row.birth_date, NaiveDate::from_ymd_opt(1949, 12, 31).unwrap());
        assert_eq!(row.created_at, now);
        assert_eq!(row.tier, Some(500));
    }

    async fn a_repeated_id_number_is_a_conflict_named_after_its_constraint(db: TestDb) {
        let store = open(&db).await;
        let mut tx = store.begin_write().await.unwrap();
        persons::insert(&mut tx, &person("11010519491231002X", "张三"), Utc::now()).await.unwrap();
        let err = persons::insert(&mut tx, &person("11010519491231002X", "李四"), Utc::now()).await.unwrap_err();
        assert_eq!(err.conflict(), Some("persons_id_number_key"), "{err:?}");
    }

    async fn a_rolled_back_transaction_leaves_nothing(db: TestDb) {
        let store = open(&db).await;
        let mut tx = store.begin_write().await.unwrap();
        persons::insert(&mut tx, &person("11010519491231002X", "张三"), Utc::now()).await.unwrap();
        tx.rollback().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert_eq!(persons::count(&mut tx).await.unwrap(), 0);
    }

    async fn an_event_for_a_missing_person_is_a_missing_reference(db: TestDb) {
        let store = open(&db).await;
        let v = seed_catalogue(&store).await;
        let mut tx = store.begin_write().await.unwrap();
        let err = events::insert(&mut tx, &event(PersonId(999), v, None), Utc::now()).await.unwrap_err();
        assert!(matches!(err, StoreError::MissingReference), "{err:?}");
    }

    async fn damage_and_loss_reports_list_together_newest_first_filtered_by_kind_state_and_time(db: TestDb) {
        let store = open(&db).await;
        let v = seed_catalogue(&store).await;
        let mut tx = store.begin_write().await.unwrap();
        let p = persons::insert(&mut tx, &person("11010519491231002X", "张三"), Utc::now()).await.unwrap();
        let e = events::insert(&mut tx, &event(p, v, None), Utc::now()).await.unwrap();
        let m = NewMaterial {
            material_code: "enrolment_form",
            name: "参保登记申请表",
            formation_date: NaiveDate::from_ymd_opt(2024, 3, 1).unwrap(),
            pages: 2,
            carrier: Carrier::Paper,
            retention: Retention::Permanent,
            appraisal_due: None,
            remarks: None,
        };
        let mat = events::insert_material(&mut tx, e, &m, Utc::now()).await.unwrap();
        let at = |d: u32| Utc.with_ymd_and_hms(2026, 12, d, 2, 0, 0).unwrap();
        let d1 = damage::insert_damage(&mut tx, mat, "light", "受潮", "in_house", None, "archivist", at(1)).await.unwrap();
        damage::insert_damage(&mut tx, mat, "heavy", "虫蛀", "outside", Some("修复中心"), "archivist", at(2)).await.unwrap();
        let l = damage::insert_loss(&mut tx, mat, "局长", None, "archivist", at(3)).await.unwrap();
        damage::repair(&mut tx, d1, "已修复", NaiveDate::from_ymd_opt(2026, 12, 4).unwrap()).await.unwrap();
        tx.commit().await.unwrap();
        let all = damage::IncidentFilter { limit: 50, ..Default::default() };
        let mut tx = store.begin().await.unwrap();
        let (rows, total) = damage::incidents(&mut tx, &all).await.unwrap();
        assert_eq!(total, 3);
        let seen: Vec<_> = rows.iter().map(|r| (r.kind, r.state, r.detail.as_str())).collect();
        assert_eq!(seen, [
            (IncidentKind::Loss, IncidentState::Open, "局长"),
            (IncidentKind::Damage, IncidentState::Open, "虫蛀"),
            (IncidentKind::Damage, IncidentState::Closed, "受潮"),
        ]);
        assert_eq!(rows[0].report_id, l);
        assert_eq!(rows[0].material_name, "参保登记申请表");
        let person = rows[0].person.as_ref().unwrap();
        assert_eq!((person.name.as_str(), person.id_number.as_str()), ("张三", "11010519491231002X"));
        let open_damage = damage::IncidentFilter { kind: Some(IncidentKind::Damage), state: Some(IncidentState::Open), ..all.clone() };
        let (rows, total) = damage::incidents(&mut tx, &open_damage).await.unwrap();
        assert_eq!((total, rows.len(), rows[0].detail.as_str()), (1, 1, "虫蛀"));
        let window = damage::IncidentFilter { from: Some(at(2)), to: Some(at(3)), ..all.clone() };
        let (rows, total) = damage::incidents(&mut tx, &window).await.unwrap();
        assert_eq!((total, rows[0].detail.as_str()), (1, "虫蛀"));
        let second_page = damage::IncidentFilter { limit: 2, offset: 2, ..all.clone() };
        let (rows, total) = damage::incidents(&mut tx, &second_page).await.unwrap();
        assert_eq!((total, rows.len(), rows[0].detail.as_str()), (3, 1, "受潮"));
        tx.rollback().await.unwrap();
        // All three emergency steps done close a loss.
        let mut tx = store.begin_write().await.unwrap();
        damage::set_loss_steps(&mut tx, l, true, true, true, None).await.unwrap();
        tx.commit().await.unwrap();
        let closed = damage::IncidentFilter { state: Some(IncidentState::Closed), ..all };
        let mut tx = store.begin().await.unwrap();
        let (rows, _) = damage::incidents(&mut tx, &closed).await.unwrap();
        assert_eq!(rows.iter().map(|r| r.kind).collect::<Vec<_>>(), [IncidentKind::Loss, IncidentKind::Damage]);
    }

    async fn an_external_id_is_unique_per_source_system_but_may_be_absent_many_times(db: TestDb) {
        let store = open(&db).await;
        let v = seed_catalogue(&store).await;
        let mut tx = store.begin_write().await.unwrap();
        let p = persons::insert(&mut tx, &person("11010519491231002X", "张三"), Utc::now()).await.unwrap();
        events::insert(&mut tx, &event(p, v, None), Utc::now()).await.unwrap();
        events::insert(&mut tx, &event(p, v, None), Utc::now()).await.unwrap();
        let e = events::insert(&mut tx, &event(p, v, Some("B-1")), Utc::now()).await.unwrap();
        let err = events::insert(&mut tx, &event(p, v, Some("B-1")), Utc::now()).await.unwrap_err();
        assert_eq!(err.conflict(), Some("business_events_source_system_external_id_key"));
        tx.rollback().await.unwrap();
        let mut tx = store.begin_write().await.unwrap();
        let p = persons::insert(&mut tx, &person("11010519491231002X", "张三"), Utc::now()).await.unwrap();
        let e2 = events::insert(&mut tx, &event(p, v, Some("B-1")), Utc::now()).await.unwrap();
        let m = NewMaterial {
            material_code: "enrolment_form",
            name: "参保登记申请表",
            formation_date: NaiveDate::from_ymd_opt(2024, 3, 1).unwrap(),
            pages: 2,
            carrier: Carrier::Paper,
            retention: Retention::Years30,
            appraisal_due: NaiveDate::from_ymd_opt(2055, 1, 1),
            remarks: Some("补件"),
        };
        events::insert_material(&mut tx, e2, &m, Utc::now()).await.unwrap();
        tx.commit().await.unwrap();
        let _ = e;
        let mut tx = store.begin().await.unwrap();
        let found = events::find_by_external_id(&mut tx, "pension", "B-1").await.unwrap().unwrap();
        assert_eq!(found.id, e2);
        let mats = events::materials(&mut tx, e2).await.unwrap();
        assert_eq!(mats.len(), 1);
        assert_eq!(mats[0].appraisal_due, NaiveDate::from_ymd_opt(2055, 1, 1));
        assert_eq!(mats[0].remarks.as_deref(), Some("补件"));
    }

    async fn a_name_search_finds_the_text_anywhere_in_a_name_once_per_person_and_follows_a_corrected_name(db: TestDb) {
        let store = open(&db).await;
        let mut tx = store.begin_write().await.unwrap();
        let zhang = persons::insert(&mut tx, &person("11010519491231002X", "张明"), Utc::now()).await.unwrap();
        persons::insert(&mut tx, &person("440524188001010014", "李明华"), Utc::now()).await.unwrap();
        persons::insert(&mut tx, &person("53010219200508011X", "王丽丽"), Utc::now()).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let search = |text: &str| PersonFilter { name: Some(text.into()), limit: 10, ..PersonFilter::default() };
        let found = persons::search(&mut tx, &search("明")).await.unwrap();
        let names: Vec<&str> = found.rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["张明", "李明华"], "明 at the end and in the middle, in name order");
        assert_eq!(found.total, 2);
        let found = persons::search(&mut tx, &search("丽")).await.unwrap();
        assert_eq!((found.rows.len(), found.total), (1, 1), "丽 twice in 王丽丽 is one person");
        assert_eq!(persons::search(&mut tx, &search("华")).await.unwrap().rows[0].name, "李明华");
        assert_eq!(persons::search(&mut tx, &search("明华")).await.unwrap().total, 1);
        assert_eq!(persons::search(&mut tx, &search("华明")).await.unwrap().total, 0);
        tx.rollback().await.unwrap();
        // However a name is rewritten (here by a plain UPDATE, as a correction writes it), the
        // search follows it: the old name is no longer found, the new one is.
        let mut tx = store.begin_write().await.unwrap();
        on_conn!(&mut tx, c => sqlx::query("UPDATE persons SET name = $1 WHERE id = $2").bind("张建国").bind(zhang.0).execute(c).await.map(|r| r.rows_affected())).unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let found = persons::search(&mut tx, &search("明")).await.unwrap();
        assert_eq!(found.rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["李明华"]);
        assert_eq!(persons::search(&mut tx, &search("建国")).await.unwrap().rows[0].id, zhang);
    }

    async fn a_volumes_contents_list_each_material_with_its_person_in_volume_order_in_one_read(db: TestDb) {
        let store = open(&db).await;
        let v = seed_catalogue(&store).await;
        let mut tx = store.begin_write().await.unwrap();
        let zhang = persons::insert(&mut tx, &person("11010519491231002X", "张三"), Utc::now()).await.unwrap();
        let li_number = dangan_testkit::id_number("110105", NaiveDate::from_ymd_opt(1950, 1, 2).unwrap(), 3);
        let li = persons::insert(&mut tx, &person(&li_number, "李四"), Utc::now()).await.unwrap();
        let material = |name: &'static str| NewMaterial {
            material_code: "enrolment_form",
            name,
            formation_date: NaiveDate::from_ymd_opt(2024, 3, 1).unwrap(),
            pages: 2,
            carrier: Carrier::Electronic,
            retention: Retention::Permanent,
            appraisal_due: None,
            remarks: None,
        };
        let e1 = events::insert(&mut tx, &event(zhang, v, None), Utc::now()).await.unwrap();
        let e2 = events::insert(&mut tx, &event(li, v, None), Utc::now()).await.unwrap();
        let a = events::insert_material(&mut tx, e1, &material("张三的申请表"), Utc::now()).await.unwrap();
        let b = events::insert_material(&mut tx, e2, &material("李四的申请表"), Utc::now()).await.unwrap();
        // Filed in the opposite order to their ids: the volume's order is what counts.
        let vol = volumes::insert_draft(&mut tx, 2024, "registration", 1, 4, 400, &[b, a], Utc::now()).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        let lines = volumes::contents(&mut tx, vol).await.unwrap();
        let seen: Vec<(MaterialIdOf, &str, &str, String)> = lines
            .iter()
            .map(|l| (l.material.id, l.material.name.as_str(), l.person.name.as_str(), l.person.id_number.masked()))
            .collect();
        assert_eq!(seen, vec![
            (b, "李四的申请表", "李四", dangan_domain::id_number::mask(&li_number)),
            (a, "张三的申请表", "张三", dangan_domain::id_number::mask("11010519491231002X")),
        ]);
        assert_eq!(lines[0].material.volume_id, Some(vol.0));
        assert!(volumes::contents(&mut tx, volumes::VolumeId(vol.0 + 99)).await.unwrap().is_empty());
    }

    async fn name_search_treats_wildcards_literally_and_lists_in_name_order_a_division_search_by_birth_date(db: TestDb) {
        let store = open(&db).await;
        let mut tx = store.begin_write().await.unwrap();
        let mut elder = person("440524188001010014", "张三丰");
        elder.birth_date = NaiveDate::from_ymd_opt(1880, 1, 1).unwrap();
        elder.division_code = "110105";
        persons::insert(&mut tx, &person("11010519491231002X", "张三"), Utc::now()).await.unwrap();
        persons::insert(&mut tx, &elder, Utc::now()).await.unwrap();
        persons::insert(&mut tx, &person("53010219200508011X", "李%"), Utc::now()).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let filter = PersonFilter { name: Some("张".into()), limit: 10, ..PersonFilter::default() };
        let found = persons::search(&mut tx, &filter).await.unwrap();
        assert_eq!((found.total, found.more), (2, false));
        let names: Vec<&str> = found.rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["张三", "张三丰"], "a name search lists in name order");
        let filter = PersonFilter { name: Some("%".into()), limit: 10, ..PersonFilter::default() };
        let found = persons::search(&mut tx, &filter).await.unwrap();
        assert_eq!((found.total, found.rows[0].name.as_str()), (1, "李%"), "% is a character, found where it stands");
        let filter = PersonFilter { name: Some("_".into()), limit: 10, ..PersonFilter::default() };
        assert_eq!(persons::search(&mut tx, &filter).await.unwrap().total, 0, "_ is no wildcard");
        let filter = PersonFilter { name: Some("张三".into()), division_code: Some("110105".into()), limit: 10, ..PersonFilter::default() };
        assert_eq!(persons::search(&mut tx, &filter).await.unwrap().total, 2, "a name within a division");
        let filter = PersonFilter { name: Some("李%".into()), limit: 10, ..PersonFilter::default() };
        assert_eq!(persons::search(&mut tx, &filter).await.unwrap().total, 1);
        let filter = PersonFilter { name: Some("张".into()), limit: 1, offset: 1, ..PersonFilter::default() };
        let page = persons::search(&mut tx, &filter).await.unwrap();
        assert_eq!((page.rows.len(), page.total), (1, 2));
        assert_eq!(page.rows[0].name, "张三丰");
        let filter = PersonFilter { division_code: Some("110105".into()), limit: 10, ..PersonFilter::default() };
        let found = persons::search(&mut tx, &filter).await.unwrap();
        assert_eq!(found.rows[0].id_number.as_str(), "440524188001010014", "the elder first, though registered later");
    }

    async fn a_broad_search_counts_a_thousand_past_its_page_and_says_there_are_more(db: TestDb) {
        let store = open(&db).await;
        let fields = field_cipher();
        let numbers: Vec<String> = (0..1_200u32)
            .map(|n| dangan_testkit::id_number("110105", NaiveDate::from_ymd_opt(1950, 1, 1).unwrap() + chrono::Days::new(u64::from(n / 900)), n % 900 + 1))
            .collect();
        let sealed: Vec<_> = numbers.iter().map(|n| persons::seal_id(&fields, n).unwrap()).collect();
        let rows: Vec<_> = sealed.iter().zip(&numbers).map(|(s, n)| (s, person(n, "王芳"))).collect();
        let mut tx = store.begin_write().await.unwrap();
        assert_eq!(persons::insert_missing(&mut tx, &rows, Utc::now()).await.unwrap().len(), 1_200);
        persons::insert(&mut tx, &person("53010219200508011X", "王"), Utc::now()).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let broad = PersonFilter { name: Some("王".into()), limit: 50, ..PersonFilter::default() };
        let found = persons::search(&mut tx, &broad).await.unwrap();
        assert_eq!((found.rows.len(), found.total, found.more), (50, 1_050, true));
        assert_eq!(found.rows[0].name, "王", "the shorter name first");
        let inner = PersonFilter { name: Some("芳".into()), limit: 50, ..PersonFilter::default() };
        let found = persons::search(&mut tx, &inner).await.unwrap();
        assert_eq!((found.rows.len(), found.total, found.more), (50, 1_050, true), "a text inside the name counts as far");
        assert!(found.rows.iter().all(|r| r.name == "王芳"));
        let within = PersonFilter { division_code: Some("110105".into()), ..inner.clone() };
        assert_eq!(persons::search(&mut tx, &within).await.unwrap().total, 1_050);
        let deep = PersonFilter { offset: 200, ..broad.clone() };
        let found = persons::search(&mut tx, &deep).await.unwrap();
        assert_eq!((found.total, found.more), (1_201, false), "counting reaches the end: the count is exact");
        let division = PersonFilter { division_code: Some("110105".into()), limit: 20, ..PersonFilter::default() };
        let found = persons::search(&mut tx, &division).await.unwrap();
        assert_eq!((found.total, found.more), (1_020, true));
    }

    async fn catalogue_versions_count_up_and_keep_their_order(db: TestDb) {
        let store = open(&db).await;
        let v1 = seed_catalogue(&store).await;
        let v2 = seed_catalogue(&store).await;
        assert_eq!((v1, v2), (1, 2));
        let mut tx = store.begin().await.unwrap();
        assert_eq!(catalogue::current_version(&mut tx).await.unwrap().unwrap().version, 2);
        assert_eq!(catalogue::entries(&mut tx, 1).await.unwrap()[0].material_code, "enrolment_form");
    }

    async fn replacing_a_calendar_year_replaces_all_its_days(db: TestDb) {
        let store = open(&db).await;
        let day = |d: &str, kind: &str| calendar::DayRow {
            day: NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap(),
            kind: DayKind::parse(kind).unwrap(),
            name: "国庆节".into(),
        };
        let mut tx = store.begin_write().await.unwrap();
        calendar::replace_year(&mut tx, 2027, &[day("2027-10-01", "holiday"), day("2027-10-09", "workday")], "a", "t", Utc::now()).await.unwrap();
        calendar::replace_year(&mut tx, 2027, &[day("2027-10-04", "holiday")], "b", "t", Utc::now()).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let days = calendar::all_days(&mut tx).await.unwrap();
        assert_eq!(days.len(), 1);
        assert_eq!(days[0].day, NaiveDate::from_ymd_opt(2027, 10, 4).unwrap());
        assert_eq!(calendar::years(&mut tx).await.unwrap()[0].source, "b");
    }

    async fn concurrent_serial_allocations_are_gapless_and_unique(db: TestDb) {
        let store = open(&db).await;
        let mut handles = Vec::new();
        for _ in 0..50 {
            let store = store.clone();
            handles.push(tokio::spawn(async move {
                let mut tx = store.begin_write().await.unwrap();
                let s = archive_numbers::next_serial(&mut tx, 2023, "registration").await.unwrap();
                tx.commit().await.unwrap();
                s
            }));
        }
        let mut serials: Vec<i64> = futures_util::future::join_all(handles).await.into_iter().map(Result::unwrap).collect();
        serials.sort_unstable();
        assert_eq!(serials, (1..=50).collect::<Vec<_>>());
        // A rolled-back allocation gives its serial back.
        let mut tx = store.begin_write().await.unwrap();
        assert_eq!(archive_numbers::next_serial(&mut tx, 2023, "registration").await.unwrap(), 51);
        tx.rollback().await.unwrap();
        let mut tx = store.begin_write().await.unwrap();
        assert_eq!(archive_numbers::next_serial(&mut tx, 2023, "registration").await.unwrap(), 51);
        assert_eq!(archive_numbers::next_serial(&mut tx, 2024, "registration").await.unwrap(), 1);
    }

    async fn an_account_request_reads_back_and_is_decided_exactly_once(db: TestDb) {
        let store = open(&db).await;
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 2, 3, 4).unwrap();
        let mut tx = store.begin_write().await.unwrap();
        let officer = users::insert(&mut tx, "sec", "保密员", "security_officer", "$argon2id$x", false, now).await.unwrap();
        let target = users::insert(&mut tx, "li", "李四", "archivist", "$argon2id$x", false, now).await.unwrap();
        let create = account_requests::insert(&mut tx, &NewAccountRequest {
            kind: AccountRequestKind::Create, target_user_id: None, username: "audit2", display_name: "王审计",
            from_role: None, from_disabled: None, role: "auditor", disabled: false,
            reason: "增补", requested_by: officer, requested_by_name: "sec",
        }, now).await.unwrap();
        let change = account_requests::insert(&mut tx, &NewAccountRequest {
            kind: AccountRequestKind::Change, target_user_id: Some(target), username: "li", display_name: "李四",
            from_role: Some("archivist"), from_disabled: Some(false), role: "admin", disabled: true,
            reason: "调岗", requested_by: officer, requested_by_name: "sec",
        }, now).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        let row = account_requests::get(&mut tx, change).await.unwrap().unwrap();
        assert_eq!((row.kind.code(), row.target_user_id, row.from_role.as_deref(), row.from_disabled), ("change", Some(target), Some("archivist"), Some(false)));
        assert_eq!((row.role.as_str(), row.disabled, row.state.code(), row.requested_at), ("admin", true, "pending", now));
        assert_eq!((row.decided_by, row.decided_at, row.created_user_id), (None, None, None));
        let pending: Vec<_> = account_requests::list(&mut tx, true, 10).await.unwrap().into_iter().map(|r| r.id).collect();
        assert_eq!(pending, vec![change, create], "newest first");
        tx.rollback().await.unwrap();

        // Two deciders race: exactly one decides, and what they decided stays.
        let mut tasks = Vec::new();
        for (i, state) in [AccountRequestState::Approved, AccountRequestState::Rejected].into_iter().enumerate() {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = store.begin_write().await.unwrap();
                let d = Decision { state, by: officer, by_name: "sec", note: Some("说明") };
                let won = account_requests::decide(&mut tx, create, &d, now + chrono::Duration::seconds(i as i64)).await.unwrap();
                tx.commit().await.unwrap();
                won
            }));
        }
        let mut won = 0;
        for t in tasks {
            won += usize::from(t.await.unwrap());
        }
        assert_eq!(won, 1);
        let mut tx = store.begin_write().await.unwrap();
        account_requests::set_created_user(&mut tx, create, target).await.unwrap();
        let again = Decision { state: AccountRequestState::Rejected, by: officer, by_name: "sec", note: None };
        assert!(!account_requests::decide(&mut tx, create, &again, now).await.unwrap());
        assert!(!account_requests::decide(&mut tx, account_requests::AccountRequestId(999_999), &again, now).await.unwrap());
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let row = account_requests::get(&mut tx, create).await.unwrap().unwrap();
        assert!(matches!(row.state, AccountRequestState::Approved | AccountRequestState::Rejected));
        assert_eq!((row.decided_by, row.decision_note.as_deref(), row.created_user_id), (Some(officer), Some("说明"), Some(target)));
        assert_eq!(account_requests::list(&mut tx, true, 10).await.unwrap().len(), 1);
        assert_eq!(account_requests::list(&mut tx, false, 10).await.unwrap().len(), 2);
        assert_eq!(account_requests::list(&mut tx, false, 1).await.unwrap().len(), 1);
    }

    async fn sessions_expire_and_end(db: TestDb) {
        let store = open(&db).await;
        let now = Utc::now();
        let mut tx = store.begin_write().await.unwrap();
        let u = users::insert(&mut tx, "li", "李四", "archivist", "$argon2id$x", false, now).await.unwrap();
        users::insert_session(&mut tx, "live", u, now, now + chrono::Duration::hours(1)).await.unwrap();
        users::insert_session(&mut tx, "old", u, now, now - chrono::Duration::seconds(1)).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin_write().await.unwrap();
        assert!(users::user_for_session(&mut tx, "live", now).await.unwrap().is_some());
        assert!(users::user_for_session(&mut tx, "old", now).await.unwrap().is_none());
        users::delete_session(&mut tx, "live").await.unwrap();
        assert!(users::user_for_session(&mut tx, "live", now).await.unwrap().is_none());
        let err = users::insert(&mut tx, "li", "x", "window", "h", false, now).await.unwrap_err();
        assert_eq!(err.conflict(), Some("users_username_key"));
    }

    async fn a_catalogue_version_read_in_a_rolled_back_transaction_is_never_served_for_another(db: TestDb) {
        // Versions are cached once read. An administrator's edit that fails after its version
        // was read must not leave its entries behind for the version written next.
        let store = open(&db).await;
        let entry = |name: &str| catalogue::EntryRow {
            business_type: BusinessType::Enrolment,
            material_code: "enrolment_form".into(),
            name: name.into(),
            required: true,
            retention: Retention::Permanent,
            paper_original_kept: true,
            scan_required: true,
        };
        let mut tx = store.begin_write().await.unwrap();
        let v = catalogue::insert_version(&mut tx, &[entry("作废的名称")], "t", "rolled back", Utc::now()).await.unwrap();
        let head = catalogue::current_version(&mut tx).await.unwrap().unwrap();
        assert_eq!(catalogue::cached_entries(&mut tx, &head).await.unwrap()[0].name, "作废的名称");
        tx.rollback().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        let mut tx = store.begin_write().await.unwrap();
        let again = catalogue::insert_version(&mut tx, &[entry("参保登记申请表")], "t", "kept", Utc::now()).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(v, again, "the same number is taken again");
        let mut tx = store.begin().await.unwrap();
        let head = catalogue::current_version(&mut tx).await.unwrap().unwrap();
        let rows = catalogue::cached_entries(&mut tx, &head).await.unwrap();
        assert_eq!(rows[0].name, "参保登记申请表");
        // Read a second time, from the cache: the same rows.
        assert_eq!(*catalogue::cached_entries(&mut tx, &head).await.unwrap(), *rows);
    }

    async fn a_reader_neither_waits_for_a_writer_nor_holds_one_up(db: TestDb) {
        let store = open(&db).await;
        let wait = std::time::Duration::from_secs(5);
        let mut writer = store.begin_write().await.unwrap();
        persons::insert(&mut writer, &person("11010519491231002X", "张三"), Utc::now()).await.unwrap();
        // A reader while the write is open: answered at once, without the uncommitted row.
        let mut reader = tokio::time::timeout(wait, store.begin()).await.expect("a reader begins at once").unwrap();
        let filter = PersonFilter { name: Some("张".into()), limit: 10, ..PersonFilter::default() };
        let seen = tokio::time::timeout(wait, persons::search(&mut reader, &filter)).await.expect("a read is answered at once").unwrap().total;
        assert_eq!(seen, 0);
        tokio::time::timeout(wait, writer.commit()).await.expect("the writer commits beside an open reader").unwrap();
        // A second writer commits while the reader's snapshot is still open.
        let mut second = tokio::time::timeout(wait, store.begin_write()).await.expect("a writer begins beside an open reader").unwrap();
        persons::insert(&mut second, &person("440524188001010014", "李四"), Utc::now()).await.unwrap();
        tokio::time::timeout(wait, second.commit()).await.expect("and commits").unwrap();
        reader.rollback().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let all = PersonFilter { division_code: Some("110105".into()), limit: 10, ..PersonFilter::default() };
        assert_eq!(persons::search(&mut tx, &all).await.unwrap().total, 2);
    }

    async fn writers_take_their_turns_in_the_order_they_asked(db: TestDb) {
        // On SQLite writers queue in the process instead of polling the busy handler, whose
        // back-off lets a late writer overtake one that has waited longer.
        let store = open(&db).await;
        let first = store.begin_write().await.unwrap();
        let mut waiting = Vec::new();
        for n in 0..6u32 {
            let store = store.clone();
            waiting.push(tokio::spawn(async move {
                let mut tx = store.begin_write().await.unwrap();
                let number = dangan_testkit::id_number("110105", NaiveDate::from_ymd_opt(1960, 1, 1).unwrap(), n + 1);
                let name = format!("写者{n}");
                persons::insert(&mut tx, &person(&number, &name), Utc::now()).await.unwrap();
                tx.commit().await.unwrap();
            }));
            tokio::time::sleep(std::time::Duration::from_millis(40)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        first.rollback().await.unwrap();
        for w in waiting {
            w.await.unwrap();
        }
        let mut tx = store.begin().await.unwrap();
        let filter = PersonFilter { name: Some("写者".into()), limit: 10, ..PersonFilter::default() };
        let rows = persons::search(&mut tx, &filter).await.unwrap().rows;
        let mut by_id: Vec<_> = rows.into_iter().map(|r| (r.id, r.name)).collect();
        by_id.sort();
        let names: Vec<String> = by_id.into_iter().map(|(_, n)| n).collect();
        assert_eq!(names, (0..6).map(|n| format!("写者{n}")).collect::<Vec<_>>());
    }
}
