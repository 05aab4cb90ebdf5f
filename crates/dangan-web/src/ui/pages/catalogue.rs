//! 目录与期限 — the filing catalogue, retention terms and the working calendar.

use super::{Shell, failure, html, shell, staff};
use crate::extract::AppState;
use crate::ui::session::Visitor;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

/// A catalogue line as shown.
#[derive(Debug, Clone)]
pub struct CatalogueLine {
    business: String,
    material: String,
    required: bool,
    retention: String,
    scan_required: bool,
}

#[derive(Template)]
#[template(path = "catalogue.html")]
pub(super) struct CataloguePage {
    shell: Shell,
    version: i64,
    lines: Vec<CatalogueLine>,
    years: Vec<dangan_app::administration::calendar::YearView>,
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
        years,
    })
}
