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

/// Records the outcome of a sign-in attempt: resets the counter on success; on failure
/// increments it and sets the lock.
pub async fn record_attempt(
    tx: &mut Tx,
    person: PersonId,
    failed_attempts: i64,
    locked_until: Option<DateTime<Utc>>,
) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("UPDATE insured_accounts SET failed_attempts = $1, locked_until = $2 WHERE person_id = $3")
            .bind(failed_attempts)
            .bind(locked_until)
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

/// Records a session.
pub async fn insert_session(
    tx: &mut Tx,
    token_hash: &str,
    person: PersonId,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    assisted: bool,
) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("INSERT INTO insured_sessions (token_hash, person_id, created_at, expires_at, assisted) VALUES ($1, $2, $3, $4, $5)")
            .bind(token_hash)
            .bind(person)
            .bind(now)
            .bind(expires_at)
            .bind(assisted)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// The person and must-change flag behind an unexpired session.
pub async fn session(
    tx: &mut Tx,
    token_hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<(PersonId, bool)>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as(
            "SELECT s.person_id, CASE WHEN s.assisted THEN FALSE ELSE a.must_change_password END
             FROM insured_sessions s LEFT JOIN insured_accounts a ON a.person_id = s.person_id
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND (s.assisted OR a.person_id IS NOT NULL)",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(c)
        .await
    })?)
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
