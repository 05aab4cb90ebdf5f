//! `dangan simulate` — a pension business system (业务系统) talking to a running Dangan over its
//! API, as a real client would: it registers insured persons, files their completed business
//! with a scan of every material (自动归档, one multipart request per business), sends their
//! contribution records in batches, sends some of them again corrected, and reports person
//! changes. Every request is retried on a connection error or a 5xx with back-off — safe
//! because every one of them is idempotent — so the simulator rides out a server restart. The
//! data is the deterministic demo stream: the same seed sends the same records.

use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use dangan_app::administration::demo::{DemoPerson, demo_scan_pdf, people};
use dangan_domain::catalogue::Catalogue;
use dangan_domain::id_number::mask;

/// Arguments of `simulate`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// The server, e.g. `http://127.0.0.1:8080`.
    #[arg(long, env = "DANGAN_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// An API token with the scopes persons:write, archive:write and sync:write
    /// (`dangan user token`).
    #[arg(long, env = "DANGAN_TOKEN", hide_env_values = true)]
    token: String,
    /// Requests per second at most (0: as fast as the server answers).
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// How many insured persons to send.
    #[arg(long, default_value_t = 100)]
    persons: usize,
    /// Seed of the generated data; the same seed sends the same records.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// The source system's name in the records.
    #[arg(long, default_value = "pension-sim")]
    source_system: String,
    /// Give up on a request after this many seconds of retrying.
    #[arg(long, default_value_t = 120)]
    retry_seconds: u64,
}

/// What a run did.
#[derive(Debug, Default)]
struct Tally {
    requests: u64,
    retries: u64,
    persons_created: u64,
    events_archived: u64,
    events_replayed: u64,
    files: u64,
    contributions: u64,
    corrections: u64,
    person_changes: u64,
    rejected: u64,
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    min_interval: Duration,
    last: Option<Instant>,
    retry_for: Duration,
    tally: Tally,
}

impl Client {
    /// Sends a request built by `build`, paced to the rate, retried on transport errors and
    /// 5xx (and 429) until `retry_for` has passed. Returns the status and the JSON answer.
    async fn send(
        &mut self,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> anyhow::Result<(u16, Value)> {
        let started = Instant::now();
        let mut backoff = Duration::from_millis(200);
        loop {
            if let Some(last) = self.last {
                let wait = self.min_interval.saturating_sub(last.elapsed());
                tokio::time::sleep(wait).await;
            }
            self.last = Some(Instant::now());
            self.tally.requests += 1;
            let outcome = build(&self.http).bearer_auth(&self.token).send().await;
            let retry_reason = match outcome {
                Ok(res) => {
                    let status = res.status().as_u16();
                    if status < 500 && status != 429 {
                        let body = res.json::<Value>().await.unwrap_or(Value::Null);
                        return Ok((status, body));
                    }
                    format!("HTTP {status}")
                }
                Err(e) => e.to_string(),
            };
            if started.elapsed() > self.retry_for {
                anyhow::bail!("请求在 {:?} 内一直失败：{retry_reason}", self.retry_for);
            }
            self.tally.retries += 1;
            tracing::debug!(reason = %retry_reason, "retrying");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }
}

fn expect_ok(what: &str, status: u16, body: &Value) -> anyhow::Result<()> {
    anyhow::ensure!(
        (200..300).contains(&status),
        "{what}失败：HTTP {status} {}",
        body["error"]["message"].as_str().unwrap_or("")
    );
    Ok(())
}

/// The contribution records of a person: one a year from the enrolment year to last year.
fn contributions(p: &DemoPerson, system: &str) -> Vec<Value> {
    let first = p
        .events
        .first()
        .map_or(2020, |e| chrono::Datelike::year(&e.date));
    (first..=2025)
        .map(|year| {
            json!({
                "source_id": format!("{system}-{}-{year}", p.id_number),
                "id_number": p.id_number,
                "year": year,
                "tier": p.tier,
                "personal": p.tier,
                "subsidy": "45.00",
                "paid_on": format!("{year}-06-15"),
                "channel": "银行代扣",
            })
        })
        .collect()
}

async fn send_person(c: &mut Client, p: &DemoPerson, system: &str) -> anyhow::Result<()> {
    let person = json!({
        "id_number": p.id_number,
        "name": p.name,
        "division_code": p.division_code,
        "status": p.status,
        "tier": p.tier,
        "identity": p.identity,
    });
    let url = c.url("/persons");
    let (status, body) = c.send(|h| h.post(&url).json(&person)).await?;
    match status {
        201 => c.tally.persons_created += 1,
        // Already registered (a rerun, or a retry whose first answer was lost).
        409 => {}
        _ => expect_ok("登记参保人", status, &body)?,
    }

    for e in &p.events {
        let materials: Vec<Value> = e
            .materials
            .iter()
            .map(|m| json!({"material_code": m.code, "pages": m.pages, "carrier": "both"}))
            .collect();
        let event = json!({
            "id_number": p.id_number,
            "business_type": e.business_type.code(),
            "business_date": e.date.to_string(),
            "source_system": system,
            "external_id": e.external_id,
            "materials": materials,
        });
        let scans: Vec<(String, Vec<u8>)> = e
            .materials
            .iter()
            .map(|m| {
                let pdf = demo_scan_pdf(&[m.name.clone(), mask(&p.id_number), e.date.to_string()]);
                (format!("{}-{}.pdf", e.date, m.code), pdf)
            })
            .collect();
        let files: Vec<(usize, &str, &[u8])> = scans
            .iter()
            .enumerate()
            .map(|(i, (name, bytes))| (i, name.as_str(), bytes.as_slice()))
            .collect();
        let (content_type, body) = dangan_web::encode_archive_request(&event, &files);
        let url = c.url("/archive");
        let (status, answer) = c
            .send(|h| {
                h.post(&url)
                    .header("content-type", content_type.as_str())
                    .body(body.clone())
            })
            .await?;
        match status {
            201 => {
                c.tally.events_archived += 1;
                c.tally.files += scans.len() as u64;
            }
            200 => c.tally.events_replayed += 1,
            _ => expect_ok("自动归档", status, &answer)?,
        }
    }

    let records = contributions(p, system);
    let batch = json!({"source_system": system, "records": records});
    let url = c.url("/sync/contributions");
    let (status, answer) = c.send(|h| h.post(&url).json(&batch)).await?;
    expect_ok("同步缴费明细", status, &answer)?;
    c.tally.contributions += answer["accepted"].as_u64().unwrap_or(0);
    c.tally.rejected += answer["rejected"].as_array().map_or(0, Vec::len) as u64;

    // The business system corrects last year's record (a late subsidy) and sends it again.
    if let Some(mut last) = records.last().cloned() {
        last["subsidy"] = json!("60.00");
        let batch = json!({"source_system": system, "records": [last]});
        let (status, answer) = c.send(|h| h.post(&url).json(&batch)).await?;
        expect_ok("更正缴费明细", status, &answer)?;
        c.tally.corrections += answer["accepted"].as_u64().unwrap_or(0);
    }

    // A tier change from the start of this year.
    let change = json!({"source_system": system, "records": [{
        "source_id": format!("{system}-tier-{}", p.id_number),
        "id_number": p.id_number,
        "kind": "tier",
        "value": if p.tier >= 2000 { 1000 } else { p.tier + 100 },
        "effective_date": "2026-01-01",
    }]});
    let url = c.url("/sync/person-changes");
    let (status, answer) = c.send(|h| h.post(&url).json(&change)).await?;
    expect_ok("同步人员变更", status, &answer)?;
    c.tally.person_changes += answer["accepted"].as_u64().unwrap_or(0);
    c.tally.rejected += answer["rejected"].as_array().map_or(0, Vec::len) as u64;
    Ok(())
}

/// Runs the simulator.
pub async fn run(args: SimulateArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.rate >= 0.0, "--rate 不能为负数");
    anyhow::ensure!(
        !args.token.trim().is_empty(),
        "请提供接口令牌（--token 或 DANGAN_TOKEN）"
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .context("HTTP 客户端")?;
    let mut c = Client {
        http,
        base: args.url.trim_end_matches('/').to_owned(),
        token: args.token.trim().to_owned(),
        min_interval: if args.rate > 0.0 {
            Duration::from_secs_f64(1.0 / args.rate)
        } else {
            Duration::ZERO
        },
        last: None,
        retry_for: Duration::from_secs(args.retry_seconds),
        tally: Tally::default(),
    };
    let catalogue = Catalogue::builtin();
    let bar = ProgressBar::new(args.persons as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} 人 {per_sec} 剩余 {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    for p in people(args.seed, &catalogue).take(args.persons) {
        send_person(&mut c, &p, &args.source_system).await?;
        bar.inc(1);
        bar.set_message(format!(
            "{} 次请求，{} 次重试",
            c.tally.requests, c.tally.retries
        ));
    }
    bar.finish_and_clear();
    let t = &c.tally;
    let secs = started.elapsed().as_secs_f64().max(0.001);
    println!(
        "模拟完成：{} 人（新登记 {}），自动归档 {} 笔业务（重发 {} 笔），扫描件 {} 个，缴费明细 {} 条，更正 {} 条，人员变更 {} 条，退回 {} 条",
        args.persons,
        t.persons_created,
        t.events_archived,
        t.events_replayed,
        t.files,
        t.contributions,
        t.corrections,
        t.person_changes,
        t.rejected
    );
    println!(
        "请求 {} 次，重试 {} 次，用时 {secs:.1} 秒，{:.1} 次/秒",
        t.requests,
        t.retries,
        t.requests as f64 / secs
    );
    Ok(())
}
