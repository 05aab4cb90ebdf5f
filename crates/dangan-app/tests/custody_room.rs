//! The paper archive room (issue 19, S3.1), on both backends: rooms and their places; sealed
//! volumes placed, moved, taken out and returned by what a barcode scanner types, each move logged;
//! capacity and the fire-safe rule refusing a placement and leaving nothing behind; archive boxes;
//! a stocktake with each of its four outcomes and a missing volume reported lost; and the insiders
//! who may not do any of it.

use dangan_app::AppError;
use dangan_app::Role;
use dangan_app::custody::locations::{BoxInput, PlaceVolumeInput, TakeOutInput};
use dangan_app::custody::rooms::{PlaceInput, RoomInput};
use dangan_app::custody::stocktake::{ScanInput, StartStocktake};
use dangan_app::ids::{PlaceId, RoomId};
use dangan_app::problems::damage::LossInput;
use dangan_app::security::audit::LogQuery;
use dangan_domain::material::MaterialStatus;
use dangan_domain::room::{MoveKind, StocktakeOutcome, StocktakeState, volume_code};
use dangan_testkit::{TestApp, on_both_backends};

fn code_of<T: std::fmt::Debug>(r: Result<T, AppError>) -> String {
    r.expect_err("an error").code().to_owned()
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

fn room_input(code: &str, area: &str) -> RoomInput {
    RoomInput {
        code: code.into(),
        name: format!("{code} 档案库房"),
        area_m2: area.into(),
        separate_from_service: true,
        ..RoomInput::default()
    }
}

fn place(parent: Option<PlaceId>, kind: &str, segment: &str, capacity: Option<&str>) -> PlaceInput {
    PlaceInput {
        parent_id: parent,
        kind: kind.into(),
        segment: segment.into(),
        name: None,
        capacity_mm: capacity.map(str::to_owned),
    }
}

fn to(code: &str) -> PlaceVolumeInput {
    PlaceVolumeInput {
        to: code.into(),
        reason: None,
    }
}

/// Room K01 with unit A (column 1: shelves 1 and 2 of `cap` mm each) and unit B (one shelf of
/// 500 mm), and a fire safe S with one shelf of 100 mm.
async fn room(t: &TestApp, cap: &str) -> RoomId {
    let r = t
        .app
        .create_room(&t.admin, &room_input("K01", "36.5"))
        .await
        .unwrap();
    let id = r.room.id;
    let a = t
        .app
        .add_place(&t.admin, id, &place(None, "shelving", "A", None))
        .await
        .unwrap();
    let col = t
        .app
        .add_place(&t.admin, id, &place(Some(a.id), "column", "1", None))
        .await
        .unwrap();
    for s in ["1", "2"] {
        t.app
            .add_place(&t.admin, id, &place(Some(col.id), "shelf", s, Some(cap)))
            .await
            .unwrap();
    }
    let b = t
        .app
        .add_place(&t.admin, id, &place(None, "shelving", "B", None))
        .await
        .unwrap();
    t.app
        .add_place(&t.admin, id, &place(Some(b.id), "shelf", "1", Some("500")))
        .await
        .unwrap();
    let safe = t
        .app
        .add_place(&t.admin, id, &place(None, "fire_safe", "S", None))
        .await
        .unwrap();
    t.app
        .add_place(
            &t.admin,
            id,
            &place(Some(safe.id), "shelf", "1", Some("100")),
        )
        .await
        .unwrap();
    id
}

on_both_backends! {
    async fn a_sealed_volume_is_placed_moved_taken_out_and_returned_by_its_scanned_codes_and_every_move_is_logged(db: TestDb) {
        let t = TestApp::start(db).await;
        let custodian = t.actor("keeper1", Role::Custodian).await;
        let room_id = room(&t, "100").await;
        let v = t.sealed_volume(1, 2021, 4).await;
        let number = v.archive_number.clone().expect("sealed");

        // The spine's barcode is typed by the scanner, the shelf's too (lower case is fine).
        let placed = t.app.place_volume(&custodian, &volume_code(v.id.0), &to("k01-a-1-1")).await.unwrap();
        assert_eq!(placed.summary, "K01 档案库房 K01-A-1-1");
        assert_eq!(placed.code, volume_code(v.id.0));
        // The archive number typed by hand works as well.
        let moved = t.app.place_volume(&custodian, &number, &PlaceVolumeInput { to: "K01-A-1-2".into(), reason: Some("调整排架".into()) }).await.unwrap();
        assert_eq!(moved.place.as_ref().map(|p| p.code.as_str()), Some("K01-A-1-2"));
        assert_eq!(code_of(t.app.place_volume(&custodian, &number, &to("K01-A-1-2")).await), "already_there");
        let out = t.app.take_out_volume(&custodian, &number, &TakeOutInput { reason: "送修复".into() }).await.unwrap();
        assert_eq!(out.summary, "出库：送修复");
        assert_eq!(code_of(t.app.take_out_volume(&custodian, &number, &TakeOutInput { reason: "again".into() }).await), "volume_not_in_place");
        let back = t.app.place_volume(&custodian, &number, &to("K01-B-1")).await.unwrap();
        let kinds: Vec<MoveKind> = back.moves.iter().map(|m| m.kind).collect();
        assert_eq!(kinds, vec![MoveKind::Place, MoveKind::Move, MoveKind::TakeOut, MoveKind::Return]);
        assert_eq!(back.moves[1].from_code.as_deref(), Some("K01-A-1-1"));
        assert_eq!(back.moves[1].reason.as_deref(), Some("调整排架"));
        assert_eq!(back.moves[2].reason.as_deref(), Some("送修复"));

        // Every move is in the operation log under its own action, by the custodian.
        for action in ["volume.place", "volume.move", "volume.take_out", "volume.return"] {
            let entries = log(&t, action).await;
            assert_eq!(entries.len(), 1, "{action}");
            assert_eq!(entries[0].role, "custodian");
        }
        // The room's layout sums what stands under each unit.
        let layout = t.app.room_layout(&custodian, room_id).await.unwrap();
        let b = layout.places.iter().find(|p| p.place.code == "K01-B").unwrap();
        assert_eq!((b.volumes, b.capacity_mm), (1, 500));
        assert_eq!(layout.capacity_mm, 100 + 100 + 500 + 100);
        assert!(layout.used_mm >= 1);
    }

    async fn a_place_too_full_or_not_for_volumes_refuses_the_volume_and_it_stays_where_it_was(db: TestDb) {
        let t = TestApp::start(db).await;
        let room_id = room(&t, "1").await;
        let first = t.sealed_volume(1, 2021, 6).await;
        let second = t.sealed_volume(2, 2022, 6).await;
        assert!(first.thickness_mm > 0.5 && first.thickness_mm <= 1.0, "{}", first.thickness_mm);
        t.app.place_volume(&t.admin, &volume_code(first.id.0), &to("K01-A-1-1")).await.unwrap();
        // 1 mm of shelf holds one of them, not two.
        let e = t.app.place_volume(&t.admin, &volume_code(second.id.0), &to("K01-A-1-1")).await.unwrap_err();
        assert_eq!(e.code(), "place_full");
        assert!(e.to_string().contains("容量 1 毫米"), "{e}");
        let where_ = t.app.volume_location(&t.admin, second.id).await.unwrap();
        assert!(where_.location.is_none() && where_.moves.is_empty(), "nothing half-written");
        assert_eq!(where_.summary, "未上架");
        // A column holds shelves, not volumes; an unknown code names nothing.
        assert_eq!(code_of(t.app.place_volume(&t.admin, &volume_code(second.id.0), &to("K01-A-1")).await), "place_not_storage");
        assert_eq!(code_of(t.app.place_volume(&t.admin, &volume_code(second.id.0), &to("K09-Z")).await), "place_not_found");
        assert_eq!(code_of(t.app.place_volume(&t.admin, "V99999999", &to("K01-B-1")).await), "volume_not_found");
        assert_eq!(code_of(t.app.place_volume(&t.admin, "2030-参保登记-001", &to("K01-B-1")).await), "volume_not_found");
        // The places' rules: no shelf straight in the room, no place under a storage place.
        assert_eq!(code_of(t.app.add_place(&t.admin, room_id, &place(None, "shelf", "9", Some("10"))).await), "place_kind_not_allowed");
        let shelf = t.app.room_places(&t.admin, room_id).await.unwrap().into_iter().find(|p| p.code == "K01-A-1-1").unwrap();
        assert_eq!(code_of(t.app.add_place(&t.admin, room_id, &place(Some(shelf.id), "position", "1", Some("1"))).await), "parent_is_storage_place");
        assert_eq!(code_of(t.app.add_place(&t.admin, room_id, &place(None, "shelving", "一号", None)).await), "invalid_place_code");
        assert_eq!(code_of(t.app.add_place(&t.admin, room_id, &place(None, "shelving", "A", None)).await), "place_code_taken");
    }

    async fn an_important_record_stands_only_in_a_fire_safe(db: TestDb) {
        let t = TestApp::start(db).await;
        room(&t, "100").await;
        let v = t.sealed_volume(1, 2021, 2).await;
        let code = volume_code(v.id.0);
        t.app.place_volume(&t.admin, &code, &to("K01-A-1-1")).await.unwrap();
        // Designating it while it stands on an ordinary shelf is refused: move it first.
        assert_eq!(code_of(t.app.designate_volume(&t.admin, v.id, true).await), "fire_safe_required");
        t.app.place_volume(&t.admin, &code, &to("K01-S-1")).await.unwrap();
        let d = t.app.designate_volume(&t.admin, v.id, true).await.unwrap();
        assert!(d.fire_safe_required);
        let e = t.app.place_volume(&t.admin, &code, &to("K01-A-1-2")).await.unwrap_err();
        assert_eq!(e.code(), "fire_safe_required");
        assert!(e.to_string().contains("防火保险箱"), "{e}");
        assert_eq!(t.app.volume_location(&t.admin, v.id).await.unwrap().place.unwrap().code, "K01-S-1");
        assert_eq!(log(&t, "volume.designate").await.len(), 1);
        // Lifted, it may go back to the shelves.
        t.app.designate_volume(&t.admin, v.id, false).await.unwrap();
        t.app.place_volume(&t.admin, &code, &to("K01-A-1-2")).await.unwrap();
    }

    async fn volumes_in_a_box_move_with_it_and_the_box_counts_on_its_shelf(db: TestDb) {
        let t = TestApp::start(db).await;
        let room_id = room(&t, "30").await;
        let a = t.sealed_volume(1, 2021, 6).await;
        let b = t.sealed_volume(2, 2022, 6).await;
        let bx = t.app.create_box(&t.admin, &BoxInput { inner_mm: "1".into(), outer_mm: Some("25".into()), place: Some("K01-A-1-1".into()) }).await.unwrap();
        assert!(bx.code.starts_with('B'));
        t.app.place_volume(&t.admin, &volume_code(a.id.0), &to(&bx.code)).await.unwrap();
        // The box is 1 mm inside: the second volume does not fit.
        assert_eq!(code_of(t.app.place_volume(&t.admin, &volume_code(b.id.0), &to(&bx.code)).await), "box_full");
        // The shelf of 30 mm holds the 25 mm box: a second box of 25 mm does not fit.
        assert_eq!(code_of(t.app.create_box(&t.admin, &BoxInput { inner_mm: "20".into(), outer_mm: Some("25".into()), place: Some("K01-A-1-1".into()) }).await), "place_full");
        let moved = t.app.move_box(&t.admin, &bx.code, "K01-A-1-2").await.unwrap();
        assert_eq!(moved.row.place_id.map(|_| ()), Some(()));
        let where_a = t.app.volume_location(&t.admin, a.id).await.unwrap();
        assert_eq!(where_a.place.unwrap().code, "K01-A-1-2");
        assert_eq!(where_a.box_code.as_deref(), Some(bx.code.as_str()));
        let shelf = t.app.place_detail(&t.admin, "K01-A-1-2").await.unwrap();
        assert_eq!((shelf.used_mm, shelf.free_mm, shelf.volumes.len(), shelf.boxes.len()), (25, Some(5), 1, 1));
        let layout = t.app.room_layout(&t.admin, room_id).await.unwrap();
        assert_eq!(layout.used_mm, 25);
        assert_eq!(log(&t, "box.move").await.len(), 1);
    }

    async fn a_stocktake_finds_volumes_in_place_elsewhere_missing_and_unexpected_and_a_missing_one_is_reported_lost(db: TestDb) {
        let t = TestApp::start(db).await;
        let custodian = t.actor("keeper1", Role::Custodian).await;
        let room_id = room(&t, "100").await;
        let mut vols = Vec::new();
        for (n, y) in [(1, 2021), (2, 2022), (3, 2023), (4, 2024)] {
            vols.push(t.sealed_volume(n, y, 2).await);
        }
        let code = |i: usize| volume_code(vols[i].id.0);
        t.app.place_volume(&custodian, &code(0), &to("K01-A-1-1")).await.unwrap();
        t.app.place_volume(&custodian, &code(1), &to("K01-A-1-1")).await.unwrap();
        t.app.place_volume(&custodian, &code(2), &to("K01-A-1-2")).await.unwrap();
        t.app.place_volume(&custodian, &code(3), &to("K01-B-1")).await.unwrap();

        // Unit A is counted: three volumes expected.
        let st = t.app.start_stocktake(&custodian, room_id, &StartStocktake { place: Some("K01-A".into()) }).await.unwrap();
        assert_eq!((st.expected, st.scope.as_str()), (3, "K01-A"));
        let id = st.stocktake.id;
        assert_eq!(code_of(t.app.start_stocktake(&custodian, room_id, &StartStocktake::default()).await), "stocktake_open");
        let scan = |place: &str, c: &str| ScanInput { place: place.into(), code: c.into() };
        t.app.stocktake_scan(&custodian, id, &scan("K01-A-1-1", &code(0))).await.unwrap();
        // The second volume stands on shelf 2, the fourth (registered on unit B) too, and a
        // spine label nobody knows.
        t.app.stocktake_scan(&custodian, id, &scan("K01-A-1-2", &code(1))).await.unwrap();
        t.app.stocktake_scan(&custodian, id, &scan("K01-A-1-2", &code(3))).await.unwrap();
        t.app.stocktake_scan(&custodian, id, &scan("K01-A-1-2", "X-UNKNOWN-7")).await.unwrap();
        // Unit B is outside this stocktake; a place is not a volume.
        assert_eq!(code_of(t.app.stocktake_scan(&custodian, id, &scan("K01-B-1", &code(3))).await), "place_out_of_scope");
        assert_eq!(code_of(t.app.stocktake_scan(&custodian, id, &scan("K01-A-1-2", "K01-A-1-1")).await), "not_a_volume");

        let done = t.app.close_stocktake(&custodian, id).await.unwrap();
        assert_eq!(done.stocktake.state, StocktakeState::Closed);
        let counts: Vec<(StocktakeOutcome, usize)> = done.counts.clone();
        assert_eq!(counts, vec![
            (StocktakeOutcome::InPlace, 1),
            (StocktakeOutcome::Elsewhere, 1),
            (StocktakeOutcome::Missing, 1),
            (StocktakeOutcome::Unexpected, 2),
        ]);
        let line = |o: StocktakeOutcome| done.lines.iter().filter(|l| l.outcome == o).collect::<Vec<_>>();
        assert_eq!(line(StocktakeOutcome::Missing)[0].volume_id, Some(vols[2].id));
        assert_eq!(line(StocktakeOutcome::Elsewhere)[0].scanned_place.as_deref(), Some("K01-A-1-2"));
        assert_eq!(line(StocktakeOutcome::Elsewhere)[0].expected_place.as_deref(), Some("K01-A-1-1"));
        let unexpected: Vec<String> = line(StocktakeOutcome::Unexpected).iter().map(|l| l.code.clone()).collect();
        assert_eq!(unexpected, vec![code(3), "X-UNKNOWN-7".to_owned()]);
        // Kept: read again later it says the same; no scan after closing.
        let again = t.app.stocktake_report(&custodian, id).await.unwrap();
        assert_eq!(again.counts, done.counts);
        assert_eq!(code_of(t.app.stocktake_scan(&custodian, id, &scan("K01-A-1-1", &code(0))).await), "stocktake_closed");

        // The missing volume is reported lost: its material is 档案丢失, by the loss procedure.
        // The custodian does not record losses; the archivist does.
        let loss = LossInput { reported_to: "局分管领导".into(), note: Some("全库查找未果".into()) };
        assert_eq!(code_of(t.app.report_stocktake_loss(&custodian, id, vols[2].id, &loss).await), "forbidden");
        assert_eq!(code_of(t.app.report_stocktake_loss(&t.admin, id, vols[0].id, &loss).await), "volume_not_missing");
        assert_eq!(t.app.report_stocktake_loss(&t.admin, id, vols[2].id, &loss).await.unwrap(), 1);
        let losses = t.app.incident_list(&t.admin, &Default::default()).await.unwrap();
        assert_eq!(losses.items.len(), 1);
        assert!(losses.items[0].detail.contains("局分管领导"));
        let contents = t.app.volume(&t.admin, vols[2].id).await.unwrap().contents;
        assert!(contents.iter().all(|l| l.remarks.contains(MaterialStatus::Lost.label())), "{contents:?}");
        assert_eq!(log(&t, "stocktake.report_loss").await.len(), 1);
        assert_eq!(log(&t, "stocktake.close").await.len(), 1);
    }

    async fn insiders_without_the_custody_duties_cannot_move_count_or_configure_and_each_attempt_is_logged(db: TestDb) {
        let t = TestApp::start(db).await;
        let window = t.actor("window1", Role::Window).await;
        let handler = t.actor("handler1", Role::Handler).await;
        let custodian = t.actor("keeper1", Role::Custodian).await;
        let auditor = t.auditor.clone();
        let room_id = room(&t, "100").await;
        let v = t.sealed_volume(1, 2021, 2).await;
        let code = volume_code(v.id.0);
        assert_eq!(code_of(t.app.place_volume(&window, &code, &to("K01-A-1-1")).await), "forbidden");
        assert_eq!(code_of(t.app.place_volume(&handler, &code, &to("K01-A-1-1")).await), "forbidden");
        assert_eq!(code_of(t.app.place_volume(&auditor, &code, &to("K01-A-1-1")).await), "forbidden");
        assert_eq!(code_of(t.app.start_stocktake(&window, room_id, &StartStocktake::default()).await), "forbidden");
        assert_eq!(code_of(t.app.room_layout(&handler, room_id).await), "forbidden");
        assert_eq!(code_of(t.app.create_room(&window, &room_input("K02", "10")).await), "forbidden");
        // The custodian keeps the room but reads no one's archive.
        assert_eq!(code_of(t.app.search_persons(&custodian, &Default::default()).await), "forbidden");
        let denied = log(&t, "access.denied").await;
        assert!(denied.len() >= 7, "{}", denied.len());
        assert!(t.app.volume_location(&t.admin, v.id).await.unwrap().location.is_none());
    }

    async fn a_room_is_refused_with_a_chinese_message_for_each_bad_field_and_nothing_is_kept(db: TestDb) {
        let t = TestApp::start(db).await;
        let bad = |f: fn(&mut RoomInput)| {
            let mut r = room_input("K01", "20");
            f(&mut r);
            r
        };
        assert_eq!(code_of(t.app.create_room(&t.admin, &bad(|r| r.code = "一号库".into())).await), "invalid_place_code");
        assert_eq!(code_of(t.app.create_room(&t.admin, &bad(|r| r.area_m2 = "二十".into())).await), "invalid_number");
        assert_eq!(code_of(t.app.create_room(&t.admin, &bad(|r| r.area_m2 = "0".into())).await), "invalid_number");
        assert_eq!(code_of(t.app.create_room(&t.admin, &bad(|r| r.rh_min = Some("70".into()))).await), "invalid_range");
        assert_eq!(code_of(t.app.create_room(&t.admin, &bad(|r| r.temp_max = Some("99".into()))).await), "invalid_number");
        assert!(t.app.rooms(&t.admin).await.unwrap().is_empty());
        let r = t.app.create_room(&t.admin, &room_input("k01", "36.5")).await.unwrap();
        assert_eq!((r.room.code.as_str(), r.area_m2.as_str(), r.temp_range.as_str(), r.rh_range.as_str()), ("K01", "36.5", "14–24 ℃", "45–60 %"));
        assert_eq!(code_of(t.app.create_room(&t.admin, &room_input("K01", "10")).await), "room_code_taken");
        let e = t.app.create_room(&t.admin, &bad(|r| r.area_m2 = "二十".into())).await.unwrap_err();
        assert!(e.to_string().contains("面积"), "{e}");
    }

    async fn the_demonstration_room_is_made_once_with_its_shelves_and_fire_safe(db: TestDb) {
        let t = TestApp::start(db).await;
        assert!(t.app.load_demo_room(&t.admin).await.unwrap());
        assert!(!t.app.load_demo_room(&t.admin).await.unwrap(), "made once");
        let rooms = t.app.rooms(&t.admin).await.unwrap();
        assert_eq!(rooms.len(), 1);
        let layout = t.app.room_layout(&t.admin, rooms[0].room.id).await.unwrap();
        assert_eq!(layout.capacity_mm, 10 * 900 + 300);
        assert!(layout.places.iter().any(|p| p.place.code == "K01-S-1" && p.place.fire_safe));
    }

    async fn a_nul_or_chinese_in_a_scanned_code_names_nothing_and_never_reaches_the_database(db: TestDb) {
        let t = TestApp::start(db).await;
        let room_id = room(&t, "100").await;
        let v = t.sealed_volume(1, 2021, 2).await;
        let code = volume_code(v.id.0);
        for bad in ["\0", "K01\0-A", "一号", "K01-A-1-1\u{7}"] {
            assert_eq!(code_of(t.app.place_volume(&t.admin, &code, &to(bad)).await), "place_not_found", "{bad:?}");
            assert_eq!(code_of(t.app.place_volume(&t.admin, bad, &to("K01-A-1-1")).await), "volume_not_found", "{bad:?}");
            assert_eq!(code_of(t.app.start_stocktake(&t.admin, room_id, &StartStocktake { place: Some(bad.into()) }).await), "place_not_found", "{bad:?}");
            assert_eq!(code_of(t.app.lookup_code(&t.admin, bad).await), "code_not_found", "{bad:?}");
            assert_eq!(code_of(t.app.place_detail(&t.admin, bad).await), "place_not_found", "{bad:?}");
        }
    }
}
