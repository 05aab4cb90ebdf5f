//! 档号 — archive numbers (S5.3, DA/T 13-2022).
//!
//! The default pattern is `{year}-{class}-{serial:3}`, which gives `2023-参保登记-001`: the year,
//! the business class and a serial that starts at 001 for every year and class and runs without
//! gaps. An agency may configure a DA/T 13 style pattern instead, e.g.
//! `{fonds}-ZY·{class_code}·{year}·{retention}-{serial:3}` → `X001-ZY·CB·2023·Y-001`.
//! Numbers are generated from a pattern and a serial the store allocates; they are never typed.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Rejection;
use crate::business::BusinessClass;
use crate::retention::Retention;

/// The default pattern of the founding guide: 年度-业务类别-卷号.
pub const DEFAULT_PATTERN: &str = "{year}-{class}-{serial:3}";
/// A DA/T 13-2022 style pattern: 全宗号-门类代码·类别·年度·保管期限-案卷号.
pub const DAT13_PATTERN: &str = "{fonds}-ZY·{class_code}·{year}·{retention}-{serial:3}";

/// A generated archive number (档号).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ArchiveNumber(String);

impl ArchiveNumber {
    /// The number as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ArchiveNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What is wrong with a pattern, or with the values it is rendered from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveNumberError {
    /// Unbalanced braces or an unknown placeholder.
    #[error("档号规则“{pattern}”无效：{reason}")]
    InvalidPattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong, in Chinese.
        reason: String,
    },
    /// The pattern needs a value that was not supplied.
    #[error("档号规则需要“{0}”，但未提供该值")]
    MissingValue(&'static str),
}

impl Rejection for ArchiveNumberError {
    fn code(&self) -> &'static str {
        match self {
            ArchiveNumberError::InvalidPattern { .. } => "invalid_archive_number_pattern",
            ArchiveNumberError::MissingValue(_) => "archive_number_value_missing",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Year,
    Class,
    ClassCode,
    Fonds,
    Retention,
    Serial(usize),
}

/// A validated archive-number pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveNumberPattern {
    source: String,
    pieces: Vec<Piece>,
}

/// The values an archive number is made of.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveNumberParts<'a> {
    /// 全宗号 — the fonds number of the agency, if the pattern uses it.
    pub fonds: Option<&'a str>,
    /// 年度 — the year of the material.
    pub year: i32,
    /// The business class.
    pub class: BusinessClass,
    /// The retention of the volume, if the pattern uses it.
    pub retention: Option<Retention>,
    /// 卷号 — the serial allocated for (year, class), from 1.
    pub serial: u32,
}

impl ArchiveNumberPattern {
    /// Parses a pattern. Placeholders: `{year}`, `{class}` (Chinese class name), `{class_code}`
    /// (two ASCII letters), `{fonds}`, `{retention}` (Y, D30 …) and `{serial:N}` (zero-padded to
    /// N digits, 1–6). A pattern must contain `{year}`, a class placeholder and the serial, so
    /// that numbers are unique per year and class.
    pub fn parse(pattern: &str) -> Result<ArchiveNumberPattern, ArchiveNumberError> {
        let invalid = |reason: &str| ArchiveNumberError::InvalidPattern {
            pattern: pattern.to_owned(),
            reason: reason.to_owned(),
        };
        let mut pieces = Vec::new();
        let mut rest = pattern;
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                Some(i) if rest[i..].starts_with('}') => return Err(invalid("多余的“}”")),
                Some(i) => {
                    if i > 0 {
                        pieces.push(Piece::Text(rest[..i].to_owned()));
                    }
                    let end = rest[i..].find('}').ok_or_else(|| invalid("缺少“}”"))? + i;
                    let name = &rest[i + 1..end];
                    pieces.push(match name {
                        "year" => Piece::Year,
                        "class" => Piece::Class,
                        "class_code" => Piece::ClassCode,
                        "fonds" => Piece::Fonds,
                        "retention" => Piece::Retention,
                        _ => match name.strip_prefix("serial") {
                            Some("") => Piece::Serial(3),
                            Some(w) => {
                                let width = w
                                    .strip_prefix(':')
                                    .and_then(|w| w.parse::<usize>().ok())
                                    .filter(|w| (1..=6).contains(w))
                                    .ok_or_else(|| invalid("卷号位数应为1至6"))?;
                                Piece::Serial(width)
                            }
                            None => return Err(invalid(&format!("未知的占位符“{{{name}}}”"))),
                        },
                    });
                    rest = &rest[end + 1..];
                }
                None => {
                    pieces.push(Piece::Text(rest.to_owned()));
                    rest = "";
                }
            }
        }
        let has = |f: fn(&Piece) -> bool| pieces.iter().any(f);
        if !has(|p| *p == Piece::Year) {
            return Err(invalid("必须包含年度 {year}"));
        }
        if !has(|p| matches!(p, Piece::Class | Piece::ClassCode)) {
            return Err(invalid("必须包含业务类别 {class} 或 {class_code}"));
        }
        if !has(|p| matches!(p, Piece::Serial(_))) {
            return Err(invalid("必须包含卷号 {serial:3}"));
        }
        Ok(ArchiveNumberPattern {
            source: pattern.to_owned(),
            pieces,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the pattern uses the fonds number.
    pub fn needs_fonds(&self) -> bool {
        self.pieces.contains(&Piece::Fonds)
    }

    /// Renders the number for the given parts.
    pub fn render(
        &self,
        parts: &ArchiveNumberParts<'_>,
    ) -> Result<ArchiveNumber, ArchiveNumberError> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Year => out.push_str(&parts.year.to_string()),
                Piece::Class => out.push_str(parts.class.name()),
                Piece::ClassCode => out.push_str(parts.class.short_code()),
                Piece::Fonds => out.push_str(
                    parts
                        .fonds
                        .ok_or(ArchiveNumberError::MissingValue("全宗号"))?,
                ),
                Piece::Retention => out.push_str(
                    parts
                        .retention
                        .ok_or(ArchiveNumberError::MissingValue("保管期限"))?
                        .code(),
                ),
                Piece::Serial(w) => out.push_str(&format!("{:0w$}", parts.serial, w = *w)),
            }
        }
        Ok(ArchiveNumber(out))
    }
}

impl Default for ArchiveNumberPattern {
    fn default() -> Self {
        ArchiveNumberPattern::parse(DEFAULT_PATTERN)
            .unwrap_or_else(|e| unreachable!("default pattern: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(serial: u32) -> ArchiveNumberParts<'static> {
        ArchiveNumberParts {
            fonds: Some("X001"),
            year: 2023,
            class: BusinessClass::Registration,
            retention: Some(Retention::Permanent),
            serial,
        }
    }

    #[test]
    fn the_default_pattern_gives_year_class_and_three_digit_serial() {
        let p = ArchiveNumberPattern::default();
        assert_eq!(p.render(&parts(1)).unwrap().as_str(), "2023-参保登记-001");
        assert_eq!(p.render(&parts(200)).unwrap().as_str(), "2023-参保登记-200");
    }

    #[test]
    fn the_dat13_pattern_carries_fonds_class_code_and_retention() {
        let p = ArchiveNumberPattern::parse(DAT13_PATTERN).unwrap();
        assert_eq!(
            p.render(&parts(7)).unwrap().as_str(),
            "X001-ZY·CB·2023·Y-007"
        );
        assert!(p.needs_fonds());
    }

    #[test]
    fn a_pattern_without_serial_or_with_unknown_placeholders_is_rejected() {
        for bad in [
            "{year}-{class}",
            "{year}-{serial}",
            "{year}-{class}-{serial:9}",
            "{year}-{klass}-{serial}",
            "{year}-{class}-{serial",
            "{year}}",
        ] {
            let err = ArchiveNumberPattern::parse(bad).unwrap_err();
            assert_eq!(err.code(), "invalid_archive_number_pattern", "{bad}");
        }
    }

    #[test]
    fn a_missing_fonds_number_is_an_error_not_a_blank() {
        let p = ArchiveNumberPattern::parse(DAT13_PATTERN).unwrap();
        let mut ps = parts(1);
        ps.fonds = None;
        assert_eq!(
            p.render(&ps),
            Err(ArchiveNumberError::MissingValue("全宗号"))
        );
    }
}
