//! `GET /healthz`: 200 when the database answers, 503 otherwise.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::extract::AppState;

/// Health of the server and its database.
pub async fn healthz(State(app): State<AppState>) -> (StatusCode, Json<Value>) {
    let backend = app.store().backend().name();
    if app.healthy().await {
        (
            StatusCode::OK,
            Json(json!({"status": "ok", "database": backend})),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({"status": "unavailable", "database": backend, "message": "数据库无法访问"}),
            ),
        )
    }
}
