//! The daily flows as the pages use them, on both backends: the archive post's receipt task
//! for a handover, the work lists naming their person (masked) in one read, the handover list,
//! and a business entered with nothing ticked.

use dangan_app::AppError;
use dangan_app::Role;
use dangan_app::administration::tasks::TaskQuery;
use dangan_app::intake::events::{EventInput, EventView, MaterialInput};
use dangan_app::intake::handovers::{ConfirmInput, HandoverInput, HandoverItemInput, ReceiptInput};
use dangan_app::security::audit::LogQuery;
use dangan_domain::workflow::{HandoverState, Post, SubjectKind, TaskKind, TaskState};
use dangan_testkit::{TestApp, on_both_backends, person_input};

fn code_of<T: std::fmt::Debug>(r: Result<T, AppError>) -> String {
    r.expect_err("an error").code().to_owned()
}

fn enrolment(person: i64, materials: Vec<MaterialInput>) -> EventInput {
    EventInput {
        person_id: Some(person),
        business_type: "enrolment".into(),
        business_date: "2025-03-03".into(),
        materials,
        ..EventInput::default()
    }
}

fn paper(code: &str) -> MaterialInput {
    MaterialInput {
        material_code: code.into(),
        pages: 1,
        carrier: Some("paper".into()),
        ..MaterialInput::default()
    }
}

async fn event(t: &TestApp, person: i64) -> EventView {
    t.app
        .record_event(&t.admin, &enrolment(person, vec![paper("enrolment_form")]))
        .await
        .unwrap()
        .event
}

fn all_of(ev: &EventView) -> HandoverInput {
    HandoverInput {
        items: ev
            .materials
            .iter()
            .map(|m| HandoverItemInput {
                material_id: m.id.0,
                quantity: None,
            })
            .collect(),
        note: None,
    }
}

on_both_backends! {
    async fn a_handover_opens_a_receipt_task_at_the_archive_post_which_its_confirmation_closes(db: TestDb) {
        let t = TestApp::start(db).await;
        let handler = t.actor("handler1", Role::Handler).await;
        let archivist = t.actor("archivist1", Role::Archivist).await;
        let p = t.app.create_person(&t.admin, &person_input(2, "李四")).await.unwrap();
        let ev = event(&t, p.id.0).await;
        let h = t.app.create_handover(&handler, &all_of(&ev)).await.unwrap();

        let tasks = t.app.tasks_for(&t.admin, SubjectKind::Handover, h.id.0).await.unwrap();
        assert_eq!(tasks.len(), 1, "{tasks:?}");
        let receipt = &tasks[0];
        assert_eq!((receipt.kind, receipt.post, receipt.state), (TaskKind::Receipt, Post::Organising, TaskState::Open));
        assert!(receipt.title.contains(&format!("交接单 {}", h.id)), "{}", receipt.title);
        let one_day = t.app.add_working_days(&t.admin, receipt.opened_on, 1).await.ok();
        assert_eq!(receipt.due_on, one_day, "due as collection is: one working day");
        let open = t.app.tasks(&archivist, &TaskQuery { post: Some("organising".into()), state: Some("open".into()) }).await.unwrap();
        assert!(open.iter().any(|t| t.kind == TaskKind::Receipt && t.subject_id == h.id.0), "on the archive post's list");

        let line = h.items[0].id.0;
        let confirm = ConfirmInput { items: vec![ReceiptInput { item_id: line, result: "ok".into(), note: None }], extras: vec![] };
        t.app.confirm_handover(&archivist, h.id, &confirm).await.unwrap();
        let tasks = t.app.tasks_for(&t.admin, SubjectKind::Handover, h.id.0).await.unwrap();
        let kinds: Vec<(TaskKind, TaskState)> = tasks.iter().map(|t| (t.kind, t.state)).collect();
        assert_eq!(kinds, [(TaskKind::Receipt, TaskState::Done), (TaskKind::Organising, TaskState::Open)]);
    }

    async fn tasks_and_supplements_name_their_person_with_a_masked_number_and_the_read_is_logged(db: TestDb) {
        let t = TestApp::start(db).await;
        let handler = t.actor("handler1", Role::Handler).await;
        let window = t.actor("window1", Role::Window).await;
        let p = t.app.create_person(&t.admin, &person_input(3, "王五")).await.unwrap();
        let q = t.app.create_person(&t.admin, &person_input(4, "赵六")).await.unwrap();
        let ev = event(&t, p.id.0).await;
        let other = event(&t, q.id.0).await;
        let h = t.app.create_handover(&handler, &all_of(&ev)).await.unwrap();

        let tasks = t.app.tasks(&window, &TaskQuery { post: None, state: Some("open".into()) }).await.unwrap();
        let masked = p.id_number.masked();
        for (kind, subject) in [(TaskKind::Collection, ev.id.0), (TaskKind::Receipt, h.id.0)] {
            let task = tasks.iter().find(|t| t.kind == kind && t.subject_id == subject).unwrap_or_else(|| panic!("{kind:?}: {tasks:?}"));
            assert_eq!(task.person_name.as_deref(), Some("王五"), "{kind:?}");
            assert_eq!(task.person_id, Some(p.id));
            assert_eq!(task.event_id, Some(ev.id));
            assert_eq!(task.id_number_masked.as_deref(), Some(masked.as_str()));
            assert!(!masked.contains(&p.id_number.as_str()[6..14]), "masked: {masked}");
        }
        let supplement = tasks.iter().find(|t| t.kind == TaskKind::Supplement && t.event_id == Some(other.id)).expect("a supplement task of 赵六");
        assert_eq!(supplement.person_name.as_deref(), Some("赵六"));

        let open = t.app.supplements(&window, Some("open")).await.unwrap();
        let s = open.iter().find(|s| s.event_id == other.id).unwrap();
        assert_eq!(s.person_name.as_deref(), Some("赵六"));
        assert_eq!(s.person_id, Some(q.id));
        assert_eq!(s.id_number_masked.as_deref(), Some(q.id_number.masked().as_str()));
        assert_eq!((s.business_name.as_deref(), s.business_date.map(|d| d.to_string())), (Some("参保登记"), Some("2025-03-03".to_owned())));

        for action in ["task.list", "supplement.list"] {
            let q = LogQuery { action: Some(action.into()), limit: Some(10), ..LogQuery::default() };
            let entries = t.app.search_log(&t.auditor, &q).await.unwrap();
            assert!(!entries.is_empty(), "{action} is logged");
        }
    }

    async fn the_handover_list_shows_pending_lists_first_filters_by_state_and_masks_the_person(db: TestDb) {
        let t = TestApp::start(db).await;
        let handler = t.actor("handler1", Role::Handler).await;
        let archivist = t.actor("archivist1", Role::Archivist).await;
        let p = t.app.create_person(&t.admin, &person_input(5, "孙七")).await.unwrap();
        let first = t.app.create_handover(&handler, &all_of(&event(&t, p.id.0).await)).await.unwrap();
        let second = t.app.create_handover(&handler, &all_of(&event(&t, p.id.0).await)).await.unwrap();
        let line = first.items[0].id.0;
        let confirm = ConfirmInput { items: vec![ReceiptInput { item_id: line, result: "ok".into(), note: None }], extras: vec![] };
        t.app.confirm_handover(&archivist, first.id, &confirm).await.unwrap();

        let all = t.app.handovers(&handler, None).await.unwrap();
        let order: Vec<_> = all.iter().map(|h| (h.id, h.state)).collect();
        assert_eq!(order, [(second.id, HandoverState::Open), (first.id, HandoverState::Confirmed)], "pending first");
        assert_eq!(all[0].person_name.as_deref(), Some("孙七"));
        assert_eq!(all[0].id_number_masked.as_deref(), Some(p.id_number.masked().as_str()));
        assert_eq!((all[0].items, all[0].persons), (1, 1));
        assert_eq!(all[1].received_by.as_deref(), Some("archivist1"));
        let pending = t.app.handovers(&handler, Some("open")).await.unwrap();
        assert_eq!(pending.iter().map(|h| h.id).collect::<Vec<_>>(), [second.id]);
        assert_eq!(code_of(t.app.handovers(&handler, Some("lost")).await), "invalid_state");
        assert_eq!(code_of(t.app.handovers(&t.auditor, None).await), "forbidden");
        assert!(second.may_confirm(&archivist) && !second.may_confirm(&handler), "the receiving post, not the one who handed over");
        let confirmed = t.app.handover(&archivist, first.id).await.unwrap();
        assert!(!confirmed.may_confirm(&archivist), "a confirmed list is not confirmed again");
    }

    async fn a_business_with_no_material_and_no_source_id_is_refused_and_nothing_is_saved(db: TestDb) {
        let t = TestApp::start(db).await;
        let p = t.app.create_person(&t.admin, &person_input(6, "周八")).await.unwrap();
        let refused = t.app.record_event(&t.admin, &enrolment(p.id.0, vec![])).await;
        let err = refused.expect_err("refused");
        assert_eq!((err.code(), err.field()), ("no_materials", Some("materials")));
        t.register(&t.admin, p.id).await;
        assert!(t.app.person_events(&t.admin, p.id).await.unwrap().is_empty(), "no empty event saved");
        // A source system's business may come before its materials: its id makes a retry a replay.
        let keyed = EventInput { external_id: Some("YW-1".into()), ..enrolment(p.id.0, vec![]) };
        let first = t.app.record_event(&t.admin, &keyed).await.unwrap();
        let again = t.app.record_event(&t.admin, &keyed).await.unwrap();
        assert_eq!((first.created, again.created, again.event.id), (true, false, first.event.id));
    }
}
