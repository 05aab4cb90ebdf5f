//! Insured persons. Searching by identity number is a POST so that the number never appears
//! in a URL (and so never in an access log or a browser history).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use dangan_app::access::persons;
use dangan_app::ids::PersonId;

use super::wire::events::EventView;
use super::wire::persons::{Page, PersonView};
use super::wire::{all, ids};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, AppState, Auth, row_id};

/// A person as entered by staff or sent by the business system.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"id_number": "11010519491231002X", "name": "张三", "division_code": "110105"}))]
pub struct PersonInput {
    /// 公民身份号码 (18 characters; a lower-case x is accepted).
    #[schema(pattern = "^[0-9]{17}[0-9Xx]$")]
    pub id_number: String,
    /// 姓名
    pub name: String,
    /// 行政区划代码 of the county of residence (6 digits).
    #[schema(pattern = "^[0-9]{6}$")]
    pub division_code: String,
    /// 参保状态 code (default `active`).
    pub status: Option<String>,
    /// 缴费档次 in yuan per year.
    pub tier: Option<i64>,
    /// 参保身份 code (default `011`).
    pub identity: Option<String>,
}

impl From<PersonInput> for persons::PersonInput {
    fn from(p: PersonInput) -> persons::PersonInput {
        persons::PersonInput {
            id_number: p.id_number,
            name: p.name,
            division_code: p.division_code,
            status: p.status,
            tier: p.tier,
            identity: p.identity,
        }
    }
}

/// A person in a list: the identity number is masked.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonSummary {
    /// Row id.
    pub id: ids::PersonId,
    /// Masked identity number (`110105***********X`: division and check character).
    pub id_number_masked: String,
    /// 姓名
    pub name: String,
    /// `male` / `female`
    pub sex: String,
    /// 行政区划代码
    pub division_code: String,
    /// Full division name.
    pub division_name: String,
    /// 参保状态 code.
    pub status: String,
}

impl From<persons::PersonSummary> for PersonSummary {
    fn from(p: persons::PersonSummary) -> PersonSummary {
        PersonSummary {
            id: ids::PersonId(p.id.0),
            id_number_masked: p.id_number_masked,
            name: p.name,
            sex: p.sex,
            division_code: p.division_code,
            division_name: p.division_name,
            status: p.status.code().to_owned(),
        }
    }
}

/// Search criteria; at least one is required.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"name": "张", "page": 1, "per_page": 20}))]
pub struct PersonQuery {
    /// Exact identity number.
    #[schema(pattern = "^[0-9]{17}[0-9Xx]$")]
    pub id_number: Option<String>,
    /// Text the name contains anywhere (明 finds 王明 and 李明华).
    pub name: Option<String>,
    /// County-level division code.
    #[schema(pattern = "^[0-9]{6}$")]
    pub division_code: Option<String>,
    /// Page number from 1.
    #[schema(minimum = 1)]
    pub page: Option<u32>,
    /// Page size (1–200, default 50).
    #[schema(minimum = 1, maximum = 200)]
    pub per_page: Option<u32>,
}

impl From<PersonQuery> for persons::PersonQuery {
    fn from(q: PersonQuery) -> persons::PersonQuery {
        persons::PersonQuery {
            id_number: q.id_number,
            name: q.name,
            division_code: q.division_code,
            page: q.page,
            per_page: q.per_page,
        }
    }
}

/// `POST /api/v1/persons`: registers a person (201).
#[utoipa::path(
    post,
    path = "/persons",
    tag = "persons",
    request_body = PersonInput,
    responses(
        (status = 201, description = "已登记 — registered", body = PersonView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 409, response = crate::openapi::Conflict),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn create_person(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(input): ApiJson<PersonInput>,
) -> Result<(StatusCode, Json<PersonView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.create_person(&actor, &input.into()).await?.into()),
    ))
}

/// `POST /api/v1/persons/search` with `{"id_number"|"name"|"division_code", "page", "per_page"}`.
/// Lists mask identity numbers to the division and check character; searches by exact identity
/// number are limited per account (30 per 10 minutes by default: then 429 with `Retry-After`).
/// A name search lists in name order; a broad search counts 1,000 matches past its page and says
/// `more: true` instead of counting every match.
#[utoipa::path(
    post,
    path = "/persons/search",
    tag = "persons",
    request_body = PersonQuery,
    responses(
        (status = 200, description = "一页结果（号码脱敏）— one page of matches, identity numbers masked", body = Page<PersonSummary>),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
        (status = 429, response = crate::openapi::TooManyRequests),
    )
)]
pub async fn search_persons(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(q): ApiJson<PersonQuery>,
) -> Result<Json<Page<PersonSummary>>, ApiError> {
    Ok(Json(app.search_persons(&actor, &q.into()).await?.into()))
}

/// Query-string filters of `GET /api/v1/persons`: no identity number here, on purpose.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// 姓名所含文字 — text the name contains anywhere.
    name: Option<String>,
    /// 县级行政区划代码 — county-level division code.
    #[param(pattern = "^[0-9]{6}$")]
    division_code: Option<String>,
    /// 页码，从1起 — page number from 1.
    #[param(minimum = 1)]
    page: Option<u32>,
    /// 每页条数（1–200，默认50）— page size.
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<u32>,
    /// 不允许：公民身份号码不能放在网址中，带上即 400 `id_number_in_url`；请用
    /// `POST /persons/search` — refused: identity numbers never go in a URL.
    id_number: Option<String>,
}

/// `GET /api/v1/persons?name=&division_code=&page=&per_page=`.
#[utoipa::path(
    get,
    path = "/persons",
    tag = "persons",
    params(
        ListQuery,
    ),
    responses(
        (status = 200, description = "一页结果（号码脱敏）— one page of matches, identity numbers masked", body = Page<PersonSummary>),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn list_persons(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Page<PersonSummary>>, ApiError> {
    if q.id_number.is_some() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "id_number_in_url",
            "公民身份号码不能放在网址中，请改用 POST /api/v1/persons/search",
            Some("id_number"),
        ));
    }
    let query = persons::PersonQuery {
        id_number: None,
        name: q.name,
        division_code: q.division_code,
        page: q.page,
        per_page: q.per_page,
    };
    Ok(Json(app.search_persons(&actor, &query).await?.into()))
}

/// `GET /api/v1/persons/{id}`.
#[utoipa::path(
    get,
    path = "/persons/{id}",
    tag = "persons",
    params(
        ("id" = i64, Path, minimum = 1, description = "参保人编号 — the person's row id"),
    ),
    responses(
        (status = 200, description = "参保人 — the person", body = PersonView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn get_person(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<PersonView>, ApiError> {
    let id = PersonId(row_id(&id, "id")?);
    Ok(Json(app.person(&actor, id).await?.into()))
}

/// `GET /api/v1/persons/{id}/events`.
#[utoipa::path(
    get,
    path = "/persons/{id}/events",
    tag = "persons",
    params(
        ("id" = i64, Path, minimum = 1, description = "参保人编号 — the person's row id"),
    ),
    responses(
        (status = 200, description = "业务与材料 — business events and materials", body = Vec<EventView>),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn list_person_events(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<EventView>>, ApiError> {
    let id = PersonId(row_id(&id, "id")?);
    Ok(Json(all(app.person_events(&actor, id).await?)))
}
