//! Writing the operation log fast without giving up one order.
//!
//! - An entry that records a change is written in the change's own transaction
//!   (`App::log_in`): both commit or neither does.
//! - An entry that records no change (a read, a denial, a failed sign-in) is queued to one
//!   writer task per process, which commits whatever has queued up while the previous commit
//!   was running in a single transaction (group commit). The caller waits for that commit, so a
//!   read is never answered before its entry is durable.
//! - On PostgreSQL, entries join the chain after their transaction commits: the sealer
//!   ([`seal_pending`]) runs when the writer task has committed and at least every
//!   [`SEAL_TICK`], links every committed entry in order of writing, and locks the head row so
//!   that sealers of several nodes take turns. On SQLite entries join the
//!   chain as they are written (`dangan_store::audit::append`).
//!
//! Measured by `cargo bench -p dangan-app --bench audit_log` (figures in `docs/audit-log.md`).

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use dangan_domain::audit::{ChainKey, EntryContent, GENESIS, eq_hex};
use dangan_store::audit::{self, Link};
use dangan_store::{Backend, Store};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::{AppError, AppResult};

/// How often the sealer looks for entries committed by other processes.
pub(crate) const SEAL_TICK: Duration = Duration::from_millis(200);
/// Entries linked per sealing transaction.
const SEAL_BATCH: i64 = 5000;
/// Entries committed per group-commit transaction at most.
const MAX_GROUP: usize = 1000;
/// Group-commit transactions in flight at once on PostgreSQL, where commits of different
/// connections are flushed together; SQLite has one writer at a time, so one is enough there.
const GROUP_WRITERS_POSTGRES: usize = 4;

struct Queued {
    entry: EntryContent,
    done: oneshot::Sender<Result<(), Failure>>,
}

/// Why a group could not be written, as every waiting caller gets it.
#[derive(Debug, Clone)]
enum Failure {
    /// The disk is full.
    StorageFull,
    /// Anything else (logged once by the writer).
    Other(String),
}

impl From<Failure> for AppError {
    fn from(f: Failure) -> AppError {
        match f {
            Failure::StorageFull => AppError::StorageFull,
            Failure::Other(e) => AppError::Internal(e),
        }
    }
}

/// The log's writer task and sealer of one process.
#[derive(Debug)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Queued>,
    wake: Arc<Notify>,
    /// Alive as long as the app: the sealer stops when it is gone.
    _alive: Arc<()>,
}

impl std::fmt::Debug for Queued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Queued")
    }
}

impl Writer {
    /// Starts the writer task (and on PostgreSQL the sealer) on the current runtime.
    pub(crate) fn start(store: &Store, key: &ChainKey) -> Writer {
        let (queue, rx) = mpsc::channel(4 * MAX_GROUP);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let wake = Arc::new(Notify::new());
        let alive = Arc::new(());
        let writers = match store.backend() {
            Backend::Sqlite => 1,
            Backend::Postgres => GROUP_WRITERS_POSTGRES,
        };
        for _ in 0..writers {
            tokio::spawn(run_groups(
                store.clone(),
                key.clone(),
                Arc::clone(&rx),
                Arc::clone(&wake),
            ));
        }
        if store.backend() == Backend::Postgres {
            tokio::spawn(run_sealer(
                store.clone(),
                key.clone(),
                Arc::clone(&wake),
                Arc::downgrade(&alive),
            ));
        }
        Writer {
            queue,
            wake,
            _alive: alive,
        }
    }

    /// Writes an entry that records no change and waits until it is committed. When the writer
    /// task is gone (its runtime ended), the entry is written in a transaction of its own.
    pub(crate) async fn write(
        &self,
        store: &Store,
        key: &ChainKey,
        entry: EntryContent,
    ) -> AppResult<()> {
        let (done, wait) = oneshot::channel();
        let queued = Queued { entry, done };
        let entry = match self.queue.send(queued).await {
            Ok(()) => match wait.await {
                Ok(result) => return result.map_err(AppError::from),
                Err(_) => return Err(AppError::Internal("operation log writer stopped".into())),
            },
            Err(mpsc::error::SendError(q)) => q.entry,
        };
        write_group(store, key, std::slice::from_ref(&entry)).await?;
        self.wake.notify_one();
        Ok(())
    }
}

async fn write_group(
    store: &Store,
    key: &ChainKey,
    entries: &[EntryContent],
) -> Result<(), Failure> {
    async {
        let mut tx = store.begin_write().await?;
        audit::append(&mut tx, entries, key).await?;
        tx.commit().await
    }
    .await
    .map_err(|e: dangan_store::StoreError| match e {
        dangan_store::StoreError::StorageFull(_) => Failure::StorageFull,
        other => Failure::Other(other.to_string()),
    })
}

/// One group writer: takes what has queued up (the queue is shared; while one writer commits,
/// the next takes the following group) and commits it in one transaction.
async fn run_groups(
    store: Store,
    key: ChainKey,
    rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Queued>>>,
    wake: Arc<Notify>,
) {
    loop {
        let group = {
            let mut rx = rx.lock().await;
            let Some(first) = rx.recv().await else {
                return;
            };
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match rx.try_recv() {
                    Ok(q) => group.push(q),
                    Err(_) => break,
                }
            }
            group
        };
        let entries: Vec<EntryContent> = group.iter().map(|q| q.entry.clone()).collect();
        let result = write_group(&store, &key, &entries).await;
        if let Err(e) = &result {
            tracing::error!(error = ?e, entries = entries.len(), "cannot write operation log entries");
        } else {
            wake.notify_one();
        }
        for q in group {
            let _ = q.done.send(result.clone());
        }
    }
}

async fn run_sealer(store: Store, key: ChainKey, wake: Arc<Notify>, alive: Weak<()>) {
    let mut last_error: Option<(String, Instant)> = None;
    loop {
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(SEAL_TICK) => {}
        }
        if alive.upgrade().is_none() || store.is_closed() {
            return;
        }
        if let Err(e) = seal_pending(&store, &key, false).await {
            if store.is_closed() {
                return;
            }
            // The same failure (a tampered head, say) is reported once a minute, not 5 times a
            // second.
            let text = e.to_string();
            let repeat = last_error
                .as_ref()
                .is_some_and(|(t, at)| *t == text && at.elapsed() < Duration::from_secs(60));
            if !repeat {
                tracing::error!(error = %text, "cannot link operation log entries into the chain");
                last_error = Some((text, Instant::now()));
            }
        }
    }
}

/// Links every entry that may join the chain now. With `wait` it waits for another sealer
/// holding the head (before verifying or anchoring); without, it leaves the round to that one.
/// An entry whose own MAC does not match its fields was not written by Dangan: it is left out
/// of the chain (and reported by verification).
pub(crate) async fn seal_pending(store: &Store, key: &ChainKey, wait: bool) -> AppResult<usize> {
    if store.backend() == Backend::Sqlite {
        // Entries join the chain in their own transaction on SQLite; nothing is ever pending.
        return Ok(0);
    }
    let mut total = 0usize;
    loop {
        let mut tx = store.begin_write().await?;
        let head = if wait {
            Some(audit::head_for_update(&mut tx).await?)
        } else {
            audit::lock_head(&mut tx).await?
        };
        let Some((head_seq, head_hash)) = head else {
            tx.rollback().await?;
            return Ok(total);
        };
        let pending = audit::sealable(&mut tx, SEAL_BATCH).await?;
        if pending.is_empty() {
            tx.rollback().await?;
            return Ok(total);
        }
        let (mut seq, mut prev) = match audit::last_sealed(&mut tx).await? {
            Some(e) => (e.seq.unwrap_or_default(), e.hash),
            None => (0, GENESIS.to_owned()),
        };
        if seq != head_seq || prev != head_hash {
            tx.rollback().await?;
            return Err(AppError::Conflict {
                code: "log_tampered",
                field: None,
                message: format!(
                    "操作日志头记录（第{head_seq}条）与最后一条日志（第{seq}条）不符：日志被截断或篡改，停止封链"
                ),
            });
        }
        let mut links = Vec::with_capacity(pending.len());
        for e in &pending {
            if !eq_hex(&key.entry_mac(&e.fields()), &e.entry_mac) {
                tracing::error!(
                    id = e.id,
                    "an operation log entry whose MAC does not match was left out of the chain"
                );
                continue;
            }
            seq += 1;
            let (hash, mac) = key.link(seq, &e.fields(), &e.entry_mac, &prev);
            links.push(Link {
                id: e.id,
                seq,
                prev_hash: std::mem::replace(&mut prev, hash.clone()),
                hash,
                mac,
            });
        }
        audit::seal(&mut tx, &links).await?;
        tx.commit().await?;
        total += links.len();
        if (pending.len() as i64) < SEAL_BATCH {
            return Ok(total);
        }
    }
}
