//! Accounts and API tokens (the security officer's work).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use dangan_app::administration::tokens;
use dangan_app::ids::UserId;
use dangan_app::{Role, ids::TokenId};

use super::wire::accounts::{PasswordReset, UserView};
use super::wire::{all, ids};
use crate::error::ApiError;
use crate::extract::{ApiJson, AppState, Auth, row_id};

/// A new user.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewUserForm {
    /// 用户名：2至32位字母、数字、`_`、`-`、`.` — sign-in name.
    username: String,
    /// 显示名（默认同用户名）— display name.
    display_name: Option<String>,
    /// 角色代码 — role code: admin, archivist, handler, window, auditor, security_officer.
    #[schema(pattern = "^(admin|archivist|handler|window|auditor|security_officer)$")]
    role: String,
}

/// The created user with its generated first password (shown once).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedUser {
    /// 新用户 — the user.
    user: UserView,
    /// 初始密码（只出现这一次）— the generated first password, shown once.
    initial_password: Option<String>,
}

/// `POST /api/v1/users`: creates a staff user with a generated password (201).
#[utoipa::path(
    post,
    path = "/users",
    tag = "accounts",
    request_body = NewUserForm,
    responses(
        (status = 201, description = "已创建；初始密码只在此处出现一次 — created; the first password is shown only here", body = CreatedUser),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 409, response = crate::openapi::Conflict),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
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
            user: user.into(),
            initial_password,
        }),
    ))
}

/// `GET /api/v1/users`.
#[utoipa::path(
    get,
    path = "/users",
    tag = "accounts",
    responses(
        (status = 200, description = "全部用户 — every user", body = Vec<UserView>),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn list_users(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
) -> Result<Json<Vec<UserView>>, ApiError> {
    Ok(Json(all(app.users(&actor).await?)))
}

/// A role change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RoleForm {
    /// 角色代码 — role code.
    #[schema(pattern = "^(admin|archivist|handler|window|auditor|security_officer)$")]
    role: String,
    /// 停用账号 — disable the account.
    #[serde(default)]
    disabled: bool,
}

/// `PUT /api/v1/users/{id}/role`: changes a user's role or disables the account.
#[utoipa::path(
    put,
    path = "/users/{id}/role",
    tag = "accounts",
    params(
        ("id" = i64, Path, minimum = 1, description = "用户编号 — the user's row id"),
    ),
    request_body = RoleForm,
    responses(
        (status = 200, description = "已修改 — changed", body = UserView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn set_role(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(form): ApiJson<RoleForm>,
) -> Result<Json<UserView>, ApiError> {
    let id = UserId(row_id(&id, "id")?);
    let role = Role::parse(&form.role)?;
    Ok(Json(
        app.set_user_role(&actor, id, role, form.disabled)
            .await?
            .into(),
    ))
}

/// `POST /api/v1/users/{id}/password-reset`: 重置密码 of a business account.
#[utoipa::path(
    post,
    path = "/users/{id}/password-reset",
    tag = "accounts",
    params(
        ("id" = i64, Path, minimum = 1, description = "用户编号 — the user's row id"),
    ),
    responses(
        (status = 200, description = "已重置：新密码只在此返回一次，下次登录须修改 — reset; the new password is returned this once", body = PasswordReset),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn reset_password(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<PasswordReset>, ApiError> {
    let id = UserId(row_id(&id, "id")?);
    Ok(Json(app.reset_user_password(&actor, id).await?.into()))
}

/// `POST /api/v1/users/{id}/unlock`: 解锁 a business account locked by failed sign-ins.
#[utoipa::path(
    post,
    path = "/users/{id}/unlock",
    tag = "accounts",
    params(
        ("id" = i64, Path, minimum = 1, description = "用户编号 — the user's row id"),
    ),
    responses(
        (status = 200, description = "已解锁 — unlocked", body = UserView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn unlock(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    let id = UserId(row_id(&id, "id")?);
    Ok(Json(app.unlock_user(&actor, id).await?.into()))
}

/// A token as listed (never the secret).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenView {
    /// Row id.
    pub id: ids::TokenId,
    /// Name.
    pub name: String,
    /// Scope codes.
    pub scopes: Vec<String>,
    /// Created by.
    pub created_by: String,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Revoked at.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<tokens::TokenView> for TokenView {
    fn from(t: tokens::TokenView) -> TokenView {
        TokenView {
            id: ids::TokenId(t.id.0),
            name: t.name,
            scopes: t.scopes.into_iter().map(|s| s.to_string()).collect(),
            created_by: t.created_by,
            created_at: t.created_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// A created token: the secret is shown this once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    /// The token's listing.
    pub token: TokenView,
    /// The bearer secret.
    pub secret: String,
}

impl From<tokens::CreatedToken> for CreatedToken {
    fn from(c: tokens::CreatedToken) -> CreatedToken {
        CreatedToken {
            token: c.token.into(),
            secret: c.secret,
        }
    }
}

/// A new API token.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TokenForm {
    /// 令牌名称 — the token's name.
    name: String,
    /// 权限范围 — scope codes, e.g. `persons:write`, `events:write`, `sync:write`.
    scopes: Vec<String>,
}

/// `POST /api/v1/tokens`: creates a token (201); the secret is in the response, once.
#[utoipa::path(
    post,
    path = "/tokens",
    tag = "accounts",
    request_body = TokenForm,
    responses(
        (status = 201, description = "已创建；密钥只在此处出现一次 — created; the secret is shown only here", body = CreatedToken),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 409, response = crate::openapi::Conflict),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn create_token(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(form): ApiJson<TokenForm>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(
            app.create_token(&actor, &form.name, &form.scopes)
                .await?
                .into(),
        ),
    ))
}

/// `GET /api/v1/tokens`.
#[utoipa::path(
    get,
    path = "/tokens",
    tag = "accounts",
    responses(
        (status = 200, description = "全部接口令牌 — every API token", body = Vec<TokenView>),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn list_tokens(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    Ok(Json(all(app.tokens(&actor).await?)))
}

/// `DELETE /api/v1/tokens/{id}`: revokes a token (204).
#[utoipa::path(
    delete,
    path = "/tokens/{id}",
    tag = "accounts",
    params(
        ("id" = i64, Path, minimum = 1, description = "令牌编号 — the token's row id"),
    ),
    responses(
        (status = 204, description = "已吊销 — revoked"),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn revoke_token(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = TokenId(row_id(&id, "id")?);
    app.revoke_token(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
