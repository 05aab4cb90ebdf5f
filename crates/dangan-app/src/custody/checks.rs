//! 库房日常检查 — the custody post's daily check of each room (S2.3): the temperature and
//! humidity read off the room's instruments, and a checklist the agency edits (smoke alarms,
//! extinguishers, cameras, dehumidifiers, doors), each item 正常 or 异常 with a note.
//!
//! Each working day every room has a [`TaskKind::CustodyCheck`] task due that same day, opened by
//! the daily job (`custody.tasks`, [`App::open_custody_tasks`]); the check of the day closes it,
//! and a day without a check stays open and overdue. The manual reading is also a reading of the
//! room (source `manual`) and may raise an environment alert.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use dangan_domain::calendar::CalendarError;
use dangan_domain::code::Code;
use dangan_domain::environment::{ItemResult, ReadingSource};
use dangan_domain::room::format_decimal;
use dangan_domain::workflow::TaskKind;
use dangan_store::custody_checks::{self, ChecklistItemId, ChecklistItemRow, NewCheck};
use dangan_store::environment::Reading;
use dangan_store::rooms::{self, RoomId};

use super::environment::{parse_humidity, parse_temperature};
use super::rooms::{RoomView, room_not_found};
use crate::administration::roles::{Actor, UseCase};
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult, local_time, text, today};

/// How many days back the daily job opens the tasks it missed (a server that was down over a
/// long holiday still opens every working day's task when it comes back).
pub const CATCH_UP_DAYS: i64 = 31;

/// One item of a check as entered: the item, 正常/异常, and the note (required for 异常).
#[derive(Debug, Clone, Deserialize)]
pub struct ItemInput {
    /// The checklist item.
    pub item_id: ChecklistItemId,
    /// `normal` or `abnormal`.
    pub result: String,
    /// 异常说明
    #[serde(default)]
    pub note: Option<String>,
}

/// A daily check as entered.
#[derive(Debug, Clone, Deserialize)]
pub struct CheckInput {
    /// 温度 ℃ (one decimal).
    pub temperature: String,
    /// 相对湿度 % (one decimal).
    pub humidity: String,
    /// Every active item of the checklist.
    pub items: Vec<ItemInput>,
    /// 备注
    #[serde(default)]
    pub note: Option<String>,
}

/// One day of a room's month as the records show it.
#[derive(Debug, Clone, Serialize)]
pub struct CheckDay {
    /// The Beijing date.
    pub date: NaiveDate,
    /// 温度 ℃ as text.
    pub temperature: String,
    /// 湿度 % as text.
    pub humidity: String,
    /// Both inside the room's thresholds.
    pub in_range: bool,
    /// Who checked.
    pub by_user: String,
    /// When (Beijing time).
    pub at: String,
    /// 备注
    pub note: String,
    /// Each item: name, 正常/异常, note.
    pub items: Vec<(String, ItemResult, String)>,
}

/// A room's checks of one month.
#[derive(Debug, Clone, Serialize)]
pub struct CheckMonth {
    /// The room.
    pub room: RoomView,
    /// `2026-12`.
    pub month: String,
    /// The days with a check, in date order.
    pub days: Vec<CheckDay>,
    /// The checklist's item names, as on the record's columns (active items, then any retired
    /// item that appears in the month).
    pub item_names: Vec<String>,
}

/// The first and last day of `YYYY-MM`.
pub fn month_bounds(month: &str) -> AppResult<(NaiveDate, NaiveDate)> {
    let bad = || {
        AppError::invalid_with(
            "invalid_month",
            Some("month"),
            format!(
                "月份应写作 2026-12，收到“{}”",
                month.chars().take(20).collect::<String>()
            ),
        )
    };
    let first = NaiveDate::parse_from_str(&format!("{}-01", month.trim()), "%Y-%m-%d")
        .map_err(|_| bad())?;
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    }
    .ok_or_else(bad)?;
    Ok((first, next - Duration::days(1)))
}

impl App {
    /// The checklist of the daily check (with retired items when `all`).
    pub async fn custody_checklist(
        &self,
        actor: &Actor,
        all: bool,
    ) -> AppResult<Vec<ChecklistItemRow>> {
        self.authorize(actor, UseCase::ReadRoom).await?;
        let mut tx = self.store.begin().await?;
        let rows = custody_checks::checklist(&mut tx, all).await?;
        tx.rollback().await?;
        Ok(rows)
    }

    /// Adds an item to the checklist (ConfigureRooms).
    pub async fn add_checklist_item(
        &self,
        actor: &Actor,
        name: &str,
    ) -> AppResult<ChecklistItemId> {
        self.authorize(actor, UseCase::ConfigureRooms).await?;
        let name = text::required("name", name, 20, "检查项名称")?;
        let mut tx = self.store.begin_write().await?;
        let id = custody_checks::add_item(&mut tx, &name, Utc::now())
            .await?
            .ok_or_else(|| AppError::Conflict {
                code: "checklist_item_exists",
                field: Some("name".to_owned()),
                message: format!("检查项“{name}”已存在"),
            })?;
        let op = Op::new("custody.checklist", "checklist", id).detail(format!("新增 {name}"));
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Retires (or restores) an item of the checklist; older checks keep its results.
    pub async fn set_checklist_item_active(
        &self,
        actor: &Actor,
        id: ChecklistItemId,
        active: bool,
    ) -> AppResult<()> {
        self.authorize(actor, UseCase::ConfigureRooms).await?;
        let mut tx = self.store.begin_write().await?;
        if !custody_checks::set_item_active(&mut tx, id, active).await? {
            return Err(AppError::not_found(
                "checklist_item_not_found",
                "未找到该检查项",
            ));
        }
        let op = Op::new("custody.checklist", "checklist", id).detail(if active {
            "恢复"
        } else {
            "停用"
        });
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records today's check of a room (Beijing date): the readings, every active item of the
    /// checklist, who and when. Closes the day's task; the reading may raise an alert.
    pub async fn record_custody_check(
        &self,
        actor: &Actor,
        room_id: RoomId,
        input: &CheckInput,
    ) -> AppResult<NaiveDate> {
        self.authorize(actor, UseCase::RecordCustody).await?;
        let temperature_dc = parse_temperature("temperature", &input.temperature)?;
        let humidity_pm = parse_humidity("humidity", &input.humidity)?;
        let note = text::optional("note", input.note.as_deref(), 200, "备注")?;
        let now = Utc::now();
        let date = today();
        let mut tx = self.store.begin_write().await?;
        rooms::room(&mut tx, room_id)
            .await?
            .ok_or_else(room_not_found)?;
        let checklist = custody_checks::checklist(&mut tx, false).await?;
        let mut items = Vec::with_capacity(checklist.len());
        for item in &checklist {
            let given = input.items.iter().find(|i| i.item_id == item.id);
            let field = format!("item_{}", item.id);
            let Some(given) = given else {
                return Err(AppError::invalid_with(
                    "check_item_missing",
                    Some(&field),
                    format!("请填写检查项“{}”的结果（正常或异常）", item.name),
                ));
            };
            let result = ItemResult::decode(given.result.trim()).map_err(|_| {
                AppError::invalid_with(
                    "check_item_missing",
                    Some(&field),
                    format!("请填写检查项“{}”的结果（正常或异常）", item.name),
                )
            })?;
            let note = text::optional(&field, given.note.as_deref(), 100, "异常说明")?;
            if result == ItemResult::Abnormal && note.is_none() {
                return Err(AppError::invalid_with(
                    "abnormal_needs_note",
                    Some(&field),
                    format!("检查项“{}”为异常，请写明异常情况", item.name),
                ));
            }
            items.push((item.id, result, note));
        }
        let id = custody_checks::insert_check(
            &mut tx,
            &NewCheck {
                room_id,
                date,
                temperature_dc,
                humidity_pm,
                note: note.as_deref(),
                by_user: &actor.username,
                items: &items,
            },
            now,
        )
        .await?
        .ok_or_else(|| AppError::Conflict {
            code: "custody_check_exists",
            field: None,
            message: format!("该库房 {date} 的日常检查已登记"),
        })?;
        custody_checks::close_daily_task(&mut tx, room_id, date, now).await?;
        let abnormal = items
            .iter()
            .filter(|(_, r, _)| *r == ItemResult::Abnormal)
            .count();
        let op = Op::new("custody.check", "room", room_id).detail(format!(
            "检查 {id}；{date}；{} ℃；{} %；异常 {abnormal} 项",
            format_decimal(temperature_dc, 1),
            format_decimal(humidity_pm, 1)
        ));
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        let reading = Reading {
            at: now,
            temperature_dc,
            humidity_pm,
        };
        self.store_readings(
            &mut tx,
            room_id,
            None,
            ReadingSource::Manual,
            &[reading],
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(date)
    }

    /// A room's checks of a month (`2026-12`), for the records and their print views.
    pub async fn custody_month(
        &self,
        actor: &Actor,
        room_id: RoomId,
        month: &str,
    ) -> AppResult<CheckMonth> {
        self.authorize(actor, UseCase::ReadRoom).await?;
        let (from, to) = month_bounds(month)?;
        let mut tx = self.store.begin().await?;
        let room = rooms::room(&mut tx, room_id)
            .await?
            .ok_or_else(room_not_found)?;
        let (checks, items) = custody_checks::checks_between(&mut tx, room_id, from, to).await?;
        let checklist = custody_checks::checklist(&mut tx, false).await?;
        tx.rollback().await?;
        let mut item_names: Vec<String> = checklist.into_iter().map(|i| i.name).collect();
        let mut by_check: BTreeMap<i64, Vec<(String, ItemResult, String)>> = BTreeMap::new();
        for i in items {
            if !item_names.contains(&i.name) {
                item_names.push(i.name.clone());
            }
            let result = if i.ok {
                ItemResult::Normal
            } else {
                ItemResult::Abnormal
            };
            by_check.entry(i.check_id.0).or_default().push((
                i.name,
                result,
                i.note.unwrap_or_default(),
            ));
        }
        let days = checks
            .into_iter()
            .map(|c| CheckDay {
                date: c.check_date,
                temperature: format_decimal(c.temperature_dc, 1),
                humidity: format_decimal(c.humidity_pm, 1),
                in_range: (room.temp_min_dc..=room.temp_max_dc).contains(&c.temperature_dc)
                    && (room.rh_min_pm..=room.rh_max_pm).contains(&c.humidity_pm),
                by_user: c.by_user,
                at: local_time(c.at),
                note: c.note.unwrap_or_default(),
                items: by_check.remove(&c.id.0).unwrap_or_default(),
            })
            .collect();
        Ok(CheckMonth {
            room: room.into(),
            month: from.format("%Y-%m").to_string(),
            days,
            item_names,
        })
    }

    /// Whether a room's check of today is recorded, for every room.
    pub async fn rooms_checked_today(&self, actor: &Actor) -> AppResult<Vec<RoomId>> {
        self.authorize(actor, UseCase::ReadRoom).await?;
        let mut tx = self.store.begin().await?;
        let ids = custody_checks::checked_rooms(&mut tx, today()).await?;
        tx.rollback().await?;
        Ok(ids)
    }

    /// The daily job (`custody.tasks`): opens the daily-check task of every room for every
    /// working day from [`CATCH_UP_DAYS`] ago up to `today`, due that same day, unless it is
    /// open or done already or the day's check exists. Non-working days get none (weekends and
    /// holidays; a make-up working day gets one). A day whose year has no calendar loaded gets
    /// none yet: once the year is loaded, the next run opens the days still in its window.
    /// Returns how many tasks it opened.
    pub async fn open_custody_tasks(&self, actor: &Actor, today: NaiveDate) -> AppResult<u64> {
        self.authorize(actor, UseCase::RecordCustody).await?;
        let calendar = self.work_calendar();
        let now = Utc::now();
        let mut opened = 0;
        let mut unknown = None;
        let mut tx = self.store.begin_write().await?;
        for back in (0..=CATCH_UP_DAYS).rev() {
            let day = today - Duration::days(back);
            match calendar.is_working_day(day) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(CalendarError::YearNotLoaded(y)) => {
                    unknown = Some(y);
                    continue;
                }
                Err(e) => return Err(AppError::Internal(e.to_string())),
            }
            // A room counts from the day it was set up: its first task is that of the day it
            // was created on (Beijing time), if a working day.
            let next_midnight = beijing_midnight(day + Duration::days(1));
            opened += custody_checks::open_daily_tasks(&mut tx, day, next_midnight, now).await?;
        }
        if let Some(y) = unknown {
            tracing::warn!(year = y, "daily custody tasks wait for the year's calendar");
        }
        if opened > 0 {
            let op = Op::new("task.open", "task", "").detail(format!(
                "{}：{opened} 项（至 {today}）",
                TaskKind::CustodyCheck.label()
            ));
            self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        }
        tx.commit().await?;
        Ok(opened)
    }
}

/// 00:00 Beijing time of a date, as an instant.
fn beijing_midnight(d: NaiveDate) -> chrono::DateTime<Utc> {
    let offset = chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!());
    offset
        .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
        .single()
        .map_or_else(Utc::now, |t| t.with_timezone(&Utc))
}
