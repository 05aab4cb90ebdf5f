//! The filing catalogue (归档范围).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use dangan_app::administration::catalogue::{CatalogueView, EntryInput};

use crate::error::ApiError;
use crate::extract::{ApiJson, AppState, Auth};

/// `GET /api/v1/catalogue`: the current version.
#[utoipa::path(
    get,
    path = "/catalogue",
    tag = "catalogue",
    responses(
        (status = 200, description = "当前版本 — the current version", body = CatalogueView),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn get_catalogue(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
) -> Result<Json<CatalogueView>, ApiError> {
    Ok(Json(app.catalogue(&actor).await?))
}

/// A new catalogue version.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CatalogueForm {
    /// 新版本的全部条目 — every entry of the new version.
    entries: Vec<EntryInput>,
    /// 修改说明 — why.
    note: String,
}

/// `PUT /api/v1/catalogue`: writes a new version with exactly these entries.
#[utoipa::path(
    put,
    path = "/catalogue",
    tag = "catalogue",
    request_body = CatalogueForm,
    responses(
        (status = 200, description = "新版本 — the new version", body = CatalogueView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 409, response = crate::openapi::Conflict),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn replace_catalogue(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(form): ApiJson<CatalogueForm>,
) -> Result<Json<CatalogueView>, ApiError> {
    Ok(Json(
        app.replace_catalogue(&actor, &form.entries, &form.note)
            .await?,
    ))
}
