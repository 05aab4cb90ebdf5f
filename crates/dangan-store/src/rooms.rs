//! 库房 — archive rooms and the tree of places inside them (S3.1). Where volumes stand on those
//! places, and stocktakes, are in `locations`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use dangan_domain::room::PlaceKind;

use crate::{StoreResult, Tx, id_type, on_conn};

id_type!(
    /// The row id of an archive room.
    RoomId
);
id_type!(
    /// The row id of a place in a room.
    PlaceId
);

/// A stored room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct RoomRow {
    /// Row id.
    pub id: RoomId,
    /// 库房编号 (upper-case letters and digits; the root of its places' codes).
    pub code: String,
    /// 库房名称
    pub name: String,
    /// Floor area in square decimetres.
    pub area_dm2: i64,
    /// Separate from the service area (S3.1).
    pub separate_from_service: bool,
    /// Lowest temperature in range, tenths of a degree.
    pub temp_min_dc: i64,
    /// Highest temperature in range, tenths of a degree.
    pub temp_max_dc: i64,
    /// Lowest relative humidity in range, tenths of a per cent.
    pub rh_min_pm: i64,
    /// Highest relative humidity in range, tenths of a per cent.
    pub rh_max_pm: i64,
    /// Created at.
    pub created_at: DateTime<Utc>,
}

/// A room as entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRoom<'a> {
    /// 库房编号
    pub code: &'a str,
    /// 库房名称
    pub name: &'a str,
    /// Floor area in square decimetres.
    pub area_dm2: i64,
    /// Separate from the service area.
    pub separate_from_service: bool,
    /// Thresholds: temperature (tenths of a degree) and humidity (tenths of a per cent).
    pub thresholds: Thresholds,
}

/// A room's environment thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Thresholds {
    /// Lowest temperature, tenths of a degree.
    pub temp_min_dc: i64,
    /// Highest temperature, tenths of a degree.
    pub temp_max_dc: i64,
    /// Lowest relative humidity, tenths of a per cent.
    pub rh_min_pm: i64,
    /// Highest relative humidity, tenths of a per cent.
    pub rh_max_pm: i64,
}

impl RoomRow {
    /// The room's thresholds.
    pub fn thresholds(&self) -> Thresholds {
        Thresholds {
            temp_min_dc: self.temp_min_dc,
            temp_max_dc: self.temp_max_dc,
            rh_min_pm: self.rh_min_pm,
            rh_max_pm: self.rh_max_pm,
        }
    }
}

const ROOM_COLUMNS: &str = "id, code, name, area_dm2, separate_from_service, temp_min_dc, temp_max_dc, rh_min_pm, rh_max_pm, created_at";

/// Inserts a room; `None` when its code is taken.
pub async fn insert_room(
    tx: &mut Tx,
    room: &NewRoom<'_>,
    now: DateTime<Utc>,
) -> StoreResult<Option<RoomId>> {
    let t = room.thresholds;
    let id: Option<i64> = on_conn!(tx, c => {
        sqlx::query_scalar(
            "INSERT INTO rooms (code, name, area_dm2, separate_from_service, temp_min_dc, temp_max_dc, rh_min_pm, rh_max_pm, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (code) DO NOTHING RETURNING id",
        )
        .bind(room.code)
        .bind(room.name)
        .bind(room.area_dm2)
        .bind(room.separate_from_service)
        .bind(t.temp_min_dc)
        .bind(t.temp_max_dc)
        .bind(t.rh_min_pm)
        .bind(t.rh_max_pm)
        .bind(now)
        .fetch_optional(c)
        .await
    })?;
    Ok(id.map(RoomId))
}

/// Changes a room's name, area, separation and thresholds (its code stays: labels carry it).
pub async fn update_room(
    tx: &mut Tx,
    id: RoomId,
    name: &str,
    area_dm2: i64,
    separate_from_service: bool,
    t: Thresholds,
) -> StoreResult<bool> {
    Ok(on_conn!(tx, c => {
        sqlx::query(
            "UPDATE rooms SET name = $1, area_dm2 = $2, separate_from_service = $3, temp_min_dc = $4, temp_max_dc = $5, rh_min_pm = $6, rh_max_pm = $7 WHERE id = $8",
        )
        .bind(name)
        .bind(area_dm2)
        .bind(separate_from_service)
        .bind(t.temp_min_dc)
        .bind(t.temp_max_dc)
        .bind(t.rh_min_pm)
        .bind(t.rh_max_pm)
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1)
    })?)
}

/// Every room, by code.
pub async fn rooms(tx: &mut Tx) -> StoreResult<Vec<RoomRow>> {
    let sql = format!("SELECT {ROOM_COLUMNS} FROM rooms ORDER BY code");
    Ok(on_conn!(tx, c => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(c).await
    })?)
}

/// One room.
pub async fn room(tx: &mut Tx, id: RoomId) -> StoreResult<Option<RoomRow>> {
    let sql = format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE id = $1");
    Ok(on_conn!(tx, c => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(c).await
    })?)
}

/// A stored place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct PlaceRow {
    /// Row id.
    pub id: PlaceId,
    /// Its room.
    pub room_id: RoomId,
    /// The place it is in; `None` for a unit standing in the room.
    pub parent_id: Option<PlaceId>,
    /// 位置类型
    #[sqlx(try_from = "String")]
    pub kind: PlaceKind,
    /// The full code on its label (`K01-A-3-2`).
    pub code: String,
    /// Its name (`A 列`, `第 2 层`).
    pub name: String,
    /// Shelf length in millimetres, for a storage place.
    pub capacity_mm: Option<i64>,
    /// A fire safe or inside one.
    pub fire_safe: bool,
}

/// A place as entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPlace<'a> {
    /// Its room.
    pub room_id: RoomId,
    /// Its parent.
    pub parent_id: Option<PlaceId>,
    /// Kind.
    pub kind: PlaceKind,
    /// Full code.
    pub code: &'a str,
    /// Name.
    pub name: &'a str,
    /// Capacity, for a storage place.
    pub capacity_mm: Option<i64>,
    /// Fire-safe (a fire safe or under one).
    pub fire_safe: bool,
}

const PLACE_COLUMNS: &str = "id, room_id, parent_id, kind, code, name, capacity_mm, fire_safe";

/// Inserts a place; `None` when its code is taken.
pub async fn insert_place(
    tx: &mut Tx,
    place: &NewPlace<'_>,
    now: DateTime<Utc>,
) -> StoreResult<Option<PlaceId>> {
    let id: Option<i64> = on_conn!(tx, c => {
        sqlx::query_scalar(
            "INSERT INTO places (room_id, parent_id, kind, code, name, capacity_mm, fire_safe, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (code) DO NOTHING RETURNING id",
        )
        .bind(place.room_id)
        .bind(place.parent_id)
        .bind(place.kind.code())
        .bind(place.code)
        .bind(place.name)
        .bind(place.capacity_mm)
        .bind(place.fire_safe)
        .bind(now)
        .fetch_optional(c)
        .await
    })?;
    Ok(id.map(PlaceId))
}

/// The places of a room, by code (a parent before its children).
pub async fn places_of_room(tx: &mut Tx, room: RoomId) -> StoreResult<Vec<PlaceRow>> {
    let sql = format!("SELECT {PLACE_COLUMNS} FROM places WHERE room_id = $1 ORDER BY code");
    Ok(on_conn!(tx, c => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(room).fetch_all(c).await
    })?)
}

/// One place.
pub async fn place(tx: &mut Tx, id: PlaceId) -> StoreResult<Option<PlaceRow>> {
    let sql = format!("SELECT {PLACE_COLUMNS} FROM places WHERE id = $1");
    Ok(on_conn!(tx, c => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(c).await
    })?)
}

/// The place with this code (as printed on its label).
pub async fn place_by_code(tx: &mut Tx, code: &str) -> StoreResult<Option<PlaceRow>> {
    let sql = format!("SELECT {PLACE_COLUMNS} FROM places WHERE code = $1");
    Ok(on_conn!(tx, c => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(code).fetch_optional(c).await
    })?)
}

/// Whether a place holds other places.
pub async fn has_children(tx: &mut Tx, id: PlaceId) -> StoreResult<bool> {
    let n: i64 = on_conn!(tx, c => {
        sqlx::query_scalar("SELECT COUNT(*) FROM places WHERE parent_id = $1")
            .bind(id)
            .fetch_one(c)
            .await
    })?;
    Ok(n > 0)
}
