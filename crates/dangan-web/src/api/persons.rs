//! Insured persons. Searching by identity number is a POST so that the number never appears
//! in a URL (and so never in an access log or a browser history).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use dangan_app::events::EventView;
use dangan_app::ids::PersonId;
use dangan_app::persons::{Page, PersonInput, PersonQuery, PersonSummary, PersonView};

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, AppState, Auth, row_id};

/// `POST /api/v1/persons`: registers a person (201).
pub async fn create_person(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(input): ApiJson<PersonInput>,
) -> Result<(StatusCode, Json<PersonView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.create_person(&actor, &input).await?),
    ))
}

/// `POST /api/v1/persons/search` with `{"id_number"|"name"|"division_code", "page", "per_page"}`.
pub async fn search_persons(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(q): ApiJson<PersonQuery>,
) -> Result<Json<Page<PersonSummary>>, ApiError> {
    Ok(Json(app.search_persons(&actor, &q).await?))
}

/// Query-string filters of `GET /api/v1/persons`: no identity number here, on purpose.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    name: Option<String>,
    division_code: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
    id_number: Option<String>,
}

/// `GET /api/v1/persons?name=&division_code=&page=&per_page=`.
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
    let query = PersonQuery {
        id_number: None,
        name: q.name,
        division_code: q.division_code,
        page: q.page,
        per_page: q.per_page,
    };
    Ok(Json(app.search_persons(&actor, &query).await?))
}

/// `GET /api/v1/persons/{id}`.
pub async fn get_person(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<PersonView>, ApiError> {
    let id = PersonId(row_id(&id, "id")?);
    Ok(Json(app.person(&actor, id).await?))
}

/// `GET /api/v1/persons/{id}/events`.
pub async fn list_person_events(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<EventView>>, ApiError> {
    let id = PersonId(row_id(&id, "id")?);
    Ok(Json(app.person_events(&actor, id).await?))
}
