//! 损毁与丢失 — damage reports with their repair (S7.2, S9.3) and loss reports with the emergency
//! checklist.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use dangan_domain::workflow::{IncidentKind, IncidentState};

use crate::events::MaterialId;
use crate::persons::{BRIEF_COLUMNS, PersonBrief, StoredBrief};
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

/// Criteria of the damage and loss list; absent fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    /// Damage or loss.
    pub kind: Option<IncidentKind>,
    /// Open or closed.
    pub state: Option<IncidentState>,
    /// Reported at or after.
    pub from: Option<DateTime<Utc>>,
    /// Reported before.
    pub to: Option<DateTime<Utc>>,
    /// Page size (1–500).
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// A damage or loss report as listed, with its material and person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedIncident {
    /// Damage or loss.
    pub kind: IncidentKind,
    /// The report's row id (in its own table).
    pub report_id: i64,
    /// Open or closed.
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
    pub reported_at: DateTime<Utc>,
    /// The person of the material.
    pub person: Option<PersonBrief>,
}

#[derive(sqlx::FromRow)]
struct StoredIncident {
    #[sqlx(try_from = "String")]
    kind: IncidentKind,
    report_id: i64,
    #[sqlx(try_from = "String")]
    state: IncidentState,
    material_id: MaterialId,
    material_name: String,
    detail: String,
    reported_by: String,
    reported_at: DateTime<Utc>,
    #[sqlx(flatten)]
    person: StoredBrief,
}

/// Damage and loss reports of every material, newest first, with the count of all matching:
/// one statement over both report tables (the state derived from the repair and the emergency
/// steps), the page and the count each in one query.
pub async fn incidents(tx: &mut Tx, f: &IncidentFilter) -> StoreResult<(Vec<ListedIncident>, i64)> {
    let mut clauses = Vec::new();
    let mut texts = Vec::new();
    let mut times = Vec::new();
    if let Some(k) = f.kind {
        texts.push(k.code());
        clauses.push(format!("i.kind = ${}", texts.len()));
    }
    if let Some(s) = f.state {
        texts.push(s.code());
        clauses.push(format!("i.state = ${}", texts.len()));
    }
    if let Some(t) = f.from {
        times.push(t);
        clauses.push(format!("i.reported_at >= ${}", texts.len() + times.len()));
    }
    if let Some(t) = f.to {
        times.push(t);
        clauses.push(format!("i.reported_at < ${}", texts.len() + times.len()));
    }
    // The text binds come first, then the times: the placeholders above count in that order.
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let reports = "(SELECT 'damage' AS kind, d.id AS report_id,
                CASE WHEN d.repaired_on IS NULL THEN 'open' ELSE 'closed' END AS state,
                d.material_id, d.cause AS detail, d.reported_by, d.reported_at
            FROM damage_reports d
         UNION ALL
         SELECT 'loss', l.id,
                CASE WHEN l.searched_handovers AND l.contacted_person AND l.recollected THEN 'closed' ELSE 'open' END,
                l.material_id, l.reported_to, l.reported_by, l.reported_at
            FROM loss_reports l) i";
    let count_sql = format!("SELECT COUNT(*) FROM {reports} {filter}");
    let page_sql = format!(
        "SELECT i.kind, i.report_id, i.state, i.material_id, m.name AS material_name, i.detail,
                i.reported_by, i.reported_at, {BRIEF_COLUMNS}
         FROM {reports}
         JOIN material_items m ON m.id = i.material_id
         JOIN business_events e ON e.id = m.event_id
         LEFT JOIN persons p ON p.id = e.person_id
         {filter}
         ORDER BY i.reported_at DESC, i.kind, i.report_id DESC LIMIT {} OFFSET {}",
        f.limit.clamp(1, 500),
        f.offset.max(0)
    );
    macro_rules! bind_all {
        ($q:expr) => {{
            let mut q = $q;
            for t in &texts {
                q = q.bind(*t);
            }
            for t in &times {
                q = q.bind(*t);
            }
            q
        }};
    }
    let total: i64 = on_conn!(tx, c => {
        bind_all!(sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql))).fetch_one(&mut *c).await
    })?;
    let rows: Vec<StoredIncident> = on_conn!(tx, c => {
        bind_all!(sqlx::query_as(sqlx::AssertSqlSafe(page_sql))).fetch_all(&mut *c).await
    })?;
    let listed = rows
        .into_iter()
        .map(|r| {
            Ok(ListedIncident {
                kind: r.kind,
                report_id: r.report_id,
                state: r.state,
                material_id: r.material_id,
                material_name: r.material_name,
                detail: r.detail,
                reported_by: r.reported_by,
                reported_at: r.reported_at,
                person: r.person.open(tx)?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok((listed, total))
}
