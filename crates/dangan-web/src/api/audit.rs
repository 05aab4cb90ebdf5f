//! The operation log (the auditor's view): search, verify, anchor.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use dangan_app::security::audit;

use super::wire::all;
use crate::error::ApiError;
use crate::extract::{ApiQuery, AppState, Auth};

/// The auditor's search of the log, as sent in a query string (no personal data in it).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// Action prefix, e.g. `person.`.
    pub action: Option<String>,
    /// Only this action (its exact code, e.g. `person.read`).
    pub exact_action: Option<String>,
    /// Target kind (with `target_id`).
    pub target_kind: Option<String>,
    /// Target id (with `target_kind`).
    pub target_id: Option<String>,
    /// Actor kind (with `actor_id`).
    pub actor_kind: Option<String>,
    /// Actor id (with `actor_kind`).
    pub actor_id: Option<String>,
    /// Only entries by the actor of this name (a username).
    pub actor_name: Option<String>,
    /// Only entries about (or by) the person with this archive row id (never an identity
    /// number).
    pub person: Option<i64>,
    /// From this Beijing date on (`YYYY-MM-DD`).
    #[param(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub from: Option<String>,
    /// Up to and including this Beijing date (`YYYY-MM-DD`).
    #[param(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub to: Option<String>,
    /// Outcome.
    #[param(pattern = "^(ok|denied|not_found|invalid|failed)$")]
    pub outcome: Option<String>,
    /// Entries written before this entry `id` (for paging back).
    pub before: Option<i64>,
    /// Page size (default 100).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
}

impl From<LogQuery> for audit::LogQuery {
    fn from(q: LogQuery) -> audit::LogQuery {
        audit::LogQuery {
            action: q.action,
            exact_action: q.exact_action,
            target_kind: q.target_kind,
            target_id: q.target_id,
            actor_kind: q.actor_kind,
            actor_id: q.actor_id,
            actor_name: q.actor_name,
            person: q.person,
            from: q.from,
            to: q.to,
            outcome: q.outcome,
            before: q.before,
            limit: q.limit,
        }
    }
}

/// One entry of the operation log as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LogEntry {
    /// Order of writing (an entry's number before it joins the chain).
    pub id: i64,
    /// Position in the chain, from 1, without gaps; `null` for an entry whose transaction
    /// committed a moment ago and that is not yet in the chain (PostgreSQL only).
    pub seq: Option<i64>,
    /// When, as RFC 3339 UTC with microseconds (stored as text so that it hashes exactly).
    pub at: String,
    /// `user`, `insured`, `token`, `system` or `anonymous`.
    pub actor_kind: String,
    /// The actor's id within its kind (user id, person id, token id), or empty.
    pub actor_id: String,
    /// The actor's name (usernames; masked identity numbers for insured persons).
    pub actor_name: String,
    /// The actor's role code.
    pub role: String,
    /// Where from: the client's address, or `cli`.
    pub source: String,
    /// What was done, e.g. `person.read`.
    pub action: String,
    /// The kind of record concerned, e.g. `person`.
    pub target_kind: String,
    /// The record's id, or empty.
    pub target_id: String,
    /// Further detail; identity numbers only masked.
    pub detail: String,
    /// `ok`, `denied`, `not_found`, `invalid` or `failed`.
    pub outcome: String,
    /// The entry's own MAC (empty for entries of the v1 format).
    pub entry_mac: String,
    /// The previous entry's hash ([`GENESIS`] for the first); empty until in the chain.
    pub prev_hash: String,
    /// This entry's chain hash; empty until in the chain.
    pub hash: String,
    /// The keyed MAC of the chain hash (empty for entries of the v1 format).
    pub mac: String,
}

impl From<dangan_domain::audit::LogEntry> for LogEntry {
    fn from(e: dangan_domain::audit::LogEntry) -> LogEntry {
        LogEntry {
            id: e.id,
            seq: e.seq,
            at: e.at,
            actor_kind: e.actor_kind.to_string(),
            actor_id: e.actor_id,
            actor_name: e.actor_name,
            role: e.role.to_string(),
            source: e.source,
            action: e.action,
            target_kind: e.target_kind,
            target_id: e.target_id,
            detail: e.detail,
            outcome: e.outcome.to_string(),
            entry_mac: e.entry_mac,
            prev_hash: e.prev_hash,
            hash: e.hash,
            mac: e.mac,
        }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// It holds.
    Ok,
    /// It does not.
    Failed,
    /// It could not be made (the detail says why).
    Skipped,
}

impl From<audit::verify::CheckStatus> for CheckStatus {
    fn from(s: audit::verify::CheckStatus) -> CheckStatus {
        match s {
            audit::verify::CheckStatus::Ok => CheckStatus::Ok,
            audit::verify::CheckStatus::Failed => CheckStatus::Failed,
            audit::verify::CheckStatus::Skipped => CheckStatus::Skipped,
        }
    }
}

/// One check of a verification.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VerifyCheck {
    /// What was checked (Chinese).
    pub name: String,
    /// Its outcome.
    pub status: CheckStatus,
    /// What was found, or why it was not checked (Chinese).
    pub detail: String,
}

/// The result of verifying the log.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VerifyReport {
    /// Whether no check failed.
    pub ok: bool,
    /// Entries in the chain checked.
    pub entries: i64,
    /// Entries committed but not yet in the chain (checked one by one).
    pub pending: i64,
    /// Anchors in the database checked.
    pub anchors: usize,
    /// Witness copies compared.
    pub witnessed: usize,
    /// The first bad entry, if any.
    pub first_bad_seq: Option<i64>,
    /// What is wrong there, in Chinese.
    pub problem: Option<String>,
    /// The hash after the last good entry.
    pub head_hash: String,
    /// Every check with its outcome.
    pub checks: Vec<VerifyCheck>,
}

impl From<audit::verify::VerifyReport> for VerifyReport {
    fn from(r: audit::verify::VerifyReport) -> VerifyReport {
        VerifyReport {
            ok: r.ok,
            entries: r.entries,
            pending: r.pending,
            anchors: r.anchors,
            witnessed: r.witnessed,
            first_bad_seq: r.first_bad_seq,
            problem: r.problem,
            head_hash: r.head_hash,
            checks: r
                .checks
                .into_iter()
                .map(|c| VerifyCheck {
                    name: c.name,
                    status: c.status.into(),
                    detail: c.detail,
                })
                .collect(),
        }
    }
}

/// `GET /api/v1/audit/log?action=&exact_action=&target_kind=&target_id=&actor_name=&person=&from=&to=&outcome=&before=&limit=`.
#[utoipa::path(
    get,
    path = "/audit/log",
    tag = "audit",
    params(
        LogQuery,
    ),
    responses(
        (status = 200, description = "日志条目，新的在前 — entries, newest first", body = Vec<LogEntry>),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn search_log(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> Result<Json<Vec<LogEntry>>, ApiError> {
    Ok(Json(all(app.search_log(&actor, &q.into()).await?)))
}

/// `POST /api/v1/audit/verify`: verifies the whole chain and its anchors.
#[utoipa::path(
    post,
    path = "/audit/verify",
    tag = "audit",
    responses(
        (status = 200, description = "校验结果 — the verification", body = VerifyReport),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn verify_log(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
) -> Result<Json<VerifyReport>, ApiError> {
    Ok(Json(app.verify_log(&actor).await?.into()))
}

/// The anchor written, if the head had moved.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Anchored {
    /// 锚定的日志序号 — the sequence number signed, or null when the head had not moved.
    anchored_seq: Option<i64>,
}

/// `POST /api/v1/audit/anchor`: signs the current head.
#[utoipa::path(
    post,
    path = "/audit/anchor",
    tag = "audit",
    responses(
        (status = 200, description = "已锚定（日志未变化时为 null）— anchored, or null when the head had not moved", body = Anchored),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn anchor_log(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
) -> Result<Json<Anchored>, ApiError> {
    let a = app.anchor_log(&actor).await?;
    Ok(Json(Anchored {
        anchored_seq: a.map(|a| a.seq),
    }))
}
