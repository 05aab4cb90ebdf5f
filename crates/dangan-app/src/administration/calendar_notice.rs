//! Loading a year of the working-day calendar (工作日历) from the dates of the State Council's
//! notice (国务院办公厅《关于YYYY年部分节假日安排的通知》) as an administrator pastes them:
//! the holidays (放假) and the make-up working days (调休上班), one date or one range per line
//! with the festival's name. The dates become the calendar file's lines, checked by the same
//! parser and rules as a file ([`dangan_domain::calendar::parse_tsv`]); a preview shows the
//! resulting year before it is loaded. Also the administrators' warning when next year is
//! missing.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use dangan_domain::calendar::{CalendarSource, DayKind, SpecialDay, WorkCalendar};

use crate::administration::roles::{Actor, Role, UseCase, allowed};
use crate::{App, AppError, AppResult};

/// A year of the calendar as it would be loaded.
#[derive(Debug, Clone, Serialize)]
pub struct NoticePreview {
    /// The year.
    pub year: i32,
    /// 放假 days, in date order.
    pub holidays: Vec<SpecialDay>,
    /// 调休上班 days, in date order.
    pub workdays: Vec<SpecialDay>,
    /// The year is loaded already and would be replaced.
    pub replaces: bool,
}

fn invalid(message: String) -> AppError {
    AppError::invalid_with("invalid_calendar_notice", Some("days"), message)
}

/// One pasted line: `2027-02-06 至 2027-02-13 春节` (or `~`, `到`), or `2027-01-01 元旦`.
fn parse_line(
    line: &str,
    what: &str,
    n: usize,
    year: i32,
) -> AppResult<(NaiveDate, NaiveDate, String)> {
    let date = |t: &str| {
        NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| {
            invalid(format!(
                "{what}第{n}行的日期“{t}”无效；应写成 YYYY-MM-DD（例如 {year}-01-01）"
            ))
        })
    };
    let normal = line.replace(['至', '~', '～', '到'], " 至 ");
    let words: Vec<&str> = normal.split_whitespace().collect();
    let (from, to, name) = match words.as_slice() {
        [a, "至", b, name @ ..] => (date(a)?, date(b)?, name.join(" ")),
        [a, name @ ..] => {
            let d = date(a)?;
            (d, d, name.join(" "))
        }
        [] => unreachable!("blank lines are skipped"),
    };
    if name.is_empty() {
        return Err(invalid(format!(
            "{what}第{n}行缺少节日名称；例如“{year}-01-01 元旦”"
        )));
    }
    for d in [from, to] {
        if d.year() != year {
            return Err(invalid(format!(
                "{what}第{n}行的日期 {d} 不在 {year} 年内；请核对年份，或改为载入 {} 年",
                d.year()
            )));
        }
    }
    if to < from || (to - from).num_days() > 31 {
        return Err(invalid(format!(
            "{what}第{n}行的日期范围 {from} 至 {to} 无效；结束日期应不早于开始日期，且不超过一个月"
        )));
    }
    Ok((from, to, name))
}

/// The special days of pasted lines of one kind.
fn parse_days(text: &str, kind: DayKind, year: i32) -> AppResult<Vec<SpecialDay>> {
    let what = match kind {
        DayKind::Holiday => "放假日期",
        DayKind::Workday => "调休上班日期",
    };
    let mut days = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (from, to, name) = parse_line(line, what, i + 1, year)?;
        days.extend(
            from.iter_days()
                .take_while(|d| *d <= to)
                .map(|d| SpecialDay::new(d, kind, name.clone())),
        );
    }
    Ok(days)
}

/// The year's calendar from the pasted holidays and make-up working days, checked as a
/// calendar (make-up days on weekends, no date twice, names).
pub fn notice_calendar(year: i32, holidays: &str, workdays: &str) -> AppResult<WorkCalendar> {
    if !(2000..=2100).contains(&year) {
        return Err(AppError::invalid_with(
            "invalid_calendar_notice",
            Some("year"),
            "年度应为 2000 至 2100 之间的年份",
        ));
    }
    let mut days = parse_days(holidays, DayKind::Holiday, year)?;
    if days.is_empty() {
        return Err(invalid(
            "请填写放假日期（国务院办公厅通知中的放假安排）".to_owned(),
        ));
    }
    days.extend(parse_days(workdays, DayKind::Workday, year)?);
    WorkCalendar::new(vec![year], days).map_err(|e| invalid(e.to_string()))
}

impl App {
    /// 预览 — the year as it would be loaded from the notice's dates; nothing is written.
    pub async fn preview_calendar_notice(
        &self,
        actor: &Actor,
        year: i32,
        holidays: &str,
        workdays: &str,
    ) -> AppResult<NoticePreview> {
        self.authorize(actor, UseCase::EditCalendar).await?;
        let cal = notice_calendar(year, holidays, workdays)?;
        let (holidays, workdays) = cal
            .special_days(year)
            .into_iter()
            .partition(|d| d.kind == DayKind::Holiday);
        Ok(NoticePreview {
            year,
            holidays,
            workdays,
            replaces: self.work_calendar().is_loaded(year),
        })
    }

    /// 载入 — loads (or replaces) the year from the notice's dates; open tasks waiting for it
    /// get their due dates in the same transaction. Returns the year.
    pub async fn load_calendar_notice(
        &self,
        actor: &Actor,
        year: i32,
        holidays: &str,
        workdays: &str,
    ) -> AppResult<i32> {
        self.authorize(actor, UseCase::EditCalendar).await?;
        let cal = notice_calendar(year, holidays, workdays)?;
        self.load_calendar(actor, &cal.to_tsv(), CalendarSource::Notice.code())
            .await?;
        Ok(year)
    }

    /// For the administrators' 工作台: from 1 November, next year's calendar missing (and any
    /// time, this year's) is said, with what to do.
    pub fn calendar_warning(&self, actor: &Actor) -> Option<String> {
        calendar_warning_on(&self.work_calendar(), actor.role, crate::today())
    }
}

/// The warning of [`App::calendar_warning`] on `today`.
pub fn calendar_warning_on(cal: &WorkCalendar, role: Role, today: NaiveDate) -> Option<String> {
    if !allowed(role, UseCase::EditCalendar) {
        return None;
    }
    let year = today.year();
    if !cal.is_loaded(year) {
        return Some(format!(
            "{year} 年工作日历尚未载入：新任务没有期限，也不会显示超期。请在“目录与期限”中载入国务院办公厅的节假日安排。"
        ));
    }
    (today.month() >= 11 && !cal.is_loaded(year + 1)).then(|| {
        format!(
            "{} 年工作日历尚未载入：国务院办公厅通知发布后，请在“目录与期限”中载入，否则 {} 年起的任务没有期限。",
            year + 1,
            year + 1
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn pasted_ranges_and_make_up_days_become_the_year() {
        let cal = notice_calendar(
            2027,
            "2027-01-01 元旦\n2027-02-06 至 2027-02-12 春节\n",
            "2027-02-14 春节\n",
        )
        .unwrap();
        let days = cal.special_days(2027);
        assert_eq!(days.len(), 9);
        assert!(!cal.is_working_day(ymd(2027, 2, 8)).unwrap());
        assert!(cal.is_working_day(ymd(2027, 2, 14)).unwrap());
    }

    #[test]
    fn wrong_dates_are_refused_in_chinese() {
        let err = |h: &str, w: &str| notice_calendar(2027, h, w).unwrap_err().to_string();
        assert!(err("2028-01-01 元旦", "").contains("不在 2027 年内"));
        assert!(err("2027-13-01 元旦", "").contains("日期“2027-13-01”无效"));
        assert!(err("2027-01-01 元旦", "2027-02-10 春节").contains("本来就是工作日"));
        assert!(err("2027-01-01 元旦\n2027-01-01 元旦", "").contains("登记了两次"));
        assert!(err("2027-01-01", "").contains("缺少节日名称"));
        assert!(err("", "").contains("请填写放假日期"));
    }

    #[test]
    fn administrators_are_warned_from_november_when_next_year_is_missing() {
        let cal = WorkCalendar::builtin();
        let last = *cal.years().last().unwrap();
        assert_eq!(
            calendar_warning_on(&cal, Role::Admin, ymd(last, 10, 31)),
            None
        );
        let w = calendar_warning_on(&cal, Role::Admin, ymd(last, 11, 1)).unwrap();
        assert!(
            w.contains(&format!("{} 年工作日历尚未载入", last + 1)),
            "{w}"
        );
        assert_eq!(
            calendar_warning_on(&cal, Role::Handler, ymd(last, 11, 1)),
            None
        );
        let w = calendar_warning_on(&cal, Role::Admin, ymd(last + 1, 1, 1)).unwrap();
        assert!(w.contains("新任务没有期限"), "{w}");
    }
}
