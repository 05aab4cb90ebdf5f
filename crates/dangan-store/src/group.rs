//! Group commit — small writes of many callers committed together in one transaction, each
//! caller answered only after that commit.
//!
//! A caller runs its work (writes on a [`Tx`]) through [`grouped!`](crate::grouped). The work joins
//! the open group, or begins one; it runs at once, on the group's transaction, while the caller
//! holds the group. When the work is done and another caller is already queued for the group
//! (and the group is neither full nor old), the group is left open for it; otherwise the
//! group is committed. Every member then learns the commit's outcome; only a committed member
//! returns its result. So one commit (one `fsync`) serves many business events, and no answer
//! leaves before its own data is durable.
//!
//! No savepoints (they would cost two statements a member): when a member's work fails, its
//! partial writes are in the group's transaction, so the whole group is rolled back, and every
//! member runs its work again, alone, in a transaction of its own. A failing member's error is
//! therefore always the error its work meets on its own. A member whose caller went away while
//! its work ran (a closed HTTP connection drops the request) leaves the group marked as
//! unfinished; the next member rolls that group back the same way. A commit runs in a task of
//! its own, so a departing caller cannot interrupt it. A member that left the group open for a
//! queued caller who then went away commits the group itself after [`LINGER`].
//!
//! On SQLite one group is open at a time (one writer at a time anyway); on PostgreSQL
//! [`PG_SLOTS`] groups fill at once, because its connections write in parallel.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex as AsyncMutex, MutexGuard, oneshot};

use crate::{Store, StoreError, StoreResult, Tx};

/// Members of one group at most.
const MAX_MEMBERS: usize = 64;
/// How long a group stays open for the callers queued behind it at most.
const MAX_AGE: Duration = Duration::from_millis(10);
/// How long a member waits for the commit before committing the group itself (only when a
/// caller it left the group open for went away).
const LINGER: Duration = Duration::from_millis(50);
/// Groups filling at once on PostgreSQL.
pub(crate) const PG_SLOTS: usize = 4;

/// How a group ended, as each member learns it.
#[derive(Debug, Clone)]
enum Ended {
    Committed,
    /// Rolled back because of another member (or a departed caller): run the work again.
    Again,
    /// The commit failed (nothing of the group was written).
    Failed(Failure),
}

#[derive(Debug, Clone)]
enum Failure {
    StorageFull(String),
    Other(String),
}

impl From<Failure> for StoreError {
    fn from(f: Failure) -> StoreError {
        match f {
            Failure::StorageFull(m) => StoreError::StorageFull(m),
            Failure::Other(m) => StoreError::Commit(m),
        }
    }
}

struct Open {
    id: u64,
    tx: Tx,
    began: Instant,
    members: Vec<oneshot::Sender<Ended>>,
    /// A member's work is running, or was dropped while running.
    unfinished: bool,
}

/// One place where a group fills.
#[derive(Default)]
pub(crate) struct Slot {
    open: AsyncMutex<Option<Open>>,
    /// Callers waiting for `open`.
    queued: AtomicUsize,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot")
            .field("queued", &self.queued.load(Ordering::Relaxed))
            .finish()
    }
}

/// The group slots of a store (at least one).
#[derive(Debug)]
pub(crate) struct Groups {
    slots: Vec<Slot>,
    next_slot: AtomicUsize,
    next_id: AtomicU64,
}

impl Groups {
    pub(crate) fn new(slots: usize) -> Groups {
        Groups {
            slots: (0..slots.max(1)).map(|_| Slot::default()).collect(),
            next_slot: AtomicUsize::new(0),
            next_id: AtomicU64::new(0),
        }
    }
}

/// Counts a caller as queued for a slot until it holds the slot (or goes away).
struct Queued<'a>(&'a AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Rolls a group back and tells its members to run their work again.
async fn abandon(open: Open) {
    let _ = open.tx.rollback().await;
    for m in open.members {
        let _ = m.send(Ended::Again);
    }
}

/// Commits a group in a task of its own and tells every member how it ended.
fn commit(open: Open) {
    tokio::spawn(async move {
        let ended = match open.tx.commit().await {
            Ok(()) => Ended::Committed,
            Err(StoreError::StorageFull(m)) => Ended::Failed(Failure::StorageFull(m)),
            Err(e) => {
                tracing::error!(error = %e, members = open.members.len(), "a group commit failed");
                Ended::Failed(Failure::Other(e.to_string()))
            }
        };
        for m in open.members {
            let _ = m.send(ended.clone());
        }
    });
}

impl Store {
    /// Joins the open group, or begins one: the member's work then runs on
    /// [`Member::tx`] and ends with [`Member::finish`] (or [`Member::abandon`] when it failed).
    /// [`grouped!`](crate::grouped) does all of it, with the retry alone.
    pub async fn join_group(&self) -> StoreResult<Member<'_>> {
        let groups = &self.shared.groups;
        let n = groups.next_slot.fetch_add(1, Ordering::Relaxed) % groups.slots.len();
        let slot = &groups.slots[n];
        let mut open = {
            slot.queued.fetch_add(1, Ordering::AcqRel);
            let _queued = Queued(&slot.queued);
            slot.open.lock().await
        };
        if open.as_ref().is_some_and(|o| o.unfinished)
            && let Some(left) = open.take()
        {
            abandon(left).await;
        }
        if open.is_none() {
            *open = Some(Open {
                id: groups.next_id.fetch_add(1, Ordering::Relaxed),
                tx: self.begin_write().await?,
                began: Instant::now(),
                members: Vec::new(),
                unfinished: false,
            });
        }
        if let Some(group) = open.as_mut() {
            group.unfinished = true;
        }
        Ok(Member { slot, open })
    }
}

/// A member of a group while its work runs: it holds the group. Dropped without
/// [`Member::finish`] or [`Member::abandon`] (its caller went away), it leaves the group
/// unfinished, and the next member rolls the group back.
pub struct Member<'s> {
    slot: &'s Slot,
    open: MutexGuard<'s, Option<Open>>,
}

impl std::fmt::Debug for Member<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Member")
    }
}

impl Member<'_> {
    /// The group's transaction.
    pub fn tx(&mut self) -> &mut Tx {
        match self.open.as_mut() {
            Some(group) => &mut group.tx,
            None => unreachable!("a member holds an open group"),
        }
    }

    /// The work failed: its partial writes are in the group, so the group is rolled back and
    /// its other members run their work again alone. The caller runs its own again alone too.
    pub async fn abandon(mut self) {
        if let Some(left) = self.open.take() {
            abandon(left).await;
        }
    }

    /// The work succeeded: leaves the group open for a queued caller or commits it, then waits
    /// for the commit. `Ok(true)`: committed. `Ok(false)`: the group was rolled back because of
    /// another member; the caller must run its work again alone. An error: the commit failed
    /// and nothing of the group was written.
    pub async fn finish(mut self) -> StoreResult<bool> {
        let (done, mut ended) = oneshot::channel();
        let Some(group) = self.open.as_mut() else {
            return Ok(false);
        };
        group.unfinished = false;
        group.members.push(done);
        let id = group.id;
        let close = self.slot.queued.load(Ordering::Acquire) == 0
            || group.members.len() >= MAX_MEMBERS
            || group.began.elapsed() >= MAX_AGE;
        if close && let Some(full) = self.open.take() {
            commit(full);
        }
        let slot = self.slot;
        drop(self);
        loop {
            tokio::select! {
                e = &mut ended => {
                    return match e {
                        Ok(Ended::Committed) => Ok(true),
                        Ok(Ended::Failed(f)) => Err(f.into()),
                        // Err: the group was dropped unfinished (its rollback interrupted, the
                        // runtime ending): nothing of it was committed.
                        Ok(Ended::Again) | Err(_) => Ok(false),
                    };
                }
                () = tokio::time::sleep(LINGER) => {
                    let mut open = slot.open.lock().await;
                    if open.as_ref().is_some_and(|o| o.id == id && !o.unfinished)
                        && let Some(left) = open.take()
                    {
                        commit(left);
                    }
                }
            }
        }
    }
}

/// Runs `$work` (an expression of `$tx: &mut Tx` giving a future of `Result<T, E>` with
/// `E: From<StoreError>`) group-committed (module [`group`](crate::Store::join_group)):
/// `Ok` only once the group committed. When the group is rolled back, for this member's failure
/// or another's, the work runs again alone in a transaction of its own, so its error is its
/// own. The work must write nothing outside its transaction: it may run twice.
#[macro_export]
macro_rules! grouped {
    ($store:expr, $tx:ident => $work:expr) => {{
        let store: &$crate::Store = $store;
        let joined = match store.join_group().await {
            Ok(mut member) => {
                let result = {
                    let $tx = member.tx();
                    $work.await
                };
                match result {
                    Ok(value) => match member.finish().await {
                        Ok(true) => Some(Ok(value)),
                        Ok(false) => None,
                        Err(e) => Some(Err(e.into())),
                    },
                    Err(_) => {
                        member.abandon().await;
                        None
                    }
                }
            }
            Err(e) => Some(Err(e.into())),
        };
        match joined {
            Some(answer) => answer,
            None => match store.begin_write().await {
                Err(e) => Err(e.into()),
                Ok(mut alone) => {
                    let result = {
                        let $tx = &mut alone;
                        $work.await
                    };
                    match result {
                        Ok(value) => match alone.commit().await {
                            Ok(()) => Ok(value),
                            Err(e) => Err(e.into()),
                        },
                        Err(e) => Err(e),
                    }
                }
            },
        }
    }};
}
