//! Sign-in (staff and insured persons), sign-out, who-am-I and password change.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use dangan_app::administration::accounts;

use super::wire::accounts::Actor;
use crate::error::ApiError;
use crate::extract::{ApiJson, AppState, Auth, Source};

/// The staff sign-in form.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginForm {
    /// 用户名 — sign-in name.
    username: String,
    /// 密码 — password.
    password: String,
}

/// `POST /api/v1/auth/login` → `{"token", "expires_at", "must_change_password", "user"}`. An
/// unknown name, a wrong password and a locked account answer alike (401); an address that
/// failed too often, or a server with too many sign-ins waiting, gets 429 with `Retry-After`.
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    security(()),
    request_body = LoginForm,
    responses(
        (status = 200, description = "已登录：令牌只在此处出现一次 — signed in; the token is shown only here", body = Login),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
        (status = 429, response = crate::openapi::TooManyRequests),
    )
)]
pub async fn login(
    State(app): State<AppState>,
    Source(source): Source,
    ApiJson(form): ApiJson<LoginForm>,
) -> Result<Json<Login>, ApiError> {
    Ok(Json(
        app.login(&form.username, &form.password, &source)
            .await?
            .into(),
    ))
}

/// A successful sign-in.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Login {
    /// The bearer token; shown once, stored only as a digest.
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// The account still has a generated password that must be changed first.
    pub must_change_password: bool,
    /// The signed-in actor.
    pub user: Actor,
}

impl From<accounts::Login> for Login {
    fn from(l: accounts::Login) -> Login {
        Login {
            token: l.token,
            expires_at: l.expires_at,
            must_change_password: l.must_change_password,
            user: Actor::from(&l.user),
        }
    }
}

/// The insured person's sign-in form.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct InsuredLoginForm {
    /// 公民身份号码 — identity number.
    id_number: String,
    /// 密码 — password.
    password: String,
}

/// `POST /api/v1/auth/insured-login` with identity number and password (S8.1).
#[utoipa::path(
    post,
    path = "/auth/insured-login",
    tag = "auth",
    security(()),
    request_body = InsuredLoginForm,
    responses(
        (status = 200, description = "已登录 — signed in", body = Login),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
        (status = 429, response = crate::openapi::TooManyRequests),
    )
)]
pub async fn insured_login(
    State(app): State<AppState>,
    Source(source): Source,
    ApiJson(form): ApiJson<InsuredLoginForm>,
) -> Result<Json<Login>, ApiError> {
    Ok(Json(
        app.login_insured(&form.id_number, &form.password, &source)
            .await?
            .into(),
    ))
}

/// `POST /api/v1/auth/logout`: ends the caller's session.
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "auth",
    responses(
        (status = 204, description = "本次登录已结束 — this session ended"),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn logout(
    State(app): State<AppState>,
    Auth(actor, token): Auth,
) -> Result<StatusCode, ApiError> {
    app.logout(&actor, &token, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/auth/logout-all`: ends every session of the caller's account.
#[utoipa::path(
    post,
    path = "/auth/logout-all",
    tag = "auth",
    responses(
        (status = 204, description = "本账号的全部登录已结束 — every session of the account ended"),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn logout_all(
    State(app): State<AppState>,
    Auth(actor, token): Auth,
) -> Result<StatusCode, ApiError> {
    app.logout(&actor, &token, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/auth/me`: the signed-in actor.
#[utoipa::path(
    get,
    path = "/auth/me",
    tag = "auth",
    responses(
        (status = 200, description = "当前登录者 — the signed-in actor", body = Actor),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn me(Auth(actor, _): Auth) -> Json<Actor> {
    Json(Actor::from(&actor))
}

/// The password-change form.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PasswordForm {
    /// 当前密码 — the current password.
    current_password: String,
    /// 新密码：10至128位，同时包含字母和数字 — the new password.
    new_password: String,
}

/// `POST /api/v1/auth/password`: changes the caller's password (204); other sessions end.
#[utoipa::path(
    post,
    path = "/auth/password",
    tag = "auth",
    request_body = PasswordForm,
    responses(
        (status = 204, description = "密码已修改，其他登录已结束 — password changed; other sessions ended"),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn change_password(
    State(app): State<AppState>,
    Auth(actor, token): Auth,
    ApiJson(form): ApiJson<PasswordForm>,
) -> Result<StatusCode, ApiError> {
    app.change_password(&actor, &token, &form.current_password, &form.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
