//! From business to shelf on both backends: deadlines, pre-review, handover, supplements,
//! volumes, corrections, damage and loss — including every refusal.

use chrono::NaiveDate;
use dangan_app::AppError;
use dangan_app::Role;
use dangan_app::administration::tasks::TaskQuery;
use dangan_app::ids::{HandoverItemId, MaterialId};
use dangan_app::intake::events::{EventInput, EventView, MaterialInput};
use dangan_app::intake::handovers::{
    ConfirmInput, ExtraInput, HandoverInput, HandoverItemInput, ReceiptInput,
};
use dangan_app::problems::corrections::CorrectionInput;
use dangan_app::problems::damage::{DamageInput, LossInput, RepairInput};
use dangan_app::problems::supplements::{ContactInput, FulfilInput};
use dangan_domain::business::BusinessClass;
use dangan_domain::workflow::{HandoverState, SubjectKind, SupplementState, TaskKind, TaskState};
use dangan_testkit::{TestApp, on_both_backends, person_input};

fn code_of<T: std::fmt::Debug>(r: Result<T, AppError>) -> String {
    r.expect_err("an error").code().to_owned()
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn mat(code: &str, pages: i64, carrier: &str) -> MaterialInput {
    MaterialInput {
        material_code: code.into(),
        pages,
        carrier: Some(carrier.into()),
        ..MaterialInput::default()
    }
}

async fn event(t: &TestApp, person: i64, date: &str, materials: Vec<MaterialInput>) -> EventView {
    let input = EventInput {
        person_id: Some(person),
        business_type: "enrolment".into(),
        business_date: date.into(),
        materials,
        ..EventInput::default()
    };
    t.app.record_event(&t.admin, &input).await.unwrap().event
}

on_both_backends! {
    async fn deadlines_count_working_days_across_national_day_and_spring_festival(db: TestDb) {
        let t = TestApp::start(db).await;
        let p = t.app.create_person(&t.admin, &person_input(1, "张三")).await.unwrap();
        let ev = event(&t, p.id.0, "2025-09-30", vec![mat("enrolment_form", 2, "paper")]).await;
        let tasks = t.app.tasks_for(&t.admin, SubjectKind::Event, ev.id.0).await.unwrap();
        assert_eq!(tasks.len(), 1);
        assert_eq!(tasks[0].due_on, Some(d("2025-10-09")), "1 working day after 30 September is 9 October");
        assert!(tasks[0].overdue);
        // Pre-review: the two missing required materials became supplement requests at once.
        let open = t.app.supplements(&t.admin, Some("open")).await.unwrap();
        let names: Vec<&str> = open.iter().map(|s| s.material_name.as_str()).collect();
        assert_eq!(names, ["身份证复印件", "户口本复印件"]);
        // 5 working days after 30 September 2025: 9, 10, 11 (a make-up Saturday), 13, 14 October.
        assert!(open.iter().all(|s| s.due_on == Some(d("2025-10-14"))), "{open:?}");

        let ev = event(&t, p.id.0, "2025-01-27", vec![mat("enrolment_form", 1, "paper")]).await;
        let tasks = t.app.tasks_for(&t.admin, SubjectKind::Event, ev.id.0).await.unwrap();
        assert_eq!(tasks[0].due_on, Some(d("2025-02-05")), "Spring Festival 28 Jan – 4 Feb 2025");
        let overdue = t.app.tasks(&t.admin, &TaskQuery { post: Some("collection".into()), state: Some("overdue".into()) }).await.unwrap();
        assert!(overdue.len() >= 2);
        assert_eq!(code_of(t.app.tasks(&t.admin, &TaskQuery { post: Some("cleaning".into()), state: None }).await), "invalid_post");
    }

    async fn a_handover_is_confirmed_item_by_item_once_and_by_someone_else(db: TestDb) {
        let t = TestApp::start(db).await;
        let handler = t.actor("handler1", Role::Handler).await;
        let archivist = t.actor("archivist1", Role::Archivist).await;
        let p = t.app.create_person(&t.admin, &person_input(2, "李四")).await.unwrap();
        let ev = event(&t, p.id.0, "2025-03-03", vec![
            mat("enrolment_form", 2, "paper"),
            mat("id_card_copy", 1, "paper"),
            mat("household_register_copy", 3, "both"),
        ]).await;
        let ids: Vec<i64> = ev.materials.iter().map(|m| m.id.0).collect();
        let items = |ids: &[i64]| HandoverInput { items: ids.iter().map(|&m| HandoverItemInput { material_id: m, quantity: None }).collect(), note: None };
        assert_eq!(code_of(t.app.create_handover(&t.auditor, &items(&ids)).await), "forbidden");
        let h = t.app.create_handover(&handler, &items(&ids)).await.unwrap();
        assert_eq!(h.items.len(), 3);
        assert_eq!(h.items[0].person_name.as_deref(), Some("李四"));
        assert!(h.items[0].id_number_masked.as_deref().unwrap().contains("********"));
        assert_eq!(code_of(t.app.create_handover(&handler, &items(&ids[..1])).await), "material_already_handed_over");

        let receipt = |result: &str, note: Option<&str>, id: HandoverItemId| ReceiptInput { item_id: id.0, result: result.into(), note: note.map(str::to_owned) };
        let partial = ConfirmInput { items: vec![receipt("ok", None, h.items[0].id)], extras: vec![] };
        assert_eq!(code_of(t.app.confirm_handover(&archivist, h.id, &partial).await), "handover_items_unconfirmed");
        let no_note = ConfirmInput { items: vec![receipt("ok", None, h.items[0].id), receipt("missing", None, h.items[1].id), receipt("ok", None, h.items[2].id)], extras: vec![] };
        assert_eq!(code_of(t.app.confirm_handover(&archivist, h.id, &no_note).await), "difference_note_required");
        let full = ConfirmInput {
            items: vec![receipt("ok", None, h.items[0].id), receipt("missing", Some("身份证复印件未随件移交"), h.items[1].id), receipt("damaged", Some("右下角破损"), h.items[2].id)],
            extras: vec![ExtraInput { name: "村委会证明".into(), quantity: Some(1), note: Some("清单外".into()) }],
        };
        assert_eq!(code_of(t.app.confirm_handover(&handler, h.id, &full).await), "forbidden");
        let admin_handover = t.app.create_handover(&t.admin, &items(&[])).await;
        assert_eq!(code_of(admin_handover), "invalid_items");
        let confirmed = t.app.confirm_handover(&archivist, h.id, &full).await.unwrap();
        assert_eq!(confirmed.state, HandoverState::Confirmed);
        assert_eq!(confirmed.handed_over_by, "handler1");
        assert_eq!(confirmed.received_by.as_deref(), Some("archivist1"));
        assert_eq!(confirmed.items.len(), 4);
        assert_eq!(code_of(t.app.confirm_handover(&archivist, h.id, &full).await), "handover_already_confirmed");

        // The collection task is done; organising is due in three working days; the missing
        // item became a supplement request; the damaged one is marked.
        let ev_tasks = t.app.tasks_for(&t.admin, SubjectKind::Event, ev.id.0).await.unwrap();
        assert_eq!(ev_tasks[0].state, TaskState::Done);
        let mut org = t.app.tasks_for(&t.admin, SubjectKind::Handover, h.id.0).await.unwrap();
        org.retain(|t| t.kind == TaskKind::Organising);
        assert_eq!(org[0].due_on, t.app.add_working_days(&t.admin, org[0].opened_on, 3).await.ok());
        let open = t.app.supplements(&t.admin, Some("open")).await.unwrap();
        assert!(open.iter().any(|s| s.event_id == ev.id && s.material_code == "id_card_copy"));
        t.register(&t.admin, p.id).await;
        let after = t.app.event(&t.admin, ev.id).await.unwrap();
        assert_eq!(after.materials[1].status_label, "材料缺失");
        assert_eq!(after.materials[2].status_label, "损毁");
        assert!(after.materials[0].received_on.is_some());

        // The same person cannot hand over and receive.
        let p2 = t.app.create_person(&t.admin, &person_input(3, "王五")).await.unwrap();
        let ev2 = event(&t, p2.id.0, "2025-03-04", vec![mat("enrolment_form", 1, "paper")]).await;
        let own = t.app.create_handover(&archivist, &items(&[ev2.materials[0].id.0])).await.unwrap();
        let c = ConfirmInput { items: vec![receipt("ok", None, own.items[0].id)], extras: vec![] };
        assert_eq!(code_of(t.app.confirm_handover(&archivist, own.id, &c).await), "same_person");
    }

    async fn a_supplement_is_filed_beside_the_original_or_closed_with_a_reason(db: TestDb) {
        let t = TestApp::start(db).await;
        let handler = t.actor("handler2", Role::Handler).await;
        let p = t.app.create_person(&t.admin, &person_input(4, "赵六")).await.unwrap();
        let ev = event(&t, p.id.0, "2025-04-01", vec![mat("enrolment_form", 2, "paper")]).await;
        let open = t.app.supplements(&handler, Some("open")).await.unwrap();
        let (id_card, household) = (open[0].id, open[1].id);
        let contact = ContactInput { method: "phone".into(), who: "赵六本人".into(), note: "约定下周一交来".into() };
        let s = t.app.contact_for_supplement(&handler, id_card, &contact).await.unwrap();
        assert_eq!(s.contacts.len(), 1);
        assert!(s.contacts[0].contains("电话 赵六本人"));
        assert_eq!(code_of(t.app.contact_for_supplement(&handler, id_card, &ContactInput { method: "pigeon".into(), ..contact.clone() }).await), "invalid_contact_method");

        let fulfil = FulfilInput { formation_date: Some("2025-04-07".into()), pages: 1, carrier: None, explanation: "本人到窗口补交".into() };
        let done = t.app.fulfil_supplement(&handler, id_card, &fulfil).await.unwrap();
        assert_eq!(done.state, SupplementState::Supplemented);
        assert_eq!(code_of(t.app.fulfil_supplement(&handler, id_card, &fulfil).await), "supplement_closed");
        t.register(&t.admin, p.id).await;
        let now = t.app.event(&t.admin, ev.id).await.unwrap();
        assert_eq!(now.materials.len(), 2, "the original stays; the supplement is a new item");
        assert!(!now.materials[0].supplemented);
        assert!(now.materials[1].supplemented);
        assert_eq!(now.materials[1].status_label, "补件");
        assert!(now.materials[1].remarks.as_deref().unwrap().starts_with("补件"));
        assert_eq!(now.completeness.missing.len(), 1, "only the household register is still missing");

        assert_eq!(code_of(t.app.close_supplement_as_missing(&handler, household, "   ").await), "explanation_required");
        let closed = t.app.close_supplement_as_missing(&handler, household, "2023年5月缴费记录缺失，2023年6月通过税务部门补件").await.unwrap();
        assert_eq!(closed.state, SupplementState::Missing);
        assert_eq!(code_of(t.app.close_supplement_as_missing(&handler, household, "again").await), "supplement_closed");
        let tasks = t.app.tasks_for(&t.admin, SubjectKind::Supplement, household.0).await.unwrap();
        assert_eq!(tasks[0].state, TaskState::Done);
    }

    async fn volumes_never_exceed_two_centimetres_and_sealing_numbers_them_without_gaps(db: TestDb) {
        let t = TestApp::start(db).await;
        // 40 persons, each with an enrolment of three electronic items of 20–58 pages.
        for n in 0..40u32 {
            let p = t.app.create_person(&t.admin, &person_input(100 + n, "钱七")).await.unwrap();
            let pages = i64::from(20 + (n * 7) % 39);
            event(&t, p.id.0, "2024-06-01", vec![mat("enrolment_form", pages, "electronic"), mat("id_card_copy", 2, "electronic"), mat("household_register_copy", pages / 2 + 1, "electronic")]).await;
        }
        let archivist = t.actor("archivist2", Role::Archivist).await;
        assert_eq!(code_of(t.app.build_volumes(&t.auditor, 2024, BusinessClass::Registration).await), "forbidden");
        let drafts = t.app.build_volumes(&archivist, 2024, BusinessClass::Registration).await.unwrap();
        assert!(drafts.len() > 5, "{} volumes", drafts.len());
        let total: usize = drafts.iter().map(|v| v.contents.len()).sum();
        assert_eq!(total, 120, "every received item is in exactly one volume");
        for v in &drafts {
            assert!(v.thickness_mm <= 20.0, "{} mm", v.thickness_mm);
            let pages: u32 = v.contents.iter().map(|c| c.pages).sum();
            assert_eq!(i64::from(pages), v.pages);
            assert_eq!(v.contents.last().unwrap().end_page, pages, "page numbers run through the volume");
            assert!(v.contents.windows(2).all(|w| w[0].seq + 1 == w[1].seq));
        }
        let again = t.app.build_volumes(&archivist, 2024, BusinessClass::Registration).await.unwrap();
        let layout = |vs: &[dangan_app::organising::volumes::VolumeView]| vs.iter().map(|v| v.contents.iter().map(|c| c.material_id).collect::<Vec<_>>()).collect::<Vec<_>>();
        assert_eq!(layout(&drafts), layout(&again), "rebuilding is deterministic");

        let first = t.app.seal_volume(&archivist, again[0].id, dangan_app::organising::volumes::FailedScans::Refuse).await.unwrap();
        let second = t.app.seal_volume(&archivist, again[1].id, dangan_app::organising::volumes::FailedScans::Refuse).await.unwrap();
        assert_eq!(first.archive_number.as_deref(), Some("2024-参保登记-001"));
        assert_eq!(second.archive_number.as_deref(), Some("2024-参保登记-002"));
        assert_eq!(code_of(t.app.seal_volume(&archivist, again[0].id, dangan_app::organising::volumes::FailedScans::Refuse).await), "volume_sealed");
        assert_eq!(code_of(t.app.set_volume_note(&archivist, again[0].id, "改动").await), "volume_sealed");
        t.app.set_volume_note(&archivist, again[2].id, "第3件右下角有水渍").await.unwrap();

        // A rebuild leaves the sealed volumes as they are and re-plans the rest.
        let rebuilt = t.app.build_volumes(&archivist, 2024, BusinessClass::Registration).await.unwrap();
        let sealed_items: usize = first.contents.len() + second.contents.len();
        assert_eq!(rebuilt.iter().map(|v| v.contents.len()).sum::<usize>(), 120 - sealed_items);
        let all = t.app.volumes(&archivist, 2024, BusinessClass::Registration).await.unwrap();
        assert_eq!(all.iter().filter(|v| v.state == "sealed").count(), 2);
        let third = t.app.seal_volume(&archivist, rebuilt[0].id, dangan_app::organising::volumes::FailedScans::Refuse).await.unwrap();
        assert_eq!(third.archive_number.as_deref(), Some("2024-参保登记-003"));
    }

    async fn a_correction_needs_proof_from_the_persons_own_archive_and_goes_to_the_outbox(db: TestDb) {
        let t = TestApp::start(db).await;
        let p = t.app.create_person(&t.admin, &person_input(5, "孙七")).await.unwrap();
        let other = t.app.create_person(&t.admin, &person_input(6, "周八")).await.unwrap();
        let ev = event(&t, p.id.0, "2024-01-10", vec![mat("household_register_copy", 2, "paper")]).await;
        let other_ev = event(&t, other.id.0, "2024-01-10", vec![mat("household_register_copy", 2, "paper")]).await;
        let mut input = CorrectionInput { field: "name".into(), new_value: "孙琦".into(), proof_material_id: None, basis: "户口本记载姓名为孙琦".into() };
        assert_eq!(code_of(t.app.correct_person(&t.admin, p.id, &input).await), "proof_required");
        input.proof_material_id = Some(other_ev.materials[0].id.0);
        // A correction is made on an opened archive: the query registration comes first.
        assert_eq!(code_of(t.app.correct_person(&t.admin, p.id, &input).await), "query_registration_required");
        t.register(&t.admin, p.id).await;
        assert_eq!(code_of(t.app.correct_person(&t.admin, p.id, &input).await), "proof_not_of_person");
        input.proof_material_id = Some(ev.materials[0].id.0);
        let window = t.actor("window9", Role::Window).await;
        assert_eq!(code_of(t.app.correct_person(&window, p.id, &input).await), "forbidden");
        let c = t.app.correct_person(&t.admin, p.id, &input).await.unwrap();
        assert_eq!((c.old_value.as_str(), c.new_value.as_str()), ("孙七", "孙琦"));
        assert_eq!(code_of(t.app.correct_person(&t.admin, p.id, &input).await), "no_change");
        assert_eq!(t.app.person(&t.admin, p.id).await.unwrap().name, "孙琦");
        let records = t.app.corrections(&t.admin, p.id).await.unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].basis, "户口本记载姓名为孙琦");
        let outbox = t.app.pending_outbox(&t.admin).await.unwrap();
        assert_eq!(outbox.len(), 1);
        assert_eq!(outbox[0]["payload"]["new_value"], "孙琦");
        let tier = CorrectionInput { field: "tier".into(), new_value: "1000".into(), proof_material_id: Some(ev.materials[0].id.0), basis: "申请表".into() };
        t.app.correct_person(&t.admin, p.id, &tier).await.unwrap();
        assert_eq!(t.app.person(&t.admin, p.id).await.unwrap().tier, Some(1000));
        let id_change = CorrectionInput { field: "id_number".into(), ..tier };
        assert_eq!(code_of(t.app.correct_person(&t.admin, p.id, &id_change).await), "invalid_field");
    }

    async fn damage_is_repaired_and_a_loss_marks_the_item_everywhere(db: TestDb) {
        let t = TestApp::start(db).await;
        let p = t.app.create_person(&t.admin, &person_input(7, "吴九")).await.unwrap();
        let ev = event(&t, p.id.0, "2024-02-02", vec![mat("enrolment_form", 2, "paper"), mat("id_card_copy", 1, "paper")]).await;
        let m0 = ev.materials[0].id;
        let m1 = ev.materials[1].id;
        let heavy = DamageInput { degree: "heavy".into(), cause: "受潮霉变".into(), repair_by: None, institution: None };
        assert_eq!(code_of(t.app.record_damage(&t.admin, m0, &heavy).await), "institution_required");
        let light = DamageInput { degree: "light".into(), cause: "边角撕裂".into(), repair_by: None, institution: None };
        let hurt = t.app.record_damage(&t.admin, m0, &light).await.unwrap();
        assert_eq!(hurt.status, "damaged");
        assert_eq!(hurt.damage[0].repair_by, "in_house");
        let fixed = t.app.record_repair(&t.admin, hurt.damage[0].id, &RepairInput { result: "已托裱修复".into(), repaired_on: None }).await.unwrap();
        assert_eq!(fixed.status, "normal");
        assert_eq!(code_of(t.app.record_repair(&t.admin, hurt.damage[0].id, &RepairInput { result: "x".into(), repaired_on: None }).await), "damage_report_not_found");

        let lost = t.app.record_loss(&t.admin, m1, &LossInput { reported_to: "中心主任".into(), note: Some("库房清点未见".into()) }).await.unwrap();
        assert_eq!(lost.status, "lost");
        let steps = dangan_app::problems::damage::LossSteps { searched_handovers: true, contacted_person: true, recollected: false, note: None };
        let after = t.app.update_loss_steps(&t.admin, lost.losses[0].id, &steps).await.unwrap();
        assert!(after.losses[0].searched_handovers && after.losses[0].contacted_person);
        assert_eq!(code_of(t.app.record_loss(&t.admin, m1, &LossInput { reported_to: "x".into(), note: None }).await), "material_lost");
        t.register(&t.admin, p.id).await;
        let view = t.app.event(&t.admin, ev.id).await.unwrap();
        assert_eq!(view.materials[1].status_label, "档案丢失");
        let handler = t.actor("handler3", Role::Handler).await;
        let h = HandoverInput { items: vec![HandoverItemInput { material_id: m1.0, quantity: None }], note: None };
        assert_eq!(code_of(t.app.create_handover(&handler, &h).await), "material_lost");
        assert_eq!(code_of(t.app.material_incidents(&t.admin, MaterialId(999_999)).await), "material_not_found");
    }

    async fn a_material_status_this_version_cannot_read_is_a_fault_never_taken_for_normal(db: TestDb) {
        let t = TestApp::start(db).await;
        let (_, m) = t.enrolment_material().await;
        assert!(t.app.material_incidents(&t.admin, m).await.is_ok());
        // An insider (or a newer version) writes a status this version does not know.
        t.db.execute("UPDATE material_items SET status = 'vanished'").await;
        let read = t.app.material_incidents(&t.admin, m).await;
        assert!(matches!(read, Err(AppError::Internal(_))), "{read:?}");
    }

    async fn a_handover_result_or_a_task_kind_this_version_cannot_read_is_a_fault_never_a_guess(db: TestDb) {
        let t = TestApp::start(db).await;
        let (_, m) = t.enrolment_material().await;
        let handler = t.actor("handler4", Role::Handler).await;
        let input = HandoverInput { items: vec![HandoverItemInput { material_id: m.0, quantity: None }], note: None };
        let h = t.app.create_handover(&handler, &input).await.unwrap();
        assert!(t.app.handover(&t.admin, h.id).await.is_ok());
        assert!(t.app.tasks(&t.admin, &TaskQuery::default()).await.is_ok());
        // A line result nobody can give (the column is nullable: it decodes through `Coded`).
        t.db.execute("UPDATE handover_items SET result = 'torn'").await;
        let read = t.app.handover(&t.admin, h.id).await;
        assert!(matches!(read, Err(AppError::Internal(_))), "{read:?}");
        // A task of a kind this version does not have is not listed as something else.
        t.db.execute("UPDATE tasks SET kind = 'cleaning'").await;
        let tasks = t.app.tasks(&t.admin, &TaskQuery::default()).await;
        assert!(matches!(tasks, Err(AppError::Internal(_))), "{tasks:?}");
    }
}
