//! 归档范围 — versions of the filing catalogue. A version is never changed once written; an
//! edit writes a new version, so every business event can name the version it was checked
//! against.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::Serialize;

use dangan_domain::business::BusinessType;
use dangan_domain::retention::Retention;

use crate::{StoreResult, Tx, on_conn};

/// A catalogue row as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct EntryRow {
    /// 业务类型
    #[sqlx(try_from = "String")]
    pub business_type: BusinessType,
    /// Material type code.
    pub material_code: String,
    /// 材料名称
    pub name: String,
    /// 必归档
    pub required: bool,
    /// 保管期限
    #[sqlx(try_from = "String")]
    pub retention: Retention,
    /// Paper original kept.
    pub paper_original_kept: bool,
    /// Scan required.
    pub scan_required: bool,
}

/// A catalogue version's header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct VersionRow {
    /// Version number, from 1.
    pub version: i64,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// Who wrote it.
    pub created_by: String,
    /// Why.
    pub note: String,
}

/// The newest version, if any was written.
pub async fn current_version(tx: &mut Tx) -> StoreResult<Option<VersionRow>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as("SELECT version, created_at, created_by, note FROM catalogue_versions ORDER BY version DESC LIMIT 1")
            .fetch_optional(c)
            .await
    })?)
}

/// The header of one version.
pub async fn version(tx: &mut Tx, version: i64) -> StoreResult<Option<VersionRow>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as("SELECT version, created_at, created_by, note FROM catalogue_versions WHERE version = $1")
            .bind(version)
            .fetch_optional(c)
            .await
    })?)
}

/// The rows of one version in catalogue order.
pub async fn entries(tx: &mut Tx, version: i64) -> StoreResult<Vec<EntryRow>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as(
            "SELECT business_type, material_code, name, required, retention, paper_original_kept, scan_required
             FROM catalogue_entries WHERE version = $1 ORDER BY position",
        )
        .bind(version)
        .fetch_all(c)
        .await
    })?)
}

/// The entries of versions already read, shared by the clones of a store. A version is never
/// changed once written, so its entries are read from the database once; the key holds the
/// version's time of writing as well, so that entries read inside a transaction that wrote the
/// version and then rolled back are never served for another version of the same number.
#[derive(Debug, Default)]
pub(crate) struct EntryCache(Mutex<HashMap<VersionKey, Arc<Vec<EntryRow>>>>);

/// A version's number and time of writing.
type VersionKey = (i64, DateTime<Utc>);

/// The entries of `v` (a header just read in this transaction), from the cache or, the first
/// time, from the database.
pub async fn cached_entries(tx: &mut Tx, v: &VersionRow) -> StoreResult<Arc<Vec<EntryRow>>> {
    let key = (v.version, v.created_at);
    let hit = tx
        .shared
        .catalogues
        .0
        .lock()
        .ok()
        .and_then(|m| m.get(&key).cloned());
    if let Some(rows) = hit {
        return Ok(rows);
    }
    let rows = Arc::new(entries(tx, v.version).await?);
    if let Ok(mut m) = tx.shared.catalogues.0.lock() {
        m.insert(key, Arc::clone(&rows));
    }
    Ok(rows)
}

/// Writes a new version after the current one and returns its number. Two concurrent writers
/// cannot both take the same number: the second fails with `Conflict("catalogue_versions_pkey")`.
pub async fn insert_version(
    tx: &mut Tx,
    rows: &[EntryRow],
    created_by: &str,
    note: &str,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    let next = current_version(tx).await?.map_or(1, |v| v.version + 1);
    on_conn!(tx, c => {
        sqlx::query("INSERT INTO catalogue_versions (version, created_at, created_by, note) VALUES ($1, $2, $3, $4)")
            .bind(next)
            .bind(now)
            .bind(created_by)
            .bind(note)
            .execute(c)
            .await.map(|r| r.rows_affected())
    })?;
    for (position, r) in rows.iter().enumerate() {
        let position = i64::try_from(position).unwrap_or(i64::MAX);
        on_conn!(tx, c => {
            sqlx::query(
                "INSERT INTO catalogue_entries (version, position, business_type, material_code, name, required, retention, paper_original_kept, scan_required)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(next)
            .bind(position)
            .bind(r.business_type.code())
            .bind(&r.material_code)
            .bind(&r.name)
            .bind(r.required)
            .bind(r.retention.code())
            .bind(r.paper_original_kept)
            .bind(r.scan_required)
            .execute(c)
            .await.map(|r| r.rows_affected())
        })?;
    }
    Ok(next)
}
