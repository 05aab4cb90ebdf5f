//! 设备登记与检查 — the equipment register of the archive rooms (S3.1): register, change and
//! retire an item (ConfigureRooms), record an inspection (RecordCustody), and the rules checked
//! per room (灭火器 per 10 m², separation from the service area, 除湿机 and 温湿度记录仪).
//!
//! The inspection falling due is a 设备检查 task of the custody post (保管岗), opened when the
//! item is registered, changed or inspected — for its next due date, moved to the first working
//! day on or after it — and closed by the inspection (or the item's retirement). So every item in
//! service has exactly one open inspection task, and the workbench lists them by due date.

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use dangan_domain::code::Code;
use dangan_domain::equipment::{
    self, Check, EquipmentKind, EquipmentState, InspectionResult, MAX_INTERVAL_MONTHS,
};
use dangan_store::Tx;
use dangan_store::equipment::{
    self as store, EquipmentId, EquipmentRow, InspectionRow, NewEquipment, NewInspection,
};
use dangan_store::rooms::{self, RoomId};
use dangan_store::tasks;

use crate::administration::roles::{Actor, UseCase};
use crate::administration::tasks::Kind;
use crate::custody::rooms::room_not_found;
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult, text, today};

/// An item as entered on the form or sent to the API.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EquipmentInput {
    /// The room it stands in.
    pub room_id: i64,
    /// 设备类型 code (`compact_shelving`, `dehumidifier`, `th_recorder`, `fire_safe`,
    /// `extinguisher`, `camera`, `smoke_alarm`).
    pub kind: String,
    /// 名称 (`1号灭火器`).
    pub name: String,
    /// 型号
    #[serde(default)]
    pub model: Option<String>,
    /// 编号 (serial number)
    #[serde(default)]
    pub serial_no: Option<String>,
    /// 安装日期 `YYYY-MM-DD` (not in the future).
    pub installed_on: String,
    /// 检查周期 in months, 1–60.
    pub interval_months: i64,
}

/// An inspection as entered.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct InspectionInput {
    /// 检查日期 `YYYY-MM-DD`; today when blank.
    #[serde(default)]
    pub inspected_on: Option<String>,
    /// `normal` (正常) or `abnormal` (异常).
    pub result: String,
    /// 说明; required for 异常.
    #[serde(default)]
    pub note: Option<String>,
}

/// An item as shown.
#[derive(Debug, Clone, Serialize)]
pub struct EquipmentView {
    /// The row.
    #[serde(flatten)]
    pub item: EquipmentRow,
    /// The inspection task's due date: the first working day on or after `next_due_on`;
    /// absent while that year's calendar is not loaded (期限待定) or the item is retired.
    pub due_on: Option<NaiveDate>,
    /// In service and its inspection is past due.
    pub overdue: bool,
}

/// An item with its inspections, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct EquipmentDetail {
    /// The item.
    #[serde(flatten)]
    pub view: EquipmentView,
    /// Its inspections.
    pub inspections: Vec<InspectionRow>,
}

/// The rules checked for one room.
#[derive(Debug, Clone, Serialize)]
pub struct RoomChecks {
    /// The room.
    pub room_id: RoomId,
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Each rule with its outcome.
    pub checks: Vec<Check>,
}

fn parse_date(field: &str, raw: &str, label: &str) -> AppResult<NaiveDate> {
    let date = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map_err(|_| {
        AppError::invalid_with(
            "invalid_date",
            Some(field),
            format!(
                "{label}“{}”不是有效日期，格式应为YYYY-MM-DD",
                raw.trim().chars().take(20).collect::<String>()
            ),
        )
    })?;
    if date > today() {
        return Err(AppError::invalid_with(
            "date_in_future",
            Some(field),
            format!("{label}{date}晚于今天，请核对"),
        ));
    }
    if date < NaiveDate::from_ymd_opt(1950, 1, 1).unwrap_or(date) {
        return Err(AppError::invalid_with(
            "invalid_date",
            Some(field),
            format!("{label}{date}早于1950年，请核对"),
        ));
    }
    Ok(date)
}

/// The checked fields of an item.
struct Checked {
    kind: EquipmentKind,
    name: String,
    model: Option<String>,
    serial_no: Option<String>,
    installed_on: NaiveDate,
    interval_months: u32,
}

fn check_input(input: &EquipmentInput) -> AppResult<Checked> {
    let kind = EquipmentKind::decode(input.kind.trim()).map_err(|e| {
        AppError::invalid_with("invalid_equipment_kind", Some("kind"), e.to_string())
    })?;
    let name = text::required("name", &input.name, 40, "设备名称")?;
    let model = text::optional("model", input.model.as_deref(), 40, "型号")?;
    let serial_no = text::optional("serial_no", input.serial_no.as_deref(), 40, "编号")?;
    let installed_on = parse_date("installed_on", &input.installed_on, "安装日期")?;
    let interval_months = u32::try_from(input.interval_months)
        .ok()
        .filter(|m| (1..=MAX_INTERVAL_MONTHS).contains(m))
        .ok_or_else(|| {
            AppError::invalid_with(
                "invalid_interval",
                Some("interval_months"),
                format!("检查周期应为 1–{MAX_INTERVAL_MONTHS} 之间的整数（月）"),
            )
        })?;
    Ok(Checked {
        kind,
        name,
        model,
        serial_no,
        installed_on,
        interval_months,
    })
}

fn next_due_of(from: NaiveDate, months: u32) -> AppResult<NaiveDate> {
    equipment::next_due(from, months)
        .ok_or_else(|| AppError::Internal("next inspection past the calendar".to_owned()))
}

/// The item was not found (or is retired, for a change).
fn equipment_not_found() -> AppError {
    AppError::not_found("equipment_not_found", "未找到该设备")
}

fn retired(row: &EquipmentRow) -> AppError {
    AppError::Conflict {
        code: "equipment_retired",
        field: None,
        message: format!("设备“{}”已停用，不能再修改或登记检查", row.name),
    }
}

impl App {
    /// The first working day on or after `date`, or `None` when its year's calendar is not
    /// loaded (shown as 期限待定).
    pub(crate) fn working_day_on_or_after(&self, date: NaiveDate) -> Option<NaiveDate> {
        let calendar = self.work_calendar();
        let found = match calendar.is_working_day(date) {
            Ok(true) => Ok(date),
            Ok(false) => calendar.add_working_days(date, 1),
            Err(e) => Err(e),
        };
        match found {
            Ok(d) => Some(d),
            Err(e) => {
                tracing::warn!(error = %e, "inspection due date not computable");
                None
            }
        }
    }

    fn equipment_view(&self, item: EquipmentRow) -> EquipmentView {
        let in_service = item.state == EquipmentState::InService;
        EquipmentView {
            due_on: if in_service {
                self.working_day_on_or_after(item.next_due_on)
            } else {
                None
            },
            overdue: in_service && item.next_due_on < today(),
            item,
        }
    }

    /// Closes the item's open inspection task and opens the one for its next due date.
    async fn reopen_inspection_task(&self, tx: &mut Tx, row: &EquipmentRow) -> AppResult<()> {
        let now = Utc::now();
        tasks::close(tx, Kind::Inspection, row.id.0, now).await?;
        let title = format!(
            "设备检查：{} {} {}（应检 {}）",
            row.room_code,
            row.kind.label(),
            row.name,
            row.next_due_on
        );
        let due = self.working_day_on_or_after(row.next_due_on);
        tasks::open(tx, Kind::Inspection, row.id.0, &title, today(), due, now).await?;
        Ok(())
    }

    /// Registers an item of equipment in a room; its first inspection is due one interval after
    /// its installation, and a 设备检查 task is opened for it.
    pub async fn register_equipment(
        &self,
        actor: &Actor,
        input: &EquipmentInput,
    ) -> AppResult<EquipmentView> {
        self.authorize(actor, UseCase::ConfigureRooms).await?;
        let c = check_input(input)?;
        let next_due_on = next_due_of(c.installed_on, c.interval_months)?;
        let mut tx = self.store.begin_write().await?;
        let room_id = RoomId(input.room_id);
        rooms::room(&mut tx, room_id)
            .await?
            .ok_or_else(room_not_found)?;
        let id = store::insert(
            &mut tx,
            &NewEquipment {
                room_id,
                kind: c.kind,
                name: &c.name,
                model: c.model.as_deref(),
                serial_no: c.serial_no.as_deref(),
                installed_on: c.installed_on,
                interval_months: i64::from(c.interval_months),
                next_due_on,
            },
            Utc::now(),
        )
        .await?;
        let row = store::get(&mut tx, id)
            .await?
            .ok_or_else(|| AppError::Internal("equipment vanished".to_owned()))?;
        self.reopen_inspection_task(&mut tx, &row).await?;
        self.log_in(
            &mut tx,
            actor,
            &Op::new("equipment.create", "equipment", id).detail(format!(
                "{} {} {}；每 {} 个月检查",
                row.room_code,
                c.kind.label(),
                c.name,
                c.interval_months
            )),
            Outcome::Ok,
        )
        .await?;
        tx.commit().await?;
        Ok(self.equipment_view(row))
    }

    /// Changes an item in service; its next inspection is counted again from its last
    /// inspection (or installation) with the new interval.
    pub async fn update_equipment(
        &self,
        actor: &Actor,
        id: EquipmentId,
        input: &EquipmentInput,
    ) -> AppResult<EquipmentView> {
        self.authorize(actor, UseCase::ConfigureRooms).await?;
        let c = check_input(input)?;
        let mut tx = self.store.begin_write().await?;
        let old = store::get(&mut tx, id)
            .await?
            .ok_or_else(equipment_not_found)?;
        if old.state == EquipmentState::Retired {
            return Err(retired(&old));
        }
        let room_id = RoomId(input.room_id);
        rooms::room(&mut tx, room_id)
            .await?
            .ok_or_else(room_not_found)?;
        if old.last_inspected_on.is_some_and(|l| l < c.installed_on) {
            return Err(AppError::invalid_with(
                "installed_after_inspection",
                Some("installed_on"),
                "安装日期不能晚于已登记的检查日期",
            ));
        }
        let from = old.last_inspected_on.unwrap_or(c.installed_on);
        let next_due_on = next_due_of(from, c.interval_months)?;
        store::update(
            &mut tx,
            id,
            &NewEquipment {
                room_id,
                kind: c.kind,
                name: &c.name,
                model: c.model.as_deref(),
                serial_no: c.serial_no.as_deref(),
                installed_on: c.installed_on,
                interval_months: i64::from(c.interval_months),
                next_due_on,
            },
            Utc::now(),
        )
        .await?;
        let row = store::get(&mut tx, id)
            .await?
            .ok_or_else(equipment_not_found)?;
        self.reopen_inspection_task(&mut tx, &row).await?;
        self.log_in(
            &mut tx,
            actor,
            &Op::new("equipment.update", "equipment", id).detail(format!(
                "{} {} {}；每 {} 个月检查，下次 {}",
                row.room_code,
                c.kind.label(),
                c.name,
                c.interval_months,
                next_due_on
            )),
            Outcome::Ok,
        )
        .await?;
        tx.commit().await?;
        Ok(self.equipment_view(row))
    }

    /// Retires an item: it stays in the register, no longer counts for the checks, and its open
    /// inspection task is closed.
    pub async fn retire_equipment(
        &self,
        actor: &Actor,
        id: EquipmentId,
        reason: &str,
    ) -> AppResult<EquipmentView> {
        self.authorize(actor, UseCase::ConfigureRooms).await?;
        let reason = text::required("reason", reason, 200, "停用原因")?;
        let mut tx = self.store.begin_write().await?;
        let old = store::get(&mut tx, id)
            .await?
            .ok_or_else(equipment_not_found)?;
        if !store::retire(&mut tx, id, today(), &reason, Utc::now()).await? {
            return Err(retired(&old));
        }
        tasks::close(&mut tx, Kind::Inspection, id.0, Utc::now()).await?;
        self.log_in(
            &mut tx,
            actor,
            &Op::new("equipment.retire", "equipment", id).detail(format!(
                "{} {} {}：{reason}",
                old.room_code,
                old.kind.label(),
                old.name
            )),
            Outcome::Ok,
        )
        .await?;
        let row = store::get(&mut tx, id)
            .await?
            .ok_or_else(equipment_not_found)?;
        tx.commit().await?;
        Ok(self.equipment_view(row))
    }

    /// Records an inspection (正常, or 异常 with a note): the next one falls due one interval
    /// after it; the open inspection task is closed and the next one opened.
    pub async fn record_inspection(
        &self,
        actor: &Actor,
        id: EquipmentId,
        input: &InspectionInput,
    ) -> AppResult<EquipmentDetail> {
        self.authorize(actor, UseCase::RecordCustody).await?;
        let result = InspectionResult::decode(input.result.trim()).map_err(|e| {
            AppError::invalid_with("invalid_inspection_result", Some("result"), e.to_string())
        })?;
        let inspected_on = match input.inspected_on.as_deref().map(str::trim) {
            None | Some("") => today(),
            Some(s) => parse_date("inspected_on", s, "检查日期")?,
        };
        let note = text::optional("note", input.note.as_deref(), 500, "检查说明")?;
        if result == InspectionResult::Abnormal && note.is_none() {
            return Err(AppError::invalid_with(
                "note_required",
                Some("note"),
                "检查结果为异常时，请在说明中写明异常情况和处理措施",
            ));
        }
        let mut tx = self.store.begin_write().await?;
        let old = store::get(&mut tx, id)
            .await?
            .ok_or_else(equipment_not_found)?;
        if old.state == EquipmentState::Retired {
            return Err(retired(&old));
        }
        if inspected_on < old.installed_on {
            return Err(AppError::invalid_with(
                "inspection_before_installation",
                Some("inspected_on"),
                format!("检查日期不能早于安装日期 {}", old.installed_on),
            ));
        }
        let interval = u32::try_from(old.interval_months).unwrap_or(MAX_INTERVAL_MONTHS);
        let next_due_on = next_due_of(inspected_on, interval)?;
        store::inspect(
            &mut tx,
            &NewInspection {
                equipment_id: id,
                inspected_on,
                result,
                note: note.as_deref(),
                by: &actor.username,
            },
            next_due_on,
            Utc::now(),
        )
        .await?;
        let row = store::get(&mut tx, id)
            .await?
            .ok_or_else(equipment_not_found)?;
        self.reopen_inspection_task(&mut tx, &row).await?;
        self.log_in(
            &mut tx,
            actor,
            &Op::new("equipment.inspect", "equipment", id).detail(format!(
                "{} {} {}：{} {}{}",
                row.room_code,
                row.kind.label(),
                row.name,
                inspected_on,
                result.label(),
                note.as_deref().map_or(String::new(), |n| format!("，{n}"))
            )),
            Outcome::Ok,
        )
        .await?;
        let inspections = store::inspections(&mut tx, id).await?;
        tx.commit().await?;
        Ok(EquipmentDetail {
            view: self.equipment_view(row),
            inspections,
        })
    }

    /// The register: every item (of a room, or of all rooms), in service first.
    pub async fn equipment_register(
        &self,
        actor: &Actor,
        room: Option<RoomId>,
    ) -> AppResult<Vec<EquipmentView>> {
        self.authorize(actor, UseCase::ReadRoom).await?;
        let mut tx = self.store.begin().await?;
        let rows = store::list(&mut tx, room).await?;
        tx.rollback().await?;
        Ok(rows.into_iter().map(|r| self.equipment_view(r)).collect())
    }

    /// One item with its inspections.
    pub async fn equipment_item(
        &self,
        actor: &Actor,
        id: EquipmentId,
    ) -> AppResult<EquipmentDetail> {
        self.authorize(actor, UseCase::ReadRoom).await?;
        let mut tx = self.store.begin().await?;
        let row = store::get(&mut tx, id)
            .await?
            .ok_or_else(equipment_not_found)?;
        let inspections = store::inspections(&mut tx, id).await?;
        tx.rollback().await?;
        Ok(EquipmentDetail {
            view: self.equipment_view(row),
            inspections,
        })
    }

    /// The rules of S3.1 checked for every room, from the items in service.
    pub async fn room_checks(&self, actor: &Actor) -> AppResult<Vec<RoomChecks>> {
        self.authorize(actor, UseCase::ReadRoom).await?;
        let mut tx = self.store.begin().await?;
        let rows = store::rooms_with_equipment(&mut tx).await?;
        tx.rollback().await?;
        Ok(rows
            .into_iter()
            .map(|r| RoomChecks {
                checks: vec![
                    equipment::extinguisher_check(r.area_dm2, r.extinguishers),
                    equipment::separation_check(r.separate_from_service),
                    equipment::presence_check(EquipmentKind::Dehumidifier, r.dehumidifiers),
                    equipment::presence_check(EquipmentKind::Recorder, r.recorders),
                ],
                room_id: r.room_id,
                code: r.code,
                name: r.name,
            })
            .collect())
    }
}
