//! 档案材料交接表 — handover lists between the collection post and the archive post (S4.2).
//! A confirmed list is never changed: every update here is conditional on `state = 'open'`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use dangan_domain::workflow::{HandoverState, LineResult};

use crate::coded::Coded;
use crate::events::{EventId, MaterialId};
use crate::persons::PersonId;
use crate::{StoreResult, Tx, id_type, on_conn};

id_type!(
    /// The row id of a handover list.
    HandoverId
);

id_type!(
    /// The row id of a line of a handover list.
    HandoverItemId
);

/// A stored handover list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct HandoverRow {
    /// Row id.
    pub id: HandoverId,
    /// 待确认 or 已确认.
    #[sqlx(try_from = "String")]
    pub state: HandoverState,
    /// 备注
    pub note: Option<String>,
    /// 移交人 (username).
    pub created_by: String,
    /// 移交人 (name).
    pub created_by_name: String,
    /// When it was handed over.
    pub created_at: DateTime<Utc>,
    /// 接收人 (username).
    pub confirmed_by: Option<String>,
    /// 接收人 (name).
    pub confirmed_by_name: Option<String>,
    /// When it was confirmed.
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// A line of a handover list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ItemRow {
    /// Row id.
    pub id: HandoverItemId,
    /// The list.
    pub handover_id: HandoverId,
    /// The material (none for an extra item found on receipt).
    pub material_id: Option<MaterialId>,
    /// 材料名称
    pub name: String,
    /// 数量
    pub quantity: i64,
    /// 形成日期
    pub formation_date: Option<NaiveDate>,
    /// The person.
    pub person_id: Option<PersonId>,
    /// The business event.
    pub event_id: Option<EventId>,
    /// On receipt: 已收到, 缺失, 破损, or 多出 for a line the receiver added; none before.
    pub result: Option<Coded<LineResult>>,
    /// 差异说明
    pub note: Option<String>,
}

/// Creates an open list.
pub async fn insert(
    tx: &mut Tx,
    note: Option<&str>,
    by: &str,
    by_name: &str,
    now: DateTime<Utc>,
) -> StoreResult<HandoverId> {
    let id = on_conn!(tx, c => {
        sqlx::query_scalar("INSERT INTO handovers (state, note, created_by, created_by_name, created_at) VALUES ('open', $1, $2, $3, $4) RETURNING id")
            .bind(note)
            .bind(by)
            .bind(by_name)
            .bind(now)
            .fetch_one(c)
            .await
    })?;
    Ok(HandoverId(id))
}

/// Adds a line.
#[expect(clippy::too_many_arguments, reason = "one column each")]
pub async fn insert_item(
    tx: &mut Tx,
    handover: HandoverId,
    material: Option<MaterialId>,
    name: &str,
    quantity: i64,
    formation_date: Option<NaiveDate>,
    person_id: Option<PersonId>,
    event_id: Option<EventId>,
    result: Option<LineResult>,
    note: Option<&str>,
) -> StoreResult<HandoverItemId> {
    Ok(on_conn!(tx, c => {
        sqlx::query_scalar(
            "INSERT INTO handover_items (handover_id, material_id, name, quantity, formation_date, person_id, event_id, result, note)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(handover)
        .bind(material)
        .bind(name)
        .bind(quantity)
        .bind(formation_date)
        .bind(person_id)
        .bind(event_id)
        .bind(result.map(LineResult::code))
        .bind(note)
        .fetch_one(c)
        .await
    })?)
}

/// One list.
pub async fn get(tx: &mut Tx, id: HandoverId) -> StoreResult<Option<HandoverRow>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as("SELECT id, state, note, created_by, created_by_name, created_at, confirmed_by, confirmed_by_name, confirmed_at FROM handovers WHERE id = $1")
            .bind(id)
            .fetch_optional(c)
            .await
    })?)
}

/// The lines of a list.
pub async fn items(tx: &mut Tx, id: HandoverId) -> StoreResult<Vec<ItemRow>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as("SELECT id, handover_id, material_id, name, quantity, formation_date, person_id, event_id, result, note FROM handover_items WHERE handover_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(c)
            .await
    })?)
}

/// Whether a material is already on a list.
pub async fn material_listed(tx: &mut Tx, material: MaterialId) -> StoreResult<bool> {
    let n: i64 = on_conn!(tx, c => {
        sqlx::query_scalar("SELECT COUNT(*) FROM handover_items WHERE material_id = $1")
            .bind(material)
            .fetch_one(c)
            .await
    })?;
    Ok(n > 0)
}

/// Records the receipt result of a line of an open list.
pub async fn set_result(
    tx: &mut Tx,
    item: HandoverItemId,
    result: LineResult,
    note: Option<&str>,
) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("UPDATE handover_items SET result = $1, note = $2 WHERE id = $3 AND handover_id IN (SELECT id FROM handovers WHERE state = 'open')")
            .bind(result.code())
            .bind(note)
            .bind(item)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Confirms an open list; false when it was already confirmed (or does not exist).
pub async fn confirm(
    tx: &mut Tx,
    id: HandoverId,
    by: &str,
    by_name: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let n = on_conn!(tx, c => {
        sqlx::query("UPDATE handovers SET state = 'confirmed', confirmed_by = $1, confirmed_by_name = $2, confirmed_at = $3 WHERE id = $4 AND state = 'open'")
            .bind(by)
            .bind(by_name)
            .bind(now)
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(n == 1)
}

/// Lists, newest first.
pub async fn list(tx: &mut Tx, limit: i64) -> StoreResult<Vec<HandoverRow>> {
    let sql = format!(
        "SELECT id, state, note, created_by, created_by_name, created_at, confirmed_by, confirmed_by_name, confirmed_at FROM handovers ORDER BY id DESC LIMIT {}",
        limit.clamp(1, 500)
    );
    Ok(on_conn!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(c).await)?)
}

/// The confirmed list a material was received on.
pub async fn of_material(tx: &mut Tx, material: MaterialId) -> StoreResult<Option<HandoverId>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_scalar("SELECT handover_id FROM handover_items WHERE material_id = $1 ORDER BY id LIMIT 1")
            .bind(material)
            .fetch_optional(c)
            .await
    })?)
}
