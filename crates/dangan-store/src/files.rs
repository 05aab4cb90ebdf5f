//! 电子文件 — blobs (content-addressed, encrypted) and the files (scans of material items) that
//! point at them, with their identification and seal.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::events::MaterialId;
use crate::sealing::{FILE_MANIFEST, FILE_MANIFEST_HISTORY, QUARANTINE_NAME};
use crate::{StoreResult, Tx, id_type, on_conn};

id_type!(
    /// The row id of a file.
    FileId
);

/// A stored blob.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BlobRow {
    /// SHA-256 of the plaintext (the blob's name).
    pub sha256: String,
    /// SM3 of the plaintext; empty when the blob was stored under the SHA-256 digest profile
    /// (no SM3 computed).
    pub sm3: String,
    /// Plaintext size.
    pub size: i64,
    /// Cipher name.
    pub cipher: String,
    /// Data key wrapped by the master key, hex.
    pub wrapped_key: String,
    /// Which master key wrapped it.
    pub master_key_id: String,
    /// Last verification.
    pub verified_at: Option<DateTime<Utc>>,
    /// Its result.
    pub verify_ok: Option<bool>,
}

impl BlobRow {
    /// The SM3 digest, when the blob has one (stored under a digest profile with SM3).
    pub fn sm3(&self) -> Option<&str> {
        Some(self.sm3.as_str()).filter(|d| !d.is_empty())
    }
}

/// A stored file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct FileRow {
    /// Row id.
    pub id: FileId,
    /// The material item it is a scan of.
    pub material_id: MaterialId,
    /// The blob.
    pub sha256: String,
    /// The name it arrived with.
    pub original_name: String,
    /// Format code.
    pub format: String,
    /// Resolution.
    pub dpi: Option<i64>,
    /// Pages.
    pub pages: Option<i64>,
    /// PDF/A claim.
    pub pdfa: Option<String>,
    /// Meets the archival policy.
    pub archival: bool,
    /// Policy flags, space-separated.
    pub flags: String,
    /// The bytes were already stored for another file.
    pub duplicate: bool,
    /// 扫描人
    pub scanned_by: String,
    /// 扫描日期
    pub scan_date: NaiveDate,
    /// The canonical manifest that was sealed.
    pub manifest: String,
    /// The seal (signature, hex).
    pub seal: String,
    /// The signing key's id.
    pub seal_key_id: String,
    /// Ingested at.
    pub created_at: DateTime<Utc>,
    /// For a 保存副本 (preservation copy): the original it was made from.
    pub preservation_of: Option<FileId>,
}

/// A file to insert.
#[derive(Debug, Clone)]
pub struct NewFile<'a> {
    /// The material.
    pub material_id: MaterialId,
    /// The blob.
    pub sha256: &'a str,
    /// Original name.
    pub original_name: &'a str,
    /// Format code.
    pub format: &'a str,
    /// Resolution.
    pub dpi: Option<i64>,
    /// Pages.
    pub pages: Option<i64>,
    /// PDF/A claim.
    pub pdfa: Option<&'a str>,
    /// Archival.
    pub archival: bool,
    /// Flags.
    pub flags: &'a str,
    /// Duplicate of stored bytes.
    pub duplicate: bool,
    /// 扫描人
    pub scanned_by: &'a str,
    /// 扫描日期
    pub scan_date: NaiveDate,
    /// Ingested at.
    pub created_at: DateTime<Utc>,
    /// For a preservation copy: its original.
    pub preservation_of: Option<FileId>,
}

const FILE_COLUMNS: &str = "id, material_id, sha256, original_name, format, dpi, pages, pdfa, archival, flags, duplicate, scanned_by, scan_date, manifest, seal, seal_key_id, created_at, preservation_of";
const BLOB_COLUMNS: &str =
    "sha256, sm3, size, cipher, wrapped_key, master_key_id, verified_at, verify_ok";

/// The blob with this digest.
pub async fn blob(tx: &mut Tx, sha256: &str) -> StoreResult<Option<BlobRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {BLOB_COLUMNS} FROM blobs WHERE sha256 = $1"
    ));
    Ok(on_conn!(tx, c => sqlx::query_as(sql).bind(sha256).fetch_optional(c).await)?)
}

/// Records a new blob.
#[expect(clippy::too_many_arguments, reason = "one column each")]
pub async fn insert_blob(
    tx: &mut Tx,
    sha256: &str,
    sm3: &str,
    size: i64,
    cipher: &str,
    wrapped_key: &str,
    master_key_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("INSERT INTO blobs (sha256, sm3, size, cipher, wrapped_key, master_key_id, stored_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(sha256)
            .bind(sm3)
            .bind(size)
            .bind(cipher)
            .bind(wrapped_key)
            .bind(master_key_id)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Records a file; its manifest and seal are filled in by [`seal`] in the same transaction.
pub async fn insert(tx: &mut Tx, f: &NewFile<'_>) -> StoreResult<FileId> {
    let id = on_conn!(tx, c => {
        sqlx::query_scalar(
            "INSERT INTO files (material_id, sha256, original_name, format, dpi, pages, pdfa, archival, flags, duplicate, scanned_by, scan_date, manifest, seal, seal_key_id, created_at, preservation_of)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, '', '', '', $13, $14) RETURNING id",
        )
        .bind(f.material_id)
        .bind(f.sha256)
        .bind(f.original_name)
        .bind(f.format)
        .bind(f.dpi)
        .bind(f.pages)
        .bind(f.pdfa)
        .bind(f.archival)
        .bind(f.flags)
        .bind(f.duplicate)
        .bind(f.scanned_by)
        .bind(f.scan_date)
        .bind(f.created_at)
        .bind(f.preservation_of)
        .fetch_one(c)
        .await
    })?;
    Ok(FileId(id))
}

/// Stores a file's manifest (sealed at rest: it names the person's identity number) and seal.
pub async fn seal(
    tx: &mut Tx,
    id: FileId,
    manifest: &str,
    seal: &str,
    key_id: &str,
) -> StoreResult<()> {
    let stored = tx.seal_text(FILE_MANIFEST, &id.to_string(), manifest)?;
    on_conn!(tx, c => {
        sqlx::query("UPDATE files SET manifest = $1, seal = $2, seal_key_id = $3 WHERE id = $4")
            .bind(&stored)
            .bind(seal)
            .bind(key_id)
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// A manifest a file had before its current one, with its seal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestVersion {
    /// The manifest, canonical JSON.
    pub manifest: String,
    /// Its seal.
    pub seal: String,
    /// The key that made the seal.
    pub seal_key_id: String,
    /// When a newer manifest replaced it.
    pub superseded_at: DateTime<Utc>,
}

/// Replaces the manifest and seal of `current` (the file as just read in the caller's
/// transaction), keeping its present ones in its history.
pub async fn reissue(
    tx: &mut Tx,
    current: &FileRow,
    manifest: &str,
    seal_hex: &str,
    key_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let id = current.id;
    let kept = tx.seal_text(FILE_MANIFEST_HISTORY, &id.to_string(), &current.manifest)?;
    on_conn!(tx, c => {
        sqlx::query("INSERT INTO file_manifests (file_id, manifest, seal, seal_key_id, superseded_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(&kept)
            .bind(&current.seal)
            .bind(&current.seal_key_id)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    seal(tx, id, manifest, seal_hex, key_id).await
}

/// The manifests a file had before its current one, oldest first.
pub async fn manifest_history(tx: &mut Tx, id: FileId) -> StoreResult<Vec<ManifestVersion>> {
    let rows: Vec<(String, String, String, DateTime<Utc>)> = on_conn!(tx, c => {
        sqlx::query_as("SELECT manifest, seal, seal_key_id, superseded_at FROM file_manifests WHERE file_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(c)
            .await
    })?;
    rows.into_iter()
        .map(|(stored, seal, seal_key_id, superseded_at)| {
            Ok(ManifestVersion {
                manifest: tx.open_text(FILE_MANIFEST_HISTORY, &id.to_string(), &stored)?,
                seal,
                seal_key_id,
                superseded_at,
            })
        })
        .collect()
}

/// One file.
pub async fn get(tx: &mut Tx, id: FileId) -> StoreResult<Option<FileRow>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {FILE_COLUMNS} FROM files WHERE id = $1"));
    let row: Option<FileRow> =
        on_conn!(tx, c => sqlx::query_as(sql).bind(id).fetch_optional(c).await)?;
    row.map(|r| open_manifest(tx, r)).transpose()
}

/// The row with its manifest opened (an empty manifest is a file not sealed yet).
fn open_manifest(tx: &Tx, mut row: FileRow) -> StoreResult<FileRow> {
    if !row.manifest.is_empty() {
        row.manifest = tx.open_text(FILE_MANIFEST, &row.id.to_string(), &row.manifest)?;
    }
    Ok(row)
}

/// The files of a material item.
pub async fn for_material(tx: &mut Tx, material: MaterialId) -> StoreResult<Vec<FileRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {FILE_COLUMNS} FROM files WHERE material_id = $1 ORDER BY id"
    ));
    let rows: Vec<FileRow> =
        on_conn!(tx, c => sqlx::query_as(sql).bind(material).fetch_all(c).await)?;
    rows.into_iter().map(|r| open_manifest(tx, r)).collect()
}

/// File ids after `after`, at most `limit` (for verifying everything in pages).
pub async fn ids_after(tx: &mut Tx, after: i64, limit: i64) -> StoreResult<Vec<FileId>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_scalar("SELECT id FROM files WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(c)
            .await
    })?)
}

/// Every blob digest (to tell orphans from known blobs).
pub async fn all_blob_digests(tx: &mut Tx) -> StoreResult<Vec<String>> {
    Ok(on_conn!(tx, c => sqlx::query_scalar("SELECT sha256 FROM blobs").fetch_all(c).await)?)
}

/// Records the outcome of verifying a blob.
pub async fn record_verification(
    tx: &mut Tx,
    sha256: &str,
    ok: bool,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("UPDATE blobs SET verified_at = $1, verify_ok = $2 WHERE sha256 = $3")
            .bind(now)
            .bind(ok)
            .bind(sha256)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Blobs whose data key is not yet wrapped by the master key `key_id`, at most `limit`.
pub async fn blobs_not_wrapped_by(
    tx: &mut Tx,
    key_id: &str,
    limit: i64,
) -> StoreResult<Vec<BlobRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {BLOB_COLUMNS} FROM blobs WHERE master_key_id <> $1 ORDER BY sha256 LIMIT {}",
        limit.clamp(1, 10_000)
    ));
    Ok(on_conn!(tx, c => sqlx::query_as(sql).bind(key_id).fetch_all(c).await)?)
}

/// Replaces a blob's wrapped data key (key rotation; the blob itself is not touched).
pub async fn rewrap(tx: &mut Tx, sha256: &str, wrapped_key: &str, key_id: &str) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("UPDATE blobs SET wrapped_key = $1, master_key_id = $2 WHERE sha256 = $3")
            .bind(wrapped_key)
            .bind(key_id)
            .bind(sha256)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Whether a material item already has a file with these bytes (a re-run of a hot folder).
pub async fn material_has(tx: &mut Tx, material: MaterialId, sha256: &str) -> StoreResult<bool> {
    let n: i64 = on_conn!(tx, c => {
        sqlx::query_scalar("SELECT COUNT(*) FROM files WHERE material_id = $1 AND sha256 = $2")
            .bind(material)
            .bind(sha256)
            .fetch_one(c)
            .await
    })?;
    Ok(n > 0)
}

/// The file of a material item that holds these bytes, if any (a repeated upload).
pub async fn on_material(
    tx: &mut Tx,
    material: MaterialId,
    sha256: &str,
) -> StoreResult<Option<FileId>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_scalar("SELECT id FROM files WHERE material_id = $1 AND sha256 = $2 ORDER BY id LIMIT 1")
            .bind(material)
            .bind(sha256)
            .fetch_optional(c)
            .await
    })?)
}

/// Puts a hot-folder file on the quarantine list (once per name and content). The name is kept
/// as its keyed hash (for the once), masked (for lists) and sealed (for the archivist who must
/// find the file): an S6.1 name carries the person's identity number.
pub async fn quarantine(
    tx: &mut Tx,
    file_name: &str,
    masked_name: &str,
    sha256: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let (index, sealed) = quarantined_name(tx, file_name, sha256)?;
    on_conn!(tx, c => {
        sqlx::query(
            "INSERT INTO ingest_quarantine (file_name_hmac, file_name_masked, file_name_enc, sha256, reason, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (file_name_hmac, sha256) DO UPDATE SET reason = $5",
        )
        .bind(&index)
        .bind(masked_name)
        .bind(&sealed)
        .bind(sha256)
        .bind(reason)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// A quarantined file's name as stored: (keyed hash, sealed name bound to the content hash).
fn quarantined_name(tx: &Tx, file_name: &str, sha256: &str) -> StoreResult<(String, String)> {
    let index = tx.fields()?.index(file_name);
    Ok((index, tx.seal_text(QUARANTINE_NAME, sha256, file_name)?))
}

/// One file on the quarantine list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedFile {
    /// Row id.
    pub id: i64,
    /// The full file name (opened).
    pub file_name: String,
    /// The name with any identity number masked.
    pub masked_name: String,
    /// Why it is there.
    pub reason: String,
}

/// The unresolved quarantine list, oldest first.
pub async fn quarantined(tx: &mut Tx) -> StoreResult<Vec<QuarantinedFile>> {
    /// (id, content hash, masked name, sealed name, reason)
    type Stored = (i64, String, Option<String>, Option<String>, String);
    let rows: Vec<Stored> = on_conn!(tx, c => {
        sqlx::query_as("SELECT id, sha256, file_name_masked, file_name_enc, reason FROM ingest_quarantine WHERE resolved_at IS NULL ORDER BY id")
            .fetch_all(c)
            .await
    })?;
    rows.into_iter()
        .map(|(id, sha256, masked, sealed, reason)| {
            let sealed = sealed.ok_or_else(|| crate::StoreError::Corrupt {
                table: "ingest_quarantine",
                reason: format!("row {id} is not sealed yet (an older version's row)"),
            })?;
            Ok(QuarantinedFile {
                id,
                file_name: tx.open_text(QUARANTINE_NAME, &sha256, &sealed)?,
                masked_name: masked.unwrap_or_default(),
                reason,
            })
        })
        .collect()
}

/// Quarantined files an older version stored with the plain name (nothing sealed yet), a page:
/// (row id, plain name, content hash).
pub async fn unsealed_quarantine(
    tx: &mut Tx,
    limit: i64,
) -> StoreResult<Vec<(i64, String, String)>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as("SELECT id, file_name_hmac, sha256 FROM ingest_quarantine WHERE file_name_enc IS NULL ORDER BY id LIMIT $1")
            .bind(limit)
            .fetch_all(c)
            .await
    })?)
}

/// Seals the name of one quarantined file an older version stored in plain text.
pub async fn seal_quarantined_name(
    tx: &mut Tx,
    id: i64,
    file_name: &str,
    masked_name: &str,
    sha256: &str,
) -> StoreResult<()> {
    let (index, sealed) = quarantined_name(tx, file_name, sha256)?;
    on_conn!(tx, c => {
        sqlx::query("UPDATE ingest_quarantine SET file_name_hmac = $1, file_name_masked = $2, file_name_enc = $3 WHERE id = $4")
            .bind(&index)
            .bind(masked_name)
            .bind(&sealed)
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Stores a file's four-property report (JSON).
pub async fn set_checks(tx: &mut Tx, id: FileId, checks: &str) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("UPDATE files SET checks = $1 WHERE id = $2")
            .bind(checks)
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// A file's four-property report (JSON; empty for files ingested before it existed).
pub async fn checks(tx: &mut Tx, id: FileId) -> StoreResult<Option<String>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_scalar("SELECT checks FROM files WHERE id = $1").bind(id).fetch_optional(c).await
    })?)
}

/// A scan of a volume's material with its four-property report, for the list a seal asks to
/// acknowledge.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct VolumeScanChecks {
    /// The file.
    pub id: FileId,
    /// Its material.
    pub material_id: MaterialId,
    /// The name it arrived with.
    pub original_name: String,
    /// Its four-property report (JSON; empty for files ingested before it existed).
    pub checks: String,
}

/// The scans of a volume's materials with their four-property reports, in contents order
/// (one statement).
pub async fn checks_of_volume(tx: &mut Tx, volume: i64) -> StoreResult<Vec<VolumeScanChecks>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as(
            "SELECT f.id, f.material_id, f.original_name, f.checks
             FROM volume_items vi JOIN files f ON f.material_id = vi.material_id
             WHERE vi.volume_id = $1 ORDER BY vi.seq, f.id",
        )
        .bind(volume)
        .fetch_all(c)
        .await
    })?)
}

/// 巡检 — one run that re-verified every file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ScrubRun {
    /// Row id.
    pub id: i64,
    /// `schedule` (inside the server) or `manual` (`dangan verify`).
    pub trigger: String,
    /// Started.
    pub started_at: DateTime<Utc>,
    /// Finished; `None` while running or when the run was cut short.
    pub finished_at: Option<DateTime<Utc>>,
    /// Files verified.
    pub files_checked: i64,
    /// Files that failed.
    pub files_failed: i64,
    /// The failed files' ids, space-separated.
    pub failed_file_ids: String,
}

/// Records the start of a scrub run.
pub async fn start_scrub(tx: &mut Tx, trigger: &str, now: DateTime<Utc>) -> StoreResult<i64> {
    Ok(on_conn!(tx, c => {
        sqlx::query_scalar("INSERT INTO scrub_runs (trigger, started_at) VALUES ($1, $2) RETURNING id")
            .bind(trigger)
            .bind(now)
            .fetch_one(c)
            .await
    })?)
}

/// Records the end of a scrub run.
pub async fn finish_scrub(
    tx: &mut Tx,
    id: i64,
    checked: i64,
    failed: &[FileId],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let ids = failed
        .iter()
        .map(|f| f.0.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    on_conn!(tx, c => {
        sqlx::query(
            "UPDATE scrub_runs SET finished_at = $1, files_checked = $2, files_failed = $3, failed_file_ids = $4 WHERE id = $5",
        )
        .bind(now)
        .bind(checked)
        .bind(i64::try_from(failed.len()).unwrap_or(i64::MAX))
        .bind(ids)
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// The latest scrub runs, newest first.
pub async fn scrub_runs(tx: &mut Tx, limit: i64) -> StoreResult<Vec<ScrubRun>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as(
            "SELECT id, trigger, started_at, finished_at, files_checked, files_failed, failed_file_ids
             FROM scrub_runs ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(c)
        .await
    })?)
}

/// Deletes a file row; when no other file holds its blob, the blob row too (the blob itself
/// becomes an orphan for garbage collection). Returns whether the blob row went.
pub async fn delete(tx: &mut Tx, id: FileId, sha256: &str) -> StoreResult<bool> {
    // A preservation copy goes with its original.
    let copies: Vec<(i64, String)> = on_conn!(tx, c => {
        sqlx::query_as("SELECT id, sha256 FROM files WHERE preservation_of = $1")
            .bind(id)
            .fetch_all(c)
            .await
    })?;
    for (copy, copy_sha) in copies {
        Box::pin(delete(tx, FileId(copy), &copy_sha)).await?;
    }
    on_conn!(tx, c => {
        sqlx::query("DELETE FROM file_manifests WHERE file_id = $1")
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    on_conn!(tx, c => {
        sqlx::query("DELETE FROM files WHERE id = $1")
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    let others: i64 = on_conn!(tx, c => {
        sqlx::query_scalar("SELECT COUNT(*) FROM files WHERE sha256 = $1")
            .bind(sha256)
            .fetch_one(c)
            .await
    })?;
    if others > 0 {
        return Ok(false);
    }
    on_conn!(tx, c => {
        sqlx::query("DELETE FROM blobs WHERE sha256 = $1")
            .bind(sha256)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(true)
}

/// Files after `after` by id with their original names, a page (for the pass that masks the
/// identity numbers an older version kept in file names).
pub async fn names_page(tx: &mut Tx, after: i64, limit: i64) -> StoreResult<Vec<(i64, String)>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as("SELECT id, original_name FROM files WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(c)
            .await
    })?)
}

/// Replaces a file's original name (with the identity numbers in it masked).
pub async fn set_original_name(tx: &mut Tx, id: i64, name: &str) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("UPDATE files SET original_name = $1 WHERE id = $2")
            .bind(name)
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}
