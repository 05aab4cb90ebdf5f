//! 库房日常检查 — the custody post's daily check of a room (S2.3): the readings, the checklist
//! the agency edits, each item's result, and the daily task of each room and working day.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use dangan_domain::environment::ItemResult;
use dangan_domain::workflow::TaskKind;

use crate::rooms::RoomId;
use crate::{StoreResult, Tx, id_type, on_conn};

id_type!(
    /// The row id of an item of the daily checklist.
    ChecklistItemId
);
id_type!(
    /// The row id of a daily check.
    CheckId
);

/// An item of the checklist (烟感报警器, 灭火器 …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ChecklistItemRow {
    /// Row id.
    pub id: ChecklistItemId,
    /// 检查项
    pub name: String,
    /// Its place on the form.
    pub position: i64,
    /// Still checked (a retired item stays on older checks).
    pub active: bool,
}

/// The checklist, by position; with the retired items when `all`.
pub async fn checklist(tx: &mut Tx, all: bool) -> StoreResult<Vec<ChecklistItemRow>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as("SELECT id, name, position, active FROM custody_checklist_items WHERE active OR $1 ORDER BY position, id")
            .bind(all)
            .fetch_all(c)
            .await
    })?)
}

/// Adds an item at the end of the checklist; `None` when its name is taken.
pub async fn add_item(
    tx: &mut Tx,
    name: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<ChecklistItemId>> {
    let id: Option<i64> = on_conn!(tx, c => {
        sqlx::query_scalar(
            "INSERT INTO custody_checklist_items (name, position, active, created_at)
             SELECT $1, COALESCE(MAX(position), 0) + 1, TRUE, $2 FROM custody_checklist_items
             ON CONFLICT (name) DO NOTHING RETURNING id",
        )
        .bind(name)
        .bind(now)
        .fetch_optional(c)
        .await
    })?;
    Ok(id.map(ChecklistItemId))
}

/// Retires or restores an item; false when there is no such item.
pub async fn set_item_active(tx: &mut Tx, id: ChecklistItemId, active: bool) -> StoreResult<bool> {
    Ok(on_conn!(tx, c => {
        sqlx::query("UPDATE custody_checklist_items SET active = $1 WHERE id = $2")
            .bind(active)
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected() == 1)
    })?)
}

/// A check as entered.
#[derive(Debug, Clone)]
pub struct NewCheck<'a> {
    /// The room.
    pub room_id: RoomId,
    /// The Beijing date it is for.
    pub date: NaiveDate,
    /// 温度, tenths of a degree.
    pub temperature_dc: i64,
    /// 相对湿度, tenths of a per cent.
    pub humidity_pm: i64,
    /// 备注
    pub note: Option<&'a str>,
    /// Who checked.
    pub by_user: &'a str,
    /// Each item's result and note.
    pub items: &'a [(ChecklistItemId, ItemResult, Option<String>)],
}

/// Records a check with its items; `None` when the room's check of that date exists.
pub async fn insert_check(
    tx: &mut Tx,
    check: &NewCheck<'_>,
    now: DateTime<Utc>,
) -> StoreResult<Option<CheckId>> {
    let id: Option<i64> = on_conn!(tx, c => {
        sqlx::query_scalar(
            "INSERT INTO custody_checks (room_id, check_date, temperature_dc, humidity_pm, note, by_user, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (room_id, check_date) DO NOTHING RETURNING id",
        )
        .bind(check.room_id)
        .bind(check.date)
        .bind(check.temperature_dc)
        .bind(check.humidity_pm)
        .bind(check.note)
        .bind(check.by_user)
        .bind(now)
        .fetch_optional(c)
        .await
    })?;
    let Some(id) = id else { return Ok(None) };
    if !check.items.is_empty() {
        // One statement for every item.
        let values = (0..check.items.len())
            .map(|i| format!("($1, ${}, ${}, ${})", 3 * i + 2, 3 * i + 3, 3 * i + 4))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO custody_check_items (check_id, item_id, ok, note) VALUES {values}"
        );
        on_conn!(tx, c => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(id);
            for (item, result, note) in check.items {
                q = q.bind(*item).bind(*result == ItemResult::Normal).bind(note.as_deref());
            }
            q.execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(Some(CheckId(id)))
}

/// A stored check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CheckRow {
    /// Row id.
    pub id: CheckId,
    /// The room.
    pub room_id: RoomId,
    /// The Beijing date.
    pub check_date: NaiveDate,
    /// Tenths of a degree.
    pub temperature_dc: i64,
    /// Tenths of a per cent.
    pub humidity_pm: i64,
    /// 备注
    pub note: Option<String>,
    /// Who checked.
    pub by_user: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A stored item result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CheckItemRow {
    /// Its check.
    pub check_id: CheckId,
    /// The item.
    pub item_id: ChecklistItemId,
    /// The item's name.
    pub name: String,
    /// 正常
    pub ok: bool,
    /// 异常说明
    pub note: Option<String>,
}

/// The checks of a room in `[from, to]`, by date, with their items (two statements).
pub async fn checks_between(
    tx: &mut Tx,
    room: RoomId,
    from: NaiveDate,
    to: NaiveDate,
) -> StoreResult<(Vec<CheckRow>, Vec<CheckItemRow>)> {
    let checks: Vec<CheckRow> = on_conn!(tx, c => {
        sqlx::query_as(
            "SELECT id, room_id, check_date, temperature_dc, humidity_pm, note, by_user, at FROM custody_checks
             WHERE room_id = $1 AND check_date >= $2 AND check_date <= $3 ORDER BY check_date",
        )
        .bind(room)
        .bind(from)
        .bind(to)
        .fetch_all(c)
        .await
    })?;
    let items: Vec<CheckItemRow> = on_conn!(tx, c => {
        sqlx::query_as(
            "SELECT ci.check_id, ci.item_id, i.name, ci.ok, ci.note
             FROM custody_check_items ci
             JOIN custody_checks k ON k.id = ci.check_id
             JOIN custody_checklist_items i ON i.id = ci.item_id
             WHERE k.room_id = $1 AND k.check_date >= $2 AND k.check_date <= $3
             ORDER BY ci.check_id, i.position, i.id",
        )
        .bind(room)
        .bind(from)
        .bind(to)
        .fetch_all(c)
        .await
    })?;
    Ok((checks, items))
}

/// The rooms checked on a date.
pub async fn checked_rooms(tx: &mut Tx, date: NaiveDate) -> StoreResult<Vec<RoomId>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_scalar("SELECT room_id FROM custody_checks WHERE check_date = $1")
            .bind(date)
            .fetch_all(c)
            .await
    })?)
    .map(|ids: Vec<i64>| ids.into_iter().map(RoomId).collect())
}

/// Opens the daily-check task of `date` for every room that existed before `room_before` and
/// has neither that task nor that check yet, due that same day. Safe to run again: returns the
/// number opened.
pub async fn open_daily_tasks(
    tx: &mut Tx,
    date: NaiveDate,
    room_before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let kind = TaskKind::CustodyCheck;
    Ok(on_conn!(tx, c => {
        sqlx::query(
            "INSERT INTO tasks (kind, post, subject_kind, subject_id, title, opened_on, due_on, state, created_at)
             SELECT $1, $2, $3, r.id, '库房日常检查：' || r.name, $4, $4, 'open', $5 FROM rooms r
             WHERE r.created_at < $6
               AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.kind = $1 AND t.subject_kind = $3 AND t.subject_id = r.id AND t.opened_on = $4)
               AND NOT EXISTS (SELECT 1 FROM custody_checks k WHERE k.room_id = r.id AND k.check_date = $4)",
        )
        .bind(kind.code())
        .bind(kind.post().code())
        .bind(kind.subject().code())
        .bind(date)
        .bind(now)
        .bind(room_before)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })?)
}

/// Closes a room's daily-check task of a date (the check of that day was recorded).
pub async fn close_daily_task(
    tx: &mut Tx,
    room: RoomId,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let kind = TaskKind::CustodyCheck;
    Ok(on_conn!(tx, c => {
        sqlx::query(
            "UPDATE tasks SET state = 'done', done_at = $1
             WHERE kind = $2 AND subject_kind = $3 AND subject_id = $4 AND opened_on = $5 AND state = 'open'",
        )
        .bind(now)
        .bind(kind.code())
        .bind(kind.subject().code())
        .bind(room)
        .bind(date)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })?)
}
