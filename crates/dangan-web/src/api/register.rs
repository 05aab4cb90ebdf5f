//! The query register (查询登记簿): register before opening an archive, search, export.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use dangan_app::access::persons::Page;
use dangan_app::access::register::{QueryInput, QueryView, RegisterQuery};

use crate::error::ApiError;
use crate::extract::{ApiJson, AppState, Auth};

/// `POST /api/v1/queries`: registers a query (201); the staff member may then open the
/// person's archive for the configured window.
#[utoipa::path(
    post,
    path = "/queries",
    tag = "queries",
    request_body = QueryInput,
    responses(
        (status = 201, description = "已登记 — registered", body = QueryView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn register_query(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(input): ApiJson<QueryInput>,
) -> Result<(StatusCode, Json<QueryView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.register_query(&actor, &input).await?),
    ))
}

/// `POST /api/v1/queries/search`: searches the register (the enquirer's identity number goes in
/// the body, never in a URL).
#[utoipa::path(
    post,
    path = "/queries/search",
    tag = "queries",
    request_body = RegisterQuery,
    responses(
        (status = 200, description = "一页登记 — one page of registrations", body = Page<QueryView>),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn search_queries(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(q): ApiJson<RegisterQuery>,
) -> Result<Json<Page<QueryView>>, ApiError> {
    Ok(Json(app.query_register(&actor, &q).await?))
}

/// `POST /api/v1/queries/export`: the matching registrations as a CSV download.
#[utoipa::path(
    post,
    path = "/queries/export",
    tag = "queries",
    request_body = RegisterQuery,
    responses(
        (status = 200, description = "CSV 文件（UTF-8）— a CSV download", body = String, content_type = "text/csv"),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn export_queries(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(q): ApiJson<RegisterQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let csv = app.export_query_register(&actor, &q).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"query-register.csv\"",
            ),
        ],
        csv,
    ))
}
