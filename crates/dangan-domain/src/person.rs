//! 参保人 — attributes of an insured person other than the identity number: name, insurance
//! status (参保状态), contribution tier (缴费档次) and insured identity (参保身份).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Rejection;

/// What is wrong with a person's attribute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonError {
    /// Empty, too long, or containing characters a name cannot have.
    #[error("姓名“{0}”无效：应为1至30个字，可含汉字、字母、间隔号“·”和空格，不能含数字或符号")]
    InvalidName(String),
    /// Not one of the status codes.
    #[error(
        "参保状态“{0}”无效：应为 active（正常参保）、suspended（暂停参保）或 terminated（终止参保）"
    )]
    InvalidStatus(String),
    /// Not one of the identity codes.
    #[error("参保身份“{0}”无效，请从参保身份列表中选择（如 011 普通参保人员）")]
    InvalidIdentity(String),
    /// Outside the range of tiers any province uses.
    #[error("缴费档次“{0}”元无效：应为100至10000之间的整数（元/年）")]
    InvalidTier(i64),
}

impl Rejection for PersonError {
    fn code(&self) -> &'static str {
        match self {
            PersonError::InvalidName(_) => "invalid_name",
            PersonError::InvalidStatus(_) => "invalid_insurance_status",
            PersonError::InvalidIdentity(_) => "invalid_insured_identity",
            PersonError::InvalidTier(_) => "invalid_contribution_tier",
        }
    }
}

/// 姓名 — a person's name as on the identity card.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct PersonName(String);

impl PersonName {
    /// Accepts 1–30 characters: letters of any script (汉字, 少数民族 names in Latin letters), the
    /// interpunct `·` used in transliterated names, and inner spaces.
    pub fn parse(s: &str) -> Result<PersonName, PersonError> {
        let t = s.trim();
        let n = t.chars().count();
        let ok = (1..=30).contains(&n)
            && t.chars()
                .all(|c| c.is_alphabetic() || c == '·' || c == '•' || c == ' ')
            && t.chars().any(char::is_alphabetic);
        if ok {
            Ok(PersonName(t.replace('•', "·")))
        } else {
            Err(PersonError::InvalidName(t.chars().take(40).collect()))
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// 参保状态 — insurance status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InsuranceStatus {
    /// 正常参保
    Active,
    /// 暂停参保
    Suspended,
    /// 终止参保
    Terminated,
}

impl InsuranceStatus {
    /// Every status.
    pub const ALL: [InsuranceStatus; 3] = [
        InsuranceStatus::Active,
        InsuranceStatus::Suspended,
        InsuranceStatus::Terminated,
    ];

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            InsuranceStatus::Active => "active",
            InsuranceStatus::Suspended => "suspended",
            InsuranceStatus::Terminated => "terminated",
        }
    }

    /// The Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            InsuranceStatus::Active => "正常参保",
            InsuranceStatus::Suspended => "暂停参保",
            InsuranceStatus::Terminated => "终止参保",
        }
    }

    /// Parses a code or a label.
    pub fn parse(s: &str) -> Result<InsuranceStatus, PersonError> {
        let t = s.trim();
        InsuranceStatus::ALL
            .into_iter()
            .find(|x| x.code() == t || x.label() == t)
            .ok_or_else(|| PersonError::InvalidStatus(t.to_owned()))
    }
}

/// 参保身份 — the insured identity, with the codes of the national 居保 system
/// (011 普通; 021–023 残疾一至三级; 031–033 特困; 051–053 贫困人口; 061–063 低保; 071 计生特扶; 090 其他).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InsuredIdentity(u16);

const IDENTITIES: &[(u16, &str)] = &[
    (11, "普通参保人员"),
    (21, "一级残疾"),
    (22, "二级残疾"),
    (23, "三级残疾"),
    (31, "特困一类"),
    (32, "特困二类"),
    (33, "特困三类"),
    (51, "贫困人口一类"),
    (52, "贫困人口二类"),
    (53, "贫困人口三类"),
    (61, "低保一类"),
    (62, "低保二类"),
    (63, "低保三类"),
    (71, "计生特扶"),
    (90, "其他"),
];

impl InsuredIdentity {
    /// 011 普通参保人员.
    pub const ORDINARY: InsuredIdentity = InsuredIdentity(11);

    /// Every identity.
    pub fn all() -> impl Iterator<Item = InsuredIdentity> {
        IDENTITIES.iter().map(|(c, _)| InsuredIdentity(*c))
    }

    /// Parses the three-digit code (`011`) or the label.
    pub fn parse(s: &str) -> Result<InsuredIdentity, PersonError> {
        let t = s.trim();
        IDENTITIES
            .iter()
            .find(|(c, l)| format!("{c:03}") == t || *l == t)
            .map(|(c, _)| InsuredIdentity(*c))
            .ok_or_else(|| PersonError::InvalidIdentity(t.to_owned()))
    }

    /// The three-digit code.
    pub fn code(self) -> String {
        format!("{:03}", self.0)
    }

    /// The Chinese label.
    pub fn label(self) -> &'static str {
        IDENTITIES
            .iter()
            .find(|(c, _)| *c == self.0)
            .map_or("其他", |(_, l)| l)
    }

    /// Whether the government pays the minimum contribution for this group (政府代缴).
    pub fn is_special_group(self) -> bool {
        self.0 != 11 && self.0 != 90
    }
}

impl TryFrom<String> for InsuredIdentity {
    type Error = PersonError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        InsuredIdentity::parse(&s)
    }
}

impl From<InsuredIdentity> for String {
    fn from(i: InsuredIdentity) -> String {
        i.code()
    }
}

/// 缴费档次 — the chosen annual contribution in whole yuan (national tiers 100–2000; provinces
/// add their own, so any whole amount from 100 to 10000 is accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct ContributionTier(u32);

impl ContributionTier {
    /// Validates an amount in yuan per year.
    pub fn new(yuan: i64) -> Result<ContributionTier, PersonError> {
        u32::try_from(yuan)
            .ok()
            .filter(|y| (100..=10_000).contains(y))
            .map(ContributionTier)
            .ok_or(PersonError::InvalidTier(yuan))
    }

    /// The amount in yuan per year.
    pub fn yuan(self) -> u32 {
        self.0
    }
}

impl TryFrom<i64> for ContributionTier {
    type Error = PersonError;
    fn try_from(y: i64) -> Result<Self, Self::Error> {
        ContributionTier::new(y)
    }
}

impl From<ContributionTier> for i64 {
    fn from(t: ContributionTier) -> i64 {
        i64::from(t.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_and_transliterated_names_are_accepted() {
        for n in ["张三", "欧阳娜娜", "阿依古丽·买买提", "Li Ming"] {
            assert!(PersonName::parse(n).is_ok(), "{n}");
        }
    }

    #[test]
    fn names_with_digits_or_markup_are_rejected() {
        for n in ["", "  ", "张三1", "<script>", "a".repeat(31).as_str()] {
            assert_eq!(
                PersonName::parse(n).unwrap_err().code(),
                "invalid_name",
                "{n}"
            );
        }
    }

    #[test]
    fn identity_codes_parse_and_special_groups_are_recognised() {
        let low = InsuredIdentity::parse("061").unwrap();
        assert!(low.is_special_group());
        assert_eq!(low.label(), "低保一类");
        assert!(!InsuredIdentity::ORDINARY.is_special_group());
        assert!(InsuredIdentity::parse("999").is_err());
    }

    #[test]
    fn tiers_outside_the_accepted_range_are_rejected() {
        assert!(ContributionTier::new(100).is_ok());
        assert!(ContributionTier::new(2000).is_ok());
        assert!(ContributionTier::new(50).is_err());
        assert!(ContributionTier::new(-1).is_err());
    }
}
