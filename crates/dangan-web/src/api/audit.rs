//! The operation log (the auditor's view): search, verify, anchor.

use axum::Json;
use axum::extract::State;

use dangan_app::audit::{LogQuery, VerifyReport};
use dangan_domain::audit::LogEntry;

use crate::error::ApiError;
use crate::extract::{ApiQuery, AppState, Auth};

/// `GET /api/v1/audit/log?action=&target_kind=&target_id=&outcome=&before=&limit=`.
pub async fn search_log(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> Result<Json<Vec<LogEntry>>, ApiError> {
    Ok(Json(app.search_log(&actor, &q).await?))
}

/// `POST /api/v1/audit/verify`: verifies the whole chain and its anchors.
pub async fn verify_log(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
) -> Result<Json<VerifyReport>, ApiError> {
    Ok(Json(app.verify_log(&actor).await?))
}

/// The anchor written, if the head had moved.
#[derive(Debug, serde::Serialize)]
pub struct Anchored {
    anchored_seq: Option<i64>,
}

/// `POST /api/v1/audit/anchor`: signs the current head.
pub async fn anchor_log(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
) -> Result<Json<Anchored>, ApiError> {
    let a = app.anchor_log(&actor).await?;
    Ok(Json(Anchored {
        anchored_seq: a.map(|a| a.seq),
    }))
}
