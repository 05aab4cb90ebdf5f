//! 环境监测与库房检查 — `POST /api/v1/environment/readings`: batches from the rooms' data loggers
//! (token scope `environment:write`), idempotent by (logger, timestamp); and the A4 print views
//! of a room's month: 温湿度记录表 and 库房检查记录.

use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::Html;
use serde::{Deserialize, Serialize};

use dangan_app::custody::checks::CheckMonth;
use dangan_app::custody::environment as env;
use dangan_app::ids::RoomId;

use super::print::{Heading, render};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, AppState, Auth, row_id};

/// One reading as a logger sends it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ReadingInput {
    /// When it was taken: RFC 3339 with its offset (`2026-12-07T08:00:00+08:00`).
    #[schema(format = DateTime)]
    pub at: String,
    /// 温度 ℃
    pub temperature: f64,
    /// 相对湿度 %
    pub humidity: f64,
}

/// A logger's batch: at most 5000 readings.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ReadingBatch {
    /// 记录仪编号, as registered to its room.
    pub logger: String,
    /// The readings (1–5000).
    pub readings: Vec<ReadingInput>,
}

/// What a batch stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReadingsStored {
    /// Readings received.
    pub received: usize,
    /// Readings that were new (a replayed reading is not stored twice).
    pub stored: usize,
    /// Environment alerts raised.
    pub alerts_raised: usize,
    /// Environment alerts closed.
    pub alerts_closed: usize,
}

impl From<env::ReadingsStored> for ReadingsStored {
    fn from(s: env::ReadingsStored) -> ReadingsStored {
        ReadingsStored {
            received: s.received,
            stored: s.stored,
            alerts_raised: s.alerts_raised,
            alerts_closed: s.alerts_closed,
        }
    }
}

/// Receives a data logger's readings.
#[utoipa::path(
    post,
    path = "/environment/readings",
    tag = "environment",
    request_body = ReadingBatch,
    responses(
        (status = 200, description = "已接收；重复的读数不重复保存 — stored; how many were new", body = ReadingsStored),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn submit_readings(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(batch): ApiJson<ReadingBatch>,
) -> Result<Json<ReadingsStored>, ApiError> {
    let batch = env::ReadingBatch {
        logger: batch.logger,
        readings: batch
            .readings
            .into_iter()
            .map(|r| env::ReadingInput {
                at: r.at,
                temperature: r.temperature,
                humidity: r.humidity,
            })
            .collect(),
    };
    Ok(Json(app.submit_readings(&actor, &batch).await?.into()))
}

/// The month of a print view.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
pub struct MonthQuery {
    /// `2026-12`; this month when absent.
    pub month: Option<String>,
}

/// 温湿度记录表.
#[derive(Template)]
#[template(path = "print/custody_environment.html")]
struct EnvironmentPrint {
    head: Heading,
    m: CheckMonth,
}

/// 库房检查记录.
#[derive(Template)]
#[template(path = "print/custody_checks.html")]
struct ChecksPrint {
    head: Heading,
    m: CheckMonth,
}

async fn month_of(
    app: &AppState,
    actor: &dangan_app::Actor,
    id: &str,
    q: MonthQuery,
) -> Result<CheckMonth, ApiError> {
    let id = RoomId(row_id(id, "id")?);
    let month = q
        .month
        .unwrap_or_else(|| dangan_app::today().format("%Y-%m").to_string());
    Ok(app.custody_month(actor, id, &month).await?)
}

/// A room's 温湿度记录表 of a month: one row per day checked.
#[utoipa::path(
    get,
    path = "/rooms/{id}/environment/print",
    tag = "environment",
    params(
        ("id" = i64, Path, minimum = 1, description = "库房编号 — the room's row id"),
        MonthQuery,
    ),
    responses(
        (status = 200, description = "温湿度记录表（A4 打印页）— the month's readings", body = String, content_type = "text/html"),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn print_environment(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<MonthQuery>,
) -> Result<Html<String>, ApiError> {
    let m = month_of(&app, &actor, &id, q).await?;
    render(&EnvironmentPrint {
        head: Heading::of(&app),
        m,
    })
}

/// A room's 库房检查记录 of a month: each day's checklist.
#[utoipa::path(
    get,
    path = "/rooms/{id}/checks/print",
    tag = "environment",
    params(
        ("id" = i64, Path, minimum = 1, description = "库房编号 — the room's row id"),
        MonthQuery,
    ),
    responses(
        (status = 200, description = "库房检查记录（A4 打印页）— the month's checks", body = String, content_type = "text/html"),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn print_checks(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<MonthQuery>,
) -> Result<Html<String>, ApiError> {
    let m = month_of(&app, &actor, &id, q).await?;
    render(&ChecksPrint {
        head: Heading::of(&app),
        m,
    })
}
