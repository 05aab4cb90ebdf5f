//! 损毁与丢失 — damage reports with their repair (S7.2, S9.3) and loss reports with the emergency
//! checklist.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::events::MaterialId;
use crate::{StoreResult, Tx, on_conn};

/// A damage report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct DamageRow {
    /// Row id.
    pub id: i64,
    /// The material.
    pub material_id: MaterialId,
    /// `light` or `heavy`.
    pub degree: String,
    /// 原因 (damp, insects, tears …).
    pub cause: String,
    /// `in_house` or `outside`.
    pub repair_by: String,
    /// The outside institution.
    pub institution: Option<String>,
    /// 修复结果
    pub result: Option<String>,
    /// Repaired on.
    pub repaired_on: Option<NaiveDate>,
    /// Reported by.
    pub reported_by: String,
    /// Reported at.
    pub reported_at: DateTime<Utc>,
}

/// A loss report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct LossRow {
    /// Row id.
    pub id: i64,
    /// The material.
    pub material_id: MaterialId,
    /// Reported to (the leader or body informed).
    pub reported_to: String,
    /// Notes.
    pub note: Option<String>,
    /// Handover records searched.
    pub searched_handovers: bool,
    /// The insured person contacted.
    pub contacted_person: bool,
    /// The material collected again.
    pub recollected: bool,
    /// Reported by.
    pub reported_by: String,
    /// Reported at.
    pub reported_at: DateTime<Utc>,
}

/// Records damage.
#[expect(clippy::too_many_arguments, reason = "one column each")]
pub async fn insert_damage(
    tx: &mut Tx,
    material: MaterialId,
    degree: &str,
    cause: &str,
    repair_by: &str,
    institution: Option<&str>,
    by: &str,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    Ok(on_conn!(tx, c => {
        sqlx::query_scalar(
            "INSERT INTO damage_reports (material_id, degree, cause, repair_by, institution, reported_by, reported_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(material)
        .bind(degree)
        .bind(cause)
        .bind(repair_by)
        .bind(institution)
        .bind(by)
        .bind(now)
        .fetch_one(c)
        .await
    })?)
}

/// Records the repair of a damage report; false when already repaired or missing.
pub async fn repair(
    tx: &mut Tx,
    id: i64,
    result: &str,
    on: NaiveDate,
) -> StoreResult<Option<MaterialId>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_scalar("UPDATE damage_reports SET result = $1, repaired_on = $2 WHERE id = $3 AND repaired_on IS NULL RETURNING material_id")
            .bind(result)
            .bind(on)
            .bind(id)
            .fetch_optional(c)
            .await
    })?)
}

/// Records a loss.
pub async fn insert_loss(
    tx: &mut Tx,
    material: MaterialId,
    reported_to: &str,
    note: Option<&str>,
    by: &str,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    Ok(on_conn!(tx, c => {
        sqlx::query_scalar("INSERT INTO loss_reports (material_id, reported_to, note, reported_by, reported_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
            .bind(material)
            .bind(reported_to)
            .bind(note)
            .bind(by)
            .bind(now)
            .fetch_one(c)
            .await
    })?)
}

/// Updates the emergency checklist of a loss; the material id when the report exists.
pub async fn set_loss_steps(
    tx: &mut Tx,
    id: i64,
    searched: bool,
    contacted: bool,
    recollected: bool,
    note: Option<&str>,
) -> StoreResult<Option<MaterialId>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_scalar("UPDATE loss_reports SET searched_handovers = $1, contacted_person = $2, recollected = $3, note = COALESCE($4, note) WHERE id = $5 RETURNING material_id")
            .bind(searched)
            .bind(contacted)
            .bind(recollected)
            .bind(note)
            .bind(id)
            .fetch_optional(c)
            .await
    })?)
}

/// The damage reports of a material.
pub async fn damages(tx: &mut Tx, material: MaterialId) -> StoreResult<Vec<DamageRow>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as("SELECT id, material_id, degree, cause, repair_by, institution, result, repaired_on, reported_by, reported_at FROM damage_reports WHERE material_id = $1 ORDER BY id")
            .bind(material)
            .fetch_all(c)
            .await
    })?)
}

/// The loss reports of a material.
pub async fn losses(tx: &mut Tx, material: MaterialId) -> StoreResult<Vec<LossRow>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as("SELECT id, material_id, reported_to, note, searched_handovers, contacted_person, recollected, reported_by, reported_at FROM loss_reports WHERE material_id = $1 ORDER BY id")
            .bind(material)
            .fetch_all(c)
            .await
    })?)
}
