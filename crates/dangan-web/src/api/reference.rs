//! Reference data: business types and administrative divisions.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;

use dangan_app::reference::BusinessTypeView;
use dangan_domain::division::Division;

use crate::error::ApiError;
use crate::extract::{ApiQuery, AppState, Auth};

/// `GET /api/v1/business-types`.
pub async fn list_business_types(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
) -> Result<Json<Vec<BusinessTypeView>>, ApiError> {
    Ok(Json(app.business_types(&actor).await?))
}

/// `GET /api/v1/divisions/{code}`.
pub async fn get_division(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(code): Path<String>,
) -> Result<Json<&'static Division>, ApiError> {
    Ok(Json(app.division(&actor, &code).await?))
}

/// Query of the division search.
#[derive(Debug, Deserialize)]
pub struct DivisionQuery {
    q: String,
    limit: Option<usize>,
}

/// `GET /api/v1/divisions?q=朝阳&limit=20`: divisions whose name starts with `q`.
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
