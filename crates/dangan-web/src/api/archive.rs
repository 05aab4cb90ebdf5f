//! `POST /api/v1/archive`: 自动归档 (S6.5). The business system files a completed business in
//! one `multipart/form-data` request: first a part named `event` holding the event as JSON (the
//! body of `POST /api/v1/events`, with `source_system` and `external_id` required), then one
//! part per scan, named `materials[N]` for the N-th material of the event (from 0) and carrying
//! its file name. 201 when archived now, 200 with the stored record when the business id was
//! archived before (nothing is written then). All or nothing.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::{Extension, Json};
use futures_util::TryStreamExt;
use sha2::Digest;
use tokio_util::io::StreamReader;

use serde::Serialize;

use dangan_app::intake::archive;

use super::wire::all;
use super::wire::events::{EventInput, EventView};
use super::wire::files::FileView;
use crate::error::ApiError;
use crate::extract::{AppState, Auth};
use crate::metrics::Ingested;

/// What an auto-archiving request stored, or found stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Archived {
    /// False when the source system's business id was already archived: this is that record,
    /// and nothing was written.
    pub created: bool,
    /// The event with its materials and completeness.
    pub event: EventView,
    /// The scans of its materials.
    pub files: Vec<FileView>,
}

impl From<archive::Archived> for Archived {
    fn from(a: archive::Archived) -> Archived {
        Archived {
            created: a.created,
            event: a.event.into(),
            files: all(a.files),
        }
    }
}

/// The `event` part may not be larger than this.
const EVENT_PART_LIMIT: usize = 2 * 1024 * 1024;

fn bad_multipart(detail: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_multipart",
        format!(
            "请求体不是有效的 multipart/form-data：第一部分名为 event（业务 JSON），其后每个文件一部分，名为 materials[序号]（{detail}）"
        ),
        None,
    )
}

/// The material index of a file part's name: `materials[N]`.
fn material_index(name: Option<&str>) -> Result<usize, ApiError> {
    name.and_then(|n| n.strip_prefix("materials["))
        .and_then(|n| n.strip_suffix(']'))
        .and_then(|n| n.parse::<usize>().ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_part_name",
                format!(
                    "文件部分的名称“{}”无效：应为 materials[序号]，序号为该文件所属材料在 materials 中的位置（从0开始）",
                    name.unwrap_or("")
                ),
                Some("files"),
            )
        })
}

/// `POST /api/v1/archive`
#[utoipa::path(
    post,
    path = "/archive",
    tag = "events",
    request_body(
        content = crate::openapi::ArchiveParts,
        content_type = "multipart/form-data",
        description = "第一部分 event（业务 JSON，须有 source_system 与 external_id），其后每个扫描件一部分，名为 materials[序号] — the event as JSON, then one part per scan named materials[N]"
    ),
    responses(
        (status = 201, description = "已归档 — archived now", body = Archived),
        (status = 200, description = "该业务编号已归档过：返回原记录，未写入 — archived before; nothing written", body = Archived),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 409, response = crate::openapi::Conflict),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn auto_archive(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Extension<Ingested>, Json<Archived>), ApiError> {
    app.authorize_auto_archive(&actor).await?;
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| multer::parse_boundary(ct).ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "multipart_required",
                "请以 multipart/form-data 提交：第一部分名为 event（业务 JSON），其后每个文件一部分，名为 materials[序号]",
                None,
            )
        })?;
    let mut parts = multer::Multipart::new(body.into_data_stream(), boundary);
    let mut first = parts
        .next_field()
        .await
        .map_err(bad_multipart)?
        .ok_or_else(|| bad_multipart("没有任何部分"))?;
    if first.name() != Some("event") {
        return Err(bad_multipart("第一部分的名称应为 event"));
    }
    let mut json = Vec::new();
    while let Some(chunk) = first.chunk().await.map_err(bad_multipart)? {
        json.extend_from_slice(&chunk);
        if json.len() > EVENT_PART_LIMIT {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "event_part_too_large",
                "event 部分过大：不能超过 2 MB",
                Some("event"),
            ));
        }
    }
    drop(first);
    let input: EventInput = serde_json::from_slice(&json).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_json",
            format!("event 部分不是有效的业务 JSON：{e}"),
            Some("event"),
        )
    })?;
    let mut job = app.begin_auto_archive(&actor, &input.into()).await?;
    while let Some(field) = parts.next_field().await.map_err(bad_multipart)? {
        let index = material_index(field.name())?;
        let name = field.file_name().map(str::to_owned);
        let reader = StreamReader::new(field.map_err(std::io::Error::other));
        job.add_file(index, name.as_deref(), reader).await?;
    }
    let archived: Archived = job.finish().await?.into();
    let (status, stored) = if archived.created {
        (StatusCode::CREATED, archived.files.as_slice())
    } else {
        (StatusCode::OK, &[][..])
    };
    let ingested = Ingested {
        files: stored.len() as u64,
        bytes: stored
            .iter()
            .map(|f| u64::try_from(f.size).unwrap_or(0))
            .sum(),
    };
    Ok((status, Extension(ingested), Json(archived)))
}

/// Encodes an auto-archiving request as a client sends it: the event JSON, then each scan as
/// `(material index, file name, bytes)`. Returns the `Content-Type` value and the body. For the
/// simulator and tests; any multipart library produces the same shape.
pub fn encode_request(
    event: &serde_json::Value,
    files: &[(usize, &str, &[u8])],
) -> (String, Vec<u8>) {
    // A boundary derived from the parts' own digest cannot realistically occur in them.
    let mut h = sha2::Sha256::new();
    h.update(event.to_string().as_bytes());
    for (_, name, bytes) in files {
        h.update(name.as_bytes());
        h.update(bytes);
    }
    let boundary = format!("dangan-{}", hex::encode(&h.finalize()[..12]));
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"event\"\r\nContent-Type: application/json\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(event.to_string().as_bytes());
    for (index, name, bytes) in files {
        let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
        body.extend_from_slice(
            format!(
                "\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"materials[{index}]\"; filename=\"{escaped}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
    }
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}
