//! 更正 — correcting a person's archived data (S9.2): only with a proof document that is one of the
//! person's archived materials (e.g. 户口本复印件), with a modification record (date, field,
//! old → new, basis, who), and queued in the outbox to be sent back to the business system.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use dangan_domain::division::DivisionCode;
use dangan_domain::person::{ContributionTier, InsuranceStatus, InsuredIdentity, PersonName};
use dangan_store::corrections::{self, PersonField};
use dangan_store::events::{self, MaterialId};
use dangan_store::persons::{self, PersonId};

use crate::administration::roles::{Actor, UseCase};
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult};

/// A correction as submitted.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CorrectionInput {
    /// `name`, `division_code`, `status`, `tier` or `identity`.
    pub field: String,
    /// The corrected value.
    pub new_value: String,
    /// The proof: a material item of this person.
    pub proof_material_id: Option<i64>,
    /// 依据 — what the proof shows.
    pub basis: String,
}

/// A modification record as shown.
#[derive(Debug, Clone, Serialize)]
pub struct CorrectionView {
    /// Row id.
    pub id: i64,
    /// The field.
    pub field: String,
    /// Old value.
    pub old_value: String,
    /// New value.
    pub new_value: String,
    /// The proof document.
    pub proof_material_id: MaterialId,
    /// 依据
    pub basis: String,
    /// Who.
    pub corrected_by: String,
    /// When.
    pub corrected_at: DateTime<Utc>,
}

impl App {
    /// Corrects one field of a person's record with proof, on an opened archive (staff need a
    /// query registration for the person). Nothing changes without proof.
    pub async fn correct_person(
        &self,
        actor: &Actor,
        person: PersonId,
        input: &CorrectionInput,
    ) -> AppResult<CorrectionView> {
        self.authorize(actor, UseCase::CorrectData).await?;
        // A correction is made on an opened archive (it shows the old value and checks the
        // proof against the person's materials): the query registration applies to it too.
        let read = self.authorize(actor, UseCase::ReadArchive).await?;
        let Some(proof) = input.proof_material_id.map(MaterialId) else {
            return Err(AppError::invalid_with(
                "proof_required",
                Some("proof_material_id"),
                "更正档案信息须提供证明材料（如户口本复印件），请先将证明材料归档",
            ));
        };
        let basis = input.basis.trim();
        if basis.is_empty() || basis.chars().count() > 200 || basis.chars().any(char::is_control) {
            return Err(AppError::invalid_with(
                "basis_required",
                Some("basis"),
                "请填写更正依据（不超过200个字）",
            ));
        }
        let v = input.new_value.trim();
        let (column, new_text, field) = match input.field.trim() {
            "name" => {
                let n = PersonName::parse(v).map_err(|e| AppError::invalid("new_value", &e))?;
                ("name", n.as_str().to_owned(), None)
            }
            "division_code" => {
                let d = DivisionCode::parse(v).map_err(|e| AppError::invalid("new_value", &e))?;
                ("division_code", d.as_str().to_owned(), None)
            }
            "status" => (
                "status",
                InsuranceStatus::parse(v)
                    .map_err(|e| AppError::invalid("new_value", &e))?
                    .code()
                    .to_owned(),
                None,
            ),
            "identity" => (
                "identity",
                InsuredIdentity::parse(v)
                    .map_err(|e| AppError::invalid("new_value", &e))?
                    .code(),
                None,
            ),
            "tier" => {
                let yuan: i64 = v.parse().map_err(|_| {
                    AppError::invalid_with(
                        "invalid_contribution_tier",
                        Some("new_value"),
                        "缴费档次应为整数（元/年）",
                    )
                })?;
                let t =
                    ContributionTier::new(yuan).map_err(|e| AppError::invalid("new_value", &e))?;
                ("tier", t.yuan().to_string(), Some(i64::from(t.yuan())))
            }
            other => {
                return Err(AppError::invalid_with(
                    "invalid_field",
                    Some("field"),
                    format!(
                        "不能更正字段“{other}”：可更正 name、division_code、status、tier、identity（公民身份号码的变更按参保信息变更业务办理）"
                    ),
                ));
            }
        };
        let mut tx = self.store.begin_write().await?;
        let p = persons::get(&mut tx, person)
            .await?
            .ok_or_else(crate::access::persons::person_not_found)?;
        if let Some(refusal) = self.archive_access(&mut tx, actor, read, person).await? {
            tx.rollback().await?;
            let op = Op::new("person.correct", "person", person);
            return Err(self.deny(actor, op, refusal).await);
        }
        let m = events::material(&mut tx, proof).await?.ok_or_else(|| {
            AppError::invalid_with(
                "unknown_material",
                Some("proof_material_id"),
                "未找到该证明材料",
            )
        })?;
        let e = events::get(&mut tx, m.event_id)
            .await?
            .ok_or_else(|| AppError::Internal("event vanished".to_owned()))?;
        if e.person_id != person {
            return Err(AppError::invalid_with(
                "proof_not_of_person",
                Some("proof_material_id"),
                "证明材料不属于该参保人的档案",
            ));
        }
        let old = match column {
            "name" => p.name.clone(),
            "division_code" => p.division_code.clone(),
            "status" => p.status.clone(),
            "identity" => p.identity.clone(),
            _ => p.tier.map(|t| t.to_string()).unwrap_or_default(),
        };
        if old == new_text {
            return Err(AppError::invalid_with(
                "no_change",
                Some("new_value"),
                "新值与原值相同，无需更正",
            ));
        }
        let now = Utc::now();
        let change = match (column, field) {
            ("name", _) => PersonField::Name(&new_text),
            ("division_code", _) => PersonField::Division(&new_text),
            ("status", _) => PersonField::Status(&new_text),
            ("identity", _) => PersonField::Identity(&new_text),
            (_, tier) => PersonField::Tier(tier),
        };
        corrections::update_person_field(&mut tx, person, change, now).await?;
        let payload = serde_json::json!({
            "kind": "correction",
            "person_id": person.0,
            "id_number": p.id_number,
            "field": column,
            "old_value": old,
            "new_value": new_text,
            "basis": basis,
            "proof_material_id": proof.0,
            "corrected_by": actor.username,
            "corrected_at": crate::security::audit::stamp(now),
        })
        .to_string();
        let id = corrections::insert(
            &mut tx,
            person,
            column,
            &old,
            &new_text,
            proof,
            basis,
            &actor.username,
            &payload,
            now,
        )
        .await?;
        let op = Op::new("person.correct", "person", person)
            .detail(format!("{column}: {old} → {new_text}; proof {proof}"));
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        tx.commit().await?;
        Ok(CorrectionView {
            id,
            field: column.to_owned(),
            old_value: old,
            new_value: new_text,
            proof_material_id: proof,
            basis: basis.to_owned(),
            corrected_by: actor.username.clone(),
            corrected_at: now,
        })
    }

    /// The modification records of a person (part of the archive: needs a query registration).
    pub async fn corrections(
        &self,
        actor: &Actor,
        person: PersonId,
    ) -> AppResult<Vec<CorrectionView>> {
        let g = self.authorize(actor, UseCase::ReadArchive).await?;
        let op = Op::new("person.corrections.read", "person", person);
        let mut tx = self.begin_read().await?;
        if let Some(refusal) = self.archive_access(&mut tx, actor, g, person).await? {
            tx.rollback().await?;
            return Err(self.deny(actor, op, refusal).await);
        }
        let rows = corrections::for_person(&mut tx, person).await?;
        self.end_read(tx, actor, &op, Outcome::Ok).await?;
        Ok(rows
            .into_iter()
            .map(|r| CorrectionView {
                id: r.id,
                field: r.field,
                old_value: r.old_value,
                new_value: r.new_value,
                proof_material_id: r.proof_material_id,
                basis: r.basis,
                corrected_by: r.created_by,
                corrected_at: r.created_at,
            })
            .collect())
    }

    /// Corrections waiting to be sent to the business system (the integration delivers them).
    pub async fn pending_outbox(&self, actor: &Actor) -> AppResult<Vec<serde_json::Value>> {
        self.authorize(actor, UseCase::CorrectData).await?;
        let mut tx = self.store.begin().await?;
        let rows = corrections::pending_outbox(&mut tx, 1000).await?;
        tx.rollback().await?;
        Ok(rows
            .into_iter()
            .map(|(id, kind, person, payload)| {
                serde_json::json!({"id": id, "kind": kind, "person_id": person.0,
                    "payload": crate::integration::outbox::masked_payload(&payload)})
            })
            .collect())
    }
}
