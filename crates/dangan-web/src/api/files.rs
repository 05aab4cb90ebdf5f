//! Scans: upload (streamed, never held in memory whole), list, download (decrypted on the fly)
//! and verification. The file name travels in the `X-File-Name` header (percent-encoded UTF-8),
//! never in the URL: S6.1 names carry identity numbers.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use serde::Serialize;
use tokio_util::io::{ReaderStream, StreamReader};

use dangan_app::electronic::files::{self, ByteRange};
use dangan_app::electronic::four;
use dangan_app::ids::{FileId, MaterialId};
use dangan_app::security::backup;

use super::wire::files::FileView;
use super::wire::{all, ids};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, AppState, Auth, row_id};
use crate::metrics::Ingested;

/// Decodes a percent-encoded UTF-8 header value; `None` when it is not one.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let h = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `POST /api/v1/materials/{id}/files` with the file as the body and `X-File-Name`: 201, or
/// 200 with the stored file when this material already holds the same bytes.
#[utoipa::path(
    post,
    path = "/materials/{id}/files",
    tag = "files",
    params(
        ("id" = i64, Path, minimum = 1, description = "材料编号 — the material's row id"),
        ("X-File-Name" = Option<String>, Header, description = "原文件名（UTF-8，百分号编码）— the original file name, percent-encoded UTF-8"),
    ),
    request_body(
        description = "扫描件本身（PDF、OFD、TIFF、JPEG、PNG、JP2；其他格式存入但不符合归档要求）— the file's bytes",
        content(
            (crate::openapi::FileBytes = "application/pdf"),
            (crate::openapi::FileBytes = "image/tiff"),
            (crate::openapi::FileBytes = "image/jpeg"),
            (crate::openapi::FileBytes = "image/png"),
            (crate::openapi::FileBytes = "application/octet-stream"),
        )
    ),
    responses(
        (status = 201, description = "已入库 — stored", body = FileView),
        (status = 200, description = "该材料已有相同内容的文件：返回原文件，未重复写入 — the same bytes are already stored for this material", body = FileView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn upload_file(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Extension<Ingested>, Json<FileView>), ApiError> {
    let material = MaterialId(row_id(&id, "id")?);
    let name = headers
        .get("x-file-name")
        .and_then(|v| v.to_str().ok())
        .and_then(percent_decode);
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let reader = StreamReader::new(stream);
    let (view, created) = app
        .store_file(&actor, material, name.as_deref(), reader)
        .await?;
    // A retried upload of the same bytes for the same material is answered with the file
    // already stored: 200 instead of 201, nothing written twice.
    let (status, stored) = if created {
        (StatusCode::CREATED, 1)
    } else {
        (StatusCode::OK, 0)
    };
    let ingested = Ingested {
        files: stored,
        bytes: stored * u64::try_from(view.size).unwrap_or(0),
    };
    Ok((status, Extension(ingested), Json(view.into())))
}

/// `GET /api/v1/materials/{id}/files`.
#[utoipa::path(
    get,
    path = "/materials/{id}/files",
    tag = "files",
    params(
        ("id" = i64, Path, minimum = 1, description = "材料编号 — the material's row id"),
    ),
    responses(
        (status = 200, description = "电子文件 — the scans", body = Vec<FileView>),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn list_files(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<FileView>>, ApiError> {
    let files = app.files_of(&actor, MaterialId(row_id(&id, "id")?)).await?;
    Ok(Json(all(files)))
}

/// Options of a download.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DownloadQuery {
    /// `masked` (default) or `full`: the identity number in the S6.1 download name.
    #[param(pattern = "^(full|masked)$")]
    pub name: Option<String>,
}

/// Percent-encodes a UTF-8 file name for `filename*=` (RFC 5987: only attr-chars stay).
fn rfc5987(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `GET /api/v1/files/{id}/content`: the decrypted file, streamed; a single `Range: bytes=…`
/// gets `206 Partial Content` (or `416` when it does not fit), so PDF viewers can seek.
#[utoipa::path(
    get,
    path = "/files/{id}/content",
    tag = "files",
    params(
        ("id" = i64, Path, minimum = 1, description = "电子文件编号 — the file's row id"),
        DownloadQuery,
        ("Range" = Option<String>, Header, description = "只取一段：`bytes=起-止`、`bytes=起-` 或 `bytes=-末尾字节数` — a single byte range"),
    ),
    responses(
        (status = 200, description = "解密后的文件 — the decrypted file", content(
            (crate::openapi::FileBytes = "application/pdf"),
            (crate::openapi::FileBytes = "application/ofd"),
            (crate::openapi::FileBytes = "image/tiff"),
            (crate::openapi::FileBytes = "image/jpeg"),
            (crate::openapi::FileBytes = "image/png"),
            (crate::openapi::FileBytes = "image/jp2"),
            (crate::openapi::FileBytes = "application/octet-stream"),
        ), headers(
            ("Content-Disposition" = String, description = "按 S6.1 命名（号码默认脱敏）— named by the S6.1 rule"),
            ("Accept-Ranges" = String, description = "bytes"),
        )),
        (status = 206, description = "所请求的一段 — the range asked for", content(
            (crate::openapi::FileBytes = "application/pdf"),
            (crate::openapi::FileBytes = "application/ofd"),
            (crate::openapi::FileBytes = "image/tiff"),
            (crate::openapi::FileBytes = "image/jpeg"),
            (crate::openapi::FileBytes = "image/png"),
            (crate::openapi::FileBytes = "image/jp2"),
            (crate::openapi::FileBytes = "application/octet-stream"),
        ), headers(
            ("Content-Range" = String, description = "bytes 起-止/总长"),
            ("Content-Disposition" = String, description = "按 S6.1 命名 — named by the S6.1 rule"),
            ("Accept-Ranges" = String, description = "bytes"),
        )),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 416, description = "所请求的范围超出文件长度 — the range does not fit the file", headers(
            ("Content-Range" = String, description = "bytes */总长"),
        )),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn download_file(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<DownloadQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if query
        .name
        .as_deref()
        .is_some_and(|n| n != "full" && n != "masked")
    {
        return Err(dangan_app::AppError::invalid_with(
            "invalid_name_option",
            Some("name"),
            "name 只能是 full 或 masked",
        )
        .into());
    }
    let requested = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(ByteRange::parse);
    let opened = app
        .open_file_range(&actor, FileId(row_id(&id, "id")?), requested)
        .await?;
    let view = &opened.view;
    if opened.unsatisfiable {
        return Ok((
            StatusCode::RANGE_NOT_SATISFIABLE,
            [(header::CONTENT_RANGE, format!("bytes */{}", view.size))],
        )
            .into_response());
    }
    let ext = opened
        .s61_name
        .rsplit('.')
        .next()
        .unwrap_or("bin")
        .to_owned();
    // Named by the S6.1 rule. The identity number in it is masked unless `?name=full` asks for
    // it (an export into another system): a browser keeps download names in its history. The
    // plain `filename` is an ASCII fallback for old clients.
    let name = if query.name.as_deref() == Some("full") {
        &opened.s61_name
    } else {
        &opened.s61_name_masked
    };
    let disposition = format!(
        "attachment; filename=\"dangan-file-{}.{ext}\"; filename*=UTF-8''{}",
        view.id,
        rfc5987(name)
    );
    let body = Body::from_stream(ReaderStream::new(opened.reader));
    let mut response = match opened.range {
        Some((start, end)) => (
            StatusCode::PARTIAL_CONTENT,
            [
                (
                    header::CONTENT_RANGE,
                    format!("bytes {start}-{end}/{}", view.size),
                ),
                (header::CONTENT_LENGTH, (end - start + 1).to_string()),
            ],
            body,
        )
            .into_response(),
        None => ([(header::CONTENT_LENGTH, view.size.to_string())], body).into_response(),
    };
    let h = response.headers_mut();
    if let Ok(v) = view.mime.parse() {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = disposition.parse() {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::ACCEPT_RANGES,
        axum::http::HeaderValue::from_static("bytes"),
    );
    Ok(response)
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Check {
    /// DA/T 70 style code, e.g. `GD-1-1`.
    pub code: String,
    /// 真实性 / 完整性 / 可用性 / 安全性.
    pub property: String,
    /// What is checked.
    pub name: String,
    /// `Some(true)` passed, `Some(false)` failed, `None` skipped.
    pub passed: Option<bool>,
    /// Why, in Chinese.
    pub reason: String,
}

impl From<four::Check> for Check {
    fn from(c: four::Check) -> Check {
        Check {
            code: c.code,
            property: c.property,
            name: c.name,
            passed: c.passed,
            reason: c.reason,
        }
    }
}

/// The report of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FourPropertyReport {
    /// No check failed.
    pub passed: bool,
    /// The checks, grouped by property in order.
    pub checks: Vec<Check>,
}

impl From<four::FourPropertyReport> for FourPropertyReport {
    fn from(r: four::FourPropertyReport) -> FourPropertyReport {
        FourPropertyReport {
            passed: r.passed,
            checks: all(r.checks),
        }
    }
}

/// `GET /api/v1/files/{id}/checks`: the four-property report made at ingest (四性检测).
#[utoipa::path(
    get,
    path = "/files/{id}/checks",
    tag = "files",
    params(
        ("id" = i64, Path, minimum = 1, description = "电子文件编号 — the file's row id"),
    ),
    responses(
        (status = 200, description = "四性检测报告 — the four-property report", body = FourPropertyReport),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn file_checks(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<FourPropertyReport>, ApiError> {
    Ok(Json(
        app.file_checks(&actor, FileId(row_id(&id, "id")?))
            .await?
            .into(),
    ))
}

/// The body of a withdrawal.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawForm {
    /// 撤回原因
    pub reason: String,
}

/// `POST /api/v1/files/{id}/withdraw`: removes a scan uploaded by mistake before its volume is
/// sealed (204).
#[utoipa::path(
    post,
    path = "/files/{id}/withdraw",
    tag = "files",
    params(
        ("id" = i64, Path, minimum = 1, description = "电子文件编号 — the file's row id"),
    ),
    request_body = WithdrawForm,
    responses(
        (status = 204, description = "已撤回 — withdrawn"),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn withdraw_file(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiJson(form): ApiJson<WithdrawForm>,
) -> Result<StatusCode, ApiError> {
    app.withdraw_file(&actor, FileId(row_id(&id, "id")?), &form.reason)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One backup run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BackupRun {
    /// Row id.
    pub id: i64,
    /// The target's name (`local`, `cloud`).
    pub target: String,
    /// The set written.
    pub set_id: String,
    /// `full` or `incremental`.
    pub kind: String,
    /// `running`, `ok` or `failed`.
    pub status: String,
    /// Started.
    pub started_at: DateTime<Utc>,
    /// Finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Objects copied.
    pub objects: i64,
    /// Bytes copied.
    pub bytes: i64,
    /// Why it failed, in Chinese.
    pub error: String,
}

impl From<backup::BackupRun> for BackupRun {
    fn from(r: backup::BackupRun) -> BackupRun {
        BackupRun {
            id: r.id,
            target: r.target,
            set_id: r.set_id,
            kind: r.kind.to_string(),
            status: r.status.to_string(),
            started_at: r.started_at,
            finished_at: r.finished_at,
            objects: r.objects,
            bytes: r.bytes,
            error: r.error,
        }
    }
}

/// `GET /api/v1/backups`: the latest backup runs of every target, newest first (备份状态).
#[utoipa::path(
    get,
    path = "/backups",
    tag = "files",
    responses(
        (status = 200, description = "最近的备份 — the latest backup runs", body = Vec<BackupRun>),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn backup_runs(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
) -> Result<Json<Vec<BackupRun>>, ApiError> {
    Ok(Json(all(app.backup_runs(&actor).await?)))
}

/// 巡检 — one run that re-verified every file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ScrubRun {
    /// Row id.
    pub id: i64,
    /// `schedule` (inside the server) or `manual` (`dangan verify`).
    pub trigger: String,
    /// Started.
    pub started_at: DateTime<Utc>,
    /// Finished; `None` while running or when the run was cut short.
    pub finished_at: Option<DateTime<Utc>>,
    /// Files verified.
    pub files_checked: i64,
    /// Files that failed.
    pub files_failed: i64,
    /// The failed files' ids, space-separated.
    pub failed_file_ids: String,
}

impl From<files::ScrubRun> for ScrubRun {
    fn from(r: files::ScrubRun) -> ScrubRun {
        ScrubRun {
            id: r.id,
            trigger: r.trigger.to_string(),
            started_at: r.started_at,
            finished_at: r.finished_at,
            files_checked: r.files_checked,
            files_failed: r.files_failed,
            failed_file_ids: r.failed_file_ids,
        }
    }
}

/// The result of verifying one file.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FileVerification {
    /// The file.
    pub file_id: ids::FileId,
    /// Everything holds.
    pub ok: bool,
    /// The blob decrypts, authenticates and hashes to the recorded digests.
    pub content_ok: bool,
    /// The seal is valid over the current metadata.
    pub seal_ok: bool,
    /// What is wrong, in Chinese.
    pub problems: Vec<String>,
}

impl From<files::FileVerification> for FileVerification {
    fn from(v: files::FileVerification) -> FileVerification {
        FileVerification {
            file_id: ids::FileId(v.file_id.0),
            ok: v.ok,
            content_ok: v.content_ok,
            seal_ok: v.seal_ok,
            problems: v.problems,
        }
    }
}

/// `GET /api/v1/vault/scrubs`: the latest 巡检 runs (scheduled or by hand), newest first.
#[utoipa::path(
    get,
    path = "/vault/scrubs",
    tag = "files",
    responses(
        (status = 200, description = "最近的巡检 — the latest scrub runs", body = Vec<ScrubRun>),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn scrub_runs(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
) -> Result<Json<Vec<ScrubRun>>, ApiError> {
    Ok(Json(all(app.scrub_runs(&actor, 20).await?)))
}

/// `GET /api/v1/files/{id}/verification`: digests and seal checked now.
#[utoipa::path(
    get,
    path = "/files/{id}/verification",
    tag = "files",
    params(
        ("id" = i64, Path, minimum = 1, description = "电子文件编号 — the file's row id"),
    ),
    responses(
        (status = 200, description = "校验结果 — the verification", body = FileVerification),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn verify_file(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<FileVerification>, ApiError> {
    Ok(Json(
        app.verify_file(&actor, FileId(row_id(&id, "id")?))
            .await?
            .into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn percent_encoded_chinese_names_decode() {
        assert_eq!(
            percent_decode("2023-%E5%8F%82%E4%BF%9D.pdf").as_deref(),
            Some("2023-参保.pdf")
        );
        assert_eq!(percent_decode("%zz"), None);
    }
}
