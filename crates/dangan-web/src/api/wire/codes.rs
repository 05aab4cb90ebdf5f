//! OpenAPI schemas of the domain values that travel as a code string (`BusinessType`,
//! `Retention`, `MaterialCode`): the derive cannot see through their `try_from`/`into` String,
//! so these stand in for them, by name, and list their codes. Fields hold the domain value (or
//! its code) and point here with `#[schema(value_type = …)]`.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use dangan_domain::business::BusinessType as DomainBusinessType;
use dangan_domain::retention::Retention as DomainRetention;

/// A string that is one of `codes`.
fn code_enum(description: &str, codes: impl IntoIterator<Item = &'static str>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(codes))
        .into()
}

/// A string matching `pattern`.
fn pattern(description: &str, pattern: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .pattern(Some(pattern))
        .into()
}

/// 业务类型代码 — the schema of a business type code.
pub struct BusinessType;

impl PartialSchema for BusinessType {
    fn schema() -> RefOr<Schema> {
        code_enum(
            "业务类型代码 — a business type code",
            DomainBusinessType::ALL.map(DomainBusinessType::code),
        )
    }
}

impl ToSchema for BusinessType {}

/// 保管期限代码 — the schema of a retention code.
pub struct Retention;

impl PartialSchema for Retention {
    fn schema() -> RefOr<Schema> {
        code_enum(
            "保管期限代码 — a DA/T 13 retention code",
            DomainRetention::ALL.map(DomainRetention::code),
        )
    }
}

impl ToSchema for Retention {}

/// 材料类型代码 — the schema of a material type code.
pub struct MaterialCode;

impl PartialSchema for MaterialCode {
    fn schema() -> RefOr<Schema> {
        pattern(
            "材料类型代码 — a material type code",
            "^[a-z][a-z0-9_]{1,47}$",
        )
    }
}

impl ToSchema for MaterialCode {}
