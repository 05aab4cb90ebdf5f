//! 档案材料交接表 — handover lists between the collection post and the archive post (S4.2).
//! A confirmed list is never changed: every update here is conditional on `state = 'open'`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use dangan_domain::workflow::{HandoverState, LineResult};

use crate::coded::Coded;
use crate::events::{EventId, MaterialId};
use crate::persons::{BRIEF_COLUMNS, PersonBrief, PersonId, StoredBrief};
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

/// A line with its person, read by a join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemWithPerson {
    /// The line.
    pub item: ItemRow,
    /// The person (none for an extra item found on receipt).
    pub person: Option<PersonBrief>,
}

#[derive(sqlx::FromRow)]
struct StoredItem {
    #[sqlx(flatten)]
    item: ItemRow,
    #[sqlx(flatten)]
    person: StoredBrief,
}

/// The lines of a list with their persons (one statement).
pub async fn items_with_persons(tx: &mut Tx, id: HandoverId) -> StoreResult<Vec<ItemWithPerson>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT hi.id, hi.handover_id, hi.material_id, hi.name, hi.quantity, hi.formation_date, hi.person_id, hi.event_id, hi.result, hi.note, {BRIEF_COLUMNS}
         FROM handover_items hi LEFT JOIN persons p ON p.id = hi.person_id
         WHERE hi.handover_id = $1 ORDER BY hi.id"
    ));
    let rows: Vec<StoredItem> = on_conn!(tx, c => sqlx::query_as(sql).bind(id).fetch_all(c).await)?;
    rows.into_iter()
        .map(|r| {
            Ok(ItemWithPerson {
                item: r.item,
                person: r.person.open(tx)?,
            })
        })
        .collect()
}

/// A list as listed: its lines counted, and its first person with the number of persons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedHandover {
    /// The list.
    pub row: HandoverRow,
    /// Lines handed over (extras found on receipt not counted).
    pub items: i64,
    /// Different persons on it.
    pub persons: i64,
    /// The person of its lowest person id.
    pub person: Option<PersonBrief>,
}

#[derive(sqlx::FromRow)]
struct StoredListed {
    #[sqlx(flatten)]
    row: HandoverRow,
    items: i64,
    persons: i64,
    #[sqlx(flatten)]
    person: StoredBrief,
}

/// Lists in a state (all when `None`): open ones first, then newest first; one statement.
pub async fn list(
    tx: &mut Tx,
    state: Option<HandoverState>,
    limit: i64,
) -> StoreResult<Vec<ListedHandover>> {
    list_page(tx, state, limit, 0).await
}

/// How many lists are in a state (all when `None`).
pub async fn count(tx: &mut Tx, state: Option<HandoverState>) -> StoreResult<i64> {
    Ok(on_conn!(tx, c => {
        sqlx::query_scalar("SELECT COUNT(*) FROM handovers WHERE ($1 = '' OR state = $1)")
            .bind(state.map_or("", HandoverState::code))
            .fetch_one(c)
            .await
    })?)
}

/// One page of [`list`]: `limit` lists (1–500) after skipping `offset`.
pub async fn list_page(
    tx: &mut Tx,
    state: Option<HandoverState>,
    limit: i64,
    offset: i64,
) -> StoreResult<Vec<ListedHandover>> {
    let sql = format!(
        "SELECT h.id, h.state, h.note, h.created_by, h.created_by_name, h.created_at, h.confirmed_by, h.confirmed_by_name, h.confirmed_at,
                (SELECT COUNT(*) FROM handover_items hi WHERE hi.handover_id = h.id AND hi.material_id IS NOT NULL) AS items,
                (SELECT COUNT(DISTINCT hi.person_id) FROM handover_items hi WHERE hi.handover_id = h.id) AS persons,
                {BRIEF_COLUMNS}
         FROM handovers h
         LEFT JOIN persons p ON p.id = (SELECT MIN(hi.person_id) FROM handover_items hi WHERE hi.handover_id = h.id)
         WHERE ($1 = '' OR h.state = $1)
         ORDER BY CASE WHEN h.state = 'open' THEN 0 ELSE 1 END, h.id DESC LIMIT {} OFFSET {}",
        limit.clamp(1, 500),
        offset.max(0)
    );
    let rows: Vec<StoredListed> = on_conn!(tx, c => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(state.map_or("", HandoverState::code)).fetch_all(c).await
    })?;
    rows.into_iter()
        .map(|r| {
            Ok(ListedHandover {
                row: r.row,
                items: r.items,
                persons: r.persons,
                person: r.person.open(tx)?,
            })
        })
        .collect()
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

/// A material of a person's archive as listed on a handover list: the list and its state.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MaterialOnList {
    /// The material.
    pub material_id: MaterialId,
    /// The list it is on.
    pub handover_id: HandoverId,
    /// 待确认 or 已确认.
    #[sqlx(try_from = "String")]
    pub state: HandoverState,
}

/// The handover lines of every material of a person's archive, with their lists' states
/// (one statement; a material is on at most one list).
pub async fn of_persons_materials(
    tx: &mut Tx,
    person: PersonId,
) -> StoreResult<Vec<MaterialOnList>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as(
            "SELECT hi.material_id, h.id AS handover_id, h.state
             FROM handover_items hi
             JOIN handovers h ON h.id = hi.handover_id
             JOIN material_items m ON m.id = hi.material_id
             JOIN business_events e ON e.id = m.event_id
             WHERE e.person_id = $1 ORDER BY hi.id",
        )
        .bind(person)
        .fetch_all(c)
        .await
    })?)
}
