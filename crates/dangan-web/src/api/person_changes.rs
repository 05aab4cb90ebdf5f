//! 人员变更 (S6.6): `POST /api/v1/sync/person-changes` takes a batch of status, tier, division
//! and death changes with their effective dates (token scope `sync:write`);
//! `GET /api/v1/persons/{id}/changes` shows a person's change history.

use axum::Json;
use axum::extract::{Path, State};

use dangan_app::ids::PersonId;
use dangan_app::integration::person_changes::{ChangeReport, PersonChangeBatch, PersonChangeView};

use crate::error::ApiError;
use crate::extract::{ApiJson, AppState, Auth, row_id};

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
    Ok(Json(app.sync_person_changes(&actor, &batch).await?))
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
    Ok(Json(app.person_changes(&actor, id).await?))
}
