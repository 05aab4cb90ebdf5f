//! 人员变更 (S6.6): `POST /api/v1/sync/person-changes` takes a batch of status, tier, division
//! and death changes with their effective dates (token scope `sync:write`);
//! `GET /api/v1/persons/{id}/changes` shows a person's change history.

use axum::Json;
use axum::extract::{Path, State};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use dangan_app::ids::PersonId;
use dangan_app::integration::person_changes as changes;

use super::wire::all;
use super::wire::sync::Reject;
use crate::error::ApiError;
use crate::extract::{ApiJson, AppState, Auth, row_id};

/// One change as sent.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct PersonChangeRecord {
    /// The record's id in the business system.
    pub source_id: String,
    /// The person's identity number.
    pub id_number: String,
    /// `status` (参保状态), `tier` (缴费档次), `division` (行政区划) or `death` (死亡).
    pub kind: String,
    /// The new value: a status code or label, yuan a year, a six-digit county code; not needed
    /// for a death.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub value: Option<Value>,
    /// 生效日期 `YYYY-MM-DD` (for a death, the date of death).
    pub effective_date: String,
}

impl From<PersonChangeRecord> for changes::PersonChangeRecord {
    fn from(r: PersonChangeRecord) -> changes::PersonChangeRecord {
        changes::PersonChangeRecord {
            source_id: r.source_id,
            id_number: r.id_number,
            kind: r.kind,
            value: r.value,
            effective_date: r.effective_date,
        }
    }
}

/// A batch of changes.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct PersonChangeBatch {
    /// The sending system, e.g. `pension`.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,32}$")]
    pub source_system: String,
    /// The changes.
    pub records: Vec<PersonChangeRecord>,
}

impl From<PersonChangeBatch> for changes::PersonChangeBatch {
    fn from(b: PersonChangeBatch) -> changes::PersonChangeBatch {
        changes::PersonChangeBatch {
            source_system: b.source_system,
            records: all(b.records),
        }
    }
}

/// What a batch of changes did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChangeReport {
    /// Changes kept (new, corrected or already known).
    pub accepted: usize,
    /// Of those, changes whose effective date lies in the future: applied on their day.
    pub pending: usize,
    /// Changes refused, with the reason.
    pub rejected: Vec<Reject>,
    /// Changes kept in the history that did not alter the record, because a change with a
    /// later effective date is already in force.
    pub superseded: Vec<Reject>,
}

impl From<changes::ChangeReport> for ChangeReport {
    fn from(r: changes::ChangeReport) -> ChangeReport {
        ChangeReport {
            accepted: r.accepted,
            pending: r.pending,
            rejected: all(r.rejected),
            superseded: all(r.superseded),
        }
    }
}

/// A change as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonChangeView {
    /// The sending system.
    pub source_system: String,
    /// The record's id there.
    pub source_id: String,
    /// `status`, `tier`, `division` or `death`.
    pub kind: String,
    /// The kind in Chinese.
    pub kind_label: String,
    /// The value.
    pub value: String,
    /// 生效日期
    pub effective_date: NaiveDate,
    /// When the record was brought up to date with it (none while its date lies ahead; a
    /// superseded change is marked too, though a later one decides the field).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub applied_at: Option<DateTime<Utc>>,
}

impl From<changes::PersonChangeView> for PersonChangeView {
    fn from(c: changes::PersonChangeView) -> PersonChangeView {
        PersonChangeView {
            source_system: c.source_system,
            source_id: c.source_id,
            kind: c.kind.to_string(),
            kind_label: c.kind_label,
            value: c.value,
            effective_date: c.effective_date,
            applied_at: c.applied_at,
        }
    }
}

/// `POST /api/v1/sync/person-changes`
#[utoipa::path(
    post,
    path = "/sync/person-changes",
    tag = "sync",
    request_body = PersonChangeBatch,
    responses(
        (status = 200, description = "已处理；逐条列出被拒和被取代的记录 — applied; every rejected or superseded record listed", body = ChangeReport),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn sync_person_changes(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(batch): ApiJson<PersonChangeBatch>,
) -> Result<Json<ChangeReport>, ApiError> {
    Ok(Json(
        app.sync_person_changes(&actor, &batch.into()).await?.into(),
    ))
}

/// `GET /api/v1/persons/{id}/changes`
#[utoipa::path(
    get,
    path = "/persons/{id}/changes",
    tag = "persons",
    params(
        ("id" = i64, Path, minimum = 1, description = "参保人编号 — the person's row id"),
    ),
    responses(
        (status = 200, description = "人员变更历史 — the person's change history", body = Vec<PersonChangeView>),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn list_person_changes(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<PersonChangeView>>, ApiError> {
    let id = PersonId(row_id(&id, "id")?);
    Ok(Json(all(app.person_changes(&actor, id).await?)))
}
