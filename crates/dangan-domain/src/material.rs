//! 材料 — attributes of one archived material item that are not in the catalogue: its carrier
//! (paper, electronic or both) and its page count.

use crate::Rejection;
use crate::code::Code;
use crate::code_enum;

code_enum! {
    /// 载体 — whether a material exists on paper, as a scan, or both.
    pub enum Carrier: "载体" {
        /// 纸质 — paper only (not yet scanned).
        Paper = ("paper", "纸质"),
        /// 电子 — electronic only (born digital, e.g. a certification record).
        Electronic = ("electronic", "电子"),
        /// 纸质+电子 — paper original with its scan.
        Both = ("both", "纸质+电子"),
    }
}

/// What is wrong with a material attribute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MaterialError {
    /// Not a carrier code.
    #[error("载体“{0}”无效：应为 paper（纸质）、electronic（电子）或 both（纸质+电子）")]
    InvalidCarrier(String),
    /// Page count outside 1–2000.
    #[error("页数{0}无效：应为1至2000之间的整数")]
    InvalidPages(i64),
    /// Remarks too long.
    #[error("备注过长：不能超过500个字")]
    RemarksTooLong,
    /// Remarks with a control character (a line break, a tab, a NUL …).
    #[error("备注不能含控制字符（如换行符、制表符）；请写成一行")]
    RemarksWithControlCharacter,
}

impl Rejection for MaterialError {
    fn code(&self) -> &'static str {
        match self {
            MaterialError::InvalidCarrier(_) => "invalid_carrier",
            MaterialError::InvalidPages(_) => "invalid_pages",
            MaterialError::RemarksTooLong => "remarks_too_long",
            MaterialError::RemarksWithControlCharacter => "invalid_remarks",
        }
    }
}

impl Carrier {
    /// Parses a code (trimmed).
    pub fn parse(s: &str) -> Result<Carrier, MaterialError> {
        Carrier::from_code(s.trim())
            .ok_or_else(|| MaterialError::InvalidCarrier(s.trim().to_owned()))
    }

    /// Whether there is paper to hand over and shelve.
    pub fn has_paper(self) -> bool {
        self != Carrier::Electronic
    }
}

code_enum! {
    /// 材料状态 — where a material item is in its life: normal, found missing at handover
    /// (材料缺失), damaged (损毁, until repaired) or lost (档案丢失).
    pub enum MaterialStatus: "材料状态" {
        /// 正常
        Normal = ("normal", "正常"),
        /// 材料缺失 — listed on a handover but not received.
        Missing = ("missing", "材料缺失"),
        /// 损毁 — damaged (received damaged, or damage recorded later), until repaired.
        Damaged = ("damaged", "损毁"),
        /// 档案丢失 — reported lost.
        Lost = ("lost", "档案丢失"),
    }
}

/// Validates a page count (1–2000 sheets' faces per item).
pub fn pages(n: i64) -> Result<u32, MaterialError> {
    u32::try_from(n)
        .ok()
        .filter(|p| (1..=2000).contains(p))
        .ok_or(MaterialError::InvalidPages(n))
}

/// Validates remarks (备注): trimmed, at most 500 characters, no control character (one line,
/// as printed in the contents list; PostgreSQL also refuses a NUL in text); empty becomes `None`.
pub fn remarks(s: Option<&str>) -> Result<Option<String>, MaterialError> {
    match s.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.chars().count() > 500 => Err(MaterialError::RemarksTooLong),
        Some(t) if t.chars().any(char::is_control) => {
            Err(MaterialError::RemarksWithControlCharacter)
        }
        Some(t) => Ok(Some(t.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_material_status_and_carrier_has_one_code_and_one_chinese_label() {
        for s in MaterialStatus::ALL {
            assert_eq!(MaterialStatus::from_code(s.code()), Some(*s));
            assert!(!s.label().is_ascii());
        }
        assert_eq!(MaterialStatus::from_code("Lost"), None);
        assert!(MaterialStatus::try_from("Lost".to_owned()).is_err());
        for c in Carrier::ALL {
            assert!(!c.label().is_ascii());
        }
    }

    #[test]
    fn remarks_are_one_line_without_control_characters() {
        assert_eq!(remarks(Some(" 复印件 ")), Ok(Some("复印件".to_owned())));
        for bad in ["a\0b", "第一行\n第二行", "a\tb"] {
            assert_eq!(
                remarks(Some(bad)),
                Err(MaterialError::RemarksWithControlCharacter),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn page_counts_outside_the_range_are_rejected() {
        assert_eq!(pages(3), Ok(3));
        assert!(pages(0).is_err());
        assert!(pages(2001).is_err());
    }

    #[test]
    fn carriers_parse_from_their_codes() {
        for c in Carrier::ALL {
            assert_eq!(Carrier::parse(c.code()), Ok(*c));
        }
        assert_eq!(
            Carrier::parse("film").unwrap_err().code(),
            "invalid_carrier"
        );
    }
}
