//! 归档范围 — versions of the filing catalogue. A version is never changed once written; an
//! edit writes a new version, so every business event can name the version it was checked
//! against.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{StoreResult, Tx, on_conn};

/// A catalogue row as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct EntryRow {
    /// Business type code.
    pub business_type: String,
    /// Material type code.
    pub material_code: String,
    /// 材料名称
    pub name: String,
    /// 必归档
    pub required: bool,
    /// Retention code.
    pub retention: String,
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
            .bind(&r.business_type)
            .bind(&r.material_code)
            .bind(&r.name)
            .bind(r.required)
            .bind(&r.retention)
            .bind(r.paper_original_kept)
            .bind(r.scan_required)
            .execute(c)
            .await.map(|r| r.rows_affected())
        })?;
    }
    Ok(next)
}
