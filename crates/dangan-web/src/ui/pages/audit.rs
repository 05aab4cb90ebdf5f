//! 操作日志 — the operation log with its filters and pages, and the check of its chain
//! (auditor). Every code of an entry is shown as its Chinese label
//! (`dangan_domain::operation`, shown through `code::label_or_code`), every time as Beijing time.

use super::signin::CsrfForm;
use super::{Shell, csrf_refused, failure, html, shell, staff, with_status_of};
use crate::error::belongs_on_form;
use crate::extract::AppState;
use crate::ui::session::Visitor;
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use dangan_app::security::audit::{LogPage, LogQuery, VerifyReport};
use dangan_app::{Actor, AppError, UseCase};
use dangan_domain::code::{Code, label_or_code};
use dangan_domain::operation::{ActorKind, AuditAction, LogOutcome, TargetKind};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "audit.html")]
pub(super) struct AuditPage {
    shell: Shell,
    filters: LogFilters,
    actions: Vec<Choice>,
    outcomes: Vec<Choice>,
    error: String,
    field: String,
    entries: Vec<LogRow>,
    total: i64,
    page: i64,
    pages: i64,
    previous: Option<String>,
    next: Option<String>,
    verified: Option<VerifyReport>,
}

/// One option of a filter's select: code, label, selected.
pub(super) struct Choice {
    pub(super) code: &'static str,
    pub(super) label: &'static str,
    pub(super) selected: bool,
}

pub(super) fn choices<C: Code>(selected: &str) -> Vec<Choice> {
    C::ALL
        .iter()
        .map(|c| Choice {
            code: c.code(),
            label: c.label(),
            selected: c.code() == selected,
        })
        .collect()
}

/// The filters of the log page, as the form sends them (kept in the URL: dates, a username,
/// codes and an archive row id, never an identity number).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LogFilters {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    person: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    upto: Option<String>,
    #[serde(default)]
    page: Option<String>,
}

impl LogFilters {
    /// The use-case's query, or the Chinese error for a person field that is not an id.
    fn query(&self) -> Result<LogQuery, AppError> {
        let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let person = match some(&self.person) {
            None => None,
            Some(p) => Some(p.parse::<i64>().ok().filter(|p| *p > 0).ok_or_else(|| {
                AppError::invalid_with(
                    "invalid_log_filter",
                    Some("person"),
                    "参保人档案编号应为数字（档案页网址中的编号，不是身份证号码）",
                )
            })?),
        };
        Ok(LogQuery {
            from: some(&self.from),
            to: some(&self.to),
            actor_name: some(&self.actor),
            exact_action: some(&self.action),
            person,
            outcome: some(&self.outcome),
            ..LogQuery::default()
        })
    }

    fn number(v: &Option<String>) -> Option<i64> {
        v.as_deref().and_then(|s| s.trim().parse().ok())
    }

    /// The link to `page` of the same search, up to the same entry.
    fn link(&self, upto: i64, page: i64) -> String {
        let mut q = String::from("/audit?");
        for (k, v) in [
            ("from", &self.from),
            ("to", &self.to),
            ("actor", &self.actor),
            ("action", &self.action),
            ("person", &self.person),
            ("outcome", &self.outcome),
        ] {
            if !v.trim().is_empty() {
                q.push_str(&format!("{k}={}&", encode(v.trim())));
            }
        }
        q.push_str(&format!("upto={upto}&page={page}"));
        q
    }
}

/// Percent-encodes a query value (UTF-8).
pub(super) fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One entry of the operation log as the auditor reads it: Beijing time, Chinese labels.
pub(super) struct LogRow {
    number: String,
    at: String,
    actor: String,
    source: String,
    action: String,
    target: String,
    outcome: String,
}

/// Who wrote an entry: the name with the role, or what kind of actor it was.
fn actor_text(e: &dangan_domain::audit::LogEntry) -> String {
    match ActorKind::from_code(&e.actor_kind) {
        Some(ActorKind::System) if e.actor_name == "system" => ActorKind::System.label().to_owned(),
        // A sign-in attempt before anyone is known: the name that was tried.
        Some(ActorKind::System | ActorKind::Anonymous) => {
            format!("{}（{}）", e.actor_name, ActorKind::Anonymous.label())
        }
        _ => {
            let role = dangan_app::Role::ALL
                .into_iter()
                .find(|r| r.code() == e.role)
                .map_or_else(|| e.role.clone(), |r| r.label().to_owned());
            format!("{}（{role}）", e.actor_name)
        }
    }
}

/// What an entry is about: the kind of record and its id (a refused use-case by its name).
fn target_text(e: &dangan_domain::audit::LogEntry) -> String {
    let kind = label_or_code::<TargetKind>(&e.target_kind);
    if TargetKind::from_code(&e.target_kind) == Some(TargetKind::UseCase) {
        let name = UseCase::ALL
            .into_iter()
            .find(|u| format!("{u:?}") == e.target_id)
            .map_or_else(|| e.target_id.clone(), |u| u.label().to_owned());
        return format!("{kind}：{name}");
    }
    format!("{kind} {}", e.target_id).trim().to_owned()
}

pub(super) fn log_rows(entries: Vec<dangan_domain::audit::LogEntry>) -> Vec<LogRow> {
    entries
        .into_iter()
        .map(|e| LogRow {
            number: e
                .seq
                .map_or_else(|| format!("待入链（{}）", e.id), |s| s.to_string()),
            at: chrono::DateTime::parse_from_rfc3339(&e.at).map_or_else(
                |_| e.at.clone(),
                |t| crate::ui::beijing::time(&t.with_timezone(&chrono::Utc)),
            ),
            actor: actor_text(&e),
            target: target_text(&e),
            action: label_or_code::<AuditAction>(&e.action),
            outcome: label_or_code::<LogOutcome>(&e.outcome),
            source: e.source,
        })
        .collect()
}

/// The page around a search's result (or its error), with the chain check when made.
async fn render(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    filters: LogFilters,
    verified: Option<VerifyReport>,
) -> Response {
    let mut page = AuditPage {
        shell: shell(actor, v, "/audit"),
        actions: choices::<AuditAction>(filters.action.trim()),
        outcomes: choices::<LogOutcome>(filters.outcome.trim()),
        error: String::new(),
        field: String::new(),
        entries: Vec::new(),
        total: 0,
        page: 1,
        pages: 1,
        previous: None,
        next: None,
        verified,
        filters,
    };
    let found = match page.filters.query() {
        Ok(q) => {
            let (upto, n) = (
                LogFilters::number(&page.filters.upto),
                LogFilters::number(&page.filters.page).unwrap_or(1),
            );
            app.search_log_page(actor, &q, upto, n).await
        }
        Err(e) => Err(e),
    };
    match found {
        Ok(found) => {
            fill(&mut page, found);
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

fn fill(page: &mut AuditPage, found: LogPage) {
    page.total = found.total;
    page.page = found.page;
    page.pages = found.pages();
    page.previous = (found.page > 1).then(|| page.filters.link(found.upto, found.page - 1));
    page.next = (found.page < page.pages).then(|| page.filters.link(found.upto, found.page + 1));
    page.entries = log_rows(found.entries);
}

/// `GET /audit?from=&to=&actor=&action=&person=&outcome=&upto=&page=`: the operation log,
/// filtered, newest first, 50 entries a page (auditor only).
pub async fn audit(
    State(app): State<AppState>,
    v: Visitor,
    Query(f): Query<LogFilters>,
) -> Response {
    let actor = staff_or_redirect!(v);
    render(&app, &actor, &v, f, None).await
}

/// `POST /audit/verify`: checks the whole chain and shows the result above the entries.
pub async fn audit_verify(
    State(app): State<AppState>,
    v: Visitor,
    Form(f): Form<CsrfForm>,
) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    match app.verify_log(&actor).await {
        Ok(report) => render(&app, &actor, &v, LogFilters::default(), Some(report)).await,
        Err(e) => failure(&actor, &v, &e),
    }
}

/// The most entries one export of the log writes (200 pages of 50).
const EXPORT_PAGES: i64 = 200;

/// `GET /audit/export.xlsx?…`: the filtered log as Excel, newest first, in Chinese, up to a
/// fixed entry so that entries written meanwhile do not shift it (auditor only; logged).
pub async fn audit_export(
    State(app): State<AppState>,
    v: Visitor,
    Query(filters): Query<LogFilters>,
) -> Response {
    let actor = staff_or_redirect!(v);
    let r = async {
        let q = filters.query()?;
        let mut rows = Vec::new();
        let mut upto = None;
        for n in 1..=EXPORT_PAGES {
            let found = app.search_log_page(&actor, &q, upto, n).await?;
            upto = Some(found.upto);
            let last = found.page >= found.pages();
            rows.extend(log_rows(found.entries).into_iter().map(|e| {
                vec![
                    e.number, e.at, e.actor, e.source, e.action, e.target, e.outcome,
                ]
            }));
            if last {
                break;
            }
        }
        let sheet = crate::ui::xlsx::Sheet {
            name: "操作日志",
            headers: vec![
                "序号",
                "时间（北京时间）",
                "操作人",
                "来源",
                "操作",
                "对象",
                "结果",
            ],
            rows,
        };
        crate::ui::xlsx::download(&app, &actor, "audit", "操作日志", &[sheet]).await
    }
    .await;
    r.unwrap_or_else(|e| failure(&actor, &v, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_link_keeps_the_filters_encoded_and_the_snapshot() {
        let f = LogFilters {
            from: "2026-12-06".into(),
            actor: "张 三".into(),
            action: "person.read".into(),
            ..LogFilters::default()
        };
        assert_eq!(
            f.link(120, 2),
            "/audit?from=2026-12-06&actor=%E5%BC%A0%20%E4%B8%89&action=person.read&upto=120&page=2"
        );
    }
}
