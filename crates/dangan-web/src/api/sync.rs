//! `POST /api/v1/sync/contributions` and `/sync/benefits`: batches from the business system
//! (token scope `sync:write`). The answer lists every rejected record with its index, field and
//! reason; the valid ones are applied.

use axum::Json;
use axum::extract::State;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};

use dangan_app::integration::sync;

use super::wire::all;
use super::wire::sync::Reject;
use crate::error::ApiError;
use crate::extract::{ApiJson, AppState, Auth};

/// One contribution record as sent. Amounts are yuan, as a number or a string with at most two
/// decimals (`300`, `"300.00"`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ContributionRecord {
    /// The record's id in the business system.
    pub source_id: String,
    /// The person's identity number.
    #[schema(pattern = "^[0-9]{17}[0-9Xx]$")]
    pub id_number: String,
    /// 缴费年度
    pub year: i32,
    /// 缴费档次, yuan a year.
    pub tier: i64,
    /// 个人缴费
    #[schema(schema_with = yuan_schema)]
    pub personal: Value,
    /// 政府补贴
    #[serde(default)]
    #[schema(schema_with = optional_yuan_schema)]
    pub subsidy: Option<Value>,
    /// 集体补助
    #[serde(default)]
    #[schema(schema_with = optional_yuan_schema)]
    pub collective: Option<Value>,
    /// 缴费日期 `YYYY-MM-DD`
    #[schema(format = Date)]
    pub paid_on: String,
    /// 缴费渠道
    pub channel: String,
}

impl From<ContributionRecord> for sync::ContributionRecord {
    fn from(r: ContributionRecord) -> sync::ContributionRecord {
        sync::ContributionRecord {
            source_id: r.source_id,
            id_number: r.id_number,
            year: r.year,
            tier: r.tier,
            personal: r.personal,
            subsidy: r.subsidy,
            collective: r.collective,
            paid_on: r.paid_on,
            channel: r.channel,
        }
    }
}

/// One benefit payment as sent.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct BenefitRecord {
    /// The record's id in the business system.
    pub source_id: String,
    /// The person's identity number.
    #[schema(pattern = "^[0-9]{17}[0-9Xx]$")]
    pub id_number: String,
    /// 发放月份 `YYYY-MM`
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}$")]
    pub month: String,
    /// 金额, yuan.
    #[schema(schema_with = yuan_schema)]
    pub amount: Value,
    /// `paid`, `suspended` or `returned`.
    #[schema(pattern = "^(paid|suspended|returned)$")]
    pub status: String,
}

impl From<BenefitRecord> for sync::BenefitRecord {
    fn from(r: BenefitRecord) -> sync::BenefitRecord {
        sync::BenefitRecord {
            source_id: r.source_id,
            id_number: r.id_number,
            month: r.month,
            amount: r.amount,
            status: r.status,
        }
    }
}

/// A batch.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Batch<T> {
    /// The sending system, e.g. `pension`.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,32}$")]
    pub source_system: String,
    /// The records.
    pub records: Vec<T>,
}

impl<T, A: From<T>> From<Batch<T>> for sync::Batch<A> {
    fn from(b: Batch<T>) -> sync::Batch<A> {
        sync::Batch {
            source_system: b.source_system,
            records: all(b.records),
        }
    }
}

/// The API description of an amount in yuan: a number or a string with at most two decimals.
fn yuan_schema() -> Schema {
    yuan_one_of(false)
}

/// As [`yuan_schema`], or `null` (treated as 0).
fn optional_yuan_schema() -> Schema {
    yuan_one_of(true)
}

fn yuan_one_of(nullable: bool) -> Schema {
    let mut one_of = OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Number)
                .minimum(Some(0)),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r"^\s*[0-9]{1,12}(\.[0-9]{1,2})?\s*$")),
        );
    if nullable {
        one_of = one_of.item(ObjectBuilder::new().schema_type(Type::Null));
    }
    one_of
        .description(Some(
            "金额（元）：不小于0的数字，或至多两位小数的字符串，如 300 或 \"300.00\"",
        ))
        .into()
}

/// What a batch did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SyncReport {
    /// Records applied (inserted or updated).
    pub accepted: usize,
    /// Records refused.
    pub rejected: Vec<Reject>,
}

impl From<sync::SyncReport> for SyncReport {
    fn from(r: sync::SyncReport) -> SyncReport {
        SyncReport {
            accepted: r.accepted,
            rejected: all(r.rejected),
        }
    }
}

/// `POST /api/v1/sync/contributions`
#[utoipa::path(
    post,
    path = "/sync/contributions",
    tag = "sync",
    request_body = Batch<ContributionRecord>,
    responses(
        (status = 200, description = "已处理；逐条列出被拒记录 — applied; every rejected record listed", body = SyncReport),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn contributions(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(batch): ApiJson<Batch<ContributionRecord>>,
) -> Result<Json<SyncReport>, ApiError> {
    Ok(Json(
        app.sync_contributions(&actor, &batch.into()).await?.into(),
    ))
}

/// `POST /api/v1/sync/benefits`
#[utoipa::path(
    post,
    path = "/sync/benefits",
    tag = "sync",
    request_body = Batch<BenefitRecord>,
    responses(
        (status = 200, description = "已处理；逐条列出被拒记录 — applied; every rejected record listed", body = SyncReport),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn benefits(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(batch): ApiJson<Batch<BenefitRecord>>,
) -> Result<Json<SyncReport>, ApiError> {
    Ok(Json(app.sync_benefits(&actor, &batch.into()).await?.into()))
}
