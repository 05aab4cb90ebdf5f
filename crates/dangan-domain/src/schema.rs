//! OpenAPI schemas of the newtypes that serialise as a code string (`try_from`/`into` String),
//! which the derive cannot see through: the API description lists their codes.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// A string that is one of `codes`.
pub(crate) fn code_enum(
    description: &str,
    codes: impl IntoIterator<Item = &'static str>,
) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(codes))
        .into()
}

/// A string matching `pattern`.
pub(crate) fn pattern(description: &str, pattern: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .pattern(Some(pattern))
        .into()
}
