//! 业务类型 — the business events of urban-rural residents' basic pension insurance
//! (城乡居民基本养老保险) that produce archive material, and the four business classes
//! (业务类别) of S1.2 under which the archive is classified and numbered.
//!
//! Classification follows 人社部令第3号 art. 8 ("年度—业务环节"): year, then business class,
//! then the insured person (一人一档) as an additional level.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Rejection;

/// 业务类别 — the classification level of S1.2; archive numbers count per year and class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BusinessClass {
    /// 参保登记 — enrolment, changes of registered data and cancellation.
    Registration,
    /// 缴费管理 — contributions, back payments and government-paid contributions.
    Contribution,
    /// 待遇支付 — benefit claims, eligibility certification, suspension and resumption.
    Benefit,
    /// 转移接续 — transfer of the insurance relationship in and out.
    Transfer,
}

impl BusinessClass {
    /// All classes in the order the archive arranges them.
    pub const ALL: [BusinessClass; 4] = [
        BusinessClass::Registration,
        BusinessClass::Contribution,
        BusinessClass::Benefit,
        BusinessClass::Transfer,
    ];

    /// The API code (`registration` …).
    pub fn code(self) -> &'static str {
        match self {
            BusinessClass::Registration => "registration",
            BusinessClass::Contribution => "contribution",
            BusinessClass::Benefit => "benefit",
            BusinessClass::Transfer => "transfer",
        }
    }

    /// The Chinese name used in archive numbers: 参保登记, 缴费管理, 待遇支付, 转移接续.
    pub fn name(self) -> &'static str {
        match self {
            BusinessClass::Registration => "参保登记",
            BusinessClass::Contribution => "缴费管理",
            BusinessClass::Benefit => "待遇支付",
            BusinessClass::Transfer => "转移接续",
        }
    }

    /// A two-letter ASCII code for DA/T 13 style archive numbers (pinyin initials).
    pub fn short_code(self) -> &'static str {
        match self {
            BusinessClass::Registration => "CB",
            BusinessClass::Contribution => "JF",
            BusinessClass::Benefit => "DY",
            BusinessClass::Transfer => "ZY",
        }
    }

    /// Parses the API code or the Chinese name.
    pub fn parse(s: &str) -> Result<BusinessClass, BusinessTypeError> {
        let t = s.trim();
        BusinessClass::ALL
            .into_iter()
            .find(|c| c.code() == t || c.name() == t || c.short_code() == t)
            .ok_or_else(|| BusinessTypeError::UnknownClass(t.to_owned()))
    }
}

impl fmt::Display for BusinessClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// 业务类型 — one kind of business event (`domain.md` §12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum BusinessType {
    /// 参保登记 — enrolment.
    Enrolment,
    /// 参保信息变更 — change of registered personal data.
    InfoChange,
    /// 缴费 — a regular annual contribution.
    Contribution,
    /// 补缴 — a back payment of missed years.
    BackPayment,
    /// 特殊群体认定 — recognition of a hardship group (残疾/低保/特困 …), whose minimum tier the
    /// government pays (政府代缴).
    SpecialGroup,
    /// 待遇申领/核定 — benefit claim and its approval.
    BenefitClaim,
    /// 待遇资格认证 — the periodic certification that a recipient is alive and eligible.
    EligibilityCertification,
    /// 待遇暂停/恢复 — suspension or resumption of benefit payment.
    BenefitSuspension,
    /// 关系转入 — transfer of the insurance relationship into this county.
    TransferIn,
    /// 关系转出 — transfer of the insurance relationship out of this county.
    TransferOut,
    /// 注销登记 — cancellation (death, emigration, another basic pension).
    Cancellation,
}

/// An unknown business type or class.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusinessTypeError {
    /// Not a business type code or name.
    #[error("业务类型“{0}”无效，请从业务类型列表中选择")]
    UnknownType(String),
    /// Not a business class code or name.
    #[error("业务类别“{0}”无效：应为参保登记、缴费管理、待遇支付或转移接续")]
    UnknownClass(String),
}

impl Rejection for BusinessTypeError {
    fn code(&self) -> &'static str {
        match self {
            BusinessTypeError::UnknownType(_) => "unknown_business_type",
            BusinessTypeError::UnknownClass(_) => "unknown_business_class",
        }
    }
}

impl BusinessType {
    /// Every business type, in catalogue order.
    pub const ALL: [BusinessType; 11] = [
        BusinessType::Enrolment,
        BusinessType::InfoChange,
        BusinessType::Contribution,
        BusinessType::BackPayment,
        BusinessType::SpecialGroup,
        BusinessType::BenefitClaim,
        BusinessType::EligibilityCertification,
        BusinessType::BenefitSuspension,
        BusinessType::TransferIn,
        BusinessType::TransferOut,
        BusinessType::Cancellation,
    ];

    /// The stable ASCII code used by the API and the database.
    pub fn code(self) -> &'static str {
        match self {
            BusinessType::Enrolment => "enrolment",
            BusinessType::InfoChange => "info_change",
            BusinessType::Contribution => "contribution",
            BusinessType::BackPayment => "back_payment",
            BusinessType::SpecialGroup => "special_group",
            BusinessType::BenefitClaim => "benefit_claim",
            BusinessType::EligibilityCertification => "eligibility_certification",
            BusinessType::BenefitSuspension => "benefit_suspension",
            BusinessType::TransferIn => "transfer_in",
            BusinessType::TransferOut => "transfer_out",
            BusinessType::Cancellation => "cancellation",
        }
    }

    /// The Chinese name shown to users.
    pub fn name(self) -> &'static str {
        match self {
            BusinessType::Enrolment => "参保登记",
            BusinessType::InfoChange => "参保信息变更",
            BusinessType::Contribution => "缴费",
            BusinessType::BackPayment => "补缴",
            BusinessType::SpecialGroup => "特殊群体认定",
            BusinessType::BenefitClaim => "待遇申领/核定",
            BusinessType::EligibilityCertification => "待遇资格认证",
            BusinessType::BenefitSuspension => "待遇暂停/恢复",
            BusinessType::TransferIn => "关系转入",
            BusinessType::TransferOut => "关系转出",
            BusinessType::Cancellation => "注销登记",
        }
    }

    /// The class under which this business is classified and numbered (S1.2).
    ///
    /// 特殊群体认定 sits under 缴费管理 because its consequence is the government paying the
    /// contribution; 注销登记 under 参保登记 because it ends the registration.
    pub fn class(self) -> BusinessClass {
        match self {
            BusinessType::Enrolment | BusinessType::InfoChange | BusinessType::Cancellation => {
                BusinessClass::Registration
            }
            BusinessType::Contribution | BusinessType::BackPayment | BusinessType::SpecialGroup => {
                BusinessClass::Contribution
            }
            BusinessType::BenefitClaim
            | BusinessType::EligibilityCertification
            | BusinessType::BenefitSuspension => BusinessClass::Benefit,
            BusinessType::TransferIn | BusinessType::TransferOut => BusinessClass::Transfer,
        }
    }

    /// Parses the ASCII code or the Chinese name.
    pub fn parse(s: &str) -> Result<BusinessType, BusinessTypeError> {
        let t = s.trim();
        BusinessType::ALL
            .into_iter()
            .find(|b| b.code() == t || b.name() == t)
            .ok_or_else(|| BusinessTypeError::UnknownType(t.to_owned()))
    }
}

impl fmt::Display for BusinessType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl TryFrom<String> for BusinessType {
    type Error = BusinessTypeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        BusinessType::parse(&s)
    }
}

impl From<BusinessType> for String {
    fn from(b: BusinessType) -> String {
        b.code().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_business_type_belongs_to_one_of_the_four_classes() {
        for b in BusinessType::ALL {
            assert!(BusinessClass::ALL.contains(&b.class()));
        }
        assert_eq!(BusinessType::Enrolment.class().name(), "参保登记");
        assert_eq!(BusinessType::BackPayment.class().name(), "缴费管理");
        assert_eq!(
            BusinessType::EligibilityCertification.class().name(),
            "待遇支付"
        );
        assert_eq!(BusinessType::TransferOut.class().name(), "转移接续");
    }

    #[test]
    fn codes_and_chinese_names_parse_back() {
        for b in BusinessType::ALL {
            assert_eq!(BusinessType::parse(b.code()), Ok(b));
            assert_eq!(BusinessType::parse(b.name()), Ok(b));
        }
        for c in BusinessClass::ALL {
            assert_eq!(BusinessClass::parse(c.name()), Ok(c));
        }
    }

    #[test]
    fn codes_are_ascii_and_unique() {
        let mut codes: Vec<_> = BusinessType::ALL.iter().map(|b| b.code()).collect();
        assert!(codes.iter().all(|c| c.is_ascii()));
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), BusinessType::ALL.len());
    }

    #[test]
    fn an_unknown_business_type_is_rejected_with_a_stable_code() {
        let err = BusinessType::parse("养老金调整").unwrap_err();
        assert_eq!(err.code(), "unknown_business_type");
    }
}
