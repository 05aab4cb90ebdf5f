//! 更正回传 — delivering the outbox to the business system's webhook (S9.2; issue 7).
//!
//! Each correction queued by [`App::correct_person`] is POSTed as JSON to the configured URL,
//! signed with a shared secret (HMAC-SHA256 or HMAC-SM3 over `timestamp + "." + body`). A 2xx
//! answer acknowledges it; anything else — another status, a time-out, a refused connection — is a
//! failure, retried with exponential back-off for ever: nothing is dropped (at-least-once, so the
//! receiver must accept the same `X-Dangan-Delivery` twice). Within one person the items go
//! strictly in id order — a later item waits while an earlier one fails — and persons are
//! independent. Every attempt is in the delivery log (`outbox_deliveries`); every delivered item
//! and every failure is in the operation log, without the payload (it holds names and identity
//! numbers).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use hmac::{KeyInit, Mac as _};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use dangan_store::outbox::OutboxId;
use dangan_store::outbox::{self, Attempt, AttemptOutcome, DeliveryRow, OutboxFilter, OutboxRow};
use dangan_store::persons::PersonId;

use crate::administration::roles::{Actor, UseCase};
use crate::security::audit::{Op, Outcome, stamp};
use crate::{App, AppError, AppResult, local_time};

/// How long one attempt may take, unless configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The first wait after a failure, unless configured.
pub const DEFAULT_BACKOFF: Duration = Duration::from_secs(30);
/// The longest wait between two attempts of one item.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// The most heads one round sends.
const ROUND_LIMIT: i64 = 100;
/// Attempts of one round in flight at once (each is a different person's).
const IN_FLIGHT: usize = 4;
/// A claimed head is left alone this long past the attempt's time-out; if the process dies
/// mid-attempt, the next round after that sends it again.
const CLAIM_MARGIN: Duration = Duration::from_secs(60);
/// The longest error text kept in the delivery log.
const MAX_ERROR_CHARS: usize = 500;

/// The MAC of the `X-Dangan-Signature` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mac {
    /// HMAC-SHA256 (RFC 2104 with SHA-256).
    #[default]
    HmacSha256,
    /// HMAC-SM3 (GB/T 15852.2 with SM3, GB/T 32905).
    HmacSm3,
}

impl Mac {
    /// Parses `hmac-sha256` or `hmac-sm3`.
    pub fn parse(s: &str) -> Option<Mac> {
        match s.trim().to_ascii_lowercase().as_str() {
            "hmac-sha256" => Some(Mac::HmacSha256),
            "hmac-sm3" => Some(Mac::HmacSm3),
            _ => None,
        }
    }

    /// The code, as in the signature header: `hmac-sha256` or `hmac-sm3`.
    pub fn code(self) -> &'static str {
        match self {
            Mac::HmacSha256 => "hmac-sha256",
            Mac::HmacSm3 => "hmac-sm3",
        }
    }
}

/// Where and how corrections are delivered.
#[derive(Clone)]
pub struct WebhookSettings {
    /// The receiver, `http://` or `https://`.
    pub url: String,
    /// The secret shared with the receiver.
    pub secret: Vec<u8>,
    /// The MAC of the signature.
    pub mac: Mac,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// The wait after the first failure of an item; it doubles with each further failure, up to
    /// [`MAX_BACKOFF`].
    pub backoff: Duration,
}

impl WebhookSettings {
    /// HMAC-SHA256, the default time-out and back-off.
    pub fn new(url: impl Into<String>, secret: impl Into<Vec<u8>>) -> WebhookSettings {
        WebhookSettings {
            url: url.into(),
            secret: secret.into(),
            mac: Mac::default(),
            timeout: DEFAULT_TIMEOUT,
            backoff: DEFAULT_BACKOFF,
        }
    }
}

impl std::fmt::Debug for WebhookSettings {
    /// The secret is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .field("mac", &self.mac)
            .field("timeout", &self.timeout)
            .field("backoff", &self.backoff)
            .finish()
    }
}

/// The wait before the next attempt after `failures` failures in a row (1 for the first):
/// `base`, doubling, at most [`MAX_BACKOFF`].
pub fn backoff(base: Duration, failures: i64) -> Duration {
    let doublings = u32::try_from(failures.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    base.saturating_mul(1u32 << doublings).min(MAX_BACKOFF)
}

fn mac_hex(mac: Mac, secret: &[u8], parts: &[&[u8]]) -> String {
    match mac {
        Mac::HmacSha256 => {
            // HMAC takes a key of any length, so this cannot fail.
            let mut m = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret)
                .unwrap_or_else(|_| unreachable!());
            for p in parts {
                m.update(p);
            }
            hex::encode(m.finalize().into_bytes())
        }
        Mac::HmacSm3 => {
            let mut m = <hmac::Hmac<sm3::Sm3> as KeyInit>::new_from_slice(secret)
                .unwrap_or_else(|_| unreachable!());
            for p in parts {
                m.update(p);
            }
            hex::encode(m.finalize().into_bytes())
        }
    }
}

/// The `X-Dangan-Signature` value of a body sent at `timestamp` (Unix seconds):
/// `hmac-sha256=<hex>` or `hmac-sm3=<hex>`, the MAC of `timestamp + "." + body` under `secret`.
pub fn signature(mac: Mac, secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let ts = timestamp.to_string();
    format!(
        "{}={}",
        mac.code(),
        mac_hex(mac, secret, &[ts.as_bytes(), b".", body])
    )
}

/// The body POSTed for an item: `{"id", "kind", "person_id", "created_at", "payload"}`.
fn body_of(item: &OutboxRow) -> Vec<u8> {
    let payload = serde_json::from_str::<Value>(&item.payload)
        .unwrap_or_else(|_| Value::String(item.payload.clone()));
    serde_json::json!({
        "id": item.id.0,
        "kind": item.kind,
        "person_id": item.person_id.0,
        "created_at": stamp(item.created_at),
        "payload": payload,
    })
    .to_string()
    .into_bytes()
}

/// What one delivery round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryRound {
    /// Items sent.
    pub attempted: usize,
    /// Items acknowledged.
    pub delivered: usize,
    /// Items that failed and wait for their next attempt.
    pub failed: usize,
}

/// The outbox listing as asked for in a query string.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// `pending` (default), `delivered` or `all`.
    #[param(pattern = "^(pending|delivered|all)$")]
    pub state: Option<String>,
    /// Items after this id (the last id of the previous page).
    pub after: Option<i64>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// An outbox item as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OutboxItemView {
    /// Row id (`X-Dangan-Delivery`).
    pub id: OutboxId,
    /// `correction`.
    pub kind: String,
    /// The person.
    pub person_id: PersonId,
    /// `pending` or `delivered`.
    #[schema(pattern = "^(pending|delivered)$")]
    pub state: &'static str,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When it was acknowledged.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Attempts since it was queued or last re-sent.
    pub attempts: i64,
    /// When it is next due, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// What is sent as the body's `payload` (the identity number in it masked).
    #[schema(value_type = Object)]
    pub payload: Value,
}

impl From<OutboxRow> for OutboxItemView {
    fn from(r: OutboxRow) -> OutboxItemView {
        OutboxItemView {
            id: r.id,
            kind: r.kind,
            person_id: r.person_id,
            state: if r.delivered_at.is_some() {
                "delivered"
            } else {
                "pending"
            },
            created_at: r.created_at,
            delivered_at: r.delivered_at,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            last_error: r.last_error,
            payload: masked_payload(&r.payload),
        }
    }
}

/// A stored payload as shown to staff: the identity number masked (the webhook receives it in
/// full; a list of the outbox is not an opened archive).
pub(crate) fn masked_payload(raw: &str) -> Value {
    let mut v = serde_json::from_str(raw).unwrap_or(Value::Null);
    if let Some(n) = v.get_mut("id_number")
        && let Some(s) = n.as_str()
    {
        *n = Value::String(dangan_domain::id_number::mask(s));
    }
    v
}

/// One delivery attempt as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    /// 1, 2, … over the item's whole history.
    pub attempt: i64,
    /// When it started.
    pub attempted_at: DateTime<Utc>,
    /// The receiver's status, if it answered.
    pub http_status: Option<i64>,
    /// `delivered` or `failed`.
    pub outcome: String,
    /// Why it failed.
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: i64,
}

impl From<DeliveryRow> for DeliveryView {
    fn from(r: DeliveryRow) -> DeliveryView {
        DeliveryView {
            attempt: r.attempt,
            attempted_at: r.attempted_at,
            http_status: r.http_status,
            outcome: r.outcome,
            error: r.error,
            duration_ms: r.duration_ms,
        }
    }
}

/// How one attempt went.
struct Sent {
    started: DateTime<Utc>,
    duration_ms: i64,
    status: Option<u16>,
    /// `None` when acknowledged.
    error: Option<String>,
}

/// An error and its causes, without the URL, shortened for the delivery log.
fn describe(e: reqwest::Error, timeout: Duration) -> String {
    let text = if e.is_timeout() {
        format!(
            "超时：{} 秒内无应答 (timed out after {:?})",
            timeout.as_secs(),
            timeout
        )
    } else {
        let head = if e.is_connect() {
            "无法连接 (connection failed)"
        } else {
            "请求失败 (request failed)"
        };
        let e = e.without_url();
        let mut text = format!("{head}: {e}");
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        text
    };
    text.chars().take(MAX_ERROR_CHARS).collect()
}

async fn post(client: &reqwest::Client, hook: &WebhookSettings, item: &OutboxRow) -> Sent {
    let body = body_of(item);
    let started = Utc::now();
    let timestamp = started.timestamp();
    let clock = Instant::now();
    let result = client
        .post(&hook.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Dangan-Delivery", item.id.to_string())
        .header("X-Dangan-Timestamp", timestamp.to_string())
        .header(
            "X-Dangan-Signature",
            signature(hook.mac, &hook.secret, timestamp, &body),
        )
        .body(body)
        .send()
        .await;
    let duration_ms = i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX);
    let (status, error) = match result {
        Ok(r) if r.status().is_success() => (Some(r.status().as_u16()), None),
        Ok(r) => (
            Some(r.status().as_u16()),
            Some(format!("HTTP {}", r.status())),
        ),
        Err(e) => (None, Some(describe(e, hook.timeout))),
    };
    Sent {
        started,
        duration_ms,
        status,
        error,
    }
}

fn not_found() -> AppError {
    AppError::not_found("outbox_not_found", "未找到该回传记录")
}

impl App {
    /// One delivery round: claims the due heads (each person's oldest undelivered item, when its
    /// back-off has passed), POSTs them, and records every attempt. Returns at once, doing
    /// nothing, when no webhook is configured. `serve` calls it every few seconds.
    pub async fn deliver_outbox_once(&self) -> AppResult<DeliveryRound> {
        let Some(hook) = &self.settings.webhook else {
            return Ok(DeliveryRound::default());
        };
        let now = Utc::now();
        // A read first: most rounds find nothing, and need not take SQLite's write lock.
        let mut tx = self.store.begin().await?;
        let any = !outbox::due_heads(&mut tx, now, 1).await?.is_empty();
        tx.rollback().await?;
        if !any {
            return Ok(DeliveryRound::default());
        }
        let client = reqwest::Client::builder()
            .timeout(hook.timeout)
            // A webhook that moved is a configuration fault to see, not to follow.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| AppError::Internal(format!("webhook client: {e}")))?;
        let until =
            now + chrono::Duration::from_std(hook.timeout + CLAIM_MARGIN).unwrap_or_default();
        let mut tx = self.store.begin_write().await?;
        let mut claimed = Vec::new();
        for head in outbox::due_heads(&mut tx, now, ROUND_LIMIT).await? {
            if outbox::claim(&mut tx, head.id, now, until).await? {
                claimed.push(head);
            }
        }
        tx.commit().await?;

        let client = &client;
        let results: Vec<AppResult<bool>> = stream::iter(claimed)
            .map(|item| async move {
                let sent = post(client, hook, &item).await;
                self.record_delivery(&item, sent, hook.backoff).await
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        let mut round = DeliveryRound::default();
        let mut first_error = None;
        for r in results {
            match r {
                Ok(delivered) => {
                    round.attempted += 1;
                    if delivered {
                        round.delivered += 1;
                    } else {
                        round.failed += 1;
                    }
                }
                // The item stays claimed until its claim runs out, then is sent again.
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(round),
        }
    }

    /// Records one attempt in the delivery log, on the item and in the operation log. True when
    /// the item was acknowledged.
    async fn record_delivery(
        &self,
        item: &OutboxRow,
        sent: Sent,
        base: Duration,
    ) -> AppResult<bool> {
        // Attempts since the item was queued or re-sent: all failed, or it would not be pending.
        let failures = item.attempts + 1;
        let wait = backoff(base, failures);
        let retry_at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
        let outcome = match &sent.error {
            None => AttemptOutcome::Delivered,
            Some(error) => AttemptOutcome::Failed { error, retry_at },
        };
        let mut tx = self.store.begin_write().await?;
        let number = outbox::record_attempt(
            &mut tx,
            &Attempt {
                outbox_id: item.id,
                at: sent.started,
                http_status: sent.status,
                duration_ms: sent.duration_ms,
                outcome,
            },
        )
        .await?;
        let answer = sent
            .status
            .map_or_else(|| "no answer".to_owned(), |s| format!("HTTP {s}"));
        let (detail, logged) = match &sent.error {
            None => (
                format!(
                    "person {}; attempt {number}; {answer}; {} ms",
                    item.person_id, sent.duration_ms
                ),
                Outcome::Ok,
            ),
            Some(error) => (
                format!(
                    "person {}; attempt {number}; {error}; next attempt {}",
                    item.person_id,
                    local_time(retry_at)
                ),
                Outcome::Failed,
            ),
        };
        let op = Op::new("outbox.deliver", "outbox", item.id).detail(detail);
        let actor = Actor::system().from_source("webhook");
        self.log_in(&mut tx, &actor, &op, logged).await?;
        tx.commit().await?;
        match &sent.error {
            None => tracing::info!(outbox_id = %item.id, attempt = number, "correction delivered"),
            Some(error) => tracing::warn!(
                outbox_id = %item.id,
                attempt = number,
                error = %error,
                retry_in_s = wait.as_secs(),
                "correction delivery failed"
            ),
        }
        Ok(sent.error.is_none())
    }

    /// The outbox with its delivery state, a page at a time in id order (pending items by
    /// default). Payloads hold personal data, so the read is logged.
    pub async fn list_outbox(
        &self,
        actor: &Actor,
        query: &OutboxQuery,
    ) -> AppResult<Vec<OutboxItemView>> {
        self.authorize(actor, UseCase::CorrectData).await?;
        let state = query.state.as_deref().map(str::trim).unwrap_or("pending");
        let filter = match state {
            "pending" | "" => OutboxFilter::Pending,
            "delivered" => OutboxFilter::Delivered,
            "all" => OutboxFilter::All,
            _ => {
                return Err(AppError::invalid_with(
                    "invalid_state",
                    Some("state"),
                    "state 应为 pending（待发送）、delivered（已送达）或 all（全部）",
                ));
            }
        };
        let limit = query.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(AppError::invalid_with(
                "invalid_limit",
                Some("limit"),
                "limit 应在1至1000之间",
            ));
        }
        let mut tx = self.begin_read().await?;
        let rows = outbox::list(&mut tx, filter, query.after.map(OutboxId), limit).await?;
        let op = Op::new("outbox.read", "outbox", "")
            .detail(format!("state {state}; {} items", rows.len()));
        self.end_read(tx, actor, &op, Outcome::Ok).await?;
        Ok(rows.into_iter().map(OutboxItemView::from).collect())
    }

    /// The delivery attempts of one item, first first.
    pub async fn outbox_deliveries(
        &self,
        actor: &Actor,
        id: OutboxId,
    ) -> AppResult<Vec<DeliveryView>> {
        self.authorize(actor, UseCase::CorrectData).await?;
        let mut tx = self.store.begin().await?;
        if outbox::get(&mut tx, id).await?.is_none() {
            return Err(not_found());
        }
        let rows = outbox::deliveries(&mut tx, id).await?;
        tx.rollback().await?;
        Ok(rows.into_iter().map(DeliveryView::from).collect())
    }

    /// Queues an item again — delivered (the business system lost it) or failing (try now,
    /// with a fresh back-off). It is sent in its place in its person's order.
    pub async fn resend_outbox(&self, actor: &Actor, id: OutboxId) -> AppResult<OutboxItemView> {
        self.authorize(actor, UseCase::ResendOutbox).await?;
        let mut tx = self.store.begin_write().await?;
        let before = outbox::get(&mut tx, id).await?.ok_or_else(not_found)?;
        let now = Utc::now();
        outbox::resend(&mut tx, id, now).await?;
        let was = match before.delivered_at {
            Some(at) => format!("delivered {}", local_time(at)),
            None => format!("pending after {} attempts", before.attempts),
        };
        let op = Op::new("outbox.resend", "outbox", id)
            .detail(format!("person {}; was {was}", before.person_id));
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        let after = outbox::get(&mut tx, id).await?.ok_or_else(not_found)?;
        tx.commit().await?;
        Ok(after.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_back_off_doubles_from_its_base_and_stops_at_an_hour() {
        let base = Duration::from_secs(30);
        let waits: Vec<u64> = (1..=9).map(|n| backoff(base, n).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(backoff(base, 1_000_000), MAX_BACKOFF);
        assert_eq!(backoff(Duration::ZERO, 7), Duration::ZERO);
        assert_eq!(backoff(Duration::from_secs(7200), 1), MAX_BACKOFF);
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231_and_the_header_names_its_mac() {
        // RFC 4231 test case 2.
        assert_eq!(
            mac_hex(
                Mac::HmacSha256,
                b"Jefe",
                &[b"what do ya want ", b"for nothing?"]
            ),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let sha = signature(Mac::HmacSha256, b"k", 1_700_000_000, b"{}");
        let sm3 = signature(Mac::HmacSm3, b"k", 1_700_000_000, b"{}");
        assert!(
            sha.starts_with("hmac-sha256=") && sha.len() == 12 + 64,
            "{sha}"
        );
        assert!(sm3.starts_with("hmac-sm3=") && sm3.len() == 9 + 64, "{sm3}");
        assert_ne!(
            signature(Mac::HmacSha256, b"k", 1_700_000_001, b"{}"),
            sha,
            "the timestamp is signed"
        );
    }

    #[test]
    fn macs_are_read_by_their_codes_only() {
        assert_eq!(Mac::parse("hmac-sm3"), Some(Mac::HmacSm3));
        assert_eq!(Mac::parse(" HMAC-SHA256 "), Some(Mac::HmacSha256));
        assert_eq!(Mac::parse("sha256"), None);
        let s = format!("{:?}", WebhookSettings::new("http://x", "top-secret"));
        assert!(!s.contains("top-secret"), "{s}");
    }
}
