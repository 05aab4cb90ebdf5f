//! 库房 — the paper archive room (S3.1): the kinds of place inside a room, which place may hold
//! which, the codes printed on labels and typed by a barcode scanner, and the outcomes of a
//! stocktake (盘点).
//!
//! A room holds a tree of places: a 密集架 (compact shelving unit), 档案柜 (cabinet) or 防火保险箱
//! (fire safe) at the top, then 列 (column), 节 (section), 层 (shelf) and 位 (position). A place
//! with a capacity (millimetres of shelf) is a *storage place*: volumes, or archive boxes
//! (档案盒) holding volumes, stand on it. A place in or under a fire safe is fire-safe, and a
//! volume designated as an important record (重要档案, e.g. 原始参保登记册) may stand nowhere else.

use crate::Rejection;
use crate::code_enum;

code_enum! {
    /// 位置类型 — the kind of a place in a room.
    pub enum PlaceKind: "位置类型" {
        /// 密集架 — a compact shelving unit.
        Shelving = ("shelving", "密集架"),
        /// 档案柜 — a cabinet.
        Cabinet = ("cabinet", "档案柜"),
        /// 防火保险箱 — a fire safe, for designated important records.
        FireSafe = ("fire_safe", "防火保险箱"),
        /// 列 — a column of a compact shelving unit.
        Column = ("column", "列"),
        /// 节 — a section of a column or cabinet.
        Section = ("section", "节"),
        /// 层 — a shelf.
        Shelf = ("shelf", "层"),
        /// 位 — a position on a shelf.
        Position = ("position", "位"),
    }
}

impl PlaceKind {
    /// Whether a place of this kind stands directly in a room (a unit).
    pub fn is_unit(self) -> bool {
        matches!(
            self,
            PlaceKind::Shelving | PlaceKind::Cabinet | PlaceKind::FireSafe
        )
    }

    /// The kinds a place of this kind may hold.
    pub fn children(self) -> &'static [PlaceKind] {
        match self {
            PlaceKind::Shelving => &[PlaceKind::Column, PlaceKind::Section, PlaceKind::Shelf],
            PlaceKind::Cabinet | PlaceKind::FireSafe => &[PlaceKind::Section, PlaceKind::Shelf],
            PlaceKind::Column => &[PlaceKind::Section, PlaceKind::Shelf],
            PlaceKind::Section => &[PlaceKind::Shelf],
            PlaceKind::Shelf => &[PlaceKind::Position],
            PlaceKind::Position => &[],
        }
    }

    /// Whether a place of this kind may hold one of `child`.
    pub fn may_hold(self, child: PlaceKind) -> bool {
        self.children().contains(&child)
    }
}

code_enum! {
    /// 存放状态 — where a volume is now.
    pub enum LocationState: "存放状态" {
        /// 在架 — on its place (or in a box there).
        InPlace = ("in_place", "在架"),
        /// 出库 — taken out of the room (repair, digitisation, lending).
        Out = ("out", "出库"),
    }
}

code_enum! {
    /// 变动类型 — a change of where a volume (or a box) is.
    pub enum MoveKind: "变动类型" {
        /// 上架 — first placed.
        Place = ("place", "上架"),
        /// 移架 — moved to another place or box.
        Move = ("move", "移架"),
        /// 出库 — taken out of the room.
        TakeOut = ("take_out", "出库"),
        /// 归库 — returned to a place.
        Return = ("return", "归库"),
    }
}

code_enum! {
    /// 盘点状态
    pub enum StocktakeState: "盘点状态" {
        /// 盘点中 — scans are being taken.
        Open = ("open", "盘点中"),
        /// 已完成 — closed; the result is kept.
        Closed = ("closed", "已完成"),
    }
}

code_enum! {
    /// 盘点结果 — what a stocktake found for one volume.
    pub enum StocktakeOutcome: "盘点结果" {
        /// 账实相符 — scanned where the register says it is.
        InPlace = ("in_place", "账实相符"),
        /// 错架 — expected in the scope, scanned at another place of it.
        Elsewhere = ("elsewhere", "位置不符"),
        /// 缺失 — expected, not scanned.
        Missing = ("missing", "未找到"),
        /// 账外 — scanned, but not expected in the scope (registered elsewhere, out of the room,
        /// never placed, or no volume at all).
        Unexpected = ("unexpected", "账外"),
    }
}

/// What is wrong with a code or a capacity as entered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomError {
    /// A code segment outside `A–Z`, `0–9`, or too long.
    #[error("编号“{0}”无效：只能由大写字母和数字组成，1–12 位（条码扫描枪只能可靠输入这些字符）")]
    InvalidCode(String),
    /// A kind that cannot stand there.
    #[error("{parent}下不能设置{child}")]
    KindNotAllowed {
        /// The parent's label (or 库房).
        parent: &'static str,
        /// The child's label.
        child: &'static str,
    },
    /// A capacity out of range.
    #[error("容量应为 1–100000 毫米")]
    InvalidCapacity,
}

impl Rejection for RoomError {
    fn code(&self) -> &'static str {
        match self {
            RoomError::InvalidCode(_) => "invalid_place_code",
            RoomError::KindNotAllowed { .. } => "place_kind_not_allowed",
            RoomError::InvalidCapacity => "invalid_capacity",
        }
    }
}

/// Checks one code segment (a room's code, or a place's own part of its code): upper-case ASCII
/// letters and digits, 1–12 of them. Lower case is raised, surrounding blanks are dropped.
pub fn code_segment(raw: &str) -> Result<String, RoomError> {
    let s = raw.trim().to_ascii_uppercase();
    if s.is_empty() || s.len() > 12 || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(RoomError::InvalidCode(
            raw.trim().chars().take(20).collect(),
        ));
    }
    Ok(s)
}

/// The full code of a place: its parent's code (or the room's) and its own segment.
pub fn place_code(parent_code: &str, segment: &str) -> String {
    format!("{parent_code}-{segment}")
}

/// Checks that `child` may stand under `parent` (`None`: directly in the room).
pub fn check_kind(parent: Option<PlaceKind>, child: PlaceKind) -> Result<(), RoomError> {
    let ok = match parent {
        None => child.is_unit(),
        Some(p) => p.may_hold(child),
    };
    if ok {
        Ok(())
    } else {
        Err(RoomError::KindNotAllowed {
            parent: parent.map_or("库房", PlaceKind::label),
            child: child.label(),
        })
    }
}

/// Checks a capacity in millimetres.
pub fn check_capacity(mm: i64) -> Result<i64, RoomError> {
    if (1..=100_000).contains(&mm) {
        Ok(mm)
    } else {
        Err(RoomError::InvalidCapacity)
    }
}

/// The prefix of a volume's scan code: `V` and the volume's row id in eight digits.
pub const VOLUME_CODE_PREFIX: char = 'V';
/// The prefix of an archive box's code.
pub const BOX_CODE_PREFIX: char = 'B';

/// The barcode of a volume's spine label: `V00000123`. Archive numbers carry Chinese (参保登记),
/// which neither Code 128 nor a keyboard-emulating scanner can carry, so the spine's barcode is
/// this code and the archive number is printed beside it.
pub fn volume_code(volume_id: i64) -> String {
    format!("{VOLUME_CODE_PREFIX}{volume_id:08}")
}

/// The volume id a scanned volume code names, if it is one.
pub fn parse_volume_code(code: &str) -> Option<i64> {
    let rest = code.trim().strip_prefix(['V', 'v'])?;
    if rest.is_empty() || rest.len() > 12 || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok().filter(|id| *id > 0)
}

/// What a stocktake says of one volume, from where the register had it (`expected`, `None`:
/// not in the scope) and where it was scanned (`scanned`, `None`: not scanned).
pub fn outcome<P: PartialEq>(expected: Option<P>, scanned: Option<P>) -> Option<StocktakeOutcome> {
    match (expected, scanned) {
        (Some(e), Some(s)) if e == s => Some(StocktakeOutcome::InPlace),
        (Some(_), Some(_)) => Some(StocktakeOutcome::Elsewhere),
        (Some(_), None) => Some(StocktakeOutcome::Missing),
        (None, Some(_)) => Some(StocktakeOutcome::Unexpected),
        (None, None) => None,
    }
}

/// A decimal as typed (`14`, `14.5`, `-3.25`) in units of 10^-`places`: `parse_decimal("36.5", 2)`
/// is 3650. `None` for anything else, or for more decimals than `places`.
pub fn parse_decimal(raw: &str, places: u32) -> Option<i64> {
    let s = raw.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty()
        || int.len() > 9
        || frac.len() > places as usize
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || (s.contains('.') && frac.is_empty())
    {
        return None;
    }
    let scale = 10_i64.pow(places);
    let frac_value: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse::<i64>().ok()? * 10_i64.pow(places - frac.len() as u32)
    };
    let v = int.parse::<i64>().ok()? * scale + frac_value;
    Some(if neg { -v } else { v })
}

/// A value in units of 10^-`places` as staff read it: `format_decimal(3650, 2)` is `36.5`.
pub fn format_decimal(v: i64, places: u32) -> String {
    let scale = 10_i64.pow(places);
    let sign = if v < 0 { "-" } else { "" };
    let a = v.abs();
    let frac = format!("{:0width$}", a % scale, width = places as usize);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{sign}{}", a / scale)
    } else {
        format!("{sign}{}.{frac}", a / scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::Code;

    #[test]
    fn every_room_code_has_one_chinese_label() {
        for k in PlaceKind::ALL {
            assert!(!k.label().is_ascii());
        }
        for k in StocktakeOutcome::ALL {
            assert!(!k.label().is_ascii());
        }
        for k in MoveKind::ALL {
            assert!(!k.label().is_ascii());
        }
    }

    #[test]
    fn units_stand_in_the_room_and_shelves_hold_positions_only() {
        assert!(check_kind(None, PlaceKind::Shelving).is_ok());
        assert!(check_kind(None, PlaceKind::FireSafe).is_ok());
        assert!(check_kind(None, PlaceKind::Shelf).is_err());
        assert!(check_kind(Some(PlaceKind::Shelving), PlaceKind::Column).is_ok());
        assert!(check_kind(Some(PlaceKind::Column), PlaceKind::Section).is_ok());
        assert!(check_kind(Some(PlaceKind::Section), PlaceKind::Shelf).is_ok());
        assert!(check_kind(Some(PlaceKind::Shelf), PlaceKind::Position).is_ok());
        assert!(check_kind(Some(PlaceKind::Shelf), PlaceKind::Column).is_err());
        assert!(check_kind(Some(PlaceKind::Position), PlaceKind::Position).is_err());
        let e = check_kind(Some(PlaceKind::Shelf), PlaceKind::Shelving).unwrap_err();
        assert_eq!(e.to_string(), "层下不能设置密集架");
    }

    #[test]
    fn a_code_segment_is_upper_case_ascii_and_a_chinese_one_is_refused() {
        assert_eq!(code_segment(" k01 ").unwrap(), "K01");
        assert!(code_segment("一号库").is_err());
        assert!(code_segment("A-1").is_err());
        assert!(code_segment("").is_err());
        assert!(code_segment("ABCDEFGHIJKLM").is_err());
        assert_eq!(place_code("K01-A", "3"), "K01-A-3");
    }

    #[test]
    fn a_volume_code_round_trips_and_other_text_is_not_one() {
        assert_eq!(volume_code(123), "V00000123");
        assert_eq!(parse_volume_code("V00000123"), Some(123));
        assert_eq!(parse_volume_code("v123"), Some(123));
        assert_eq!(parse_volume_code("V"), None);
        assert_eq!(parse_volume_code("V0"), None);
        assert_eq!(parse_volume_code("K01-A"), None);
        assert_eq!(parse_volume_code("2023-参保登记-001"), None);
    }

    #[test]
    fn decimals_are_read_in_fixed_units_and_printed_back_without_trailing_zeros() {
        assert_eq!(parse_decimal("36.5", 2), Some(3650));
        assert_eq!(parse_decimal("14", 1), Some(140));
        assert_eq!(parse_decimal("-3.2", 1), Some(-32));
        assert_eq!(parse_decimal(" 60.0 ", 1), Some(600));
        assert_eq!(parse_decimal("60.05", 1), None);
        assert_eq!(parse_decimal("6o", 1), None);
        assert_eq!(parse_decimal("", 1), None);
        assert_eq!(parse_decimal("1.", 1), None);
        assert_eq!(parse_decimal(".5", 1), None);
        assert_eq!(format_decimal(3650, 2), "36.5");
        assert_eq!(format_decimal(140, 1), "14");
        assert_eq!(format_decimal(-32, 1), "-3.2");
        assert_eq!(format_decimal(5, 1), "0.5");
    }

    #[test]
    fn the_four_outcomes_of_a_stocktake() {
        assert_eq!(outcome(Some(1), Some(1)), Some(StocktakeOutcome::InPlace));
        assert_eq!(outcome(Some(1), Some(2)), Some(StocktakeOutcome::Elsewhere));
        assert_eq!(outcome(Some(1), None), Some(StocktakeOutcome::Missing));
        assert_eq!(outcome(None, Some(2)), Some(StocktakeOutcome::Unexpected));
        assert_eq!(outcome::<i32>(None, None), None);
    }
}
