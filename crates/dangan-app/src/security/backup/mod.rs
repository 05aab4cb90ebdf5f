//! 备份与恢复 (S6.3) — backup sets on one or more targets (a local directory on another disk, an
//! S3-compatible bucket), restore into a new data directory, and verification of a target's sets.
//!
//! A set lives under `sets/<id>/` of its target: the database snapshot (`VACUUM INTO` of SQLite,
//! or `pg_dump --format=custom`), encrypted as `database.sqlite.dgvb` / `database.pgdump.dgvb`
//! under a data key of its own wrapped by the master key (`snapshot.rs`); the blobs it carries
//! (`blobs/ab/<sha256>.dgvb`, copied as stored, already encrypted); then `manifest.sig` and last
//! `manifest.json`. Nothing in a set is readable without the agency's keys. A set without
//! `manifest.json` is incomplete and never used; the next run of its target removes it. A full
//! set carries every blob; an incremental one only those not in its chain (its previous sets
//! back to their full). The manifest lists every object with its size and SHA-256, records how
//! the snapshot is encrypted, and is signed with the agency's Ed25519 key. Restore is in
//! `restore.rs`; reading a target's sets in `sets.rs`; verifying them in `verify.rs`.

mod restore;
mod sets;
mod snapshot;
mod verify;

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use dangan_store::{StoreConfig, backups, files};

pub use dangan_store::backups::BackupRun;
use dangan_vault::store::blob_key;
use dangan_vault::{Target, VaultError};

pub use restore::{
    PendingRestore, RestoreError, RestoreInto, RestoreReport, refuse_unfinished_restore, restore,
};
use sets::{manifest_key, signature_key};

use crate::adapters::pg_tools::{PgToolError, pg_dump};
use crate::administration::roles::{Actor, UseCase};
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult};

/// The manifest's format name: the database snapshot is encrypted.
const FORMAT: &str = "dangan-backup-2";

/// The format of sets written before snapshots were encrypted (still restored).
const FORMAT_PLAIN_SNAPSHOT: &str = "dangan-backup-1";

/// Objects copied at the same time.
const COPIES_IN_FLIGHT: usize = 4;

/// One object of a set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectEntry {
    /// Key in the target.
    pub key: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256 of the stored bytes.
    pub sha256: String,
}

/// One blob carried by a set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobEntry {
    /// The blob's name (SHA-256 of its plaintext).
    pub blob: String,
    /// Where it is in the target, its size and the SHA-256 of its stored (encrypted) bytes.
    #[serde(flatten)]
    pub object: ObjectEntry,
}

/// How a set's database snapshot is encrypted: what is needed, with the master key, to read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotKey {
    /// `aes-256-gcm` or `sm4-gcm` (also in the object's header).
    pub cipher: String,
    /// The master key that wrapped the data key (current or, after a rotation, retired).
    pub master_key_id: String,
    /// The set's data key wrapped by that master key, hex (`docs/vault-format.md`).
    pub wrapped_key: String,
}

/// The database snapshot of a set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseEntry {
    /// Where it is, its size and the SHA-256 of its stored (encrypted) bytes.
    #[serde(flatten)]
    pub object: ObjectEntry,
    /// Its encryption (`dangan-backup-2`); absent in `dangan-backup-1` sets, whose snapshot is
    /// plain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<SnapshotKey>,
}

/// What a set holds; signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// `dangan-backup-2` (`dangan-backup-1`: written before snapshots were encrypted).
    pub format: String,
    /// The set's id (sortable by time).
    pub set: String,
    /// `full` or `incremental`.
    pub kind: String,
    /// The set this one builds on (incremental only).
    pub previous: Option<String>,
    /// The full set at the start of the chain (itself for a full set).
    pub base: String,
    /// When the snapshot was taken.
    pub created_at: DateTime<Utc>,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// The database snapshot.
    pub database: DatabaseEntry,
    /// The blobs this set carries.
    pub blobs: Vec<BlobEntry>,
    /// The id of the key that signed it.
    pub key_id: String,
}

/// What a backup run did.
#[derive(Debug, Clone, Serialize)]
pub struct BackupReport {
    /// The target's name.
    pub target: String,
    /// The set written.
    pub set: String,
    /// `full` or `incremental`.
    pub kind: String,
    /// Objects copied (blobs and the database).
    pub objects: u64,
    /// Bytes copied.
    pub bytes: u64,
    /// Sets removed by retention.
    pub retired: Vec<String>,
    /// Incomplete sets that earlier runs (killed or failed) left, removed before this one.
    pub cleared: Vec<String>,
}

/// The check of one set of a target.
#[derive(Debug, Clone, Serialize)]
pub struct SetCheck {
    /// The set.
    pub set: String,
    /// `manifest.json` is there (a set without it was cut short and is never used).
    pub complete: bool,
    /// Complete, signed, every object present with its digest, the snapshot decrypting, chain
    /// intact.
    pub ok: bool,
    /// What is wrong, in Chinese.
    pub problems: Vec<String>,
}

fn remote(e: VaultError) -> AppError {
    AppError::Internal(format!("备份目标读写失败：{e}"))
}

impl App {
    /// Writes a backup set to `target` (named `name` in status and logs): full when asked, when
    /// the target has no complete full set, or when its latest chain is broken; otherwise
    /// incremental on the latest set. `progress(done, total)` is called as blobs are copied.
    /// What earlier runs of this target left unfinished is removed first (one run per target at
    /// a time: a run still marked running is taken as dead, as the run status says); afterwards
    /// sets older than the `keep_fulls` newest full sets are removed. A failure is recorded (run
    /// status, operation log) and returned; the set it leaves has no manifest.
    pub async fn backup(
        &self,
        actor: &Actor,
        name: &str,
        target: &Target,
        full: bool,
        keep_fulls: usize,
        progress: impl Fn(u64, u64),
    ) -> AppResult<BackupReport> {
        self.authorize(actor, UseCase::RunBackups).await?;
        let now = Utc::now();
        let started_kind = if full { "full" } else { "auto" };
        let set_hint = now.format("%Y%m%dT%H%M%S%3fZ").to_string();
        let mut tx = self.store.begin_write().await?;
        let run = backups::start_run(&mut tx, name, &set_hint, started_kind, now).await?;
        tx.commit().await?;
        let result = self
            .write_set(name, target, full, keep_fulls, &set_hint, now, &progress)
            .await;
        let mut tx = self.store.begin_write().await?;
        match &result {
            Ok(r) => {
                backups::finish_run(
                    &mut tx,
                    run,
                    true,
                    &r.kind,
                    i64::try_from(r.objects).unwrap_or(i64::MAX),
                    i64::try_from(r.bytes).unwrap_or(i64::MAX),
                    "",
                    Utc::now(),
                )
                .await?;
                let op = Op::new("backup.set", "backup_target", name).detail(format!(
                    "{} {} {} objects {} bytes",
                    r.set, r.kind, r.objects, r.bytes
                ));
                self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
            }
            Err(e) => {
                let message = e.to_string();
                backups::finish_run(
                    &mut tx,
                    run,
                    false,
                    started_kind,
                    0,
                    0,
                    &message,
                    Utc::now(),
                )
                .await?;
                let op = Op::new("backup.set", "backup_target", name).detail(message);
                self.log_in(&mut tx, actor, &op, Outcome::Failed).await?;
            }
        }
        tx.commit().await?;
        result
    }

    #[expect(clippy::too_many_arguments, reason = "the run's parameters")]
    async fn write_set(
        &self,
        name: &str,
        target: &Target,
        full: bool,
        keep_fulls: usize,
        stamp: &str,
        now: DateTime<Utc>,
        progress: &impl Fn(u64, u64),
    ) -> AppResult<BackupReport> {
        let vault = self
            .vault
            .as_ref()
            .ok_or_else(|| AppError::Internal("no vault configured".to_owned()))?;
        let spool = self
            .settings
            .vault
            .as_ref()
            .map(|v| v.root.join("tmp"))
            .ok_or_else(|| AppError::Internal("no vault configured".to_owned()))?;
        let cleared = clear_unfinished(target, &spool, name).await?;
        let sets = sets::signed_sets(target, &self.keys)
            .await
            .map_err(remote)?;
        let plan = plan_set(&sets, full, stamp);

        // The database first: every blob it knows is already durable (a blob is written before
        // its row commits), so the blob list read afterwards covers it.
        tokio::fs::create_dir_all(&spool)
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let (backend, db_name) = match self.store_config {
            StoreConfig::Postgres(_) => ("postgres", "database.pgdump"),
            _ => ("sqlite", "database.sqlite"),
        };
        let database = self
            .encrypted_snapshot(target, &spool, name, &plan.set, db_name, vault.cipher())
            .await?;
        let source = vault.as_target();
        let blobs = self
            .copy_new_blobs(&source, target, &plan.set, &plan.known, progress)
            .await?;
        let bytes = database.object.size + blobs.iter().map(|b| b.object.size).sum::<u64>();
        let SetPlan {
            set,
            kind,
            previous,
            base,
            ..
        } = plan;
        let manifest = Manifest {
            format: FORMAT.to_owned(),
            set: set.clone(),
            kind: kind.to_owned(),
            previous,
            base,
            created_at: now,
            backend: backend.to_owned(),
            database,
            blobs,
            key_id: self.keys.key_id().to_owned(),
        };
        self.publish_manifest(target, &manifest).await?;
        let objects = manifest.blobs.len() as u64 + 1;
        let retired = self.retire_sets(target, keep_fulls).await?;
        tracing::info!(target = name, set = %set, kind, objects, bytes, "backup set written");
        Ok(BackupReport {
            target: name.to_owned(),
            set,
            kind: kind.to_owned(),
            objects,
            bytes,
            retired,
            cleared,
        })
    }

    /// Copies into `set` the blobs of the vault that the chain it builds on does not carry
    /// (`known`), several at a time; their entries, in blob order.
    async fn copy_new_blobs(
        &self,
        source: &Target,
        target: &Target,
        set: &str,
        known: &HashSet<&str>,
        progress: &impl Fn(u64, u64),
    ) -> AppResult<Vec<BlobEntry>> {
        let mut tx = self.store.begin().await?;
        let mut all = files::all_blob_digests(&mut tx).await?;
        tx.rollback().await?;
        all.sort();
        let todo: Vec<String> = all
            .iter()
            .filter(|b| !known.contains(b.as_str()))
            .cloned()
            .collect();
        let total = todo.len() as u64;
        // Several objects in flight: each one's fsync (or round trip) overlaps the others' work.
        let mut copies = futures_util::stream::iter(todo)
            .map(|blob| copy_blob(source, target, set, blob))
            .buffer_unordered(COPIES_IN_FLIGHT);
        let mut blobs = Vec::new();
        while let Some(entry) = copies.next().await {
            blobs.push(entry?);
            progress(blobs.len() as u64, total);
        }
        drop(copies);
        blobs.sort_by(|a, b| a.blob.cmp(&b.blob));
        Ok(blobs)
    }

    /// Signs the set's manifest and writes the signature, then the manifest.
    async fn publish_manifest(&self, target: &Target, manifest: &Manifest) -> AppResult<()> {
        let body =
            serde_json::to_vec_pretty(manifest).map_err(|e| AppError::Internal(e.to_string()))?;
        let sig = self.keys.sign(&body);
        // The signature first, the manifest last: only a finished set has a manifest.
        target
            .put(&signature_key(&manifest.set), sig.into_bytes())
            .await
            .map_err(remote)?;
        target
            .put(&manifest_key(&manifest.set), body)
            .await
            .map_err(remote)?;
        Ok(())
    }

    /// Takes the database snapshot into a private temporary file of the spool and encrypts it
    /// into `sets/<set>/<db_name>.dgvb` under a fresh data key. The plaintext file is removed
    /// whatever happens.
    async fn encrypted_snapshot(
        &self,
        target: &Target,
        spool: &std::path::Path,
        name: &str,
        set: &str,
        db_name: &str,
        cipher: dangan_vault::Cipher,
    ) -> AppResult<DatabaseEntry> {
        let io = |e: std::io::Error| AppError::Internal(format!("数据库快照临时文件：{e}"));
        let (plain, file) =
            snapshot::PlainFile::create(spool.join(snapshot::temp_name(name, set, db_name)))
                .map_err(io)?;
        // VACUUM INTO and pg_dump write into the empty file by name, keeping its mode.
        drop(file);
        self.snapshot_database(plain.path()).await?;
        let source = std::fs::File::open(plain.path()).map_err(io)?;
        let (data_key, encryption) =
            snapshot::new_key(cipher, &self.keys).map_err(|e| AppError::Internal(e.to_string()))?;
        let key = format!("sets/{set}/{db_name}.dgvb");
        let stored = target
            .write_encrypted(&key, source, cipher, &data_key)
            .await
            .map_err(remote)?;
        drop(plain);
        Ok(DatabaseEntry {
            object: ObjectEntry {
                key,
                size: stored.size,
                sha256: stored.sha256,
            },
            encryption: Some(encryption),
        })
    }

    /// A consistent copy of the database at `out` (an existing empty file).
    async fn snapshot_database(&self, out: &std::path::Path) -> AppResult<()> {
        match &self.store_config {
            StoreConfig::Postgres(url) => pg_dump(url, out).await.map_err(|e| match e {
                PgToolError::NotRun(e) => AppError::Internal(format!("无法运行 pg_dump：{e}")),
                PgToolError::Failed(e) => AppError::Internal(format!("pg_dump 失败：{e}")),
            }),
            _ => Ok(backups::sqlite_snapshot(&self.store, out).await?),
        }
    }

    /// Removes sets older than the `keep_fulls` newest complete full sets (incomplete sets
    /// among them too). The manifest goes first, so a set being removed is never mistaken for a
    /// complete one.
    async fn retire_sets(&self, target: &Target, keep_fulls: usize) -> AppResult<Vec<String>> {
        let sets = sets::signed_sets(target, &self.keys)
            .await
            .map_err(remote)?;
        let fulls: Vec<&Manifest> = sets.iter().filter(|m| m.kind == "full").collect();
        if keep_fulls == 0 || fulls.len() <= keep_fulls {
            return Ok(Vec::new());
        }
        let oldest_kept = fulls[fulls.len() - keep_fulls].set.clone();
        let mut retired = Vec::new();
        for set in sets::set_names(target).await.map_err(remote)? {
            if set < oldest_kept {
                target.delete(&manifest_key(&set)).await.map_err(remote)?;
                target
                    .delete_prefix(&format!("sets/{set}/"))
                    .await
                    .map_err(remote)?;
                retired.push(set);
            }
        }
        Ok(retired)
    }

    /// The latest backup runs of every target, newest first.
    pub async fn backup_runs(&self, actor: &Actor) -> AppResult<Vec<backups::BackupRun>> {
        self.authorize(actor, UseCase::ReadBackups).await?;
        let mut tx = self.store.begin().await?;
        let runs = backups::runs(&mut tx, 50).await?;
        tx.rollback().await?;
        Ok(runs)
    }
}

/// The next set of a target: its id, full or incremental, and what it builds on.
struct SetPlan<'a> {
    set: String,
    /// `full` or `incremental`.
    kind: &'static str,
    previous: Option<String>,
    base: String,
    /// The blobs the chain it builds on already carries.
    known: HashSet<&'a str>,
}

/// Plans the next set after the target's signed `sets`: full when asked, when there is none, or
/// when the latest chain is broken; otherwise incremental (增量) on the latest set.
fn plan_set<'a>(sets: &'a [Manifest], full: bool, stamp: &str) -> SetPlan<'a> {
    let latest = sets.last();
    let previous_chain = match latest {
        Some(m) if !full => sets::chain(sets, &m.set).ok(),
        _ => None,
    };
    let (kind, previous, base) = match (&previous_chain, latest) {
        (Some(c), Some(m)) => (
            "incremental",
            Some(m.set.clone()),
            c.last().map(|f| f.set.clone()).unwrap_or_default(),
        ),
        _ => ("full", None, String::new()),
    };
    let set = format!("{stamp}-{}", if kind == "full" { "full" } else { "incr" });
    let base = if kind == "full" { set.clone() } else { base };
    let known: HashSet<&str> = previous_chain
        .iter()
        .flatten()
        .flat_map(|m| m.blobs.iter().map(|b| b.blob.as_str()))
        .collect();
    SetPlan {
        set,
        kind,
        previous,
        base,
        known,
    }
}

/// Removes what earlier runs of this target left unfinished: sets without a manifest, the
/// target's temporaries of objects under `sets/`, and plaintext snapshots in the spool. Returns
/// the sets removed.
async fn clear_unfinished(
    target: &Target,
    spool: &std::path::Path,
    name: &str,
) -> AppResult<Vec<String>> {
    let mut cleared = Vec::new();
    for set in sets::set_names(target).await.map_err(remote)? {
        if !target.exists(&manifest_key(&set)).await.map_err(remote)? {
            target
                .delete_prefix(&format!("sets/{set}/"))
                .await
                .map_err(remote)?;
            cleared.push(set);
        }
    }
    target.remove_incoming("sets/").await.map_err(remote)?;
    snapshot::sweep(spool, name)
        .map_err(|e| AppError::Internal(format!("数据库快照临时文件：{e}")))?;
    if !cleared.is_empty() {
        tracing::info!(target = name, sets = ?cleared, "unfinished backup sets removed");
    }
    Ok(cleared)
}

async fn copy_blob(
    source: &Target,
    target: &Target,
    set: &str,
    blob: String,
) -> AppResult<BlobEntry> {
    let key = format!("sets/{set}/{}", blob_key(&blob));
    let c = source
        .copy_to(&blob_key(&blob), target, &key)
        .await
        .map_err(remote)?;
    Ok(BlobEntry {
        blob,
        object: ObjectEntry {
            key,
            size: c.size,
            sha256: c.sha256,
        },
    })
}
