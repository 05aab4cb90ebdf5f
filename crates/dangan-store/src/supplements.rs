//! 补件 — supplement requests for missing required materials (S4.3, S9.1). A request is open,
//! then either supplemented (a new material item marked 补件 is linked; the original record stays
//! as it was) or closed as 材料缺失 with an explanation.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use dangan_domain::business::BusinessType;
use dangan_domain::workflow::SupplementState;

use crate::events::{EventId, MaterialId};
use crate::persons::{BRIEF_COLUMNS, PersonBrief, StoredBrief};
use crate::{StoreResult, Tx, id_type, on_conn};

id_type!(
    /// The row id of a supplement request.
    SupplementId
);

/// A stored request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct SupplementRow {
    /// Row id.
    pub id: SupplementId,
    /// The business event lacking the material.
    pub event_id: EventId,
    /// Material code.
    pub material_code: String,
    /// 材料名称
    pub material_name: String,
    /// Requested on.
    pub requested_on: NaiveDate,
    /// Due on (none while the due year's calendar is not loaded).
    pub due_on: Option<NaiveDate>,
    /// `open`, `supplemented` or `missing`.
    #[sqlx(try_from = "String")]
    pub state: SupplementState,
    /// Contacts made, one per line: `date method who: note`.
    pub contacts: String,
    /// The supplemented material.
    pub fulfilled_by: Option<MaterialId>,
    /// Closed on.
    pub closed_on: Option<NaiveDate>,
    /// Why it was closed as missing, or how it was resolved.
    pub explanation: Option<String>,
}

const COLUMNS: &str = "id, event_id, material_code, material_name, requested_on, due_on, state, contacts, fulfilled_by, closed_on, explanation";

/// Opens a request.
#[expect(clippy::too_many_arguments, reason = "one column each")]
pub async fn insert(
    tx: &mut Tx,
    event: EventId,
    material_code: &str,
    material_name: &str,
    requested_on: NaiveDate,
    due_on: Option<NaiveDate>,
    by: &str,
    now: DateTime<Utc>,
) -> StoreResult<SupplementId> {
    let id = on_conn!(tx, c => {
        sqlx::query_scalar(
            "INSERT INTO supplements (event_id, material_code, material_name, requested_on, due_on, state, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, 'open', $6, $7) RETURNING id",
        )
        .bind(event)
        .bind(material_code)
        .bind(material_name)
        .bind(requested_on)
        .bind(due_on)
        .bind(by)
        .bind(now)
        .fetch_one(c)
        .await
    })?;
    Ok(SupplementId(id))
}

/// One request.
pub async fn get(tx: &mut Tx, id: SupplementId) -> StoreResult<Option<SupplementRow>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM supplements WHERE id = $1"));
    Ok(on_conn!(tx, c => sqlx::query_as(sql).bind(id).fetch_optional(c).await)?)
}

/// The requests of an event.
pub async fn for_event(tx: &mut Tx, event: EventId) -> StoreResult<Vec<SupplementRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM supplements WHERE event_id = $1 ORDER BY id"
    ));
    Ok(on_conn!(tx, c => sqlx::query_as(sql).bind(event).fetch_all(c).await)?)
}

/// A request as listed, with its business event's type, date and person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedSupplement {
    /// The request.
    pub row: SupplementRow,
    /// The business type of its event.
    pub business_type: BusinessType,
    /// 办理日期 of its event.
    pub business_date: NaiveDate,
    /// The person.
    pub person: Option<PersonBrief>,
}

#[derive(sqlx::FromRow)]
struct StoredListed {
    #[sqlx(flatten)]
    row: SupplementRow,
    #[sqlx(try_from = "String")]
    business_type: BusinessType,
    business_date: NaiveDate,
    #[sqlx(flatten)]
    person: StoredBrief,
}

/// Requests in a state (all when `None`), oldest first, each with its event and person (one
/// statement for the list).
pub async fn list(
    tx: &mut Tx,
    state: Option<SupplementState>,
    limit: i64,
) -> StoreResult<Vec<ListedSupplement>> {
    let columns: Vec<String> = COLUMNS.split(", ").map(|c| format!("s.{c}")).collect();
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {}, e.business_type, e.business_date, {BRIEF_COLUMNS}
         FROM supplements s JOIN business_events e ON e.id = s.event_id
         LEFT JOIN persons p ON p.id = e.person_id
         WHERE ($1 = '' OR s.state = $1) ORDER BY s.id LIMIT {}",
        columns.join(", "),
        limit.clamp(1, 1000)
    ));
    let rows: Vec<StoredListed> = on_conn!(tx, c => {
        sqlx::query_as(sql).bind(state.map_or("", SupplementState::code)).fetch_all(c).await
    })?;
    rows.into_iter()
        .map(|r| {
            Ok(ListedSupplement {
                row: r.row,
                business_type: r.business_type,
                business_date: r.business_date,
                person: r.person.open(tx)?,
            })
        })
        .collect()
}

/// Appends a contact line to an open request; false when it is not open.
pub async fn add_contact(tx: &mut Tx, id: SupplementId, line: &str) -> StoreResult<bool> {
    let n = on_conn!(tx, c => {
        sqlx::query("UPDATE supplements SET contacts = contacts || $1 WHERE id = $2 AND state = 'open'")
            .bind(format!("{line}\n"))
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(n == 1)
}

/// Closes an open request as `supplemented` or `missing`; false when it is not open.
pub async fn close(
    tx: &mut Tx,
    id: SupplementId,
    state: SupplementState,
    fulfilled_by: Option<MaterialId>,
    closed_on: NaiveDate,
    explanation: &str,
) -> StoreResult<bool> {
    let n = on_conn!(tx, c => {
        sqlx::query("UPDATE supplements SET state = $1, fulfilled_by = $2, closed_on = $3, explanation = $4 WHERE id = $5 AND state = 'open'")
            .bind(state.code())
            .bind(fulfilled_by)
            .bind(closed_on)
            .bind(explanation)
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(n == 1)
}
