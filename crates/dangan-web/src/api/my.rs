//! The insured person's own records (`/api/v1/my/…`), and the staff route that opens a
//! person's online account.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use dangan_app::events::EventView;
use dangan_app::ids::PersonId;
use dangan_app::insured::OpenedAccount;
use dangan_app::persons::PersonView;

use crate::error::ApiError;
use crate::extract::{AppState, Auth, row_id};

/// `GET /api/v1/my/person`: the signed-in insured person's record.
pub async fn my_person(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
) -> Result<Json<PersonView>, ApiError> {
    Ok(Json(app.my_person(&actor).await?))
}

/// `GET /api/v1/my/events`: the signed-in insured person's business and materials.
pub async fn my_events(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
) -> Result<Json<Vec<EventView>>, ApiError> {
    Ok(Json(app.my_events(&actor).await?))
}

/// `POST /api/v1/persons/{id}/account`: opens or resets the person's online account (201) and
/// returns the generated first password, once.
pub async fn open_account(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<OpenedAccount>), ApiError> {
    let id = PersonId(row_id(&id, "id")?);
    Ok((
        StatusCode::CREATED,
        Json(app.open_insured_account(&actor, id).await?),
    ))
}
