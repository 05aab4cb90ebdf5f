//! 备份与恢复 (S6.3) — backup sets on one or more targets (a local directory on another disk, an
//! S3-compatible bucket), restore into a new data directory, and verification of a target's sets.
//!
//! A set lives under `sets/<id>/` of its target: the database snapshot (`database.sqlite` from
//! `VACUUM INTO`, or `database.pgdump` from `pg_dump --format=custom`), the blobs it carries
//! (`blobs/ab/<sha256>.dgvb`, already encrypted: a set is useless without the agency's keys),
//! then `manifest.sig` and last `manifest.json`. A set without `manifest.json` is incomplete and
//! never used. A full set carries every blob; an incremental one only those not in its chain
//! (its previous sets back to their full). The manifest lists every object with its size and
//! SHA-256 and is signed with the agency's Ed25519 key.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use dangan_store::{StoreConfig, backups, files};

pub use dangan_store::backups::BackupRun;
use dangan_vault::Target;
use dangan_vault::store::blob_key;

use crate::audit::{Op, Outcome};
use crate::keys::KeyRing;
use crate::roles::{Actor, UseCase};
use crate::{App, AppError, AppResult};

/// The manifest's format name.
const FORMAT: &str = "dangan-backup-1";

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

/// What a set holds; signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// `dangan-backup-1`.
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
    pub database: ObjectEntry,
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
}

/// The check of one set of a target.
#[derive(Debug, Clone, Serialize)]
pub struct SetCheck {
    /// The set.
    pub set: String,
    /// `manifest.json` is there (a set without it was cut short and is never used).
    pub complete: bool,
    /// Complete, signed, every object present with its digest, chain intact.
    pub ok: bool,
    /// What is wrong, in Chinese.
    pub problems: Vec<String>,
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    /// The set restored.
    pub set: String,
    /// The sets read, newest first, down to the full one.
    pub chain: Vec<String>,
    /// Blobs restored.
    pub blobs: u64,
    /// Bytes of blobs restored.
    pub bytes: u64,
}

fn remote(e: dangan_vault::VaultError) -> AppError {
    AppError::Internal(format!("备份目标读写失败：{e}"))
}

fn manifest_key(set: &str) -> String {
    format!("sets/{set}/manifest.json")
}

fn signature_key(set: &str) -> String {
    format!("sets/{set}/manifest.sig")
}

/// Reads and checks the signature of a set's manifest; `Ok(None)` when the set is incomplete.
async fn load_manifest(
    target: &Target,
    set: &str,
    keys: &KeyRing,
) -> AppResult<Option<Result<Manifest, String>>> {
    if !target.exists(&manifest_key(set)).await.map_err(remote)? {
        return Ok(None);
    }
    let bytes = target.get(&manifest_key(set)).await.map_err(remote)?;
    let sig = match target.get(&signature_key(set)).await {
        Ok(s) => String::from_utf8_lossy(&s).trim().to_owned(),
        Err(dangan_vault::VaultError::Missing(_)) => {
            return Ok(Some(Err("缺少清单签名".to_owned())));
        }
        Err(e) => return Err(remote(e)),
    };
    if !keys.verify(&bytes, &sig) {
        return Ok(Some(Err(
            "清单签名无效（清单被修改，或不是本机构密钥所签）".to_owned(),
        )));
    }
    match serde_json::from_slice::<Manifest>(&bytes) {
        Ok(m) if m.format == FORMAT && m.set == set => Ok(Some(Ok(m))),
        Ok(_) => Ok(Some(Err("清单格式或编号不符".to_owned()))),
        Err(e) => Ok(Some(Err(format!("清单无法读取：{e}")))),
    }
}

/// Every complete, validly signed set of a target, oldest first.
async fn complete_sets(target: &Target, keys: &KeyRing) -> AppResult<Vec<Manifest>> {
    let mut out = Vec::new();
    for set in target.list_dirs("sets").await.map_err(remote)? {
        if let Some(Ok(m)) = load_manifest(target, &set, keys).await? {
            out.push(m);
        }
    }
    Ok(out)
}

/// The chain of `set`: itself, then its previous sets back to the full one, newest first.
fn chain<'a>(sets: &'a [Manifest], set: &str) -> Result<Vec<&'a Manifest>, String> {
    let by_id: BTreeMap<&str, &Manifest> = sets.iter().map(|m| (m.set.as_str(), m)).collect();
    let mut out = Vec::new();
    let mut at = set.to_owned();
    loop {
        let Some(m) = by_id.get(at.as_str()) else {
            return Err(format!("备份集 {at} 不存在或不完整，链条断开"));
        };
        out.push(*m);
        match (&m.kind[..], &m.previous) {
            ("full", _) => return Ok(out),
            (_, Some(p)) => at = p.clone(),
            (_, None) => return Err(format!("增量备份集 {at} 没有上一备份集")),
        }
        if out.len() > 10_000 {
            return Err("备份链过长或成环".to_owned());
        }
    }
}

impl App {
    /// Writes a backup set to `target` (named `name` in status and logs): full when asked, when
    /// the target has no complete full set, or when its latest chain is broken; otherwise
    /// incremental on the latest set. `progress(done_bytes)` is called as blobs are copied.
    /// Afterwards sets older than the `keep_fulls` newest full sets are removed. A failure is
    /// recorded (run status, operation log) and returned; the set it leaves has no manifest.
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
        let sets = complete_sets(target, &self.keys).await?;
        let latest = sets.last();
        let previous_chain = match latest {
            Some(m) if !full => chain(&sets, &m.set).ok(),
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

        // The database first: every blob it knows is already durable (a blob is written before
        // its row commits), so the blob list read afterwards covers it.
        tokio::fs::create_dir_all(&spool)
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let (backend, db_name) = match self.store_config {
            StoreConfig::Postgres(_) => ("postgres", "database.pgdump"),
            _ => ("sqlite", "database.sqlite"),
        };
        let snapshot = spool.join(format!("{set}.{db_name}"));
        let _ = tokio::fs::remove_file(&snapshot).await;
        let taken = self.snapshot_database(&snapshot).await;
        let copied = match taken {
            Ok(()) => Target::Local(spool.clone())
                .copy_to(
                    &format!("{set}.{db_name}"),
                    target,
                    &format!("sets/{set}/{db_name}"),
                )
                .await
                .map_err(remote),
            Err(e) => Err(e),
        };
        let _ = tokio::fs::remove_file(&snapshot).await;
        let db = copied?;
        let database = ObjectEntry {
            key: format!("sets/{set}/{db_name}"),
            size: db.size,
            sha256: db.sha256,
        };
        let mut tx = self.store.begin().await?;
        let mut all = files::all_blob_digests(&mut tx).await?;
        tx.rollback().await?;
        all.sort();
        let source = vault.as_target();
        let todo: Vec<String> = all
            .iter()
            .filter(|b| !known.contains(b.as_str()))
            .cloned()
            .collect();
        let total = todo.len() as u64;
        // Several objects in flight: each one's fsync (or round trip) overlaps the others' work.
        let mut copies = futures_util::stream::iter(todo)
            .map(|blob| copy_blob(&source, target, &set, blob))
            .buffer_unordered(COPIES_IN_FLIGHT);
        let mut blobs = Vec::new();
        while let Some(entry) = copies.next().await {
            blobs.push(entry?);
            progress(blobs.len() as u64, total);
        }
        drop(copies);
        blobs.sort_by(|a, b| a.blob.cmp(&b.blob));
        let bytes = database.size + blobs.iter().map(|b| b.object.size).sum::<u64>();
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
        let body =
            serde_json::to_vec_pretty(&manifest).map_err(|e| AppError::Internal(e.to_string()))?;
        let sig = self.keys.sign(&body);
        // The signature first, the manifest last: only a finished set has a manifest.
        target
            .put(&signature_key(&set), sig.into_bytes())
            .await
            .map_err(remote)?;
        target
            .put(&manifest_key(&set), body)
            .await
            .map_err(remote)?;
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
        })
    }

    /// A consistent copy of the database at `out`.
    async fn snapshot_database(&self, out: &Path) -> AppResult<()> {
        match &self.store_config {
            StoreConfig::Postgres(url) => {
                let status = tokio::process::Command::new("pg_dump")
                    .args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
                    .arg(out)
                    .arg("--dbname")
                    .arg(url)
                    .stderr(std::process::Stdio::piped())
                    .output()
                    .await
                    .map_err(|e| AppError::Internal(format!("无法运行 pg_dump：{e}")))?;
                if !status.status.success() {
                    return Err(AppError::Internal(format!(
                        "pg_dump 失败：{}",
                        String::from_utf8_lossy(&status.stderr).trim()
                    )));
                }
                Ok(())
            }
            _ => Ok(backups::sqlite_snapshot(&self.store, out).await?),
        }
    }

    /// Removes sets older than the `keep_fulls` newest complete full sets (incomplete sets
    /// among them too). The manifest goes first, so a set being removed is never mistaken for a
    /// complete one.
    async fn retire_sets(&self, target: &Target, keep_fulls: usize) -> AppResult<Vec<String>> {
        let sets = complete_sets(target, &self.keys).await?;
        let fulls: Vec<&Manifest> = sets.iter().filter(|m| m.kind == "full").collect();
        if keep_fulls == 0 || fulls.len() <= keep_fulls {
            return Ok(Vec::new());
        }
        let oldest_kept = fulls[fulls.len() - keep_fulls].set.clone();
        let mut retired = Vec::new();
        for set in target.list_dirs("sets").await.map_err(remote)? {
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

    /// Checks every set of a target without restoring: signature, every object's presence,
    /// size and SHA-256, and that each chain reaches its full set.
    pub async fn verify_backups(&self, actor: &Actor, target: &Target) -> AppResult<Vec<SetCheck>> {
        self.authorize(actor, UseCase::ReadBackups).await?;
        let names = target.list_dirs("sets").await.map_err(remote)?;
        let mut good = Vec::new();
        let mut checks = Vec::new();
        for set in &names {
            let mut problems = Vec::new();
            let m = match load_manifest(target, set, &self.keys).await? {
                None => {
                    checks.push(SetCheck {
                        set: set.clone(),
                        complete: false,
                        ok: false,
                        problems: vec!["未完成的备份集（没有清单），不会用于恢复".to_owned()],
                    });
                    continue;
                }
                Some(Err(p)) => {
                    checks.push(SetCheck {
                        set: set.clone(),
                        complete: true,
                        ok: false,
                        problems: vec![p],
                    });
                    continue;
                }
                Some(Ok(m)) => m,
            };
            let objects = std::iter::once(&m.database).chain(m.blobs.iter().map(|b| &b.object));
            for o in objects {
                match target.digest(&o.key).await {
                    Ok(d) if d.size == o.size && d.sha256 == o.sha256 => {}
                    Ok(_) => {
                        problems.push(format!("对象 {} 的摘要或大小不符（被修改或损坏）", o.key))
                    }
                    Err(dangan_vault::VaultError::Missing(_)) => {
                        problems.push(format!("对象 {} 缺失", o.key));
                    }
                    Err(e) => problems.push(format!("对象 {} 无法读取：{e}", o.key)),
                }
            }
            checks.push(SetCheck {
                set: set.clone(),
                complete: true,
                ok: problems.is_empty(),
                problems,
            });
            good.push(m);
        }
        // Chains: a set is only as good as every set it builds on.
        let ok_sets: HashSet<String> = checks
            .iter()
            .filter(|c| c.ok)
            .map(|c| c.set.clone())
            .collect();
        for c in checks.iter_mut().filter(|c| c.complete) {
            match chain(&good, &c.set) {
                Ok(links) => {
                    for l in links.iter().skip(1) {
                        if !ok_sets.contains(&l.set) {
                            c.ok = false;
                            c.problems.push(format!("所依赖的备份集 {} 有问题", l.set));
                        }
                    }
                }
                Err(p) => {
                    c.ok = false;
                    c.problems.push(p);
                }
            }
        }
        let failed = checks.iter().filter(|c| c.complete && !c.ok).count();
        let outcome = if failed == 0 {
            Outcome::Ok
        } else {
            Outcome::Failed
        };
        self.log(
            actor,
            &Op::new("backup.verify", "backup_target", "")
                .detail(format!("{} sets, {failed} failed", checks.len())),
            outcome,
        )
        .await?;
        Ok(checks)
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

async fn restore_blob(
    target: &Target,
    vault: &Target,
    blob: String,
    o: ObjectEntry,
) -> AppResult<u64> {
    // Resuming: a blob already restored whole is not copied again.
    if vault.exists(&blob_key(&blob)).await.map_err(remote)?
        && let Ok(have) = vault.digest(&blob_key(&blob)).await
        && have.sha256 == o.sha256
        && have.size == o.size
    {
        return Ok(have.size);
    }
    let c = target
        .copy_to(&o.key, vault, &blob_key(&blob))
        .await
        .map_err(remote)?;
    if c.sha256 != o.sha256 || c.size != o.size {
        let _ = vault.delete(&blob_key(&blob)).await;
        return Err(AppError::Internal(format!(
            "数据块 {blob} 的摘要与清单不符，备份已损坏"
        )));
    }
    Ok(c.size)
}

/// Copies the set's database snapshot into place (SQLite) or through `pg_restore`.
async fn restore_database(
    target: &Target,
    head: &Manifest,
    here: &Target,
    data_dir: &Path,
    config: &StoreConfig,
) -> AppResult<()> {
    let db_file = match head.backend.as_str() {
        "sqlite" => "dangan.db".to_owned(),
        _ => "restore.pgdump".to_owned(),
    };
    let copied = target
        .copy_to(&head.database.key, here, &db_file)
        .await
        .map_err(remote)?;
    if copied.sha256 != head.database.sha256 {
        let _ = tokio::fs::remove_file(data_dir.join(&db_file)).await;
        return Err(AppError::Internal(
            "数据库快照的摘要与清单不符，备份已损坏".to_owned(),
        ));
    }
    if let StoreConfig::Postgres(url) = config {
        let dump = data_dir.join(&db_file);
        let out = tokio::process::Command::new("pg_restore")
            .args([
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--dbname",
            ])
            .arg(url)
            .arg(&dump)
            .output()
            .await
            .map_err(|e| AppError::Internal(format!("无法运行 pg_restore：{e}")))?;
        let _ = tokio::fs::remove_file(&dump).await;
        if !out.status.success() {
            return Err(AppError::Internal(format!(
                "pg_restore 失败：{}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
    }
    Ok(())
}

/// Where a restore puts things.
#[derive(Debug, Clone)]
pub struct RestoreInto {
    /// The new data directory (must hold no database yet).
    pub data_dir: PathBuf,
    /// A PostgreSQL database to restore into (empty, or holding only what may be dropped)
    /// when the set is from PostgreSQL.
    pub database_url: Option<String>,
}

/// 恢复 — rebuilds a working instance from `set` (default: the newest complete set) of
/// `target` and the sets it builds on: the database snapshot, then every blob that database
/// knows, each checked against its manifest digest. `keys` must be the agency's keys (imported
/// with `dangan key import`); manifests signed by another key are refused.
pub async fn restore(
    target: &Target,
    set: Option<&str>,
    keys: &KeyRing,
    into: &RestoreInto,
    progress: impl Fn(u64, u64),
) -> AppResult<RestoreReport> {
    let sets = complete_sets(target, keys).await?;
    let chosen = match set {
        Some(s) => s.to_owned(),
        None => sets
            .last()
            .map(|m| m.set.clone())
            .ok_or_else(|| AppError::not_found("no_backup", "该备份目标没有完整的备份集"))?,
    };
    let links = chain(&sets, &chosen)
        .map_err(|p| AppError::invalid_with("backup_chain_broken", Some("set"), p))?;
    let head = links[0];
    let db_path = into.data_dir.join("dangan.db");
    // A restore that was cut short leaves this marker naming its set and whether the database
    // step finished; running the same restore again resumes there.
    let marker = into.data_dir.join("restore.incomplete");
    let resumed = tokio::fs::read_to_string(&marker).await.ok();
    let db_done = resumed.as_deref() == Some(&format!("{chosen} database-done")[..]);
    if let Some(r) = &resumed
        && !r.starts_with(&format!("{chosen} "))
    {
        return Err(AppError::Conflict {
            code: "other_restore_pending",
            field: Some("set".to_owned()),
            message: format!("该目录有未完成的另一次恢复（{}），请换用新目录", r.trim()),
        });
    }
    let config = match (head.backend.as_str(), &into.database_url) {
        ("sqlite", _) => {
            if resumed.is_none() && tokio::fs::try_exists(&db_path).await.unwrap_or(false) {
                return Err(AppError::Conflict {
                    code: "data_dir_not_empty",
                    field: Some("data_dir".to_owned()),
                    message: "目标数据目录已有数据库，请指定新的目录".to_owned(),
                });
            }
            StoreConfig::SqliteFile(db_path.clone())
        }
        ("postgres", Some(url)) => StoreConfig::Postgres(url.clone()),
        ("postgres", None) => {
            return Err(AppError::invalid_with(
                "database_url_required",
                Some("database_url"),
                "该备份来自 PostgreSQL，请用 --database-url 指定要恢复到的数据库",
            ));
        }
        (other, _) => {
            return Err(AppError::Internal(format!("unknown backend {other}")));
        }
    };
    tokio::fs::create_dir_all(&into.data_dir)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let here = Target::local(&into.data_dir).await.map_err(remote)?;
    here.put(
        "restore.incomplete",
        format!("{chosen} started").into_bytes(),
    )
    .await
    .map_err(remote)?;
    if !db_done {
        restore_database(target, head, &here, &into.data_dir, &config).await?;
        here.put(
            "restore.incomplete",
            format!("{chosen} database-done").into_bytes(),
        )
        .await
        .map_err(remote)?;
    }
    let store = dangan_store::Store::connect(&config).await?;
    let mut tx = store.begin().await?;
    let needed = files::all_blob_digests(&mut tx).await?;
    tx.rollback().await?;
    store.close().await;
    // Newest first: the first set of the chain that carries a blob is where it is read.
    let mut whereis: BTreeMap<&str, &ObjectEntry> = BTreeMap::new();
    for m in links.iter().rev() {
        for b in &m.blobs {
            whereis.insert(b.blob.as_str(), &b.object);
        }
    }
    let vault = Target::local(&into.data_dir.join("vault"))
        .await
        .map_err(remote)?;
    let total = needed.len() as u64;
    for blob in &needed {
        if !whereis.contains_key(blob.as_str()) {
            return Err(AppError::Internal(format!(
                "备份不完整：数据块 {blob} 不在备份链中"
            )));
        }
    }
    let mut copies = futures_util::stream::iter(needed)
        .map(|blob| {
            let o = whereis[blob.as_str()].clone();
            restore_blob(target, &vault, blob, o)
        })
        .buffer_unordered(COPIES_IN_FLIGHT);
    let (mut blobs, mut bytes) = (0u64, 0u64);
    while let Some(size) = copies.next().await {
        blobs += 1;
        bytes += size?;
        progress(blobs, total);
    }
    here.delete("restore.incomplete").await.map_err(remote)?;
    Ok(RestoreReport {
        set: chosen,
        chain: links.iter().map(|m| m.set.clone()).collect(),
        blobs,
        bytes,
    })
}
