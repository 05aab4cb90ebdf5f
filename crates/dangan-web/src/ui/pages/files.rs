//! 扫描件 — one scan: its upload, viewer, checks and withdrawal, and its bytes.

use super::{Shell, csrf_refused, failure, html, shell, staff};
use crate::extract::AppState;
use crate::ui::session::Visitor;
use askama::Template;
use axum::Form;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use dangan_app::UseCase;
use dangan_app::electronic::files::FileView;
use dangan_app::ids::FileId;
use serde::Deserialize;
use tokio_util::io::ReaderStream;

#[derive(Template)]
#[template(path = "file.html")]
pub(super) struct FilePage {
    shell: Shell,
    file: FileView,
    is_pdf: bool,
    is_image: bool,
    /// The person whose archive tree the scan was opened from (for the way back).
    person: Option<i64>,
    /// The four-property report's checks: (code, name, verdict label, css class, reason).
    checks: Vec<(String, String, &'static str, &'static str, String)>,
    /// The checks that failed: (code, name, reason).
    failed: Vec<(String, String, String)>,
    can_withdraw: bool,
}

/// Where a scan was opened from.
#[derive(Debug, Deserialize)]
pub struct FileQuery {
    person: Option<i64>,
}

/// `GET /files/{id}`: the scan viewer — PDF inline, images with zoom — with its four-property
/// report; a failed check is shown first, with its reason and the withdraw form.
pub async fn file_view(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Query(q): Query<FileQuery>,
) -> Response {
    let actor = staff_or_redirect!(v);
    // Opening the file is the archive read (registration checked, logged); the bytes are
    // fetched by the viewer from /raw.
    match app.open_file(&actor, FileId(id)).await {
        Ok((file, _)) => {
            let is_pdf = file.format == "pdf";
            let is_image = matches!(file.format.as_str(), "png" | "jpeg");
            let report = app.file_checks(&actor, FileId(id)).await.ok();
            let checks = report
                .iter()
                .flat_map(|r| r.checks.iter())
                .map(|c| {
                    let (label, class) = match c.passed {
                        Some(true) => ("通过", "ok"),
                        Some(false) => ("未通过", "warn"),
                        None => ("跳过", "info"),
                    };
                    (
                        c.code.clone(),
                        c.name.clone(),
                        label,
                        class,
                        c.reason.clone(),
                    )
                })
                .collect();
            let failed = report
                .iter()
                .flat_map(|r| r.checks.iter())
                .filter(|c| c.passed == Some(false))
                .map(|c| (c.code.clone(), c.name.clone(), c.reason.clone()))
                .collect();
            html(&FilePage {
                shell: shell(&actor, &v, "/persons"),
                can_withdraw: dangan_app::administration::roles::allowed(
                    actor.role,
                    UseCase::IngestScans,
                ) && file.preservation_of.is_none()
                    && !file.sealed,
                file,
                is_pdf,
                is_image,
                person: q.person,
                checks,
                failed,
            })
        }
        Err(e) => failure(&actor, &v, &e),
    }
}

/// The withdraw form of a scan.
#[derive(Debug, Deserialize)]
pub struct WithdrawForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    reason: String,
    person: Option<i64>,
    /// Sent from a volume's seal confirmation: back there.
    volume: Option<i64>,
}

/// `POST /files/{id}/withdraw`: withdraws a scan (and its preservation copy) with the reason,
/// until its volume is sealed; back to the person's archive tree.
pub async fn file_withdraw(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<WithdrawForm>,
) -> Response {
    let actor = staff_or_redirect!(v);
    if !v.csrf_ok(&f.csrf) {
        return csrf_refused();
    }
    match app.withdraw_file(&actor, FileId(id), &f.reason).await {
        Ok(()) => Redirect::to(&match (f.person, f.volume) {
            (Some(p), _) => format!("/persons/{p}"),
            (None, Some(v)) => format!("/volumes/{v}/seal"),
            (None, None) => "/persons".to_owned(),
        })
        .into_response(),
        Err(e) => failure(&actor, &v, &e),
    }
}

/// `GET /files/{id}/raw`: the decrypted bytes for the viewer, inline.
pub async fn file_raw(State(app): State<AppState>, v: Visitor, Path(id): Path<i64>) -> Response {
    let Some(actor) = v.actor.clone() else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    match app.open_file(&actor, FileId(id)).await {
        Ok((file, reader)) => (
            [
                (header::CONTENT_TYPE, file.mime.clone()),
                (header::CONTENT_LENGTH, file.size.to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("inline; filename=\"dangan-file-{id}\""),
                ),
            ],
            Body::from_stream(ReaderStream::new(reader)),
        )
            .into_response(),
        Err(e) => failure(&actor, &v, &e),
    }
}

/// `POST /materials/{id}/upload`: the scan viewer's upload (the body is the file; the name in
/// `X-File-Name`, percent-encoded; the CSRF token in `X-CSRF-Token`). Answers JSON, with the
/// four-property checks that failed (shown at once by `static/app.js`).
pub async fn upload(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    headers: axum::http::HeaderMap,
    body: Body,
) -> Response {
    let Ok(actor) = staff(&v) else {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({"error": "请先登录"})),
        )
            .into_response();
    };
    let csrf = headers
        .get("x-csrf-token")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if !v.csrf_ok(csrf) {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(serde_json::json!({"error": "表单已过期，请刷新页面"})),
        )
            .into_response();
    }
    let name = headers
        .get("x-file-name")
        .and_then(|h| h.to_str().ok())
        .and_then(crate::api::files::percent_decode);
    use futures_util::TryStreamExt;
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let reader = tokio_util::io::StreamReader::new(stream);
    match app
        .ingest_file(
            actor,
            dangan_app::ids::MaterialId(id),
            name.as_deref(),
            reader,
        )
        .await
    {
        Ok(f) => (
            StatusCode::CREATED,
            axum::Json(serde_json::json!({
                "id": f.id.0,
                "duplicate": f.duplicate,
                "four_properties_passed": f.four_properties_passed,
                "failed_checks": f.failed_checks,
            })),
        )
            .into_response(),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(serde_json::json!({"error": e.to_string(), "code": e.code()})),
        )
            .into_response(),
    }
}
