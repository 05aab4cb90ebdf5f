//! 档号 — serial allocation for archive numbers.
//!
//! The counter row of (year, class) is incremented with a single upsert inside the caller's
//! transaction. PostgreSQL holds the row lock until commit and SQLite holds the database write
//! lock, so concurrent allocations queue; a rolled-back transaction rolls its increment back
//! too. Serials are therefore gapless and unique as long as the number is used in the same
//! transaction that allocated it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{StoreResult, Tx, on_conn};

/// An allocated archive number as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct AllocationRow {
    /// The rendered number.
    pub archive_number: String,
    /// 年度
    pub year: i64,
    /// Business class code.
    pub business_class: String,
    /// 卷号
    pub serial: i64,
    /// When.
    pub allocated_at: DateTime<Utc>,
    /// By whom.
    pub allocated_by: String,
}

/// Takes the next serial for (year, class): 1 for the first call.
pub async fn next_serial(tx: &mut Tx, year: i64, business_class: &str) -> StoreResult<i64> {
    Ok(on_conn!(tx, c => {
        sqlx::query_scalar(
            "INSERT INTO archive_counters (year, business_class, last_serial) VALUES ($1, $2, 1)
             ON CONFLICT (year, business_class) DO UPDATE SET last_serial = archive_counters.last_serial + 1
             RETURNING last_serial",
        )
        .bind(year)
        .bind(business_class)
        .fetch_one(c)
        .await
    })?)
}

/// Records an allocated number; a duplicate is `Conflict(...)`, which would mean a bug.
pub async fn record(tx: &mut Tx, row: &AllocationRow) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query(
            "INSERT INTO archive_numbers (archive_number, year, business_class, serial, allocated_at, allocated_by)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&row.archive_number)
        .bind(row.year)
        .bind(&row.business_class)
        .bind(row.serial)
        .bind(row.allocated_at)
        .bind(&row.allocated_by)
        .execute(c)
        .await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// The numbers allocated for (year, class), by serial.
pub async fn list(tx: &mut Tx, year: i64, business_class: &str) -> StoreResult<Vec<AllocationRow>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as(
            "SELECT archive_number, year, business_class, serial, allocated_at, allocated_by
             FROM archive_numbers WHERE year = $1 AND business_class = $2 ORDER BY serial",
        )
        .bind(year)
        .bind(business_class)
        .fetch_all(c)
        .await
    })?)
}
