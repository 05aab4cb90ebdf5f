//! `POST /api/v1/sync/contributions` and `/sync/benefits`: batches from the business system
//! (token scope `sync:write`). The answer lists every rejected record with its index, field and
//! reason; the valid ones are applied.

use axum::Json;
use axum::extract::State;

use dangan_app::sync::{Batch, BenefitRecord, ContributionRecord, SyncReport};

use crate::error::ApiError;
use crate::extract::{ApiJson, AppState, Auth};

/// `POST /api/v1/sync/contributions`
pub async fn contributions(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(batch): ApiJson<Batch<ContributionRecord>>,
) -> Result<Json<SyncReport>, ApiError> {
    Ok(Json(app.sync_contributions(&actor, &batch).await?))
}

/// `POST /api/v1/sync/benefits`
pub async fn benefits(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(batch): ApiJson<Batch<BenefitRecord>>,
) -> Result<Json<SyncReport>, ApiError> {
    Ok(Json(app.sync_benefits(&actor, &batch).await?))
}
