//! 材料 — attributes of one archived material item that are not in the catalogue: its carrier
//! (paper, electronic or both) and its page count.

use serde::{Deserialize, Serialize};

use crate::Rejection;

/// 载体 — whether a material exists on paper, as a scan, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Carrier {
    /// 纸质 — paper only (not yet scanned).
    Paper,
    /// 电子 — electronic only (born digital, e.g. a certification record).
    Electronic,
    /// 纸质+电子 — paper original with its scan.
    Both,
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
    /// Not a material status code (a stored row this version cannot read).
    #[error("材料状态“{0}”无效：应为 normal、missing、damaged 或 lost")]
    InvalidStatus(String),
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
            MaterialError::InvalidStatus(_) => "invalid_material_status",
        }
    }
}

impl Carrier {
    /// Every carrier.
    pub const ALL: [Carrier; 3] = [Carrier::Paper, Carrier::Electronic, Carrier::Both];

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Carrier::Paper => "paper",
            Carrier::Electronic => "electronic",
            Carrier::Both => "both",
        }
    }

    /// The Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            Carrier::Paper => "纸质",
            Carrier::Electronic => "电子",
            Carrier::Both => "纸质+电子",
        }
    }

    /// Parses a code.
    pub fn parse(s: &str) -> Result<Carrier, MaterialError> {
        Carrier::ALL
            .into_iter()
            .find(|c| c.code() == s.trim())
            .ok_or_else(|| MaterialError::InvalidCarrier(s.trim().to_owned()))
    }
}

/// 材料状态 — where a material item is in its life: normal, found missing at handover
/// (材料缺失), damaged (损毁, until repaired) or lost (档案丢失).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaterialStatus {
    /// 正常
    Normal,
    /// 材料缺失 — listed on a handover but not received.
    Missing,
    /// 损毁 — damaged (received damaged, or damage recorded later), until repaired.
    Damaged,
    /// 档案丢失 — reported lost.
    Lost,
}

impl MaterialStatus {
    /// Every status.
    pub const ALL: [MaterialStatus; 4] = [
        MaterialStatus::Normal,
        MaterialStatus::Missing,
        MaterialStatus::Damaged,
        MaterialStatus::Lost,
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            MaterialStatus::Normal => "normal",
            MaterialStatus::Missing => "missing",
            MaterialStatus::Damaged => "damaged",
            MaterialStatus::Lost => "lost",
        }
    }

    /// The Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            MaterialStatus::Normal => "正常",
            MaterialStatus::Missing => "材料缺失",
            MaterialStatus::Damaged => "损毁",
            MaterialStatus::Lost => "档案丢失",
        }
    }

    /// The status of a stored code.
    pub fn parse(code: &str) -> Option<MaterialStatus> {
        MaterialStatus::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The handover outcome of a line (闭环交接): received (`ok`) leaves the item as it is,
    /// `missing` marks it 材料缺失, `damaged` marks it 损毁; anything else is no outcome.
    pub fn after_receipt(result: &str) -> Option<Option<MaterialStatus>> {
        match result {
            "ok" => Some(None),
            "missing" => Some(Some(MaterialStatus::Missing)),
            "damaged" => Some(Some(MaterialStatus::Damaged)),
            _ => None,
        }
    }
}

impl TryFrom<String> for MaterialStatus {
    type Error = MaterialError;
    /// Decodes a stored status (rows decode it with sqlx's `try_from`).
    fn try_from(code: String) -> Result<MaterialStatus, MaterialError> {
        MaterialStatus::parse(&code).ok_or(MaterialError::InvalidStatus(code))
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
    fn every_material_status_has_one_code_and_one_chinese_label() {
        for s in MaterialStatus::ALL {
            assert_eq!(MaterialStatus::parse(s.code()), Some(s));
            assert!(!s.label().is_ascii());
        }
        assert_eq!(MaterialStatus::parse("Lost"), None);
    }

    #[test]
    fn a_handover_line_received_keeps_the_item_and_a_difference_marks_it() {
        assert_eq!(MaterialStatus::after_receipt("ok"), Some(None));
        assert_eq!(
            MaterialStatus::after_receipt("missing"),
            Some(Some(MaterialStatus::Missing))
        );
        assert_eq!(
            MaterialStatus::after_receipt("damaged"),
            Some(Some(MaterialStatus::Damaged))
        );
        assert_eq!(MaterialStatus::after_receipt("torn"), None);
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
            assert_eq!(Carrier::parse(c.code()), Ok(c));
        }
        assert_eq!(
            Carrier::parse("film").unwrap_err().code(),
            "invalid_carrier"
        );
    }
}
