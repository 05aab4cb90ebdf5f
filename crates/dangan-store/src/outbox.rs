//! 更正回传 — the outbox of corrections on its way to the business system's webhook (S9.2), and
//! the log of every delivery attempt.
//!
//! Order: the items of one person — or of one archive room, for its environment alerts — are
//! delivered strictly in id order, so only the oldest undelivered item of a person (a room) — its
//! *head* — is ever due; its later items wait behind it however long it keeps failing. Persons
//! and rooms are independent of each other. An item is *claimed*
//! before it is sent (its `next_attempt_at` is pushed past the attempt's time-out), so two
//! delivery rounds — two servers on one PostgreSQL database — never send the same head at once.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::persons::PersonId;
use crate::rooms::RoomId;
use crate::sealing::OUTBOX_PAYLOAD;
use crate::{StoreResult, Tx, id_type, on_conn};

id_type!(
    /// The row id of an outbox item.
    OutboxId
);

/// An outbox item with its delivery state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct OutboxRow {
    /// Row id; also the order of delivery within a person.
    pub id: OutboxId,
    /// What it carries: `correction`, `environment_alert`.
    pub kind: String,
    /// The person it concerns (a correction); its delivery is ordered per person.
    pub person_id: Option<PersonId>,
    /// The archive room it concerns (an environment alert); ordered per room.
    pub room_id: Option<RoomId>,
    /// The JSON text sent as the body's `payload`.
    pub payload: String,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When the business system acknowledged it; `None` while pending.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Attempts since it was queued or last re-sent.
    pub attempts: i64,
    /// When it is next due; `None` is due at once.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

/// One delivery attempt as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct DeliveryRow {
    /// The attempt's number in the item's whole history (1, 2, … continuing over re-sends).
    pub attempt: i64,
    /// When it started.
    pub attempted_at: DateTime<Utc>,
    /// The receiver's HTTP status; `None` when no answer came (time-out, connection refused).
    pub http_status: Option<i64>,
    /// `delivered` or `failed`.
    pub outcome: String,
    /// Why it failed.
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: i64,
}

/// Which items a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxFilter {
    /// Not yet acknowledged.
    Pending,
    /// Acknowledged.
    Delivered,
    /// Both.
    All,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome<'a> {
    /// Acknowledged with a 2xx answer.
    Delivered,
    /// Anything else; the item is due again at `retry_at`.
    Failed {
        /// Why, for the delivery log and the item's `last_error`.
        error: &'a str,
        /// When to try again.
        retry_at: DateTime<Utc>,
    },
}

/// An attempt to record.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// The item.
    pub outbox_id: OutboxId,
    /// When it started.
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status, if it answered.
    pub http_status: Option<u16>,
    /// How long it took.
    pub duration_ms: i64,
    /// How it ended.
    pub outcome: AttemptOutcome<'a>,
}

const COLUMNS: &str = "id, kind, person_id, room_id, payload, created_at, delivered_at, attempts, next_attempt_at, last_error";

/// The heads that are due at `now`, oldest first: for each person (each room), the oldest
/// undelivered item, and only if its `next_attempt_at` has come.
pub async fn due_heads(tx: &mut Tx, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<OutboxRow>> {
    // The sub-select is answered by `outbox_undelivered_person_idx` (person_id, id), or
    // `outbox_undelivered_room_idx`, over the undelivered rows only.
    let sql = format!(
        "SELECT {COLUMNS} FROM outbox o
         WHERE o.delivered_at IS NULL
           AND o.id = COALESCE(
               (SELECT MIN(h.id) FROM outbox h WHERE h.person_id = o.person_id AND h.delivered_at IS NULL),
               (SELECT MIN(h.id) FROM outbox h WHERE h.room_id = o.room_id AND h.delivered_at IS NULL))
           AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= $1)
         ORDER BY o.id
         LIMIT $2"
    );
    let rows: Vec<OutboxRow> = on_conn!(tx, c => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(now)
            .bind(limit.clamp(1, 1000))
            .fetch_all(c)
            .await
    })?;
    rows.into_iter().map(|r| open_payload(tx, r)).collect()
}

/// The row with its payload opened: a person's is sealed at rest (it carries the identity
/// number); a room's alert holds no personal data and is stored as it is sent.
fn open_payload(tx: &Tx, mut row: OutboxRow) -> StoreResult<OutboxRow> {
    if let Some(person) = row.person_id {
        row.payload = tx.open_text(OUTBOX_PAYLOAD, &person.to_string(), &row.payload)?;
    }
    Ok(row)
}

/// Queues an item about an archive room (an environment alert), delivered in order with the
/// room's other items.
pub async fn queue_for_room(
    tx: &mut Tx,
    kind: &str,
    room: RoomId,
    payload: &str,
    now: DateTime<Utc>,
) -> StoreResult<OutboxId> {
    let id: i64 = on_conn!(tx, c => {
        sqlx::query_scalar(
            "INSERT INTO outbox (kind, room_id, payload, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(kind)
        .bind(room)
        .bind(payload)
        .bind(now)
        .fetch_one(c)
        .await
    })?;
    Ok(OutboxId(id))
}

/// Claims a due head until `until`, so that no other round sends it meanwhile. False when it is
/// no longer due (another round claimed or delivered it first).
pub async fn claim(
    tx: &mut Tx,
    id: OutboxId,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> StoreResult<bool> {
    // PostgreSQL re-checks the condition on the newest row version after waiting for a
    // concurrent claimer's lock, so of two claimers exactly one wins.
    let n = on_conn!(tx, c => {
        sqlx::query(
            "UPDATE outbox SET next_attempt_at = $1
             WHERE id = $2 AND delivered_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= $3)",
        )
        .bind(until)
        .bind(id)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(n == 1)
}

/// Records an attempt: in the delivery log, and on the item (delivered, or the failure with its
/// next due time). Returns the attempt's number.
pub async fn record_attempt(tx: &mut Tx, attempt: &Attempt<'_>) -> StoreResult<i64> {
    let number: i64 = on_conn!(tx, c => {
        sqlx::query_scalar("SELECT COALESCE(MAX(attempt), 0) + 1 FROM outbox_deliveries WHERE outbox_id = $1")
            .bind(attempt.outbox_id)
            .fetch_one(c)
            .await
    })?;
    let (outcome, error) = match attempt.outcome {
        AttemptOutcome::Delivered => ("delivered", None),
        AttemptOutcome::Failed { error, .. } => ("failed", Some(error)),
    };
    on_conn!(tx, c => {
        sqlx::query(
            "INSERT INTO outbox_deliveries (outbox_id, attempt, attempted_at, http_status, outcome, error, duration_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(attempt.outbox_id)
        .bind(number)
        .bind(attempt.at)
        .bind(attempt.http_status.map(i64::from))
        .bind(outcome)
        .bind(error)
        .bind(attempt.duration_ms)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })?;
    match attempt.outcome {
        AttemptOutcome::Delivered => {
            let done = attempt.at + chrono::Duration::milliseconds(attempt.duration_ms);
            on_conn!(tx, c => {
                sqlx::query(
                    "UPDATE outbox SET delivered_at = $1, attempts = attempts + 1, next_attempt_at = NULL, last_error = NULL WHERE id = $2",
                )
                .bind(done)
                .bind(attempt.outbox_id)
                .execute(c)
                .await
                .map(|r| r.rows_affected())
            })?;
        }
        AttemptOutcome::Failed { error, retry_at } => {
            on_conn!(tx, c => {
                sqlx::query(
                    "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2 WHERE id = $3",
                )
                .bind(retry_at)
                .bind(error)
                .bind(attempt.outbox_id)
                .execute(c)
                .await
                .map(|r| r.rows_affected())
            })?;
        }
    }
    Ok(number)
}

/// A page of the outbox in id order: items after `after` (exclusive), at most `limit`.
pub async fn list(
    tx: &mut Tx,
    filter: OutboxFilter,
    after: Option<OutboxId>,
    limit: i64,
) -> StoreResult<Vec<OutboxRow>> {
    let state = match filter {
        OutboxFilter::Pending => "AND delivered_at IS NULL",
        OutboxFilter::Delivered => "AND delivered_at IS NOT NULL",
        OutboxFilter::All => "",
    };
    let sql = format!("SELECT {COLUMNS} FROM outbox WHERE id > $1 {state} ORDER BY id LIMIT $2");
    let rows: Vec<OutboxRow> = on_conn!(tx, c => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(after.map_or(0, |a| a.0))
            .bind(limit.clamp(1, 1000))
            .fetch_all(c)
            .await
    })?;
    rows.into_iter().map(|r| open_payload(tx, r)).collect()
}

/// One item.
pub async fn get(tx: &mut Tx, id: OutboxId) -> StoreResult<Option<OutboxRow>> {
    let sql = format!("SELECT {COLUMNS} FROM outbox WHERE id = $1");
    let row: Option<OutboxRow> = on_conn!(tx, c => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(c).await
    })?;
    row.map(|r| open_payload(tx, r)).transpose()
}

/// The delivery attempts of one item, first first.
pub async fn deliveries(tx: &mut Tx, id: OutboxId) -> StoreResult<Vec<DeliveryRow>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as(
            "SELECT attempt, attempted_at, http_status, outcome, error, duration_ms
             FROM outbox_deliveries WHERE outbox_id = $1 ORDER BY attempt",
        )
        .bind(id)
        .fetch_all(c)
        .await
    })?)
}

/// Queues an item again (delivered or not): pending, due at `now`, with a fresh back-off. Its
/// delivery log is kept. False when there is no such item.
pub async fn resend(tx: &mut Tx, id: OutboxId, now: DateTime<Utc>) -> StoreResult<bool> {
    let n = on_conn!(tx, c => {
        sqlx::query(
            "UPDATE outbox SET delivered_at = NULL, next_attempt_at = $1, attempts = 0, last_error = NULL WHERE id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(n == 1)
}
