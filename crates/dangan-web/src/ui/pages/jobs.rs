//! 后台作业 — the administrator's (and auditor's) page of the background jobs of every node:
//! the queue, each job's state and result, each attempt with its node, and 立即运行.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use dangan_app::jobs::{
    FIELD_LABELS, JobId, JobKind, JobQuery, JobState, JobView, QueueStats, field_label, state_label,
};
use dangan_app::{Actor, UseCase};
use dangan_domain::operation::ActorKind;

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
    /// The parameters as label and value.
    parameters: Vec<(String, String)>,
    /// The progress as label and value.
    progress: Vec<(String, String)>,
    /// Who enqueued it, in Chinese for the system.
    requested_by: String,
}

/// The label of a key no label is known for: never the raw English key.
const OTHER_FIELD: &str = "其他参数";

/// A JSON value in words: yes/no for a flag, a list joined, text as it is.
fn value_text(v: &serde_json::Value) -> String {
    use serde_json::Value as V;
    match v {
        V::Null => "—".to_owned(),
        V::Bool(true) => "是".to_owned(),
        V::Bool(false) => "否".to_owned(),
        V::String(s) => s.clone(),
        V::Number(n) => n.to_string(),
        V::Array(a) if a.is_empty() => "无".to_owned(),
        V::Array(a) => a.iter().map(value_text).collect::<Vec<_>>().join("、"),
        V::Object(_) => v.to_string(),
    }
}

/// A job's parameters or progress (JSON text) as a Chinese key/value table: a known key under
/// its label, any other under a neutral one; text that is not a JSON object as one row.
fn fields(json: &str) -> Vec<(String, String)> {
    if json.trim().is_empty() {
        return Vec::new();
    }
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::Object(map)) => {
            // In the order of the known keys, the unknown ones after them.
            let rank = |k: &str| FIELD_LABELS.iter().position(|(key, _)| *key == k);
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by_key(|k| rank(k).unwrap_or(usize::MAX));
            keys.into_iter()
                .map(|k| {
                    (
                        field_label(k).unwrap_or(OTHER_FIELD).to_owned(),
                        value_text(&map[k]),
                    )
                })
                .collect()
        }
        Ok(v) => vec![(OTHER_FIELD.to_owned(), value_text(&v))],
        Err(_) => vec![(OTHER_FIELD.to_owned(), json.to_owned())],
    }
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
            parameters: fields(&job.payload),
            progress: fields(&job.progress),
            requested_by: if job.requested_by == "system" {
                ActorKind::System.label().to_owned()
            } else {
                job.requested_by.clone()
            },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_payload_reads_as_chinese_labels_and_an_unknown_key_as_a_neutral_one() {
        let rows = fields(r#"{"target":"local","full":true,"mystery":3}"#);
        assert_eq!(
            rows,
            [
                ("备份目标".to_owned(), "local".to_owned()),
                ("完整备份".to_owned(), "是".to_owned()),
                (OTHER_FIELD.to_owned(), "3".to_owned()),
            ]
        );
        assert!(fields("{}").is_empty());
        assert_eq!(
            fields(r#"{"failed":[3,4]}"#),
            [("未通过核验的文件".to_owned(), "3、4".to_owned())]
        );
    }
}
