//! 后台作业 (issue 17): the durable job system on both backends — a schedule's slot enqueued
//! once however many nodes look, a job whose node stops renewing taken over with its history
//! kept, an interrupted scrub resumed where it stopped, and who may see and run jobs.

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveTime, Utc};
use dangan_app::jobs::schedule::Tick;
use dangan_app::jobs::{JobContext, JobId, JobKind, JobQuery, JobState, Schedule, When};
use dangan_app::{AppError, Role};
use dangan_store::jobs::{self, Ending, NewJob};
use dangan_testkit::{TestApp, on_both_backends, png_scan};

fn context(node: &str) -> JobContext {
    JobContext {
        node: node.to_owned(),
        workers: 1,
        lease: Duration::from_secs(5),
        poll: Duration::from_millis(100),
        schedules: Vec::new(),
        targets: Vec::new(),
        keep_fulls: 1,
        scrub_bytes_per_second: 0,
        keep_finished: chrono::Duration::days(30),
    }
}

async fn wait_done(t: &TestApp, id: JobId) -> dangan_app::jobs::JobView {
    for _ in 0..300 {
        let job = t.app.job(&t.admin, id).await.unwrap();
        if matches!(job.state, JobState::Done | JobState::Failed) {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {id} did not finish");
}

on_both_backends! {
    async fn a_scheduled_slot_is_enqueued_once_however_many_nodes_look_and_never_again_by_a_slow_clock(db: TestDb) {
        let t = TestApp::start(db).await;
        let s = Schedule::of(JobKind::Scrub, When::Daily(NaiveTime::from_hms_opt(3, 0, 0).unwrap()));
        let now = Utc::now();
        // The first look records the slot and runs nothing: a new installation does not run
        // last night's work at once.
        assert_eq!(t.app.tick_schedule(&s, now).await.unwrap(), Tick::Started);
        assert!(t.app.jobs(&t.admin, &JobQuery::default()).await.unwrap().is_empty());

        // The next day, three nodes look at the same moment: one enqueues, the others skip.
        let next = now + chrono::Duration::days(1);
        let app = Arc::clone(&t.app);
        let looks = (0..3).map(|_| {
            let app = Arc::clone(&app);
            let s = s.clone();
            tokio::spawn(async move { app.tick_schedule(&s, next).await.unwrap() })
        });
        let mut ticks = Vec::new();
        for l in looks {
            ticks.push(l.await.unwrap());
        }
        assert_eq!(ticks.iter().filter(|t| **t == Tick::Enqueued(true)).count(), 1, "{ticks:?}");
        let listed = t.app.jobs(&t.admin, &JobQuery::default()).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].slot.as_deref(), Some(s.slot(next).as_str()));
        assert_eq!(listed[0].requested_by, "schedule:scrub");

        // A node whose clock is a day behind sees an older slot and enqueues nothing.
        assert_eq!(t.app.tick_schedule(&s, now).await.unwrap(), Tick::Skipped);
        assert_eq!(t.app.tick_schedule(&s, next).await.unwrap(), Tick::Current);
        assert_eq!(t.app.jobs(&t.admin, &JobQuery::default()).await.unwrap().len(), 1);
    }

    async fn a_job_whose_node_stops_renewing_is_taken_over_and_the_dead_node_cannot_finish_it(db: TestDb) {
        let t = TestApp::start(db).await;
        let id = t.app.run_job_now(&t.admin, "log.anchor").await.unwrap();
        let store = t.app.store();
        let t0 = Utc::now();
        let mut tx = store.begin_write().await.unwrap();
        let a = jobs::claim(&mut tx, "node-a", t0, t0 + chrono::Duration::seconds(1)).await.unwrap().unwrap();
        tx.commit().await.unwrap();
        assert_eq!((a.job.id, a.job.attempts, a.taken_over_from.clone()), (id, 1, None));

        // While node A's lease holds, nobody else gets the job.
        let mut tx = store.begin_write().await.unwrap();
        assert!(jobs::claim(&mut tx, "node-b", t0, t0 + chrono::Duration::seconds(60)).await.unwrap().is_none());
        tx.rollback().await.unwrap();

        // Node A dies: two seconds later its lease has run out and node B takes the job over.
        let t2 = t0 + chrono::Duration::seconds(2);
        let mut tx = store.begin_write().await.unwrap();
        let b = jobs::claim(&mut tx, "node-b", t2, t2 + chrono::Duration::seconds(60)).await.unwrap().unwrap();
        tx.commit().await.unwrap();
        assert_eq!((b.job.id, b.job.attempts), (id, 2));
        assert_eq!(b.taken_over_from.as_deref(), Some("node-a"));

        // Node A comes back from a long pause: it can neither renew nor finish the job.
        let mut tx = store.begin_write().await.unwrap();
        assert!(!jobs::renew(&mut tx, id, "node-a", 1, t2 + chrono::Duration::seconds(60), None).await.unwrap());
        assert!(!jobs::finish(&mut tx, id, "node-a", 1, &Ending::Done("A"), t2).await.unwrap());
        assert!(jobs::finish(&mut tx, id, "node-b", 2, &Ending::Done("B"), t2).await.unwrap());
        tx.commit().await.unwrap();

        let job = t.app.job(&t.admin, id).await.unwrap();
        assert_eq!((job.state, job.result.as_str(), job.node.as_deref()), (JobState::Done, "B", Some("node-b")));
        let outcomes: Vec<(&str, &str)> = job.history.iter().map(|h| (h.node.as_str(), h.outcome.as_str())).collect();
        assert_eq!(outcomes, [("node-a", "lost"), ("node-b", "done")]);
        assert!(job.history[0].error.contains("node-a"), "{}", job.history[0].error);
    }

    async fn a_job_that_used_up_its_attempts_on_dead_nodes_fails_where_the_administrator_sees_it(db: TestDb) {
        let t = TestApp::start(db).await;
        let store = t.app.store();
        let t0 = Utc::now();
        let mut tx = store.begin_write().await.unwrap();
        let id = jobs::enqueue(&mut tx, &NewJob {
            kind: JobKind::Outbox.code(),
            payload: "{}",
            slot: None,
            dedupe: Some("outbox.deliver"),
            max_attempts: 1,
            run_after: t0,
            requested_by: "system",
        }, t0).await.unwrap().unwrap();
        jobs::claim(&mut tx, "node-a", t0, t0 + chrono::Duration::seconds(1)).await.unwrap().unwrap();
        tx.commit().await.unwrap();
        let t2 = t0 + chrono::Duration::seconds(2);
        let mut tx = store.begin_write().await.unwrap();
        assert!(jobs::claim(&mut tx, "node-b", t2, t2 + chrono::Duration::seconds(60)).await.unwrap().is_none());
        tx.commit().await.unwrap();
        let failed = t.app.jobs(&t.admin, &JobQuery { state: Some("failed".into()), ..JobQuery::default() }).await.unwrap();
        assert_eq!(failed.iter().map(|j| j.id).collect::<Vec<_>>(), [id]);
        assert!(failed[0].error.contains("不再重试"), "{}", failed[0].error);
        assert_eq!(t.app.job_stats().await.unwrap().failed, 1);
    }

    async fn an_interrupted_scrub_is_resumed_by_the_next_node_where_its_progress_says(db: TestDb) {
        let t = TestApp::start(db).await;
        let (_, m) = t.enrolment_material().await;
        let mut ids = Vec::new();
        for seed in 1..=3u8 {
            let f = t.app.ingest_file(&t.admin, m, Some("a.png"), &png_scan(20_000, seed)[..]).await.unwrap();
            ids.push(f.id);
        }
        let id = t.app.run_job_now(&t.admin, "scrub").await.unwrap();
        // A node claimed it, opened a scrub run, verified two files, saved that, and died.
        let store = t.app.store();
        let t0 = Utc::now();
        let mut tx = store.begin_write().await.unwrap();
        jobs::claim(&mut tx, "node-a", t0, t0 + chrono::Duration::seconds(1)).await.unwrap().unwrap();
        let run = dangan_store::files::start_scrub(&mut tx, "schedule", t0).await.unwrap();
        let progress = format!(r#"{{"run":{run},"after":{},"done":2,"failed":[]}}"#, ids[1]);
        assert!(jobs::renew(&mut tx, id, "node-a", 1, t0 + chrono::Duration::seconds(1), Some(&progress)).await.unwrap());
        tx.commit().await.unwrap();

        dangan_app::jobs::start(Arc::clone(&t.app), context("node-b"));
        let job = wait_done(&t, id).await;
        assert_eq!(job.state, JobState::Done, "{job:?}");
        assert!(job.result.contains("巡检 3 份电子文件，全部通过"), "{}", job.result);
        assert_eq!(job.node.as_deref(), Some("node-b"));
        let runs = t.app.scrub_runs(&t.admin, 10).await.unwrap();
        assert_eq!(runs.len(), 1, "the run node A opened is the one finished: {runs:?}");
        assert_eq!((runs[0].id, runs[0].files_checked, runs[0].files_failed), (run, 3, 0));
    }

    async fn a_second_run_of_a_kind_is_refused_while_one_waits_and_only_the_administrator_runs_jobs(db: TestDb) {
        let t = TestApp::start(db).await;
        t.app.run_job_now(&t.admin, "log.anchor").await.unwrap();
        let again = t.app.run_job_now(&t.admin, "log.anchor").await.unwrap_err();
        assert_eq!(again.code(), "job_already_queued");
        let backup = t.app.run_job_now(&t.admin, "backup").await.unwrap_err();
        assert_eq!(backup.code(), "job_kind_not_runnable");
        assert!(backup.to_string().contains("可立即运行"), "{backup}");

        let auditor = t.actor("auditor2", Role::Auditor).await;
        assert_eq!(t.app.jobs(&auditor, &JobQuery::default()).await.unwrap().len(), 1);
        assert!(matches!(t.app.run_job_now(&auditor, "scrub").await, Err(AppError::Forbidden)));
        let archivist = t.actor("archivist2", Role::Archivist).await;
        assert!(matches!(t.app.jobs(&archivist, &JobQuery::default()).await, Err(AppError::Forbidden)));
        let bad = t.app.jobs(&t.admin, &JobQuery { state: Some("sleeping".into()), ..JobQuery::default() }).await.unwrap_err();
        assert_eq!(bad.code(), "job_state_unknown");
    }
}
