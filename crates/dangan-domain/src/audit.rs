//! 操作日志 — the hash chain of the operation log (S7.5).
//!
//! Each entry's hash is SHA-256 over the previous entry's hash and the entry's fields in a fixed,
//! unambiguous encoding (each field length-prefixed). Editing a field, deleting an entry or
//! swapping two entries breaks the chain at the first affected entry; [`verify_chain`] names it.
//! Truncation of the newest entries is caught by anchors: the head hash signed with the agency
//! key at intervals (signatures are checked by the caller, which holds the key).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The hash that precedes the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One entry of the operation log, as hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LogEntry {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// When, as RFC 3339 UTC with microseconds (stored as text so that it hashes exactly).
    pub at: String,
    /// `user`, `insured`, `token`, `system` or `anonymous`.
    pub actor_kind: String,
    /// The actor's id within its kind (user id, person id, token id), or empty.
    pub actor_id: String,
    /// The actor's name (usernames; masked identity numbers for insured persons).
    pub actor_name: String,
    /// The actor's role code.
    pub role: String,
    /// Where from: the client's address, or `cli`.
    pub source: String,
    /// What was done, e.g. `person.read`.
    pub action: String,
    /// The kind of record concerned, e.g. `person`.
    pub target_kind: String,
    /// The record's id, or empty.
    pub target_id: String,
    /// Further detail; identity numbers only masked.
    pub detail: String,
    /// `ok`, `denied`, `not_found`, `invalid` or `failed`.
    pub outcome: String,
    /// The previous entry's hash ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

impl LogEntry {
    /// The hash this entry must carry, given its fields and `prev_hash`.
    pub fn compute_hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"dangan-log-v1");
        for field in [
            self.seq.to_string().as_str(),
            &self.at,
            &self.actor_kind,
            &self.actor_id,
            &self.actor_name,
            &self.role,
            &self.source,
            &self.action,
            &self.target_kind,
            &self.target_id,
            &self.detail,
            &self.outcome,
            &self.prev_hash,
        ] {
            h.update((field.len() as u64).to_be_bytes());
            h.update(field.as_bytes());
        }
        hex::encode(h.finalize())
    }

    /// Fills `prev_hash` and `hash` for appending after `prev`.
    pub fn seal(mut self, prev: &str) -> LogEntry {
        self.prev_hash = prev.to_owned();
        self.hash = self.compute_hash();
        self
    }
}

/// Where and why a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    /// Sequence numbers are not 1, 2, 3 … (an entry was deleted or inserted).
    #[error("第{expected}条日志缺失或顺序被打乱（实际为第{found}条）")]
    Gap {
        /// The sequence number that should come next.
        expected: i64,
        /// The one found.
        found: i64,
    },
    /// The entry does not point at its predecessor's hash (deleted or reordered).
    #[error("第{seq}条日志与前一条不衔接（被删除、插入或调换）")]
    Link {
        /// The entry.
        seq: i64,
    },
    /// The entry's fields do not hash to its recorded hash (edited).
    #[error("第{seq}条日志内容被篡改（哈希不符）")]
    Edited {
        /// The entry.
        seq: i64,
    },
}

impl ChainBreak {
    /// The first bad entry's sequence number.
    pub fn seq(&self) -> i64 {
        match self {
            ChainBreak::Gap { expected, .. } => *expected,
            ChainBreak::Link { seq } | ChainBreak::Edited { seq } => *seq,
        }
    }
}

/// Checks entries in order, continuing a chain whose last good entry had `prev` as hash and
/// `prev_seq` as sequence number (`GENESIS`, 0 at the start). Returns the last hash and seq.
pub fn verify_chain<'a>(
    entries: impl IntoIterator<Item = &'a LogEntry>,
    prev: &str,
    prev_seq: i64,
) -> Result<(String, i64), ChainBreak> {
    let mut prev = prev.to_owned();
    let mut seq = prev_seq;
    for e in entries {
        if e.seq != seq + 1 {
            return Err(ChainBreak::Gap {
                expected: seq + 1,
                found: e.seq,
            });
        }
        if e.prev_hash != prev {
            return Err(ChainBreak::Link { seq: e.seq });
        }
        if e.compute_hash() != e.hash {
            return Err(ChainBreak::Edited { seq: e.seq });
        }
        prev.clone_from(&e.hash);
        seq = e.seq;
    }
    Ok((prev, seq))
}

/// The message an anchor signs: the chain head at `seq`.
pub fn anchor_message(seq: i64, hash: &str) -> Vec<u8> {
    format!("dangan-log-anchor-v1\x1f{seq}\x1f{hash}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64, action: &str) -> LogEntry {
        LogEntry {
            seq,
            at: format!("2026-11-26T08:00:{seq:02}.000000Z"),
            actor_kind: "user".into(),
            actor_id: "1".into(),
            actor_name: "admin".into(),
            role: "admin".into(),
            source: "127.0.0.1".into(),
            action: action.into(),
            target_kind: "person".into(),
            target_id: seq.to_string(),
            detail: String::new(),
            outcome: "ok".into(),
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    fn chain(n: i64) -> Vec<LogEntry> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|i| {
                let e = entry(i, "person.read").seal(&prev);
                prev.clone_from(&e.hash);
                e
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies() {
        let c = chain(5);
        assert_eq!(verify_chain(&c, GENESIS, 0).unwrap().1, 5);
    }

    #[test]
    fn an_edited_field_is_found_at_its_entry() {
        let mut c = chain(5);
        c[2].detail = "x".into();
        assert_eq!(
            verify_chain(&c, GENESIS, 0),
            Err(ChainBreak::Edited { seq: 3 })
        );
    }

    #[test]
    fn a_deleted_entry_is_found_where_the_gap_opens() {
        let mut c = chain(5);
        c.remove(1);
        assert_eq!(verify_chain(&c, GENESIS, 0).unwrap_err().seq(), 2);
    }

    #[test]
    fn a_deleted_and_renumbered_entry_breaks_the_link() {
        let mut c = chain(5);
        c.remove(1);
        for (i, e) in c.iter_mut().enumerate() {
            e.seq = i as i64 + 1;
        }
        assert_eq!(verify_chain(&c, GENESIS, 0).unwrap_err().seq(), 2);
    }

    #[test]
    fn two_swapped_entries_are_found() {
        let mut c = chain(5);
        c.swap(1, 2);
        let (a, b) = (c[1].seq, c[2].seq);
        c[1].seq = b;
        c[2].seq = a;
        assert_eq!(verify_chain(&c, GENESIS, 0).unwrap_err().seq(), 2);
    }

    #[test]
    fn field_boundaries_cannot_be_shifted() {
        let mut a = entry(1, "person.read");
        let mut b = entry(1, "person.read");
        a.actor_name = "ab".into();
        a.role = "c".into();
        b.actor_name = "a".into();
        b.role = "bc".into();
        assert_ne!(a.seal(GENESIS).hash, b.seal(GENESIS).hash);
    }
}
