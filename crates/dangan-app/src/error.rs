//! The one error type of the use-cases. User errors carry a stable code, the field they concern
//! and a message in simplified Chinese; internal errors carry their cause for the log only.

use dangan_domain::Rejection;
use dangan_store::StoreError;

/// What a use-case can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input the user can correct.
    #[error("{message}")]
    Invalid {
        /// Stable machine code, e.g. `invalid_id_number`.
        code: &'static str,
        /// The input field concerned, if one.
        field: Option<String>,
        /// What was wrong, in Chinese.
        message: String,
    },
    /// The thing asked for does not exist (or the caller may not know that it does).
    #[error("{message}")]
    NotFound {
        /// Stable machine code.
        code: &'static str,
        /// In Chinese.
        message: String,
    },
    /// The request conflicts with existing data.
    #[error("{message}")]
    Conflict {
        /// Stable machine code.
        code: &'static str,
        /// The input field concerned, if one.
        field: Option<String>,
        /// In Chinese.
        message: String,
    },
    /// No valid credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// Signed in, but the role may not do this.
    #[error("您的角色无权执行此操作")]
    Forbidden,
    /// Signed in and the role may, but a condition is not met (a query registration, a
    /// password change, an unlocked account).
    #[error("{message}")]
    Denied {
        /// Stable machine code.
        code: &'static str,
        /// In Chinese: what to do first.
        message: String,
    },
    /// Too many attempts of this kind from this caller (sign-ins from one address, exact
    /// identity-number searches of one account), or too many sign-ins waiting for the password
    /// check: refused before any work, to be tried again after `retry_after` seconds.
    #[error("{message}")]
    TooMany {
        /// Stable machine code, e.g. `too_many_sign_ins`.
        code: &'static str,
        /// In Chinese: what happened and when to try again.
        message: String,
        /// Seconds to wait before trying again (the `Retry-After` of HTTP).
        retry_after: u64,
    },
    /// The server's storage is full: nothing was saved. Not the user's doing, and trying again
    /// does not help until an administrator frees space.
    #[error(
        "服务器存储空间已满，本次操作没有保存任何内容。这不是您的操作问题，重试也不会成功；请联系系统管理员释放空间后再办理"
    )]
    StorageFull,
    /// A fault of the system, not of the input. Details are logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Result of a use-case.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// A user error from a domain rejection, attributed to `field`.
    pub fn invalid(field: &str, e: &impl Rejection) -> AppError {
        AppError::Invalid {
            code: e.code(),
            field: Some(field.to_owned()),
            message: e.to_string(),
        }
    }

    /// A user error with its own code and message.
    pub fn invalid_with(
        code: &'static str,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> AppError {
        AppError::Invalid {
            code,
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }

    /// A not-found error.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> AppError {
        AppError::NotFound {
            code,
            message: message.into(),
        }
    }

    /// The stable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Invalid { code, .. }
            | AppError::NotFound { code, .. }
            | AppError::Conflict { code, .. }
            | AppError::Denied { code, .. }
            | AppError::TooMany { code, .. } => code,
            AppError::Unauthenticated(_) => "unauthenticated",
            AppError::Forbidden => "forbidden",
            AppError::StorageFull => "storage_full",
            AppError::Internal(_) => "internal_error",
        }
    }

    /// Seconds to wait before trying again, for an error that says so.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::TooMany { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// The field concerned, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid { field, .. } | AppError::Conflict { field, .. } => field.as_deref(),
            _ => None,
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        if let StoreError::StorageFull(detail) = &e {
            tracing::error!(error = %detail, "the database's storage is full");
            return AppError::StorageFull;
        }
        match e.conflict() {
            Some("persons_id_number_key") => AppError::Conflict {
                code: "person_exists",
                field: Some("id_number".to_owned()),
                message: "该公民身份号码的参保人已存在，请勿重复登记".to_owned(),
            },
            Some("users_username_key") => AppError::Conflict {
                code: "username_taken",
                field: Some("username".to_owned()),
                message: "该用户名已被使用，请换一个".to_owned(),
            },
            Some("catalogue_versions_pkey") | Some("catalogue_versions_version_key") => {
                AppError::Conflict {
                    code: "catalogue_changed",
                    field: None,
                    message: "归档范围刚被他人修改，请刷新后重试".to_owned(),
                }
            }
            Some("api_tokens_name_key") => AppError::Conflict {
                code: "token_name_taken",
                field: Some("name".to_owned()),
                message: "该令牌名称已被使用，请换一个".to_owned(),
            },
            Some("business_events_source_system_external_id_key") => AppError::Conflict {
                code: crate::intake::events::DUPLICATE_EXTERNAL_ID,
                field: Some("external_id".to_owned()),
                message: "该来源业务编号已登记".to_owned(),
            },
            _ => AppError::Internal(e.to_string()),
        }
    }
}
