//! 环境监测 — the readings of an archive room's temperature and relative humidity and the
//! alerts they raise (S2.3, S7.1). Values are whole tenths (of a degree, of a per cent), as the
//! room's thresholds are, so that no float is stored or compared.

use crate::code_enum;

code_enum! {
    /// 监测项目 — what a reading or an alert measures.
    pub enum Measure: "监测项目" {
        /// 温度 (℃).
        Temperature = ("temperature", "温度"),
        /// 相对湿度 (%).
        Humidity = ("humidity", "湿度"),
    }
}

code_enum! {
    /// 读数来源 — where a reading came from.
    pub enum ReadingSource: "读数来源" {
        /// 记录仪 — sent by a data logger through the API.
        Logger = ("logger", "记录仪"),
        /// 导入 — imported from a logger's CSV export.
        Import = ("import", "导入"),
        /// 人工 — read at the daily check.
        Manual = ("manual", "人工"),
    }
}

code_enum! {
    /// 告警状态 — an environment alert is open until an action is recorded and a later reading
    /// is back in range.
    pub enum AlertState: "告警状态" {
        /// 未解除
        Open = ("open", "未解除"),
        /// 已解除
        Closed = ("closed", "已解除"),
    }
}

code_enum! {
    /// 检查结果 — one item of the daily check.
    pub enum ItemResult: "检查结果" {
        /// 正常
        Normal = ("normal", "正常"),
        /// 异常 (a note says what).
        Abnormal = ("abnormal", "异常"),
    }
}

/// The range a measure must stay in, in tenths: `[min, max]`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Band {
    /// Lowest value in range.
    pub min: i64,
    /// Highest value in range.
    pub max: i64,
}

impl Band {
    /// Whether a value is inside the band (the limits themselves are in range).
    pub fn contains(self, v: i64) -> bool {
        (self.min..=self.max).contains(&v)
    }
}

/// A number sent by a logger (℃ or %) as whole tenths, rounded half away from zero; `None` for
/// a value no sensor gives (NaN, infinite, or outside −100–200).
pub fn tenths(v: f64) -> Option<i64> {
    if !v.is_finite() || !(-100.0..=200.0).contains(&v) {
        return None;
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "the value is checked to lie within −1000–2000 tenths"
    )]
    Some((v * 10.0).round() as i64)
}

/// Whether a reading is a plausible temperature (−40–80 ℃) and relative humidity (0–100 %).
pub fn plausible(temperature_dc: i64, humidity_pm: i64) -> bool {
    (-400..=800).contains(&temperature_dc) && (0..=1000).contains(&humidity_pm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logger_value_becomes_tenths_rounded() {
        assert_eq!(tenths(18.25), Some(183));
        assert_eq!(tenths(-3.04), Some(-30));
        assert_eq!(tenths(f64::NAN), None);
        assert_eq!(tenths(1e9), None);
    }

    #[test]
    fn the_limits_of_a_band_are_in_range() {
        let b = Band { min: 140, max: 240 };
        assert!(b.contains(140) && b.contains(240));
        assert!(!b.contains(139) && !b.contains(241));
    }
}
