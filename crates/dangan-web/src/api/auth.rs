//! Sign-in, sign-out and who-am-I.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use dangan_app::Actor;
use dangan_app::auth::Login;

use crate::error::ApiError;
use crate::extract::{ApiJson, AppState, Auth};

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
}

/// `POST /api/v1/auth/login` → `{"token", "expires_at", "must_change_password", "user"}`.
pub async fn login(
    State(app): State<AppState>,
    ApiJson(form): ApiJson<LoginForm>,
) -> Result<Json<Login>, ApiError> {
    Ok(Json(app.login(&form.username, &form.password).await?))
}

/// `POST /api/v1/auth/logout`: ends the caller's session.
pub async fn logout(
    State(app): State<AppState>,
    Auth(_, token): Auth,
) -> Result<StatusCode, ApiError> {
    app.logout(&token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/auth/me`: the signed-in user.
pub async fn me(Auth(actor, _): Auth) -> Json<Actor> {
    Json(actor)
}

/// The password-change form.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
}

/// `POST /api/v1/auth/password`: changes the caller's password (204); other sessions end.
pub async fn change_password(
    State(app): State<AppState>,
    Auth(actor, token): Auth,
    ApiJson(form): ApiJson<PasswordForm>,
) -> Result<StatusCode, ApiError> {
    app.change_password(&actor, &token, &form.current_password, &form.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
