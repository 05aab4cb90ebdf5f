//! 破损与丢失登记 — every damage and loss report of the materials, for the archive roles:
//! filtered by kind, state and Beijing dates (codes and dates only, so kept in the address),
//! 50 a page, each linking to its material, and exported to Excel.

use super::audit::{Choice, choices, encode};
use super::{Shell, failure, html, shell, staff, with_status_of};
use crate::error::belongs_on_form;
use crate::extract::AppState;
use crate::ui::session::Visitor;
use crate::ui::xlsx::{MAX_ROWS, Sheet, download};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use dangan_app::problems::damage::{IncidentQuery, IncidentView};
use dangan_app::{Actor, AppResult};
use dangan_domain::workflow::{IncidentKind, IncidentState};
use serde::Deserialize;

/// Rows a page shows.
const PER_PAGE: u32 = 50;

#[derive(Template)]
#[template(path = "incidents.html")]
pub(super) struct IncidentsPage {
    shell: Shell,
    filters: IncidentFilters,
    kinds: Vec<Choice>,
    states: Vec<Choice>,
    error: String,
    field: String,
    rows: Vec<IncidentRow>,
    total: i64,
    page: u32,
    pages: u32,
    previous: Option<String>,
    next: Option<String>,
    export: String,
}

/// The filters as the form sends them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IncidentFilters {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    page: Option<String>,
}

impl IncidentFilters {
    fn query(&self, page: u32, per_page: u32) -> IncidentQuery {
        let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        IncidentQuery {
            kind: some(&self.kind),
            state: some(&self.state),
            from: some(&self.from),
            to: some(&self.to),
            page: Some(page),
            per_page: Some(per_page),
        }
    }

    fn page(&self) -> u32 {
        super::page_number(self.page.as_deref())
    }

    /// `base` with the filters (and `page` when given) as its query.
    fn link(&self, base: &str, page: Option<u32>) -> String {
        let mut q = format!("{base}?");
        for (k, v) in [
            ("kind", &self.kind),
            ("state", &self.state),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if !v.trim().is_empty() {
                q.push_str(&format!("{k}={}&", encode(v.trim())));
            }
        }
        if let Some(p) = page {
            q.push_str(&format!("page={p}"));
        }
        q.trim_end_matches(['&', '?']).to_owned()
    }
}

/// One report as listed: Chinese labels, Beijing time, the number masked.
pub(super) struct IncidentRow {
    kind: &'static str,
    report: String,
    material_id: i64,
    material: String,
    person_id: i64,
    person: String,
    detail: String,
    state: &'static str,
    reported_by: String,
    at: String,
}

fn row_of(i: IncidentView) -> IncidentRow {
    IncidentRow {
        kind: i.kind.label(),
        report: format!("{}-{}", i.kind.label(), i.report_id),
        material_id: i.material_id.0,
        material: i.material_name,
        person_id: i.person_id.map_or(0, |p| p.0),
        person: format!(
            "{} {}",
            i.person_name.unwrap_or_default(),
            i.id_number_masked.unwrap_or_default()
        )
        .trim()
        .to_owned(),
        detail: i.detail,
        state: i.state.label(),
        reported_by: i.reported_by,
        at: crate::ui::beijing::time(&i.reported_at),
    }
}

/// `GET /incidents?kind=&state=&from=&to=&page=`: 破损与丢失登记, newest first.
pub async fn incidents(
    State(app): State<AppState>,
    v: Visitor,
    Query(filters): Query<IncidentFilters>,
) -> Response {
    let actor = staff_or_redirect!(v);
    let mut page = IncidentsPage {
        shell: shell(&actor, &v, "/incidents"),
        kinds: choices::<IncidentKind>(filters.kind.trim()),
        states: choices::<IncidentState>(filters.state.trim()),
        error: String::new(),
        field: String::new(),
        rows: Vec::new(),
        total: 0,
        page: filters.page(),
        pages: 1,
        previous: None,
        next: None,
        export: filters.link("/incidents/export.xlsx", None),
        filters,
    };
    match app
        .incident_list(&actor, &page.filters.query(page.page, PER_PAGE))
        .await
    {
        Ok(found) => {
            page.total = found.total;
            page.pages =
                u32::try_from((found.total + i64::from(PER_PAGE) - 1) / i64::from(PER_PAGE))
                    .unwrap_or(1)
                    .max(1);
            page.previous =
                (page.page > 1).then(|| page.filters.link("/incidents", Some(page.page - 1)));
            page.next = (page.page < page.pages)
                .then(|| page.filters.link("/incidents", Some(page.page + 1)));
            page.rows = found.items.into_iter().map(row_of).collect();
            html(&page)
        }
        Err(e) if !belongs_on_form(&e) => failure(&actor, &v, &e),
        Err(e) => {
            page.error = e.to_string();
            page.field = e.field().unwrap_or_default().to_owned();
            with_status_of(html(&page), &e, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

/// `GET /incidents/export.xlsx?kind=&state=&from=&to=`: the filtered reports as Excel.
pub async fn incidents_export(
    State(app): State<AppState>,
    v: Visitor,
    Query(filters): Query<IncidentFilters>,
) -> Response {
    let actor = staff_or_redirect!(v);
    let r = export(&app, &actor, &filters).await;
    r.unwrap_or_else(|e| failure(&actor, &v, &e))
}

async fn export(app: &AppState, actor: &Actor, filters: &IncidentFilters) -> AppResult<Response> {
    let mut rows = Vec::new();
    for n in 1u32.. {
        let found = app.incident_list(actor, &filters.query(n, 500)).await?;
        let done = found.items.len() < 500;
        rows.extend(found.items.into_iter().map(row_of).map(|r| {
            vec![
                r.report,
                r.kind.to_owned(),
                r.material,
                r.person,
                r.detail,
                r.state.to_owned(),
                r.reported_by,
                r.at,
            ]
        }));
        if done || rows.len() >= MAX_ROWS {
            break;
        }
    }
    let sheet = Sheet {
        name: "破损与丢失登记",
        headers: vec![
            "登记号",
            "类别",
            "材料",
            "参保人",
            "原因或报告对象",
            "处置状态",
            "登记人",
            "登记时间（北京时间）",
        ],
        rows,
    };
    download(app, actor, "incidents", "破损与丢失登记", &[sheet]).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_link_keeps_the_codes_and_dates_of_the_filter() {
        let f = IncidentFilters {
            kind: "loss".into(),
            from: "2026-12-01".into(),
            ..IncidentFilters::default()
        };
        assert_eq!(
            f.link("/incidents", Some(2)),
            "/incidents?kind=loss&from=2026-12-01&page=2"
        );
        assert_eq!(
            IncidentFilters::default().link("/incidents/export.xlsx", None),
            "/incidents/export.xlsx"
        );
    }
}
