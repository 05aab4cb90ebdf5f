//! Business events with their materials.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use dangan_app::events::{EventInput, EventView, Recorded};
use dangan_app::ids::EventId;

use crate::error::ApiError;
use crate::extract::{ApiJson, AppState, Auth, row_id};

/// `POST /api/v1/events`: 201 with the new event and its completeness, or 200 with the
/// existing event when the source system's external id was already recorded.
pub async fn record_event(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(input): ApiJson<EventInput>,
) -> Result<(StatusCode, Json<Recorded>), ApiError> {
    let recorded = app.record_event(&actor, &input).await?;
    let status = if recorded.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(recorded)))
}

/// `GET /api/v1/events/{id}`.
pub async fn get_event(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<EventView>, ApiError> {
    let id = EventId(row_id(&id, "id")?);
    Ok(Json(app.event(&actor, id).await?))
}
