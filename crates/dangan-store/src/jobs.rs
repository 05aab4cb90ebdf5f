//! 后台作业 — the durable job queue (issue 17). Jobs are rows; workers of any `serve` node
//! claim them — with `FOR UPDATE SKIP LOCKED` on PostgreSQL, under the single writer on SQLite
//! — holding a lease they renew while they work. A job whose lease ran out (its node died) is
//! claimed again by another node as a new attempt; a node that lost its lease can no longer
//! renew or finish the job (every write names the node and the attempt it holds).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Conn, StoreError, StoreResult, Tx, id_type, on_conn};

id_type!(
    /// The row id of a job.
    JobId
);

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for its time and a free worker.
    Queued,
    /// Claimed by a node, whose lease keeps it.
    Running,
    /// Finished.
    Done,
    /// Gave up after its last attempt.
    Failed,
}

impl JobState {
    /// Every state.
    pub const ALL: [JobState; 4] = [
        JobState::Queued,
        JobState::Running,
        JobState::Done,
        JobState::Failed,
    ];

    /// The code stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    /// The state of a stored code.
    pub fn parse(code: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|s| s.code() == code)
    }
}

impl TryFrom<String> for JobState {
    type Error = StoreError;
    fn try_from(code: String) -> StoreResult<JobState> {
        JobState::parse(&code).ok_or_else(|| StoreError::Corrupt {
            table: "jobs",
            reason: format!("unknown state {code:?}"),
        })
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct JobRow {
    /// Row id.
    pub id: JobId,
    /// What the job does (the app's job kinds).
    pub kind: String,
    /// Its parameters, JSON.
    pub payload: String,
    /// The schedule slot it runs for, if a schedule enqueued it.
    pub slot: Option<String>,
    /// Where it is.
    #[sqlx(try_from = "String")]
    pub state: JobState,
    /// Attempts started so far.
    pub attempts: i64,
    /// Attempts allowed.
    pub max_attempts: i64,
    /// Not before.
    pub run_after: DateTime<Utc>,
    /// Enqueued.
    pub created_at: DateTime<Utc>,
    /// Who enqueued it: `system`, `schedule:<name>` or a staff member's username.
    pub requested_by: String,
    /// The last attempt's start.
    pub started_at: Option<DateTime<Utc>>,
    /// Finished (done or failed).
    pub finished_at: Option<DateTime<Utc>>,
    /// The node of the last attempt.
    pub node: Option<String>,
    /// Until when the node's claim holds.
    pub lease_until: Option<DateTime<Utc>>,
    /// How far it got (the handler's own JSON), so that a new attempt resumes there.
    pub progress: String,
    /// What it did, in Chinese.
    pub result: String,
    /// Why the last attempt failed, in Chinese.
    pub error: String,
}

const COLUMNS: &str = "id, kind, payload, slot, state, attempts, max_attempts, run_after, created_at, requested_by, started_at, finished_at, node, lease_until, progress, result, error";

/// One attempt at a job.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AttemptRow {
    /// Which attempt (1, 2, …).
    pub attempt: i64,
    /// The node that ran it.
    pub node: String,
    /// Started.
    pub started_at: DateTime<Utc>,
    /// Ended (or found abandoned).
    pub finished_at: Option<DateTime<Utc>>,
    /// `running`, `done`, `failed` (will be retried or gave up) or `lost` (its node stopped
    /// renewing the lease).
    pub outcome: String,
    /// Why it failed or was lost, in Chinese.
    pub error: String,
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    /// Its kind.
    pub kind: &'a str,
    /// Its parameters, JSON.
    pub payload: &'a str,
    /// The schedule slot (one job per kind and slot).
    pub slot: Option<&'a str>,
    /// At most one job of this kind and key queued or running.
    pub dedupe: Option<&'a str>,
    /// Attempts allowed (at least 1).
    pub max_attempts: i64,
    /// Not before.
    pub run_after: DateTime<Utc>,
    /// Who asked.
    pub requested_by: &'a str,
}

/// Enqueues a job, unless one of its slot exists or one with its dedupe key is queued or
/// running. Returns the new job's id, or `None` when it was not needed.
pub async fn enqueue(
    tx: &mut Tx,
    job: &NewJob<'_>,
    now: DateTime<Utc>,
) -> StoreResult<Option<JobId>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_scalar(
            "INSERT INTO jobs (kind, payload, slot, dedupe, state, max_attempts, run_after, created_at, requested_by)
             VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7, $8)
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(job.kind)
        .bind(job.payload)
        .bind(job.slot)
        .bind(job.dedupe)
        .bind(job.max_attempts.max(1))
        .bind(job.run_after)
        .bind(now)
        .bind(job.requested_by)
        .fetch_optional(c)
        .await
    })?)
}

/// The last slot a schedule enqueued.
pub async fn schedule_slot(tx: &mut Tx, name: &str) -> StoreResult<Option<String>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_scalar("SELECT last_slot FROM job_schedules WHERE name = $1")
            .bind(name)
            .fetch_optional(c)
            .await
    })?)
}

/// Moves a schedule from the slot `from` (`None`: the schedule is new) to `to`. Only one of
/// several nodes that read `from` succeeds; the others get `false` and enqueue nothing.
pub async fn advance_schedule(
    tx: &mut Tx,
    name: &str,
    from: Option<&str>,
    to: &str,
) -> StoreResult<bool> {
    let moved = match from {
        None => on_conn!(tx, c => {
            sqlx::query("INSERT INTO job_schedules (name, last_slot) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(name)
                .bind(to)
                .execute(c)
                .await
                .map(|r| r.rows_affected())
        })?,
        Some(from) => on_conn!(tx, c => {
            sqlx::query("UPDATE job_schedules SET last_slot = $1 WHERE name = $2 AND last_slot = $3")
                .bind(to)
                .bind(name)
                .bind(from)
                .execute(c)
                .await
                .map(|r| r.rows_affected())
        })?,
    };
    Ok(moved == 1)
}

/// A job a node has claimed: the row as it is now, and the attempt the node holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The job (state `running`, `attempts` the attempt held).
    pub job: JobRow,
    /// The node of the attempt before, if it was abandoned (its lease ran out).
    pub taken_over_from: Option<String>,
}

/// The next job due: queued and due, or running with its lease run out. On PostgreSQL rows
/// other nodes are claiming are skipped (`FOR UPDATE SKIP LOCKED`).
async fn next_due(tx: &mut Tx, now: DateTime<Utc>) -> StoreResult<Option<JobRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM jobs
         WHERE (state = 'queued' AND run_after <= $1) OR (state = 'running' AND lease_until < $1)
         ORDER BY run_after, id LIMIT 1"
    );
    Ok(match &mut tx.conn {
        Conn::Sqlite(c) => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(now)
                .fetch_optional(&mut **c)
                .await?
        }
        Conn::Postgres(c) => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{sql} FOR UPDATE SKIP LOCKED")))
                .bind(now)
                .fetch_optional(&mut **c)
                .await?
        }
    })
}

/// Closes an abandoned attempt as lost.
async fn close_lost(tx: &mut Tx, job: &JobRow, now: DateTime<Utc>) -> StoreResult<()> {
    let error = format!(
        "节点 {} 未按时续约（进程中断或失联），作业由其他节点接手",
        job.node.as_deref().unwrap_or("?")
    );
    on_conn!(tx, c => {
        sqlx::query("UPDATE job_attempts SET outcome = 'lost', finished_at = $1, error = $2 WHERE job_id = $3 AND attempt = $4 AND outcome = 'running'")
            .bind(now)
            .bind(&error)
            .bind(job.id)
            .bind(job.attempts)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Claims the next due job for `node` until `lease_until`. An abandoned job that has used up
/// its attempts is marked failed instead, and the search goes on.
pub async fn claim(
    tx: &mut Tx,
    node: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> StoreResult<Option<Claimed>> {
    loop {
        let Some(job) = next_due(tx, now).await? else {
            return Ok(None);
        };
        let abandoned = job.state == JobState::Running;
        if abandoned {
            close_lost(tx, &job, now).await?;
        }
        if job.attempts >= job.max_attempts {
            on_conn!(tx, c => {
                sqlx::query("UPDATE jobs SET state = 'failed', finished_at = $1, lease_until = NULL, error = $2 WHERE id = $3")
                    .bind(now)
                    .bind(format!("已尝试 {} 次，最后一次所在节点失联，不再重试", job.attempts))
                    .bind(job.id)
                    .execute(c)
                    .await
                    .map(|r| r.rows_affected())
            })?;
            continue;
        }
        let attempt = job.attempts + 1;
        let row: JobRow = on_conn!(tx, c => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "UPDATE jobs SET state = 'running', attempts = $1, node = $2, lease_until = $3, started_at = $4
                 WHERE id = $5 RETURNING {COLUMNS}"
            )))
            .bind(attempt)
            .bind(node)
            .bind(lease_until)
            .bind(now)
            .bind(job.id)
            .fetch_one(c)
            .await
        })?;
        on_conn!(tx, c => {
            sqlx::query("INSERT INTO job_attempts (job_id, attempt, node, started_at) VALUES ($1, $2, $3, $4)")
                .bind(job.id)
                .bind(attempt)
                .bind(node)
                .bind(now)
                .execute(c)
                .await
                .map(|r| r.rows_affected())
        })?;
        return Ok(Some(Claimed {
            job: row,
            taken_over_from: if abandoned { job.node } else { None },
        }));
    }
}

/// Renews a lease and records progress (when given). `false`: the node no longer holds the
/// job (its lease ran out and another node took it) and must stop.
pub async fn renew(
    tx: &mut Tx,
    id: JobId,
    node: &str,
    attempt: i64,
    lease_until: DateTime<Utc>,
    progress: Option<&str>,
) -> StoreResult<bool> {
    let n = on_conn!(tx, c => {
        sqlx::query(
            "UPDATE jobs SET lease_until = $1, progress = COALESCE($2, progress)
             WHERE id = $3 AND node = $4 AND attempts = $5 AND state = 'running'",
        )
        .bind(lease_until)
        .bind(progress)
        .bind(id)
        .bind(node)
        .bind(attempt)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(n == 1)
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending<'a> {
    /// The job is done; what it did.
    Done(&'a str),
    /// The attempt failed; the job runs again at the given time.
    Retry(&'a str, DateTime<Utc>),
    /// The attempt failed and was the last.
    Failed(&'a str),
}

/// Ends the attempt `attempt` that `node` holds. `false`: it no longer holds it.
pub async fn finish(
    tx: &mut Tx,
    id: JobId,
    node: &str,
    attempt: i64,
    ending: &Ending<'_>,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let (state, result, error, run_after, outcome, finished) = match ending {
        Ending::Done(r) => ("done", *r, "", None, "done", Some(now)),
        Ending::Retry(e, at) => ("queued", "", *e, Some(*at), "failed", None),
        Ending::Failed(e) => ("failed", "", *e, None, "failed", Some(now)),
    };
    let n = on_conn!(tx, c => {
        sqlx::query(
            "UPDATE jobs SET state = $1, result = $2, error = $3, run_after = COALESCE($4, run_after),
                 finished_at = $5, lease_until = NULL
             WHERE id = $6 AND node = $7 AND attempts = $8 AND state = 'running'",
        )
        .bind(state)
        .bind(result)
        .bind(error)
        .bind(run_after)
        .bind(finished)
        .bind(id)
        .bind(node)
        .bind(attempt)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })?;
    if n != 1 {
        return Ok(false);
    }
    on_conn!(tx, c => {
        sqlx::query("UPDATE job_attempts SET outcome = $1, finished_at = $2, error = $3 WHERE job_id = $4 AND attempt = $5")
            .bind(outcome)
            .bind(now)
            .bind(error)
            .bind(id)
            .bind(attempt)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(true)
}

/// Which jobs to list.
#[derive(Debug, Clone, Default)]
pub struct JobFilter<'a> {
    /// Of this kind only.
    pub kind: Option<&'a str>,
    /// In this state only.
    pub state: Option<JobState>,
    /// Older than this id (the next page).
    pub before: Option<JobId>,
    /// At most this many.
    pub limit: i64,
}

/// Jobs, newest first.
pub async fn list(tx: &mut Tx, filter: &JobFilter<'_>) -> StoreResult<Vec<JobRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM jobs
         WHERE ($1 IS NULL OR kind = $1) AND ($2 IS NULL OR state = $2) AND ($3 IS NULL OR id < $3)
         ORDER BY id DESC LIMIT $4"
    );
    let sql = match tx.conn {
        Conn::Sqlite(_) => sql,
        // PostgreSQL must know the parameters' types where they are only compared with NULL.
        Conn::Postgres(_) => sql
            .replace("$1 IS NULL", "$1::TEXT IS NULL")
            .replace("$2 IS NULL", "$2::TEXT IS NULL")
            .replace("$3 IS NULL", "$3::BIGINT IS NULL"),
    };
    Ok(on_conn!(tx, c => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(filter.kind)
            .bind(filter.state.map(JobState::code))
            .bind(filter.before)
            .bind(filter.limit.clamp(1, 500))
            .fetch_all(c)
            .await
    })?)
}

/// One job.
pub async fn get(tx: &mut Tx, id: JobId) -> StoreResult<Option<JobRow>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM jobs WHERE id = $1")))
            .bind(id)
            .fetch_optional(c)
            .await
    })?)
}

/// The attempts at a job, first first.
pub async fn attempts(tx: &mut Tx, id: JobId) -> StoreResult<Vec<AttemptRow>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as(
            "SELECT attempt, node, started_at, finished_at, outcome, error FROM job_attempts
             WHERE job_id = $1 ORDER BY attempt",
        )
        .bind(id)
        .fetch_all(c)
        .await
    })?)
}

/// The queue as a whole, for monitoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueStats {
    /// Jobs queued and due now.
    pub due: i64,
    /// Jobs queued for later.
    pub waiting: i64,
    /// Jobs running.
    pub running: i64,
    /// Jobs that gave up.
    pub failed: i64,
    /// When the oldest due job became due.
    pub oldest_due: Option<DateTime<Utc>>,
}

/// Counts the queue at `now`.
pub async fn stats(tx: &mut Tx, now: DateTime<Utc>) -> StoreResult<QueueStats> {
    let (due, waiting, running, failed): (i64, i64, i64, i64) = on_conn!(tx, c => {
        sqlx::query_as(
            "SELECT
                 COALESCE(SUM(CASE WHEN state = 'queued' AND run_after <= $1 THEN 1 ELSE 0 END), 0),
                 COALESCE(SUM(CASE WHEN state = 'queued' AND run_after > $1 THEN 1 ELSE 0 END), 0),
                 COALESCE(SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 END), 0),
                 COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0)
             FROM jobs WHERE state IN ('queued', 'running', 'failed')",
        )
        .bind(now)
        .fetch_one(c)
        .await
    })?;
    let oldest_due = on_conn!(tx, c => {
        sqlx::query_scalar(
            "SELECT run_after FROM jobs WHERE state = 'queued' AND run_after <= $1 ORDER BY run_after LIMIT 1",
        )
        .bind(now)
        .fetch_optional(c)
        .await
    })?;
    Ok(QueueStats {
        due,
        waiting,
        running,
        failed,
        oldest_due,
    })
}

/// Removes finished jobs (and their attempts) that ended before `before`; returns how many.
pub async fn prune(tx: &mut Tx, before: DateTime<Utc>) -> StoreResult<u64> {
    on_conn!(tx, c => {
        sqlx::query("DELETE FROM job_attempts WHERE job_id IN (SELECT id FROM jobs WHERE state IN ('done', 'failed') AND finished_at < $1)")
            .bind(before)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(on_conn!(tx, c => {
        sqlx::query("DELETE FROM jobs WHERE state IN ('done', 'failed') AND finished_at < $1")
            .bind(before)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?)
}
