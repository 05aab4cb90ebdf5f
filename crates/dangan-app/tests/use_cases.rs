//! Use-case tests on both backends: what a user of the API or CLI would notice.

use std::sync::Arc;

use dangan_app::access::persons::{PersonInput, PersonQuery};
use dangan_app::intake::events::{EventInput, MaterialInput};
use dangan_app::{AppError, Role};
use dangan_domain::business::BusinessClass;
use dangan_testkit::{TEST_PASSWORD, TestApp, id_number, on_both_backends, person_input};

fn code_of<T: std::fmt::Debug>(r: Result<T, AppError>) -> String {
    r.expect_err("an error").code().to_owned()
}

async fn person_count(t: &TestApp) -> i64 {
    let q = PersonQuery {
        division_code: Some("430321".into()),
        ..PersonQuery::default()
    };
    t.app.search_persons(&t.admin, &q).await.unwrap().total
}

fn material(code: &str) -> MaterialInput {
    MaterialInput {
        material_code: code.into(),
        pages: 2,
        ..MaterialInput::default()
    }
}

fn enrolment(
    person_id: i64,
    external_id: Option<&str>,
    materials: Vec<MaterialInput>,
) -> EventInput {
    EventInput {
        person_id: Some(person_id),
        business_type: "enrolment".into(),
        business_date: "2024-03-01".into(),
        source_system: Some("pension".into()),
        external_id: external_id.map(str::to_owned),
        materials,
        ..EventInput::default()
    }
}

on_both_backends! {
    async fn bad_person_input_is_refused_with_a_chinese_message_and_writes_nothing(db: TestDb) {
        let t = TestApp::start(db).await;
        let good = person_input(1, "张三");
        let mut wrong_check = good.clone();
        let last = wrong_check.id_number.pop().unwrap();
        wrong_check.id_number.push(if last == '0' { '1' } else { '0' });
        let future = PersonInput {
            id_number: id_number("430321", chrono::NaiveDate::from_ymd_opt(2030, 1, 1).unwrap(), 1),
            ..good.clone()
        };
        let unknown_division = PersonInput { division_code: "999999".into(), ..good.clone() };
        let cases = [
            (wrong_check, "invalid_id_number", "id_number", "校验位"),
            (future, "id_number_birth_date_in_future", "id_number", "晚于今天"),
            (unknown_division, "unknown_division_code", "division_code", "行政区划"),
            (PersonInput { name: "张3".into(), ..good.clone() }, "invalid_name", "name", "姓名"),
            (PersonInput { tier: Some(5), ..good.clone() }, "invalid_contribution_tier", "tier", "缴费档次"),
        ];
        for (input, code, field, words) in cases {
            let err = t.app.create_person(&t.admin, &input).await.unwrap_err();
            assert_eq!(err.code(), code);
            assert_eq!(err.field(), Some(field));
            assert!(err.to_string().contains(words), "{err}");
        }
        assert_eq!(person_count(&t).await, 0);
        t.app.create_person(&t.admin, &good).await.unwrap();
        assert_eq!(code_of(t.app.create_person(&t.admin, &good).await), "person_exists");
        assert_eq!(person_count(&t).await, 1);
    }

    async fn an_event_reports_missing_materials_at_once_and_is_still_saved(db: TestDb) {
        let t = TestApp::start(db).await;
        let p = t.app.create_person(&t.admin, &person_input(2, "李四")).await.unwrap();
        let rec = t.app.record_event(&t.admin, &enrolment(p.id.0, None, vec![material("enrolment_form")])).await.unwrap();
        assert!(rec.created);
        let c = &rec.event.completeness;
        assert!(!c.complete);
        let missing: Vec<&str> = c.missing.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(missing, ["身份证复印件", "户口本复印件"]);
        assert_eq!(rec.event.materials[0].retention.code(), "Y");
        t.register(&t.admin, p.id).await;
        let again = t.app.event(&t.admin, rec.event.id).await.unwrap();
        assert_eq!(again.completeness, rec.event.completeness);
    }

    async fn bad_events_are_refused_and_write_nothing(db: TestDb) {
        let t = TestApp::start(db).await;
        let p = t.app.create_person(&t.admin, &person_input(3, "王五")).await.unwrap();
        let unknown = enrolment(9999, None, vec![material("enrolment_form")]);
        assert_eq!(code_of(t.app.record_event(&t.admin, &unknown).await), "unknown_person");
        let over = enrolment(p.id.0, None, vec![material("enrolment_form"), material("death_certificate")]);
        let err = t.app.record_event(&t.admin, &over).await.unwrap_err();
        assert_eq!(err.code(), "material_out_of_scope");
        assert_eq!(err.field(), Some("materials[1].material_code"));
        assert!(err.to_string().contains("过度归档"));
        let mut shorter = material("enrolment_form");
        shorter.retention = Some("D10".into());
        assert_eq!(
            code_of(t.app.record_event(&t.admin, &enrolment(p.id.0, None, vec![shorter])).await),
            "retention_shorter_than_catalogue"
        );
        let mut future = enrolment(p.id.0, None, vec![]);
        future.business_date = "2999-01-01".into();
        assert_eq!(code_of(t.app.record_event(&t.admin, &future).await), "date_in_future");
        t.register(&t.admin, p.id).await;
        assert!(t.app.person_events(&t.admin, p.id).await.unwrap().is_empty());
    }

    async fn a_repeated_external_id_returns_the_existing_event_without_a_copy(db: TestDb) {
        let t = TestApp::start(db).await;
        let p = t.app.create_person(&t.admin, &person_input(4, "赵六")).await.unwrap();
        let input = enrolment(p.id.0, Some("BS-2024-0001"), vec![material("enrolment_form")]);
        let first = t.app.record_event(&t.admin, &input).await.unwrap();
        let mut handles = Vec::new();
        for _ in 0..20 {
            let app = Arc::clone(&t.app);
            let admin = t.admin.clone();
            let input = input.clone();
            handles.push(tokio::spawn(async move { app.record_event(&admin, &input).await.unwrap() }));
        }
        for h in handles {
            let again = h.await.unwrap();
            assert!(!again.created);
            assert_eq!(again.event.id, first.event.id);
        }
        t.register(&t.admin, p.id).await;
        assert_eq!(t.app.person_events(&t.admin, p.id).await.unwrap().len(), 1);
    }

    async fn concurrent_first_deliveries_of_one_event_store_it_once(db: TestDb) {
        let t = TestApp::start(db).await;
        let p = t.app.create_person(&t.admin, &person_input(5, "孙七")).await.unwrap();
        let input = enrolment(p.id.0, Some("BS-RACE"), vec![material("enrolment_form")]);
        let mut handles = Vec::new();
        for _ in 0..10 {
            let app = Arc::clone(&t.app);
            let admin = t.admin.clone();
            let input = input.clone();
            handles.push(tokio::spawn(async move { app.record_event(&admin, &input).await.unwrap() }));
        }
        let mut created = 0;
        for h in handles {
            if h.await.unwrap().created {
                created += 1;
            }
        }
        assert_eq!(created, 1);
        t.register(&t.admin, p.id).await;
        assert_eq!(t.app.person_events(&t.admin, p.id).await.unwrap().len(), 1);
    }

    async fn two_hundred_concurrent_allocations_yield_001_to_200_exactly_once(db: TestDb) {
        let t = TestApp::start(db).await;
        let mut handles = Vec::new();
        for _ in 0..200 {
            let app = Arc::clone(&t.app);
            let admin = t.admin.clone();
            handles.push(tokio::spawn(async move {
                app.allocate_archive_number(&admin, 2023, BusinessClass::Registration, None).await.unwrap()
            }));
        }
        let mut numbers = Vec::new();
        for h in handles {
            numbers.push(h.await.unwrap().archive_number);
        }
        numbers.sort();
        let expected: Vec<String> = (1..=200).map(|n| format!("2023-参保登记-{n:03}")).collect();
        assert_eq!(numbers, expected);
        let recorded = t.app.archive_numbers(&t.admin, 2023, BusinessClass::Registration).await.unwrap();
        assert_eq!(recorded.len(), 200);
        let other = t.app.allocate_archive_number(&t.admin, 2023, BusinessClass::Contribution, None).await.unwrap();
        assert_eq!(other.archive_number, "2023-缴费管理-001");
    }

    async fn editing_the_catalogue_makes_a_new_version_and_old_events_keep_theirs(db: TestDb) {
        let t = TestApp::start(db).await;
        let p = t.app.create_person(&t.admin, &person_input(6, "周八")).await.unwrap();
        let before = t.app.record_event(&t.admin, &enrolment(p.id.0, None, vec![material("enrolment_form")])).await.unwrap();
        let cat = t.app.catalogue(&t.admin).await.unwrap();
        assert_eq!(cat.version, 1);
        // The administrator makes the household register optional for enrolment.
        let entries: Vec<dangan_app::administration::catalogue::EntryInput> = cat
            .entries
            .iter()
            .map(|e| dangan_app::administration::catalogue::EntryInput {
                business_type: e.business_type.code().into(),
                material_code: e.material_code.to_string(),
                name: e.name.clone(),
                required: e.required && e.material_code.as_str() != "household_register_copy",
                retention: e.retention.code().into(),
                paper_original_kept: e.paper_original_kept,
                scan_required: e.scan_required,
            })
            .collect();
        let window = t.actor("window1", Role::Window).await;
        assert_eq!(code_of(t.app.replace_catalogue(&window, &entries, "x").await), "forbidden");
        let v2 = t.app.replace_catalogue(&t.admin, &entries, "户口本改为可选").await.unwrap();
        assert_eq!(v2.version, 2);
        let after = t.app.record_event(&t.admin, &enrolment(p.id.0, None, vec![material("enrolment_form")])).await.unwrap();
        assert_eq!(after.event.catalogue_version, 2);
        assert_eq!(after.event.completeness.missing.len(), 1);
        t.register(&t.admin, p.id).await;
        let old = t.app.event(&t.admin, before.event.id).await.unwrap();
        assert_eq!(old.catalogue_version, 1);
        assert_eq!(old.completeness.missing.len(), 2);
        let mut dup = entries.clone();
        dup.push(entries[0].clone());
        assert_eq!(code_of(t.app.replace_catalogue(&t.admin, &dup, "重复").await), "duplicate_catalogue_entry");
        assert_eq!(t.app.catalogue(&t.admin).await.unwrap().version, 2);
    }

    async fn a_loaded_year_extends_deadlines_and_a_bad_file_changes_nothing(db: TestDb) {
        let t = TestApp::start(db).await;
        let from = chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        assert_eq!(code_of(t.app.add_working_days(&t.admin, from, 1).await), "calendar_year_not_loaded");
        let bad = "# years: 2027\n2027-01-01\tholiday\t元旦\n2027-01-02\tworkday\n";
        assert_eq!(code_of(t.app.load_calendar(&t.admin, bad, "test").await), "invalid_calendar_file");
        assert!(t.app.add_working_days(&t.admin, from, 1).await.is_err());
        let good = "# years: 2027\n2027-01-01\tholiday\t元旦\n";
        let archivist = t.actor("arch", Role::Archivist).await;
        assert_eq!(code_of(t.app.load_calendar(&archivist, good, "test").await), "forbidden");
        assert_eq!(t.app.load_calendar(&t.admin, good, "test").await.unwrap(), vec![2027]);
        // 2027-01-01 is a Friday holiday; the next working day is Monday 4 January.
        assert_eq!(t.app.add_working_days(&t.admin, from, 1).await.unwrap(), chrono::NaiveDate::from_ymd_opt(2027, 1, 4).unwrap());
        let years = t.app.calendar_years(&t.admin).await.unwrap();
        assert_eq!(years.iter().map(|y| y.year).collect::<Vec<_>>(), (2015..=2027).collect::<Vec<_>>());
    }

    async fn signing_in_checks_the_password_and_roles_limit_what_a_user_may_do(db: TestDb) {
        let t = TestApp::start(db).await;
        assert_eq!(code_of(t.app.login("admin", "wrong-password-1", "test").await), "unauthenticated");
        assert_eq!(code_of(t.app.login("nobody", "wrong-password-1", "test").await), "unauthenticated");
        let login = t.app.login("admin", TEST_PASSWORD, "test").await.unwrap();
        assert!(!login.must_change_password);
        let me = t.app.authenticate(&login.token, "test").await.unwrap();
        assert_eq!(me.role, Role::Admin);
        t.app.logout(&me, &login.token, false).await.unwrap();
        assert_eq!(code_of(t.app.authenticate(&login.token, "test").await), "unauthenticated");
        let window = t.actor("window2", Role::Window).await;
        assert_eq!(code_of(t.app.create_person(&window, &person_input(7, "吴九")).await), "forbidden");
        let auditor = t.actor("audit", Role::Auditor).await;
        let q = PersonQuery { name: Some("吴".into()), ..PersonQuery::default() };
        assert_eq!(code_of(t.app.search_persons(&auditor, &q).await), "forbidden");
        assert_eq!(
            code_of(t.app.add_user(&t.admin, "newbie", None, Role::Window, None).await),
            "forbidden",
            "三员分立: the administrator does not manage accounts"
        );
        assert_eq!(
            code_of(t.app.add_user(&t.security, "weak", None, Role::Window, Some("short")).await),
            "weak_password"
        );
        assert_eq!(
            code_of(t.app.add_user(&t.security, "window2", None, Role::Window, Some("anotherpass123")).await),
            "username_taken"
        );
    }

    async fn a_generated_password_must_be_changed_before_anything_else(db: TestDb) {
        let t = TestApp::start(db).await;
        let (_, generated) = t.app.add_user(&t.security, "li.si", Some("李四"), Role::Archivist, None).await.unwrap();
        let generated = generated.unwrap();
        let a = t.app.login("li.si", &generated, "test").await.unwrap();
        assert!(a.must_change_password);
        let b = t.app.login("li.si", &generated, "test").await.unwrap();
        let q = PersonQuery { name: Some("张".into()), ..PersonQuery::default() };
        assert_eq!(code_of(t.app.search_persons(&a.user, &q).await), "password_change_required");
        assert_eq!(
            code_of(t.app.change_password(&a.user, &a.token, "not-the-password", "brand-new-pass-1").await),
            "wrong_password"
        );
        assert_eq!(code_of(t.app.change_password(&a.user, &a.token, &generated, "short").await), "weak_password");
        t.app.change_password(&a.user, &a.token, &generated, "brand-new-pass-1").await.unwrap();
        let still = t.app.authenticate(&a.token, "test").await.unwrap();
        assert!(!still.must_change_password, "the caller stays signed in, now free to work");
        assert!(t.app.search_persons(&still, &q).await.is_ok());
        assert_eq!(code_of(t.app.authenticate(&b.token, "test").await), "unauthenticated");
        assert_eq!(code_of(t.app.login("li.si", &generated, "test").await), "unauthenticated");
        assert!(!t.app.login("li.si", "brand-new-pass-1", "test").await.unwrap().must_change_password);
    }

    async fn demo_data_is_deterministic_and_a_second_load_adds_nothing(db: TestDb) {
        let t = TestApp::start(db).await;
        let first = t.app.load_demo(&t.admin, 42, 30, |_| {}).await.unwrap();
        assert_eq!(first.persons, 30);
        assert!(first.events >= 30);
        assert!(first.materials >= first.events);
        let second = t.app.load_demo(&t.admin, 42, 30, |_| {}).await.unwrap();
        assert_eq!((second.persons, second.skipped), (0, 30));
    }
}
