//! 存放位置 — where each sealed volume stands (a place, or an archive box on a place), every
//! move it made, the boxes, the capacity used on each place, and stocktakes (盘点) with what
//! the register expected and what was scanned.
//!
//! A volume in a box stands where its box stands: `volume_locations.place_id` is the box's
//! place, kept in step when the box moves. The shelf length used on a place is the thickness of
//! the volumes standing on it outside boxes plus the outside width of the boxes on it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use dangan_domain::room::{LocationState, MoveKind, StocktakeState};

use crate::rooms::{PlaceId, RoomId};
use crate::volumes::VolumeId;
use crate::{StoreResult, Tx, id_type, on_conn};

id_type!(
    /// The row id of an archive box; its label code is `B` and the id in eight digits.
    BoxId
);
id_type!(
    /// The row id of a stocktake.
    StocktakeId
);

/// A stored archive box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct BoxRow {
    /// Row id.
    pub id: BoxId,
    /// Inside width, mm.
    pub inner_mm: i64,
    /// Outside width, mm.
    pub outer_mm: i64,
    /// Where it stands; `None` before it is placed.
    pub place_id: Option<PlaceId>,
}

/// Adds a box.
pub async fn insert_box(
    tx: &mut Tx,
    inner_mm: i64,
    outer_mm: i64,
    now: DateTime<Utc>,
) -> StoreResult<BoxId> {
    let id: i64 = on_conn!(tx, c => {
        sqlx::query_scalar("INSERT INTO archive_boxes (inner_mm, outer_mm, created_at) VALUES ($1, $2, $3) RETURNING id")
            .bind(inner_mm)
            .bind(outer_mm)
            .bind(now)
            .fetch_one(c)
            .await
    })?;
    Ok(BoxId(id))
}

/// One box.
pub async fn box_row(tx: &mut Tx, id: BoxId) -> StoreResult<Option<BoxRow>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as("SELECT id, inner_mm, outer_mm, place_id FROM archive_boxes WHERE id = $1")
            .bind(id)
            .fetch_optional(c)
            .await
    })?)
}

/// Puts a box on a place, and every volume in it with it.
pub async fn set_box_place(tx: &mut Tx, id: BoxId, place: PlaceId) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("UPDATE archive_boxes SET place_id = $1 WHERE id = $2")
            .bind(place)
            .bind(id)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    on_conn!(tx, c => {
        sqlx::query("UPDATE volume_locations SET place_id = $1 WHERE box_id = $2")
            .bind(place)
            .bind(id)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Where a volume is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct LocationRow {
    /// The volume.
    pub volume_id: VolumeId,
    /// The place it stands on (its box's place when in a box); `None` when out.
    pub place_id: Option<PlaceId>,
    /// The box it is in.
    pub box_id: Option<BoxId>,
    /// 在架 or 出库.
    #[sqlx(try_from = "String")]
    pub state: LocationState,
    /// Why it is out.
    pub out_reason: Option<String>,
    /// Since when.
    pub since: DateTime<Utc>,
    /// Who put it there.
    pub by_user: String,
}

const LOCATION_COLUMNS: &str = "volume_id, place_id, box_id, state, out_reason, since, by_user";

/// Where a volume is now; `None` if it was never placed.
pub async fn location(tx: &mut Tx, volume: VolumeId) -> StoreResult<Option<LocationRow>> {
    let sql = format!("SELECT {LOCATION_COLUMNS} FROM volume_locations WHERE volume_id = $1");
    Ok(on_conn!(tx, c => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(volume).fetch_optional(c).await
    })?)
}

/// A change of where a volume is, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement<'a> {
    /// The volume.
    pub volume: VolumeId,
    /// The place (the box's place when in a box); `None` when taken out.
    pub place: Option<PlaceId>,
    /// The box.
    pub in_box: Option<BoxId>,
    /// 在架 or 出库.
    pub state: LocationState,
    /// Why it is taken out.
    pub out_reason: Option<&'a str>,
    /// Who.
    pub by: &'a str,
}

/// Sets where a volume is now (insert or replace).
pub async fn set_location(tx: &mut Tx, p: &Placement<'_>, now: DateTime<Utc>) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query(
            "INSERT INTO volume_locations (volume_id, place_id, box_id, state, out_reason, since, by_user)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (volume_id) DO UPDATE SET place_id = excluded.place_id, box_id = excluded.box_id,
                 state = excluded.state, out_reason = excluded.out_reason, since = excluded.since, by_user = excluded.by_user",
        )
        .bind(p.volume)
        .bind(p.place)
        .bind(p.in_box)
        .bind(p.state.code())
        .bind(p.out_reason)
        .bind(now)
        .bind(p.by)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// A move as written to the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMove<'a> {
    /// The volume moved (or `None` for a box's own move).
    pub volume: Option<VolumeId>,
    /// The box moved (a box's own move) — for a volume, see `from_box`/`to_box`.
    pub moved_box: Option<BoxId>,
    /// 上架, 移架, 出库 or 归库.
    pub kind: MoveKind,
    /// From.
    pub from_place: Option<PlaceId>,
    /// From box.
    pub from_box: Option<BoxId>,
    /// To.
    pub to_place: Option<PlaceId>,
    /// To box.
    pub to_box: Option<BoxId>,
    /// Why.
    pub reason: Option<&'a str>,
    /// Who.
    pub by: &'a str,
}

/// Writes a move to the history.
pub async fn insert_move(tx: &mut Tx, m: &NewMove<'_>, now: DateTime<Utc>) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query(
            "INSERT INTO location_moves (volume_id, box_id, kind, from_place_id, from_box_id, to_place_id, to_box_id, reason, at, by_user)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(m.volume)
        .bind(m.moved_box)
        .bind(m.kind.code())
        .bind(m.from_place)
        .bind(m.from_box)
        .bind(m.to_place)
        .bind(m.to_box)
        .bind(m.reason)
        .bind(now)
        .bind(m.by)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Moves a volume: sets where it is now (`to`) and writes the move from where it was
/// (`before`) to the history, in the caller's transaction.
pub async fn relocate(
    tx: &mut Tx,
    before: Option<&LocationRow>,
    to: &Placement<'_>,
    kind: MoveKind,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    set_location(tx, to, now).await?;
    insert_move(
        tx,
        &NewMove {
            volume: Some(to.volume),
            moved_box: None,
            kind,
            from_place: before.and_then(|l| l.place_id),
            from_box: before.and_then(|l| l.box_id),
            to_place: to.place,
            to_box: to.in_box,
            reason,
            by: to.by,
        },
        now,
    )
    .await
}

/// A move of a volume as listed, with the codes of its places.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct MoveRow {
    /// 上架, 移架, 出库 or 归库.
    #[sqlx(try_from = "String")]
    pub kind: MoveKind,
    /// From place code.
    pub from_code: Option<String>,
    /// From box.
    pub from_box_id: Option<BoxId>,
    /// To place code.
    pub to_code: Option<String>,
    /// To box.
    pub to_box_id: Option<BoxId>,
    /// Why.
    pub reason: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub by_user: String,
}

/// The moves of a volume, oldest first.
pub async fn moves_of_volume(tx: &mut Tx, volume: VolumeId) -> StoreResult<Vec<MoveRow>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as(
            "SELECT m.kind, f.code AS from_code, m.from_box_id, t.code AS to_code, m.to_box_id, m.reason, m.at, m.by_user
             FROM location_moves m LEFT JOIN places f ON f.id = m.from_place_id LEFT JOIN places t ON t.id = m.to_place_id
             WHERE m.volume_id = $1 ORDER BY m.id",
        )
        .bind(volume)
        .fetch_all(c)
        .await
    })?)
}

/// The shelf length used on the place `place` (an SQL expression: `$1`, `p.id`), in
/// micrometres: the volumes standing on it outside boxes, and the outside width of the boxes on
/// it. The one statement of the rule: the placement checks, the room's layout and the capacity
/// report all count with it.
pub(crate) fn used_um_on(place: &str) -> String {
    format!(
        "CAST(COALESCE((SELECT SUM(v.thickness_um) FROM volume_locations l JOIN volumes v ON v.id = l.volume_id
                        WHERE l.place_id = {place} AND l.box_id IS NULL AND l.state = 'in_place'), 0)
            + COALESCE((SELECT SUM(b.outer_mm) * 1000 FROM archive_boxes b WHERE b.place_id = {place}), 0) AS BIGINT)"
    )
}

/// The shelf length used on a place, in micrometres (see [`used_um_on`]).
pub async fn used_um(tx: &mut Tx, place: PlaceId) -> StoreResult<i64> {
    let sql = format!("SELECT {}", used_um_on("$1"));
    let used: i64 = on_conn!(tx, c => {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(place).fetch_one(c).await
    })?;
    Ok(used)
}

/// The width used inside a box, in micrometres.
pub async fn box_used_um(tx: &mut Tx, id: BoxId) -> StoreResult<i64> {
    let used: i64 = on_conn!(tx, c => {
        sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(v.thickness_um), 0) AS BIGINT) FROM volume_locations l JOIN volumes v ON v.id = l.volume_id
             WHERE l.box_id = $1 AND l.state = 'in_place'",
        )
        .bind(id)
        .fetch_one(c)
        .await
    })?;
    Ok(used)
}

/// The use of one storage place of a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct PlaceUse {
    /// The place.
    pub place_id: PlaceId,
    /// Micrometres used.
    pub used_um: i64,
    /// Volumes standing there (in boxes or not).
    pub volumes: i64,
    /// Boxes standing there.
    pub boxes: i64,
}

/// The use of every storage place of a room (one statement).
pub async fn use_of_room(tx: &mut Tx, room: RoomId) -> StoreResult<Vec<PlaceUse>> {
    let sql = format!(
        "SELECT p.id AS place_id, {} AS used_um,
                (SELECT COUNT(*) FROM volume_locations l WHERE l.place_id = p.id AND l.state = 'in_place') AS volumes,
                (SELECT COUNT(*) FROM archive_boxes b WHERE b.place_id = p.id) AS boxes
         FROM places p WHERE p.room_id = $1 AND p.capacity_mm IS NOT NULL ORDER BY p.code",
        used_um_on("p.id")
    );
    Ok(on_conn!(tx, c => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(room).fetch_all(c).await
    })?)
}

/// A volume standing on a place, as listed there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct StandingVolume {
    /// The volume.
    pub volume_id: VolumeId,
    /// Its archive number.
    pub archive_number: Option<String>,
    /// Thickness, µm.
    pub thickness_um: i64,
    /// Its box.
    pub box_id: Option<BoxId>,
}

/// The volumes standing on a place, by archive number.
pub async fn volumes_at(tx: &mut Tx, place: PlaceId) -> StoreResult<Vec<StandingVolume>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as(
            "SELECT l.volume_id, v.archive_number, v.thickness_um, l.box_id FROM volume_locations l JOIN volumes v ON v.id = l.volume_id
             WHERE l.place_id = $1 AND l.state = 'in_place' ORDER BY v.archive_number, l.volume_id",
        )
        .bind(place)
        .fetch_all(c)
        .await
    })?)
}

/// The boxes standing on a place.
pub async fn boxes_at(tx: &mut Tx, place: PlaceId) -> StoreResult<Vec<BoxRow>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as("SELECT id, inner_mm, outer_mm, place_id FROM archive_boxes WHERE place_id = $1 ORDER BY id")
            .bind(place)
            .fetch_all(c)
            .await
    })?)
}

/// A stored stocktake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct StocktakeRow {
    /// Row id.
    pub id: StocktakeId,
    /// The room.
    pub room_id: RoomId,
    /// The shelving unit, or the whole room.
    pub place_id: Option<PlaceId>,
    /// 盘点中 or 已完成.
    #[sqlx(try_from = "String")]
    pub state: StocktakeState,
    /// Started at.
    pub started_at: DateTime<Utc>,
    /// Started by.
    pub started_by: String,
    /// Closed at.
    pub closed_at: Option<DateTime<Utc>>,
    /// Closed by.
    pub closed_by: Option<String>,
}

const STOCKTAKE_COLUMNS: &str =
    "id, room_id, place_id, state, started_at, started_by, closed_at, closed_by";

/// Starts a stocktake of a room or of a unit (`scope_code`: the unit's code, every place under
/// it is in the scope) and records what the register says stands there now.
pub async fn start_stocktake(
    tx: &mut Tx,
    room: RoomId,
    unit: Option<(PlaceId, &str)>,
    by: &str,
    now: DateTime<Utc>,
) -> StoreResult<StocktakeId> {
    let id: i64 = on_conn!(tx, c => {
        sqlx::query_scalar(
            "INSERT INTO stocktakes (room_id, place_id, state, started_at, started_by) VALUES ($1, $2, 'open', $3, $4) RETURNING id",
        )
        .bind(room)
        .bind(unit.map(|u| u.0))
        .bind(now)
        .bind(by)
        .fetch_one(c)
        .await
    })?;
    let (code, prefix) = match unit {
        Some((_, code)) => (code.to_owned(), format!("{code}-%")),
        None => (String::new(), String::new()),
    };
    on_conn!(tx, c => {
        sqlx::query(
            "INSERT INTO stocktake_expected (stocktake_id, volume_id, place_id)
             SELECT $1, l.volume_id, l.place_id FROM volume_locations l JOIN places p ON p.id = l.place_id
             WHERE l.state = 'in_place' AND p.room_id = $2 AND ($3 = '' OR p.code = $3 OR p.code LIKE $4)",
        )
        .bind(id)
        .bind(room)
        .bind(&code)
        .bind(&prefix)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(StocktakeId(id))
}

/// One stocktake.
pub async fn stocktake(tx: &mut Tx, id: StocktakeId) -> StoreResult<Option<StocktakeRow>> {
    let sql = format!("SELECT {STOCKTAKE_COLUMNS} FROM stocktakes WHERE id = $1");
    Ok(on_conn!(tx, c => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(c).await
    })?)
}

/// The stocktakes of a room, newest first.
pub async fn stocktakes_of_room(tx: &mut Tx, room: RoomId) -> StoreResult<Vec<StocktakeRow>> {
    let sql = format!(
        "SELECT {STOCKTAKE_COLUMNS} FROM stocktakes WHERE room_id = $1 ORDER BY id DESC LIMIT 200"
    );
    Ok(on_conn!(tx, c => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(room).fetch_all(c).await
    })?)
}

/// Records one scan of a stocktake.
pub async fn insert_scan(
    tx: &mut Tx,
    id: StocktakeId,
    scanned: &str,
    volume: Option<VolumeId>,
    place: PlaceId,
    by: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query(
            "INSERT INTO stocktake_scans (stocktake_id, scanned_code, volume_id, place_id, at, by_user) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(scanned)
        .bind(volume)
        .bind(place)
        .bind(now)
        .bind(by)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Closes a stocktake; `false` if it was not open.
pub async fn close_stocktake(
    tx: &mut Tx,
    id: StocktakeId,
    by: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    Ok(on_conn!(tx, c => {
        sqlx::query("UPDATE stocktakes SET state = 'closed', closed_at = $1, closed_by = $2 WHERE id = $3 AND state = 'open'")
            .bind(now)
            .bind(by)
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected() == 1)
    })?)
}

/// A volume the register expected, with where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ExpectedRow {
    /// The volume.
    pub volume_id: VolumeId,
    /// Its archive number.
    pub archive_number: Option<String>,
    /// Where the register had it.
    pub place_id: PlaceId,
    /// That place's code.
    pub place_code: String,
}

/// What the register expected in a stocktake's scope.
pub async fn expected(tx: &mut Tx, id: StocktakeId) -> StoreResult<Vec<ExpectedRow>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as(
            "SELECT e.volume_id, v.archive_number, e.place_id, p.code AS place_code
             FROM stocktake_expected e JOIN volumes v ON v.id = e.volume_id JOIN places p ON p.id = e.place_id
             WHERE e.stocktake_id = $1 ORDER BY p.code, v.archive_number",
        )
        .bind(id)
        .fetch_all(c)
        .await
    })?)
}

/// One scan of a stocktake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ScanRow {
    /// The code as read.
    pub scanned_code: String,
    /// The volume it names, if any.
    pub volume_id: Option<VolumeId>,
    /// Its archive number.
    pub archive_number: Option<String>,
    /// Where it was read.
    pub place_id: PlaceId,
    /// That place's code.
    pub place_code: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub by_user: String,
}

/// The scans of a stocktake, in order.
pub async fn scans(tx: &mut Tx, id: StocktakeId) -> StoreResult<Vec<ScanRow>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as(
            "SELECT s.scanned_code, s.volume_id, v.archive_number, s.place_id, p.code AS place_code, s.at, s.by_user
             FROM stocktake_scans s JOIN places p ON p.id = s.place_id LEFT JOIN volumes v ON v.id = s.volume_id
             WHERE s.stocktake_id = $1 ORDER BY s.id",
        )
        .bind(id)
        .fetch_all(c)
        .await
    })?)
}

/// Marks a volume as important (fire safe only) or not.
pub async fn set_fire_safe_required(
    tx: &mut Tx,
    volume: VolumeId,
    required: bool,
) -> StoreResult<bool> {
    Ok(on_conn!(tx, c => {
        sqlx::query("UPDATE volumes SET fire_safe_required = $1 WHERE id = $2")
            .bind(required)
            .bind(volume)
            .execute(c)
            .await
            .map(|r| r.rows_affected() == 1)
    })?)
}

/// Whether a volume is designated for the fire safe.
pub async fn fire_safe_required(tx: &mut Tx, volume: VolumeId) -> StoreResult<Option<bool>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_scalar("SELECT fire_safe_required FROM volumes WHERE id = $1")
            .bind(volume)
            .fetch_optional(c)
            .await
    })?)
}

/// The volume with this archive number.
pub async fn volume_by_archive_number(tx: &mut Tx, number: &str) -> StoreResult<Option<VolumeId>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_scalar("SELECT id FROM volumes WHERE archive_number = $1")
            .bind(number)
            .fetch_optional(c)
            .await
    })?)
}

/// The volumes in a box.
pub async fn volumes_in_box(tx: &mut Tx, id: BoxId) -> StoreResult<Vec<VolumeId>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_scalar("SELECT volume_id FROM volume_locations WHERE box_id = $1 AND state = 'in_place' ORDER BY volume_id")
            .bind(id)
            .fetch_all(c)
            .await
    })?)
}

/// Whether any volume in a box is designated for the fire safe.
pub async fn box_holds_designated(tx: &mut Tx, id: BoxId) -> StoreResult<bool> {
    let n: i64 = on_conn!(tx, c => {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM volume_locations l JOIN volumes v ON v.id = l.volume_id
             WHERE l.box_id = $1 AND l.state = 'in_place' AND v.fire_safe_required",
        )
        .bind(id)
        .fetch_one(c)
        .await
    })?;
    Ok(n > 0)
}

/// The open stocktake of a room, if any.
pub async fn open_stocktake_of_room(tx: &mut Tx, room: RoomId) -> StoreResult<Option<StocktakeId>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_scalar("SELECT id FROM stocktakes WHERE room_id = $1 AND state = 'open' LIMIT 1")
            .bind(room)
            .fetch_optional(c)
            .await
    })?)
}

/// The boxes standing in a room, with the code of their place, by place and box.
pub async fn boxes_of_room(tx: &mut Tx, room: RoomId) -> StoreResult<Vec<(BoxId, String)>> {
    let rows: Vec<(i64, String)> = on_conn!(tx, c => {
        sqlx::query_as(
            "SELECT b.id, p.code FROM archive_boxes b JOIN places p ON p.id = b.place_id WHERE p.room_id = $1 ORDER BY p.code, b.id",
        )
        .bind(room)
        .fetch_all(c)
        .await
    })?;
    Ok(rows
        .into_iter()
        .map(|(id, code)| (BoxId(id), code))
        .collect())
}
