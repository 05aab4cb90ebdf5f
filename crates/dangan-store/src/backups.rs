//! 备份记录 — backup runs per target, and the consistent database snapshot a backup set carries.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Pool, Store, StoreError, StoreResult, Tx, on_conn};

/// One backup run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct BackupRun {
    /// Row id.
    pub id: i64,
    /// The target's name (`local`, `cloud`).
    pub target: String,
    /// The set written.
    pub set_id: String,
    /// `full` or `incremental`.
    pub kind: String,
    /// `running`, `ok` or `failed`.
    pub status: String,
    /// Started.
    pub started_at: DateTime<Utc>,
    /// Finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Objects copied.
    pub objects: i64,
    /// Bytes copied.
    pub bytes: i64,
    /// Why it failed, in Chinese.
    pub error: String,
}

/// Records the start of a run; runs of the same target still marked running (their process
/// died) are marked failed first.
pub async fn start_run(
    tx: &mut Tx,
    target: &str,
    set_id: &str,
    kind: &str,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    on_conn!(tx, c => {
        sqlx::query("UPDATE backup_runs SET status = 'failed', finished_at = $1, error = '进程中断，未完成' WHERE target = $2 AND status = 'running'")
            .bind(now)
            .bind(target)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(on_conn!(tx, c => {
        sqlx::query_scalar(
            "INSERT INTO backup_runs (target, set_id, kind, status, started_at) VALUES ($1, $2, $3, 'running', $4) RETURNING id",
        )
        .bind(target)
        .bind(set_id)
        .bind(kind)
        .bind(now)
        .fetch_one(c)
        .await
    })?)
}

/// Records the end of a run.
#[expect(clippy::too_many_arguments, reason = "one column each")]
pub async fn finish_run(
    tx: &mut Tx,
    id: i64,
    ok: bool,
    kind: &str,
    objects: i64,
    bytes: i64,
    error: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query(
            "UPDATE backup_runs SET status = $1, kind = $2, objects = $3, bytes = $4, error = $5, finished_at = $6 WHERE id = $7",
        )
        .bind(if ok { "ok" } else { "failed" })
        .bind(kind)
        .bind(objects)
        .bind(bytes)
        .bind(error)
        .bind(now)
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// The latest runs, newest first.
pub async fn runs(tx: &mut Tx, limit: i64) -> StoreResult<Vec<BackupRun>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as(
            "SELECT id, target, set_id, kind, status, started_at, finished_at, objects, bytes, error
             FROM backup_runs ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(c)
        .await
    })?)
}

/// Writes a consistent copy of an SQLite database to `out` (`VACUUM INTO`: one read
/// transaction, so the copy is a single moment of the database while writers go on).
pub async fn sqlite_snapshot(store: &Store, out: &Path) -> StoreResult<()> {
    let Pool::Sqlite(pool) = store.pool() else {
        return Err(StoreError::Unsupported(
            "VACUUM INTO is SQLite's; use pg_dump for PostgreSQL".to_owned(),
        ));
    };
    let path = out
        .to_str()
        .ok_or_else(|| StoreError::Unsupported("snapshot path is not UTF-8".to_owned()))?;
    sqlx::query("VACUUM INTO $1")
        .bind(path)
        .execute(pool)
        .await?;
    Ok(())
}
