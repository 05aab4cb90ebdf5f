//! The working-day calendar (工作日历).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use dangan_app::calendar::YearView;

use crate::error::ApiError;
use crate::extract::{ApiQuery, ApiText, AppState, Auth};

/// Query of the deadline computation.
#[derive(Debug, Deserialize)]
pub struct AddQuery {
    from: String,
    days: String,
}

/// The computed date.
#[derive(Debug, Serialize)]
pub struct DateAnswer {
    date: NaiveDate,
}

/// `GET /api/v1/calendar/add-working-days?from=YYYY-MM-DD&days=N` → `{"date": "YYYY-MM-DD"}`.
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
pub async fn list_years(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
) -> Result<Json<Vec<YearView>>, ApiError> {
    Ok(Json(app.calendar_years(&actor).await?))
}

/// The years a load wrote.
#[derive(Debug, Serialize)]
pub struct Loaded {
    years: Vec<i32>,
}

/// `PUT /api/v1/calendar/years` with a calendar TSV body (`date<TAB>holiday|workday<TAB>name`
/// lines and a `# years: 2027` line): loads or replaces those years, all or nothing.
pub async fn load_years(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiText(body): ApiText,
) -> Result<Json<Loaded>, ApiError> {
    Ok(Json(Loaded {
        years: app.load_calendar(&actor, &body, "api").await?,
    }))
}
