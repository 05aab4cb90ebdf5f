//! `POST /api/v1/sync/contributions` and `/sync/benefits`: batches from the business system
//! (token scope `sync:write`). The answer lists every rejected record with its index, field and
//! reason; the valid ones are applied.

use axum::Json;
use axum::extract::State;

use dangan_app::integration::sync::{Batch, BenefitRecord, ContributionRecord, SyncReport};

use crate::error::ApiError;
use crate::extract::{ApiJson, AppState, Auth};

/// `POST /api/v1/sync/contributions`
#[utoipa::path(
    post,
    path = "/sync/contributions",
    tag = "sync",
    request_body = Batch<ContributionRecord>,
    responses(
        (status = 200, description = "已处理；逐条列出被拒记录 — applied; every rejected record listed", body = SyncReport),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn contributions(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(batch): ApiJson<Batch<ContributionRecord>>,
) -> Result<Json<SyncReport>, ApiError> {
    Ok(Json(app.sync_contributions(&actor, &batch).await?))
}

/// `POST /api/v1/sync/benefits`
#[utoipa::path(
    post,
    path = "/sync/benefits",
    tag = "sync",
    request_body = Batch<BenefitRecord>,
    responses(
        (status = 200, description = "已处理；逐条列出被拒记录 — applied; every rejected record listed", body = SyncReport),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn benefits(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(batch): ApiJson<Batch<BenefitRecord>>,
) -> Result<Json<SyncReport>, ApiError> {
    Ok(Json(app.sync_benefits(&actor, &batch).await?))
}
