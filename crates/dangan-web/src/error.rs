//! The one error type of the HTTP edge. Every failure becomes
//! `{"error":{"code":"…","message":"…(中文)…","field":"…"}}` with a 4xx status, or a 500 whose
//! cause is logged once here and never sent to the client. A 429 carries `Retry-After`.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use dangan_app::AppError;

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
    retry_after: Option<u64>,
}

/// The body of every error answer (its schema is `ApiErrorBody` in the API description).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ApiErrorBody)]
pub(crate) struct Body<'a> {
    error: Inner<'a>,
}

/// One error: a stable code for programs, a Chinese message for people.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ApiErrorDetail)]
pub(crate) struct Inner<'a> {
    /// Stable machine code, e.g. `invalid_id_number`, `unauthenticated`, `not_found`.
    code: &'a str,
    /// What was wrong and how to fix it, in simplified Chinese.
    message: &'a str,
    /// The input field concerned, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    /// A client error with its status, code and Chinese message.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
        field: Option<&str>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: field.map(str::to_owned),
            retry_after: None,
        }
    }

    /// 404 for a path that names nothing.
    pub fn no_route() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "请求的地址不存在", None)
    }

    /// A path parameter that is not a row id.
    pub fn bad_id(field: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_id",
            "地址中的编号应为正整数",
            Some(field),
        )
    }
}

/// The HTTP status of an application error: one mapping for the API and the pages.
pub fn status_of(e: &AppError) -> StatusCode {
    match e {
        AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::NotFound { .. } => StatusCode::NOT_FOUND,
        AppError::Conflict { .. } => StatusCode::CONFLICT,
        AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        AppError::Forbidden | AppError::Denied { .. } => StatusCode::FORBIDDEN,
        AppError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Whether a page shows this error beside the form that caused it (input the user can
/// correct, a conflict with what is stored, a condition to meet first, a wait), rather than
/// as a page of its own (a refusal of the role, something that does not exist, a fault).
pub fn belongs_on_form(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Invalid { .. }
            | AppError::Conflict { .. }
            | AppError::Denied { .. }
            | AppError::TooMany { .. }
    )
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> ApiError {
        let status = match &e {
            AppError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                return ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "服务器内部错误，请稍后重试；如持续出现请联系系统管理员",
                    None,
                );
            }
            other => status_of(other),
        };
        ApiError {
            status,
            code: e.code(),
            field: e.field().map(str::to_owned),
            retry_after: e.retry_after(),
            message: e.to_string(),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        match r {
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "请求内容应为JSON，并带有 Content-Type: application/json",
                None,
            ),
            JsonRejection::JsonSyntaxError(e) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("请求内容不是有效的JSON：{}", e.body_text()),
                None,
            ),
            JsonRejection::JsonDataError(e) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_json_fields",
                format!("请求内容的字段缺失或类型不正确：{}", e.body_text()),
                None,
            ),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "请求内容过大：JSON 请求不能超过 2 MB",
                None,
            ),
            other => ApiError::new(
                StatusCode::BAD_REQUEST,
                "unreadable_body",
                format!("无法读取请求内容：{}", other.body_text()),
                None,
            ),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("查询参数不正确：{}", r.body_text()),
            None,
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
                field: self.field.as_deref(),
            },
        };
        let mut res = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}
