//! 工作台 — the signed-in staff member's open tasks, overdue first, each a link to what it is
//! about and naming its person.

use super::{Shell, failure, html, shell, staff};
use crate::extract::AppState;
use crate::ui::session::Visitor;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use dangan_app::AppError;
use dangan_app::administration::tasks::{TaskQuery, TaskView};
use dangan_domain::workflow::SubjectKind;

#[derive(Template)]
#[template(path = "workbench.html")]
pub(super) struct WorkbenchPage {
    shell: Shell,
    overdue: Vec<TaskView>,
    due: Vec<TaskView>,
    /// Administrators: a calendar year that deadlines need is missing.
    calendar_warning: Option<String>,
    /// 环境告警 — the open environment alerts, for roles that record custody.
    alerts: Vec<dangan_app::custody::environment::AlertView>,
}

impl WorkbenchPage {
    /// Where a task's row leads: a business to its person's archive (which asks for the query
    /// registration first), a handover to its list, a supplement to its request on 补件.
    fn subject_href(&self, t: &TaskView) -> String {
        match t.subject_kind {
            SubjectKind::Event => match t.person_id {
                Some(p) => format!("/persons/{p}"),
                None => "/persons".to_owned(),
            },
            SubjectKind::Handover => format!("/handovers/{}", t.subject_id),
            SubjectKind::Supplement => format!("/supplements#supplement-{}", t.subject_id),
            SubjectKind::Room => format!("/custody/rooms/{}", t.subject_id),
            SubjectKind::Equipment => format!("/equipment#equipment-{}", t.subject_id),
        }
    }
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
    let calendar_warning = app.calendar_warning(actor);
    let alerts = if dangan_app::administration::roles::allowed(
        actor.role,
        dangan_app::UseCase::RecordCustody,
    ) {
        match app.open_environment_alerts(actor).await {
            Ok(a) => a,
            Err(e) => return failure(actor, &v, &e),
        }
    } else {
        Vec::new()
    };
    match app.tasks(actor, &q).await {
        Ok(tasks) => {
            let (overdue, due): (Vec<_>, Vec<_>) = tasks.into_iter().partition(|t| t.overdue);
            html(&WorkbenchPage {
                shell: shell(actor, &v, "/workbench"),
                overdue,
                due,
                calendar_warning,
                alerts,
            })
        }
        Err(AppError::Forbidden) => html(&WorkbenchPage {
            shell: shell(actor, &v, "/workbench"),
            overdue: Vec::new(),
            due: Vec::new(),
            calendar_warning,
            alerts,
        }),
        Err(e) => failure(actor, &v, &e),
    }
}
