//! 目录与期限 — the filing catalogue, retention terms and the working calendar.

use super::{Shell, csrf_refused, failure, html, shell, staff};
use crate::error::belongs_on_form;
use crate::extract::AppState;
use crate::ui::session::Visitor;
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Datelike;
use dangan_app::Actor;
use dangan_domain::calendar::CalendarSource;
use dangan_domain::code::label_or_code;
use dangan_domain::operation::ActorKind;
use serde::Deserialize;

/// A catalogue line as shown.
#[derive(Debug, Clone)]
pub struct CatalogueLine {
    business: String,
    material: String,
    required: bool,
    retention: String,
    scan_required: bool,
}

/// A loaded calendar year as shown: its source and loader in Chinese, never a code.
#[derive(Debug, Clone)]
pub struct CalendarYear {
    year: i64,
    source: String,
    days: usize,
    loaded_by: String,
    loaded_on: String,
}

impl CalendarYear {
    fn of(y: dangan_app::administration::calendar::YearView) -> CalendarYear {
        CalendarYear {
            year: y.year,
            source: label_or_code::<CalendarSource>(&y.source),
            days: y.days.len(),
            // The built-in years are loaded at first start by the system itself.
            loaded_by: if y.loaded_by == "system" {
                ActorKind::System.label().to_owned()
            } else {
                y.loaded_by
            },
            loaded_on: crate::ui::beijing::date(&y.loaded_at),
        }
    }
}

#[derive(Template)]
#[template(path = "catalogue.html")]
pub(super) struct CataloguePage {
    shell: Shell,
    version: i64,
    lines: Vec<CatalogueLine>,
    years: Vec<CalendarYear>,
    can_load_calendar: bool,
}

/// `GET /catalogue`: 目录与期限 — the filing scope with retention, and the working-day calendar.
pub async fn catalogue(State(app): State<AppState>, v: Visitor) -> Response {
    let actor = staff_or_redirect!(v);
    let cat = match app.catalogue(&actor).await {
        Ok(c) => c,
        Err(e) => return failure(&actor, &v, &e),
    };
    let years = app.calendar_years(&actor).await.unwrap_or_default();
    html(&CataloguePage {
        shell: shell(&actor, &v, "/catalogue"),
        version: cat.version,
        lines: cat
            .entries
            .into_iter()
            .map(|e| CatalogueLine {
                business: e.business_type.name().to_owned(),
                material: e.name,
                required: e.required,
                retention: e.retention.label().to_owned(),
                scan_required: e.scan_required,
            })
            .collect(),
        years: years.into_iter().map(CalendarYear::of).collect(),
        can_load_calendar: dangan_app::administration::roles::allowed(
            actor.role,
            dangan_app::UseCase::EditCalendar,
        ),
    })
}

#[derive(Template)]
#[template(path = "calendar_load.html")]
pub(super) struct CalendarLoadPage {
    shell: Shell,
    year: String,
    holidays: String,
    workdays: String,
    error: String,
    preview: Option<dangan_app::administration::calendar_notice::NoticePreview>,
}

/// The calendar load form: the year and the notice's dates, pasted; `confirm` once previewed.
#[derive(Debug, Default, Deserialize)]
pub struct CalendarForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    holidays: String,
    #[serde(default)]
    workdays: String,
    #[serde(default)]
    confirm: Option<String>,
}

fn calendar_page(
    actor: &Actor,
    v: &Visitor,
    f: CalendarForm,
    error: String,
    preview: Option<dangan_app::administration::calendar_notice::NoticePreview>,
) -> Response {
    html(&CalendarLoadPage {
        shell: shell(actor, v, "/catalogue"),
        year: f.year,
        holidays: f.holidays,
        workdays: f.workdays,
        error,
        preview,
    })
}

/// `GET /calendar/load`: 载入工作日历 — the form, for next year by default.
pub async fn calendar_form(v: Visitor) -> Response {
    let actor = staff_or_redirect!(v);
    let f = CalendarForm {
        year: (dangan_app::today().year() + 1).to_string(),
        ..CalendarForm::default()
    };
    calendar_page(&actor, &v, f, String::new(), None)
}

/// `POST /calendar/load`: previews the year from the pasted dates; with `confirm`, loads it
/// (open tasks waiting for it get their due dates) and goes back to 目录与期限.
pub async fn calendar_load(
    State(app): State<AppState>,
    v: Visitor,
    Form(f): Form<CalendarForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let Ok(year) = f.year.trim().parse::<i32>() else {
        return calendar_page(
            &actor,
            &v,
            f,
            "年度应为四位数字，例如 2027".to_owned(),
            None,
        );
    };
    let result = if f.confirm.is_some() {
        app.load_calendar_notice(&actor, year, &f.holidays, &f.workdays)
            .await
            .map(|_| None)
    } else {
        app.preview_calendar_notice(&actor, year, &f.holidays, &f.workdays)
            .await
            .map(Some)
    };
    match result {
        Ok(None) => Redirect::to("/catalogue#calendar").into_response(),
        Ok(preview) => calendar_page(&actor, &v, f, String::new(), preview),
        Err(e) if !belongs_on_form(&e) => failure(&actor, &v, &e),
        Err(e) => {
            let page = calendar_page(&actor, &v, f, e.to_string(), None);
            super::with_status_of(page, &e, axum::http::StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}
