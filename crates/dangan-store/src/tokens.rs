//! API tokens of machine clients (the pension business system): named, scoped, revocable.
//! Only the SHA-256 of a token is stored.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{StoreResult, Tx, id_type, on_conn};

id_type!(
    /// The row id of an API token.
    TokenId
);

/// A stored token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct TokenRow {
    /// Row id.
    pub id: TokenId,
    /// A name for people (`pension-system`).
    pub name: String,
    /// Digest (never shown).
    #[serde(skip)]
    pub token_hash: String,
    /// Space-separated scope codes.
    pub scopes: String,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, name, token_hash, scopes, created_by, created_at, revoked_at";

/// Records a token. A taken name is `Conflict("api_tokens_name_key")`.
pub async fn insert(
    tx: &mut Tx,
    name: &str,
    token_hash: &str,
    scopes: &str,
    created_by: &str,
    now: DateTime<Utc>,
) -> StoreResult<TokenId> {
    let id = on_conn!(tx, c => {
        sqlx::query_scalar("INSERT INTO api_tokens (name, token_hash, scopes, created_by, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
            .bind(name)
            .bind(token_hash)
            .bind(scopes)
            .bind(created_by)
            .bind(now)
            .fetch_one(c)
            .await
    })?;
    Ok(TokenId(id))
}

/// The unrevoked token with this digest.
pub async fn find_active(tx: &mut Tx, token_hash: &str) -> StoreResult<Option<TokenRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL"
    ));
    Ok(on_conn!(tx, c => sqlx::query_as(sql).bind(token_hash).fetch_optional(c).await)?)
}

/// Every token, newest first.
pub async fn list(tx: &mut Tx) -> StoreResult<Vec<TokenRow>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM api_tokens ORDER BY id DESC"));
    Ok(on_conn!(tx, c => sqlx::query_as(sql).fetch_all(c).await)?)
}

/// Revokes a token; false when there was no unrevoked token with this id.
pub async fn revoke(tx: &mut Tx, id: TokenId, now: DateTime<Utc>) -> StoreResult<bool> {
    let n = on_conn!(tx, c => {
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(n == 1)
}
