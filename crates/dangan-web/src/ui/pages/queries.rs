//! 查询登记簿 — the query register as staff read it: filtered by Beijing dates, the person asked
//! about (name or whole identity number), the enquirer and the purpose, 50 a page, and exported
//! to Excel. The filters are posted, never put in an address: they may hold identity numbers.
//! Every search is the API's use-case, and so logged as the API's is.

use super::{Shell, csrf_refused, failure, html, shell, staff, with_status_of};
use crate::error::belongs_on_form;
use crate::extract::AppState;
use crate::ui::session::Visitor;
use crate::ui::xlsx::{MAX_ROWS, Sheet, download};
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use dangan_app::access::register::{QueryView, RegisterQuery};
use dangan_app::{Actor, AppError, AppResult};
use serde::Deserialize;

/// Rows a page shows.
const PER_PAGE: u32 = 50;

#[derive(Template)]
#[template(path = "queries.html")]
pub(super) struct QueriesPage {
    shell: Shell,
    filters: RegisterFilters,
    /// The purposes entered so far, with whether chosen.
    purposes: Vec<(String, bool)>,
    error: String,
    field: String,
    rows: Vec<RegisterRow>,
    total: i64,
    page: u32,
    pages: u32,
}

/// The filters as the form posts them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RegisterFilters {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// The person asked about: name or whole identity number.
    #[serde(default)]
    person: String,
    /// The enquirer: name or whole identity number.
    #[serde(default)]
    enquirer: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    page: Option<String>,
}

impl RegisterFilters {
    /// The use-case's criteria for `page` (a figure in a field names an identity number).
    fn query(&self, page: u32, per_page: u32) -> RegisterQuery {
        let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let enquirer = some(&self.enquirer);
        let is_number = |s: &String| s.chars().any(|c| c.is_ascii_digit());
        RegisterQuery {
            enquirer_id_number: enquirer.clone().filter(is_number),
            enquirer_name: enquirer.filter(|s| !is_number(s)),
            person: some(&self.person),
            purpose: some(&self.purpose),
            from: some(&self.from),
            to: some(&self.to),
            page: Some(page),
            per_page: Some(per_page),
            ..RegisterQuery::default()
        }
    }

    fn page(&self) -> u32 {
        super::page_number(self.page.as_deref())
    }
}

/// One registration as listed: Beijing time, the person's number masked.
pub(super) struct RegisterRow {
    id: String,
    at: String,
    person_id: i64,
    person: String,
    enquirer: String,
    question: String,
    purpose: String,
    staff: String,
}

fn row_of(q: QueryView) -> RegisterRow {
    RegisterRow {
        id: q.id.to_string(),
        at: crate::ui::beijing::time(&q.created_at),
        person_id: q.person_id.0,
        person: format!(
            "{} {}",
            q.person_name.unwrap_or_default(),
            q.id_number_masked.unwrap_or_default()
        )
        .trim()
        .to_owned(),
        enquirer: format!("{} {}", q.enquirer_name, q.enquirer_id_masked),
        question: q.question,
        purpose: q.purpose,
        staff: q.staff_name,
    }
}

async fn render(app: &AppState, actor: &Actor, v: &Visitor, filters: RegisterFilters) -> Response {
    let purposes = match app.register_purposes(actor).await {
        Ok(p) => p,
        Err(e) => return failure(actor, v, &e),
    };
    let chosen = filters.purpose.trim().to_owned();
    let mut page = QueriesPage {
        shell: shell(actor, v, "/queries"),
        purposes: purposes
            .into_iter()
            .map(|p| {
                let selected = p == chosen;
                (p, selected)
            })
            .collect(),
        error: String::new(),
        field: String::new(),
        rows: Vec::new(),
        total: 0,
        page: filters.page(),
        pages: 1,
        filters,
    };
    match app
        .query_register(actor, &page.filters.query(page.page, PER_PAGE))
        .await
    {
        Ok(found) => {
            page.total = found.total;
            page.pages =
                u32::try_from((found.total + i64::from(PER_PAGE) - 1) / i64::from(PER_PAGE))
                    .unwrap_or(1)
                    .max(1);
            page.rows = found.items.into_iter().map(row_of).collect();
            html(&page)
        }
        Err(e) if !belongs_on_form(&e) => failure(actor, v, &e),
        Err(e) => {
            page.error = e.to_string();
            page.field = e.field().unwrap_or_default().to_owned();
            with_status_of(html(&page), &e, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

/// The page of an unfiltered register (`?page=`).
#[derive(Debug, Default, Deserialize)]
pub struct PageOnly {
    #[serde(default)]
    page: Option<String>,
}

/// `GET /queries?page=`: 查询登记簿, newest first, unfiltered.
pub async fn queries(
    State(app): State<AppState>,
    v: Visitor,
    Query(p): Query<PageOnly>,
) -> Response {
    let actor = staff_or_redirect!(v);
    let filters = RegisterFilters {
        page: p.page,
        ..RegisterFilters::default()
    };
    render(&app, &actor, &v, filters).await
}

/// `POST /queries`: the register filtered (the form's fields, with the page asked for).
pub async fn queries_search(
    State(app): State<AppState>,
    v: Visitor,
    Form(f): Form<RegisterFilters>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    render(&app, &actor, &v, f).await
}

/// `POST /queries/export.xlsx`: the filtered register as Excel, every page, numbers masked.
pub async fn queries_export(
    State(app): State<AppState>,
    v: Visitor,
    Form(f): Form<RegisterFilters>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let r: AppResult<Response> = async {
        let mut rows = Vec::new();
        for n in 1u32.. {
            let found = app.query_register(&actor, &f.query(n, 500)).await?;
            let done = found.items.len() < 500;
            rows.extend(found.items.into_iter().map(row_of).map(|r| {
                vec![
                    r.id, r.at, r.person, r.enquirer, r.question, r.purpose, r.staff,
                ]
            }));
            if done || rows.len() >= MAX_ROWS {
                break;
            }
        }
        let sheet = Sheet {
            name: "查询登记簿",
            headers: vec![
                "登记号",
                "登记时间（北京时间）",
                "参保人",
                "查询人",
                "查询内容",
                "查询目的",
                "经办人",
            ],
            rows,
        };
        download(&app, &actor, "queries", "查询登记簿", &[sheet]).await
    }
    .await;
    r.unwrap_or_else(|e: AppError| failure(&actor, &v, &e))
}
