//! 损毁与丢失 — damage (S7.2, S9.3: light damage repaired in-house, heavy damage sent out) and loss
//! (reported, the emergency steps tracked, the item marked 档案丢失 wherever it appears).

use chrono::{NaiveDate, Utc};
use dangan_domain::material::MaterialStatus;
use serde::{Deserialize, Serialize};

use dangan_domain::workflow::{IncidentKind, IncidentState};
use dangan_store::damage::{self, IncidentFilter};
use dangan_store::events::{self, MaterialId};
use dangan_store::persons::PersonId;

use crate::access::persons::Page;
use crate::access::register::day_start;

use crate::administration::roles::{Actor, UseCase};
use crate::security::audit::{Op, Outcome};
use crate::text;
use crate::{App, AppError, AppResult, today};

/// A damage report as submitted.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DamageInput {
    /// `light` or `heavy`.
    pub degree: String,
    /// 原因: damp, insects, tears, fading …
    pub cause: String,
    /// `in_house` or `outside` (default: in-house for light, outside for heavy).
    pub repair_by: Option<String>,
    /// The outside institution (required when repaired outside).
    pub institution: Option<String>,
}

/// A repair result.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RepairInput {
    /// 修复结果
    pub result: String,
    /// Repaired on (default today).
    pub repaired_on: Option<String>,
}

/// A loss report as submitted.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LossInput {
    /// Reported to (the agency's leader, the archives bureau …).
    pub reported_to: String,
    /// Circumstances.
    pub note: Option<String>,
}

/// The emergency checklist of a loss.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LossSteps {
    /// Handover records searched.
    pub searched_handovers: bool,
    /// The insured person contacted.
    pub contacted_person: bool,
    /// The material collected again (a supplement).
    pub recollected: bool,
    /// Notes.
    pub note: Option<String>,
}

/// The damage and loss history of a material.
#[derive(Debug, Clone, Serialize)]
pub struct MaterialIncidents {
    /// The material.
    pub material_id: MaterialId,
    /// Its status.
    pub status: String,
    /// Damage reports.
    pub damage: Vec<damage::DamageRow>,
    /// Loss reports.
    pub losses: Vec<damage::LossRow>,
}

/// Criteria of the damage and loss list (破损与丢失登记), as a page's filters send them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IncidentQuery {
    /// `damage` or `loss`; both when absent.
    pub kind: Option<String>,
    /// `open` or `closed`; both when absent.
    pub state: Option<String>,
    /// Reported on or after this Beijing date (`YYYY-MM-DD`).
    pub from: Option<String>,
    /// Reported on or before this Beijing date (`YYYY-MM-DD`).
    pub to: Option<String>,
    /// Page from 1.
    pub page: Option<u32>,
    /// Page size (1–500, default 50).
    pub per_page: Option<u32>,
}

/// A damage or loss report as listed: the material, its person (masked number), who and when.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentView {
    /// 破损 or 丢失.
    pub kind: IncidentKind,
    /// The report's row id (in its kind's table).
    pub report_id: i64,
    /// 处置中 or 已处置.
    pub state: IncidentState,
    /// The material.
    pub material_id: MaterialId,
    /// 材料名称
    pub material_name: String,
    /// Damage: its cause; loss: to whom it was reported.
    pub detail: String,
    /// Reported by.
    pub reported_by: String,
    /// Reported at.
    pub reported_at: chrono::DateTime<Utc>,
    /// The person.
    pub person_id: Option<PersonId>,
    /// 参保人姓名
    pub person_name: Option<String>,
    /// 公民身份号码, masked.
    pub id_number_masked: Option<String>,
}

/// A damage report as checked.
struct CheckedDamage<'a> {
    degree: &'a str,
    cause: String,
    repair_by: &'a str,
    institution: Option<String>,
}

/// Checks a damage report as entered: the 损毁程度 (degree), the cause, the 修复方式 (repair
/// in house by default for light damage, outside for heavy), and the institution, required for
/// a repair outside.
fn check_damage(input: &DamageInput) -> AppResult<CheckedDamage<'_>> {
    let degree = match input.degree.trim() {
        d @ ("light" | "heavy") => d,
        _ => {
            return Err(AppError::invalid_with(
                "invalid_degree",
                Some("degree"),
                "损毁程度应为 light（轻度）或 heavy（严重）",
            ));
        }
    };
    let cause = text::required("cause", &input.cause, 100, "损毁原因")?;
    let repair_by = match input.repair_by.as_deref().map(str::trim) {
        None | Some("") => {
            if degree == "light" {
                "in_house"
            } else {
                "outside"
            }
        }
        Some(r @ ("in_house" | "outside")) => r,
        Some(_) => {
            return Err(AppError::invalid_with(
                "invalid_repair_by",
                Some("repair_by"),
                "修复方式应为 in_house（自行修复）或 outside（送专业机构）",
            ));
        }
    };
    let institution = match (
        repair_by,
        input
            .institution
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty()),
    ) {
        ("outside", None) => {
            return Err(AppError::invalid_with(
                "institution_required",
                Some("institution"),
                "送外修复须填写修复机构",
            ));
        }
        (_, i) => i
            .map(|i| text::required("institution", i, 60, "修复机构"))
            .transpose()?,
    };
    Ok(CheckedDamage {
        degree,
        cause,
        repair_by,
        institution,
    })
}

impl App {
    /// Logs the change, reads the material's history back and commits.
    async fn finish_incident(
        &self,
        mut tx: dangan_store::Tx,
        actor: &Actor,
        op: Op,
        material: MaterialId,
    ) -> AppResult<MaterialIncidents> {
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        let view = self.incidents(&mut tx, material).await?;
        tx.commit().await?;
        Ok(view)
    }

    async fn incidents(
        &self,
        tx: &mut dangan_store::Tx,
        material: MaterialId,
    ) -> AppResult<MaterialIncidents> {
        let m = events::material(tx, material)
            .await?
            .ok_or_else(|| AppError::not_found("material_not_found", "未找到该材料"))?;
        Ok(MaterialIncidents {
            material_id: material,
            status: m.status.code().to_owned(),
            damage: damage::damages(tx, material).await?,
            losses: damage::losses(tx, material).await?,
        })
    }

    /// Records damage to a material; it is marked 损毁 until repaired.
    pub async fn record_damage(
        &self,
        actor: &Actor,
        material: MaterialId,
        input: &DamageInput,
    ) -> AppResult<MaterialIncidents> {
        self.authorize(actor, UseCase::RecordDamage).await?;
        let CheckedDamage {
            degree,
            cause,
            repair_by,
            institution,
        } = check_damage(input)?;
        let mut tx = self.store.begin_write().await?;
        let m = events::material(&mut tx, material)
            .await?
            .ok_or_else(|| AppError::not_found("material_not_found", "未找到该材料"))?;
        if m.status == MaterialStatus::Lost {
            return Err(AppError::Conflict {
                code: "material_lost",
                field: None,
                message: "该材料已登记为档案丢失".to_owned(),
            });
        }
        let id = damage::insert_damage(
            &mut tx,
            material,
            degree,
            &cause,
            repair_by,
            institution.as_deref(),
            &actor.username,
            Utc::now(),
        )
        .await?;
        events::set_material_status(&mut tx, material, MaterialStatus::Damaged).await?;
        self.finish_incident(
            tx,
            actor,
            Op::new("material.damage", "material", material)
                .detail(format!("report {id}: {degree} {cause}")),
            material,
        )
        .await
    }

    /// Records the repair of a damage report; the material is normal again.
    pub async fn record_repair(
        &self,
        actor: &Actor,
        report: i64,
        input: &RepairInput,
    ) -> AppResult<MaterialIncidents> {
        self.authorize(actor, UseCase::RecordDamage).await?;
        let result = text::required("result", &input.result, 200, "修复结果")?;
        let on = match input
            .repaired_on
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                AppError::invalid_with(
                    "invalid_date",
                    Some("repaired_on"),
                    "修复日期格式应为YYYY-MM-DD",
                )
            })?,
            None => today(),
        };
        let mut tx = self.store.begin_write().await?;
        let material = damage::repair(&mut tx, report, &result, on)
            .await?
            .ok_or_else(|| {
                AppError::not_found("damage_report_not_found", "未找到该损毁记录或已登记修复")
            })?;
        let m = events::material(&mut tx, material)
            .await?
            .ok_or_else(|| AppError::Internal("material vanished".to_owned()))?;
        if m.status == MaterialStatus::Damaged {
            events::set_material_status(&mut tx, material, MaterialStatus::Normal).await?;
        }
        self.finish_incident(
            tx,
            actor,
            Op::new("material.repair", "material", material).detail(format!("report {report}")),
            material,
        )
        .await
    }

    /// Reports a loss; the material is marked 档案丢失 everywhere it appears.
    pub async fn record_loss(
        &self,
        actor: &Actor,
        material: MaterialId,
        input: &LossInput,
    ) -> AppResult<MaterialIncidents> {
        self.authorize(actor, UseCase::RecordDamage).await?;
        let reported_to = text::required("reported_to", &input.reported_to, 60, "报告对象")?;
        let note = input
            .note
            .as_deref()
            .map(|n| text::required("note", n, 300, "情况说明"))
            .transpose()?;
        let mut tx = self.store.begin_write().await?;
        let m = events::material(&mut tx, material)
            .await?
            .ok_or_else(|| AppError::not_found("material_not_found", "未找到该材料"))?;
        if m.status == MaterialStatus::Lost {
            return Err(AppError::Conflict {
                code: "material_lost",
                field: None,
                message: "该材料已登记为档案丢失".to_owned(),
            });
        }
        let id = damage::insert_loss(
            &mut tx,
            material,
            &reported_to,
            note.as_deref(),
            &actor.username,
            Utc::now(),
        )
        .await?;
        events::set_material_status(&mut tx, material, MaterialStatus::Lost).await?;
        self.finish_incident(
            tx,
            actor,
            Op::new("material.loss", "material", material)
                .detail(format!("report {id} to {reported_to}")),
            material,
        )
        .await
    }

    /// Updates the emergency checklist of a loss report.
    pub async fn update_loss_steps(
        &self,
        actor: &Actor,
        report: i64,
        steps: &LossSteps,
    ) -> AppResult<MaterialIncidents> {
        self.authorize(actor, UseCase::RecordDamage).await?;
        let note = steps
            .note
            .as_deref()
            .map(|n| text::required("note", n, 300, "情况说明"))
            .transpose()?;
        let mut tx = self.store.begin_write().await?;
        let material = damage::set_loss_steps(
            &mut tx,
            report,
            steps.searched_handovers,
            steps.contacted_person,
            steps.recollected,
            note.as_deref(),
        )
        .await?
        .ok_or_else(|| AppError::not_found("loss_report_not_found", "未找到该丢失报告"))?;
        self.finish_incident(
            tx,
            actor,
            Op::new("material.loss_steps", "material", material).detail(format!("report {report}")),
            material,
        )
        .await
    }

    /// The damage and loss reports of every material (破损与丢失登记), newest first, filtered
    /// by kind, state and Beijing dates: for the archive roles; a logged read (it names persons,
    /// numbers masked).
    pub async fn incident_list(
        &self,
        actor: &Actor,
        q: &IncidentQuery,
    ) -> AppResult<Page<IncidentView>> {
        self.authorize(actor, UseCase::RecordDamage).await?;
        let kind = text::code_filter::<IncidentKind>("kind", "invalid_kind", q.kind.as_deref())?;
        let state =
            text::code_filter::<IncidentState>("state", "invalid_state", q.state.as_deref())?;
        let some = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
        let from = some(&q.from).map(|s| day_start("from", &s)).transpose()?;
        let to = some(&q.to)
            .map(|s| day_start("to", &s).map(|t| t + chrono::Duration::days(1)))
            .transpose()?;
        let page = q.page.unwrap_or(1).clamp(1, 100_000);
        let per_page = q.per_page.unwrap_or(50).clamp(1, 500);
        let filter = IncidentFilter {
            kind,
            state,
            from,
            to,
            limit: i64::from(per_page),
            offset: i64::from(page - 1) * i64::from(per_page),
        };
        let mut tx = self.begin_read().await?;
        let (rows, total) = damage::incidents(&mut tx, &filter).await?;
        let op =
            Op::new("material.incident_list", "material", "").detail(format!("{total} reports"));
        self.end_read(tx, actor, &op, Outcome::Ok).await?;
        Ok(Page {
            items: rows
                .into_iter()
                .map(|r| {
                    let person = r.person;
                    IncidentView {
                        kind: r.kind,
                        report_id: r.report_id,
                        state: r.state,
                        material_id: r.material_id,
                        material_name: r.material_name,
                        detail: r.detail,
                        reported_by: r.reported_by,
                        reported_at: r.reported_at,
                        person_id: person.as_ref().map(|p| p.id),
                        id_number_masked: person.as_ref().map(|p| p.id_number.masked()),
                        person_name: person.map(|p| p.name),
                    }
                })
                .collect(),
            total,
            more: false,
            page,
            per_page,
        })
    }

    /// The damage and loss history of a material.
    pub async fn material_incidents(
        &self,
        actor: &Actor,
        material: MaterialId,
    ) -> AppResult<MaterialIncidents> {
        self.authorize(actor, UseCase::ReadWorkflow).await?;
        let mut tx = self.store.begin().await?;
        let v = self.incidents(&mut tx, material).await?;
        tx.rollback().await?;
        Ok(v)
    }
}
