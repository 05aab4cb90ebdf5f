//! Business events with their materials.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use serde::Serialize;

use dangan_app::ids::EventId;
use dangan_app::intake::events;

use super::wire::events::{EventInput, EventView};
use crate::error::ApiError;
use crate::extract::{ApiJson, AppState, Auth, row_id};

/// The outcome of recording an event.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Recorded {
    /// False when the source system's external id was already recorded: the existing event is
    /// returned and nothing was written.
    pub created: bool,
    /// The event.
    pub event: EventView,
}

impl From<events::Recorded> for Recorded {
    fn from(r: events::Recorded) -> Recorded {
        Recorded {
            created: r.created,
            event: r.event.into(),
        }
    }
}

/// `POST /api/v1/events`: 201 with the new event and its completeness, or 200 with the
/// existing event when the source system's external id was already recorded.
#[utoipa::path(
    post,
    path = "/events",
    tag = "events",
    request_body = EventInput,
    responses(
        (status = 201, description = "已登记，附完整性检查 — recorded, with its completeness", body = Recorded),
        (status = 200, description = "来源业务编号已登记过：返回原业务，未写入 — already recorded under this external id; nothing written", body = Recorded),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn record_event(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(input): ApiJson<EventInput>,
) -> Result<(StatusCode, Json<Recorded>), ApiError> {
    let recorded: Recorded = app.record_event(&actor, &input.into()).await?.into();
    let status = if recorded.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(recorded)))
}

/// `GET /api/v1/events/{id}`.
#[utoipa::path(
    get,
    path = "/events/{id}",
    tag = "events",
    params(
        ("id" = i64, Path, minimum = 1, description = "业务编号 — the event's row id"),
    ),
    responses(
        (status = 200, description = "业务与材料 — the event and its materials", body = EventView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn get_event(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<EventView>, ApiError> {
    let id = EventId(row_id(&id, "id")?);
    Ok(Json(app.event(&actor, id).await?.into()))
}
