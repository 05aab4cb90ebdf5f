//! 后台作业 — the administrator's (and auditor's) page of the background jobs of every node:
//! the queue, each job's state and result, each attempt with its node, and 立即运行.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use dangan_app::jobs::{JobId, JobKind, JobQuery, JobState, JobView, QueueStats, state_label};
use dangan_app::{Actor, UseCase};

use super::{Shell, csrf_refused, failure, html, shell, staff, with_error_status};
use crate::error::belongs_on_form;
use crate::extract::AppState;
use crate::ui::session::Visitor;

#[derive(Template)]
#[template(path = "jobs.html")]
struct JobsPage {
    shell: Shell,
    jobs: Vec<JobView>,
    stats: QueueStats,
    states: Vec<(&'static str, &'static str)>,
    state: String,
    can_run: bool,
    runnable: Vec<(&'static str, &'static str)>,
    error: String,
    done: String,
}

#[derive(Template)]
#[template(path = "job.html")]
struct JobPage {
    shell: Shell,
    job: JobView,
}

/// The list's filter.
#[derive(Debug, Default, Deserialize)]
pub struct JobsFilter {
    #[serde(default)]
    state: String,
}

/// The kinds an administrator may run now.
fn runnable() -> Vec<(&'static str, &'static str)> {
    [
        JobKind::Scrub,
        JobKind::Anchor,
        JobKind::PersonChanges,
        JobKind::Prune,
    ]
    .into_iter()
    .map(|k| (k.code(), k.label()))
    .collect()
}

async fn render(
    app: &AppState,
    actor: &Actor,
    v: &Visitor,
    state: &str,
    error: String,
    done: String,
) -> Response {
    let query = JobQuery {
        state: Some(state.to_owned()).filter(|s| !s.is_empty()),
        limit: Some(100),
        ..JobQuery::default()
    };
    let jobs = match app.jobs(actor, &query).await {
        Ok(j) => j,
        Err(e) => return failure(actor, v, &e),
    };
    let stats = match app.job_stats().await {
        Ok(s) => s,
        Err(e) => return failure(actor, v, &e),
    };
    with_error_status(
        html(&JobsPage {
            shell: shell(actor, v, "/jobs"),
            jobs,
            stats,
            states: JobState::ALL
                .into_iter()
                .map(|s| (s.code(), state_label(s)))
                .collect(),
            state: state.to_owned(),
            can_run: dangan_app::administration::roles::allowed(actor.role, UseCase::RunJobs),
            runnable: runnable(),
            error: error.clone(),
            done,
        }),
        !error.is_empty(),
    )
}

/// `GET /jobs`
pub async fn jobs(
    State(app): State<AppState>,
    v: Visitor,
    Query(f): Query<JobsFilter>,
) -> Response {
    let actor = staff_or_redirect!(v);
    render(&app, &actor, &v, &f.state, String::new(), String::new()).await
}

/// `GET /jobs/{id}`
pub async fn job(State(app): State<AppState>, v: Visitor, Path(id): Path<i64>) -> Response {
    let actor = staff_or_redirect!(v);
    match app.job(&actor, JobId(id)).await {
        Ok(job) => html(&JobPage {
            shell: shell(&actor, &v, "/jobs"),
            job,
        }),
        Err(e) => failure(&actor, &v, &e),
    }
}

/// The 立即运行 form.
#[derive(Debug, Deserialize)]
pub struct RunForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    kind: String,
}

/// `POST /jobs`: runs a job now.
pub async fn run(State(app): State<AppState>, v: Visitor, Form(f): Form<RunForm>) -> Response {
    let actor = staff_form_or_return!(v, &f.csrf);
    match app.run_job_now(&actor, &f.kind).await {
        Ok(id) => {
            let label = JobKind::parse(&f.kind).map_or("", JobKind::label);
            let done = format!("已加入队列：{label}（作业 {id}），空闲的节点将立即运行。");
            render(&app, &actor, &v, "", String::new(), done).await
        }
        Err(e) if !belongs_on_form(&e) => failure(&actor, &v, &e),
        Err(e) => render(&app, &actor, &v, "", e.to_string(), String::new()).await,
    }
}
