//! 人员变更 — changes of a person's status, tier, division or a death, as the business system
//! reports them, with their effective dates (S6.6). Kept by the source record id.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use dangan_domain::change::ChangeKind;

use crate::coded::Coded;
use crate::persons::PersonId;
use crate::{StoreResult, Tx, id_type, on_conn};

id_type!(
    /// The row id of a person change (人员变更).
    ChangeId
);

/// A change as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChange<'a> {
    /// The person.
    pub person_id: PersonId,
    /// The sending system.
    pub source_system: &'a str,
    /// The record's id there.
    pub source_id: &'a str,
    /// 变更类型
    pub kind: ChangeKind,
    /// The new value (a status code, yuan, a division code; for a death, `terminated`).
    pub value: &'a str,
    /// 生效日期
    pub effective_date: NaiveDate,
}

/// A change as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ChangeRow {
    /// Row id.
    pub id: ChangeId,
    /// The person.
    pub person_id: PersonId,
    /// The sending system.
    pub source_system: String,
    /// The record's id there.
    pub source_id: String,
    /// 变更类型
    #[sqlx(try_from = "String")]
    pub kind: ChangeKind,
    /// The new value.
    pub value: String,
    /// 生效日期
    pub effective_date: NaiveDate,
    /// When it arrived (or last changed).
    pub received_at: DateTime<Utc>,
    /// When it was first in force on the person's record; `None` while it lies in the future.
    pub applied_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "id, person_id, source_system, source_id, kind, value, effective_date, received_at, applied_at";

/// The stored change of a source record id, if any.
pub async fn by_source(
    tx: &mut Tx,
    source_system: &str,
    source_id: &str,
) -> StoreResult<Option<ChangeRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM person_changes WHERE source_system = $1 AND source_id = $2"
    ));
    Ok(on_conn!(tx, c => {
        sqlx::query_as(sql).bind(source_system).bind(source_id).fetch_optional(c).await
    })?)
}

/// Inserts a change, or replaces the one with the same source id (the business system
/// corrected its own record); it is then due to be applied again.
pub async fn upsert(tx: &mut Tx, c: &NewChange<'_>, now: DateTime<Utc>) -> StoreResult<()> {
    on_conn!(tx, conn => {
        sqlx::query(
            "INSERT INTO person_changes (person_id, source_system, source_id, kind, value, effective_date, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (source_system, source_id) DO UPDATE SET
               person_id = excluded.person_id, kind = excluded.kind, value = excluded.value,
               effective_date = excluded.effective_date, received_at = excluded.received_at,
               applied_at = NULL",
        )
        .bind(c.person_id)
        .bind(c.source_system)
        .bind(c.source_id)
        .bind(c.kind.code())
        .bind(c.value)
        .bind(c.effective_date)
        .bind(now)
        .execute(conn)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// The latest change in force on `today` among `kinds` of a person: the latest effective date,
/// and of equal dates the one received last.
pub async fn in_force(
    tx: &mut Tx,
    person: PersonId,
    kinds: &[ChangeKind],
    today: NaiveDate,
) -> StoreResult<Option<ChangeRow>> {
    let placeholders: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 3)).collect();
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM person_changes WHERE person_id = $1 AND effective_date <= $2 AND kind IN ({})
         ORDER BY effective_date DESC, id DESC LIMIT 1",
        placeholders.join(", ")
    ));
    Ok(on_conn!(tx, c => {
        let mut q = sqlx::query_as(sql).bind(person).bind(today);
        for k in kinds {
            q = q.bind(k.code());
        }
        q.fetch_optional(c).await
    })?)
}

/// Marks a person's changes of `kinds` in force on `today` as applied.
pub async fn mark_applied(
    tx: &mut Tx,
    person: PersonId,
    kinds: &[ChangeKind],
    today: NaiveDate,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let placeholders: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 4)).collect();
    let sql = sqlx::AssertSqlSafe(format!(
        "UPDATE person_changes SET applied_at = $1 WHERE person_id = $2 AND effective_date <= $3
         AND applied_at IS NULL AND kind IN ({})",
        placeholders.join(", ")
    ));
    on_conn!(tx, c => {
        let mut q = sqlx::query(sql).bind(now).bind(person).bind(today);
        for k in kinds {
            q = q.bind(k.code());
        }
        q.execute(c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Persons with changes that have come into force but are not applied yet, with their kinds.
pub async fn due(
    tx: &mut Tx,
    today: NaiveDate,
    limit: i64,
) -> StoreResult<Vec<(PersonId, Coded<ChangeKind>)>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as(
            "SELECT DISTINCT person_id, kind FROM person_changes
             WHERE applied_at IS NULL AND effective_date <= $1 ORDER BY person_id LIMIT $2",
        )
        .bind(today)
        .bind(limit)
        .fetch_all(c)
        .await
    })?)
}

/// A person's changes, newest effective date first.
pub async fn of_person(tx: &mut Tx, person: PersonId) -> StoreResult<Vec<ChangeRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM person_changes WHERE person_id = $1 ORDER BY effective_date DESC, id DESC"
    ));
    Ok(on_conn!(tx, c => sqlx::query_as(sql).bind(person).fetch_all(c).await)?)
}
