//! The background work of `dangan serve` — the daily 巡检 (scrub) that re-verifies every blob
//! and seal and then removes orphan blobs left by a crash, the backups to each target (an
//! incremental set every day and a full one on the configured weekday, retried with
//! back-off), the operation log's anchors, person changes coming into force, and the delivery
//! of corrections to the business system's webhook — configured here and run through the
//! durable job system of `dangan_app::jobs`, so that several nodes on one database run each
//! scheduled slot once between them.

use std::time::Duration;

use chrono::NaiveTime;

use dangan_app::jobs::{JobContext, JobKind, Schedule, When};
use dangan_app::{Actor, App};

pub use dangan_app::jobs::worker::ORPHAN_GRACE;

/// Options of the job system of `serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct JobArgs {
    /// Daily time (Beijing time, `HH:MM`) of the 巡检 that re-verifies every stored scan and
    /// its seal; `off` to disable.
    #[arg(long, env = "DANGAN_SCRUB_AT", default_value = "03:00")]
    pub scrub_at: String,
    /// The 巡检's pace: megabytes of scans verified per second at most (0: no limit), so that
    /// the scrub of a large archive leaves the disk or bucket to ingest.
    #[arg(long, env = "DANGAN_SCRUB_MAX_MB_PER_SECOND", default_value_t = 0.0)]
    pub scrub_max_mb_per_second: f64,
    /// Daily time (Beijing time, `HH:MM`) of the backups to every configured target; `off` to
    /// disable.
    #[arg(long, env = "DANGAN_BACKUP_AT", default_value = "02:00")]
    pub backup_at: String,
    /// The weekday of the full set (`mon` … `sun`); other days are incremental.
    #[arg(long, env = "DANGAN_BACKUP_FULL_DAY", default_value = "sun")]
    pub backup_full_day: String,
    /// This node's name in the job history (unique among the nodes on one database); default
    /// the host name and process id.
    #[arg(long, env = "DANGAN_NODE_NAME")]
    pub node_name: Option<String>,
    /// Background jobs this node runs at once (1–16).
    #[arg(long, env = "DANGAN_JOB_WORKERS", default_value_t = 2)]
    pub job_workers: usize,
    /// Seconds a node's claim on a job holds without renewal (5–3600); a job whose node died
    /// is taken over by another node after this long.
    #[arg(long, env = "DANGAN_JOB_LEASE_SECONDS", default_value_t = 60)]
    pub job_lease_seconds: u64,
    /// Milliseconds between looks for due jobs and schedules (100–60000).
    #[arg(long, env = "DANGAN_JOB_POLL_MS", default_value_t = 2000, hide = true)]
    pub job_poll_ms: u64,
    /// Days finished jobs are kept in the history (1–3650).
    #[arg(long, env = "DANGAN_JOBS_KEEP_DAYS", default_value_t = 30)]
    pub jobs_keep_days: i64,
}

impl JobArgs {
    /// The job system's settings, checked; `targets` are the backup targets and witnesses.
    pub fn context(
        &self,
        anchor_every: Duration,
        targets: Vec<(String, dangan_vault::Target)>,
        keep_fulls: usize,
    ) -> anyhow::Result<JobContext> {
        if !(1..=16).contains(&self.job_workers) {
            anyhow::bail!("--job-workers 应在1至16之间");
        }
        if !(5..=3600).contains(&self.job_lease_seconds) {
            anyhow::bail!("--job-lease-seconds 应在5至3600之间");
        }
        if !(100..=60_000).contains(&self.job_poll_ms) {
            anyhow::bail!("--job-poll-ms 应在100至60000之间");
        }
        if !(1..=3650).contains(&self.jobs_keep_days) {
            anyhow::bail!("--jobs-keep-days 应在1至3650之间");
        }
        if !self.scrub_max_mb_per_second.is_finite() || self.scrub_max_mb_per_second < 0.0 {
            anyhow::bail!("--scrub-max-mb-per-second 应为不小于0的数（0 表示不限速）");
        }
        let mut schedules = vec![
            Schedule::of(JobKind::Anchor, When::Every(anchor_every)),
            Schedule::of(JobKind::PersonChanges, When::Daily(at(0, 5))),
            Schedule::of(JobKind::Prune, When::Daily(at(4, 30))),
            // Each room's daily-check task of the working day, opened before work starts.
            Schedule::of(JobKind::CustodyTasks, When::Daily(at(0, 10))),
        ];
        if let Some(t) = parse_daily(&self.scrub_at)? {
            schedules.push(Schedule::of(JobKind::Scrub, When::Daily(t)));
        }
        if let Some(t) = parse_daily(&self.backup_at)? {
            let day = parse_weekday(&self.backup_full_day)?;
            for (name, _) in &targets {
                schedules.push(Schedule::backup(name, t, day));
            }
        }
        Ok(JobContext {
            node: self.node_name.clone().unwrap_or_else(default_node_name),
            workers: self.job_workers,
            lease: Duration::from_secs(self.job_lease_seconds),
            poll: Duration::from_millis(self.job_poll_ms),
            schedules,
            targets,
            keep_fulls,
            // Whole bytes; a fraction of a byte a second is no pace worth keeping.
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "checked finite and non-negative above"
            )]
            scrub_bytes_per_second: (self.scrub_max_mb_per_second * 1024.0 * 1024.0) as u64,
            keep_finished: chrono::Duration::days(self.jobs_keep_days),
        })
    }
}

fn at(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
}

/// The host name and process id.
fn default_node_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "node".to_owned());
    format!("{host}-{}", std::process::id())
}

/// Removes orphan blobs older than [`ORPHAN_GRACE`]; failures are logged, never fatal.
pub async fn collect_garbage(app: &App) {
    match app.collect_garbage(&Actor::system(), ORPHAN_GRACE).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(removed = n, "orphan blobs removed"),
        Err(e) => tracing::error!(error = %e, "cannot remove orphan blobs"),
    }
}

/// Parses a daily time `HH:MM`; `off` (or `0`) gives `None`.
pub fn parse_daily(s: &str) -> anyhow::Result<Option<NaiveTime>> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("off") || s == "0" {
        return Ok(None);
    }
    NaiveTime::parse_from_str(s, "%H:%M")
        .map(Some)
        .map_err(|_| anyhow::anyhow!("时间应写作 时:分（如 03:00），或 off 表示不运行：{s}"))
}

/// Parses a weekday: `mon` … `sun` (or 周一 … 周日).
pub fn parse_weekday(s: &str) -> anyhow::Result<chrono::Weekday> {
    use chrono::Weekday::*;
    Ok(match s.trim().to_ascii_lowercase().as_str() {
        "mon" | "周一" => Mon,
        "tue" | "周二" => Tue,
        "wed" | "周三" => Wed,
        "thu" | "周四" => Thu,
        "fri" | "周五" => Fri,
        "sat" | "周六" => Sat,
        "sun" | "周日" => Sun,
        _ => anyhow::bail!("星期应为 mon…sun（或 周一…周日）：{s}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_disables_the_scrub_and_a_bad_time_is_refused_in_chinese() {
        assert_eq!(parse_daily("off").unwrap(), None);
        assert!(
            parse_daily("25:00")
                .unwrap_err()
                .to_string()
                .contains("时:分")
        );
        assert!(parse_daily("3点").is_err());
    }

    #[test]
    fn weekdays_are_read_in_english_or_chinese() {
        assert_eq!(parse_weekday("sun").unwrap(), chrono::Weekday::Sun);
        assert_eq!(parse_weekday("周三").unwrap(), chrono::Weekday::Wed);
        assert!(
            parse_weekday("funday")
                .unwrap_err()
                .to_string()
                .contains("星期")
        );
    }
}
