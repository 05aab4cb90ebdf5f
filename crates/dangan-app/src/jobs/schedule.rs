//! 定时作业 — schedules that enqueue exactly one job per slot across every `serve` node.
//!
//! A slot is the start of a schedule's period in Beijing time (`2026-12-06T03:00`), the same
//! string on every node whatever its time zone. Each node looks at the schedules every few
//! seconds; a node that sees a slot later than the schedule's recorded one moves the record on
//! from the slot it read and, only if that move succeeded, enqueues the job — so of several
//! nodes exactly one enqueues each slot. A slot missed while every node was down is run once
//! when a node comes back (the latest one only); a schedule seen for the first time starts
//! with the next slot, so a new installation does not run last night's work at once. A node
//! whose clock is behind sees an earlier slot than the record and leaves it alone.

use std::time::Duration;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDateTime, NaiveTime, Utc, Weekday};

use dangan_store::jobs;

use super::{JobKind, enqueue};
use crate::{App, AppResult};

/// When a schedule's slots start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Every day at this Beijing time.
    Daily(NaiveTime),
    /// Every period, counted from the Unix epoch (whole minutes at least).
    Every(Duration),
}

/// A schedule: which job, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Its name, unique: `scrub`, `backup:local`, `log.anchor`, ….
    pub name: String,
    /// The job it enqueues.
    pub kind: JobKind,
    /// When.
    pub when: When,
    /// For a backup: the target's name.
    pub target: Option<String>,
    /// For a backup: the weekday of the full set (other days write an incremental one).
    pub full_day: Option<Weekday>,
}

impl Schedule {
    /// A schedule of a job without parameters.
    pub fn of(kind: JobKind, when: When) -> Schedule {
        Schedule {
            name: kind.code().to_owned(),
            kind,
            when,
            target: None,
            full_day: None,
        }
    }

    /// The daily backup of one target, full on `full_day`.
    pub fn backup(target: &str, at: NaiveTime, full_day: Weekday) -> Schedule {
        Schedule {
            name: format!("backup:{target}"),
            kind: JobKind::Backup,
            when: When::Daily(at),
            target: Some(target.to_owned()),
            full_day: Some(full_day),
        }
    }

    /// The start of the slot `now` falls in, in Beijing time.
    pub fn slot_start(&self, now: DateTime<Utc>) -> NaiveDateTime {
        let local = now.with_timezone(&beijing()).naive_local();
        match self.when {
            When::Daily(at) => {
                let today = local.date().and_time(at);
                if local >= today {
                    today
                } else {
                    today - chrono::Duration::days(1)
                }
            }
            When::Every(period) => {
                let period = i64::try_from(period.as_secs()).unwrap_or(i64::MAX).max(60);
                let start = now.timestamp().div_euclid(period) * period;
                DateTime::from_timestamp(start, 0)
                    .unwrap_or(now)
                    .with_timezone(&beijing())
                    .naive_local()
            }
        }
    }

    /// The slot `now` falls in, as recorded (`2026-12-06T03:00`).
    pub fn slot(&self, now: DateTime<Utc>) -> String {
        self.slot_start(now).format("%Y-%m-%dT%H:%M").to_string()
    }

    /// The job's parameters for the slot starting at `start`.
    pub fn payload(&self, start: NaiveDateTime) -> String {
        match (&self.target, self.full_day) {
            (Some(target), Some(day)) => serde_json::json!({
                "target": target,
                "full": start.weekday() == day,
            })
            .to_string(),
            _ => "{}".to_owned(),
        }
    }

    /// The key of a job of this schedule in the jobs table (unique per kind): the slot, with
    /// the target for backups.
    fn job_slot(&self, slot: &str) -> String {
        match &self.target {
            Some(t) => format!("{t}@{slot}"),
            None => slot.to_owned(),
        }
    }
}

fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!())
}

/// What a look at one schedule did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    /// The slot was already recorded (by this node or another).
    Current,
    /// The schedule was new: its current slot is recorded, nothing enqueued.
    Started,
    /// This node moved the schedule on and enqueued the slot's job (`false`: one like it was
    /// still queued or running, so none was added).
    Enqueued(bool),
    /// Another node moved it on first, or this node's clock is behind the record.
    Skipped,
}

impl App {
    /// Looks at one schedule at `now`, enqueuing its job when a new slot has begun.
    pub async fn tick_schedule(&self, s: &Schedule, now: DateTime<Utc>) -> AppResult<Tick> {
        let slot = s.slot(now);
        // A read first: nearly every look finds the slot recorded and needs no write lock.
        let mut tx = self.store.begin().await?;
        let last = jobs::schedule_slot(&mut tx, &s.name).await?;
        tx.rollback().await?;
        if last.as_deref().is_some_and(|l| l >= slot.as_str()) {
            return Ok(if last.as_deref() == Some(slot.as_str()) {
                Tick::Current
            } else {
                Tick::Skipped
            });
        }
        let mut tx = self.store.begin_write().await?;
        if !jobs::advance_schedule(&mut tx, &s.name, last.as_deref(), &slot).await? {
            tx.rollback().await?;
            return Ok(Tick::Skipped);
        }
        let tick = if last.is_none() {
            Tick::Started
        } else {
            let payload = s.payload(s.slot_start(now));
            let by = format!("schedule:{}", s.name);
            let job_slot = s.job_slot(&slot);
            let id = enqueue(&mut tx, s.kind, &payload, Some(&job_slot), &by, now).await?;
            Tick::Enqueued(id.is_some())
        };
        tx.commit().await?;
        Ok(tick)
    }

    /// Enqueues a job now unless one like it is queued or running (start-up work, outbox
    /// delivery when something is due). Returns whether one was added.
    pub async fn enqueue_job(&self, kind: JobKind, requested_by: &str) -> AppResult<bool> {
        let mut tx = self.store.begin_write().await?;
        let id = enqueue(&mut tx, kind, "{}", None, requested_by, Utc::now()).await?;
        tx.commit().await?;
        Ok(id.is_some())
    }

    /// Whether corrections are due for delivery to the business system's webhook.
    pub async fn outbox_due(&self) -> AppResult<bool> {
        if self.settings.webhook.is_none() {
            return Ok(false);
        }
        let mut tx = self.store.begin().await?;
        let due = dangan_store::outbox::due_heads(&mut tx, Utc::now(), 1).await?;
        tx.rollback().await?;
        Ok(!due.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn daily(hm: &str) -> Schedule {
        Schedule::of(
            JobKind::Scrub,
            When::Daily(NaiveTime::parse_from_str(hm, "%H:%M").unwrap()),
        )
    }

    #[test]
    fn a_daily_slot_is_counted_in_beijing_time_whatever_the_server_zone() {
        let s = daily("03:00");
        // 18:59 UTC on the 5th is 02:59 in Beijing on the 6th: still the 5th's slot.
        assert_eq!(s.slot(utc("2026-12-05T18:59:00Z")), "2026-12-05T03:00");
        // 19:00 UTC is 03:00 in Beijing: the 6th's slot begins.
        assert_eq!(s.slot(utc("2026-12-05T19:00:00Z")), "2026-12-06T03:00");
        assert_eq!(s.slot(utc("2026-12-06T15:00:00Z")), "2026-12-06T03:00");
    }

    #[test]
    fn a_periodic_slot_is_the_same_on_every_node_within_the_period() {
        let s = Schedule::of(JobKind::Anchor, When::Every(Duration::from_secs(600)));
        let a = s.slot(utc("2026-12-06T01:00:01Z"));
        let b = s.slot(utc("2026-12-06T01:09:59Z"));
        assert_eq!(a, b);
        assert_eq!(a, "2026-12-06T09:00");
        assert_eq!(s.slot(utc("2026-12-06T01:10:00Z")), "2026-12-06T09:10");
    }

    #[test]
    fn the_backup_is_full_on_its_weekday_and_incremental_on_the_others() {
        let s = Schedule::backup(
            "local",
            NaiveTime::from_hms_opt(2, 0, 0).unwrap(),
            Weekday::Sun,
        );
        // 2026-12-06 is a Sunday.
        let sunday = s.slot_start(utc("2026-12-05T18:30:00Z"));
        assert_eq!(sunday.weekday(), Weekday::Sun);
        assert!(s.payload(sunday).contains(r#""full":true"#));
        let monday = s.slot_start(utc("2026-12-06T18:30:00Z"));
        assert!(s.payload(monday).contains(r#""full":false"#));
        assert!(s.payload(monday).contains(r#""target":"local""#));
        assert_eq!(s.job_slot("2026-12-07T02:00"), "local@2026-12-07T02:00");
    }

    #[test]
    fn slots_as_recorded_sort_in_time_order() {
        let s = daily("03:00");
        let earlier = s.slot(utc("2026-12-31T20:00:00Z"));
        let later = s.slot(utc("2027-01-01T20:00:00Z"));
        assert!(earlier < later);
    }
}
