//! The operation log (the auditor's view): search, verify, anchor.

use axum::Json;
use axum::extract::State;

use dangan_app::security::audit::{LogQuery, VerifyReport};
use dangan_domain::audit::LogEntry;

use crate::error::ApiError;
use crate::extract::{ApiQuery, AppState, Auth};

/// `GET /api/v1/audit/log?action=&target_kind=&target_id=&outcome=&before=&limit=`.
#[utoipa::path(
    get,
    path = "/audit/log",
    tag = "audit",
    params(
        LogQuery,
    ),
    responses(
        (status = 200, description = "日志条目，新的在前 — entries, newest first", body = Vec<LogEntry>),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn search_log(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> Result<Json<Vec<LogEntry>>, ApiError> {
    Ok(Json(app.search_log(&actor, &q).await?))
}

/// `POST /api/v1/audit/verify`: verifies the whole chain and its anchors.
#[utoipa::path(
    post,
    path = "/audit/verify",
    tag = "audit",
    responses(
        (status = 200, description = "校验结果 — the verification", body = VerifyReport),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn verify_log(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
) -> Result<Json<VerifyReport>, ApiError> {
    Ok(Json(app.verify_log(&actor).await?))
}

/// The anchor written, if the head had moved.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Anchored {
    /// 锚定的日志序号 — the sequence number signed, or null when the head had not moved.
    anchored_seq: Option<i64>,
}

/// `POST /api/v1/audit/anchor`: signs the current head.
#[utoipa::path(
    post,
    path = "/audit/anchor",
    tag = "audit",
    responses(
        (status = 200, description = "已锚定（日志未变化时为 null）— anchored, or null when the head had not moved", body = Anchored),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn anchor_log(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
) -> Result<Json<Anchored>, ApiError> {
    let a = app.anchor_log(&actor).await?;
    Ok(Json(Anchored {
        anchored_seq: a.map(|a| a.seq),
    }))
}
