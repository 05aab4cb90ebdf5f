//! Online accounts of insured persons (参保人网上账户) and their sessions.

use chrono::{DateTime, Utc};

use crate::persons::PersonId;
use crate::{StoreResult, Tx, on_conn};

/// A stored account.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccountRow {
    /// The person.
    pub person_id: PersonId,
    /// argon2id PHC string.
    pub password_hash: String,
    /// A generated password still in use.
    pub must_change_password: bool,
    /// Consecutive failed sign-ins.
    pub failed_attempts: i64,
    /// Locked until this instant.
    pub locked_until: Option<DateTime<Utc>>,
}

/// Creates or resets the account of a person with a new password hash.
pub async fn upsert(
    tx: &mut Tx,
    person: PersonId,
    hash: &str,
    must_change: bool,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query(
            "INSERT INTO insured_accounts (person_id, password_hash, must_change_password, failed_attempts, locked_until, created_at)
             VALUES ($1, $2, $3, 0, NULL, $4)
             ON CONFLICT (person_id) DO UPDATE SET password_hash = $2, must_change_password = $3, failed_attempts = 0, locked_until = NULL",
        )
        .bind(person)
        .bind(hash)
        .bind(must_change)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    on_conn!(tx, c => {
        sqlx::query("DELETE FROM insured_sessions WHERE person_id = $1")
            .bind(person)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// The account of a person.
pub async fn get(tx: &mut Tx, person: PersonId) -> StoreResult<Option<AccountRow>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as("SELECT person_id, password_hash, must_change_password, failed_attempts, locked_until FROM insured_accounts WHERE person_id = $1")
            .bind(person)
            .fetch_optional(c)
            .await
    })?)
}

/// Reserves one sign-in attempt before the password is checked (see
/// [`crate::users::reserve_attempt`]): the new failure count, or `None` when the account is
/// locked at `now` (or does not exist).
pub async fn reserve_attempt(
    tx: &mut Tx,
    person: PersonId,
    now: DateTime<Utc>,
) -> StoreResult<Option<i64>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_scalar(
            "UPDATE insured_accounts SET failed_attempts = failed_attempts + 1
             WHERE person_id = $1 AND (locked_until IS NULL OR locked_until <= $2)
             RETURNING failed_attempts",
        )
        .bind(person)
        .bind(now)
        .fetch_optional(c)
        .await
    })?)
}

/// Locks the account until `until`.
pub async fn lock(tx: &mut Tx, person: PersonId, until: DateTime<Utc>) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("UPDATE insured_accounts SET locked_until = $1 WHERE person_id = $2")
            .bind(until)
            .bind(person)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Clears the counter and the lock after a successful sign-in.
pub async fn reset_attempts(tx: &mut Tx, person: PersonId) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query(
            "UPDATE insured_accounts SET failed_attempts = 0, locked_until = NULL WHERE person_id = $1",
        )
        .bind(person)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Sets a new password chosen by the person.
pub async fn set_password(
    tx: &mut Tx,
    person: PersonId,
    hash: &str,
    keep_session: &str,
) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("UPDATE insured_accounts SET password_hash = $1, must_change_password = FALSE WHERE person_id = $2")
            .bind(hash)
            .bind(person)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    on_conn!(tx, c => {
        sqlx::query("DELETE FROM insured_sessions WHERE person_id = $1 AND token_hash <> $2")
            .bind(person)
            .bind(keep_session)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// How an insured person's session was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionKind {
    /// 工作人员协助确认: opened by a window clerk without the person's password.
    pub assisted: bool,
    /// Opened on the self-service machine (an assisted session is one too).
    pub kiosk: bool,
}

/// Records a session.
pub async fn insert_session(
    tx: &mut Tx,
    token_hash: &str,
    person: PersonId,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    kind: SessionKind,
) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("INSERT INTO insured_sessions (token_hash, person_id, created_at, expires_at, assisted, kiosk) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(token_hash)
            .bind(person)
            .bind(now)
            .bind(expires_at)
            .bind(kind.assisted)
            .bind(kind.kiosk || kind.assisted)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// A live insured person's session.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRow {
    /// The person.
    pub person_id: PersonId,
    /// The account's generated password is still in use (never for an assisted session).
    pub must_change_password: bool,
    /// Opened on the self-service machine.
    pub kiosk: bool,
    /// The last recorded use (its creation when never recorded).
    pub last_seen_at: DateTime<Utc>,
}

/// The unexpired session with this token digest.
pub async fn session(
    tx: &mut Tx,
    token_hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<SessionRow>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as(
            "SELECT s.person_id,
                    CASE WHEN s.assisted THEN FALSE ELSE a.must_change_password END AS must_change_password,
                    (s.kiosk OR s.assisted) AS kiosk,
                    COALESCE(s.last_seen_at, s.created_at) AS last_seen_at
             FROM insured_sessions s LEFT JOIN insured_accounts a ON a.person_id = s.person_id
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND (s.assisted OR a.person_id IS NOT NULL)",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(c)
        .await
    })?)
}

/// Records that a session was used at `now`.
pub async fn touch_session(tx: &mut Tx, token_hash: &str, now: DateTime<Utc>) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("UPDATE insured_sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(token_hash)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Ends one session, or every session of the person when `all`.
pub async fn delete_sessions(tx: &mut Tx, token_hash: &str, all: bool) -> StoreResult<()> {
    let sql = if all {
        "DELETE FROM insured_sessions WHERE person_id = (SELECT person_id FROM insured_sessions WHERE token_hash = $1)"
    } else {
        "DELETE FROM insured_sessions WHERE token_hash = $1"
    };
    on_conn!(tx, c => sqlx::query(sql).bind(token_hash).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}
