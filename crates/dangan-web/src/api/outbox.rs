//! `GET /api/v1/outbox` and its items' deliveries and re-sending: corrections on their way back
//! to the business system's webhook (S9.2). Thin handlers over `dangan_app::integration::outbox`.

use axum::Json;
use axum::extract::{Path, State};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use dangan_app::integration::outbox::{self, OutboxId};

use super::wire::{all, ids};
use crate::error::ApiError;
use crate::extract::{ApiQuery, AppState, Auth, row_id};

/// The outbox listing as asked for in a query string.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// `pending` (default), `delivered` or `all`.
    #[param(pattern = "^(pending|delivered|all)$")]
    pub state: Option<String>,
    /// Items after this id (the last id of the previous page).
    pub after: Option<i64>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

impl From<OutboxQuery> for outbox::OutboxQuery {
    fn from(q: OutboxQuery) -> outbox::OutboxQuery {
        outbox::OutboxQuery {
            state: q.state,
            after: q.after,
            limit: q.limit,
        }
    }
}

/// An outbox item as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OutboxItemView {
    /// Row id (`X-Dangan-Delivery`).
    pub id: ids::OutboxId,
    /// `correction` or `environment_alert`.
    pub kind: String,
    /// The person (a correction).
    pub person_id: Option<ids::PersonId>,
    /// The archive room (an environment alert).
    pub room_id: Option<i64>,
    /// `pending` or `delivered`.
    #[schema(pattern = "^(pending|delivered)$")]
    pub state: String,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When it was acknowledged.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Attempts since it was queued or last re-sent.
    pub attempts: i64,
    /// When it is next due, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// What is sent as the body's `payload` (the identity number in it masked).
    #[schema(value_type = Object)]
    pub payload: Value,
}

impl From<outbox::OutboxItemView> for OutboxItemView {
    fn from(i: outbox::OutboxItemView) -> OutboxItemView {
        OutboxItemView {
            id: ids::OutboxId(i.id.0),
            kind: i.kind.to_string(),
            person_id: i.person_id.map(|p| ids::PersonId(p.0)),
            room_id: i.room_id,
            state: i.state.to_string(),
            created_at: i.created_at,
            delivered_at: i.delivered_at,
            attempts: i.attempts,
            next_attempt_at: i.next_attempt_at,
            last_error: i.last_error,
            payload: i.payload,
        }
    }
}

/// One delivery attempt as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    /// 1, 2, … over the item's whole history.
    pub attempt: i64,
    /// When it started.
    pub attempted_at: DateTime<Utc>,
    /// The receiver's status, if it answered.
    pub http_status: Option<i64>,
    /// `delivered` or `failed`.
    pub outcome: String,
    /// Why it failed.
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: i64,
}

impl From<outbox::DeliveryView> for DeliveryView {
    fn from(d: outbox::DeliveryView) -> DeliveryView {
        DeliveryView {
            attempt: d.attempt,
            attempted_at: d.attempted_at,
            http_status: d.http_status,
            outcome: d.outcome.to_string(),
            error: d.error,
            duration_ms: d.duration_ms,
        }
    }
}

/// `GET /api/v1/outbox?state=pending|delivered|all&after=ID&limit=N`: a JSON array of items in id
/// order with their delivery state (pending ones by default, as before delivery existed).
#[utoipa::path(
    get,
    path = "/outbox",
    tag = "outbox",
    params(
        OutboxQuery,
    ),
    responses(
        (status = 200, description = "更正回传条目，按编号排列 — items in id order, with their delivery state", body = Vec<OutboxItemView>),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn list_outbox(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiQuery(q): ApiQuery<OutboxQuery>,
) -> Result<Json<Vec<OutboxItemView>>, ApiError> {
    Ok(Json(all(app.list_outbox(&actor, &q.into()).await?)))
}

/// `GET /api/v1/outbox/{id}/deliveries`: every attempt to deliver one item.
#[utoipa::path(
    get,
    path = "/outbox/{id}/deliveries",
    tag = "outbox",
    params(
        ("id" = i64, Path, minimum = 1, description = "回传条目编号 — the outbox item's row id"),
    ),
    responses(
        (status = 200, description = "每一次投递 — every delivery attempt", body = Vec<DeliveryView>),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn list_deliveries(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<DeliveryView>>, ApiError> {
    let deliveries = app
        .outbox_deliveries(&actor, OutboxId(row_id(&id, "id")?))
        .await?;
    Ok(Json(all(deliveries)))
}

/// `POST /api/v1/outbox/{id}/resend`: queue an item again (administrator).
#[utoipa::path(
    post,
    path = "/outbox/{id}/resend",
    tag = "outbox",
    params(
        ("id" = i64, Path, minimum = 1, description = "回传条目编号 — the outbox item's row id"),
    ),
    responses(
        (status = 200, description = "已重新排队，立即发送 — queued again, due at once", body = OutboxItemView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn resend_item(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<OutboxItemView>, ApiError> {
    Ok(Json(
        app.resend_outbox(&actor, OutboxId(row_id(&id, "id")?))
            .await?
            .into(),
    ))
}
