//! The filing catalogue (归档范围).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use dangan_app::catalogue::{CatalogueView, EntryInput};

use crate::error::ApiError;
use crate::extract::{ApiJson, AppState, Auth};

/// `GET /api/v1/catalogue`: the current version.
pub async fn get_catalogue(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
) -> Result<Json<CatalogueView>, ApiError> {
    Ok(Json(app.catalogue(&actor).await?))
}

/// A new catalogue version.
#[derive(Debug, Deserialize)]
pub struct CatalogueForm {
    entries: Vec<EntryInput>,
    note: String,
}

/// `PUT /api/v1/catalogue`: writes a new version with exactly these entries.
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
