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

mod delivery;

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac as _};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use dangan_store::outbox::OutboxId;
use dangan_store::outbox::{self, DeliveryRow, OutboxFilter, OutboxRow};
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

/// The body POSTed for an item: `{"id", "kind", "person_id", "room_id", "created_at",
/// "payload"}` (one of `person_id` and `room_id` is null).
fn body_of(item: &OutboxRow) -> Vec<u8> {
    let payload = serde_json::from_str::<Value>(&item.payload)
        .unwrap_or_else(|_| Value::String(item.payload.clone()));
    serde_json::json!({
        "id": item.id.0,
        "kind": item.kind,
        "person_id": item.person_id.map(|p| p.0),
        "room_id": item.room_id.map(|r| r.0),
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
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OutboxQuery {
    /// `pending` (default), `delivered` or `all`.
    pub state: Option<String>,
    /// Items after this id (the last id of the previous page).
    pub after: Option<i64>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<i64>,
}

/// An outbox item as shown.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxItemView {
    /// Row id (`X-Dangan-Delivery`).
    pub id: OutboxId,
    /// `correction` or `environment_alert`.
    pub kind: String,
    /// The person (a correction).
    pub person_id: Option<PersonId>,
    /// The archive room (an environment alert).
    pub room_id: Option<i64>,
    /// `pending` or `delivered`.
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
    pub payload: Value,
}

impl From<OutboxRow> for OutboxItemView {
    fn from(r: OutboxRow) -> OutboxItemView {
        OutboxItemView {
            id: r.id,
            kind: r.kind,
            person_id: r.person_id,
            room_id: r.room_id.map(|r| r.0),
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
#[derive(Debug, Clone, Serialize)]
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

fn not_found() -> AppError {
    AppError::not_found("outbox_not_found", "未找到该回传记录")
}

impl App {
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
        let op = Op::new("outbox.resend", "outbox", id).detail(format!(
            "{}; was {was}",
            before.person_id.map_or_else(
                || format!("room {}", before.room_id.map_or(0, |r| r.0)),
                |p| format!("person {p}")
            )
        ));
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        let after = outbox::get(&mut tx, id).await?.ok_or_else(not_found)?;
        tx.commit().await?;
        Ok(after.into())
    }
}

#[cfg(test)]
mod tests;
