//! 保管期限 — retention periods of archive material (人社部令第3号; S1.3).
//!
//! The ladder is 永久 / 100 / 50 / 30 / 10 years with the DA/T 13 codes Y / D100 / D50 / D30 / D10.
//! Fixed terms are minimums and start on 1 January of the year after the material was formed, so
//! the appraisal (鉴定) falls due on 1 January of `formation year + 1 + N`.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::Rejection;

/// 保管期限 — how long a material must be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Retention {
    /// 永久 — permanent.
    Permanent,
    /// 100年
    Years100,
    /// 50年
    Years50,
    /// 30年
    Years30,
    /// 10年
    Years10,
}

/// A retention code that is not on the ladder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("保管期限“{0}”无效：应为 Y（永久）、D100、D50、D30 或 D10")]
pub struct RetentionError(pub String);

impl Rejection for RetentionError {
    fn code(&self) -> &'static str {
        "invalid_retention"
    }
}

impl Retention {
    /// Every period, longest first.
    pub const ALL: [Retention; 5] = [
        Retention::Permanent,
        Retention::Years100,
        Retention::Years50,
        Retention::Years30,
        Retention::Years10,
    ];

    /// The DA/T 13 code: `Y`, `D100`, `D50`, `D30`, `D10`.
    pub fn code(self) -> &'static str {
        match self {
            Retention::Permanent => "Y",
            Retention::Years100 => "D100",
            Retention::Years50 => "D50",
            Retention::Years30 => "D30",
            Retention::Years10 => "D10",
        }
    }

    /// The Chinese label: 永久, 100年 …
    pub fn label(self) -> &'static str {
        match self {
            Retention::Permanent => "永久",
            Retention::Years100 => "100年",
            Retention::Years50 => "50年",
            Retention::Years30 => "30年",
            Retention::Years10 => "10年",
        }
    }

    /// The term in years, or `None` for permanent material.
    pub fn years(self) -> Option<i32> {
        match self {
            Retention::Permanent => None,
            Retention::Years100 => Some(100),
            Retention::Years50 => Some(50),
            Retention::Years30 => Some(30),
            Retention::Years10 => Some(10),
        }
    }

    /// The date on which material formed on `formed` falls due for appraisal: 1 January of the
    /// year after formation plus the term. Permanent material never falls due.
    pub fn appraisal_due(self, formed: NaiveDate) -> Option<NaiveDate> {
        self.years()
            .and_then(|n| NaiveDate::from_ymd_opt(formed.year() + 1 + n, 1, 1))
    }

    /// Parses a code (`Y`, `D30` …, case-insensitive) or a Chinese label (`永久`, `30年`).
    pub fn parse(s: &str) -> Result<Retention, RetentionError> {
        let t = s.trim();
        Retention::ALL
            .into_iter()
            .find(|r| r.code().eq_ignore_ascii_case(t) || r.label() == t)
            .ok_or_else(|| RetentionError(t.to_owned()))
    }
}

impl fmt::Display for Retention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Retention {
    type Err = RetentionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Retention::parse(s)
    }
}

impl TryFrom<String> for Retention {
    type Error = RetentionError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Retention::parse(&s)
    }
}

impl From<Retention> for String {
    fn from(r: Retention) -> String {
        r.code().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn appraisal_is_due_on_the_first_of_january_after_the_term() {
        assert_eq!(
            Retention::Years30.appraisal_due(d(2023, 5, 17)),
            Some(d(2054, 1, 1))
        );
        assert_eq!(
            Retention::Years10.appraisal_due(d(2023, 12, 31)),
            Some(d(2034, 1, 1))
        );
        assert_eq!(
            Retention::Years100.appraisal_due(d(2023, 1, 1)),
            Some(d(2124, 1, 1))
        );
    }

    #[test]
    fn permanent_material_is_never_due_for_appraisal() {
        assert_eq!(Retention::Permanent.appraisal_due(d(2023, 5, 17)), None);
    }

    #[test]
    fn codes_and_labels_parse_back() {
        for r in Retention::ALL {
            assert_eq!(Retention::parse(r.code()), Ok(r));
            assert_eq!(Retention::parse(r.label()), Ok(r));
        }
        assert_eq!(Retention::parse("d30"), Ok(Retention::Years30));
    }

    #[test]
    fn a_period_off_the_ladder_is_rejected() {
        let err = Retention::parse("D20").unwrap_err();
        assert_eq!(err.code(), "invalid_retention");
        assert!(err.to_string().contains("D20"));
    }
}
