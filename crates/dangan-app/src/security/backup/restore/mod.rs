//! 恢复 — rebuilds a working instance from a target's set and the sets it builds on, into a new
//! data directory (and, for a PostgreSQL set, a given database).
//!
//! It never misleads. The set restored is the newest on the target unless `--set` names
//! another: a newest set that is cut short or damaged (signature, a missing or changed object, a
//! snapshot that does not decrypt, a broken chain) stops the restore, naming the set and why, and
//! the older set to fall back on is the operator's explicit choice. Objects are checked for
//! presence and size before anything is written, and each against its digest as it is read. A
//! restore cut short leaves `restore.incomplete` in the data directory; no command opens the
//! store there ([`refuse_unfinished_restore`]) until the same restore has been run again, which
//! resumes where it stopped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use serde::Serialize;

use dangan_store::{StoreConfig, files};
use dangan_vault::store::blob_key;
use dangan_vault::{Target, VaultError};

use super::sets::{self, SetState};
use super::snapshot::{self, KeyProblem, PlainFile};
use super::{COPIES_IN_FLIGHT, Manifest, ObjectEntry};
use crate::adapters::pg_tools::{PgToolError, pg_restore};
use crate::security::keyring::KeyRing;

mod errors;
mod pending;

pub use errors::{Alternative, RestoreError};
use errors::{Stop, damaged, io, snapshot_failure, unreadable, written};
use pending::{MARKER, put_marker};
pub use pending::{PendingRestore, refuse_unfinished_restore};

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
    /// Sets on the target newer than the one restored (chosen with `--set`), not restored.
    pub newer: Vec<String>,
}

/// Where a restore puts things.
#[derive(Debug, Clone)]
pub struct RestoreInto {
    /// The new data directory (must hold no database yet).
    pub data_dir: PathBuf,
    /// A PostgreSQL database to restore into (empty, or holding only what may be dropped)
    /// when the set is from PostgreSQL.
    pub database_url: Option<String>,
    /// The target's name as configured (`local`, `cloud`): recorded in the marker of an
    /// unfinished restore, so that the refusal to open the directory can say how to resume.
    pub target_name: String,
}

/// 恢复 — rebuilds a working instance from `set` (default: the newest set of `target`, which
/// must then be whole) and the sets it builds on: the database snapshot (decrypted with the
/// master key its manifest names, retired ones included), then every blob that database knows,
/// each checked against its manifest digest. `keys` must be the agency's keys (imported with
/// `dangan key import`); manifests signed by another key are not trusted.
pub async fn restore(
    target: &Target,
    set: Option<&str>,
    keys: &KeyRing,
    into: &RestoreInto,
    progress: impl Fn(u64, u64),
) -> Result<RestoreReport, RestoreError> {
    let names = sets::set_names(target).await.map_err(unreadable)?;
    let chosen = match set {
        Some(s) if names.iter().any(|n| n == s) => s.to_owned(),
        Some(s) => return Err(RestoreError::SetNotFound(s.to_owned())),
        None => names.last().cloned().ok_or(RestoreError::NoBackup)?,
    };
    match run(target, &chosen, keys, into, progress).await {
        Ok(mut report) => {
            report.newer = names.into_iter().filter(|n| *n > chosen).collect();
            Ok(report)
        }
        Err(Stop::Error(e)) => Err(e),
        Err(Stop::Damaged {
            link,
            reason,
            incomplete,
        }) => {
            let alternative = alternative(target, keys, &chosen, &link).await;
            Err(match (incomplete, link == chosen) {
                (true, true) => RestoreError::SetIncomplete {
                    set: chosen,
                    alternative,
                },
                (_, true) => RestoreError::SetDamaged {
                    set: chosen,
                    reason,
                    alternative,
                },
                (_, false) => RestoreError::SetDamaged {
                    set: chosen,
                    reason: format!("它所依赖的备份集 {link} 有问题：{reason}"),
                    alternative,
                },
            })
        }
    }
}

/// The newest set older than `chosen` whose manifests are signed, whose chain is whole and does
/// not pass through `bad`.
async fn alternative(target: &Target, keys: &KeyRing, chosen: &str, bad: &str) -> Alternative {
    let Ok(signed) = sets::signed_sets(target, keys).await else {
        return Alternative(None);
    };
    Alternative(
        signed
            .iter()
            .rev()
            .filter(|m| m.set.as_str() < chosen)
            .find(|m| {
                sets::chain(&signed, &m.set)
                    .is_ok_and(|links| links.iter().all(|l| l.set != bad && l.set != chosen))
            })
            .map(|m| m.set.clone()),
    )
}

/// Reads the chain of `chosen`, newest first, stopping at the first set that is not whole.
async fn checked_chain(
    target: &Target,
    chosen: &str,
    keys: &KeyRing,
) -> Result<Vec<Manifest>, Stop> {
    let names = sets::set_names(target).await.map_err(unreadable)?;
    let mut links: Vec<Manifest> = Vec::new();
    let mut at = chosen.to_owned();
    loop {
        if !names.contains(&at) {
            return Err(damaged(&at, "该备份集不存在（已被删除），备份链断开"));
        }
        let m = match sets::read_set(target, &at, keys)
            .await
            .map_err(unreadable)?
        {
            SetState::Incomplete => {
                return Err(Stop::Damaged {
                    link: at,
                    reason: "未完成（没有清单）".to_owned(),
                    incomplete: true,
                });
            }
            SetState::Damaged(reason) => return Err(damaged(&at, reason)),
            SetState::Signed(m) => *m,
        };
        let next = match (m.kind.as_str(), &m.previous) {
            ("full", _) => None,
            (_, Some(p)) => Some(p.clone()),
            (_, None) => return Err(damaged(&at, "增量备份集没有上一备份集")),
        };
        links.push(m);
        match next {
            None => return Ok(links),
            Some(p) if links.len() < 10_000 => at = p,
            Some(_) => return Err(damaged(chosen, "备份链过长或成环")),
        }
    }
}

/// Every object of every set of the chain is there with its size: a missing or cut object
/// stops the restore before anything is written.
async fn check_presence(target: &Target, links: &[Manifest]) -> Result<(), Stop> {
    for m in links {
        let listed = target
            .list_sizes(&format!("sets/{}/", m.set))
            .await
            .map_err(unreadable)?;
        let objects = std::iter::once(&m.database.object).chain(m.blobs.iter().map(|b| &b.object));
        for o in objects {
            match listed.get(&o.key) {
                None => return Err(damaged(&m.set, format!("对象 {} 缺失", o.key))),
                Some(&size) if size != o.size => {
                    return Err(damaged(
                        &m.set,
                        format!("对象 {} 的大小与清单不符（被修改或截断）", o.key),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

/// Restores the chain of `chosen` (read and checked first) into `into`, resuming a restore of
/// the same set that was cut short.
async fn run(
    target: &Target,
    chosen: &str,
    keys: &KeyRing,
    into: &RestoreInto,
    progress: impl Fn(u64, u64),
) -> Result<RestoreReport, Stop> {
    let links = checked_chain(target, chosen, keys).await?;
    let head = &links[0];
    // The snapshot's key before anything is written: a missing master key is said first.
    let data_key = snapshot_key(head, keys)?;
    check_presence(target, &links).await?;

    // A restore that was cut short leaves its marker; running the same restore again resumes.
    let pending = PendingRestore::find(&into.data_dir);
    if let Some(p) = &pending
        && p.set != chosen
    {
        return Err(RestoreError::OtherRestorePending(p.set.clone()).into());
    }
    let db_done = pending.as_ref().is_some_and(|p| p.database_done);
    let config = store_config(head, into, pending.is_some()).await?;
    let dir_text = format!("写入数据目录 {}", into.data_dir.display());
    tokio::fs::create_dir_all(&into.data_dir)
        .await
        .map_err(io(dir_text.clone()))?;
    let here = Target::local(&into.data_dir)
        .await
        .map_err(written(&dir_text))?;
    let mark = |database_done: bool| PendingRestore {
        set: chosen.to_owned(),
        target: Some(into.target_name.clone()),
        backend: Some(head.backend.clone()),
        database_done,
    };
    if !db_done {
        put_marker(&here, &mark(false), &dir_text).await?;
        restore_database(target, head, data_key.as_deref(), &into.data_dir, &config).await?;
        put_marker(&here, &mark(true), &dir_text).await?;
    }
    let needed = blobs_needed(&config).await?;
    let whereis = blob_locations(&links, &needed, chosen)?;
    let (blobs, bytes) = restore_blobs(target, &into.data_dir, needed, &whereis, progress).await?;
    here.delete(MARKER).await.map_err(written(&dir_text))?;
    Ok(RestoreReport {
        set: chosen.to_owned(),
        chain: links.iter().map(|m| m.set.clone()).collect(),
        blobs,
        bytes,
        newer: Vec::new(),
    })
}

/// The data key of the set's database snapshot, unwrapped with the master key its manifest
/// names; `None` for a snapshot stored unencrypted.
fn snapshot_key(head: &Manifest, keys: &KeyRing) -> Result<Option<Vec<u8>>, Stop> {
    Ok(match &head.database.encryption {
        None => None,
        Some(enc) => match snapshot::data_key(enc, keys) {
            Ok(k) => Some(k),
            Err(KeyProblem::MasterMissing(id)) => {
                return Err(Stop::Error(RestoreError::KeyMissing {
                    set: head.set.clone(),
                    master_key_id: id,
                }));
            }
            Err(KeyProblem::Unusable) => {
                return Err(damaged(
                    &head.set,
                    "数据库快照的密钥无法解开（清单记录不符）",
                ));
            }
        },
    })
}

/// Where the set's database goes: the SQLite file of the new data directory (which must hold
/// none yet, unless a restore is `resuming`), or the PostgreSQL database given.
async fn store_config(
    head: &Manifest,
    into: &RestoreInto,
    resuming: bool,
) -> Result<StoreConfig, Stop> {
    let db_path = into.data_dir.join("dangan.db");
    Ok(match (head.backend.as_str(), &into.database_url) {
        ("sqlite", _) => {
            if !resuming && tokio::fs::try_exists(&db_path).await.unwrap_or(false) {
                return Err(RestoreError::DataDirNotEmpty.into());
            }
            StoreConfig::SqliteFile(db_path)
        }
        ("postgres", Some(url)) => StoreConfig::Postgres(url.clone()),
        ("postgres", None) => return Err(RestoreError::DatabaseUrlRequired.into()),
        (other, _) => {
            return Err(damaged(&head.set, format!("数据库类型 {other} 无法识别")));
        }
    })
}

/// The digests of every blob the restored database knows.
async fn blobs_needed(config: &StoreConfig) -> Result<Vec<String>, Stop> {
    let store = dangan_store::Store::connect(config)
        .await
        .map_err(|e| RestoreError::Database(e.to_string()))?;
    let needed = async {
        let mut tx = store.begin().await?;
        let needed = files::all_blob_digests(&mut tx).await?;
        tx.rollback().await?;
        Ok::<_, dangan_store::StoreError>(needed)
    }
    .await;
    store.close().await;
    needed.map_err(|e| RestoreError::Database(e.to_string()).into())
}

/// Where each needed blob is read: the newest set of the chain that carries it. A blob the
/// database knows that no set carries makes the chain damaged.
fn blob_locations<'a>(
    links: &'a [Manifest],
    needed: &[String],
    chosen: &str,
) -> Result<BTreeMap<&'a str, (&'a str, &'a ObjectEntry)>, Stop> {
    // Newest first: the first set of the chain that carries a blob is where it is read.
    let mut whereis: BTreeMap<&str, (&str, &ObjectEntry)> = BTreeMap::new();
    for m in links.iter().rev() {
        for b in &m.blobs {
            whereis.insert(b.blob.as_str(), (m.set.as_str(), &b.object));
        }
    }
    for blob in needed {
        if !whereis.contains_key(blob.as_str()) {
            return Err(damaged(
                chosen,
                format!("数据库记录的数据块 {blob} 不在备份链中"),
            ));
        }
    }
    Ok(whereis)
}

/// Copies the needed blobs into the vault of the new data directory, several at a time, each
/// checked against its digest: how many, and their bytes.
async fn restore_blobs(
    target: &Target,
    data_dir: &Path,
    needed: Vec<String>,
    whereis: &BTreeMap<&str, (&str, &ObjectEntry)>,
    progress: impl Fn(u64, u64),
) -> Result<(u64, u64), Stop> {
    let vault_dir = data_dir.join("vault");
    let vault = Target::local(&vault_dir)
        .await
        .map_err(written(&format!("写入 {}", vault_dir.display())))?;
    let total = needed.len() as u64;
    let mut copies = futures_util::stream::iter(needed)
        .map(|blob| {
            let (set, o) = whereis[blob.as_str()];
            restore_blob(target, &vault, blob, set.to_owned(), o.clone())
        })
        .buffer_unordered(COPIES_IN_FLIGHT);
    let (mut blobs, mut bytes) = (0u64, 0u64);
    while let Some(size) = copies.next().await {
        blobs += 1;
        bytes += size?;
        progress(blobs, total);
    }
    Ok((blobs, bytes))
}

/// Brings the set's database snapshot into place: decrypted (when encrypted) into a private
/// temporary file of the data directory and checked against the manifest, then renamed to the
/// SQLite database, or given to `pg_restore` and removed.
async fn restore_database(
    target: &Target,
    head: &Manifest,
    data_key: Option<&[u8]>,
    data_dir: &Path,
    config: &StoreConfig,
) -> Result<(), Stop> {
    let tmp = data_dir.join(format!(".restore-{}.{}.tmp", head.set, head.backend));
    let (plain, file) =
        PlainFile::create(tmp.clone()).map_err(io(format!("创建 {}", tmp.display())))?;
    let read = target
        .read_through(&head.database.object.key, data_key, Some(file))
        .await
        .map_err(|e| snapshot_failure(&head.set, e))?;
    if read.sha256 != head.database.object.sha256 || read.size != head.database.object.size {
        return Err(damaged(
            &head.set,
            "数据库快照的摘要与清单不符（被修改或损坏）",
        ));
    }
    match config {
        StoreConfig::Postgres(url) => {
            let restored = pg_restore(url, plain.path()).await;
            drop(plain);
            restored.map_err(|e| match e {
                PgToolError::NotRun(e) => RestoreError::PgRestore(format!(
                    "无法运行 pg_restore（需要安装 PostgreSQL 客户端）：{e}"
                )),
                PgToolError::Failed(e) => RestoreError::PgRestore(e),
            })?;
        }
        _ => {
            let db = data_dir.join("dangan.db");
            let what = format!("写入 {}", db.display());
            tokio::fs::rename(plain.path(), &db)
                .await
                .map_err(io(what.clone()))?;
            plain.keep();
            let dir = tokio::fs::File::open(data_dir)
                .await
                .map_err(io(what.clone()))?;
            dir.sync_all().await.map_err(io(what))?;
        }
    }
    Ok(())
}

async fn restore_blob(
    target: &Target,
    vault: &Target,
    blob: String,
    set: String,
    o: ObjectEntry,
) -> Result<u64, Stop> {
    // Resuming: a blob already restored whole is not copied again.
    if vault
        .exists(&blob_key(&blob))
        .await
        .map_err(written("读取已恢复的数据块"))?
        && let Ok(have) = vault.digest(&blob_key(&blob)).await
        && have.sha256 == o.sha256
        && have.size == o.size
    {
        return Ok(have.size);
    }
    let c = match target.copy_to(&o.key, vault, &blob_key(&blob)).await {
        Ok(c) => c,
        Err(VaultError::Missing(_)) => {
            return Err(damaged(&set, format!("对象 {} 缺失", o.key)));
        }
        Err(VaultError::Io(e)) => {
            return Err(RestoreError::Io {
                what: format!("复制数据块 {blob}"),
                reason: e.to_string(),
            }
            .into());
        }
        Err(other) => return Err(RestoreError::Target(other.to_string()).into()),
    };
    if c.sha256 != o.sha256 || c.size != o.size {
        let _ = vault.delete(&blob_key(&blob)).await;
        return Err(damaged(
            &set,
            format!("数据块 {blob} 的摘要与清单不符（被修改或损坏）"),
        ));
    }
    Ok(c.size)
}
