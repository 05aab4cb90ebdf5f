//! The HTTP edge of Dangan: the JSON API under `/api/v1` and the health check, one router
//! (`router.rs`), one auth extractor and one error type. Handlers are thin: extract, call one
//! use-case of `dangan-app`, map the result.

mod api;
mod error;
mod extract;
pub mod metrics;
mod openapi;
mod router;
mod ui;

pub use api::archive::encode_request as encode_archive_request;
pub use api::health::Readiness;
pub use error::ApiError;
pub use extract::AppState;
pub use openapi::ApiDoc;
pub use router::{router, with_hsts};
