//! 操作日志 — the operation log and the check of its chain (auditor).

use super::signin::CsrfForm;
use super::{Shell, csrf_refused, failure, html, shell, staff};
use crate::extract::AppState;
use crate::ui::session::Visitor;
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

#[derive(Template)]
#[template(path = "audit.html")]
pub(super) struct AuditPage {
    shell: Shell,
    entries: Vec<LogRow>,
    verified: Option<dangan_app::security::audit::VerifyReport>,
}

/// One entry of the operation log as the auditor reads it: Beijing time, Chinese labels.
pub(super) struct LogRow {
    number: String,
    at: String,
    actor: String,
    source: String,
    action: String,
    target: String,
    outcome: &'static str,
}

pub(super) fn log_rows(entries: Vec<dangan_domain::audit::LogEntry>) -> Vec<LogRow> {
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
