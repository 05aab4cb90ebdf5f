//! 信息变更与更正 — the person fields that a correction (更正, S9.2) or a change from the business
//! system (参保信息变更) may set, the value rules of each field, and the effective-date precedence
//! of changes (the latest effective date already in force decides a field).

use chrono::{Datelike, Days, NaiveDate};

use crate::Rejection;
use crate::code_enum;
use crate::division::{DivisionCode, DivisionError};
use crate::person::{ContributionTier, InsuranceStatus, InsuredIdentity, PersonError, PersonName};

code_enum! {
    /// 人员信息字段 — the fields of a person's record that a correction may change. The identity
    /// number is not one of them: its change is a business of its own (参保信息变更).
    pub enum PersonField: "更正字段" {
        /// 姓名
        Name = ("name", "姓名"),
        /// 行政区划
        Division = ("division_code", "行政区划"),
        /// 参保状态
        Status = ("status", "参保状态"),
        /// 缴费档次
        Tier = ("tier", "缴费档次"),
        /// 参保身份
        Identity = ("identity", "参保身份"),
    }
}

/// A checked new value of one person field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    /// 姓名
    Name(PersonName),
    /// 行政区划
    Division(DivisionCode),
    /// 参保状态
    Status(InsuranceStatus),
    /// 缴费档次
    Tier(ContributionTier),
    /// 参保身份
    Identity(InsuredIdentity),
}

/// Why a new value is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldValueError {
    /// The value breaks its field's rule (name, status, identity or tier).
    #[error(transparent)]
    Person(#[from] PersonError),
    /// Not a division code.
    #[error(transparent)]
    Division(#[from] DivisionError),
    /// A tier that is not a whole number of yuan.
    #[error("缴费档次应为整数（元/年）")]
    TierNotANumber,
}

impl Rejection for FieldValueError {
    fn code(&self) -> &'static str {
        match self {
            FieldValueError::Person(e) => e.code(),
            FieldValueError::Division(e) => e.code(),
            FieldValueError::TierNotANumber => "invalid_contribution_tier",
        }
    }
}

impl FieldValue {
    /// Checks `text` as a new value of `field` (trimmed; a status or an identity may be given by
    /// its code or its label).
    pub fn parse(field: PersonField, text: &str) -> Result<FieldValue, FieldValueError> {
        let v = text.trim();
        Ok(match field {
            PersonField::Name => FieldValue::Name(PersonName::parse(v)?),
            PersonField::Division => FieldValue::Division(DivisionCode::parse(v)?),
            PersonField::Status => FieldValue::Status(InsuranceStatus::parse(v)?),
            PersonField::Identity => FieldValue::Identity(InsuredIdentity::parse(v)?),
            PersonField::Tier => {
                let yuan: i64 = v.parse().map_err(|_| FieldValueError::TierNotANumber)?;
                FieldValue::Tier(ContributionTier::new(yuan)?)
            }
        })
    }

    /// The field it sets.
    pub fn field(&self) -> PersonField {
        match self {
            FieldValue::Name(_) => PersonField::Name,
            FieldValue::Division(_) => PersonField::Division,
            FieldValue::Status(_) => PersonField::Status,
            FieldValue::Tier(_) => PersonField::Tier,
            FieldValue::Identity(_) => PersonField::Identity,
        }
    }

    /// The value as staff read it: a status or an identity by its Chinese label.
    pub fn label(&self) -> String {
        match self {
            FieldValue::Status(s) => s.label().to_owned(),
            FieldValue::Identity(i) => format!("{} {}", i.code(), i.label()),
            other => other.text(),
        }
    }

    /// The value as stored and shown in the modification record.
    pub fn text(&self) -> String {
        match self {
            FieldValue::Name(n) => n.as_str().to_owned(),
            FieldValue::Division(d) => d.as_str().to_owned(),
            FieldValue::Status(s) => s.code().to_owned(),
            FieldValue::Tier(t) => t.yuan().to_string(),
            FieldValue::Identity(i) => i.code(),
        }
    }
}

code_enum! {
    /// 变更类型 — the changes the business system sends (参保信息变更).
    pub enum ChangeKind: "变更类型" {
        /// 参保状态变更
        Status = ("status", "参保状态"),
        /// 缴费档次变更
        Tier = ("tier", "缴费档次"),
        /// 行政区划变更（迁移）
        Division = ("division", "行政区划"),
        /// 死亡 — ends the insurance.
        Death = ("death", "死亡"),
    }
}

impl ChangeKind {
    /// Reads a kind by its code or its Chinese label.
    pub fn parse(s: &str) -> Option<ChangeKind> {
        let t = s.trim();
        <ChangeKind as crate::code::Code>::ALL
            .iter()
            .copied()
            .find(|k| k.code() == t || k.label() == t)
    }

    /// The person field it sets: a death ends the insurance like a status change.
    pub fn field(self) -> PersonField {
        match self {
            ChangeKind::Status | ChangeKind::Death => PersonField::Status,
            ChangeKind::Tier => PersonField::Tier,
            ChangeKind::Division => PersonField::Division,
        }
    }

    /// The kinds that decide the same field, whose effective dates compete.
    pub fn group(self) -> &'static [ChangeKind] {
        match self {
            ChangeKind::Status | ChangeKind::Death => &[ChangeKind::Status, ChangeKind::Death],
            ChangeKind::Tier => &[ChangeKind::Tier],
            ChangeKind::Division => &[ChangeKind::Division],
        }
    }

    /// Checks a change's value (the value of a death is always 终止参保).
    pub fn value(self, text: Option<&str>) -> Result<FieldValue, ChangeError> {
        if self == ChangeKind::Death {
            return Ok(FieldValue::Status(InsuranceStatus::Terminated));
        }
        let t = text.map(str::trim).ok_or(ChangeError::MissingValue(self))?;
        FieldValue::parse(self.field(), t).map_err(ChangeError::Value)
    }
}

/// Why a change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    /// No value where the kind needs one.
    #[error("变更值无效：应为{}", missing_value_hint(*.0))]
    MissingValue(ChangeKind),
    /// A value that breaks its field's rule.
    #[error(transparent)]
    Value(FieldValueError),
    /// An effective date that is not a date.
    #[error("生效日期“{0}”无效，格式应为YYYY-MM-DD")]
    NotADate(String),
    /// An effective date before 1950 or more than five years ahead.
    #[error("生效日期{0}超出范围：应在1950年至今后五年之内")]
    DateOutOfRange(NaiveDate),
    /// A status change on or after a recorded death.
    #[error("该参保人已于{0}死亡，不能再变更参保状态")]
    AfterDeath(NaiveDate),
}

fn missing_value_hint(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Status | ChangeKind::Death => "参保状态（active、suspended 或 terminated）",
        ChangeKind::Tier => "缴费档次（元/年，整数）",
        ChangeKind::Division => "六位县级行政区划代码",
    }
}

impl Rejection for ChangeError {
    fn code(&self) -> &'static str {
        match self {
            ChangeError::MissingValue(_) => "invalid_change_value",
            ChangeError::Value(e) => e.code(),
            ChangeError::NotADate(_) | ChangeError::DateOutOfRange(_) => "invalid_date",
            ChangeError::AfterDeath(_) => "after_death",
        }
    }
}

/// Reads an effective date: `YYYY-MM-DD`, from 1950 to five years after `today`.
pub fn effective_date(s: &str, today: NaiveDate) -> Result<NaiveDate, ChangeError> {
    let t = s.trim();
    let d = NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .map_err(|_| ChangeError::NotADate(t.chars().take(40).collect()))?;
    let latest = today.checked_add_days(Days::new(5 * 366)).unwrap_or(today);
    if d.year() < 1950 || d > latest {
        return Err(ChangeError::DateOutOfRange(d));
    }
    Ok(d)
}

/// 生效日期优先 — where a new change dated `date` stands, given today and the latest effective date
/// of its field group already in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precedence {
    /// Dated ahead: recorded now, applied on its day.
    Pending,
    /// A change with a later date is already in force: recorded in the history, the field keeps
    /// the later value.
    Superseded {
        /// The later date in force.
        by: NaiveDate,
    },
    /// The field takes this value now.
    InForce,
}

/// The effective-date precedence of a change (pure: the store finds `latest_in_force`).
pub fn precedence(
    date: NaiveDate,
    today: NaiveDate,
    latest_in_force: Option<NaiveDate>,
) -> Precedence {
    match latest_in_force {
        _ if date > today => Precedence::Pending,
        Some(by) if by > date => Precedence::Superseded { by },
        _ => Precedence::InForce,
    }
}

/// A status change (other than to 终止参保) on or after a recorded death is refused.
pub fn check_after_death(
    kind: ChangeKind,
    value: &FieldValue,
    date: NaiveDate,
    death: Option<NaiveDate>,
) -> Result<(), ChangeError> {
    let revives =
        kind == ChangeKind::Status && *value != FieldValue::Status(InsuranceStatus::Terminated);
    match death {
        Some(d) if revives && d <= date => Err(ChangeError::AfterDeath(d)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::Code;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn every_field_and_change_kind_has_one_chinese_label() {
        for f in PersonField::ALL {
            assert!(!f.label().is_ascii());
        }
        for k in ChangeKind::ALL {
            assert_eq!(ChangeKind::parse(k.label()), Some(*k));
            assert_eq!(ChangeKind::parse(k.code()), Some(*k));
        }
        assert_eq!(PersonField::from_code("id_number"), None);
    }

    #[test]
    fn a_new_value_is_checked_by_its_fields_rule_and_stored_as_its_code() {
        let s = FieldValue::parse(PersonField::Status, "暂停参保").unwrap();
        assert_eq!(s.text(), "suspended");
        assert_eq!(s.label(), "暂停参保");
        let i = FieldValue::parse(PersonField::Identity, "021").unwrap();
        assert_eq!(i.label(), "021 一级残疾");
        assert_eq!(
            FieldValue::parse(PersonField::Tier, " 300 ")
                .unwrap()
                .text(),
            "300"
        );
        assert_eq!(
            FieldValue::parse(PersonField::Tier, "三百"),
            Err(FieldValueError::TierNotANumber)
        );
        assert_eq!(
            FieldValue::parse(PersonField::Tier, "5")
                .unwrap_err()
                .code(),
            "invalid_contribution_tier"
        );
        assert_eq!(
            FieldValue::parse(PersonField::Name, "张3")
                .unwrap_err()
                .code(),
            "invalid_name"
        );
        assert!(FieldValue::parse(PersonField::Division, "441").is_err());
    }

    #[test]
    fn a_death_terminates_and_other_kinds_need_a_value() {
        assert_eq!(
            ChangeKind::Death.value(None).unwrap(),
            FieldValue::Status(InsuranceStatus::Terminated)
        );
        assert_eq!(
            ChangeKind::Tier.value(None),
            Err(ChangeError::MissingValue(ChangeKind::Tier))
        );
        assert_eq!(ChangeKind::Death.field(), PersonField::Status);
        assert_eq!(ChangeKind::Death.group(), ChangeKind::Status.group());
    }

    #[test]
    fn an_effective_date_is_iso_from_1950_to_five_years_ahead() {
        let today = day("2026-12-06");
        assert_eq!(effective_date(" 2026-01-01 ", today), Ok(day("2026-01-01")));
        assert!(matches!(
            effective_date("2026/01/01", today),
            Err(ChangeError::NotADate(_))
        ));
        assert!(matches!(
            effective_date("1949-12-31", today),
            Err(ChangeError::DateOutOfRange(_))
        ));
        assert!(effective_date("2031-12-06", today).is_ok());
        assert!(effective_date("2032-12-31", today).is_err());
    }

    #[test]
    fn the_latest_effective_date_in_force_decides_and_a_future_one_waits() {
        let today = day("2026-12-06");
        assert_eq!(
            precedence(day("2027-01-01"), today, None),
            Precedence::Pending
        );
        assert_eq!(
            precedence(day("2026-01-01"), today, Some(day("2026-06-01"))),
            Precedence::Superseded {
                by: day("2026-06-01")
            }
        );
        assert_eq!(
            precedence(day("2026-06-01"), today, Some(day("2026-06-01"))),
            Precedence::InForce
        );
        assert_eq!(
            precedence(day("2026-07-01"), today, Some(day("2026-06-01"))),
            Precedence::InForce
        );
    }

    #[test]
    fn no_status_revives_a_person_after_death_but_a_termination_may_be_recorded() {
        let death = Some(day("2026-03-01"));
        let active = FieldValue::Status(InsuranceStatus::Active);
        let ended = FieldValue::Status(InsuranceStatus::Terminated);
        assert_eq!(
            check_after_death(ChangeKind::Status, &active, day("2026-03-01"), death),
            Err(ChangeError::AfterDeath(day("2026-03-01")))
        );
        assert!(check_after_death(ChangeKind::Status, &active, day("2026-02-28"), death).is_ok());
        assert!(check_after_death(ChangeKind::Status, &ended, day("2026-05-01"), death).is_ok());
        assert!(check_after_death(ChangeKind::Tier, &ended, day("2026-05-01"), death).is_ok());
    }
}
