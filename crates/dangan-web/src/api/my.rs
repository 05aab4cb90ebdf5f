//! The insured person's own records (`/api/v1/my/…`), and the staff route that opens a
//! person's online account.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use serde::{Deserialize, Serialize};

use dangan_app::administration::accounts;
use dangan_app::ids::PersonId;

use super::wire::events::EventView;
use super::wire::persons::PersonView;
use super::wire::{all, ids};
use crate::error::ApiError;
use crate::extract::{ApiJson, AppState, Auth, row_id};

/// `GET /api/v1/my/person`: the signed-in insured person's record.
#[utoipa::path(
    get,
    path = "/my/person",
    tag = "my",
    responses(
        (status = 200, description = "本人档案 — the insured person's own record", body = PersonView),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn my_person(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
) -> Result<Json<PersonView>, ApiError> {
    Ok(Json(app.my_person(&actor).await?.into()))
}

/// `GET /api/v1/my/events`: the signed-in insured person's business and materials.
#[utoipa::path(
    get,
    path = "/my/events",
    tag = "my",
    responses(
        (status = 200, description = "本人的业务与材料 — own business events and materials", body = Vec<EventView>),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn my_events(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
) -> Result<Json<Vec<EventView>>, ApiError> {
    Ok(Json(all(app.my_events(&actor).await?)))
}

/// 办理依据 — on what a clerk acts for a person, as sent by a form or the API.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"basis": "card", "id_number": "11010519491231002X"}))]
pub struct BasisInput {
    /// `query`: the clerk registered a query for this person (查询登记) within the query window;
    /// `card`: the person is here with their identity card (本人持卡在场).
    #[schema(pattern = "^(query|card)$")]
    pub basis: String,
    /// With `card`: the full identity number read from the card; it must be the person's.
    #[schema(pattern = "^[0-9]{17}[0-9Xx]$")]
    pub id_number: Option<String>,
}

impl From<BasisInput> for accounts::BasisInput {
    fn from(b: BasisInput) -> accounts::BasisInput {
        accounts::BasisInput {
            basis: b.basis,
            id_number: b.id_number,
        }
    }
}

/// An opened account: the generated password is shown once, to be handed to the person.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OpenedAccount {
    /// The person.
    pub person_id: ids::PersonId,
    /// The generated first password.
    pub initial_password: String,
}

impl From<accounts::OpenedAccount> for OpenedAccount {
    fn from(o: accounts::OpenedAccount) -> OpenedAccount {
        OpenedAccount {
            person_id: ids::PersonId(o.person_id.0),
            initial_password: o.initial_password,
        }
    }
}

/// `POST /api/v1/persons/{id}/account` with the basis (`{"basis": "query"}`, or
/// `{"basis": "card", "id_number": "…"}` read from the person's card): opens or resets the
/// person's online account (201) and returns the generated first password, once.
#[utoipa::path(
    post,
    path = "/persons/{id}/account",
    tag = "persons",
    params(
        ("id" = i64, Path, minimum = 1, description = "参保人编号 — the person's row id"),
    ),
    request_body(
        content = BasisInput,
        description = "办理依据：query = 本人已为该参保人办理查询登记；card = 参保人本人持身份证在场，id_number 为从身份证读取的完整号码（记入查询登记簿）— the basis: a query registered by this clerk, or the person present with their card",
    ),
    responses(
        (status = 201, description = "已开通或重置；初始密码只在此处出现一次 — opened or reset; the first password is shown only here", body = OpenedAccount),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn open_account(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(basis): ApiJson<BasisInput>,
) -> Result<(StatusCode, Json<OpenedAccount>), ApiError> {
    let id = PersonId(row_id(&id, "id")?);
    Ok((
        StatusCode::CREATED,
        Json(
            app.open_insured_account(&actor, id, &basis.into())
                .await?
                .into(),
        ),
    ))
}
