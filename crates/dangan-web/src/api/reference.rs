//! Reference data: business types and administrative divisions.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;

use dangan_app::administration::reference::BusinessTypeView;
use dangan_domain::division::Division;

use crate::error::ApiError;
use crate::extract::{ApiQuery, AppState, Auth};

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
    Ok(Json(app.business_types(&actor).await?))
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
) -> Result<Json<&'static Division>, ApiError> {
    Ok(Json(app.division(&actor, &code).await?))
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
) -> Result<Json<Vec<&'static Division>>, ApiError> {
    Ok(Json(
        app.search_divisions(&actor, &query.q, query.limit.unwrap_or(20))
            .await?,
    ))
}
