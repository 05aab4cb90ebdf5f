//! Prometheus metrics of one server (`GET /metrics`, served on its own listener by `serve
//! --metrics-listen`, never on the main router).
//!
//! Each server builds its own recorder and keeps it here, instead of installing the process-wide
//! global one: tests start several servers in one process, and two servers must never mix (or
//! fail to install) their counts. The request middleware records into this recorder directly.
//!
//! Labels never carry a raw path: a request is counted under its matched route *template*
//! (`/api/v1/persons/{id}`), so no id, name or identity number can reach a label.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use metrics_exporter_prometheus::{BuildError, PrometheusBuilder, PrometheusRecorder};

use dangan_app::Actor;

use crate::extract::AppState;

/// Buckets of the request-latency histogram, in seconds: from a cached page to a large upload.
const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The metrics of one server: its own Prometheus recorder.
#[derive(Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// Bytes of scans a handler stored, put on its response for the middleware to count (the
/// handlers stay free of metrics).
#[derive(Debug, Clone, Copy)]
pub struct Ingested {
    /// Scans stored.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
}

impl Metrics {
    /// A fresh recorder, not installed globally.
    pub fn new() -> Result<Metrics, BuildError> {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&LATENCY_BUCKETS)?
            .build_recorder();
        Ok(Metrics {
            recorder: Arc::new(recorder),
        })
    }

    /// Runs `f` with this server's recorder as the one the `metrics` macros record into.
    fn record(&self, f: impl FnOnce()) {
        metrics::with_local_recorder(self.recorder.as_ref(), f);
    }

    /// Drains histogram samples every few seconds even when nobody scrapes, so that memory
    /// stays bounded (the global exporter's own upkeep task does the same).
    pub fn spawn_upkeep(&self) {
        let handle = self.recorder.handle();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                handle.run_upkeep();
            }
        });
    }

    /// The text exposition of everything recorded so far.
    pub fn render(&self) -> String {
        self.recorder.handle().render()
    }
}

/// Adds request counting and latency by route template to `router`. Applied with
/// `Router::layer`, so the middleware runs after routing and sees the matched template.
pub fn instrument(router: Router, metrics: &Metrics) -> Router {
    router.layer(axum::middleware::from_fn_with_state(metrics.clone(), track))
}

/// Counts one request under its route template and status, and its latency to the response's
/// head; counts the bytes of scans the handler says it stored.
async fn track(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let res = next.run(req).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = res.status().as_u16().to_string();
    let ingested = res.extensions().get::<Ingested>().copied();
    metrics.record(|| {
        metrics::counter!(
            "dangan_http_requests_total",
            "method" => method.clone(),
            "route" => route.clone(),
            "status" => status,
        )
        .increment(1);
        metrics::histogram!(
            "dangan_http_request_duration_seconds",
            "method" => method,
            "route" => route,
        )
        .record(seconds);
        if let Some(i) = ingested {
            metrics::counter!("dangan_ingest_files_total").increment(i.files);
            metrics::counter!("dangan_ingest_bytes_total").increment(i.bytes);
        }
    });
    res
}

/// The router of the metrics listener: `GET /metrics` and nothing else.
pub fn metrics_router(app: AppState, metrics: Metrics) -> Router {
    Router::new()
        .route("/metrics", get(render_metrics))
        .with_state((app, metrics))
}

/// `GET /metrics`: the gauges read from the database now, then every metric as text.
async fn render_metrics(State((app, metrics)): State<(AppState, Metrics)>) -> Response {
    scrape_gauges(&app, &metrics).await;
    let mut res = metrics.render().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    res
}

/// Seconds from `then` to now (0 for a time in the future: clocks of two nodes differ).
fn age_seconds(then: chrono::DateTime<Utc>) -> f64 {
    let ms = (Utc::now() - then).num_milliseconds().max(0);
    ms as f64 / 1000.0
}

/// Sets the gauges read from the database at scrape time: the last backup run of each target,
/// the last finished scrub, the newest log anchor. The one place to add gauges of the same kind
/// (the job queue's depth and age). Read as the system: no session, no log entry, and nothing
/// personal in what is read.
pub async fn scrape_gauges(app: &AppState, metrics: &Metrics) {
    let system = Actor::system();
    let mut database_up = true;
    let backups = app.backup_runs(&system).await;
    let scrubs = app.scrub_runs(&system, 20).await;
    let anchor = app.last_anchor_signed_at().await;
    let jobs = app.job_stats().await;
    metrics.record(|| {
        match &backups {
            Ok(runs) => {
                // Newest first: the first finished run of a target is its last.
                let mut seen_last = std::collections::HashSet::new();
                let mut seen_ok = std::collections::HashSet::new();
                for run in runs {
                    let Some(finished) = run.finished_at else {
                        continue;
                    };
                    let target = run.target.clone();
                    if seen_last.insert(target.clone()) {
                        metrics::gauge!("dangan_backup_last_run_age_seconds", "target" => target.clone())
                            .set(age_seconds(finished));
                        metrics::gauge!("dangan_backup_last_run_success", "target" => target.clone())
                            .set(if run.status == "ok" { 1.0 } else { 0.0 });
                    }
                    if run.status == "ok" && seen_ok.insert(target.clone()) {
                        metrics::gauge!("dangan_backup_last_success_age_seconds", "target" => target)
                            .set(age_seconds(finished));
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics: cannot read the backup runs");
                database_up = false;
            }
        }
        match &scrubs {
            Ok(runs) => {
                if let Some((run, finished)) = runs
                    .iter()
                    .find_map(|r| r.finished_at.map(|f| (r, f)))
                {
                    metrics::gauge!("dangan_scrub_last_run_age_seconds").set(age_seconds(finished));
                    metrics::gauge!("dangan_scrub_last_run_failed_files")
                        .set(run.files_failed as f64);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics: cannot read the scrub runs");
                database_up = false;
            }
        }
        match &anchor {
            Ok(Some(at)) => {
                metrics::gauge!("dangan_audit_anchor_age_seconds").set(age_seconds(*at));
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "metrics: cannot read the newest anchor");
                database_up = false;
            }
        }
        match &jobs {
            Ok(q) => {
                metrics::gauge!("dangan_jobs", "state" => "due").set(q.due as f64);
                metrics::gauge!("dangan_jobs", "state" => "waiting").set(q.waiting as f64);
                metrics::gauge!("dangan_jobs", "state" => "running").set(q.running as f64);
                metrics::gauge!("dangan_jobs", "state" => "failed").set(q.failed as f64);
                // How long the oldest due job has waited for a worker (0 when none waits).
                metrics::gauge!("dangan_jobs_oldest_due_age_seconds")
                    .set(q.oldest_due.map_or(0.0, age_seconds));
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics: cannot read the job queue");
                database_up = false;
            }
        }
        metrics::gauge!("dangan_metrics_database_up").set(if database_up { 1.0 } else { 0.0 });
    });
}
