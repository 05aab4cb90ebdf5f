//! The query register (查询登记簿): register before opening an archive, search, export.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use dangan_app::access::register;

use super::wire::ids;
use super::wire::persons::Page;
use crate::error::ApiError;
use crate::extract::{ApiJson, AppState, Auth};

/// A registration as entered at the window.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"person_id": 1, "enquirer_name": "张三", "enquirer_id_number": "11010519491231002X", "question": "2024年缴费记录", "purpose": "核对缴费"}))]
pub struct QueryInput {
    /// The person whose archive will be opened.
    #[schema(minimum = 1)]
    pub person_id: i64,
    /// 查询人姓名
    pub enquirer_name: String,
    /// 查询人公民身份号码
    #[schema(pattern = "^[0-9]{17}[0-9Xx]$")]
    pub enquirer_id_number: String,
    /// 查询内容
    pub question: String,
    /// 查询目的
    pub purpose: String,
}

impl From<QueryInput> for register::QueryInput {
    fn from(q: QueryInput) -> register::QueryInput {
        register::QueryInput {
            person_id: q.person_id,
            enquirer_name: q.enquirer_name,
            enquirer_id_number: q.enquirer_id_number,
            question: q.question,
            purpose: q.purpose,
        }
    }
}

/// A registration as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QueryView {
    /// Row id.
    pub id: ids::QueryId,
    /// The person asked about.
    pub person_id: ids::PersonId,
    /// 查询人姓名
    pub enquirer_name: String,
    /// 查询人公民身份号码 (masked).
    pub enquirer_id_masked: String,
    /// 查询内容
    pub question: String,
    /// 查询目的
    pub purpose: String,
    /// 经办人
    pub staff_name: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Until when the staff member may open the archive on this registration.
    pub valid_until: DateTime<Utc>,
    /// 参保人姓名 (in searches).
    pub person_name: Option<String>,
    /// The person's identity number, masked (in searches).
    pub id_number_masked: Option<String>,
}

impl From<register::QueryView> for QueryView {
    fn from(q: register::QueryView) -> QueryView {
        QueryView {
            id: ids::QueryId(q.id.0),
            person_id: ids::PersonId(q.person_id.0),
            enquirer_name: q.enquirer_name,
            enquirer_id_masked: q.enquirer_id_masked,
            question: q.question,
            purpose: q.purpose,
            staff_name: q.staff_name,
            created_at: q.created_at,
            valid_until: q.valid_until,
            person_name: q.person_name,
            id_number_masked: q.id_number_masked,
        }
    }
}

/// Search criteria of the register.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RegisterQuery {
    /// The person asked about.
    #[schema(minimum = 1)]
    pub person_id: Option<i64>,
    /// The enquirer's identity number (matched through its keyed hash).
    #[schema(pattern = "^[0-9]{17}[0-9Xx]$")]
    pub enquirer_id_number: Option<String>,
    /// Enquirer name prefix.
    pub enquirer_name: Option<String>,
    /// The person asked about: a name prefix, or a whole identity number.
    #[schema(max_length = 30)]
    pub person: Option<String>,
    /// This purpose exactly (查询目的, as entered).
    #[schema(max_length = 200)]
    pub purpose: Option<String>,
    /// From this date (Asia/Shanghai), inclusive.
    #[schema(format = Date)]
    pub from: Option<String>,
    /// To this date (Asia/Shanghai), inclusive.
    #[schema(format = Date)]
    pub to: Option<String>,
    /// Page from 1.
    #[schema(minimum = 1)]
    pub page: Option<u32>,
    /// Page size (1–500, default 50).
    #[schema(minimum = 1, maximum = 500)]
    pub per_page: Option<u32>,
}

impl From<RegisterQuery> for register::RegisterQuery {
    fn from(q: RegisterQuery) -> register::RegisterQuery {
        register::RegisterQuery {
            person_id: q.person_id,
            enquirer_id_number: q.enquirer_id_number,
            enquirer_name: q.enquirer_name,
            person: q.person,
            purpose: q.purpose,
            from: q.from,
            to: q.to,
            page: q.page,
            per_page: q.per_page,
        }
    }
}

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
        Json(app.register_query(&actor, &input.into()).await?.into()),
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
    Ok(Json(app.query_register(&actor, &q.into()).await?.into()))
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
    let csv = app.export_query_register(&actor, &q.into()).await?;
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
