//! Sign-in (staff and insured persons), sign-out, who-am-I and password change.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use dangan_app::Actor;
use dangan_app::auth::Login;

use crate::error::ApiError;
use crate::extract::{ApiJson, AppState, Auth, Source};

/// The staff sign-in form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
}

/// `POST /api/v1/auth/login` → `{"token", "expires_at", "must_change_password", "user"}`.
pub async fn login(
    State(app): State<AppState>,
    Source(source): Source,
    ApiJson(form): ApiJson<LoginForm>,
) -> Result<Json<Login>, ApiError> {
    Ok(Json(
        app.login(&form.username, &form.password, &source).await?,
    ))
}

/// The insured person's sign-in form.
#[derive(Debug, Deserialize)]
pub struct InsuredLoginForm {
    id_number: String,
    password: String,
}

/// `POST /api/v1/auth/insured-login` with identity number and password (S8.1).
pub async fn insured_login(
    State(app): State<AppState>,
    Source(source): Source,
    ApiJson(form): ApiJson<InsuredLoginForm>,
) -> Result<Json<Login>, ApiError> {
    Ok(Json(
        app.login_insured(&form.id_number, &form.password, &source)
            .await?,
    ))
}

/// `POST /api/v1/auth/logout`: ends the caller's session.
pub async fn logout(
    State(app): State<AppState>,
    Auth(actor, token): Auth,
) -> Result<StatusCode, ApiError> {
    app.logout(&actor, &token, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/auth/logout-all`: ends every session of the caller's account.
pub async fn logout_all(
    State(app): State<AppState>,
    Auth(actor, token): Auth,
) -> Result<StatusCode, ApiError> {
    app.logout(&actor, &token, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/auth/me`: the signed-in actor.
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
