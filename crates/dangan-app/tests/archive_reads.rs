//! Every read of a person's archive goes through the query register (谁查询、谁登记), on both
//! backends: a material's scans, their names and four-property reports are the archive; a clerk
//! acts for a person (online account, kiosk sign-in) only on a registered query or the person's
//! own card, recorded as such; scan names never show the full identity number.

use dangan_app::access::person_archive::PaperState;
use dangan_app::access::register::RegisterQuery;
use dangan_app::administration::accounts::BasisInput;
use dangan_app::intake::events::{EventInput, MaterialInput};
use dangan_app::intake::handovers::{ConfirmInput, HandoverInput, HandoverItemInput, ReceiptInput};
use dangan_app::organising::volumes::FailedScans;
use dangan_app::security::audit::LogQuery;
use dangan_app::{AppError, Role};
use dangan_domain::business::BusinessClass;
use dangan_domain::id_number::mask;
use dangan_testkit::{TestApp, jpeg_scan, on_both_backends, person_input, png_scan};

fn code_of<T: std::fmt::Debug>(r: Result<T, AppError>) -> String {
    r.expect_err("an error").code().to_owned()
}

fn basis(kind: &str, number: Option<&str>) -> BasisInput {
    BasisInput {
        basis: kind.into(),
        id_number: number.map(str::to_owned),
    }
}

async fn log(t: &TestApp, action: &str) -> Vec<dangan_domain::audit::LogEntry> {
    t.app
        .search_log(
            &t.auditor,
            &LogQuery {
                action: Some(action.to_owned()),
                limit: Some(200),
                ..LogQuery::default()
            },
        )
        .await
        .unwrap()
}

on_both_backends! {
    async fn a_persons_archive_shows_each_materials_paper_scans_failed_checks_and_volume_from_one_logged_read(db: TestDb) {
        let t = TestApp::start(db).await;
        let handler = t.actor("handler1", Role::Handler).await;
        let archivist = t.actor("archivist1", Role::Archivist).await;
        // 张三's enrolment: the application form (paper and scan) …
        let (person, form) = t.enrolment_material().await;
        // … and a second business: an ID card copy on paper and an electronic record.
        let material = |code: &str, carrier: &str| MaterialInput {
            material_code: code.into(),
            pages: 1,
            carrier: Some(carrier.into()),
            ..MaterialInput::default()
        };
        let second = t.app.record_event(&t.admin, &EventInput {
            person_id: Some(person.0),
            business_type: "enrolment".into(),
            business_date: "2024-07-01".into(),
            materials: vec![material("id_card_copy", "paper"), material("household_register_copy", "electronic")],
            ..EventInput::default()
        }).await.unwrap().event;
        let (card, record) = (second.materials[0].id, second.materials[1].id);
        // A 72 dpi screen image fails the four-property check; a PNG scan beside it.
        t.app.ingest_file(&t.admin, form, Some("申请表.jpg"), &jpeg_scan(300, 400, 72)[..]).await.unwrap();
        t.app.ingest_file(&t.admin, record, Some("户口本.png"), &png_scan(20_000, 5)[..]).await.unwrap();

        // No registration, no archive: refused and logged, as every archive read.
        assert_eq!(code_of(t.app.person_archive(&handler, person).await), "query_registration_required");
        t.register(&handler, person).await;
        t.register(&archivist, person).await;
        let find = |a: &dangan_app::access::person_archive::PersonArchive, m: dangan_app::ids::MaterialId| {
            a.events.iter().flat_map(|e| &e.materials).find(|x| x.material.id == m).cloned().expect("material listed")
        };
        let a = t.app.person_archive(&handler, person).await.unwrap();
        assert_eq!(a.person.name, "张三");
        assert_eq!(a.events.len(), 2, "oldest first");
        assert_eq!(find(&a, form).paper, PaperState::AwaitingHandover);
        assert_eq!(find(&a, card).paper, PaperState::AwaitingHandover);
        assert_eq!(find(&a, record).paper, PaperState::NoPaper);
        assert_eq!((find(&a, form).files.len(), find(&a, form).failed_scans), (1, 1));
        let record_scans = find(&a, record);
        assert_eq!(record_scans.files.len(), 1);
        assert_eq!(record_scans.failed_scans, record_scans.files.iter().filter(|f| f.four_properties_passed == Some(false)).count());
        assert!(find(&a, card).files.is_empty(), "a material without scans has none, and is listed");
        assert!(a.events.iter().all(|e| e.awaiting_handover() && e.open_handovers().is_empty()));

        // Handed over: on the open list, and the 移交 of the event has nothing left to do.
        let h = t.app.hand_over_event(&handler, a.events[0].event.id).await.unwrap();
        assert_eq!(code_of(t.app.hand_over_event(&handler, a.events[0].event.id).await), "nothing_to_hand_over");
        let h2 = t.app.create_handover(&handler, &HandoverInput { items: vec![HandoverItemInput { material_id: card.0, quantity: None }], note: None }).await.unwrap();
        let a = t.app.person_archive(&handler, person).await.unwrap();
        assert_eq!(find(&a, form).paper, PaperState::OnOpenHandover(h.id));
        assert_eq!(find(&a, card).paper, PaperState::OnOpenHandover(h2.id));
        assert!(a.events.iter().all(|e| !e.awaiting_handover()));
        assert_eq!(a.events[0].open_handovers(), vec![h.id]);

        // Confirmed: the form received, the ID card copy missing.
        let receipt = |id: dangan_app::ids::HandoverItemId, result: &str, note: Option<&str>| ReceiptInput { item_id: id.0, result: result.into(), note: note.map(str::to_owned) };
        t.app.confirm_handover(&archivist, h.id, &ConfirmInput { items: vec![receipt(h.items[0].id, "ok", None)], extras: vec![] }).await.unwrap();
        t.app.confirm_handover(&archivist, h2.id, &ConfirmInput { items: vec![receipt(h2.items[0].id, "missing", Some("未随件移交"))], extras: vec![] }).await.unwrap();
        let a = t.app.person_archive(&handler, person).await.unwrap();
        assert_eq!(find(&a, form).paper, PaperState::Received);
        assert_eq!(find(&a, card).paper, PaperState::Missing);
        assert!(a.events.iter().all(|e| e.open_handovers().is_empty()));
        assert!(find(&a, form).volume.is_none());

        // Organised: a draft volume, then sealed with its archive number.
        let drafts = t.app.build_volumes(&archivist, 2024, BusinessClass::Registration).await.unwrap();
        let a = t.app.person_archive(&handler, person).await.unwrap();
        let v = find(&a, form).volume.expect("in a volume");
        assert_eq!((v.id, v.sealed, v.archive_number.as_deref()), (drafts[0].id, false, None));
        t.app.seal_volume(&archivist, drafts[0].id, FailedScans::Acknowledged).await.unwrap();
        let a = t.app.person_archive(&handler, person).await.unwrap();
        let v = find(&a, form).volume.expect("in a volume");
        assert!(v.sealed);
        assert_eq!(v.archive_number.as_deref(), Some("2024-参保登记-001"));
        assert!(find(&a, form).files[0].sealed, "its scan is sealed with it");

        // One log entry per read, under the person; the refusal too.
        let reads = log(&t, "person.events.read").await;
        assert_eq!(reads.iter().filter(|e| e.actor_name == "handler1" && e.outcome == "ok" && e.detail.starts_with("archive:")).count(), 5);
        assert!(reads.iter().any(|e| e.outcome == "denied" && e.target_id == person.to_string()));
    }

    async fn a_materials_scans_are_the_archive_read_only_after_a_query_and_logged(db: TestDb) {
        let t = TestApp::start(db).await;
        let (person, m) = t.enrolment_material().await;
        let number = person_input(1, "张三").id_number;
        // The hot folder's S6.1 name carries the full number.
        let s61 = format!("2024-参保登记-{number}-参保登记表.png");
        let f = t.app.ingest_file(&t.admin, m, Some(&s61), &png_scan(20_000, 3)[..]).await.unwrap();
        let masked_name = format!("2024-参保登记-{}-参保登记表.png", mask(&number));
        assert_eq!(f.original_name, masked_name, "even the uploader's answer masks it");

        for role in [Role::Window, Role::Handler, Role::Archivist] {
            let clerk = t.actor(&format!("{}1", role.code()), role).await;
            assert_eq!(code_of(t.app.files_of(&clerk, m).await), "query_registration_required", "{role:?}");
            assert_eq!(code_of(t.app.file_checks(&clerk, f.id).await), "query_registration_required", "{role:?}");
            assert_eq!(code_of(t.app.person_files(&clerk, person).await), "query_registration_required", "{role:?}");
        }
        assert_eq!(code_of(t.app.files_of(&t.admin, m).await), "query_registration_required");
        for officer in [&t.security, &t.auditor] {
            assert_eq!(code_of(t.app.files_of(officer, m).await), "forbidden");
            assert_eq!(code_of(t.app.file_checks(officer, f.id).await), "forbidden");
        }
        assert_eq!(code_of(t.app.files_of(&t.admin, dangan_app::ids::MaterialId(999_999)).await), "material_not_found");

        // After the registration: the names are masked wherever they are listed.
        let window = t.app.login("window1", dangan_testkit::TEST_PASSWORD, "test").await.unwrap().user;
        t.register(&window, person).await;
        let listed = t.app.files_of(&window, m).await.unwrap();
        assert_eq!(listed[0].original_name, masked_name);
        let tree = t.app.person_files(&window, person).await.unwrap();
        assert_eq!(tree[&m][0].original_name, masked_name);
        assert!(t.app.file_checks(&window, f.id).await.unwrap().checks.len() > 5);
        let (view, _) = t.app.open_file(&window, f.id).await.unwrap();
        assert_eq!(view.original_name, masked_name, "the viewer's title");

        // Every read and every refusal is logged, by person or file, never with the full number.
        let lists = log(&t, "file.list").await;
        assert!(lists.iter().any(|e| e.actor_name == "window1" && e.outcome == "denied" && e.target_kind == "person" && e.target_id == person.to_string()));
        assert!(lists.iter().any(|e| e.actor_name == "window1" && e.outcome == "ok" && e.target_id == person.to_string()));
        let checks = log(&t, "file.checks").await;
        assert!(checks.iter().any(|e| e.outcome == "denied" && e.target_kind == "file" && e.target_id == f.id.to_string()));
        assert!(checks.iter().any(|e| e.actor_name == "window1" && e.outcome == "ok"));
        let everything = log(&t, "").await;
        assert!(everything.iter().all(|e| !e.detail.contains(&number) && !e.target_id.contains(&number)));
    }

    async fn a_clerk_opens_an_account_only_on_a_registered_query_or_the_persons_card(db: TestDb) {
        let t = TestApp::start(db).await;
        let mine = person_input(2, "李四");
        let p = t.app.create_person(&t.admin, &mine).await.unwrap();
        let stranger = person_input(3, "王五");
        t.app.create_person(&t.admin, &stranger).await.unwrap();
        let window = t.actor("window1", Role::Window).await;

        // No basis, a query not registered, a card that is someone else's: refused and logged.
        assert_eq!(code_of(t.app.open_insured_account(&window, p.id, &basis("", None)).await), "basis_required");
        assert_eq!(code_of(t.app.open_insured_account(&window, p.id, &basis("card", None)).await), "card_number_required");
        assert_eq!(code_of(t.app.open_insured_account(&window, p.id, &basis("query", None)).await), "query_registration_required");
        assert_eq!(code_of(t.app.open_insured_account(&window, p.id, &basis("card", Some(&stranger.id_number))).await), "id_card_mismatch");
        let refused = log(&t, "insured.account_open").await;
        assert_eq!(refused.iter().filter(|e| e.outcome == "denied" && e.actor_name == "window1").count(), 2);
        let none = t.app.query_register(&t.auditor, &RegisterQuery::default()).await.unwrap();
        assert_eq!(none.total, 0, "a refusal registers nothing");

        // The person with their card: done, and in the register as the person's own query.
        let opened = t.app.open_insured_account(&window, p.id, &basis("card", Some(&mine.id_number))).await.unwrap();
        assert!(opened.initial_password.len() >= 10);
        let reg = t.app.query_register(&t.auditor, &RegisterQuery { person_id: Some(p.id.0), ..RegisterQuery::default() }).await.unwrap();
        assert_eq!(reg.total, 1);
        let q = &reg.items[0];
        assert_eq!((q.enquirer_name.as_str(), q.staff_name.as_str()), ("李四", "window1"));
        assert_eq!(q.enquirer_id_masked, mask(&mine.id_number));
        assert_eq!(q.purpose, "开通或重置网上查询账户");
        let done = log(&t, "insured.account_open").await;
        let ok: Vec<_> = done.iter().filter(|e| e.outcome == "ok").collect();
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].actor_name, "window1");
        assert!(ok[0].detail.contains("basis=card"), "{}", ok[0].detail);

        // A registered query is a basis too, for this clerk only.
        let handler = t.actor("handler1", Role::Handler).await;
        assert_eq!(code_of(t.app.open_insured_account(&handler, p.id, &basis("query", None)).await), "query_registration_required");
        t.register(&handler, p.id).await;
        t.app.open_insured_account(&handler, p.id, &basis("query", None)).await.unwrap();
    }

    async fn a_clerk_signs_a_person_in_at_the_kiosk_only_on_a_query_or_their_card(db: TestDb) {
        let t = TestApp::start(db).await;
        let mine = person_input(4, "赵六");
        let p = t.app.create_person(&t.admin, &mine).await.unwrap();
        let window = t.actor("window1", Role::Window).await;
        assert_eq!(code_of(t.app.assisted_insured_login(&window, &mine.id_number, "", "kiosk").await), "basis_required");
        assert_eq!(code_of(t.app.assisted_insured_login(&window, &mine.id_number, "query", "kiosk").await), "query_registration_required");
        let refused = log(&t, "auth.insured_assisted").await;
        assert!(refused.iter().any(|e| e.outcome == "denied" && e.actor_name == "window1" && e.target_id == p.id.to_string()));

        let by_card = t.app.assisted_insured_login(&window, &mine.id_number, "card", "kiosk").await.unwrap();
        assert_eq!(by_card.user.subject, dangan_app::Subject::Insured(p.id));
        let reg = t.app.query_register(&t.auditor, &RegisterQuery { person_id: Some(p.id.0), ..RegisterQuery::default() }).await.unwrap();
        assert_eq!((reg.total, reg.items[0].purpose.as_str()), (1, "自助查询机协助登录"));

        let other = t.actor("window2", Role::Window).await;
        assert_eq!(code_of(t.app.assisted_insured_login(&other, &mine.id_number, "query", "kiosk").await), "query_registration_required");
        t.register(&other, p.id).await;
        t.app.assisted_insured_login(&other, &mine.id_number, "query", "kiosk").await.unwrap();
        let ok: Vec<_> = log(&t, "auth.insured_assisted").await.into_iter().filter(|e| e.outcome == "ok").collect();
        assert_eq!(ok.len(), 2);
        assert!(ok.iter().any(|e| e.actor_name == "window1" && e.detail.contains("basis=card")));
        assert!(ok.iter().any(|e| e.actor_name == "window2" && e.detail.contains("basis=query")));
    }
}
