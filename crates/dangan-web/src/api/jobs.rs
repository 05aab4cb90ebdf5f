//! `GET /api/v1/jobs`, `GET /api/v1/jobs/{id}`, `POST /api/v1/jobs`: the background jobs
//! (后台作业) of every node, their history, and running one now. The wire types live here, so
//! that the use-cases carry no OpenAPI concern.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use dangan_app::jobs::{AttemptView, JobId, JobQuery, JobView};

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, AppState, Auth, row_id};

/// The job list as asked for in a query string.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct JobListQuery {
    /// Of this kind only: `scrub`, `backup`, `log.anchor`, `person_changes.apply`,
    /// `outbox.deliver`, `jobs.prune`.
    #[param(
        pattern = r"^(scrub|backup|log\.anchor|person_changes\.apply|outbox\.deliver|jobs\.prune)$"
    )]
    pub kind: Option<String>,
    /// In this state only: `queued`, `running`, `done`, `failed`.
    #[param(pattern = "^(queued|running|done|failed)$")]
    pub state: Option<String>,
    /// Older than this id (the last id of the previous page).
    #[param(minimum = 1)]
    pub before: Option<i64>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// A background job.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Job {
    /// 作业编号
    pub id: i64,
    /// 作业类型 code: `scrub`, `backup`, `log.anchor`, `person_changes.apply`,
    /// `outbox.deliver`, `jobs.prune`.
    pub kind: String,
    /// 作业类型 in Chinese.
    pub kind_label: String,
    /// Its parameters (JSON text), e.g. `{"target":"local","full":false}`.
    pub payload: String,
    /// The schedule slot it runs for (Beijing time, `2026-12-06T03:00`), when a schedule
    /// enqueued it.
    pub slot: Option<String>,
    /// `queued`, `running`, `done` or `failed`.
    pub state: String,
    /// 状态 in Chinese.
    pub state_label: String,
    /// Attempts started.
    pub attempts: i64,
    /// Attempts allowed.
    pub max_attempts: i64,
    /// Not before (Beijing time).
    pub run_after: String,
    /// Enqueued (Beijing time).
    pub created_at: String,
    /// Who enqueued it: `system`, `schedule:<name>` or a username.
    pub requested_by: String,
    /// The last attempt's start (Beijing time).
    pub started_at: Option<String>,
    /// Finished (Beijing time).
    pub finished_at: Option<String>,
    /// The node of the last attempt.
    pub node: Option<String>,
    /// How far it got (the job's own JSON).
    pub progress: String,
    /// What it did, in Chinese.
    pub result: String,
    /// Why the last attempt failed, in Chinese.
    pub error: String,
    /// Every attempt (only for `GET /jobs/{id}`).
    pub history: Vec<Attempt>,
}

/// One attempt at a job.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Attempt {
    /// Which attempt (1, 2, …).
    pub attempt: i64,
    /// The node that ran it.
    pub node: String,
    /// Started (Beijing time).
    pub started_at: String,
    /// Ended (Beijing time).
    pub finished_at: Option<String>,
    /// `running`, `done`, `failed` or `lost` (its node stopped renewing; another took over).
    pub outcome: String,
    /// The outcome in Chinese.
    pub outcome_label: String,
    /// Why it failed or was lost, in Chinese.
    pub error: String,
}

impl From<AttemptView> for Attempt {
    fn from(a: AttemptView) -> Attempt {
        Attempt {
            attempt: a.attempt,
            node: a.node,
            started_at: a.started_at,
            finished_at: a.finished_at,
            outcome: a.outcome,
            outcome_label: a.outcome_label,
            error: a.error,
        }
    }
}

impl From<JobView> for Job {
    fn from(j: JobView) -> Job {
        Job {
            id: j.id.0,
            kind: j.kind,
            kind_label: j.kind_label,
            payload: j.payload,
            slot: j.slot,
            state: j.state.code().to_owned(),
            state_label: j.state_label,
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            run_after: j.run_after,
            created_at: j.created_at,
            requested_by: j.requested_by,
            started_at: j.started_at,
            finished_at: j.finished_at,
            node: j.node,
            progress: j.progress,
            result: j.result,
            error: j.error,
            history: j.history.into_iter().map(Attempt::from).collect(),
        }
    }
}

/// `GET /api/v1/jobs`: background jobs of every node, newest first (administrators, auditors).
#[utoipa::path(
    get,
    path = "/jobs",
    tag = "jobs",
    params(JobListQuery),
    responses(
        (status = 200, description = "后台作业，新的在前 — jobs, newest first", body = Vec<Job>),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn list_jobs(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiQuery(q): ApiQuery<JobListQuery>,
) -> Result<Json<Vec<Job>>, ApiError> {
    let q = JobQuery {
        kind: q.kind,
        state: q.state,
        before: q.before,
        limit: q.limit,
    };
    let jobs = app.jobs(&actor, &q).await?;
    Ok(Json(jobs.into_iter().map(Job::from).collect()))
}

/// `GET /api/v1/jobs/{id}`: one job with every attempt (which node, how it ended).
#[utoipa::path(
    get,
    path = "/jobs/{id}",
    tag = "jobs",
    params(("id" = i64, Path, minimum = 1, description = "作业编号 — the job's id")),
    responses(
        (status = 200, description = "作业及其每次尝试 — the job and its attempts", body = Job),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn get_job(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    let job = app.job(&actor, JobId(row_id(&id, "id")?)).await?;
    Ok(Json(job.into()))
}

/// The body of 立即运行.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunJobForm {
    /// `scrub`, `log.anchor`, `person_changes.apply` or `jobs.prune`.
    #[schema(pattern = r"^(scrub|log\.anchor|person_changes\.apply|jobs\.prune)$")]
    pub kind: String,
}

/// The id of a job just enqueued.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Enqueued {
    /// 作业编号
    pub id: i64,
}

/// `POST /api/v1/jobs`: runs a job now on whichever node is free (administrators); 409 while
/// one of its kind is queued or running.
#[utoipa::path(
    post,
    path = "/jobs",
    tag = "jobs",
    request_body = RunJobForm,
    responses(
        (status = 202, description = "已排队 — queued", body = Enqueued),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 409, response = crate::openapi::Conflict),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
    )
)]
pub async fn run_job(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    ApiJson(form): ApiJson<RunJobForm>,
) -> Result<(StatusCode, Json<Enqueued>), ApiError> {
    let id = app.run_job_now(&actor, &form.kind).await?;
    Ok((StatusCode::ACCEPTED, Json(Enqueued { id: id.0 })))
}
