//! Work `dangan serve` does on its own: the daily 巡检 (scrub) that re-verifies every blob and
//! seal, the removal of orphan blobs left by a crash, and the backups — each target on its own,
//! an incremental set every day and a full one on the configured weekday, retried with back-off;
//! and the delivery of corrections to the business system's webhook.

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDateTime, NaiveTime};

use dangan_app::{Actor, App};

/// Orphans younger than this are kept: they may belong to an ingest still running in another
/// process (`dangan ingest` on the same data directory).
pub const ORPHAN_GRACE: Duration = Duration::from_secs(3600);

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

/// How long from `now` until the next `at` (today if still ahead, otherwise tomorrow).
pub fn until_next(now: NaiveDateTime, at: NaiveTime) -> Duration {
    let today = now.date().and_time(at);
    let next = if today > now {
        today
    } else {
        today + chrono::Duration::days(1)
    };
    (next - now).to_std().unwrap_or(Duration::ZERO)
}

/// Removes orphan blobs older than [`ORPHAN_GRACE`]; failures are logged, never fatal.
pub async fn collect_garbage(app: &App) {
    match app.collect_garbage(&Actor::system(), ORPHAN_GRACE).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(removed = n, "orphan blobs removed"),
        Err(e) => tracing::error!(error = %e, "cannot remove orphan blobs"),
    }
}

/// Runs the scrub every day at `at` (server local time), then collects garbage.
pub fn spawn_scrub(app: Arc<App>, at: Option<NaiveTime>) {
    let Some(at) = at else { return };
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(until_next(chrono::Local::now().naive_local(), at)).await;
            match app.scrub(&Actor::system()).await {
                Ok((n, failures)) if failures.is_empty() => {
                    tracing::info!(files = n, "scrub: every file verifies");
                }
                Ok((n, failures)) => {
                    let ids: Vec<String> = failures.iter().map(|f| f.file_id.to_string()).collect();
                    tracing::error!(
                        files = n,
                        failed = failures.len(),
                        ids = %ids.join(" "),
                        "scrub: files failed verification"
                    );
                }
                Err(e) => tracing::error!(error = %e, "scrub could not run"),
            }
            collect_garbage(&app).await;
        }
    });
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

/// Waits after a failed backup before trying again: 5, 15 and 45 minutes, then until the next
/// scheduled run.
pub const BACKUP_RETRIES: [Duration; 3] = [
    Duration::from_secs(5 * 60),
    Duration::from_secs(15 * 60),
    Duration::from_secs(45 * 60),
];

/// Backs up to each target daily at `at` (server local time): a full set on `full_day`, an
/// incremental one otherwise. Targets run independently: one that is down, full or slow never
/// holds up the other, nor ingest.
pub fn spawn_backups(
    app: Arc<App>,
    targets: Vec<(String, dangan_vault::Target)>,
    at: Option<NaiveTime>,
    full_day: chrono::Weekday,
    keep_fulls: usize,
) {
    let Some(at) = at else { return };
    for (name, target) in targets {
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(until_next(chrono::Local::now().naive_local(), at)).await;
                use chrono::Datelike;
                let full = chrono::Local::now().weekday() == full_day;
                for (attempt, wait) in std::iter::once(Duration::ZERO)
                    .chain(BACKUP_RETRIES)
                    .enumerate()
                {
                    tokio::time::sleep(wait).await;
                    match app
                        .backup(
                            &Actor::system(),
                            &name,
                            &target,
                            full,
                            keep_fulls,
                            |_, _| {},
                        )
                        .await
                    {
                        Ok(r) => {
                            tracing::info!(target = %name, set = %r.set, kind = %r.kind, "backup done");
                            break;
                        }
                        Err(e) => tracing::error!(
                            target = %name,
                            attempt = attempt + 1,
                            error = %e,
                            "backup failed"
                        ),
                    }
                }
            }
        });
    }
}

/// How often `serve` looks for corrections due for delivery when the last round had nothing to
/// deliver.
pub const OUTBOX_POLL: Duration = Duration::from_secs(5);

/// Delivers the outbox to the business system's webhook (S9.2) while serving: a round every
/// [`OUTBOX_POLL`], and the next round at once after one that delivered something (a person's
/// next correction becomes due only when the previous one is acknowledged). Does nothing
/// without a configured webhook. Failures are recorded per item by the round itself; a round
/// that cannot run is logged and tried again at the next tick.
pub fn spawn_outbox_delivery(app: Arc<App>) {
    if app.settings().webhook.is_none() {
        return;
    }
    tokio::spawn(async move {
        loop {
            match app.deliver_outbox_once().await {
                Ok(round) if round.delivered > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "outbox delivery round could not run"),
            }
            tokio::time::sleep(OUTBOX_POLL).await;
        }
    });
}

/// Brings persons up to date with the changes from the business system whose effective date
/// has come (人员变更): once at start-up, then every day at 00:05 (server local time).
pub fn spawn_person_changes(app: Arc<App>) {
    let at = NaiveTime::from_hms_opt(0, 5, 0).unwrap_or(NaiveTime::MIN);
    tokio::spawn(async move {
        loop {
            match app.apply_due_person_changes(&Actor::system()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(fields = n, "person changes that came into force applied"),
                Err(e) => tracing::error!(error = %e, "cannot apply person changes"),
            }
            tokio::time::sleep(until_next(chrono::Local::now().naive_local(), at)).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn the_scrub_runs_later_today_or_else_tomorrow_at_the_set_time() {
        let three = parse_daily("03:00").unwrap().unwrap();
        assert_eq!(
            until_next(at("2026-11-26 01:30:00"), three),
            Duration::from_secs(90 * 60)
        );
        assert_eq!(
            until_next(at("2026-11-26 03:00:00"), three),
            Duration::from_secs(24 * 3600)
        );
        assert_eq!(
            until_next(at("2026-12-31 23:00:00"), three),
            Duration::from_secs(4 * 3600)
        );
    }

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
