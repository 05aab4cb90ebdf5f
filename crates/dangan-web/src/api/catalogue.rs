//! The filing catalogue (归档范围).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use dangan_app::administration::catalogue;
use dangan_domain::business::BusinessType;
use dangan_domain::retention::Retention;

use super::wire::{all, codes};
use crate::error::ApiError;
use crate::extract::{ApiJson, AppState, Auth};

/// One row of the filing catalogue: a material type filed for a business type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CatalogueEntry {
    /// The business type whose events carry this material.
    #[schema(value_type = codes::BusinessType)]
    pub business_type: BusinessType,
    /// The material type's code.
    #[schema(value_type = codes::MaterialCode)]
    pub material_code: String,
    /// 材料名称 — the material's Chinese name.
    pub name: String,
    /// 必归档 (true) or 可选归档 (false).
    pub required: bool,
    /// The default retention of this material.
    #[schema(value_type = codes::Retention)]
    pub retention: Retention,
    /// Whether the paper original is kept (纸质原件保存).
    pub paper_original_kept: bool,
    /// Whether a scan must be made (必扫).
    pub scan_required: bool,
}

impl From<dangan_domain::catalogue::CatalogueEntry> for CatalogueEntry {
    fn from(e: dangan_domain::catalogue::CatalogueEntry) -> CatalogueEntry {
        CatalogueEntry {
            business_type: e.business_type,
            material_code: e.material_code.into(),
            name: e.name,
            required: e.required,
            retention: e.retention,
            paper_original_kept: e.paper_original_kept,
            scan_required: e.scan_required,
        }
    }
}

/// A catalogue version with its entries.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CatalogueView {
    /// Version number.
    pub version: i64,
    /// Who wrote it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Why.
    pub note: String,
    /// The entries.
    pub entries: Vec<CatalogueEntry>,
}

impl From<catalogue::CatalogueView> for CatalogueView {
    fn from(c: catalogue::CatalogueView) -> CatalogueView {
        CatalogueView {
            version: c.version,
            created_by: c.created_by,
            created_at: c.created_at,
            note: c.note,
            entries: all(c.entries),
        }
    }
}

/// One entry as an administrator submits it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct EntryInput {
    /// Business type code or name.
    pub business_type: String,
    /// Material code.
    pub material_code: String,
    /// 材料名称
    pub name: String,
    /// 必归档
    pub required: bool,
    /// Retention code (`Y`, `D30` …) or label.
    pub retention: String,
    /// Paper original kept (default true).
    #[serde(default = "yes")]
    pub paper_original_kept: bool,
    /// Scan required (default true).
    #[serde(default = "yes")]
    pub scan_required: bool,
}

/// The default of the yes-or-no fields of an entry.
fn yes() -> bool {
    true
}

impl From<EntryInput> for catalogue::EntryInput {
    fn from(e: EntryInput) -> catalogue::EntryInput {
        catalogue::EntryInput {
            business_type: e.business_type,
            material_code: e.material_code,
            name: e.name,
            required: e.required,
            retention: e.retention,
            paper_original_kept: e.paper_original_kept,
            scan_required: e.scan_required,
        }
    }
}

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
    Ok(Json(app.catalogue(&actor).await?.into()))
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
    let entries: Vec<catalogue::EntryInput> = all(form.entries);
    Ok(Json(
        app.replace_catalogue(&actor, &entries, &form.note)
            .await?
            .into(),
    ))
}
