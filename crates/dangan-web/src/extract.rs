//! Extractors: the signed-in actor from `Authorization: Bearer …` (or, for GET, the pages'
//! session cookie), and JSON/query extractors
//! whose rejections use the API's error shape and Chinese messages.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use dangan_app::{Actor, App};

use crate::error::ApiError;

/// Shared state of every handler.
pub type AppState = Arc<App>;

/// The caller, authenticated by bearer token.
#[derive(Debug, Clone)]
pub struct Auth(pub Actor, pub String);

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The client's address: the peer of the TCP connection (a reverse proxy in front should be
/// trusted only by configuration, which this version does not read), or `unknown` in-process.
pub fn client_source(parts: &Parts) -> String {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
}

/// The client's address as an extractor.
#[derive(Debug, Clone)]
pub struct Source(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Source(client_source(parts)))
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // The pages' session cookie stands in for the bearer on safe requests only (print
        // views, downloads opened from a page): a cookie rides along with cross-site requests,
        // so nothing that changes state may accept it here.
        let cookie = if matches!(
            parts.method,
            axum::http::Method::GET | axum::http::Method::HEAD
        ) {
            crate::ui::cookie_token(&parts.headers)
        } else {
            None
        };
        let token = bearer(parts).or(cookie.as_deref()).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "请先登录：请求需带有 Authorization: Bearer 令牌",
                None,
            )
        })?;
        let actor = app.authenticate(token, &client_source(parts)).await?;
        Ok(Auth(actor, token.to_owned()))
    }
}

/// `axum::Json` with the API's rejection.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(value) = axum::Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(value))
    }
}

/// `axum::extract::Query` with the API's rejection.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(value))
    }
}

/// Parses a row id from a path segment.
pub fn row_id(raw: &str, field: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::bad_id(field))
}

/// A UTF-8 text body with the API's rejection (for calendar files).
#[derive(Debug)]
pub struct ApiText(pub String);

impl<S: Send + Sync> FromRequest<S> for ApiText {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        String::from_request(req, state)
            .await
            .map(ApiText)
            .map_err(|r| {
                if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "body_too_large",
                        "请求内容过大：不能超过 2 MB",
                        None,
                    )
                } else {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_text_body",
                        "请求内容应为 UTF-8 编码的文本",
                        None,
                    )
                }
            })
    }
}
