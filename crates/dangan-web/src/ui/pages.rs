//! The page handlers and their templates (askama, compile-checked, HTML-escaped).

use std::collections::BTreeMap;

use askama::Template;
use axum::Form;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Datelike;
use serde::Deserialize;
use tokio_util::io::ReaderStream;

use dangan_app::access::persons::{PersonInput, PersonQuery, PersonSummary};
use dangan_app::administration::tasks::{TaskQuery, TaskView};
use dangan_app::electronic::files::FileView;
use dangan_app::ids::{FileId, PersonId};
use dangan_app::{Actor, AppError, Role, UseCase};
use dangan_domain::material::MaterialStatus;

use super::session::{Visitor, set_cookie};
use crate::extract::AppState;

// ---------------------------------------------------------------- shell

/// One entry of the left navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub(super) label: &'static str,
    pub(super) href: &'static str,
    pub(super) active: bool,
}

/// What every staff page shows around its content.
#[derive(Debug, Clone)]
pub struct Shell {
    pub(super) user: String,
    pub(super) role: String,
    pub(super) csrf: String,
    pub(super) nav: Vec<NavItem>,
}

/// The navigation: only what the role may use.
const NAV: [(&str, &str, UseCase); 11] = [
    ("工作台", "/workbench", UseCase::ReadWorkflow),
    ("参保人", "/persons", UseCase::SearchPersons),
    ("登记参保人", "/persons/new", UseCase::WritePersons),
    ("补件", "/supplements", UseCase::ManageSupplements),
    ("整理", "/volumes", UseCase::Organise),
    ("用户与角色", "/users", UseCase::ApproveOfficerChange),
    ("目录与期限", "/catalogue", UseCase::ReadCatalogue),
    ("工作日历", "/catalogue#calendar", UseCase::EditCalendar),
    ("回传业务系统", "/outbox", UseCase::CorrectData),
    ("后台作业", "/jobs", UseCase::ReadJobs),
    ("操作日志", "/audit", UseCase::ReadLog),
];

pub(super) fn shell(actor: &Actor, v: &Visitor, active: &str) -> Shell {
    Shell {
        user: actor.display_name.clone(),
        role: actor.role.label().to_owned(),
        csrf: v.csrf(),
        nav: NAV
            .iter()
            .filter(|(_, _, uc)| dangan_app::administration::roles::allowed(actor.role, *uc))
            .map(|(label, href, _)| NavItem {
                label,
                href,
                active: *href == active,
            })
            .collect(),
    }
}

pub(super) fn html(t: &impl Template) -> Response {
    match t.render() {
        Ok(body) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "页面生成失败").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    shell: Option<Shell>,
    title: String,
    message: String,
    back: String,
}

fn message(status: StatusCode, shell: Option<Shell>, title: &str, message: &str) -> Response {
    let mut r = html(&MessagePage {
        shell,
        title: title.to_owned(),
        message: message.to_owned(),
        back: "/".to_owned(),
    });
    *r.status_mut() = status;
    r
}

/// A use-case error as a page.
pub(super) fn failure(actor: &Actor, v: &Visitor, e: &AppError) -> Response {
    let status = match e.code() {
        "forbidden" => StatusCode::FORBIDDEN,
        c if c.ends_with("not_found") => StatusCode::NOT_FOUND,
        "internal_error" => StatusCode::INTERNAL_SERVER_ERROR,
        "storage_full" => StatusCode::INSUFFICIENT_STORAGE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let text = match e.code() {
        "forbidden" => "您的角色无权使用此功能。".to_owned(),
        "internal_error" => "系统内部错误，请稍后再试或联系管理员。".to_owned(),
        _ => e.to_string(),
    };
    with_status_of(
        message(status, Some(shell(actor, v, "")), "无法完成", &text),
        e,
        status,
    )
}

/// A form page shown again with its error gets 422.
pub(super) fn with_error_status(mut r: Response, failed: bool) -> Response {
    if failed {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

/// The signed-in staff member, or a redirect to the sign-in page.
pub(super) fn staff(v: &Visitor) -> Result<&Actor, Redirect> {
    match &v.actor {
        Some(a) if !matches!(a.role, Role::Insured | Role::Machine) => {
            if a.must_change_password {
                Err(Redirect::to("/account/password"))
            } else {
                Ok(a)
            }
        }
        _ => Err(Redirect::to("/")),
    }
}

/// A form posted from a page of another site (the `Origin` check).
pub fn cross_origin_refused() -> Response {
    message(
        StatusCode::FORBIDDEN,
        None,
        "请求已拒绝",
        "该表单不是从本系统的页面提交的，已拒绝。请直接在本系统的页面上操作。",
    )
}

/// The page answer to a refusal that says when to try again (429 with `Retry-After`), or
/// `fallback`'s status otherwise.
fn with_status_of(mut r: Response, e: &AppError, fallback: StatusCode) -> Response {
    match e.retry_after() {
        Some(secs) => {
            *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            r.headers_mut()
                .insert(header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        None => *r.status_mut() = fallback,
    }
    r
}

/// The status of a failed sign-in page: 429 when it says when to try again, 422 for an
/// unreadable identity number, 401 for the rest.
fn sign_in_failed(r: Response, e: &AppError) -> Response {
    let fallback = match e {
        AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::UNAUTHORIZED,
    };
    with_status_of(r, e, fallback)
}

pub(super) fn csrf_refused() -> Response {
    message(
        StatusCode::FORBIDDEN,
        None,
        "请求已过期",
        "表单已过期或来自其他网站，请返回重新操作。",
    )
}

// ---------------------------------------------------------------- static

/// `GET /static/app.css`
pub async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/app.css"),
    )
        .into_response()
}

/// `GET /static/app.js`
pub async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/app.js"),
    )
        .into_response()
}

// ---------------------------------------------------------------- sign-in

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    username: String,
    error: String,
}

/// `GET /`: the sign-in page, or the workbench when signed in.
pub async fn home(v: Visitor) -> Response {
    match &v.actor {
        Some(a) if matches!(a.role, Role::Insured) => Redirect::to("/my").into_response(),
        Some(_) => Redirect::to("/workbench").into_response(),
        None => html(&LoginPage {
            username: String::new(),
            error: String::new(),
        }),
    }
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
}

/// `POST /login`
pub async fn login(State(app): State<AppState>, v: Visitor, Form(f): Form<LoginForm>) -> Response {
    match app.login(f.username.trim(), &f.password, &v.source).await {
        Ok(l) => {
            let to = if l.must_change_password {
                "/account/password"
            } else {
                "/workbench"
            };
            let mut r = Redirect::to(to).into_response();
            r.headers_mut()
                .insert(header::SET_COOKIE, set_cookie(Some(&l.token), v.secure));
            r
        }
        Err(e) => sign_in_failed(
            html(&LoginPage {
                username: f.username,
                error: e.to_string(),
            }),
            &e,
        ),
    }
}

/// A form with only the CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(rename = "_csrf")]
    csrf: String,
}

/// `POST /logout`
pub async fn logout(State(app): State<AppState>, v: Visitor, Form(f): Form<CsrfForm>) -> Response {
    if let (Some(a), Some(t)) = (&v.actor, &v.token) {
        if !v.csrf_ok(&f.csrf) {
            return csrf_refused();
        }
        let _ = app.logout(a, t, false).await;
    }
    let mut r = Redirect::to("/").into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, set_cookie(None, v.secure));
    r
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    csrf: String,
    user: String,
    error: String,
    field: String,
}

/// `GET /account/password`
pub async fn password_form(v: Visitor) -> Response {
    let Some(a) = &v.actor else {
        return Redirect::to("/").into_response();
    };
    html(&PasswordPage {
        csrf: v.csrf(),
        user: a.display_name.clone(),
        error: String::new(),
        field: String::new(),
    })
}

/// The password form.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    current_password: String,
    new_password: String,
}

/// `POST /account/password`
pub async fn password_change(
    State(app): State<AppState>,
    v: Visitor,
    Form(f): Form<PasswordForm>,
) -> Response {
    let (Some(a), Some(t)) = (&v.actor, &v.token) else {
        return Redirect::to("/").into_response();
    };
    if !v.csrf_ok(&f.csrf) {
        return csrf_refused();
    }
    match app
        .change_password(a, t, &f.current_password, &f.new_password)
        .await
    {
        Ok(_) => {
            let mut r = Redirect::to("/").into_response();
            r.headers_mut()
                .insert(header::SET_COOKIE, set_cookie(None, v.secure));
            r
        }
        Err(e) => {
            let mut r = html(&PasswordPage {
                csrf: v.csrf(),
                user: a.display_name.clone(),
                error: e.to_string(),
                field: e.field().unwrap_or_default().to_owned(),
            });
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            r
        }
    }
}

// ---------------------------------------------------------------- workbench

#[derive(Template)]
#[template(path = "workbench.html")]
struct WorkbenchPage {
    shell: Shell,
    overdue: Vec<TaskView>,
    due: Vec<TaskView>,
}

/// `GET /workbench`: 工作台 — my open tasks, overdue first.
pub async fn workbench(State(app): State<AppState>, v: Visitor) -> Response {
    let actor = match staff(&v) {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let q = TaskQuery {
        state: Some("open".to_owned()),
        ..TaskQuery::default()
    };
    match app.tasks(actor, &q).await {
        Ok(tasks) => {
            let (overdue, due): (Vec<_>, Vec<_>) = tasks.into_iter().partition(|t| t.overdue);
            html(&WorkbenchPage {
                shell: shell(actor, &v, "/workbench"),
                overdue,
                due,
            })
        }
        Err(e) if e.code() == "forbidden" => html(&WorkbenchPage {
            shell: shell(actor, &v, "/workbench"),
            overdue: Vec::new(),
            due: Vec::new(),
        }),
        Err(e) => failure(actor, &v, &e),
    }
}

// ---------------------------------------------------------------- persons

#[derive(Template)]
#[template(path = "persons.html")]
struct PersonsPage {
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
            sex: p.sex,
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

const PER_PAGE: u32 = 20;

async fn render_persons(
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
        Err(e) if e.code() == "forbidden" => failure(actor, v, &e),
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
struct PersonNewPage {
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
        Err(e) if e.code() == "forbidden" => failure(&actor, &v, &e),
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

/// A material with its scans, as the archive tree shows it.
#[derive(Debug, Clone)]
pub struct MaterialNode {
    id: i64,
    name: String,
    pages: i64,
    status_label: String,
    supplemented: bool,
    remarks: String,
    files: Vec<FileView>,
}

/// A business event in the tree.
#[derive(Debug, Clone)]
pub struct EventNode {
    id: i64,
    paper_pending: bool,
    business: String,
    date: String,
    complete: bool,
    missing: Vec<String>,
    materials: Vec<MaterialNode>,
}

/// A year in the tree.
#[derive(Debug, Clone)]
pub struct YearNode {
    year: i32,
    events: Vec<EventNode>,
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage {
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

#[derive(Template)]
#[template(path = "person_query.html")]
struct PersonQueryPage {
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
    let events = match app.person_events(&actor, PersonId(id)).await {
        Ok(e) => e,
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
    let p = match app.person(&actor, PersonId(id)).await {
        Ok(p) => p,
        Err(e) => return failure(&actor, &v, &e),
    };
    let mut files = match app.person_files(&actor, PersonId(id)).await {
        Ok(f) => f,
        Err(e) => return failure(&actor, &v, &e),
    };
    let mut years: BTreeMap<i32, Vec<EventNode>> = BTreeMap::new();
    for e in events {
        let mut materials = Vec::new();
        let paper_pending = e.materials.iter().any(|m| {
            m.carrier.has_paper() && m.received_on.is_none() && m.status != MaterialStatus::Missing
        });
        for m in e.materials {
            let files = files.remove(&m.id).unwrap_or_default();
            materials.push(MaterialNode {
                id: m.id.0,
                name: m.name,
                pages: m.pages,
                status_label: m.status_label,
                supplemented: m.supplemented,
                remarks: m.remarks.unwrap_or_default(),
                files,
            });
        }
        years
            .entry(e.business_date.year())
            .or_default()
            .push(EventNode {
                id: e.id.0,
                paper_pending,
                business: e.business_type_name,
                date: e.business_date.to_string(),
                complete: e.completeness.complete,
                missing: e.completeness.missing.into_iter().map(|m| m.name).collect(),
                materials,
            });
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
        Err(e) if e.code() == "forbidden" => failure(&actor, &v, &e),
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

// ---------------------------------------------------------------- scans

#[derive(Template)]
#[template(path = "file.html")]
struct FilePage {
    shell: Shell,
    file: FileView,
    is_pdf: bool,
    is_image: bool,
    /// The person whose archive tree the scan was opened from (for the way back).
    person: Option<i64>,
    /// The four-property report's checks: (code, name, verdict label, css class, reason).
    checks: Vec<(String, String, &'static str, &'static str, String)>,
    /// The checks that failed: (code, name, reason).
    failed: Vec<(String, String, String)>,
    can_withdraw: bool,
}

/// Where a scan was opened from.
#[derive(Debug, Deserialize)]
pub struct FileQuery {
    person: Option<i64>,
}

/// `GET /files/{id}`: the scan viewer — PDF inline, images with zoom — with its four-property
/// report; a failed check is shown first, with its reason and the withdraw form.
pub async fn file_view(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Query(q): Query<FileQuery>,
) -> Response {
    let actor = staff_or_redirect!(v);
    // Opening the file is the archive read (registration checked, logged); the bytes are
    // fetched by the viewer from /raw.
    match app.open_file(&actor, FileId(id)).await {
        Ok((file, _)) => {
            let is_pdf = file.format == "pdf";
            let is_image = matches!(file.format.as_str(), "png" | "jpeg");
            let report = app.file_checks(&actor, FileId(id)).await.ok();
            let checks = report
                .iter()
                .flat_map(|r| r.checks.iter())
                .map(|c| {
                    let (label, class) = match c.passed {
                        Some(true) => ("通过", "ok"),
                        Some(false) => ("未通过", "warn"),
                        None => ("跳过", "info"),
                    };
                    (
                        c.code.clone(),
                        c.name.clone(),
                        label,
                        class,
                        c.reason.clone(),
                    )
                })
                .collect();
            let failed = report
                .iter()
                .flat_map(|r| r.checks.iter())
                .filter(|c| c.passed == Some(false))
                .map(|c| (c.code.clone(), c.name.clone(), c.reason.clone()))
                .collect();
            html(&FilePage {
                shell: shell(&actor, &v, "/persons"),
                can_withdraw: dangan_app::administration::roles::allowed(
                    actor.role,
                    UseCase::IngestScans,
                ) && file.preservation_of.is_none(),
                file,
                is_pdf,
                is_image,
                person: q.person,
                checks,
                failed,
            })
        }
        Err(e) => failure(&actor, &v, &e),
    }
}

/// The withdraw form of a scan.
#[derive(Debug, Deserialize)]
pub struct WithdrawForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    reason: String,
    person: Option<i64>,
}

/// `POST /files/{id}/withdraw`: withdraws a scan (and its preservation copy) with the reason,
/// until its volume is sealed; back to the person's archive tree.
pub async fn file_withdraw(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<WithdrawForm>,
) -> Response {
    let actor = staff_or_redirect!(v);
    if !v.csrf_ok(&f.csrf) {
        return csrf_refused();
    }
    match app.withdraw_file(&actor, FileId(id), &f.reason).await {
        Ok(()) => Redirect::to(&match f.person {
            Some(p) => format!("/persons/{p}"),
            None => "/persons".to_owned(),
        })
        .into_response(),
        Err(e) => failure(&actor, &v, &e),
    }
}

/// `GET /files/{id}/raw`: the decrypted bytes for the viewer, inline.
pub async fn file_raw(State(app): State<AppState>, v: Visitor, Path(id): Path<i64>) -> Response {
    let Some(actor) = v.actor.clone() else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    match app.open_file(&actor, FileId(id)).await {
        Ok((file, reader)) => (
            [
                (header::CONTENT_TYPE, file.mime.clone()),
                (header::CONTENT_LENGTH, file.size.to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("inline; filename=\"dangan-file-{id}\""),
                ),
            ],
            Body::from_stream(ReaderStream::new(reader)),
        )
            .into_response(),
        Err(e) => failure(&actor, &v, &e),
    }
}

// ---------------------------------------------------------------- insured self-service

#[derive(Template)]
#[template(path = "my.html")]
struct MyPage {
    ledger: dangan_app::access::ledger::Ledger,
    kiosk: bool,
    idle_seconds: u32,
    csrf: String,
    signed_in: bool,
    error: String,
    name: String,
    id_number_masked: String,
    division: String,
    status: String,
    events: Vec<EventNode>,
}

fn my_signed_out(kiosk: bool, error: String, idle_seconds: u32) -> MyPage {
    MyPage {
        ledger: dangan_app::access::ledger::Ledger {
            years: Vec::new(),
            benefits: Vec::new(),
        },
        kiosk,
        idle_seconds,
        csrf: String::new(),
        signed_in: false,
        error,
        name: String::new(),
        id_number_masked: String::new(),
        division: String::new(),
        status: String::new(),
        events: Vec::new(),
    }
}

async fn render_my(app: &AppState, v: &Visitor, kiosk: bool) -> Response {
    let idle = app.settings().kiosk_idle_seconds;
    let Some(actor) = v.actor.as_ref().filter(|a| a.role == Role::Insured) else {
        return html(&my_signed_out(kiosk, String::new(), idle));
    };
    if actor.must_change_password {
        return Redirect::to("/account/password").into_response();
    }
    let (p, events, ledger) = match (
        app.my_person(actor).await,
        app.my_events(actor).await,
        app.my_ledger(actor).await,
    ) {
        (Ok(p), Ok(e), Ok(l)) => (p, e, l),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            return html(&my_signed_out(kiosk, e.to_string(), idle));
        }
    };
    html(&MyPage {
        ledger,
        kiosk,
        idle_seconds: idle,
        csrf: v.csrf(),
        signed_in: true,
        error: String::new(),
        name: p.name,
        id_number_masked: p.id_number.masked(),
        division: p.division_name,
        status: p.status.label().to_owned(),
        events: events
            .into_iter()
            .map(|e| EventNode {
                id: e.id.0,
                paper_pending: false,
                business: e.business_type_name,
                date: e.business_date.to_string(),
                complete: e.completeness.complete,
                missing: e.completeness.missing.into_iter().map(|m| m.name).collect(),
                materials: e
                    .materials
                    .into_iter()
                    .map(|m| MaterialNode {
                        id: m.id.0,
                        name: m.name,
                        pages: m.pages,
                        status_label: m.status_label,
                        supplemented: m.supplemented,
                        remarks: String::new(),
                        files: Vec::new(),
                    })
                    .collect(),
            })
            .collect(),
    })
}

/// `GET /my`: 个人查询 — the insured person's own enrolment and archived materials.
pub async fn my(State(app): State<AppState>, v: Visitor) -> Response {
    render_my(&app, &v, false).await
}

/// `GET /kiosk`: the self-service machine's full-screen page.
pub async fn kiosk(State(app): State<AppState>, v: Visitor) -> Response {
    render_my(&app, &v, true).await
}

/// The insured sign-in form.
#[derive(Debug, Deserialize)]
pub struct MyLoginForm {
    id_number: String,
    password: String,
}

async fn insured_login(app: &AppState, v: &Visitor, f: MyLoginForm, kiosk: bool) -> Response {
    let back = if kiosk { "/kiosk" } else { "/my" };
    let signed_in = if kiosk {
        app.login_insured_kiosk(&f.id_number, &f.password, &v.source)
            .await
    } else {
        app.login_insured(&f.id_number, &f.password, &v.source)
            .await
    };
    match signed_in {
        Ok(l) => {
            let mut r = Redirect::to(back).into_response();
            r.headers_mut()
                .insert(header::SET_COOKIE, set_cookie(Some(&l.token), v.secure));
            r
        }
        Err(e) => sign_in_failed(
            html(&my_signed_out(
                kiosk,
                e.to_string(),
                app.settings().kiosk_idle_seconds,
            )),
            &e,
        ),
    }
}

/// `POST /my/login`
pub async fn my_login(
    State(app): State<AppState>,
    v: Visitor,
    Form(f): Form<MyLoginForm>,
) -> Response {
    insured_login(&app, &v, f, false).await
}

/// `POST /kiosk/login`
pub async fn kiosk_login(
    State(app): State<AppState>,
    v: Visitor,
    Form(f): Form<MyLoginForm>,
) -> Response {
    insured_login(&app, &v, f, true).await
}

async fn insured_logout(app: &AppState, v: &Visitor, csrf: &str, back: &str) -> Response {
    if let (Some(a), Some(t)) = (&v.actor, &v.token) {
        if !v.csrf_ok(csrf) {
            return csrf_refused();
        }
        let _ = app.logout(a, t, false).await;
    }
    let mut r = Redirect::to(back).into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, set_cookie(None, v.secure));
    r
}

/// `POST /my/logout`
pub async fn my_logout(
    State(app): State<AppState>,
    v: Visitor,
    Form(f): Form<CsrfForm>,
) -> Response {
    insured_logout(&app, &v, &f.csrf, "/my").await
}

/// `POST /kiosk/logout`: also what the idle timer and the card-removal button send.
pub async fn kiosk_logout(
    State(app): State<AppState>,
    v: Visitor,
    Form(f): Form<CsrfForm>,
) -> Response {
    insured_logout(&app, &v, &f.csrf, "/kiosk").await
}

// ---------------------------------------------------------------- business entry (业务)

/// A catalogue line offered on the business form.
#[derive(Debug, Clone)]
pub struct MaterialChoice {
    code: String,
    name: String,
    required: bool,
}

#[derive(Template)]
#[template(path = "event_new.html")]
struct EventNewPage {
    shell: Shell,
    person: i64,
    types: Vec<(String, String)>,
    business_type: String,
    date: String,
    choices: Vec<MaterialChoice>,
    error: String,
}

/// The business type in the URL (a code, nothing personal).
#[derive(Debug, Default, Deserialize)]
pub struct TypeQuery {
    #[serde(rename = "type")]
    business_type: Option<String>,
}

async fn event_form(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    person: i64,
    business_type: String,
    date: String,
    error: String,
) -> Response {
    let types = dangan_domain::business::BusinessType::ALL
        .into_iter()
        .map(|b| (b.code().to_owned(), b.name().to_owned()))
        .collect();
    let choices = match app.catalogue(actor).await {
        Ok(cat) => cat
            .entries
            .into_iter()
            .filter(|e| e.business_type.code() == business_type)
            .map(|e| MaterialChoice {
                code: e.material_code.to_string(),
                name: e.name,
                required: e.required,
            })
            .collect(),
        Err(e) => return failure(actor, v, &e),
    };
    with_error_status(
        html(&EventNewPage {
            shell: shell(actor, v, "/persons"),
            person,
            types,
            business_type,
            date,
            choices,
            error: error.clone(),
        }),
        !error.is_empty(),
    )
}

/// `GET /persons/{id}/events/new?type=`: 业务登记 — the materials of the chosen business type.
pub async fn event_new(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Query(q): Query<TypeQuery>,
) -> Response {
    let actor = staff_or_redirect!(v);
    let business_type = q.business_type.unwrap_or_else(|| "enrolment".to_owned());
    let today = dangan_app::today().to_string();
    event_form(&app, &actor, &v, id, business_type, today, String::new()).await
}

#[derive(Template)]
#[template(path = "event_done.html")]
struct EventDonePage {
    shell: Shell,
    person: i64,
    business: String,
    complete: bool,
    missing: Vec<String>,
}

/// `POST /persons/{id}/events`: records the business; what is missing becomes supplement
/// requests at once, and the page says so.
pub async fn event_create(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let actor = staff_or_redirect!(v);
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if !v.csrf_ok(&get("_csrf")) {
        return csrf_refused();
    }
    let business_type = get("business_type");
    let date = get("business_date");
    let mut materials = Vec::new();
    for (name, value) in &fields {
        if let Some(code) = name.strip_prefix("m_")
            && value == "on"
        {
            let pages = get(&format!("p_{code}")).trim().parse::<i64>().unwrap_or(0);
            materials.push(dangan_app::intake::events::MaterialInput {
                material_code: code.to_owned(),
                pages,
                carrier: Some(get(&format!("c_{code}"))).filter(|c| !c.is_empty()),
                ..dangan_app::intake::events::MaterialInput::default()
            });
        }
    }
    let input = dangan_app::intake::events::EventInput {
        person_id: Some(id),
        business_type: business_type.clone(),
        business_date: date.clone(),
        materials,
        ..dangan_app::intake::events::EventInput::default()
    };
    match app.record_event(&actor, &input).await {
        Ok(r) => html(&EventDonePage {
            shell: shell(&actor, &v, "/persons"),
            person: id,
            business: r.event.business_type_name,
            complete: r.event.completeness.complete,
            missing: r
                .event
                .completeness
                .missing
                .into_iter()
                .map(|m| m.name)
                .collect(),
        }),
        Err(e) if e.code() == "forbidden" => failure(&actor, &v, &e),
        Err(e) => event_form(&app, &actor, &v, id, business_type, date, e.to_string()).await,
    }
}

// ---------------------------------------------------------------- scan upload

/// `POST /materials/{id}/upload`: the scan viewer's upload (the body is the file; the name in
/// `X-File-Name`, percent-encoded; the CSRF token in `X-CSRF-Token`). Answers JSON.
pub async fn upload(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    headers: axum::http::HeaderMap,
    body: Body,
) -> Response {
    let Ok(actor) = staff(&v) else {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({"error": "请先登录"})),
        )
            .into_response();
    };
    let csrf = headers
        .get("x-csrf-token")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if !v.csrf_ok(csrf) {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(serde_json::json!({"error": "表单已过期，请刷新页面"})),
        )
            .into_response();
    }
    let name = headers
        .get("x-file-name")
        .and_then(|h| h.to_str().ok())
        .and_then(crate::api::files::percent_decode);
    use futures_util::TryStreamExt;
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let reader = tokio_util::io::StreamReader::new(stream);
    match app
        .ingest_file(
            actor,
            dangan_app::ids::MaterialId(id),
            name.as_deref(),
            reader,
        )
        .await
    {
        Ok(f) => (
            StatusCode::CREATED,
            axum::Json(serde_json::json!({"id": f.id.0, "duplicate": f.duplicate})),
        )
            .into_response(),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(serde_json::json!({"error": e.to_string(), "code": e.code()})),
        )
            .into_response(),
    }
}

// ---------------------------------------------------------------- volumes (整理)

#[derive(Template)]
#[template(path = "volumes.html")]
struct VolumesPage {
    shell: Shell,
    year: i32,
    class: String,
    classes: Vec<(String, String)>,
    volumes: Vec<dangan_app::organising::volumes::VolumeView>,
    error: String,
}

/// Year and class in the URL.
#[derive(Debug, Default, Deserialize)]
pub struct VolumeFilters {
    year: Option<i32>,
    class: Option<String>,
}

async fn render_volumes(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    year: i32,
    class: String,
    error: String,
) -> Response {
    use dangan_domain::business::BusinessClass;
    let classes = BusinessClass::ALL
        .into_iter()
        .map(|c| (c.code().to_owned(), c.name().to_owned()))
        .collect();
    let volumes = match BusinessClass::parse(&class) {
        Ok(c) => match app.volumes(actor, year, c).await {
            Ok(v) => v,
            Err(e) => return failure(actor, v, &e),
        },
        Err(_) => Vec::new(),
    };
    html(&VolumesPage {
        shell: shell(actor, v, "/volumes"),
        year,
        class,
        classes,
        volumes,
        error,
    })
}

/// `GET /volumes?year=&class=`: 整理 — the volumes of a year and class.
pub async fn volumes(
    State(app): State<AppState>,
    v: Visitor,
    Query(f): Query<VolumeFilters>,
) -> Response {
    let actor = staff_or_redirect!(v);
    let year = f.year.unwrap_or_else(|| dangan_app::today().year());
    let class = f.class.unwrap_or_else(|| "registration".to_owned());
    render_volumes(&app, &actor, &v, year, class, String::new()).await
}

/// The build form.
#[derive(Debug, Deserialize)]
pub struct BuildForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    year: i32,
    class: String,
}

/// `POST /volumes/build`: 组卷 — (re)builds the draft volumes of a year and class.
pub async fn volumes_build(
    State(app): State<AppState>,
    v: Visitor,
    Form(f): Form<BuildForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let class = match dangan_domain::business::BusinessClass::parse(&f.class) {
        Ok(c) => c,
        Err(e) => return render_volumes(&app, &actor, &v, f.year, f.class, e.to_string()).await,
    };
    match app.build_volumes(&actor, f.year, class).await {
        Ok(_) => {
            Redirect::to(&format!("/volumes?year={}&class={}", f.year, f.class)).into_response()
        }
        Err(e) if e.code() == "forbidden" => failure(&actor, &v, &e),
        Err(e) => render_volumes(&app, &actor, &v, f.year, f.class, e.to_string()).await,
    }
}

/// `POST /volumes/{id}/seal`: 封卷 — numbers the volume; irreversible (the page asks first).
pub async fn volume_seal(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    match app.seal_volume(&actor, dangan_app::ids::VolumeId(id)).await {
        Ok(vol) => Redirect::to(&format!(
            "/volumes?year={}&class={}",
            vol.year, vol.business_class
        ))
        .into_response(),
        Err(e) => failure(&actor, &v, &e),
    }
}

// ---------------------------------------------------------------- handovers (交接)

#[derive(Template)]
#[template(path = "handover.html")]
struct HandoverPage {
    shell: Shell,
    h: dangan_app::intake::handovers::HandoverView,
    error: String,
}

/// `GET /handovers/{id}`: a handover list, to confirm item by item.
pub async fn handover(State(app): State<AppState>, v: Visitor, Path(id): Path<i64>) -> Response {
    let actor = staff_or_redirect!(v);
    match app.handover(&actor, dangan_app::ids::HandoverId(id)).await {
        Ok(h) => html(&HandoverPage {
            shell: shell(&actor, &v, "/workbench"),
            h,
            error: String::new(),
        }),
        Err(e) => failure(&actor, &v, &e),
    }
}

/// `POST /events/{id}/handover`: 移交 — hands the event's paper materials not yet received
/// to the archive post.
pub async fn event_handover(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let event = match app.event(&actor, dangan_app::ids::EventId(id)).await {
        Ok(e) => e,
        Err(e) => return failure(&actor, &v, &e),
    };
    let items: Vec<_> = event
        .materials
        .iter()
        .filter(|m| {
            m.carrier.has_paper() && m.received_on.is_none() && m.status != MaterialStatus::Missing
        })
        .map(|m| dangan_app::intake::handovers::HandoverItemInput {
            material_id: m.id.0,
            quantity: Some(1),
        })
        .collect();
    let input = dangan_app::intake::handovers::HandoverInput { items, note: None };
    match app.create_handover(&actor, &input).await {
        Ok(h) => Redirect::to(&format!("/handovers/{}", h.id)).into_response(),
        Err(e) => failure(&actor, &v, &e),
    }
}

/// `POST /handovers/{id}/confirm`: every line's result (`r_{item}` = ok, missing, damaged).
pub async fn handover_confirm(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let actor = staff_or_redirect!(v);
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "_csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    if !v.csrf_ok(csrf) {
        return csrf_refused();
    }
    let items = fields
        .iter()
        .filter_map(|(k, val)| {
            k.strip_prefix("r_")
                .and_then(|i| i.parse::<i64>().ok())
                .map(|item_id| dangan_app::intake::handovers::ReceiptInput {
                    item_id,
                    result: val.clone(),
                    note: None,
                })
        })
        .collect();
    let input = dangan_app::intake::handovers::ConfirmInput {
        items,
        extras: Vec::new(),
    };
    let hid = dangan_app::ids::HandoverId(id);
    match app.confirm_handover(&actor, hid, &input).await {
        Ok(_) => Redirect::to(&format!("/handovers/{id}")).into_response(),
        Err(e) if e.code() == "forbidden" => failure(&actor, &v, &e),
        Err(e) => match app.handover(&actor, hid).await {
            Ok(h) => {
                let mut r = html(&HandoverPage {
                    shell: shell(&actor, &v, "/workbench"),
                    h,
                    error: e.to_string(),
                });
                *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                r
            }
            Err(e2) => failure(&actor, &v, &e2),
        },
    }
}

// ---------------------------------------------------------------- operation log (操作日志)

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    shell: Shell,
    entries: Vec<LogRow>,
    verified: Option<dangan_app::security::audit::VerifyReport>,
}

/// One entry of the operation log as the auditor reads it: Beijing time, Chinese labels.
struct LogRow {
    number: String,
    at: String,
    actor: String,
    source: String,
    action: String,
    target: String,
    outcome: &'static str,
}

fn log_rows(entries: Vec<dangan_domain::audit::LogEntry>) -> Vec<LogRow> {
    entries
        .into_iter()
        .map(|c| {
            let role = dangan_app::Role::ALL
                .into_iter()
                .find(|r| r.code() == c.role)
                .map_or(c.role.clone(), |r| r.label().to_owned());
            LogRow {
                number: c
                    .seq
                    .map_or_else(|| format!("待入链（{}）", c.id), |s| s.to_string()),
                at: chrono::DateTime::parse_from_rfc3339(&c.at).map_or(c.at.clone(), |t| {
                    dangan_app::local_time(t.with_timezone(&chrono::Utc))
                }),
                actor: format!("{}（{role}）", c.actor_name),
                source: c.source,
                action: c.action,
                target: format!("{} {}", c.target_kind, c.target_id),
                outcome: match c.outcome.as_str() {
                    "ok" => "成功",
                    "denied" => "拒绝",
                    "not_found" => "未找到",
                    "invalid" => "无效",
                    _ => "失败",
                },
            }
        })
        .collect()
}

/// `GET /audit`: the latest operation-log entries (auditor only).
pub async fn audit(State(app): State<AppState>, v: Visitor) -> Response {
    let actor = staff_or_redirect!(v);
    let q = dangan_app::security::audit::LogQuery {
        limit: Some(100),
        ..Default::default()
    };
    match app.search_log(&actor, &q).await {
        Ok(entries) => html(&AuditPage {
            shell: shell(&actor, &v, "/audit"),
            entries: log_rows(entries),
            verified: None,
        }),
        Err(e) => failure(&actor, &v, &e),
    }
}

/// `POST /audit/verify`: checks the whole chain and shows the result above the entries.
pub async fn audit_verify(
    State(app): State<AppState>,
    v: Visitor,
    Form(f): Form<CsrfForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let report = match app.verify_log(&actor).await {
        Ok(r) => r,
        Err(e) => return failure(&actor, &v, &e),
    };
    let q = dangan_app::security::audit::LogQuery {
        limit: Some(100),
        ..Default::default()
    };
    match app.search_log(&actor, &q).await {
        Ok(entries) => html(&AuditPage {
            shell: shell(&actor, &v, "/audit"),
            entries: log_rows(entries),
            verified: Some(report),
        }),
        Err(e) => failure(&actor, &v, &e),
    }
}

// ---------------------------------------------------------------- supplements (补件)

#[derive(Template)]
#[template(path = "supplements.html")]
struct SupplementsPage {
    shell: Shell,
    items: Vec<dangan_app::problems::supplements::SupplementView>,
    error: String,
}

async fn render_supplements(app: &AppState, actor: &Actor, v: &Visitor, error: String) -> Response {
    match app.supplements(actor, Some("open")).await {
        Ok(items) => with_error_status(
            html(&SupplementsPage {
                shell: shell(actor, v, "/supplements"),
                items,
                error: error.clone(),
            }),
            !error.is_empty(),
        ),
        Err(e) => failure(actor, v, &e),
    }
}

/// `GET /supplements`: 补件 — open requests, oldest due first.
pub async fn supplements(State(app): State<AppState>, v: Visitor) -> Response {
    let actor = staff_or_redirect!(v);
    render_supplements(&app, &actor, &v, String::new()).await
}

/// A supplement action: `contact`, `fulfil` or `missing`, with its fields.
#[derive(Debug, Deserialize)]
pub struct SupplementForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    action: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    who: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    pages: String,
    #[serde(default)]
    carrier: String,
    #[serde(default)]
    explanation: String,
}

/// `POST /supplements/{id}`
pub async fn supplement_action(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<SupplementForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let sid = dangan_app::ids::SupplementId(id);
    let result = match f.action.as_str() {
        "contact" => app
            .contact_for_supplement(
                &actor,
                sid,
                &dangan_app::problems::supplements::ContactInput {
                    method: f.method,
                    who: f.who,
                    note: f.note,
                },
            )
            .await
            .map(|_| ()),
        "fulfil" => app
            .fulfil_supplement(
                &actor,
                sid,
                &dangan_app::problems::supplements::FulfilInput {
                    formation_date: None,
                    pages: f.pages.trim().parse().unwrap_or(0),
                    carrier: Some(f.carrier).filter(|c| !c.is_empty()),
                    explanation: f.explanation,
                },
            )
            .await
            .map(|_| ()),
        "missing" => app
            .close_supplement_as_missing(&actor, sid, &f.explanation)
            .await
            .map(|_| ()),
        _ => Err(AppError::invalid_with(
            "invalid_action",
            Some("action"),
            "未知的操作",
        )),
    };
    match result {
        Ok(()) => Redirect::to("/supplements").into_response(),
        Err(e) if e.code() == "forbidden" => failure(&actor, &v, &e),
        Err(e) => render_supplements(&app, &actor, &v, e.to_string()).await,
    }
}

// ---------------------------------------------------------------- catalogue and calendar

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
struct CataloguePage {
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

// ---------------------------------------------------------------- corrections, damage, loss

#[derive(Template)]
#[template(path = "material.html")]
struct MaterialPage {
    shell: Shell,
    person: i64,
    material: i64,
    incidents: dangan_app::problems::damage::MaterialIncidents,
    error: String,
}

async fn render_material(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    person: i64,
    material: i64,
    error: String,
) -> Response {
    match app
        .material_incidents(actor, dangan_app::ids::MaterialId(material))
        .await
    {
        Ok(incidents) => with_error_status(
            html(&MaterialPage {
                shell: shell(actor, v, "/persons"),
                person,
                material,
                incidents,
                error: error.clone(),
            }),
            !error.is_empty(),
        ),
        Err(e) => failure(actor, v, &e),
    }
}

/// The person a material is shown under (kept in the URL for the way back).
#[derive(Debug, Default, Deserialize)]
pub struct PersonRef {
    person: Option<i64>,
}

/// `GET /materials/{id}?person=`: 损毁与丢失 — a material's damage and loss history.
pub async fn material(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Query(q): Query<PersonRef>,
) -> Response {
    let actor = staff_or_redirect!(v);
    render_material(&app, &actor, &v, q.person.unwrap_or(0), id, String::new()).await
}

/// A damage or loss report.
#[derive(Debug, Deserialize)]
pub struct IncidentForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    kind: String,
    #[serde(default)]
    person: i64,
    #[serde(default)]
    degree: String,
    #[serde(default)]
    cause: String,
    #[serde(default)]
    reported_to: String,
    #[serde(default)]
    note: String,
}

/// `POST /materials/{id}/incidents`: records damage (损毁) or a loss (丢失).
pub async fn material_incident(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<IncidentForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let mid = dangan_app::ids::MaterialId(id);
    let result = match f.kind.as_str() {
        "damage" => app
            .record_damage(
                &actor,
                mid,
                &dangan_app::problems::damage::DamageInput {
                    degree: f.degree,
                    cause: f.cause,
                    repair_by: None,
                    institution: None,
                },
            )
            .await
            .map(|_| ()),
        "loss" => app
            .record_loss(
                &actor,
                mid,
                &dangan_app::problems::damage::LossInput {
                    reported_to: f.reported_to,
                    note: Some(f.note).filter(|n| !n.trim().is_empty()),
                },
            )
            .await
            .map(|_| ()),
        _ => Err(AppError::invalid_with(
            "invalid_kind",
            Some("kind"),
            "未知的登记类型",
        )),
    };
    match result {
        Ok(()) => Redirect::to(&format!("/materials/{id}?person={}", f.person)).into_response(),
        Err(e) if e.code() == "forbidden" => failure(&actor, &v, &e),
        Err(e) => render_material(&app, &actor, &v, f.person, id, e.to_string()).await,
    }
}

#[derive(Template)]
#[template(path = "correction.html")]
struct CorrectionPage {
    shell: Shell,
    person: i64,
    materials: Vec<(i64, String)>,
    corrections: Vec<dangan_app::problems::corrections::CorrectionView>,
    error: String,
}

async fn render_correction(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    person: i64,
    error: String,
) -> Response {
    let pid = PersonId(person);
    let (events, corrections) = match (
        app.person_events(actor, pid).await,
        app.corrections(actor, pid).await,
    ) {
        (Ok(e), Ok(c)) => (e, c),
        (Err(e), _) | (_, Err(e)) => return failure(actor, v, &e),
    };
    let materials = events
        .into_iter()
        .flat_map(|e| {
            let date = e.business_date;
            e.materials
                .into_iter()
                .map(move |m| (m.id.0, format!("{date} {}", m.name)))
        })
        .collect();
    with_error_status(
        html(&CorrectionPage {
            shell: shell(actor, v, "/persons"),
            person,
            materials,
            corrections,
            error: error.clone(),
        }),
        !error.is_empty(),
    )
}

/// `GET /persons/{id}/corrections`: 更正 — the modification records and the form.
pub async fn corrections(State(app): State<AppState>, v: Visitor, Path(id): Path<i64>) -> Response {
    let actor = staff_or_redirect!(v);
    render_correction(&app, &actor, &v, id, String::new()).await
}

/// The correction form.
#[derive(Debug, Deserialize)]
pub struct CorrectionForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    field: String,
    new_value: String,
    #[serde(default)]
    proof_material_id: String,
    basis: String,
}

/// `POST /persons/{id}/corrections`: corrects a field with its proof (an archived material).
pub async fn correction_create(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<CorrectionForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    let input = dangan_app::problems::corrections::CorrectionInput {
        field: f.field,
        new_value: f.new_value,
        proof_material_id: f.proof_material_id.trim().parse().ok(),
        basis: f.basis,
    };
    match app.correct_person(&actor, PersonId(id), &input).await {
        Ok(_) => Redirect::to(&format!("/persons/{id}/corrections")).into_response(),
        Err(e) if e.code() == "forbidden" => failure(&actor, &v, &e),
        Err(e) => render_correction(&app, &actor, &v, id, e.to_string()).await,
    }
}

/// The staff-assisted kiosk form.
#[derive(Debug, Deserialize)]
pub struct AssistedForm {
    id_number: String,
    /// `card` (the person is here with their card) or `query` (the clerk registered a query).
    #[serde(default)]
    basis: String,
    staff_username: String,
    staff_password: String,
}

/// `POST /kiosk/assisted`: 工作人员协助确认 — a window clerk signs in on the kiosk for a person,
/// on a recorded basis (the person present with the card the number was read from, or a query
/// the clerk registered); the clerk's own session ends at once.
pub async fn kiosk_assisted(
    State(app): State<AppState>,
    v: Visitor,
    Form(f): Form<AssistedForm>,
) -> Response {
    let idle = app.settings().kiosk_idle_seconds;
    let refused = |msg: String| {
        let mut r = html(&my_signed_out(true, msg, idle));
        *r.status_mut() = StatusCode::UNAUTHORIZED;
        r
    };
    let staff = match app
        .login(f.staff_username.trim(), &f.staff_password, &v.source)
        .await
    {
        Ok(l) => l,
        Err(e) => return sign_in_failed(refused(e.to_string()), &e),
    };
    let opened = app
        .assisted_insured_login(&staff.user, &f.id_number, &f.basis, &v.source)
        .await;
    let _ = app.logout(&staff.user, &staff.token, false).await;
    match opened {
        Ok(l) => {
            let mut r = Redirect::to("/kiosk").into_response();
            r.headers_mut()
                .insert(header::SET_COOKIE, set_cookie(Some(&l.token), v.secure));
            r
        }
        Err(e) if e.code() == "forbidden" => refused("该工作人员无权协助参保人查询".to_owned()),
        Err(e) => refused(e.to_string()),
    }
}

// ---------------------------------------------------------------- outbox (回传业务系统)

/// One pending outbox item as the page shows it: no identity number, times in Beijing time.
#[derive(Debug)]
struct OutboxLine {
    id: i64,
    person_id: i64,
    summary: String,
    created: String,
    attempts: i64,
    next: String,
    error: String,
}

#[derive(Template)]
#[template(path = "outbox.html")]
struct OutboxPage {
    shell: Shell,
    items: Vec<OutboxLine>,
    error: String,
    done: String,
}

/// The Chinese name of a corrected field.
fn field_label(field: &str) -> &str {
    match field {
        "name" => "姓名",
        "division_code" => "行政区划",
        "status" => "参保状态",
        "tier" => "缴费档次",
        "identity" => "参保身份",
        other => other,
    }
}

async fn render_outbox(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    error: String,
    done: String,
) -> Response {
    let query = dangan_app::integration::outbox::OutboxQuery {
        state: Some("pending".to_owned()),
        after: None,
        limit: Some(500),
    };
    match app.list_outbox(actor, &query).await {
        Ok(items) => {
            let items = items
                .into_iter()
                .map(|i| {
                    let text = |k: &str| i.payload[k].as_str().unwrap_or_default().to_owned();
                    OutboxLine {
                        id: i.id.0,
                        person_id: i.person_id.0,
                        summary: format!(
                            "更正{}：{} → {}",
                            field_label(&text("field")),
                            text("old_value"),
                            text("new_value")
                        ),
                        created: dangan_app::local_time(i.created_at),
                        attempts: i.attempts,
                        next: if i.attempts == 0 && i.next_attempt_at.is_none() {
                            "尚未尝试".to_owned()
                        } else {
                            i.next_attempt_at
                                .map(dangan_app::local_time)
                                .unwrap_or_default()
                        },
                        error: i.last_error.unwrap_or_default(),
                    }
                })
                .collect();
            with_error_status(
                html(&OutboxPage {
                    shell: shell(actor, v, "/outbox"),
                    items,
                    error: error.clone(),
                    done,
                }),
                !error.is_empty(),
            )
        }
        Err(e) => failure(actor, v, &e),
    }
}

/// `GET /outbox`: corrections waiting to go back to the business system.
pub async fn outbox(State(app): State<AppState>, v: Visitor) -> Response {
    let actor = staff_or_redirect!(v);
    render_outbox(&app, &actor, &v, String::new(), String::new()).await
}

/// The re-send form: an outbox id typed in.
#[derive(Debug, Deserialize)]
pub struct ResendForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    id: String,
}

async fn resend(app: &AppState, actor: &Actor, v: &Visitor, id: Option<i64>) -> Response {
    let Some(id) = id.filter(|n| *n > 0) else {
        return render_outbox(
            app,
            actor,
            v,
            "回传编号应为正整数".to_owned(),
            String::new(),
        )
        .await;
    };
    match app
        .resend_outbox(actor, dangan_app::integration::outbox::OutboxId(id))
        .await
    {
        Ok(_) => {
            let done = format!("已安排重新回传第 {id} 号更正，将立即发送。");
            render_outbox(app, actor, v, String::new(), done).await
        }
        Err(e) if e.code() == "forbidden" => failure(actor, v, &e),
        Err(e) => render_outbox(app, actor, v, e.to_string(), String::new()).await,
    }
}

/// `POST /outbox/{id}/resend`: send a pending item now, without waiting out its back-off.
pub async fn outbox_resend(
    State(app): State<AppState>,
    v: Visitor,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    resend(&app, &actor, &v, Some(id)).await
}

/// `POST /outbox/resend`: send an item again by its number, delivered or not.
pub async fn outbox_resend_by_id(
    State(app): State<AppState>,
    v: Visitor,
    Form(f): Form<ResendForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    resend(&app, &actor, &v, f.id.trim().parse().ok()).await
}
