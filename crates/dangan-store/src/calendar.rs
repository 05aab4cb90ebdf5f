//! 工作日历 — the loaded years of the working-day calendar and their special days (official
//! holidays and make-up working days). Replacing a year replaces all its days at once.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use dangan_domain::calendar::DayKind;

use crate::{StoreResult, Tx, on_conn};

/// A loaded year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct YearRow {
    /// The year.
    pub year: i64,
    /// Where its days came from (`builtin`, a file name, `manual`).
    pub source: String,
    /// When it was loaded.
    pub loaded_at: DateTime<Utc>,
    /// Who loaded it.
    pub loaded_by: String,
}

/// A special day as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct DayRow {
    /// The date.
    pub day: NaiveDate,
    /// 放假 or 调休上班.
    #[sqlx(try_from = "String")]
    pub kind: DayKind,
    /// The festival's name.
    pub name: String,
}

/// Every loaded year, oldest first.
pub async fn years(tx: &mut Tx) -> StoreResult<Vec<YearRow>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as("SELECT year, source, loaded_at, loaded_by FROM calendar_years ORDER BY year")
            .fetch_all(c)
            .await
    })?)
}

/// Every special day of every loaded year, in date order.
pub async fn all_days(tx: &mut Tx) -> StoreResult<Vec<DayRow>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as("SELECT day, kind, name FROM calendar_days ORDER BY day")
            .fetch_all(c)
            .await
    })?)
}

/// Loads a year, replacing whatever that year had.
pub async fn replace_year(
    tx: &mut Tx,
    year: i64,
    days: &[DayRow],
    source: &str,
    loaded_by: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    on_conn!(tx, c => sqlx::query("DELETE FROM calendar_days WHERE year = $1").bind(year).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    on_conn!(tx, c => sqlx::query("DELETE FROM calendar_years WHERE year = $1").bind(year).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    on_conn!(tx, c => {
        sqlx::query("INSERT INTO calendar_years (year, source, loaded_at, loaded_by) VALUES ($1, $2, $3, $4)")
            .bind(year)
            .bind(source)
            .bind(now)
            .bind(loaded_by)
            .execute(c)
            .await.map(|r| r.rows_affected())
    })?;
    for d in days {
        on_conn!(tx, c => {
            sqlx::query("INSERT INTO calendar_days (day, year, kind, name) VALUES ($1, $2, $3, $4)")
                .bind(d.day)
                .bind(year)
                .bind(d.kind.as_str())
                .bind(&d.name)
                .execute(c)
                .await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// The distinct opening dates of open tasks of `kind` (a task kind code) that have no due date
/// yet (their due year's calendar was missing when they were opened).
pub async fn undated_task_openings(tx: &mut Tx, kind: &str) -> StoreResult<Vec<NaiveDate>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_scalar("SELECT DISTINCT opened_on FROM tasks WHERE state = 'open' AND due_on IS NULL AND kind = $1 ORDER BY opened_on")
            .bind(kind)
            .fetch_all(c)
            .await
    })?)
}

/// Dates every open undated task of `kind` opened on `opened_on`; returns how many.
pub async fn date_undated_tasks(
    tx: &mut Tx,
    kind: &str,
    opened_on: NaiveDate,
    due_on: NaiveDate,
) -> StoreResult<u64> {
    Ok(on_conn!(tx, c => {
        sqlx::query("UPDATE tasks SET due_on = $1 WHERE state = 'open' AND due_on IS NULL AND kind = $2 AND opened_on = $3")
            .bind(due_on)
            .bind(kind)
            .bind(opened_on)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?)
}
