//! Staff accounts and their sign-in sessions. Passwords arrive already hashed (argon2id) and
//! session tokens as SHA-256 digests: the store never sees a secret.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{StoreResult, Tx, id_type, on_conn};

id_type!(
    /// The row id of a user.
    UserId
);

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct UserRow {
    /// Row id.
    pub id: UserId,
    /// Sign-in name.
    pub username: String,
    /// Name shown in the UI and the log.
    pub display_name: String,
    /// Role code.
    pub role: String,
    /// argon2id PHC string (never serialised to clients).
    #[serde(skip)]
    pub password_hash: String,
    /// A generated password that must be changed at next sign-in.
    pub must_change_password: bool,
    /// Disabled accounts cannot sign in.
    pub disabled: bool,
    /// Consecutive failed sign-ins.
    pub failed_attempts: i64,
    /// Locked until this instant after repeated failures.
    pub locked_until: Option<DateTime<Utc>>,
    /// Created at.
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, username, display_name, role, password_hash, must_change_password, disabled, created_at, failed_attempts, locked_until";

/// Inserts a user. A taken username is `Conflict("users_username_key")`.
pub async fn insert(
    tx: &mut Tx,
    username: &str,
    display_name: &str,
    role: &str,
    password_hash: &str,
    must_change_password: bool,
    now: DateTime<Utc>,
) -> StoreResult<UserId> {
    let id = on_conn!(tx, c => {
        sqlx::query_scalar(
            "INSERT INTO users (username, display_name, role, password_hash, must_change_password, disabled, created_at)
             VALUES ($1, $2, $3, $4, $5, FALSE, $6) RETURNING id",
        )
        .bind(username)
        .bind(display_name)
        .bind(role)
        .bind(password_hash)
        .bind(must_change_password)
        .bind(now)
        .fetch_one(c)
        .await
    })?;
    Ok(UserId(id))
}

/// The user with this username.
pub async fn find_by_username(tx: &mut Tx, username: &str) -> StoreResult<Option<UserRow>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM users WHERE username = $1"));
    Ok(on_conn!(tx, c => sqlx::query_as(sql).bind(username).fetch_optional(c).await)?)
}

/// How many users exist.
pub async fn count(tx: &mut Tx) -> StoreResult<i64> {
    Ok(on_conn!(tx, c => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(c).await)?)
}

/// Records a session by the digest of its token.
pub async fn insert_session(
    tx: &mut Tx,
    token_hash: &str,
    user: UserId,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(user)
            .bind(now)
            .bind(expires_at)
            .execute(c)
            .await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// A live staff session: its user and when it was last seen.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRow {
    /// The enabled user owning the session.
    #[sqlx(flatten)]
    pub user: UserRow,
    /// The last recorded use of the session (its creation when never recorded).
    pub last_seen_at: DateTime<Utc>,
}

/// The enabled user owning an unexpired session with this token digest, and when the session
/// was last seen.
pub async fn user_for_session(
    tx: &mut Tx,
    token_hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<SessionRow>> {
    let sql = "SELECT u.id, u.username, u.display_name, u.role, u.password_hash, u.must_change_password, u.disabled, u.created_at, u.failed_attempts, u.locked_until,
                COALESCE(s.last_seen_at, s.created_at) AS last_seen_at
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND NOT u.disabled";
    Ok(on_conn!(tx, c => sqlx::query_as(sql).bind(token_hash).bind(now).fetch_optional(c).await)?)
}

/// Records that a session was used at `now`.
pub async fn touch_session(tx: &mut Tx, token_hash: &str, now: DateTime<Utc>) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(token_hash)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Ends one session.
pub async fn delete_session(tx: &mut Tx, token_hash: &str) -> StoreResult<()> {
    on_conn!(tx, c => sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The user with this id.
pub async fn get(tx: &mut Tx, id: UserId) -> StoreResult<Option<UserRow>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM users WHERE id = $1"));
    Ok(on_conn!(tx, c => sqlx::query_as(sql).bind(id).fetch_optional(c).await)?)
}

/// Sets a new password hash, clears the must-change flag and ends every session of the user
/// except the one whose digest is `keep_session`.
pub async fn set_password(
    tx: &mut Tx,
    id: UserId,
    password_hash: &str,
    keep_session: &str,
) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("UPDATE users SET password_hash = $1, must_change_password = FALSE WHERE id = $2")
            .bind(password_hash)
            .bind(id)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    on_conn!(tx, c => {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(id)
            .bind(keep_session)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Gives an account a new password that must be changed at the next sign-in, clears its
/// failure counter and lock, and ends every session of it (a reset by the security officer).
pub async fn reset_password(tx: &mut Tx, id: UserId, password_hash: &str) -> StoreResult<bool> {
    let n = on_conn!(tx, c => {
        sqlx::query("UPDATE users SET password_hash = $1, must_change_password = TRUE, failed_attempts = 0, locked_until = NULL WHERE id = $2")
            .bind(password_hash)
            .bind(id)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    delete_all_sessions(tx, id).await?;
    Ok(n == 1)
}

/// Reserves one sign-in attempt before the password is checked: the failure counter goes up
/// by one unless the account is locked at `now`. Returns the new count, or `None` when the
/// account is locked (or gone). One conditional statement, so that parallel attempts cannot all
/// read the same count: each gets its own number, and those past the limit find the lock set.
pub async fn reserve_attempt(
    tx: &mut Tx,
    id: UserId,
    now: DateTime<Utc>,
) -> StoreResult<Option<i64>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_scalar(
            "UPDATE users SET failed_attempts = failed_attempts + 1
             WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2)
             RETURNING failed_attempts",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(c)
        .await
    })?)
}

/// Locks the account until `until` (in the transaction that reserved the attempt).
pub async fn lock(tx: &mut Tx, id: UserId, until: DateTime<Utc>) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("UPDATE users SET locked_until = $1 WHERE id = $2")
            .bind(until)
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Clears the counter and the lock after a successful sign-in.
pub async fn reset_attempts(tx: &mut Tx, id: UserId) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = $1")
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Ends every session of a user.
pub async fn delete_all_sessions(tx: &mut Tx, id: UserId) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Every user, by username.
pub async fn list(tx: &mut Tx) -> StoreResult<Vec<UserRow>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM users ORDER BY username"));
    Ok(on_conn!(tx, c => sqlx::query_as(sql).fetch_all(c).await)?)
}

/// Changes a user's role and enabled state; ends their sessions so the change applies at once.
pub async fn set_role(tx: &mut Tx, id: UserId, role: &str, disabled: bool) -> StoreResult<bool> {
    let n = on_conn!(tx, c => {
        sqlx::query("UPDATE users SET role = $1, disabled = $2, failed_attempts = 0, locked_until = NULL WHERE id = $3")
            .bind(role)
            .bind(disabled)
            .bind(id)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    delete_all_sessions(tx, id).await?;
    Ok(n == 1)
}
