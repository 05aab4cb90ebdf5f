//! 容量 — how full the archive rooms are and how fast the archive grows (S3.1): shelf capacity,
//! used length per room, sealed volumes and enrolments per year. Every figure is one grouped
//! statement; nothing loops over volumes.

use serde::Serialize;

use crate::rooms::RoomId;
use crate::{Backend, StoreResult, Tx, on_conn};

/// A room's shelf: capacity of its storage places and what stands on them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct RoomShelf {
    /// The room.
    pub room_id: RoomId,
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Sum of the capacity of its storage places, mm.
    pub capacity_mm: i64,
    /// Length used, µm: volumes standing on a place outside a box, and the outside width of the
    /// boxes on its places.
    pub used_um: i64,
    /// Volumes in place in the room (in boxes or not).
    pub volumes: i64,
    /// Storage places.
    pub places: i64,
}

/// Every room's shelf, by code (one statement; the sums are per room, not per volume).
pub async fn room_shelves(tx: &mut Tx) -> StoreResult<Vec<RoomShelf>> {
    let sql = format!(
        "SELECT r.id AS room_id, r.code, r.name,
                    CAST(COALESCE((SELECT SUM(p.capacity_mm) FROM places p WHERE p.room_id = r.id AND p.capacity_mm IS NOT NULL), 0) AS BIGINT) AS capacity_mm,
                    CAST(COALESCE((SELECT SUM({used}) FROM places p WHERE p.room_id = r.id), 0) AS BIGINT) AS used_um,
                    (SELECT COUNT(*) FROM volume_locations l JOIN places p ON p.id = l.place_id
                     WHERE p.room_id = r.id AND l.state = 'in_place') AS volumes,
                    (SELECT COUNT(*) FROM places p WHERE p.room_id = r.id AND p.capacity_mm IS NOT NULL) AS places
             FROM rooms r ORDER BY r.code",
        used = crate::locations::used_um_on("p.id")
    );
    Ok(on_conn!(tx, c => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(c).await
    })?)
}

/// An amount in one year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct YearRow {
    /// The year (Beijing time for instants).
    pub year: i64,
    /// The amount: µm of sealed volumes, or enrolments.
    pub amount: i64,
    /// How many rows (volumes, enrolments).
    pub count: i64,
}

/// Sealed volumes per year of sealing (Beijing time): total thickness and count, every year.
pub async fn sealed_per_year(tx: &mut Tx) -> StoreResult<Vec<YearRow>> {
    let year = match tx.backend() {
        Backend::Sqlite => "CAST(strftime('%Y', sealed_at, '+8 hours') AS INTEGER)",
        Backend::Postgres => {
            "CAST(EXTRACT(YEAR FROM sealed_at AT TIME ZONE 'Asia/Shanghai') AS BIGINT)"
        }
    };
    let sql = format!(
        "SELECT {year} AS year, CAST(SUM(thickness_um) AS BIGINT) AS amount, COUNT(*) AS count
         FROM volumes WHERE sealed_at IS NOT NULL GROUP BY {year} ORDER BY year"
    );
    Ok(on_conn!(tx, c => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(c).await
    })?)
}

/// Enrolments (参保登记 business, `enrolment`) per year of their business date.
pub async fn enrolments_per_year(tx: &mut Tx) -> StoreResult<Vec<YearRow>> {
    let year = match tx.backend() {
        Backend::Sqlite => "CAST(substr(business_date, 1, 4) AS INTEGER)",
        Backend::Postgres => "CAST(EXTRACT(YEAR FROM business_date) AS BIGINT)",
    };
    let sql = format!(
        "SELECT {year} AS year, COUNT(*) AS amount, COUNT(*) AS count
         FROM business_events WHERE business_type = 'enrolment' GROUP BY {year} ORDER BY year"
    );
    Ok(on_conn!(tx, c => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(c).await
    })?)
}

/// The archive as a whole: insured persons, and sealed volumes with their total thickness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ArchiveTotals {
    /// 参保人
    pub persons: i64,
    /// Sealed volumes.
    pub sealed_volumes: i64,
    /// Their total thickness, µm.
    pub sealed_um: i64,
}

/// The totals of the archive (one statement).
pub async fn totals(tx: &mut Tx) -> StoreResult<ArchiveTotals> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM persons) AS persons,
                    (SELECT COUNT(*) FROM volumes WHERE sealed_at IS NOT NULL) AS sealed_volumes,
                    CAST(COALESCE((SELECT SUM(thickness_um) FROM volumes WHERE sealed_at IS NOT NULL), 0) AS BIGINT) AS sealed_um",
        )
        .fetch_one(c)
        .await
    })?)
}
