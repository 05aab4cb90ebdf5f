//! The working-day calendar (工作日历).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use dangan_app::administration::calendar;
use dangan_domain::calendar as domain;

use super::wire::all;
use crate::error::ApiError;
use crate::extract::{ApiQuery, ApiText, AppState, Auth};

/// Whether a listed special day is a day off or a make-up working day.
///
/// Serialized as `"holiday"` / `"workday"`, the same words as in the calendar file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DayKind {
    /// An official day off (放假), including weekend days listed inside a holiday block.
    Holiday,
    /// A Saturday or Sunday that is a make-up working day (调休上班).
    Workday,
}

impl From<domain::DayKind> for DayKind {
    fn from(k: domain::DayKind) -> DayKind {
        match k {
            domain::DayKind::Holiday => DayKind::Holiday,
            domain::DayKind::Workday => DayKind::Workday,
        }
    }
}

/// One date listed in a State Council notice: a holiday or a make-up working day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SpecialDay {
    /// The date.
    pub date: NaiveDate,
    /// Day off or make-up working day.
    pub kind: DayKind,
    /// The festival it belongs to, in Chinese (元旦, 春节, 清明节, 劳动节, 端午节, 中秋节, 国庆节…).
    pub name: String,
}

impl From<domain::SpecialDay> for SpecialDay {
    fn from(d: domain::SpecialDay) -> SpecialDay {
        SpecialDay {
            date: d.date,
            kind: d.kind.into(),
            name: d.name,
        }
    }
}

/// A loaded calendar year as listed to users.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct YearView {
    /// The year.
    pub year: i64,
    /// Where it came from.
    pub source: String,
    /// When it was loaded.
    pub loaded_at: DateTime<Utc>,
    /// By whom.
    pub loaded_by: String,
    /// Its special days.
    pub days: Vec<SpecialDay>,
}

impl From<calendar::YearView> for YearView {
    fn from(y: calendar::YearView) -> YearView {
        YearView {
            year: y.year,
            source: y.source,
            loaded_at: y.loaded_at,
            loaded_by: y.loaded_by,
            days: all(y.days),
        }
    }
}

/// Query of the deadline computation.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AddQuery {
    /// 起始日期 `YYYY-MM-DD` — the start date.
    #[param(format = Date)]
    from: String,
    /// 工作日天数（0至3660）— working days to add.
    #[param(value_type = u32, maximum = 3660)]
    days: String,
}

/// The computed date.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DateAnswer {
    /// 截止日期 — the computed date.
    date: NaiveDate,
}

/// `GET /api/v1/calendar/add-working-days?from=YYYY-MM-DD&days=N` → `{"date": "YYYY-MM-DD"}`.
#[utoipa::path(
    get,
    path = "/calendar/add-working-days",
    tag = "calendar",
    params(
        AddQuery,
    ),
    responses(
        (status = 200, description = "计算出的日期 — the computed date", body = DateAnswer),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn add_working_days(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiQuery(q): ApiQuery<AddQuery>,
) -> Result<Json<DateAnswer>, ApiError> {
    let from = NaiveDate::parse_from_str(q.from.trim(), "%Y-%m-%d").map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_date",
            format!(
                "起始日期“{}”不是有效日期，格式应为YYYY-MM-DD",
                q.from.trim()
            ),
            Some("from"),
        )
    })?;
    let days: u32 = q.days.trim().parse().map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_days",
            format!("工作日天数“{}”无效：应为0或正整数", q.days.trim()),
            Some("days"),
        )
    })?;
    Ok(Json(DateAnswer {
        date: app.add_working_days(&actor, from, days).await?,
    }))
}

/// `GET /api/v1/calendar/years`: loaded years with their special days.
#[utoipa::path(
    get,
    path = "/calendar/years",
    tag = "calendar",
    responses(
        (status = 200, description = "已载入的年份 — loaded years", body = Vec<YearView>),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
    )
)]
pub async fn list_years(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
) -> Result<Json<Vec<YearView>>, ApiError> {
    Ok(Json(all(app.calendar_years(&actor).await?)))
}

/// The years a load wrote.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Loaded {
    /// 载入或替换的年份 — the years loaded or replaced.
    years: Vec<i32>,
}

/// `PUT /api/v1/calendar/years` with a calendar TSV body (`date<TAB>holiday|workday<TAB>name`
/// lines and a `# years: 2027` line): loads or replaces those years, all or nothing.
#[utoipa::path(
    put,
    path = "/calendar/years",
    tag = "calendar",
    request_body(content = String, content_type = "text/plain", description = "工作日历文件：`# years: 2027` 一行，及 `日期<TAB>holiday|workday<TAB>名称` 各行 — a calendar file"),
    responses(
        (status = 200, description = "已载入 — loaded", body = Loaded),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn load_years(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiText(body): ApiText,
) -> Result<Json<Loaded>, ApiError> {
    Ok(Json(Loaded {
        years: app.load_calendar(&actor, &body, "api").await?,
    }))
}
