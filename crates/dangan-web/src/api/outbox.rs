//! `GET /api/v1/outbox` and its items' deliveries and re-sending: corrections on their way back
//! to the business system's webhook (S9.2). Thin handlers over `dangan_app::integration::outbox`.

use axum::Json;
use axum::extract::{Path, State};

use dangan_app::integration::outbox::{DeliveryView, OutboxId, OutboxItemView, OutboxQuery};

use crate::error::ApiError;
use crate::extract::{ApiQuery, AppState, Auth, row_id};

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
    Ok(Json(app.list_outbox(&actor, &q).await?))
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
    Ok(Json(
        app.outbox_deliveries(&actor, OutboxId(row_id(&id, "id")?))
            .await?,
    ))
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
            .await?,
    ))
}
