//! Access control on both backends: the query register, insured persons' own records, lock-out,
//! API tokens, sign-out everywhere, and the operation log that records all of it.

use dangan_app::access::persons::PersonQuery;
use dangan_app::access::register::{QueryInput, RegisterQuery};
use dangan_app::administration::accounts::BasisInput;
use dangan_app::intake::events::{EventInput, MaterialInput};
use dangan_app::security::audit::LogQuery;
use dangan_app::{AppError, Role};
use dangan_testkit::{TEST_PASSWORD, TestApp, on_both_backends, person_input};

fn code_of<T: std::fmt::Debug>(r: Result<T, AppError>) -> String {
    r.expect_err("an error").code().to_owned()
}

fn enrolment(person_id: i64) -> EventInput {
    EventInput {
        person_id: Some(person_id),
        business_type: "enrolment".into(),
        business_date: "2024-03-01".into(),
        materials: vec![MaterialInput {
            material_code: "enrolment_form".into(),
            pages: 1,
            ..MaterialInput::default()
        }],
        ..EventInput::default()
    }
}

fn entries_for(t: &TestApp, action: &str) -> LogQuery {
    let _ = t;
    LogQuery {
        action: Some(action.to_owned()),
        limit: Some(100),
        ..LogQuery::default()
    }
}

on_both_backends! {
    async fn window_staff_open_an_archive_only_after_registering_the_query(db: TestDb) {
        let t = TestApp::start(db).await;
        let window = t.actor("window1", Role::Window).await;
        let p = t.app.create_person(&t.admin, &person_input(1, "张三")).await.unwrap();
        let err = t.app.person(&window, p.id).await.unwrap_err();
        assert_eq!(err.code(), "query_registration_required");
        assert!(err.to_string().contains("查询登记"));
        let mut input = QueryInput {
            person_id: p.id.0,
            enquirer_name: "王五".into(),
            enquirer_id_number: "11010519491231002X".into(),
            question: "缴费记录".into(),
            purpose: "办理待遇申领".into(),
        };
        input.enquirer_id_number = "110105194912310021".into();
        assert_eq!(code_of(t.app.register_query(&window, &input).await), "invalid_id_number");
        input.enquirer_id_number = "11010519491231002x".into();
        input.purpose = "  ".into();
        assert_eq!(code_of(t.app.register_query(&window, &input).await), "invalid_text");
        input.purpose = "办理待遇申领".into();
        let reg = t.app.register_query(&window, &input).await.unwrap();
        assert_eq!(reg.enquirer_id_masked, "110105***********X");
        assert_eq!(t.app.person(&window, p.id).await.unwrap().name, "张三");
        // The registration is the window clerk's, not a pass for everybody.
        let other = t.actor("window2", Role::Window).await;
        assert_eq!(code_of(t.app.person(&other, p.id).await), "query_registration_required");

        // The register is searchable by the enquirer's number and exportable, masked.
        let q = RegisterQuery { enquirer_id_number: Some("11010519491231002X".into()), ..RegisterQuery::default() };
        assert_eq!(code_of(t.app.query_register(&window, &q).await), "forbidden");
        let page = t.app.query_register(&t.auditor, &q).await.unwrap();
        assert_eq!(page.total, 1);
        assert_eq!(page.items[0].staff_name, "window1");
        let none = RegisterQuery { enquirer_id_number: Some("440524188001010014".into()), ..RegisterQuery::default() };
        assert_eq!(t.app.query_register(&t.auditor, &none).await.unwrap().total, 0);
        let csv = t.app.export_query_register(&t.admin, &RegisterQuery::default()).await.unwrap();
        assert!(csv.starts_with("\u{feff}登记号,"));
        assert!(csv.contains("110105***********X"));
        assert!(!csv.contains("19491231"));

        // Every read is in the log, attributed.
        let reads = t.app.search_log(&t.auditor, &entries_for(&t, "person.read")).await.unwrap();
        let outcomes: Vec<(&str, &str)> = reads.iter().map(|e| (e.actor_name.as_str(), e.outcome.as_str())).collect();
        assert!(outcomes.contains(&("window1", "ok")));
        assert!(outcomes.contains(&("window2", "denied")));
        assert!(reads.iter().all(|e| e.target_id == p.id.to_string()));
    }

    async fn an_insured_person_sees_only_their_own_records_and_probing_is_logged(db: TestDb) {
        let t = TestApp::start(db).await;
        let mine = person_input(2, "李四");
        let me_row = t.app.create_person(&t.admin, &mine).await.unwrap();
        let other = t.app.create_person(&t.admin, &person_input(3, "王五")).await.unwrap();
        let my_event = t.app.record_event(&t.admin, &enrolment(me_row.id.0)).await.unwrap().event;
        let other_event = t.app.record_event(&t.admin, &enrolment(other.id.0)).await.unwrap().event;
        let window = t.actor("window3", Role::Window).await;
        let card = BasisInput { basis: "card".into(), id_number: Some(mine.id_number.clone()) };
        let opened = t.app.open_insured_account(&window, me_row.id, &card).await.unwrap();

        assert_eq!(code_of(t.app.login_insured(&mine.id_number, "wrong-pass-123", "test").await), "unauthenticated");
        let first = t.app.login_insured(&mine.id_number.to_lowercase(), &opened.initial_password, "test").await.unwrap();
        assert!(first.must_change_password);
        assert_eq!(code_of(t.app.my_person(&first.user).await), "not_found", "nothing before the password is changed");
        t.app.change_password(&first.user, &first.token, &opened.initial_password, "my-own-pass-2026").await.unwrap();
        let me = t.app.login_insured(&mine.id_number, "my-own-pass-2026", "test").await.unwrap().user;
        assert_eq!(me.username, dangan_domain::id_number::mask(&mine.id_number));

        assert_eq!(t.app.my_person(&me).await.unwrap().name, "李四");
        assert_eq!(t.app.my_events(&me).await.unwrap().len(), 1);
        assert_eq!(t.app.person(&me, me_row.id).await.unwrap().id, me_row.id);
        assert_eq!(t.app.event(&me, my_event.id).await.unwrap().id, my_event.id);

        // Every way to someone else's data answers "not found", exactly as for a missing id.
        let probes: Vec<(&str, String)> = vec![
            ("person", code_of(t.app.person(&me, other.id).await)),
            ("person missing", code_of(t.app.person(&me, dangan_app::ids::PersonId(999_999)).await)),
            ("events", code_of(t.app.person_events(&me, other.id).await)),
            ("event", code_of(t.app.event(&me, other_event.id).await)),
            ("event missing", code_of(t.app.event(&me, dangan_app::ids::EventId(999_999)).await)),
            ("record", code_of(t.app.record_event(&me, &enrolment(other.id.0)).await)),
            ("search", code_of(t.app.search_persons(&me, &PersonQuery { name: Some("王".into()), ..PersonQuery::default() }).await)),
            ("account", code_of(t.app.open_insured_account(&me, other.id, &card).await)),
        ];
        for (what, code) in &probes {
            assert_eq!(code, "not_found", "{what}");
        }
        let log = t
            .app
            .search_log(&t.auditor, &LogQuery { actor_kind: Some("insured".into()), actor_id: Some(me_row.id.to_string()), outcome: Some("not_found".into()), limit: Some(100), ..LogQuery::default() })
            .await
            .unwrap();
        assert!(log.len() >= probes.len() - 1, "every probe is logged: {}", log.len());
        assert!(log.iter().all(|e| !e.actor_name.contains(&mine.id_number[6..14])), "the log holds only the masked number");
    }

    async fn repeated_failed_sign_ins_lock_the_account(db: TestDb) {
        let t = TestApp::start(db).await;
        t.actor("archivist1", Role::Archivist).await;
        for _ in 0..5 {
            assert_eq!(code_of(t.app.login("archivist1", "wrong-pass-999", "10.0.0.9").await), "unauthenticated");
        }
        // Locked: the right password is refused, in the very words of a wrong one.
        let wrong = t.app.login("archivist1", "wrong-pass-999", "10.0.0.8").await.unwrap_err();
        let err = t.app.login("archivist1", TEST_PASSWORD, "10.0.0.9").await.unwrap_err();
        assert_eq!((err.code(), err.to_string()), (wrong.code(), wrong.to_string()));
        assert!(err.to_string().contains("临时锁定"));
        let failed = t.app.search_log(&t.auditor, &LogQuery { action: Some("auth.login".into()), outcome: Some("failed".into()), limit: Some(50), ..LogQuery::default() }).await.unwrap();
        assert_eq!(failed.len(), 5);
        assert!(failed.iter().all(|e| e.source == "10.0.0.9"));
        let locked = t.app.search_log(&t.auditor, &LogQuery { action: Some("auth.login".into()), outcome: Some("denied".into()), limit: Some(50), ..LogQuery::default() }).await.unwrap();
        assert_eq!(locked.len(), 2);
        assert!(locked.iter().all(|e| e.detail == "locked"));
        // The security officer's role change unlocks it.
        let users = t.app.users(&t.security).await.unwrap();
        let id = users.iter().find(|u| u.username == "archivist1").unwrap().id;
        t.app.set_user_role(&t.security, id, Role::Archivist, false).await.unwrap();
        assert!(t.app.login("archivist1", TEST_PASSWORD, "test").await.is_ok());
        assert_eq!(code_of(t.app.set_user_role(&t.security, t.security.user_id().unwrap(), Role::Admin, false).await), "own_account");
    }

    async fn an_api_token_does_what_its_scopes_allow_until_it_is_revoked(db: TestDb) {
        let t = TestApp::start(db).await;
        let p = t.app.create_person(&t.admin, &person_input(4, "赵六")).await.unwrap();
        assert_eq!(code_of(t.app.create_token(&t.auditor, "pension", &["events:write".into()]).await), "forbidden");
        assert_eq!(code_of(t.app.create_token(&t.security, "pension", &["archive:everything".into()]).await), "invalid_scope");
        // A token carries no more than its issuer may do: the security officer writes no events.
        assert_eq!(code_of(t.app.create_token(&t.security, "pension", &["events:write".into()]).await), "scope_beyond_issuer");
        let created = t.app.create_token(&t.admin, "pension", &["events:write".into(), "persons:write".into()]).await.unwrap();
        assert!(created.secret.starts_with("dgt_"));
        let machine = t.app.authenticate(&created.secret, "10.1.1.1").await.unwrap();
        assert_eq!(machine.role, Role::Machine);
        assert!(t.app.record_event(&machine, &enrolment(p.id.0)).await.unwrap().created);
        assert_eq!(code_of(t.app.person(&machine, p.id).await), "forbidden");
        assert_eq!(
            code_of(t.app.search_persons(&machine, &PersonQuery { name: Some("赵".into()), ..PersonQuery::default() }).await),
            "forbidden"
        );
        assert_eq!(code_of(t.app.create_token(&t.admin, "pension", &["events:write".into()]).await), "token_name_taken");
        // Either officer may revoke any token (incident response).
        t.app.revoke_token(&t.security, created.token.id).await.unwrap();
        assert_eq!(code_of(t.app.authenticate(&created.secret, "10.1.1.1").await), "unauthenticated");
        assert!(t.app.tokens(&t.security).await.unwrap()[0].revoked_at.is_some());
    }

    async fn signing_out_everywhere_ends_every_session(db: TestDb) {
        let t = TestApp::start(db).await;
        let a = t.app.login("admin", TEST_PASSWORD, "a").await.unwrap();
        let b = t.app.login("admin", TEST_PASSWORD, "b").await.unwrap();
        t.app.logout(&a.user, &a.token, true).await.unwrap();
        assert_eq!(code_of(t.app.authenticate(&a.token, "a").await), "unauthenticated");
        assert_eq!(code_of(t.app.authenticate(&b.token, "b").await), "unauthenticated");
    }

    async fn the_log_is_for_the_auditor_and_verifies_with_its_anchors(db: TestDb) {
        let t = TestApp::start(db).await;
        let p = t.app.create_person(&t.admin, &person_input(5, "孙七")).await.unwrap();
        assert_eq!(code_of(t.app.search_log(&t.admin, &LogQuery::default()).await), "forbidden");
        assert_eq!(code_of(t.app.verify_log(&t.security).await), "forbidden");
        let anchor = t.app.anchor_log(&t.auditor).await.unwrap().expect("head moved");
        assert!(t.app.anchor_log(&t.auditor).await.unwrap().is_none(), "nothing new to anchor");
        t.app.create_person(&t.admin, &person_input(6, "周八")).await.unwrap();
        let report = t.app.verify_log(&t.auditor).await.unwrap();
        assert!(report.ok, "{report:?}");
        assert_eq!(report.anchors, 1);
        assert!(report.entries > anchor.seq);
        let created = t.app.search_log(&t.auditor, &entries_for(&t, "person.create")).await.unwrap();
        assert_eq!(created.len(), 2);
        assert_eq!(created[1].target_id, p.id.to_string());
        assert_eq!(created[1].actor_name, "admin");
        assert!(created.iter().all(|e| e.detail.contains("********")), "identity numbers only masked");
    }
}
