//! 归档范围 — the filing catalogue (S1.1): per business type, which material types must be
//! filed (必归档), which may be filed (可选归档), their default retention (保管期限), and whether
//! the paper original is kept and a scan is required.
//!
//! The catalogue is data: the defaults here seed the database, an administrator edits it, and
//! every edit creates a new version. [`Catalogue::check`] is the completeness check that reports
//! 应归未归 (a required material is missing) and 过度归档 (a material outside the scope).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Rejection;
use crate::business::BusinessType;
use crate::retention::Retention;

/// 材料类型代码 — the stable ASCII code of a material type (`id_card_copy`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MaterialCode(String);

impl MaterialCode {
    /// Parses a code of 2–48 characters `a-z`, `0-9` and `_`, starting with a letter.
    pub fn parse(s: &str) -> Result<MaterialCode, CatalogueError> {
        let t = s.trim();
        let ok = (2..=48).contains(&t.len())
            && t.starts_with(|c: char| c.is_ascii_lowercase())
            && t.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if ok {
            Ok(MaterialCode(t.to_owned()))
        } else {
            Err(CatalogueError::InvalidMaterialCode(t.to_owned()))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MaterialCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for MaterialCode {
    type Error = CatalogueError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        MaterialCode::parse(&s)
    }
}

impl From<MaterialCode> for String {
    fn from(m: MaterialCode) -> String {
        m.0
    }
}

/// One row of the filing catalogue: a material type filed for a business type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueEntry {
    /// The business type whose events carry this material.
    pub business_type: BusinessType,
    /// The material type's code.
    pub material_code: MaterialCode,
    /// 材料名称 — the material's Chinese name.
    pub name: String,
    /// 必归档 (true) or 可选归档 (false).
    pub required: bool,
    /// The default retention of this material.
    pub retention: Retention,
    /// Whether the paper original is kept (纸质原件保存).
    pub paper_original_kept: bool,
    /// Whether a scan must be made (必扫).
    pub scan_required: bool,
}

/// What is wrong with a catalogue or a material against it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    /// A material code with characters other than `a-z0-9_`.
    #[error("材料类型代码“{0}”格式不正确：应为2至48位小写字母、数字或下划线，并以字母开头")]
    InvalidMaterialCode(String),
    /// An entry without a name, a name that is too long, or one with control characters.
    #[error("材料类型“{0}”的名称不能为空、不能超过60个字，且不能含控制字符")]
    InvalidName(String),
    /// The same material listed twice for one business type.
    #[error("业务类型“{business}”中材料类型“{material}”重复列出")]
    Duplicate {
        /// The business type's name.
        business: &'static str,
        /// The repeated material code.
        material: String,
    },
    /// 过度归档: a material type outside the filing scope of the business type.
    #[error(
        "过度归档：材料“{material}”不在“{business}”业务的归档范围内，请核对材料类型或联系管理员调整归档范围"
    )]
    OutOfScope {
        /// The business type's name.
        business: &'static str,
        /// The material code given.
        material: String,
    },
}

impl Rejection for CatalogueError {
    fn code(&self) -> &'static str {
        match self {
            CatalogueError::InvalidMaterialCode(_) => "invalid_material_code",
            CatalogueError::InvalidName(_) => "invalid_material_name",
            CatalogueError::Duplicate { .. } => "duplicate_catalogue_entry",
            CatalogueError::OutOfScope { .. } => "material_out_of_scope",
        }
    }
}

/// A required material that an event lacks (应归未归).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingMaterial {
    /// The material code.
    pub material_code: MaterialCode,
    /// The material's Chinese name.
    pub name: String,
}

/// The result of a completeness check of one business event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completeness {
    /// True when no required material is missing and nothing is out of scope.
    pub complete: bool,
    /// 应归未归 — required materials not present.
    pub missing: Vec<MissingMaterial>,
    /// 过度归档 — material codes present that the catalogue does not list for this business.
    pub out_of_scope: Vec<MaterialCode>,
}

/// A validated filing catalogue: at most one entry per business type and material type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalogue {
    entries: Vec<CatalogueEntry>,
}

impl Catalogue {
    /// Validates entries: names present and short, no duplicate (business type, material).
    pub fn new(entries: Vec<CatalogueEntry>) -> Result<Catalogue, CatalogueError> {
        let mut seen = BTreeSet::new();
        for e in &entries {
            let name = e.name.trim();
            if name.is_empty() || name.chars().count() > 60 || name.chars().any(char::is_control) {
                return Err(CatalogueError::InvalidName(e.material_code.to_string()));
            }
            if !seen.insert((e.business_type, e.material_code.clone())) {
                return Err(CatalogueError::Duplicate {
                    business: e.business_type.name(),
                    material: e.material_code.to_string(),
                });
            }
        }
        Ok(Catalogue { entries })
    }

    /// The catalogue shipped with Dangan (see `docs/catalogue.md` for the sources).
    pub fn builtin() -> Catalogue {
        Catalogue::new(default_entries()).unwrap_or_else(|e| unreachable!("builtin catalogue: {e}"))
    }

    /// Every entry, in catalogue order.
    pub fn entries(&self) -> &[CatalogueEntry] {
        &self.entries
    }

    /// The entries of one business type.
    pub fn entries_for(&self, business: BusinessType) -> impl Iterator<Item = &CatalogueEntry> {
        self.entries
            .iter()
            .filter(move |e| e.business_type == business)
    }

    /// The entry for a material of a business type, or 过度归档 when there is none.
    pub fn entry(
        &self,
        business: BusinessType,
        material: &MaterialCode,
    ) -> Result<&CatalogueEntry, CatalogueError> {
        self.entries_for(business)
            .find(|e| &e.material_code == material)
            .ok_or_else(|| CatalogueError::OutOfScope {
                business: business.name(),
                material: material.to_string(),
            })
    }

    /// The completeness check: which required materials are missing (应归未归) and which given
    /// materials are outside the scope (过度归档).
    pub fn check<'a>(
        &self,
        business: BusinessType,
        present: impl IntoIterator<Item = &'a MaterialCode>,
    ) -> Completeness {
        let present: BTreeSet<&MaterialCode> = present.into_iter().collect();
        let missing: Vec<MissingMaterial> = self
            .entries_for(business)
            .filter(|e| e.required && !present.contains(&e.material_code))
            .map(|e| MissingMaterial {
                material_code: e.material_code.clone(),
                name: e.name.clone(),
            })
            .collect();
        let out_of_scope: Vec<MaterialCode> = present
            .into_iter()
            .filter(|m| self.entry(business, m).is_err())
            .cloned()
            .collect();
        Completeness {
            complete: missing.is_empty() && out_of_scope.is_empty(),
            missing,
            out_of_scope,
        }
    }
}

/// The default rows: (business type, code, name, required, retention, paper kept, scan required).
///
/// Retention: the stricter of the founding guide (S1.3: enrolment, eligibility certification and
/// cancellation permanent) and 人社部令第3号 (personal registration and relationship changes
/// 100 years; contribution vouchers fixed term). Fixed terms are minimums, so stricter is lawful.
#[rustfmt::skip]
const DEFAULTS: &[(BusinessType, &str, &str, bool, Retention, bool, bool)] = {
    use BusinessType as B;
    use Retention as R;
    &[
        (B::Enrolment, "enrolment_form", "参保登记申请表", true, R::Permanent, true, true),
        (B::Enrolment, "id_card_copy", "身份证复印件", true, R::Permanent, true, true),
        (B::Enrolment, "household_register_copy", "户口本复印件", true, R::Permanent, true, true),
        (B::Enrolment, "subsistence_certificate", "低保证明", false, R::Permanent, true, true),
        (B::Enrolment, "disability_certificate", "残疾证明", false, R::Permanent, true, true),
        (B::InfoChange, "info_change_form", "参保信息变更登记表", true, R::Years100, true, true),
        (B::InfoChange, "id_card_copy", "身份证复印件", true, R::Years100, true, true),
        (B::InfoChange, "household_register_copy", "户口本复印件", false, R::Years100, true, true),
        (B::InfoChange, "change_proof", "变更证明材料", false, R::Years100, true, true),
        (B::Contribution, "contribution_voucher", "缴费凭证", true, R::Years30, true, true),
        (B::BackPayment, "back_payment_application", "补缴申请表", true, R::Years30, true, true),
        (B::BackPayment, "contribution_voucher", "缴费凭证", true, R::Years30, true, true),
        (B::BackPayment, "id_card_copy", "身份证复印件", false, R::Years30, true, true),
        (B::SpecialGroup, "special_group_form", "特殊群体认定表", true, R::Years30, true, true),
        (B::SpecialGroup, "subsistence_certificate", "低保证明", false, R::Years30, true, true),
        (B::SpecialGroup, "disability_certificate", "残疾证明", false, R::Years30, true, true),
        (B::SpecialGroup, "extreme_poverty_certificate", "特困人员证明", false, R::Years30, true, true),
        (B::BenefitClaim, "benefit_claim_form", "待遇申领表", true, R::Permanent, true, true),
        (B::BenefitClaim, "benefit_approval_form", "待遇核定表", true, R::Permanent, true, true),
        (B::BenefitClaim, "id_card_copy", "身份证复印件", true, R::Permanent, true, true),
        (B::BenefitClaim, "household_register_copy", "户口本复印件", true, R::Permanent, true, true),
        (B::BenefitClaim, "bank_card_copy", "社会保障卡（银行卡）复印件", false, R::Permanent, true, true),
        (B::EligibilityCertification, "certification_record", "待遇资格认证记录", true, R::Permanent, false, true),
        (B::BenefitSuspension, "suspension_form", "待遇暂停/恢复审批表", true, R::Years30, true, true),
        (B::BenefitSuspension, "suspension_proof", "暂停/恢复依据材料", false, R::Years30, true, true),
        (B::TransferIn, "transfer_in_application", "转入申请表", true, R::Years100, true, true),
        (B::TransferIn, "transfer_letter", "转移接续函", true, R::Years100, true, true),
        (B::TransferIn, "id_card_copy", "身份证复印件", false, R::Years100, true, true),
        (B::TransferOut, "transfer_out_approval", "转出审批表", true, R::Years100, true, true),
        (B::TransferOut, "transfer_letter", "转移接续函", true, R::Years100, true, true),
        (B::Cancellation, "cancellation_form", "注销登记表", true, R::Permanent, true, true),
        (B::Cancellation, "commitment_letter", "承诺书", false, R::Permanent, true, true),
        (B::Cancellation, "death_certificate", "死亡证明", false, R::Permanent, true, true),
        (B::Cancellation, "id_card_copy", "身份证复印件", false, R::Permanent, true, true),
    ]
};

/// The default catalogue rows as entries.
pub fn default_entries() -> Vec<CatalogueEntry> {
    DEFAULTS
        .iter()
        .map(
            |&(business_type, code, name, required, retention, paper, scan)| CatalogueEntry {
                business_type,
                material_code: MaterialCode(code.to_owned()),
                name: name.to_owned(),
                required,
                retention,
                paper_original_kept: paper,
                scan_required: scan,
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> MaterialCode {
        MaterialCode::parse(s).unwrap()
    }

    #[test]
    fn every_business_type_has_at_least_one_required_material() {
        let cat = Catalogue::builtin();
        for b in BusinessType::ALL {
            assert!(cat.entries_for(b).any(|e| e.required), "{b}");
        }
    }

    #[test]
    fn enrolment_needs_the_form_the_id_card_and_the_household_register() {
        let cat = Catalogue::builtin();
        let result = cat.check(BusinessType::Enrolment, &[code("enrolment_form")]);
        assert!(!result.complete);
        let missing: Vec<_> = result.missing.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(missing, ["身份证复印件", "户口本复印件"]);
        assert!(result.out_of_scope.is_empty());
    }

    #[test]
    fn a_material_name_with_a_control_character_is_refused() {
        let mut entries = default_entries();
        entries[0].name = "申请表\0".to_owned();
        assert!(matches!(
            Catalogue::new(entries),
            Err(CatalogueError::InvalidName(_))
        ));
    }

    #[test]
    fn a_complete_enrolment_passes() {
        let cat = Catalogue::builtin();
        let present = [
            code("enrolment_form"),
            code("id_card_copy"),
            code("household_register_copy"),
            code("disability_certificate"),
        ];
        let result = cat.check(BusinessType::Enrolment, &present);
        assert!(result.complete, "{result:?}");
    }

    #[test]
    fn a_material_outside_the_scope_is_reported_as_over_filing() {
        let cat = Catalogue::builtin();
        let result = cat.check(
            BusinessType::Contribution,
            &[code("contribution_voucher"), code("death_certificate")],
        );
        assert_eq!(result.out_of_scope, [code("death_certificate")]);
        assert!(!result.complete);
        let err = cat
            .entry(BusinessType::Contribution, &code("death_certificate"))
            .unwrap_err();
        assert_eq!(err.code(), "material_out_of_scope");
        assert!(err.to_string().starts_with("过度归档"));
    }

    #[test]
    fn a_duplicate_entry_is_rejected() {
        let mut entries = default_entries();
        entries.push(entries[0].clone());
        assert!(matches!(
            Catalogue::new(entries),
            Err(CatalogueError::Duplicate { .. })
        ));
    }

    #[test]
    fn material_codes_are_lowercase_ascii() {
        assert!(MaterialCode::parse("id_card_copy").is_ok());
        for bad in ["", "x", "ID_CARD", "身份证", "1abc", "a b"] {
            assert!(MaterialCode::parse(bad).is_err(), "{bad}");
        }
    }
}
