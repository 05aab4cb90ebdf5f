//! The equipment register and capacity planning of the archive rooms (S3.1), on both backends:
//! the extinguisher rule, inspections falling due as tasks on working days, shelf used and free
//! with volumes in and out of boxes, the projection on a hand-computed history, and who may do
//! what.

use chrono::{Datelike, NaiveDate, Utc};
use dangan_app::custody::equipment::{EquipmentInput, InspectionInput};
use dangan_app::custody::rooms::{PlaceInput, RoomInput};
use dangan_app::ids::{PlaceId, RoomId, VolumeId};
use dangan_app::intake::events::{EventInput, MaterialInput};
use dangan_app::organising::volumes::FailedScans;
use dangan_app::security::audit::LogQuery;
use dangan_app::{AppError, Role};
use dangan_domain::business::BusinessClass;
use dangan_domain::equipment::CheckOutcome;
use dangan_domain::room::LocationState;
use dangan_domain::workflow::{SubjectKind, TaskState};
use dangan_store::locations::{self, Placement};
use dangan_testkit::{TestApp, on_both_backends, person_input};

fn code_of<T: std::fmt::Debug>(r: Result<T, AppError>) -> String {
    r.expect_err("an error").code().to_owned()
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

async fn room(t: &TestApp, code: &str, area_m2: &str) -> RoomId {
    let input = RoomInput {
        code: code.into(),
        name: format!("{code}库房"),
        area_m2: area_m2.into(),
        separate_from_service: true,
        ..RoomInput::default()
    };
    t.app.create_room(&t.admin, &input).await.unwrap().room.id
}

/// A shelving unit with one shelf of `capacity_mm`.
async fn shelf(t: &TestApp, room: RoomId, capacity_mm: i64) -> PlaceId {
    let unit = t
        .app
        .add_place(
            &t.admin,
            room,
            &PlaceInput {
                kind: "shelving".into(),
                segment: "A".into(),
                ..PlaceInput::default()
            },
        )
        .await
        .unwrap();
    t.app
        .add_place(
            &t.admin,
            room,
            &PlaceInput {
                parent_id: Some(unit.id),
                kind: "shelf".into(),
                segment: "1".into(),
                capacity_mm: Some(capacity_mm.to_string()),
                ..PlaceInput::default()
            },
        )
        .await
        .unwrap()
        .id
}

fn item(room: RoomId, kind: &str, name: &str, installed_on: &str, months: i64) -> EquipmentInput {
    EquipmentInput {
        room_id: room.0,
        kind: kind.into(),
        name: name.into(),
        model: Some("MFZ/ABC4".into()),
        serial_no: None,
        installed_on: installed_on.into(),
        interval_months: months,
    }
}

/// `n` sealed volumes of enrolments dated `date`, built and sealed with the use-cases (one
/// 150-page electronic form per person, so each volume holds few); their thickness is then set
/// to `thickness_um` by hand so that the figures can be computed by hand.
async fn sealed_volumes(t: &TestApp, n: u32, date: &str, thickness_um: &[i64]) -> Vec<VolumeId> {
    for i in 0..n {
        let p = t
            .app
            .create_person(&t.admin, &person_input(300 + i, "赵库"))
            .await
            .unwrap();
        let input = EventInput {
            person_id: Some(p.id.0),
            business_type: "enrolment".into(),
            business_date: date.into(),
            materials: vec![MaterialInput {
                material_code: "enrolment_form".into(),
                pages: 150,
                carrier: Some("electronic".into()),
                ..MaterialInput::default()
            }],
            ..EventInput::default()
        };
        t.app.record_event(&t.admin, &input).await.unwrap();
    }
    let year = d(date).year();
    let drafts = t
        .app
        .build_volumes(&t.admin, year, BusinessClass::Registration)
        .await
        .unwrap();
    assert!(
        drafts.len() >= thickness_um.len(),
        "{} volumes",
        drafts.len()
    );
    let mut ids = Vec::new();
    for (v, um) in drafts.iter().zip(thickness_um) {
        t.app
            .seal_volume(&t.admin, v.id, FailedScans::Refuse)
            .await
            .unwrap();
        t.db.execute(&format!(
            "UPDATE volumes SET thickness_um = {um} WHERE id = {}",
            v.id.0
        ))
        .await;
        ids.push(v.id);
    }
    ids
}

async fn place(t: &TestApp, p: &Placement<'_>) {
    let mut tx = t.app.store().begin_write().await.unwrap();
    locations::set_location(&mut tx, p, Utc::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

on_both_backends! {
    async fn a_35_square_metre_room_fails_with_three_extinguishers_and_passes_with_four_not_counting_a_retired_one(db: TestDb) {
        let t = TestApp::start(db).await;
        let custodian = t.actor("keeper1", Role::Custodian).await;
        let k1 = room(&t, "K1", "35").await;
        let extinguisher = |c: &CheckOutcome| *c;
        let outcome = |checks: &[dangan_app::custody::equipment::RoomChecks], rule: &str| {
            checks.iter().find(|r| r.room_id == k1).unwrap().checks.iter().find(|c| c.rule == rule).map(|c| extinguisher(&c.outcome)).unwrap()
        };
        let mut ids = Vec::new();
        for n in 1..=3 {
            ids.push(t.app.register_equipment(&custodian, &item(k1, "extinguisher", &format!("{n}号灭火器"), "2025-01-10", 12)).await.unwrap().item.id);
        }
        let checks = t.app.room_checks(&custodian).await.unwrap();
        assert_eq!(outcome(&checks, "extinguishers"), CheckOutcome::Fail);
        let detail = &checks[0].checks[0].detail;
        assert_eq!(detail, "面积 35 平方米，需 4 具，在用 3 具");
        assert_eq!(outcome(&checks, "separate_from_service"), CheckOutcome::Pass);
        assert_eq!(outcome(&checks, "dehumidifier"), CheckOutcome::Fail, "no dehumidifier yet");

        let fourth = t.app.register_equipment(&custodian, &item(k1, "extinguisher", "4号灭火器", "2025-01-10", 12)).await.unwrap();
        t.app.register_equipment(&custodian, &item(k1, "dehumidifier", "除湿机", "2025-01-10", 6)).await.unwrap();
        let checks = t.app.room_checks(&custodian).await.unwrap();
        assert_eq!(outcome(&checks, "extinguishers"), CheckOutcome::Pass);
        assert_eq!(outcome(&checks, "dehumidifier"), CheckOutcome::Pass);

        assert_eq!(code_of(t.app.retire_equipment(&custodian, ids[0], "  ").await), "invalid_text");
        let retired = t.app.retire_equipment(&custodian, ids[0], "压力不足，报废").await.unwrap();
        assert_eq!(retired.item.state.label(), "已停用");
        assert_eq!(retired.due_on, None);
        let checks = t.app.room_checks(&custodian).await.unwrap();
        assert_eq!(outcome(&checks, "extinguishers"), CheckOutcome::Fail, "a retired extinguisher does not count");
        assert_eq!(code_of(t.app.retire_equipment(&custodian, ids[0], "再停").await), "equipment_retired");
        let tasks = t.app.tasks_for(&t.admin, SubjectKind::Equipment, ids[0].0).await.unwrap();
        assert!(tasks.iter().all(|t| t.state == TaskState::Done), "retiring closes its inspection task");

        // The register lists the retired item last, kept.
        let register = t.app.equipment_register(&custodian, Some(k1)).await.unwrap();
        assert_eq!(register.len(), 5);
        assert_eq!(register.last().unwrap().item.id, ids[0]);
        assert_eq!(fourth.item.room_code, "K1");
    }

    async fn an_inspection_falling_due_is_a_task_on_the_next_working_day_and_recording_it_closes_it(db: TestDb) {
        let t = TestApp::start(db).await;
        let custodian = t.actor("keeper2", Role::Custodian).await;
        let k1 = room(&t, "K1", "20").await;
        // Installed 1 September 2025, inspected monthly: due 1 October, National Day.
        let e = t.app.register_equipment(&t.admin, &item(k1, "dehumidifier", "1号除湿机", "2025-09-01", 1)).await.unwrap();
        assert_eq!(e.item.next_due_on, d("2025-10-01"));
        assert_eq!(e.due_on, Some(d("2025-10-09")), "the first working day after the holiday");
        assert!(e.overdue);
        let tasks = t.app.tasks_for(&t.admin, SubjectKind::Equipment, e.item.id.0).await.unwrap();
        assert_eq!(tasks.len(), 1);
        assert_eq!(tasks[0].due_on, Some(d("2025-10-09")));
        assert_eq!(tasks[0].state, TaskState::Open);
        assert!(tasks[0].title.contains("1号除湿机"), "{}", tasks[0].title);

        // 异常 needs a note; a date before installation or in the future is refused.
        let abnormal = InspectionInput { inspected_on: Some("2025-10-09".into()), result: "abnormal".into(), note: None };
        assert_eq!(code_of(t.app.record_inspection(&custodian, e.item.id, &abnormal).await), "note_required");
        let early = InspectionInput { inspected_on: Some("2025-08-01".into()), result: "normal".into(), note: None };
        assert_eq!(code_of(t.app.record_inspection(&custodian, e.item.id, &early).await), "inspection_before_installation");
        let future = InspectionInput { inspected_on: Some("2099-01-01".into()), result: "normal".into(), note: None };
        assert_eq!(code_of(t.app.record_inspection(&custodian, e.item.id, &future).await), "date_in_future");

        let done = t.app.record_inspection(&custodian, e.item.id, &InspectionInput { note: Some("水箱漏水，已报修".into()), ..abnormal }).await.unwrap();
        assert_eq!(done.view.item.last_inspected_on, Some(d("2025-10-09")));
        // 9 November 2025 is a Sunday: the next task is due Monday the 10th.
        assert_eq!(done.view.item.next_due_on, d("2025-11-09"));
        assert_eq!(done.view.due_on, Some(d("2025-11-10")));
        assert_eq!(done.inspections.len(), 1);
        assert_eq!(done.inspections[0].result.label(), "异常");
        assert_eq!(done.inspections[0].by_user, "keeper2");
        let tasks = t.app.tasks_for(&t.admin, SubjectKind::Equipment, e.item.id.0).await.unwrap();
        assert_eq!(tasks.len(), 2);
        assert_eq!(tasks.iter().filter(|t| t.state == TaskState::Open).count(), 1, "one open task per item");
        let open = tasks.iter().find(|t| t.state == TaskState::Open).unwrap();
        assert_eq!(open.due_on, Some(d("2025-11-10")));
        let closed = tasks.iter().find(|t| t.state == TaskState::Done).unwrap();
        assert_eq!(closed.due_on, Some(d("2025-10-09")));

        // The inspection is logged with its result.
        let log = t.app.search_log(&t.auditor, &LogQuery { action: Some("equipment.inspect".into()), limit: Some(10), ..LogQuery::default() }).await.unwrap();
        assert_eq!(log.len(), 1);
        assert!(log[0].detail.contains("异常"), "{}", log[0].detail);

        // Changing the interval counts again from the last inspection.
        let changed = t.app.update_equipment(&t.admin, e.item.id, &item(k1, "dehumidifier", "1号除湿机", "2025-09-01", 3)).await.unwrap();
        assert_eq!(changed.item.next_due_on, d("2026-01-09"));
        let tasks = t.app.tasks_for(&t.admin, SubjectKind::Equipment, e.item.id.0).await.unwrap();
        assert_eq!(tasks.iter().filter(|t| t.state == TaskState::Open).count(), 1);
    }

    async fn capacity_counts_volumes_on_the_shelf_and_boxes_by_their_width_but_not_volumes_taken_out(db: TestDb) {
        let t = TestApp::start(db).await;
        let custodian = t.actor("keeper3", Role::Custodian).await;
        let k1 = room(&t, "K1", "40").await;
        let k2 = room(&t, "K2", "10").await;
        let place_id = shelf(&t, k1, 1000).await;
        let v = sealed_volumes(&t, 8, "2024-06-01", &[10_000, 12_000, 15_000]).await;
        let b = {
            let mut tx = t.app.store().begin_write().await.unwrap();
            let b = locations::insert_box(&mut tx, 45, 50, Utc::now()).await.unwrap();
            locations::set_box_place(&mut tx, b, place_id).await.unwrap();
            tx.commit().await.unwrap();
            b
        };
        let at = |volume, in_box, state| Placement { volume, place: (state == LocationState::InPlace).then_some(place_id), in_box, state, out_reason: None, by: "keeper3" };
        place(&t, &at(v[0], None, LocationState::InPlace)).await;
        place(&t, &at(v[1], Some(b), LocationState::InPlace)).await;
        place(&t, &Placement { out_reason: Some("数字化"), ..at(v[2], None, LocationState::Out) }).await;

        let report = t.app.capacity(&custodian).await.unwrap();
        let r1 = report.rooms.iter().find(|r| r.room_id == Some(k1)).unwrap();
        assert_eq!(r1.capacity_um, 1_000_000);
        // 10 mm of volume on the shelf, and a 50 mm box (the volume inside it is in the box's width).
        assert_eq!(r1.used_um, 60_000);
        assert_eq!(r1.free_um, 940_000);
        assert_eq!(r1.used_permille, Some(60));
        assert_eq!(r1.volumes, 2);
        let r2 = report.rooms.iter().find(|r| r.room_id == Some(k2)).unwrap();
        assert_eq!(r2.capacity_um, 0);
        assert!(r2.projection.skipped.as_deref().unwrap().contains("没有登记存放位置"));
        assert_eq!(report.total.used_um, 60_000);

        // The volume on the shelf taken out: only the box remains.
        place(&t, &Placement { out_reason: Some("借阅"), ..at(v[0], None, LocationState::Out) }).await;
        let report = t.app.capacity(&custodian).await.unwrap();
        let r1 = report.rooms.iter().find(|r| r.room_id == Some(k1)).unwrap();
        assert_eq!(r1.used_um, 50_000);
        assert_eq!(r1.volumes, 1);
    }

    async fn the_projection_divides_the_free_shelf_by_the_average_growth_of_the_last_three_full_years(db: TestDb) {
        let t = TestApp::start(db).await;
        let custodian = t.actor("keeper4", Role::Custodian).await;
        let k1 = room(&t, "K1", "40").await;
        shelf(&t, k1, 1000).await;
        let y = dangan_app::today().year();
        // Eight persons enrolled two years ago; four of their volumes sealed.
        let enrolled = format!("{}-06-01", y - 2);
        let v = sealed_volumes(&t, 8, &enrolled, &[99_000, 30_000, 60_000, 500_000]).await;
        // Sealed four years ago (outside the window), three years ago, last year, and this year
        // (not a full year): the window is the three full years before this one.
        for (id, year) in [(v[0], y - 4), (v[1], y - 3), (v[2], y - 1)] {
            t.db.execute(&format!("UPDATE volumes SET sealed_at = '{year}-06-01T04:00:00+00:00' WHERE id = {}", id.0)).await;
        }
        let report = t.app.capacity(&custodian).await.unwrap();
        let per_year = (30_000 + 60_000) / 3;
        assert_eq!(report.growth.um_per_year, Some(per_year));
        assert_eq!(report.growth.window, format!("{}–{} 年（3 个完整年度）", y - 3, y - 1));
        assert_eq!(report.sealed_volumes, 4);
        assert_eq!(report.sealed_um, 689_000);
        // 1,000 mm free at 30 mm a year: 33.3 years.
        let r1 = report.rooms.iter().find(|r| r.room_id == Some(k1)).unwrap();
        assert_eq!(r1.free_um, 1_000_000);
        assert_eq!(r1.projection.years_tenths, Some(333));
        assert_eq!(r1.projection.text, "约 33.3 年");
        // Beside it: 8 persons, 689 mm of archive → 86.125 mm each; 8 enrolments over the two
        // full years since the first (4 a year) → 344.5 mm a year → 2.9 years.
        assert_eq!(report.persons.persons, 8);
        assert_eq!(report.persons.um_per_person, Some(86_125));
        assert_eq!(report.persons.enrolments_per_year, Some(4));
        assert_eq!(report.persons.projection.years_tenths, Some(29));
        let history: Vec<(i64, i64)> = report.growth.history.iter().map(|h| (h.year, h.amount)).collect();
        assert_eq!(history, [(i64::from(y) - 4, 99_000), (i64::from(y) - 3, 30_000), (i64::from(y) - 1, 60_000), (i64::from(y), 500_000)]);
    }

    async fn no_sealing_history_skips_the_projection_with_its_reason(db: TestDb) {
        let t = TestApp::start(db).await;
        let k1 = room(&t, "K1", "40").await;
        shelf(&t, k1, 500).await;
        let report = t.app.capacity(&t.admin).await.unwrap();
        assert_eq!(report.growth.um_per_year, None);
        assert!(report.growth.skipped.as_deref().unwrap().contains("尚无封卷记录"));
        assert_eq!(report.total.projection.years_tenths, None);
        assert!(report.total.projection.text.starts_with("未预测："));
        assert!(report.persons.projection.skipped.is_some());
    }

    async fn a_window_clerk_cannot_register_equipment_and_is_logged_and_a_handler_cannot_read_the_register(db: TestDb) {
        let t = TestApp::start(db).await;
        let k1 = room(&t, "K1", "35").await;
        let clerk = t.actor("clerk1", Role::Window).await;
        let handler = t.actor("handler1", Role::Handler).await;
        let custodian = t.actor("keeper5", Role::Custodian).await;
        let archivist = t.actor("archivist5", Role::Archivist).await;
        assert_eq!(code_of(t.app.register_equipment(&clerk, &item(k1, "camera", "1号摄像头", "2025-01-10", 12)).await), "forbidden");
        assert_eq!(code_of(t.app.register_equipment(&archivist, &item(k1, "camera", "1号摄像头", "2025-01-10", 12)).await), "forbidden", "configuring rooms is the custodian's and the administrator's");
        let e = t.app.register_equipment(&custodian, &item(k1, "camera", "1号摄像头", "2025-01-10", 12)).await.unwrap();
        assert_eq!(code_of(t.app.equipment_register(&handler, None).await), "forbidden");
        assert_eq!(code_of(t.app.equipment_item(&handler, e.item.id).await), "forbidden");
        assert_eq!(code_of(t.app.capacity(&handler).await), "forbidden");
        assert_eq!(code_of(t.app.room_checks(&clerk).await), "forbidden");
        let normal = InspectionInput { inspected_on: None, result: "normal".into(), note: None };
        assert_eq!(code_of(t.app.record_inspection(&clerk, e.item.id, &normal).await), "forbidden");
        t.app.record_inspection(&archivist, e.item.id, &normal).await.unwrap();
        let denied = t.app.search_log(&t.auditor, &LogQuery { action: Some("access.denied".into()), limit: Some(50), ..LogQuery::default() }).await.unwrap();
        assert!(denied.iter().any(|e| e.actor_name == "clerk1" && e.target_id == "ConfigureRooms"), "{denied:#?}");
        assert!(denied.iter().any(|e| e.actor_name == "handler1" && e.target_id == "ReadRoom"));
        // Bad input writes nothing.
        assert_eq!(code_of(t.app.register_equipment(&custodian, &item(k1, "toaster", "x", "2025-01-10", 12)).await), "invalid_equipment_kind");
        assert_eq!(code_of(t.app.register_equipment(&custodian, &item(k1, "camera", "x", "2025-01-10", 0)).await), "invalid_interval");
        assert_eq!(code_of(t.app.register_equipment(&custodian, &item(RoomId(999), "camera", "x", "2025-01-10", 12)).await), "room_not_found");
        assert_eq!(t.app.equipment_register(&custodian, None).await.unwrap().len(), 1);
    }
}
