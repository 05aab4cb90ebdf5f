//! Reference data: business types and administrative divisions.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

use dangan_app::administration::reference;
use dangan_domain::division as domain;

use super::wire::all;
use crate::error::ApiError;
use crate::extract::{ApiQuery, AppState, Auth};

/// A business type as listed to clients.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BusinessTypeView {
    /// ASCII code.
    pub code: &'static str,
    /// Chinese name.
    pub name: &'static str,
    /// Class code.
    pub class: &'static str,
    /// Class name.
    pub class_name: &'static str,
}

impl From<reference::BusinessTypeView> for BusinessTypeView {
    fn from(b: reference::BusinessTypeView) -> BusinessTypeView {
        BusinessTypeView {
            code: b.code,
            name: b.name,
            class: b.class,
            class_name: b.class_name,
        }
    }
}

/// 行政区划级别 — the level of a division in the three-level hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DivisionLevel {
    /// 省级 — province, autonomous region or municipality (code `pp0000`).
    Province,
    /// 地级 — prefecture-level city, 地区, 自治州 or 盟 (code `ppcc00`).
    Prefecture,
    /// 县级 — county, county-level city, district, 旗 … (code `ppccxx`).
    County,
}

impl From<domain::DivisionLevel> for DivisionLevel {
    fn from(l: domain::DivisionLevel) -> DivisionLevel {
        match l {
            domain::DivisionLevel::Province => DivisionLevel::Province,
            domain::DivisionLevel::Prefecture => DivisionLevel::Prefecture,
            domain::DivisionLevel::County => DivisionLevel::County,
        }
    }
}

/// One row of the division table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Division {
    /// The six-digit code, e.g. `110105`.
    pub code: &'static str,
    /// Name of the province-level unit, e.g. `北京市`.
    pub province: &'static str,
    /// Name of the prefecture-level unit; `None` for provinces, for the districts and counties of
    /// the four municipalities and for county-level units that a province administers directly
    /// (省直辖县级行政区划, e.g. 419001 济源市).
    pub prefecture: Option<&'static str>,
    /// Name of the county-level unit; `None` above county level.
    pub county: Option<&'static str>,
    /// The level of this row.
    pub level: DivisionLevel,
}

impl From<&'static domain::Division> for Division {
    fn from(d: &'static domain::Division) -> Division {
        Division {
            code: d.code,
            province: d.province,
            prefecture: d.prefecture,
            county: d.county,
            level: d.level.into(),
        }
    }
}

/// `GET /api/v1/business-types`.
#[utoipa::path(
    get,
    path = "/business-types",
    tag = "reference",
    responses(
        (status = 200, description = "业务类型 — business types", body = Vec<BusinessTypeView>),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn list_business_types(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
) -> Result<Json<Vec<BusinessTypeView>>, ApiError> {
    Ok(Json(all(app.business_types(&actor).await?)))
}

/// `GET /api/v1/divisions/{code}`.
#[utoipa::path(
    get,
    path = "/divisions/{code}",
    tag = "reference",
    params(
        ("code" = String, Path, description = "六位行政区划代码 — the six-digit division code"),
    ),
    responses(
        (status = 200, description = "行政区划 — the division", body = Division),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn get_division(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(code): Path<String>,
) -> Result<Json<Division>, ApiError> {
    Ok(Json(app.division(&actor, &code).await?.into()))
}

/// Query of the division search.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DivisionQuery {
    /// 名称开头（1至30个字）— the start of the name.
    #[param(min_length = 1, max_length = 30)]
    q: String,
    /// 最多条数（默认20）— at most this many.
    #[param(minimum = 1)]
    limit: Option<usize>,
}

/// `GET /api/v1/divisions?q=朝阳&limit=20`: divisions whose name starts with `q`.
#[utoipa::path(
    get,
    path = "/divisions",
    tag = "reference",
    params(
        DivisionQuery,
    ),
    responses(
        (status = 200, description = "名称以 q 开头的行政区划 — divisions whose name starts with q", body = Vec<Division>),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn search_divisions(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiQuery(query): ApiQuery<DivisionQuery>,
) -> Result<Json<Vec<Division>>, ApiError> {
    let divisions = app
        .search_divisions(&actor, &query.q, query.limit.unwrap_or(20))
        .await?;
    Ok(Json(all(divisions)))
}
