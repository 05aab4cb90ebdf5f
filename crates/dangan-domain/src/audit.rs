//! 操作日志 — the keyed hash chain of the operation log (S7.5) and its signed anchors.
//!
//! Three values protect an entry:
//!
//! - `entry_mac` = HMAC(k, "dangan-log-entry-v2" ‖ the entry's fields), computed when the entry
//!   is written, inside the transaction of the change it records. An entry that is not yet in
//!   the chain is already protected against editing.
//! - `hash` = H("dangan-log-v2" ‖ seq ‖ the fields ‖ entry_mac ‖ prev_hash): the public chain.
//!   Anyone holding the database recomputes it; a signed anchor names the hash at a sequence
//!   number, so an auditor with only the public key and the anchors' witness copies checks that
//!   nothing at or before an anchor changed.
//! - `mac` = HMAC(k, "dangan-log-chain-v2" ‖ hash): the keyed chain. Renumbering, deleting or
//!   re-hashing entries needs `k`, which lives in the key directory and never in the database.
//!
//! H is SHA-256 with HMAC-SHA-256, or SM3 with HMAC-SM3 (the national profile, X6). Every
//! field is length-prefixed, so that no two different entries encode the same bytes.
//!
//! Entries written before the keyed chain (format v1: a plain SHA-256 chain) keep their hashes;
//! the verifier checks them with [`legacy_hash`] up to the sequence number recorded in the key
//! directory when the keyed chain began, and the first keyed entry links to the last of them.

use std::fmt;

use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The hash that precedes the first entry (and the first anchor).
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash family of a chain: the public hash and the keyed MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChainAlgorithm {
    /// SHA-256 and HMAC-SHA-256.
    #[serde(rename = "hmac-sha256")]
    HmacSha256,
    /// SM3 and HMAC-SM3 (GB/T 32905; 国密).
    #[serde(rename = "hmac-sm3")]
    HmacSm3,
}

impl ChainAlgorithm {
    /// The code used in configuration, anchors and witness copies.
    pub fn code(self) -> &'static str {
        match self {
            ChainAlgorithm::HmacSha256 => "hmac-sha256",
            ChainAlgorithm::HmacSm3 => "hmac-sm3",
        }
    }

    /// Parses a code (`hmac-sha256`, `hmac-sm3`).
    pub fn parse(s: &str) -> Option<ChainAlgorithm> {
        match s.trim().to_ascii_lowercase().as_str() {
            "hmac-sha256" => Some(ChainAlgorithm::HmacSha256),
            "hmac-sm3" => Some(ChainAlgorithm::HmacSm3),
            _ => None,
        }
    }

    /// The public hash of `parts`, each length-prefixed, after `domain`.
    fn hash(self, domain: &[u8], parts: &[&str]) -> String {
        fn feed(d: &mut impl Digest, domain: &[u8], parts: &[&str]) {
            d.update(domain);
            for p in parts {
                d.update((p.len() as u64).to_be_bytes());
                d.update(p.as_bytes());
            }
        }
        match self {
            ChainAlgorithm::HmacSha256 => {
                let mut d = Sha256::new();
                feed(&mut d, domain, parts);
                hex::encode(d.finalize())
            }
            ChainAlgorithm::HmacSm3 => {
                let mut d = sm3::Sm3::new();
                feed(&mut d, domain, parts);
                hex::encode(d.finalize())
            }
        }
    }
}

/// The key of the chain's MACs, with its algorithm. Never printed.
#[derive(Clone)]
pub struct ChainKey {
    algorithm: ChainAlgorithm,
    key: [u8; 32],
}

impl fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl ChainKey {
    /// A key of 32 bytes for `algorithm`.
    pub fn new(algorithm: ChainAlgorithm, key: [u8; 32]) -> ChainKey {
        ChainKey { algorithm, key }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> ChainAlgorithm {
        self.algorithm
    }

    fn mac(&self, domain: &[u8], parts: &[&str]) -> String {
        fn feed(m: &mut impl Mac, domain: &[u8], parts: &[&str]) {
            m.update(domain);
            for p in parts {
                m.update(&(p.len() as u64).to_be_bytes());
                m.update(p.as_bytes());
            }
        }
        match self.algorithm {
            ChainAlgorithm::HmacSha256 => {
                let mut m = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
                    .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
                feed(&mut m, domain, parts);
                hex::encode(m.finalize().into_bytes())
            }
            ChainAlgorithm::HmacSm3 => {
                let mut m = <hmac::Hmac<sm3::Sm3> as KeyInit>::new_from_slice(&self.key)
                    .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
                feed(&mut m, domain, parts);
                hex::encode(m.finalize().into_bytes())
            }
        }
    }

    /// The MAC of an entry's fields ([`EntryContent::fields`], [`LogEntry::fields`]), written
    /// with the entry.
    pub fn entry_mac(&self, fields: &Fields<'_>) -> String {
        self.mac(b"dangan-log-entry-v2", fields)
    }

    /// The MAC of a chain hash, written when the entry joins the chain.
    pub fn chain_mac(&self, hash: &str) -> String {
        self.mac(b"dangan-log-chain-v2", &[hash])
    }

    /// The chain values of an entry placed at `seq` after `prev_hash`: (hash, mac).
    pub fn link(
        &self,
        seq: i64,
        fields: &Fields<'_>,
        entry_mac: &str,
        prev_hash: &str,
    ) -> (String, String) {
        let hash = chain_hash(self.algorithm, seq, fields, entry_mac, prev_hash);
        let mac = self.chain_mac(&hash);
        (hash, mac)
    }
}

/// What an entry says: who did what, when, from where, to which record, with what result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryContent {
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
}

/// An entry's eleven fields in their hashed order (`at` … `outcome`).
pub type Fields<'a> = [&'a str; 11];

impl EntryContent {
    /// The fields in their hashed order.
    pub fn fields(&self) -> Fields<'_> {
        [
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
        ]
    }
}

/// The public chain hash of an entry at `seq` after `prev_hash`.
pub fn chain_hash(
    algorithm: ChainAlgorithm,
    seq: i64,
    f: &Fields<'_>,
    entry_mac: &str,
    prev_hash: &str,
) -> String {
    let seq = seq.to_string();
    algorithm.hash(
        b"dangan-log-v2",
        &[
            &seq, f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10], entry_mac,
            prev_hash,
        ],
    )
}

/// One entry of the operation log as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Order of writing (an entry's number before it joins the chain).
    pub id: i64,
    /// Position in the chain, from 1, without gaps; `null` for an entry whose transaction
    /// committed a moment ago and that is not yet in the chain (PostgreSQL only).
    pub seq: Option<i64>,
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
    /// The entry's own MAC (empty for entries of the v1 format).
    pub entry_mac: String,
    /// The previous entry's hash ([`GENESIS`] for the first); empty until in the chain.
    pub prev_hash: String,
    /// This entry's chain hash; empty until in the chain.
    pub hash: String,
    /// The keyed MAC of the chain hash (empty for entries of the v1 format).
    pub mac: String,
}

impl LogEntry {
    /// An entry made of its content and chain values.
    pub fn new(
        id: i64,
        seq: Option<i64>,
        content: EntryContent,
        entry_mac: String,
        prev_hash: String,
        hash: String,
        mac: String,
    ) -> LogEntry {
        LogEntry {
            id,
            seq,
            at: content.at,
            actor_kind: content.actor_kind,
            actor_id: content.actor_id,
            actor_name: content.actor_name,
            role: content.role,
            source: content.source,
            action: content.action,
            target_kind: content.target_kind,
            target_id: content.target_id,
            detail: content.detail,
            outcome: content.outcome,
            entry_mac,
            prev_hash,
            hash,
            mac,
        }
    }

    /// The fields in their hashed order.
    pub fn fields(&self) -> Fields<'_> {
        [
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
        ]
    }
}

/// The v1 hash of an entry (a plain SHA-256 chain), for entries written before the keyed chain.
pub fn legacy_hash(seq: i64, f: &Fields<'_>, prev_hash: &str) -> String {
    let seq = seq.to_string();
    let mut h = Sha256::new();
    h.update(b"dangan-log-v1");
    for field in [
        seq.as_str(),
        f[0],
        f[1],
        f[2],
        f[3],
        f[4],
        f[5],
        f[6],
        f[7],
        f[8],
        f[9],
        f[10],
        prev_hash,
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    hex::encode(h.finalize())
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
    /// The entry's own MAC does not match its fields: edited, or written without the key.
    #[error("第{seq}条日志内容与写入时的校验码不符（被篡改或伪造）")]
    ForgedEntry {
        /// The entry.
        seq: i64,
    },
    /// The chain MAC does not match: the chain was re-hashed or renumbered without the key.
    #[error("第{seq}条日志的链校验码无效：日志链被改写（删除、插入或重新计算哈希）")]
    ForgedChain {
        /// The entry.
        seq: i64,
    },
    /// An entry of the v1 format after the keyed chain began.
    #[error("第{seq}条日志缺少校验码：密钥链启用后不应出现旧格式条目（伪造）")]
    Unkeyed {
        /// The entry.
        seq: i64,
    },
}

impl ChainBreak {
    /// The first bad entry's sequence number.
    pub fn seq(&self) -> i64 {
        match self {
            ChainBreak::Gap { expected, .. } => *expected,
            ChainBreak::Link { seq }
            | ChainBreak::Edited { seq }
            | ChainBreak::ForgedEntry { seq }
            | ChainBreak::ForgedChain { seq }
            | ChainBreak::Unkeyed { seq } => *seq,
        }
    }
}

/// How a chain is checked: its algorithm, the key when the checker holds it (an offline
/// auditor with only the public key checks the public hashes and anchors), and the last
/// sequence number of the v1 format.
#[derive(Debug, Clone)]
pub struct ChainCheck {
    /// The chain's algorithm.
    pub algorithm: ChainAlgorithm,
    /// The MAC key, when the checker holds it.
    pub key: Option<ChainKey>,
    /// Entries up to this sequence number are of the v1 format.
    pub legacy_until: i64,
}

impl ChainCheck {
    /// Checks one sealed entry that follows the entry (`prev_seq`, `prev_hash`).
    pub fn check(&self, e: &LogEntry, prev_seq: i64, prev_hash: &str) -> Result<(), ChainBreak> {
        let Some(seq) = e.seq else {
            return Err(ChainBreak::Gap {
                expected: prev_seq + 1,
                found: 0,
            });
        };
        if seq != prev_seq + 1 {
            return Err(ChainBreak::Gap {
                expected: prev_seq + 1,
                found: seq,
            });
        }
        if e.prev_hash != prev_hash {
            return Err(ChainBreak::Link { seq });
        }
        if seq <= self.legacy_until {
            return if legacy_hash(seq, &e.fields(), &e.prev_hash) == e.hash {
                Ok(())
            } else {
                Err(ChainBreak::Edited { seq })
            };
        }
        if e.entry_mac.is_empty() || e.mac.is_empty() {
            return Err(ChainBreak::Unkeyed { seq });
        }
        if chain_hash(self.algorithm, seq, &e.fields(), &e.entry_mac, &e.prev_hash) != e.hash {
            return Err(ChainBreak::Edited { seq });
        }
        if let Some(k) = &self.key {
            if !eq_hex(&k.entry_mac(&e.fields()), &e.entry_mac) {
                return Err(ChainBreak::ForgedEntry { seq });
            }
            if !eq_hex(&k.chain_mac(&e.hash), &e.mac) {
                return Err(ChainBreak::ForgedChain { seq });
            }
        }
        Ok(())
    }
}

/// Compares two hex strings in time independent of where they differ.
pub fn eq_hex(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The message a v1 anchor signed: the chain head at `seq`.
pub fn legacy_anchor_message(seq: i64, hash: &str) -> Vec<u8> {
    format!("dangan-log-anchor-v1\x1f{seq}\x1f{hash}").into_bytes()
}

/// What an anchor signs: its number, the chain head it confirms, when, with which chain
/// algorithm, and the digest of the previous anchor — so that anchors form a chain of their
/// own and none can be removed from the middle or the end unseen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnchorBody {
    /// The anchor's number, from 1, without gaps.
    pub n: i64,
    /// The last entry it confirms.
    pub seq: i64,
    /// That entry's chain hash.
    pub hash: String,
    /// When it was signed (RFC 3339 UTC with microseconds, as signed).
    pub signed_at: String,
    /// The chain's algorithm code.
    pub chain: String,
    /// The last entry of the unkeyed v1 format (0: none), as fixed when the keyed chain began.
    pub legacy_until: i64,
    /// The digest of the previous anchor ([`GENESIS`] for the first).
    pub prev: String,
}

impl AnchorBody {
    /// The signed message.
    pub fn message(&self) -> Vec<u8> {
        format!(
            "dangan-log-anchor-v2\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}",
            self.n, self.seq, self.hash, self.signed_at, self.chain, self.legacy_until, self.prev
        )
        .into_bytes()
    }

    /// The digest that the next anchor names as `prev`: SHA-256 over the message and the
    /// signature.
    pub fn digest(&self, signature_hex: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.message());
        h.update([0x1f]);
        h.update(signature_hex.as_bytes());
        hex::encode(h.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(i: i64, action: &str) -> EntryContent {
        EntryContent {
            at: format!("2026-11-26T08:00:{i:02}.000000Z"),
            actor_kind: "user".into(),
            actor_id: "1".into(),
            actor_name: "admin".into(),
            role: "admin".into(),
            source: "127.0.0.1".into(),
            action: action.into(),
            target_kind: "person".into(),
            target_id: i.to_string(),
            detail: String::new(),
            outcome: "ok".into(),
        }
    }

    fn key(alg: ChainAlgorithm) -> ChainKey {
        ChainKey::new(alg, [7u8; 32])
    }

    fn chain(k: &ChainKey, n: i64) -> Vec<LogEntry> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|i| {
                let c = content(i, "person.read");
                let entry_mac = k.entry_mac(&c.fields());
                let (hash, mac) = k.link(i, &c.fields(), &entry_mac, &prev);
                let e = LogEntry::new(i, Some(i), c, entry_mac, prev.clone(), hash.clone(), mac);
                prev = hash;
                e
            })
            .collect()
    }

    fn verify(check: &ChainCheck, entries: &[LogEntry]) -> Result<(), ChainBreak> {
        let (mut seq, mut prev) = (0, GENESIS.to_owned());
        for e in entries {
            check.check(e, seq, &prev)?;
            seq = e.seq.unwrap_or_default();
            prev.clone_from(&e.hash);
        }
        Ok(())
    }

    fn keyed(k: &ChainKey) -> ChainCheck {
        ChainCheck {
            algorithm: k.algorithm(),
            key: Some(k.clone()),
            legacy_until: 0,
        }
    }

    #[test]
    fn an_intact_chain_verifies_with_either_algorithm() {
        for alg in [ChainAlgorithm::HmacSha256, ChainAlgorithm::HmacSm3] {
            let k = key(alg);
            assert_eq!(verify(&keyed(&k), &chain(&k, 5)), Ok(()));
        }
    }

    #[test]
    fn an_edited_field_is_found_at_its_entry() {
        let k = key(ChainAlgorithm::HmacSha256);
        let mut c = chain(&k, 5);
        c[2].detail = "x".into();
        assert_eq!(verify(&keyed(&k), &c), Err(ChainBreak::Edited { seq: 3 }));
    }

    #[test]
    fn a_deleted_entry_is_found_where_the_gap_opens() {
        let k = key(ChainAlgorithm::HmacSha256);
        let mut c = chain(&k, 5);
        c.remove(1);
        assert_eq!(verify(&keyed(&k), &c).unwrap_err().seq(), 2);
    }

    #[test]
    fn a_chain_re_hashed_without_the_key_is_found_at_its_first_rewritten_entry() {
        // The insider's rewrite: delete entry 2, renumber, recompute every public hash.
        let k = key(ChainAlgorithm::HmacSha256);
        let mut c = chain(&k, 5);
        c.remove(1);
        let mut prev = GENESIS.to_owned();
        for (i, e) in c.iter_mut().enumerate() {
            let seq = i as i64 + 1;
            e.seq = Some(seq);
            e.prev_hash.clone_from(&prev);
            e.hash = chain_hash(k.algorithm(), seq, &e.fields(), &e.entry_mac, &prev);
            prev.clone_from(&e.hash);
        }
        assert_eq!(
            verify(&keyed(&k), &c),
            Err(ChainBreak::ForgedChain { seq: 2 })
        );
        // …and with another key in place of the agency's, the same.
        let other = ChainKey::new(ChainAlgorithm::HmacSha256, [8u8; 32]);
        for e in &mut c {
            e.mac = other.chain_mac(&e.hash);
        }
        assert_eq!(
            verify(&keyed(&k), &c),
            Err(ChainBreak::ForgedChain { seq: 1 })
        );
        // An auditor without the key sees a consistent public chain: the anchors decide.
        let public = ChainCheck {
            key: None,
            ..keyed(&k)
        };
        assert_eq!(verify(&public, &c), Ok(()));
    }

    #[test]
    fn an_entry_forged_without_the_key_is_refused() {
        let k = key(ChainAlgorithm::HmacSm3);
        let mut c = chain(&k, 3);
        c[1].outcome = "denied".into();
        c[1].entry_mac =
            ChainKey::new(ChainAlgorithm::HmacSm3, [1u8; 32]).entry_mac(&c[1].fields());
        let prev = c[0].hash.clone();
        c[1].hash = chain_hash(k.algorithm(), 2, &c[1].fields(), &c[1].entry_mac, &prev);
        c[1].mac = k.chain_mac(&c[1].hash);
        assert_eq!(
            keyed(&k).check(&c[1], 1, &prev),
            Err(ChainBreak::ForgedEntry { seq: 2 })
        );
    }

    #[test]
    fn a_v1_entry_after_the_keyed_chain_began_is_refused() {
        let k = key(ChainAlgorithm::HmacSha256);
        let mut c = chain(&k, 2);
        c[1].entry_mac.clear();
        c[1].mac.clear();
        c[1].hash = legacy_hash(2, &c[1].fields(), &c[1].prev_hash);
        assert_eq!(verify(&keyed(&k), &c), Err(ChainBreak::Unkeyed { seq: 2 }));
    }

    #[test]
    fn legacy_entries_verify_up_to_where_the_keyed_chain_began() {
        let k = key(ChainAlgorithm::HmacSha256);
        let mut prev = GENESIS.to_owned();
        let mut entries = Vec::new();
        for i in 1..=2 {
            let c = content(i, "person.read");
            let hash = legacy_hash(i, &c.fields(), &prev);
            entries.push(LogEntry::new(
                i,
                Some(i),
                c,
                String::new(),
                prev.clone(),
                hash.clone(),
                String::new(),
            ));
            prev = hash;
        }
        let c = content(3, "log.rekey");
        let entry_mac = k.entry_mac(&c.fields());
        let (hash, mac) = k.link(3, &c.fields(), &entry_mac, &prev);
        entries.push(LogEntry::new(3, Some(3), c, entry_mac, prev, hash, mac));
        let check = ChainCheck {
            legacy_until: 2,
            ..keyed(&k)
        };
        assert_eq!(verify(&check, &entries), Ok(()));
        entries[0].detail = "x".into();
        assert_eq!(verify(&check, &entries), Err(ChainBreak::Edited { seq: 1 }));
    }

    #[test]
    fn field_boundaries_cannot_be_shifted() {
        let k = key(ChainAlgorithm::HmacSha256);
        let mut a = content(1, "person.read");
        let mut b = content(1, "person.read");
        a.actor_name = "ab".into();
        a.role = "c".into();
        b.actor_name = "a".into();
        b.role = "bc".into();
        assert_ne!(k.entry_mac(&a.fields()), k.entry_mac(&b.fields()));
        assert_ne!(
            chain_hash(k.algorithm(), 1, &a.fields(), "", GENESIS),
            chain_hash(k.algorithm(), 1, &b.fields(), "", GENESIS)
        );
    }

    #[test]
    fn an_anchor_digest_covers_its_message_and_signature() {
        let a = AnchorBody {
            n: 1,
            seq: 5,
            hash: "ab".into(),
            signed_at: "2026-12-05T00:00:00.000000Z".into(),
            chain: "hmac-sha256".into(),
            legacy_until: 0,
            prev: GENESIS.into(),
        };
        let mut b = a.clone();
        b.seq = 6;
        assert_ne!(a.digest("00"), b.digest("00"));
        assert_ne!(a.digest("00"), a.digest("01"));
    }

    #[test]
    fn the_key_is_not_printed() {
        let k = ChainKey::new(ChainAlgorithm::HmacSha256, [0xab; 32]);
        assert!(!format!("{k:?}").contains("ab, ab") && !format!("{k:?}").contains("abab"));
    }
}
