//! Accounts and API tokens (the security officer's work).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use dangan_app::auth::UserView;
use dangan_app::ids::UserId;
use dangan_app::tokens::{CreatedToken, TokenView};
use dangan_app::{Role, ids::TokenId};

use crate::error::ApiError;
use crate::extract::{ApiJson, AppState, Auth, row_id};

/// A new user.
#[derive(Debug, Deserialize)]
pub struct NewUserForm {
    username: String,
    display_name: Option<String>,
    role: String,
}

/// The created user with its generated first password (shown once).
#[derive(Debug, Serialize)]
pub struct CreatedUser {
    user: UserView,
    initial_password: Option<String>,
}

/// `POST /api/v1/users`: creates a staff user with a generated password (201).
pub async fn create_user(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(form): ApiJson<NewUserForm>,
) -> Result<(StatusCode, Json<CreatedUser>), ApiError> {
    let role = Role::parse(&form.role)?;
    let (user, initial_password) = app
        .add_user(
            &actor,
            &form.username,
            form.display_name.as_deref(),
            role,
            None,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedUser {
            user,
            initial_password,
        }),
    ))
}

/// `GET /api/v1/users`.
pub async fn list_users(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
) -> Result<Json<Vec<UserView>>, ApiError> {
    Ok(Json(app.users(&actor).await?))
}

/// A role change.
#[derive(Debug, Deserialize)]
pub struct RoleForm {
    role: String,
    #[serde(default)]
    disabled: bool,
}

/// `PUT /api/v1/users/{id}/role`: changes a user's role or disables the account.
pub async fn set_role(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(form): ApiJson<RoleForm>,
) -> Result<Json<UserView>, ApiError> {
    let id = UserId(row_id(&id, "id")?);
    let role = Role::parse(&form.role)?;
    Ok(Json(
        app.set_user_role(&actor, id, role, form.disabled).await?,
    ))
}

/// A new API token.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    name: String,
    scopes: Vec<String>,
}

/// `POST /api/v1/tokens`: creates a token (201); the secret is in the response, once.
pub async fn create_token(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(form): ApiJson<TokenForm>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.create_token(&actor, &form.name, &form.scopes).await?),
    ))
}

/// `GET /api/v1/tokens`.
pub async fn list_tokens(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    Ok(Json(app.tokens(&actor).await?))
}

/// `DELETE /api/v1/tokens/{id}`: revokes a token (204).
pub async fn revoke_token(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = TokenId(row_id(&id, "id")?);
    app.revoke_token(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
