//! 设备与容量 — the equipment register of the archive room and its capacity (S3.1): the kinds of
//! equipment, when an item is next due for inspection, the rules checked per room (灭火器 per
//! 10 m², separation from the service area, 除湿机 and 温湿度记录仪 present), and the arithmetic of
//! the projection of when the shelves fill.
//!
//! Pure rules: the store counts and sums (set-based, per room and per year), these functions
//! decide. A check is 合格, 不合格 or skipped with its reason — never passed for want of data.

use chrono::{Months, NaiveDate};

use crate::code_enum;

code_enum! {
    /// 设备类型 — the kind of an item of the room's equipment.
    pub enum EquipmentKind: "设备类型" {
        /// 密集架 — a compact shelving unit (its moving parts are inspected).
        CompactShelving = ("compact_shelving", "密集架"),
        /// 除湿机 — a dehumidifier.
        Dehumidifier = ("dehumidifier", "除湿机"),
        /// 温湿度记录仪 — a temperature and humidity recorder.
        Recorder = ("th_recorder", "温湿度记录仪"),
        /// 防火保险箱 — a fire safe.
        FireSafe = ("fire_safe", "防火保险箱"),
        /// 灭火器 — a fire extinguisher.
        Extinguisher = ("extinguisher", "灭火器"),
        /// 监控摄像头 — a surveillance camera.
        Camera = ("camera", "监控摄像头"),
        /// 烟雾报警器 — a smoke alarm.
        SmokeAlarm = ("smoke_alarm", "烟雾报警器"),
    }
}

code_enum! {
    /// 设备状态 — whether an item is in service.
    pub enum EquipmentState: "设备状态" {
        /// 在用 — in service: counted by the checks, inspected when due.
        InService = ("in_service", "在用"),
        /// 已停用 — retired: kept in the register, counted by nothing.
        Retired = ("retired", "已停用"),
    }
}

code_enum! {
    /// 检查结果 — the result of an inspection of an item.
    pub enum InspectionResult: "检查结果" {
        /// 正常
        Normal = ("normal", "正常"),
        /// 异常 — needs a note saying what was wrong.
        Abnormal = ("abnormal", "异常"),
    }
}

code_enum! {
    /// 核查结论 — the outcome of a rule checked for a room.
    pub enum CheckOutcome: "核查结论" {
        /// 合格
        Pass = ("pass", "合格"),
        /// 不合格
        Fail = ("fail", "不合格"),
        /// 未核查 — not decidable; the reason says why (never counted as passed).
        Skipped = ("skipped", "未核查"),
    }
}

/// The longest inspection interval accepted: five years.
pub const MAX_INTERVAL_MONTHS: u32 = 60;

/// The floor area one extinguisher covers: 10 m² = 1,000 dm² (S3.1: 每 10 平方米不少于 1 具).
pub const EXTINGUISHER_AREA_DM2: i64 = 1_000;

/// The date an item is next due for inspection: `interval_months` calendar months after `from`
/// (its installation, or its last inspection). The end of a shorter month stands for a day it
/// lacks (31 January + 1 month = 28 or 29 February); `None` past the calendar's end.
pub fn next_due(from: NaiveDate, interval_months: u32) -> Option<NaiveDate> {
    from.checked_add_months(Months::new(interval_months))
}

/// The number of extinguishers a room of `area_dm2` needs: one per 10 m² begun (35 m² → 4).
pub fn extinguishers_required(area_dm2: i64) -> i64 {
    if area_dm2 <= 0 {
        return 0;
    }
    (area_dm2 + EXTINGUISHER_AREA_DM2 - 1) / EXTINGUISHER_AREA_DM2
}

/// A rule checked for a room: its outcome and what was found, in Chinese.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    /// `extinguishers`, `separate_from_service`, `dehumidifier` or `th_recorder`.
    pub rule: &'static str,
    /// What the rule says.
    pub title: &'static str,
    /// 合格, 不合格 or skipped.
    pub outcome: CheckOutcome,
    /// What was found (or why it was skipped).
    pub detail: String,
}

/// 灭火器: at least one extinguisher in service per 10 m² begun of the room's floor area.
pub fn extinguisher_check(area_dm2: i64, in_service: i64) -> Check {
    let title = "每 10 平方米至少配备 1 具灭火器";
    if area_dm2 <= 0 {
        return Check {
            rule: "extinguishers",
            title,
            outcome: CheckOutcome::Skipped,
            detail: "库房面积未登记，无法核查".to_owned(),
        };
    }
    let required = extinguishers_required(area_dm2);
    let area = crate::room::format_decimal(area_dm2, 2);
    Check {
        rule: "extinguishers",
        title,
        outcome: if in_service >= required {
            CheckOutcome::Pass
        } else {
            CheckOutcome::Fail
        },
        detail: format!("面积 {area} 平方米，需 {required} 具，在用 {in_service} 具"),
    }
}

/// 与办公、服务区分开: as registered for the room.
pub fn separation_check(separate_from_service: bool) -> Check {
    Check {
        rule: "separate_from_service",
        title: "库房与办公、服务区分开",
        outcome: if separate_from_service {
            CheckOutcome::Pass
        } else {
            CheckOutcome::Fail
        },
        detail: if separate_from_service {
            "已登记为与服务区分开".to_owned()
        } else {
            "登记为未与服务区分开".to_owned()
        },
    }
}

/// A kind of equipment every room must have at least one of in service (除湿机, 温湿度记录仪).
pub fn presence_check(kind: EquipmentKind, in_service: i64) -> Check {
    let (rule, title) = match kind {
        EquipmentKind::Dehumidifier => ("dehumidifier", "配备除湿机"),
        EquipmentKind::Recorder => ("th_recorder", "配备温湿度记录仪"),
        _ => ("equipment", "配备设备"),
    };
    Check {
        rule,
        title,
        outcome: if in_service > 0 {
            CheckOutcome::Pass
        } else {
            CheckOutcome::Fail
        },
        detail: format!("在用{} {in_service} 台", kind.label()),
    }
}

/// How many full years of history the projection averages over.
pub const GROWTH_YEARS: i32 = 3;

/// What was sealed (or enrolled) in one year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YearAmount {
    /// The year (Beijing time).
    pub year: i32,
    /// The amount: micrometres of volume thickness, or persons enrolled.
    pub amount: i64,
}

/// A yearly rate averaged over the last full years, or why it cannot be given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rate {
    /// The average per year over `years` full years (`from` to `to`).
    PerYear {
        /// The average per year (rounded down).
        per_year: i64,
        /// The number of full years averaged.
        years: i32,
        /// The first year averaged.
        from: i32,
        /// The last year averaged.
        to: i32,
    },
    /// No full year of history: the reason.
    Skipped(String),
}

/// The average yearly amount over the last [`GROWTH_YEARS`] full years before `this_year`,
/// counting only years from the first year that has any history (a record begun two years ago
/// averages over two). Years in the window without amounts count as zero.
pub fn yearly_rate(history: &[YearAmount], this_year: i32, what: &str) -> Rate {
    let Some(first) = history
        .iter()
        .filter(|y| y.amount > 0)
        .map(|y| y.year)
        .min()
    else {
        return Rate::Skipped(format!("尚无{what}记录"));
    };
    let to = this_year - 1;
    let from = (this_year - GROWTH_YEARS).max(first);
    if from > to {
        return Rate::Skipped(format!("{what}记录不足一个完整年度（始于 {first} 年）"));
    }
    let total: i64 = history
        .iter()
        .filter(|y| (from..=to).contains(&y.year))
        .map(|y| y.amount)
        .sum();
    let years = to - from + 1;
    Rate::PerYear {
        per_year: total / i64::from(years),
        years,
        from,
        to,
    }
}

/// Years until `free_um` of shelf is filled at `per_year_um`, in tenths of a year (rounded
/// down), or why it cannot be said.
pub fn tenths_of_years_until_full(free_um: i64, per_year_um: i64) -> Result<i64, String> {
    if free_um <= 0 {
        return Ok(0);
    }
    if per_year_um <= 0 {
        return Err("近年没有新增案卷，按现有增速不会排满".to_owned());
    }
    let tenths = i128::from(free_um) * 10 / i128::from(per_year_um);
    Ok(i64::try_from(tenths).unwrap_or(i64::MAX))
}

/// Micrometres of archive per insured person (rounded down), or why not.
pub fn um_per_person(total_um: i64, persons: i64) -> Result<i64, String> {
    if persons <= 0 {
        return Err("尚无参保人".to_owned());
    }
    Ok(total_um / persons)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_35_square_metre_room_needs_four_extinguishers() {
        assert_eq!(extinguishers_required(3_500), 4);
        assert_eq!(extinguishers_required(3_000), 3);
        assert_eq!(extinguishers_required(1), 1);
        assert_eq!(extinguisher_check(3_500, 3).outcome, CheckOutcome::Fail);
        assert_eq!(extinguisher_check(3_500, 4).outcome, CheckOutcome::Pass);
        assert_eq!(
            extinguisher_check(3_500, 3).detail,
            "面积 35 平方米，需 4 具，在用 3 具"
        );
        assert_eq!(extinguisher_check(0, 9).outcome, CheckOutcome::Skipped);
    }

    #[test]
    fn the_next_inspection_is_whole_months_later_at_a_months_end() {
        assert_eq!(next_due(d("2025-09-01"), 1), Some(d("2025-10-01")));
        assert_eq!(next_due(d("2025-01-31"), 1), Some(d("2025-02-28")));
        assert_eq!(next_due(d("2024-01-31"), 1), Some(d("2024-02-29")));
        assert_eq!(next_due(d("2025-03-15"), 12), Some(d("2026-03-15")));
    }

    #[test]
    fn growth_averages_the_last_three_full_years_from_the_first_with_history() {
        let h = |v: &[(i32, i64)]| {
            v.iter()
                .map(|&(year, amount)| YearAmount { year, amount })
                .collect::<Vec<_>>()
        };
        // 2022 is outside the window; this year's (2026) volumes are not a full year.
        let history = h(&[(2022, 99), (2023, 30), (2024, 0), (2025, 60), (2026, 500)]);
        assert_eq!(
            yearly_rate(&history, 2026, "封卷"),
            Rate::PerYear {
                per_year: 30,
                years: 3,
                from: 2023,
                to: 2025
            }
        );
        // Begun in 2024: two full years.
        assert_eq!(
            yearly_rate(&h(&[(2024, 10), (2025, 31)]), 2026, "封卷"),
            Rate::PerYear {
                per_year: 20,
                years: 2,
                from: 2024,
                to: 2025
            }
        );
        assert!(matches!(
            yearly_rate(&h(&[(2026, 10)]), 2026, "封卷"),
            Rate::Skipped(r) if r.contains("不足一个完整年度")
        ));
        assert!(matches!(yearly_rate(&[], 2026, "封卷"), Rate::Skipped(_)));
    }

    #[test]
    fn years_until_full_is_free_space_over_growth_in_tenths() {
        assert_eq!(tenths_of_years_until_full(1_000, 300), Ok(33));
        assert_eq!(tenths_of_years_until_full(0, 300), Ok(0));
        assert!(tenths_of_years_until_full(1_000, 0).is_err());
        assert_eq!(um_per_person(10_000, 4), Ok(2_500));
        assert!(um_per_person(10_000, 0).is_err());
    }
}
