//! Delivering the outbox: each round claims the due heads (one per person, in order), posts
//! them signed through the webhook client (`adapters/webhook.rs`) a few at a time, and records
//! every attempt with its back-off.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};

use dangan_store::outbox::{self, Attempt, AttemptOutcome, OutboxRow};

use super::{
    CLAIM_MARGIN, DeliveryRound, IN_FLIGHT, ROUND_LIMIT, WebhookSettings, backoff, body_of,
    signature,
};
use crate::adapters::webhook::WebhookClient;
use crate::administration::roles::Actor;
use crate::security::audit::{Op, Outcome};
use crate::{App, AppResult, local_time};

/// How one attempt went.
struct Sent {
    started: DateTime<Utc>,
    duration_ms: i64,
    status: Option<u16>,
    /// `None` when acknowledged.
    error: Option<String>,
}

/// Sends one item, signed, and says how it went.
async fn post(client: &WebhookClient, hook: &WebhookSettings, item: &OutboxRow) -> Sent {
    let body = body_of(item);
    let started = Utc::now();
    let timestamp = started.timestamp();
    let headers = [
        ("X-Dangan-Delivery", item.id.to_string()),
        ("X-Dangan-Timestamp", timestamp.to_string()),
        (
            "X-Dangan-Signature",
            signature(hook.mac, &hook.secret, timestamp, &body),
        ),
    ];
    let posted = client.post(&hook.url, &headers, body).await;
    Sent {
        started,
        duration_ms: posted.duration_ms,
        status: posted.status,
        error: posted.error,
    }
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
        let client = WebhookClient::new(hook.timeout)?;
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
        let about = match (item.person_id, item.room_id) {
            (Some(p), _) => format!("person {p}"),
            (None, Some(r)) => format!("room {r}"),
            (None, None) => String::new(),
        };
        let answer = sent
            .status
            .map_or_else(|| "no answer".to_owned(), |s| format!("HTTP {s}"));
        let (detail, logged) = match &sent.error {
            None => (
                format!(
                    "{about}; attempt {number}; {answer}; {} ms",
                    sent.duration_ms
                ),
                Outcome::Ok,
            ),
            Some(error) => (
                format!(
                    "{about}; attempt {number}; {error}; next attempt {}",
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
            None => tracing::info!(outbox_id = %item.id, attempt = number, "outbox item delivered"),
            Some(error) => tracing::warn!(
                outbox_id = %item.id,
                attempt = number,
                error = %error,
                retry_in_s = wait.as_secs(),
                "outbox delivery failed"
            ),
        }
        Ok(sent.error.is_none())
    }
}
