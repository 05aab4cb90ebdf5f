//! The workers and the scheduler loop of one `serve` node.
//!
//! Each worker claims one due job at a time under a lease ([`JobContext::lease`]) that a
//! heartbeat renews every third of it. A worker that can no longer renew (another node took
//! the job over after the lease ran out, say after a long pause of this process) stops the
//! job's work at once and records nothing more of it. A failed attempt is retried after the
//! kind's back-off until its attempts are used up; then the job stays `failed`, visible to the
//! administrator.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde::Serialize;
use tokio::sync::Notify;

use dangan_store::jobs::{self, Claimed, Ending, JobId, JobRow};

use super::JobKind;
use super::schedule::{Schedule, Tick};
use crate::administration::roles::Actor;
use crate::{App, AppError, AppResult};

/// Orphan blobs younger than this are kept after a scrub: they may belong to an ingest still
/// running in another process (`dangan ingest` on the same data directory).
pub const ORPHAN_GRACE: Duration = Duration::from_secs(3600);

/// What one node's job system needs to know.
#[derive(Debug, Clone)]
pub struct JobContext {
    /// This node's name, as the job history shows it (unique among the nodes).
    pub node: String,
    /// Workers on this node (jobs it runs at once).
    pub workers: usize,
    /// How long a claim holds without renewal.
    pub lease: Duration,
    /// How often an idle worker looks for due jobs, and the scheduler at its schedules.
    pub poll: Duration,
    /// The schedules (every node should have the same).
    pub schedules: Vec<Schedule>,
    /// Backup targets and log witnesses, by name (every node should have the same).
    pub targets: Vec<(String, dangan_vault::Target)>,
    /// Full backup sets kept per target.
    pub keep_fulls: usize,
    /// The scrub's pace in bytes per second (0: unpaced).
    pub scrub_bytes_per_second: u64,
    /// Finished jobs are kept this long, then pruned.
    pub keep_finished: chrono::Duration,
}

/// The claim a worker holds on a job: renews it and saves the job's progress.
#[derive(Debug)]
pub struct Lease {
    app: Arc<App>,
    id: JobId,
    node: String,
    attempt: i64,
    length: Duration,
    progress: String,
    lost: Arc<Notify>,
}

impl Lease {
    /// How long the claim holds without renewal.
    pub fn length(&self) -> Duration {
        self.length
    }

    /// The progress the job had when this attempt began (empty for a first attempt).
    pub fn progress(&self) -> &str {
        &self.progress
    }

    /// Renews the lease and records `progress` with the job at once. Fails when this node no
    /// longer holds the job.
    pub async fn save(&self, progress: &impl Serialize) -> AppResult<()> {
        let text = serde_json::to_string(progress)
            .map_err(|e| AppError::Internal(format!("job progress: {e}")))?;
        if self.renew(Some(&text)).await? {
            Ok(())
        } else {
            self.lost.notify_one();
            Err(AppError::Internal("作业已由其他节点接手".to_owned()))
        }
    }

    async fn renew(&self, progress: Option<&str>) -> AppResult<bool> {
        let until = Utc::now() + chrono::Duration::from_std(self.length).unwrap_or_default();
        let mut tx = self.app.store().begin_write().await?;
        let held = jobs::renew(&mut tx, self.id, &self.node, self.attempt, until, progress).await?;
        tx.commit().await?;
        Ok(held)
    }
}

/// Starts this node's job system on the current runtime: the start-up jobs (an anchor of what
/// a stopped process left unanchored, person changes that came into force), the scheduler loop
/// and the workers. They run as long as the runtime.
pub fn start(app: Arc<App>, ctx: JobContext) {
    let ctx = Arc::new(ctx);
    let a = Arc::clone(&app);
    let c = Arc::clone(&ctx);
    tokio::spawn(async move {
        for kind in [
            JobKind::Anchor,
            JobKind::PersonChanges,
            JobKind::CustodyTasks,
        ] {
            if let Err(e) = a.enqueue_job(kind, "system").await {
                tracing::error!(job = kind.code(), error = %e, "cannot enqueue a start-up job");
            }
        }
        a.job_wake().notify_waiters();
        scheduler(a, c).await;
    });
    for _ in 0..ctx.workers.max(1) {
        tokio::spawn(work(Arc::clone(&app), Arc::clone(&ctx)));
    }
}

/// Looks at every schedule each poll, and enqueues outbox delivery when something is due.
async fn scheduler(app: Arc<App>, ctx: Arc<JobContext>) {
    loop {
        let mut added = false;
        for s in &ctx.schedules {
            match app.tick_schedule(s, Utc::now()).await {
                Ok(Tick::Enqueued(true)) => {
                    tracing::info!(schedule = %s.name, "scheduled job enqueued");
                    added = true;
                }
                Ok(Tick::Enqueued(false)) => {
                    tracing::warn!(schedule = %s.name, "slot skipped: the previous run is still queued or running");
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(schedule = %s.name, error = %e, "cannot look at a schedule")
                }
            }
        }
        match app.outbox_due().await {
            Ok(true) => match app.enqueue_job(JobKind::Outbox, "system").await {
                Ok(a) => added |= a,
                Err(e) => tracing::error!(error = %e, "cannot enqueue outbox delivery"),
            },
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "cannot look at the outbox"),
        }
        if added {
            app.job_wake().notify_waiters();
        }
        tokio::time::sleep(ctx.poll).await;
    }
}

/// One worker: claims and runs due jobs until the runtime stops.
async fn work(app: Arc<App>, ctx: Arc<JobContext>) {
    loop {
        match claim(&app, &ctx).await {
            Ok(Some(claimed)) => run(&app, &ctx, claimed).await,
            Ok(None) => {
                tokio::select! {
                    () = app.job_wake().notified() => {}
                    () = tokio::time::sleep(ctx.poll) => {}
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot claim a job");
                tokio::time::sleep(ctx.poll).await;
            }
        }
    }
}

async fn claim(app: &App, ctx: &JobContext) -> AppResult<Option<Claimed>> {
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(ctx.lease).unwrap_or_default();
    let mut tx = app.store().begin_write().await?;
    let claimed = jobs::claim(&mut tx, &ctx.node, now, until).await?;
    tx.commit().await?;
    Ok(claimed)
}

/// Runs one claimed attempt to its end, renewing the lease meanwhile.
async fn run(app: &Arc<App>, ctx: &JobContext, claimed: Claimed) {
    let job = claimed.job;
    if let Some(from) = &claimed.taken_over_from {
        tracing::warn!(job = job.id.0, kind = %job.kind, from = %from, attempt = job.attempts, "job taken over from a node that stopped renewing its lease");
    }
    let lease = Arc::new(Lease {
        app: Arc::clone(app),
        id: job.id,
        node: ctx.node.clone(),
        attempt: job.attempts,
        length: ctx.lease,
        progress: job.progress.clone(),
        lost: Arc::new(Notify::new()),
    });
    let heartbeat = tokio::spawn(heartbeat(Arc::clone(&lease)));
    let outcome = tokio::select! {
        r = handle(app, ctx, &job, &lease) => Some(r),
        () = lease.lost.notified() => None,
    };
    heartbeat.abort();
    let Some(outcome) = outcome else {
        tracing::warn!(job = job.id.0, kind = %job.kind, "lease lost: another node has the job now");
        return;
    };
    let kind = JobKind::parse(&job.kind);
    let now = Utc::now();
    let error_text;
    let ending = match &outcome {
        Ok(result) => Ending::Done(result),
        Err(e) => {
            error_text = e.to_string();
            tracing::error!(job = job.id.0, kind = %job.kind, attempt = job.attempts, error = %e, "job attempt failed");
            match kind {
                Some(k) if job.attempts < job.max_attempts => {
                    Ending::Retry(&error_text, now + k.back_off(job.attempts))
                }
                _ => Ending::Failed(&error_text),
            }
        }
    };
    let finished = async {
        let mut tx = app.store().begin_write().await?;
        let held = jobs::finish(&mut tx, job.id, &ctx.node, job.attempts, &ending, now).await?;
        tx.commit().await?;
        AppResult::Ok(held)
    };
    match finished.await {
        Ok(true) => {
            if let Ending::Done(r) = ending {
                tracing::info!(job = job.id.0, kind = %job.kind, result = %r, "job done");
            }
        }
        Ok(false) => tracing::warn!(
            job = job.id.0,
            "job finished after its lease was lost; its end is not recorded"
        ),
        Err(e) => tracing::error!(job = job.id.0, error = %e, "cannot record the end of a job"),
    }
}

/// Renews the lease every third of its length.
async fn heartbeat(lease: Arc<Lease>) {
    loop {
        tokio::time::sleep(lease.length / 3).await;
        match lease.renew(None).await {
            Ok(true) => {}
            Ok(false) => {
                lease.lost.notify_one();
                return;
            }
            Err(e) => {
                tracing::warn!(job = lease.id.0, error = %e, "cannot renew a job's lease; trying again")
            }
        }
    }
}

/// Runs the work of one job. Returns what it did, in Chinese.
async fn handle(
    app: &Arc<App>,
    ctx: &JobContext,
    job: &JobRow,
    lease: &Lease,
) -> AppResult<String> {
    let system = Actor::system();
    let Some(kind) = JobKind::parse(&job.kind) else {
        return Err(AppError::Internal(format!(
            "本版本不认识的作业类型：{}",
            job.kind
        )));
    };
    match kind {
        JobKind::Scrub => {
            let result = app.scrub_job(lease, ctx.scrub_bytes_per_second).await?;
            match app.collect_garbage(&system, ORPHAN_GRACE).await {
                Ok(0) => Ok(result),
                Ok(n) => Ok(format!("{result}；清除孤立数据块 {n} 个")),
                Err(e) => Ok(format!("{result}；清除孤立数据块失败：{e}")),
            }
        }
        JobKind::Backup => backup(app, ctx, job).await,
        JobKind::Anchor => Ok(match app.anchor_and_witness(&system, &ctx.targets).await? {
            Some(a) => format!("已锚定至第 {} 条日志（锚点 {}）", a.seq, a.n),
            None => "没有新的日志条目需要锚定".to_owned(),
        }),
        JobKind::PersonChanges => {
            let n = app.apply_due_person_changes(&system).await?;
            Ok(format!("生效的人员变更：{n} 项"))
        }
        JobKind::Outbox => {
            let (mut delivered, mut failed) = (0, 0);
            for _ in 0..1000 {
                let round = app.deliver_outbox_once().await?;
                delivered += round.delivered;
                failed += round.failed;
                if round.delivered == 0 {
                    break;
                }
            }
            Ok(format!("送达 {delivered} 项，失败待重试 {failed} 项"))
        }
        JobKind::CustodyTasks => {
            let n = app.open_custody_tasks(&system, crate::today()).await?;
            Ok(format!("开启库房日常检查任务 {n} 项"))
        }
        JobKind::Prune => {
            let before = Utc::now() - ctx.keep_finished;
            let mut tx = app.store().begin_write().await?;
            let n = jobs::prune(&mut tx, before).await?;
            tx.commit().await?;
            Ok(format!("清理已结束的作业记录 {n} 条"))
        }
    }
}

async fn backup(app: &App, ctx: &JobContext, job: &JobRow) -> AppResult<String> {
    let payload: serde_json::Value = serde_json::from_str(&job.payload).unwrap_or_default();
    let name = payload["target"].as_str().unwrap_or_default();
    let full = payload["full"].as_bool().unwrap_or(false);
    let Some((_, target)) = ctx.targets.iter().find(|(n, _)| n == name) else {
        return Err(AppError::Internal(format!(
            "本节点（{}）未配置备份目标 {name}：各节点的备份目标应相同",
            ctx.node
        )));
    };
    let r = app
        .backup(
            &Actor::system(),
            name,
            target,
            full,
            ctx.keep_fulls,
            |_, _| {},
        )
        .await?;
    Ok(format!(
        "备份目标 {}：备份集 {}（{}），{} 个对象，{} 字节",
        r.target, r.set, r.kind, r.objects, r.bytes
    ))
}
