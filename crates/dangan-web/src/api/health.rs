//! `GET /healthz`: 200 when the database answers, 503 otherwise (liveness). `GET /readyz`: 200
//! only when the server should get traffic (readiness).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
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

/// Whether the server is shutting down, shared between `serve` and `GET /readyz`.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// From now on `/readyz` answers 503 `shutting_down`: a proxy stops sending new requests
    /// while the open ones finish.
    pub fn shutting_down(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// How long the blob store may take to answer a readiness check.
const BLOB_STORE_PROBE: Duration = Duration::from_secs(3);

/// `GET /readyz`: 200 when this server should get traffic — the database answers a trivial
/// query and the blob store (when configured) is reachable — 503 with a short reason otherwise.
/// `/healthz` stays the liveness check.
pub async fn readyz(
    State(app): State<AppState>,
    readiness: Option<Extension<Readiness>>,
) -> (StatusCode, Json<Value>) {
    let not_ready = |reason: &str, message: &str| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not_ready", "reason": reason, "message": message})),
        )
    };
    if readiness.is_some_and(|Extension(r)| r.0.load(Ordering::SeqCst)) {
        return not_ready("shutting_down", "服务正在停止");
    }
    if !app.healthy().await {
        return not_ready("database", "数据库无法访问");
    }
    match tokio::time::timeout(BLOB_STORE_PROBE, app.blob_store_reachable()).await {
        Ok(None | Some(true)) => (StatusCode::OK, Json(json!({"status": "ready"}))),
        Ok(Some(false)) | Err(_) => not_ready("blob_store", "电子文件存储无法访问"),
    }
}
