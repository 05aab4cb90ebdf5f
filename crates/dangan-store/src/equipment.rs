//! 设备登记 — the equipment of the archive rooms (S3.1): every item with its inspection interval,
//! last inspection and next due date, and every inspection recorded.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use dangan_domain::equipment::{EquipmentKind, EquipmentState, InspectionResult};

use crate::rooms::RoomId;
use crate::{StoreResult, Tx, id_type, on_conn};

id_type!(
    /// The row id of an item of equipment.
    EquipmentId
);

/// A stored item, with its room's code and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct EquipmentRow {
    /// Row id.
    pub id: EquipmentId,
    /// Its room.
    pub room_id: RoomId,
    /// The room's code.
    pub room_code: String,
    /// The room's name.
    pub room_name: String,
    /// 设备类型
    #[sqlx(try_from = "String")]
    pub kind: EquipmentKind,
    /// 名称
    pub name: String,
    /// 型号
    pub model: Option<String>,
    /// 编号 (serial number)
    pub serial_no: Option<String>,
    /// 安装日期
    pub installed_on: NaiveDate,
    /// 检查周期, in months.
    pub interval_months: i64,
    /// 上次检查
    pub last_inspected_on: Option<NaiveDate>,
    /// 下次检查 (as computed; the task's due date is the working day on or after it).
    pub next_due_on: NaiveDate,
    /// 在用 or 已停用.
    #[sqlx(try_from = "String")]
    pub state: EquipmentState,
    /// Retired on.
    pub retired_on: Option<NaiveDate>,
    /// Why it was retired.
    pub retire_reason: Option<String>,
}

const COLUMNS: &str = "e.id, e.room_id, r.code AS room_code, r.name AS room_name, e.kind, e.name, e.model, e.serial_no, e.installed_on, e.interval_months, e.last_inspected_on, e.next_due_on, e.state, e.retired_on, e.retire_reason";

/// An item as written (register or change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEquipment<'a> {
    /// Its room.
    pub room_id: RoomId,
    /// 设备类型
    pub kind: EquipmentKind,
    /// 名称
    pub name: &'a str,
    /// 型号
    pub model: Option<&'a str>,
    /// 编号
    pub serial_no: Option<&'a str>,
    /// 安装日期
    pub installed_on: NaiveDate,
    /// 检查周期 (months).
    pub interval_months: i64,
    /// 下次检查
    pub next_due_on: NaiveDate,
}

/// Registers an item, in service.
pub async fn insert(
    tx: &mut Tx,
    e: &NewEquipment<'_>,
    now: DateTime<Utc>,
) -> StoreResult<EquipmentId> {
    let id: i64 = on_conn!(tx, c => {
        sqlx::query_scalar(
            "INSERT INTO equipment (room_id, kind, name, model, serial_no, installed_on, interval_months, next_due_on, state, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'in_service', $9, $9) RETURNING id",
        )
        .bind(e.room_id)
        .bind(e.kind.code())
        .bind(e.name)
        .bind(e.model)
        .bind(e.serial_no)
        .bind(e.installed_on)
        .bind(e.interval_months)
        .bind(e.next_due_on)
        .bind(now)
        .fetch_one(c)
        .await
    })?;
    Ok(EquipmentId(id))
}

/// Changes an item in service; `false` if there is none of that id in service.
pub async fn update(
    tx: &mut Tx,
    id: EquipmentId,
    e: &NewEquipment<'_>,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    Ok(on_conn!(tx, c => {
        sqlx::query(
            "UPDATE equipment SET room_id = $1, kind = $2, name = $3, model = $4, serial_no = $5, installed_on = $6,
                 interval_months = $7, next_due_on = $8, updated_at = $9
             WHERE id = $10 AND state = 'in_service'",
        )
        .bind(e.room_id)
        .bind(e.kind.code())
        .bind(e.name)
        .bind(e.model)
        .bind(e.serial_no)
        .bind(e.installed_on)
        .bind(e.interval_months)
        .bind(e.next_due_on)
        .bind(now)
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1)
    })?)
}

/// Retires an item in service; `false` if there is none of that id in service.
pub async fn retire(
    tx: &mut Tx,
    id: EquipmentId,
    on: NaiveDate,
    reason: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    Ok(on_conn!(tx, c => {
        sqlx::query(
            "UPDATE equipment SET state = 'retired', retired_on = $1, retire_reason = $2, updated_at = $3
             WHERE id = $4 AND state = 'in_service'",
        )
        .bind(on)
        .bind(reason)
        .bind(now)
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1)
    })?)
}

/// One item.
pub async fn get(tx: &mut Tx, id: EquipmentId) -> StoreResult<Option<EquipmentRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM equipment e JOIN rooms r ON r.id = e.room_id WHERE e.id = $1"
    );
    Ok(on_conn!(tx, c => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(c).await
    })?)
}

/// The register: every item (of one room, or of all), in service first, by room, kind and id.
pub async fn list(tx: &mut Tx, room: Option<RoomId>) -> StoreResult<Vec<EquipmentRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM equipment e JOIN rooms r ON r.id = e.room_id
         WHERE ($1 = 0 OR e.room_id = $1)
         ORDER BY e.state = 'retired', r.code, e.kind, e.id LIMIT 5000"
    );
    Ok(on_conn!(tx, c => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(room.map_or(0, |r| r.0))
            .fetch_all(c)
            .await
    })?)
}

/// An inspection as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInspection<'a> {
    /// The item.
    pub equipment_id: EquipmentId,
    /// 检查日期
    pub inspected_on: NaiveDate,
    /// 正常 or 异常.
    pub result: InspectionResult,
    /// 说明
    pub note: Option<&'a str>,
    /// Who.
    pub by: &'a str,
}

/// Records an inspection and moves the item's last and next dates; `false` if the item is not
/// in service.
pub async fn inspect(
    tx: &mut Tx,
    i: &NewInspection<'_>,
    next_due_on: NaiveDate,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let moved = on_conn!(tx, c => {
        sqlx::query(
            "UPDATE equipment SET last_inspected_on = $1, next_due_on = $2, updated_at = $3
             WHERE id = $4 AND state = 'in_service'",
        )
        .bind(i.inspected_on)
        .bind(next_due_on)
        .bind(now)
        .bind(i.equipment_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1)
    })?;
    if !moved {
        return Ok(false);
    }
    on_conn!(tx, c => {
        sqlx::query(
            "INSERT INTO equipment_inspections (equipment_id, inspected_on, result, note, by_user, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(i.equipment_id)
        .bind(i.inspected_on)
        .bind(i.result.code())
        .bind(i.note)
        .bind(i.by)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(true)
}

/// A stored inspection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct InspectionRow {
    /// 检查日期
    pub inspected_on: NaiveDate,
    /// 正常 or 异常.
    #[sqlx(try_from = "String")]
    pub result: InspectionResult,
    /// 说明
    pub note: Option<String>,
    /// Who.
    pub by_user: String,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// The inspections of an item, newest first.
pub async fn inspections(tx: &mut Tx, id: EquipmentId) -> StoreResult<Vec<InspectionRow>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as(
            "SELECT inspected_on, result, note, by_user, recorded_at FROM equipment_inspections
             WHERE equipment_id = $1 ORDER BY inspected_on DESC, id DESC LIMIT 500",
        )
        .bind(id)
        .fetch_all(c)
        .await
    })?)
}

/// A room with what the checks need: its area, separation and the items in service per kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct RoomEquipment {
    /// The room.
    pub room_id: RoomId,
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Floor area, dm².
    pub area_dm2: i64,
    /// Separate from the service area.
    pub separate_from_service: bool,
    /// 灭火器 in service.
    pub extinguishers: i64,
    /// 除湿机 in service.
    pub dehumidifiers: i64,
    /// 温湿度记录仪 in service.
    pub recorders: i64,
}

/// Every room with its items in service counted per kind (one statement, grouped).
pub async fn rooms_with_equipment(tx: &mut Tx) -> StoreResult<Vec<RoomEquipment>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as(
            "SELECT r.id AS room_id, r.code, r.name, r.area_dm2, r.separate_from_service,
                    CAST(COALESCE(SUM(CASE WHEN e.kind = 'extinguisher' THEN 1 ELSE 0 END), 0) AS BIGINT) AS extinguishers,
                    CAST(COALESCE(SUM(CASE WHEN e.kind = 'dehumidifier' THEN 1 ELSE 0 END), 0) AS BIGINT) AS dehumidifiers,
                    CAST(COALESCE(SUM(CASE WHEN e.kind = 'th_recorder' THEN 1 ELSE 0 END), 0) AS BIGINT) AS recorders
             FROM rooms r LEFT JOIN equipment e ON e.room_id = r.id AND e.state = 'in_service'
             GROUP BY r.id, r.code, r.name, r.area_dm2, r.separate_from_service
             ORDER BY r.code",
        )
        .fetch_all(c)
        .await
    })?)
}
