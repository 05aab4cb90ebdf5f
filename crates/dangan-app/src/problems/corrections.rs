//! 更正 — correcting a person's archived data (S9.2): only with a proof document that is one of the
//! person's archived materials (e.g. 户口本复印件), with a modification record (date, field,
//! old → new, basis, who), and queued in the outbox to be sent back to the business system.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use dangan_domain::change::{FieldValue, PersonField};
use dangan_domain::code::Code;
use dangan_store::Tx;
use dangan_store::corrections::{self, CorrectionId, CorrectionRow, NewCorrection};
use dangan_store::events::{self, MaterialId};
use dangan_store::persons::{self, PersonId, PersonRow};

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
    pub id: CorrectionId,
    /// The field: `name`, `division_code`, `status`, `tier` or `identity`.
    pub field: PersonField,
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

/// A correction, checked: the new value by its field's rule, the proof and the basis present.
struct Checked {
    value: FieldValue,
    proof: MaterialId,
    basis: String,
}

/// Checks a correction as submitted (S9.2: nothing changes without proof).
fn check_correction(input: &CorrectionInput) -> AppResult<Checked> {
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
    let field = PersonField::from_code(input.field.trim()).ok_or_else(|| {
        AppError::invalid_with(
            "invalid_field",
            Some("field"),
            format!(
                "不能更正字段“{}”：可更正 name、division_code、status、tier、identity（公民身份号码的变更按参保信息变更业务办理）",
                input.field.trim().chars().take(40).collect::<String>()
            ),
        )
    })?;
    let value = FieldValue::parse(field, &input.new_value)
        .map_err(|e| AppError::invalid("new_value", &e))?;
    Ok(Checked {
        value,
        proof,
        basis: basis.to_owned(),
    })
}

/// The current value of a person field, as the modification record shows it.
fn current_text(p: &PersonRow, field: PersonField) -> String {
    match field {
        PersonField::Name => p.name.clone(),
        PersonField::Division => p.division_code.clone(),
        PersonField::Status => p.status.code().to_owned(),
        PersonField::Identity => p.identity.clone(),
        PersonField::Tier => p.tier.map(|t| t.to_string()).unwrap_or_default(),
    }
}

/// The proof must be one of the person's own archived materials.
async fn check_proof(tx: &mut Tx, person: PersonId, proof: MaterialId) -> AppResult<()> {
    let m = events::material(tx, proof).await?.ok_or_else(|| {
        AppError::invalid_with(
            "unknown_material",
            Some("proof_material_id"),
            "未找到该证明材料",
        )
    })?;
    let e = events::get(tx, m.event_id)
        .await?
        .ok_or_else(|| AppError::Internal("event vanished".to_owned()))?;
    if e.person_id != person {
        return Err(AppError::invalid_with(
            "proof_not_of_person",
            Some("proof_material_id"),
            "证明材料不属于该参保人的档案",
        ));
    }
    Ok(())
}

fn correction_view(r: CorrectionRow) -> CorrectionView {
    CorrectionView {
        id: r.id,
        field: r.field,
        old_value: r.old_value,
        new_value: r.new_value,
        proof_material_id: r.proof_material_id,
        basis: r.basis,
        corrected_by: r.created_by,
        corrected_at: r.created_at,
    }
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
        let c = check_correction(input)?;
        let mut tx = self.store.begin_write().await?;
        let p = persons::get(&mut tx, person)
            .await?
            .ok_or_else(crate::access::persons::person_not_found)?;
        if let Some(refusal) = self.archive_access(&mut tx, actor, read, person).await? {
            tx.rollback().await?;
            let op = Op::new("person.correct", "person", person);
            return Err(self.deny(actor, op, refusal).await);
        }
        check_proof(&mut tx, person, c.proof).await?;
        let field = c.value.field();
        let old = current_text(&p, field);
        let new_text = c.value.text();
        if old == new_text {
            return Err(AppError::invalid_with(
                "no_change",
                Some("new_value"),
                "新值与原值相同，无需更正",
            ));
        }
        let now = Utc::now();
        corrections::update_person_field(&mut tx, person, &c.value, now).await?;
        let payload = serde_json::json!({
            "kind": "correction",
            "person_id": person.0,
            "id_number": p.id_number.as_str(),
            "field": field.code(),
            "old_value": old,
            "new_value": new_text,
            "basis": c.basis,
            "proof_material_id": c.proof.0,
            "corrected_by": actor.username,
            "corrected_at": crate::security::audit::stamp(now),
        })
        .to_string();
        let record = NewCorrection {
            person,
            field,
            old_value: &old,
            new_value: &new_text,
            proof: c.proof,
            basis: &c.basis,
            by: &actor.username,
        };
        let id = corrections::insert(&mut tx, &record, &payload, now).await?;
        let op = Op::new("person.correct", "person", person).detail(format!(
            "{}: {old} → {new_text}; proof {}",
            field.code(),
            c.proof
        ));
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        tx.commit().await?;
        Ok(CorrectionView {
            id,
            field,
            old_value: old,
            new_value: new_text,
            proof_material_id: c.proof,
            basis: c.basis,
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
        Ok(rows.into_iter().map(correction_view).collect())
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
