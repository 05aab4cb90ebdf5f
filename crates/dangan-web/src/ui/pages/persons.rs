//! 参保人 — search, registration, the query register (查询登记) and a person's archive tree.

use super::{Shell, csrf_refused, failure, html, shell, staff, with_status_of};
use crate::error::belongs_on_form;
use crate::extract::AppState;
use crate::ui::session::Visitor;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Datelike;
use dangan_app::access::person_archive::{ArchiveEvent, PaperState, VolumeRef};
use dangan_app::access::persons::{PersonInput, PersonQuery, PersonSummary};
use dangan_app::electronic::files::FileView;
use dangan_app::ids::PersonId;
use dangan_app::{Actor, AppError, UseCase};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Template)]
#[template(path = "persons.html")]
pub(super) struct PersonsPage {
    shell: Shell,
    name: String,
    division: String,
    id_number: String,
    error: String,
    searched: bool,
    items: Vec<PersonRow>,
    total: i64,
    /// More matches than `total`: the count stopped (a broad search).
    more: bool,
    page: u32,
    pages: u32,
    sort: String,
}

/// One row of the search results.
#[derive(Debug, Clone)]
pub struct PersonRow {
    id: i64,
    id_number_masked: String,
    name: String,
    sex: String,
    division_name: String,
    status: String,
}

impl From<PersonSummary> for PersonRow {
    fn from(p: PersonSummary) -> Self {
        PersonRow {
            id: p.id.0,
            id_number_masked: p.id_number_masked,
            name: p.name,
            sex: dangan_domain::code::label_or_code::<dangan_domain::id_number::Sex>(&p.sex),
            division_name: p.division_name,
            status: p.status.label().to_owned(),
        }
    }
}

/// Filters kept in the URL (never an identity number).
#[derive(Debug, Default, Deserialize)]
pub struct PersonFilters {
    name: Option<String>,
    division: Option<String>,
    page: Option<u32>,
    sort: Option<String>,
}

pub(super) const PER_PAGE: u32 = 20;

pub(super) async fn render_persons(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    f: PersonFilters,
    id_number: Option<String>,
) -> Response {
    let name = f.name.unwrap_or_default();
    let division = f.division.unwrap_or_default();
    let sort = f.sort.unwrap_or_default();
    let searched = !name.trim().is_empty()
        || !division.trim().is_empty()
        || id_number.as_deref().is_some_and(|s| !s.trim().is_empty());
    let mut page = PersonsPage {
        shell: shell(actor, v, "/persons"),
        name: name.clone(),
        division: division.clone(),
        id_number: id_number.clone().unwrap_or_default(),
        error: String::new(),
        searched,
        items: Vec::new(),
        total: 0,
        more: false,
        page: f.page.unwrap_or(1).max(1),
        pages: 1,
        sort,
    };
    if !searched {
        return html(&page);
    }
    let q = PersonQuery {
        id_number,
        name: Some(name).filter(|s| !s.trim().is_empty()),
        division_code: Some(division).filter(|s| !s.trim().is_empty()),
        page: Some(page.page),
        per_page: Some(PER_PAGE),
    };
    match app.search_persons(actor, &q).await {
        Ok(mut found) => {
            match page.sort.as_str() {
                "name" => found.items.sort_by(|a, b| a.name.cmp(&b.name)),
                "division" => found
                    .items
                    .sort_by(|a, b| a.division_code.cmp(&b.division_code)),
                _ => {}
            }
            page.total = found.total;
            page.more = found.more;
            page.pages =
                u32::try_from((found.total + i64::from(PER_PAGE) - 1) / i64::from(PER_PAGE))
                    .unwrap_or(1)
                    .max(1);
            page.items = found.items.into_iter().map(PersonRow::from).collect();
            html(&page)
        }
        Err(e) if !belongs_on_form(&e) => failure(actor, v, &e),
        Err(e) => {
            page.error = e.to_string();
            with_status_of(html(&page), &e, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

/// `GET /persons?name=&division=&page=&sort=`: 参保人 — search by name and division.
pub async fn persons(
    State(app): State<AppState>,
    v: Visitor,
    Query(f): Query<PersonFilters>,
) -> Response {
    let actor = staff_or_redirect!(v);
    render_persons(&app, &actor, &v, f, None).await
}

/// The search form (POST, so that an identity number stays out of the URL).
#[derive(Debug, Deserialize)]
pub struct SearchForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    id_number: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    division: String,
}

/// `POST /persons/search`
pub async fn persons_search(
    State(app): State<AppState>,
    v: Visitor,
    Form(f): Form<SearchForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let filters = PersonFilters {
        name: Some(f.name),
        division: Some(f.division),
        page: Some(1),
        sort: None,
    };
    render_persons(&app, &actor, &v, filters, Some(f.id_number)).await
}

#[derive(Template)]
#[template(path = "person_new.html")]
pub(super) struct PersonNewPage {
    shell: Shell,
    id_number: String,
    name: String,
    division: String,
    tier: String,
    error: String,
    field: String,
}

/// `GET /persons/new`: 登记参保人.
pub async fn person_new(v: Visitor) -> Response {
    let actor = match staff(&v) {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    html(&PersonNewPage {
        shell: shell(actor, &v, "/persons/new"),
        id_number: String::new(),
        name: String::new(),
        division: String::new(),
        tier: String::new(),
        error: String::new(),
        field: String::new(),
    })
}

/// The new-person form.
#[derive(Debug, Deserialize)]
pub struct PersonForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    id_number: String,
    name: String,
    division: String,
    #[serde(default)]
    tier: String,
}

/// `POST /persons/new`: saves, or shows the form again with the error beside its field.
pub async fn person_create(
    State(app): State<AppState>,
    v: Visitor,
    Form(f): Form<PersonForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let tier = match f.tier.trim() {
        "" => Ok(None),
        t => t.parse::<i64>().map(Some).map_err(|_| ()),
    };
    let result = match tier {
        Ok(tier) => {
            app.create_person(
                &actor,
                &PersonInput {
                    id_number: f.id_number.clone(),
                    name: f.name.clone(),
                    division_code: f.division.clone(),
                    status: None,
                    tier,
                    identity: None,
                },
            )
            .await
        }
        Err(()) => Err(AppError::invalid_with(
            "invalid_tier",
            Some("tier"),
            "缴费档次应为整数（元），如 300",
        )),
    };
    match result {
        Ok(p) => Redirect::to(&format!("/persons/{}", p.id)).into_response(),
        Err(e) if !belongs_on_form(&e) => failure(&actor, &v, &e),
        Err(e) => {
            let field = match e.field().unwrap_or_default() {
                "division_code" => "division".to_owned(),
                other => other.to_owned(),
            };
            let mut r = html(&PersonNewPage {
                shell: shell(&actor, &v, "/persons/new"),
                id_number: f.id_number,
                name: f.name,
                division: f.division,
                tier: f.tier,
                error: e.to_string(),
                field,
            });
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            r
        }
    }
}

/// A material with its status and scans, as the archive tree shows it.
#[derive(Debug, Clone)]
pub struct MaterialNode {
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) pages: i64,
    pub(super) status_label: String,
    pub(super) supplemented: bool,
    pub(super) remarks: String,
    /// 纸质状态, e.g. 待移交 or 移交中 (empty for an electronic-only material).
    pub(super) paper: String,
    /// 已组卷: the archive number once sealed, or 草稿卷.
    pub(super) volume: String,
    pub(super) files: Vec<FileView>,
}

/// A business event in the tree.
#[derive(Debug, Clone)]
pub struct EventNode {
    pub(super) id: i64,
    /// Paper on no handover list yet: the 移交 button applies.
    pub(super) awaiting_handover: bool,
    /// The open handover lists its paper is on.
    pub(super) open_handovers: Vec<i64>,
    pub(super) business: String,
    pub(super) date: String,
    pub(super) complete: bool,
    pub(super) missing: Vec<String>,
    pub(super) materials: Vec<MaterialNode>,
}

/// A year in the tree.
#[derive(Debug, Clone)]
pub struct YearNode {
    pub(super) year: i32,
    pub(super) events: Vec<EventNode>,
}

#[derive(Template)]
#[template(path = "person.html")]
pub(super) struct PersonPage {
    shell: Shell,
    id: i64,
    can_write: bool,
    can_upload: bool,
    can_hand_over: bool,
    can_correct: bool,
    can_record_damage: bool,
    can_open_account: bool,
    name: String,
    id_number_masked: String,
    division: String,
    status: String,
    years: Vec<YearNode>,
}

fn event_node(e: ArchiveEvent) -> EventNode {
    let awaiting_handover = e.awaiting_handover();
    let open_handovers = e.open_handovers().into_iter().map(|h| h.0).collect();
    let event = e.event;
    let materials = e
        .materials
        .into_iter()
        .map(|m| MaterialNode {
            id: m.material.id.0,
            name: m.material.name,
            pages: m.material.pages,
            status_label: m.material.status_label,
            supplemented: m.material.supplemented,
            remarks: m.material.remarks.unwrap_or_default(),
            paper: match m.paper {
                PaperState::NoPaper => String::new(),
                p => p.label().to_owned(),
            },
            volume: match m.volume {
                Some(VolumeRef {
                    archive_number: Some(n),
                    ..
                }) => format!("已封卷 {n}"),
                Some(_) => "已组卷（草稿卷）".to_owned(),
                None => String::new(),
            },
            files: m.files,
        })
        .collect();
    EventNode {
        id: event.id.0,
        awaiting_handover,
        open_handovers,
        business: event.business_type_name,
        date: event.business_date.to_string(),
        complete: event.completeness.complete,
        missing: event
            .completeness
            .missing
            .into_iter()
            .map(|m| m.name)
            .collect(),
        materials,
    }
}

#[derive(Template)]
#[template(path = "person_query.html")]
pub(super) struct PersonQueryPage {
    shell: Shell,
    id: i64,
    can_open_account: bool,
    error: String,
    field: String,
    enquirer_name: String,
    question: String,
    purpose: String,
}

/// `GET /persons/{id}`: the archive as a tree 年度 → 业务类型 → 材料, or the query registration
/// it needs first.
pub async fn person(State(app): State<AppState>, v: Visitor, Path(id): Path<i64>) -> Response {
    let actor = staff_or_redirect!(v);
    let archive = match app.person_archive(&actor, PersonId(id)).await {
        Ok(a) => a,
        Err(e) if e.code() == "query_registration_required" => {
            return html(&PersonQueryPage {
                shell: shell(&actor, &v, "/persons"),
                id,
                can_open_account: dangan_app::administration::roles::allowed(
                    actor.role,
                    UseCase::ManageInsuredAccounts,
                ),
                error: String::new(),
                field: String::new(),
                enquirer_name: String::new(),
                question: String::new(),
                purpose: String::new(),
            });
        }
        Err(e) => return failure(&actor, &v, &e),
    };
    let p = archive.person;
    let mut years: BTreeMap<i32, Vec<EventNode>> = BTreeMap::new();
    for e in archive.events {
        years
            .entry(e.event.business_date.year())
            .or_default()
            .push(event_node(e));
    }
    html(&PersonPage {
        shell: shell(&actor, &v, "/persons"),
        id,
        can_write: dangan_app::administration::roles::allowed(actor.role, UseCase::WriteEvents),
        can_upload: dangan_app::administration::roles::allowed(actor.role, UseCase::IngestScans),
        can_hand_over: dangan_app::administration::roles::allowed(actor.role, UseCase::HandOver),
        can_correct: dangan_app::administration::roles::allowed(actor.role, UseCase::CorrectData),
        can_record_damage: dangan_app::administration::roles::allowed(
            actor.role,
            UseCase::RecordDamage,
        ),
        can_open_account: dangan_app::administration::roles::allowed(
            actor.role,
            UseCase::ManageInsuredAccounts,
        ),
        name: p.name,
        id_number_masked: p.id_number.masked(),
        division: p.division_name,
        status: p.status.label().to_owned(),
        years: years
            .into_iter()
            .rev()
            .map(|(year, events)| YearNode { year, events })
            .collect(),
    })
}

/// The query registration form (查询登记).
#[derive(Debug, Deserialize)]
pub struct QueryForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    enquirer_name: String,
    enquirer_id_number: String,
    question: String,
    purpose: String,
}

/// `POST /persons/{id}/query`
pub async fn person_query(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<QueryForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let input = dangan_app::access::register::QueryInput {
        person_id: id,
        enquirer_name: f.enquirer_name.clone(),
        enquirer_id_number: f.enquirer_id_number,
        question: f.question.clone(),
        purpose: f.purpose.clone(),
    };
    match app.register_query(&actor, &input).await {
        Ok(_) => Redirect::to(&format!("/persons/{id}")).into_response(),
        Err(e) if !belongs_on_form(&e) => failure(&actor, &v, &e),
        Err(e) => {
            let mut r = html(&PersonQueryPage {
                shell: shell(&actor, &v, "/persons"),
                id,
                can_open_account: dangan_app::administration::roles::allowed(
                    actor.role,
                    UseCase::ManageInsuredAccounts,
                ),
                error: e.to_string(),
                field: e.field().unwrap_or_default().to_owned(),
                enquirer_name: f.enquirer_name,
                question: f.question,
                purpose: f.purpose,
            });
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            r
        }
    }
}
