//! 后台作业 — the work no request waits for, through one durable job system (issue 17): the
//! daily 巡检 (scrub), the backups, the operation log's anchors, person changes coming into
//! force, the delivery of corrections to the business system, and the pruning of old job
//! records. Every later background task (OCR, reports) is one more [`JobKind`].
//!
//! - **Jobs are rows** (`dangan_store::jobs`): queued, claimed by a worker of any `serve` node
//!   under a lease the worker renews, retried with back-off, kept with every attempt.
//! - **Schedules** ([`schedule`]) enqueue exactly one job per slot across all nodes: a node
//!   enqueues a slot only by moving the schedule's row on from the slot it read.
//! - **Workers** ([`worker`]) run on every node; a node that dies stops renewing its lease and
//!   another node takes the job over as a new attempt, resuming where its progress says.

use chrono::{DateTime, Utc};
use serde::Serialize;

use dangan_store::jobs::{self, JobFilter, JobRow, NewJob};
pub use dangan_store::jobs::{JobId, JobState, QueueStats};

use crate::administration::roles::{Actor, UseCase};
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult, local_time};

pub mod schedule;
mod scrub;
pub mod worker;

pub use schedule::{Schedule, When};
pub use worker::{JobContext, start};

/// The keys of jobs' parameters (`payload`) and progress, with the Chinese label staff see: a
/// backup's target and whether it is full, a scrub's run and how far it got.
pub const FIELD_LABELS: [(&str, &str); 6] = [
    ("target", "备份目标"),
    ("full", "完整备份"),
    ("run", "巡检批次"),
    ("after", "已核验至文件编号"),
    ("done", "已核验文件数"),
    ("failed", "未通过核验的文件"),
];

/// The Chinese label of a parameter or progress key; `None` for a key this version does not
/// know (shown under a neutral label).
pub fn field_label(key: &str) -> Option<&'static str> {
    FIELD_LABELS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, label)| *label)
}

/// What a job does. The code is stored; the label is what staff see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// 巡检 — re-verify every blob and seal, then remove orphan blobs.
    Scrub,
    /// 备份 — write a backup set to one target (payload: `target`, `full`).
    Backup,
    /// 日志锚定 — sign the operation log's head and send it to the witnesses.
    Anchor,
    /// 人员变更生效 — apply person changes whose effective date has come.
    PersonChanges,
    /// 更正回传 — deliver due corrections to the business system's webhook.
    Outbox,
    /// 清理作业记录 — remove finished job records past their keeping time.
    Prune,
    /// 库房日常检查任务 — open each room's daily-check task of the working day (and of the
    /// working days missed since, [`crate::custody::checks::CATCH_UP_DAYS`] at most).
    CustodyTasks,
}

impl JobKind {
    /// Every kind.
    pub const ALL: [JobKind; 7] = [
        JobKind::Scrub,
        JobKind::Backup,
        JobKind::Anchor,
        JobKind::PersonChanges,
        JobKind::Outbox,
        JobKind::Prune,
        JobKind::CustodyTasks,
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            JobKind::Scrub => "scrub",
            JobKind::Backup => "backup",
            JobKind::Anchor => "log.anchor",
            JobKind::PersonChanges => "person_changes.apply",
            JobKind::Outbox => "outbox.deliver",
            JobKind::Prune => "jobs.prune",
            JobKind::CustodyTasks => "custody.tasks",
        }
    }

    /// The Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            JobKind::Scrub => "巡检（校验全部电子文件）",
            JobKind::Backup => "备份",
            JobKind::Anchor => "操作日志锚定",
            JobKind::PersonChanges => "人员变更生效",
            JobKind::Outbox => "更正回传",
            JobKind::Prune => "清理作业记录",
            JobKind::CustodyTasks => "库房日常检查任务",
        }
    }

    /// The kind of a stored code.
    pub fn parse(code: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// Attempts allowed before the job gives up.
    pub fn max_attempts(self) -> i64 {
        match self {
            JobKind::Backup => 4,
            JobKind::Scrub | JobKind::Anchor | JobKind::PersonChanges | JobKind::CustodyTasks => 3,
            JobKind::Outbox | JobKind::Prune => 1,
        }
    }

    /// How long to wait after failed attempt `n` (1, 2, …) before the next: backups wait 5, 15
    /// and 45 minutes (a target that is down often comes back); the others 1 minute, then 5.
    pub fn back_off(self, n: i64) -> chrono::Duration {
        match self {
            JobKind::Backup => {
                chrono::Duration::minutes(5 * 3_i64.pow(u32::try_from(n - 1).unwrap_or(0).min(4)))
            }
            _ if n <= 1 => chrono::Duration::minutes(1),
            _ => chrono::Duration::minutes(5),
        }
    }
}

/// Label of a stored state.
pub fn state_label(state: JobState) -> &'static str {
    match state {
        JobState::Queued => "排队中",
        JobState::Running => "运行中",
        JobState::Done => "已完成",
        JobState::Failed => "失败",
    }
}

/// A job as staff and the API see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobView {
    /// Its id.
    pub id: JobId,
    /// Its kind's code.
    pub kind: String,
    /// Its kind in Chinese.
    pub kind_label: String,
    /// Its parameters (JSON text).
    pub payload: String,
    /// The schedule slot it runs for (Beijing time), if a schedule enqueued it.
    pub slot: Option<String>,
    /// Its state's code.
    pub state: JobState,
    /// Its state in Chinese.
    pub state_label: String,
    /// Attempts started / allowed.
    pub attempts: i64,
    /// Attempts allowed.
    pub max_attempts: i64,
    /// Not before (Beijing time).
    pub run_after: String,
    /// Enqueued (Beijing time).
    pub created_at: String,
    /// Who enqueued it.
    pub requested_by: String,
    /// The last attempt's start (Beijing time).
    pub started_at: Option<String>,
    /// Finished (Beijing time).
    pub finished_at: Option<String>,
    /// The node of the last attempt.
    pub node: Option<String>,
    /// How far it got.
    pub progress: String,
    /// What it did.
    pub result: String,
    /// Why the last attempt failed.
    pub error: String,
    /// Every attempt, when one job is asked for.
    pub history: Vec<AttemptView>,
}

/// One attempt at a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttemptView {
    /// Which attempt.
    pub attempt: i64,
    /// The node that ran it.
    pub node: String,
    /// Started (Beijing time).
    pub started_at: String,
    /// Ended (Beijing time).
    pub finished_at: Option<String>,
    /// `running`, `done`, `failed` or `lost`.
    pub outcome: String,
    /// The outcome in Chinese.
    pub outcome_label: String,
    /// Why it failed or was lost.
    pub error: String,
}

fn outcome_label(code: &str) -> &'static str {
    match code {
        "running" => "运行中",
        "done" => "完成",
        "failed" => "失败",
        "lost" => "节点失联，已由其他节点接手",
        _ => "未知",
    }
}

impl JobView {
    fn of(row: JobRow) -> JobView {
        let label = JobKind::parse(&row.kind).map_or("未知作业", JobKind::label);
        JobView {
            id: row.id,
            kind_label: label.to_owned(),
            kind: row.kind,
            payload: row.payload,
            slot: row.slot,
            state: row.state,
            state_label: state_label(row.state).to_owned(),
            attempts: row.attempts,
            max_attempts: row.max_attempts,
            run_after: local_time(row.run_after),
            created_at: local_time(row.created_at),
            requested_by: row.requested_by,
            started_at: row.started_at.map(local_time),
            finished_at: row.finished_at.map(local_time),
            node: row.node,
            progress: row.progress,
            result: row.result,
            error: row.error,
            history: Vec::new(),
        }
    }
}

/// Which jobs to list, as asked.
#[derive(Debug, Clone, Default)]
pub struct JobQuery {
    /// Of this kind (code).
    pub kind: Option<String>,
    /// In this state (code).
    pub state: Option<String>,
    /// Older than this id.
    pub before: Option<i64>,
    /// At most this many (1–200; default 50).
    pub limit: Option<u32>,
}

fn bad(code: &'static str, field: &'static str, message: String) -> AppError {
    AppError::invalid_with(code, Some(field), message)
}

impl App {
    /// The job list, newest first (administrators and auditors).
    pub async fn jobs(&self, actor: &Actor, q: &JobQuery) -> AppResult<Vec<JobView>> {
        self.authorize(actor, UseCase::ReadJobs).await?;
        if let Some(k) = q.kind.as_deref().filter(|k| JobKind::parse(k).is_none()) {
            return Err(bad(
                "job_kind_unknown",
                "kind",
                format!("没有这种作业：{k}"),
            ));
        }
        let state = match q.state.as_deref() {
            None => None,
            Some(s) => Some(JobState::parse(s).ok_or_else(|| {
                bad(
                    "job_state_unknown",
                    "state",
                    format!("作业状态应为 queued、running、done 或 failed：{s}"),
                )
            })?),
        };
        let filter = JobFilter {
            kind: q.kind.as_deref(),
            state,
            before: q.before.map(JobId),
            limit: i64::from(q.limit.unwrap_or(50).clamp(1, 200)),
        };
        let mut tx = self.store.begin().await?;
        let rows = jobs::list(&mut tx, &filter).await?;
        tx.rollback().await?;
        Ok(rows.into_iter().map(JobView::of).collect())
    }

    /// One job with every attempt.
    pub async fn job(&self, actor: &Actor, id: JobId) -> AppResult<JobView> {
        self.authorize(actor, UseCase::ReadJobs).await?;
        let mut tx = self.store.begin().await?;
        let row = jobs::get(&mut tx, id)
            .await?
            .ok_or_else(|| AppError::not_found("job_not_found", "未找到该作业"))?;
        let attempts = jobs::attempts(&mut tx, id).await?;
        tx.rollback().await?;
        let mut view = JobView::of(row);
        view.history = attempts
            .into_iter()
            .map(|a| AttemptView {
                attempt: a.attempt,
                node: a.node,
                started_at: local_time(a.started_at),
                finished_at: a.finished_at.map(local_time),
                outcome_label: outcome_label(&a.outcome).to_owned(),
                outcome: a.outcome,
                error: a.error,
            })
            .collect();
        Ok(view)
    }

    /// The queue's counts (for `/metrics` and the administrator's page).
    pub async fn job_stats(&self) -> AppResult<QueueStats> {
        let mut tx = self.store.begin().await?;
        let stats = jobs::stats(&mut tx, Utc::now()).await?;
        tx.rollback().await?;
        Ok(stats)
    }

    /// 立即运行 — an administrator runs a job now: a scrub, an anchor, person changes or the
    /// pruning (backups run from `dangan backup` or their schedule, which know the targets).
    /// Refused while one of that kind is queued or running.
    pub async fn run_job_now(&self, actor: &Actor, kind: &str) -> AppResult<JobId> {
        self.authorize(actor, UseCase::RunJobs).await?;
        let kind = JobKind::parse(kind)
            .filter(|k| !matches!(k, JobKind::Backup | JobKind::Outbox))
            .ok_or_else(|| {
                bad(
                    "job_kind_not_runnable",
                    "kind",
                    format!(
                        "可立即运行的作业为 scrub、log.anchor、person_changes.apply、jobs.prune、custody.tasks：{kind}"
                    ),
                )
            })?;
        let mut tx = self.store.begin_write().await?;
        let id = enqueue(&mut tx, kind, "{}", None, &actor.username, Utc::now()).await?;
        let Some(id) = id else {
            tx.rollback().await?;
            return Err(AppError::Conflict {
                code: "job_already_queued",
                field: Some("kind".to_owned()),
                message: format!("{}已在排队或运行中", kind.label()),
            });
        };
        self.log_in(
            &mut tx,
            actor,
            &Op::new("job.run", "job", id).detail(kind.code()),
            Outcome::Ok,
        )
        .await?;
        tx.commit().await?;
        self.job_wake().notify_waiters();
        Ok(id)
    }
}

/// The dedupe key of a job: one of a kind at a time, one backup per target at a time.
fn dedupe_key(kind: JobKind, payload: &str) -> String {
    match kind {
        JobKind::Backup => {
            let target = serde_json::from_str::<serde_json::Value>(payload)
                .ok()
                .and_then(|v| v["target"].as_str().map(str::to_owned))
                .unwrap_or_default();
            format!("backup:{target}")
        }
        _ => kind.code().to_owned(),
    }
}

/// Enqueues a job of `kind` (unless one of its slot exists, or one like it is queued or
/// running) in the caller's transaction.
pub(crate) async fn enqueue(
    tx: &mut dangan_store::Tx,
    kind: JobKind,
    payload: &str,
    slot: Option<&str>,
    requested_by: &str,
    now: DateTime<Utc>,
) -> AppResult<Option<JobId>> {
    let dedupe = dedupe_key(kind, payload);
    Ok(jobs::enqueue(
        tx,
        &NewJob {
            kind: kind.code(),
            payload,
            slot,
            dedupe: Some(&dedupe),
            max_attempts: kind.max_attempts(),
            run_after: now,
            requested_by,
        },
        now,
    )
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_kind_has_one_code_and_one_chinese_label() {
        for k in JobKind::ALL {
            assert_eq!(JobKind::parse(k.code()), Some(k));
            assert!(
                k.label()
                    .chars()
                    .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
            );
        }
        assert_eq!(JobKind::parse("sleep"), None);
    }

    #[test]
    fn a_failed_backup_waits_five_then_fifteen_then_forty_five_minutes() {
        let waits: Vec<i64> = (1..=3)
            .map(|n| JobKind::Backup.back_off(n).num_minutes())
            .collect();
        assert_eq!(waits, [5, 15, 45]);
        assert_eq!(JobKind::Scrub.back_off(1).num_minutes(), 1);
        assert_eq!(JobKind::Scrub.back_off(2).num_minutes(), 5);
    }

    #[test]
    fn backups_of_two_targets_may_queue_side_by_side_but_not_two_of_one_target() {
        let a = dedupe_key(JobKind::Backup, r#"{"target":"local","full":false}"#);
        let b = dedupe_key(JobKind::Backup, r#"{"target":"cloud","full":true}"#);
        let a2 = dedupe_key(JobKind::Backup, r#"{"target":"local","full":true}"#);
        assert_ne!(a, b);
        assert_eq!(a, a2);
        assert_eq!(dedupe_key(JobKind::Scrub, "{}"), "scrub");
    }
}
