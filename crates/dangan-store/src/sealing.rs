//! 字段加密 — personal data sealed at rest in the database (issue 14, S7.4, X6).
//!
//! A column that holds a full identity number (公民身份号码), or a text that contains one, is
//! stored *sealed*: encrypted with a field key (字段密钥) under AES-256-GCM or SM4-GCM (the
//! configured profile), as text of the form
//!
//! ```text
//! dgf1:<field key id>:<hex of 12-byte nonce ‖ ciphertext ‖ 16-byte tag>
//! ```
//!
//! The associated data binds the value to its column and to one value of its row
//! (`dangan-field-v1 \0 label \0 binding`), so a ciphertext copied into another column or another
//! row fails authentication instead of showing the wrong person's number. Exact search and
//! uniqueness use a keyed blind index: HMAC-SHA-256 of the value under the agency's PII key
//! (`pii-hmac.key`, in the key directory, never in the database).
//!
//! The field keys themselves live in the `field_keys` table, each wrapped by the master key like
//! the data key of a scan; the application unwraps them at start and hands them to the store in a
//! [`FieldCipher`]. A store without one refuses every query that reads or writes a sealed column.
//! Which columns are sealed, and why, is listed in `docs/security.md` § At rest: sealed columns.

use std::collections::BTreeMap;
use std::sync::RwLock;

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, AesGcm, Nonce};
use chrono::{DateTime, Utc};
use hmac::Mac;
use sha2::Sha256;

use crate::{StoreError, StoreResult, Tx, on_conn};

/// SM4 in GCM mode with a 96-bit nonce (RFC 8998).
type Sm4Gcm = AesGcm<sm4::Sm4, U12>;

/// The prefix of every sealed value.
pub const SEALED_PREFIX: &str = "dgf1:";
const AAD_PREFIX: &[u8] = b"dangan-field-v1\0";

/// The name of the cipher of AES-256-GCM field keys.
pub const AES_256_GCM: &str = "aes-256-gcm";
/// The name of the cipher of SM4-GCM field keys.
pub const SM4_GCM: &str = "sm4-gcm";

enum Engine {
    Aes(Box<Aes256Gcm>),
    Sm4(Box<Sm4Gcm>),
}

impl Engine {
    fn new(cipher: &str, key: &[u8]) -> StoreResult<Engine> {
        let bad = || StoreError::Unsupported(format!("field key of cipher {cipher}: bad key"));
        match cipher {
            AES_256_GCM if key.len() == 32 => Ok(Engine::Aes(Box::new(
                Aes256Gcm::new_from_slice(key).map_err(|_| bad())?,
            ))),
            SM4_GCM if key.len() == 16 => Ok(Engine::Sm4(Box::new(
                Sm4Gcm::new_from_slice(key).map_err(|_| bad())?,
            ))),
            AES_256_GCM | SM4_GCM => Err(bad()),
            other => Err(StoreError::Unsupported(format!("field key cipher {other}"))),
        }
    }

    fn apply(&self, seal: bool, nonce: &[u8], aad: &[u8], msg: &[u8]) -> Option<Vec<u8>> {
        let nonce = Nonce::<U12>::try_from(nonce).ok()?;
        let payload = Payload { msg, aad };
        match (self, seal) {
            (Engine::Aes(c), true) => c.encrypt(&nonce, payload).ok(),
            (Engine::Aes(c), false) => c.decrypt(&nonce, payload).ok(),
            (Engine::Sm4(c), true) => c.encrypt(&nonce, payload).ok(),
            (Engine::Sm4(c), false) => c.decrypt(&nonce, payload).ok(),
        }
    }
}

/// The length of a field key of this cipher, in bytes.
pub fn key_len(cipher: &str) -> Option<usize> {
    match cipher {
        AES_256_GCM => Some(32),
        SM4_GCM => Some(16),
        _ => None,
    }
}

/// Seals and opens the sealed columns, and computes their blind index. Holds key material:
/// its `Debug` prints only the key ids.
pub struct FieldCipher {
    index_key: [u8; 32],
    keys: RwLock<BTreeMap<i64, Engine>>,
    current: RwLock<Option<i64>>,
}

impl std::fmt::Debug for FieldCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<i64> = self
            .keys
            .read()
            .map(|k| k.keys().copied().collect())
            .unwrap_or_default();
        f.debug_struct("FieldCipher")
            .field("keys", &ids)
            .field("current", &self.current())
            .finish_non_exhaustive()
    }
}

impl FieldCipher {
    /// A cipher with the blind-index key and no field key yet.
    pub fn new(index_key: [u8; 32]) -> FieldCipher {
        FieldCipher {
            index_key,
            keys: RwLock::new(BTreeMap::new()),
            current: RwLock::new(None),
        }
    }

    /// Adds (or replaces) the field key `id`; `current` makes it the key of new values.
    pub fn add_key(&self, id: i64, cipher: &str, key: &[u8], current: bool) -> StoreResult<()> {
        let engine = Engine::new(cipher, key)?;
        self.keys
            .write()
            .map_err(|_| poisoned())?
            .insert(id, engine);
        if current {
            *self.current.write().map_err(|_| poisoned())? = Some(id);
        }
        Ok(())
    }

    /// The id of the key that seals new values.
    pub fn current(&self) -> Option<i64> {
        self.current.read().ok().and_then(|c| *c)
    }

    /// The blind index of a value: HMAC-SHA-256 under the PII key, lower-case hex. The same as
    /// the keyed hashes of the query register, so an enquirer and a person can be matched.
    pub fn index(&self, value: &str) -> String {
        let mut mac = <hmac::Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.index_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Seals `plain` for the column `label` of the row identified by `binding`.
    pub fn seal(&self, label: &str, binding: &str, plain: &str) -> StoreResult<String> {
        let id = self
            .current()
            .ok_or_else(|| StoreError::Unsupported("no current field key".to_owned()))?;
        let keys = self.keys.read().map_err(|_| poisoned())?;
        let engine = keys
            .get(&id)
            .ok_or_else(|| StoreError::Unsupported(format!("field key {id} not loaded")))?;
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce)
            .map_err(|e| StoreError::Unsupported(format!("random source: {e}")))?;
        let ct = engine
            .apply(true, &nonce, &aad(label, binding), plain.as_bytes())
            .ok_or_else(|| StoreError::Unsupported("encryption failed".to_owned()))?;
        let mut body = nonce.to_vec();
        body.extend_from_slice(&ct);
        Ok(format!("{SEALED_PREFIX}{id}:{}", hex::encode(body)))
    }

    /// Opens a value sealed by [`FieldCipher::seal`] with the same label and binding. A value
    /// that was changed, moved to another row or column, or sealed under an unknown key is
    /// `Corrupt`: never shown as if it were right.
    pub fn open(
        &self,
        table: &'static str,
        label: &str,
        binding: &str,
        sealed: &str,
    ) -> StoreResult<String> {
        let corrupt = |reason: &str| StoreError::Corrupt {
            table,
            reason: format!("{label}: {reason}"),
        };
        let (id, body) = parse(sealed).ok_or_else(|| corrupt("not a sealed value"))?;
        let keys = self.keys.read().map_err(|_| poisoned())?;
        let engine = keys
            .get(&id)
            .ok_or_else(|| corrupt(&format!("sealed under field key {id}, which is not loaded")))?;
        if body.len() < 12 + 16 {
            return Err(corrupt("sealed value too short"));
        }
        let plain = engine
            .apply(false, &body[..12], &aad(label, binding), &body[12..])
            .ok_or_else(|| corrupt("failed authentication (changed or moved to another row)"))?;
        String::from_utf8(plain).map_err(|_| corrupt("not UTF-8"))
    }
}

fn poisoned() -> StoreError {
    StoreError::Unsupported("field cipher lock poisoned".to_owned())
}

fn aad(label: &str, binding: &str) -> Vec<u8> {
    let mut a = AAD_PREFIX.to_vec();
    a.extend_from_slice(label.as_bytes());
    a.push(0);
    a.extend_from_slice(binding.as_bytes());
    a
}

/// The field key id and the raw body of a sealed value.
fn parse(sealed: &str) -> Option<(i64, Vec<u8>)> {
    let rest = sealed.strip_prefix(SEALED_PREFIX)?;
    let (id, body) = rest.split_once(':')?;
    Some((id.parse().ok()?, hex::decode(body).ok()?))
}

/// Whether a stored text is a sealed value (and not the plain text an older version stored).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED_PREFIX)
}

/// The field key a sealed value names.
pub fn key_of(sealed: &str) -> Option<i64> {
    let rest = sealed.strip_prefix(SEALED_PREFIX)?;
    rest.split_once(':')?.0.parse().ok()
}

/// A stored field key: its cipher and its key wrapped by a master key.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FieldKeyRow {
    /// The id sealed values name.
    pub id: i64,
    /// `aes-256-gcm` or `sm4-gcm`.
    pub cipher: String,
    /// The key wrapped by the master key, hex (the vault's key-wrap format).
    pub wrapped_key: String,
    /// The id of the master key that wraps it.
    pub master_key_id: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// Every field key, oldest first (the newest is current). In a writing transaction it first
/// waits for any other node making or rotating keys (on PostgreSQL an advisory lock; SQLite's
/// writers are serialised anyway), so that two servers starting at once on an empty database
/// make one first key, not one each.
pub async fn keys(tx: &mut Tx) -> StoreResult<Vec<FieldKeyRow>> {
    crate::wait_for_setup(tx).await?;
    Ok(on_conn!(tx, c => {
        sqlx::query_as("SELECT id, cipher, wrapped_key, master_key_id, created_at FROM field_keys ORDER BY id")
            .fetch_all(c)
            .await
    })?)
}

/// Stores a new field key; returns its id.
pub async fn insert_key(
    tx: &mut Tx,
    cipher: &str,
    wrapped_key: &str,
    master_key_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    Ok(on_conn!(tx, c => {
        sqlx::query_scalar(
            "INSERT INTO field_keys (cipher, wrapped_key, master_key_id, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(cipher)
        .bind(wrapped_key)
        .bind(master_key_id)
        .bind(now)
        .fetch_one(c)
        .await
    })?)
}

/// Replaces the wrapping of a field key (master-key rotation).
pub async fn rewrap_key(
    tx: &mut Tx,
    id: i64,
    wrapped_key: &str,
    master_key_id: &str,
) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("UPDATE field_keys SET wrapped_key = $1, master_key_id = $2 WHERE id = $3")
            .bind(wrapped_key)
            .bind(master_key_id)
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Whether a one-off pass (e.g. `legacy-v1`, sealing what an older version stored in plain
/// text) has finished.
pub async fn pass_finished(tx: &mut Tx, name: &str) -> StoreResult<bool> {
    let found: Option<String> = on_conn!(tx, c => {
        sqlx::query_scalar("SELECT name FROM sealing_passes WHERE name = $1")
            .bind(name)
            .fetch_optional(c)
            .await
    })?;
    Ok(found.is_some())
}

/// Records that a one-off pass has finished.
pub async fn finish_pass(tx: &mut Tx, name: &str, now: DateTime<Utc>) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("INSERT INTO sealing_passes (name, finished_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(now)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// A column whose whole text is sealed, with the row value its seal is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedText {
    /// The table.
    pub table: &'static str,
    /// The sealed column.
    pub column: &'static str,
    /// The column (of the same row) the seal is bound to.
    pub binding: &'static str,
    /// The label in the associated data.
    pub label: &'static str,
}

/// `files.manifest`: the sealed manifest of a scan (it names the person's identity number).
pub const FILE_MANIFEST: SealedText = SealedText {
    table: "files",
    column: "manifest",
    binding: "id",
    label: "files.manifest",
};

/// `file_manifests.manifest`: a scan's replaced manifest, kept when a new one was issued.
pub const FILE_MANIFEST_HISTORY: SealedText = SealedText {
    table: "file_manifests",
    column: "manifest",
    binding: "file_id",
    label: "file_manifests.manifest",
};

/// `outbox.payload`: a notice for the business system (it carries the identity number).
pub const OUTBOX_PAYLOAD: SealedText = SealedText {
    table: "outbox",
    column: "payload",
    binding: "person_id",
    label: "outbox.payload",
};

/// `ingest_quarantine.file_name_enc`: a quarantined hot-folder file's full name (S6.1 names
/// carry the identity number).
pub const QUARANTINE_NAME: SealedText = SealedText {
    table: "ingest_quarantine",
    column: "file_name_enc",
    binding: "sha256",
    label: "ingest_quarantine.file_name",
};

/// One row of a sealed-text column: its id, the binding value as text, and the stored text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredText {
    /// The row id.
    pub id: i64,
    /// The binding column's value, as text.
    pub binding: String,
    /// The stored text (sealed, or plain when an older version wrote it).
    pub stored: Option<String>,
}

/// Rows of a sealed-text column after `after_id`, by id (keyset pages for resumable passes).
/// Rows without a binding hold no personal data and are not sealed (an outbox item about a
/// room).
pub async fn page(
    tx: &mut Tx,
    col: SealedText,
    after_id: i64,
    limit: i64,
) -> StoreResult<Vec<StoredText>> {
    let sql = format!(
        "SELECT id, CAST({b} AS TEXT) AS bound_to, {} AS stored FROM {} WHERE id > $1 AND {b} IS NOT NULL ORDER BY id LIMIT $2",
        col.column,
        col.table,
        b = col.binding
    );
    let rows: Vec<(i64, String, Option<String>)> = on_conn!(tx, c => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(after_id).bind(limit).fetch_all(c).await
    })?;
    Ok(rows
        .into_iter()
        .map(|(id, binding, stored)| StoredText {
            id,
            binding,
            stored,
        })
        .collect())
}

/// Replaces the stored text of one row of a sealed-text column.
pub async fn set(tx: &mut Tx, col: SealedText, id: i64, stored: &str) -> StoreResult<()> {
    let sql = format!("UPDATE {} SET {} = $1 WHERE id = $2", col.table, col.column);
    on_conn!(tx, c => {
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(stored).bind(id).execute(c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Removes the copies of plain text a re-sealing pass left behind in the database's storage:
/// SQLite rebuilds the file (`VACUUM`; freed cells are zeroed anyway with `secure_delete`) and
/// truncates its write-ahead log; PostgreSQL rewrites the tables that held plain text
/// (`VACUUM FULL`), so that no dead row version keeps an old value.
pub async fn purge_plain_copies(store: &crate::Store) -> StoreResult<()> {
    match store.pool() {
        crate::Pool::Sqlite(p) => {
            sqlx::query("VACUUM").execute(p).await?;
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(p)
                .await?;
        }
        crate::Pool::Postgres(p) => {
            sqlx::query("VACUUM FULL persons, files, outbox, ingest_quarantine")
                .execute(p)
                .await?;
        }
    }
    Ok(())
}

impl Tx {
    /// The field cipher this transaction seals and opens with.
    pub fn fields(&self) -> StoreResult<&FieldCipher> {
        self.fields.as_deref().ok_or_else(|| {
            StoreError::Unsupported(
                "no field cipher installed: personal data cannot be read or written".to_owned(),
            )
        })
    }

    /// Seals a text of a sealed-text column.
    pub fn seal_text(&self, col: SealedText, binding: &str, plain: &str) -> StoreResult<String> {
        self.fields()?.seal(col.label, binding, plain)
    }

    /// Opens a text of a sealed-text column.
    pub fn open_text(&self, col: SealedText, binding: &str, stored: &str) -> StoreResult<String> {
        self.fields()?.open(col.table, col.label, binding, stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(alg: &str) -> FieldCipher {
        let c = FieldCipher::new([7; 32]);
        c.add_key(1, alg, &vec![9; key_len(alg).unwrap()], true)
            .unwrap();
        c
    }

    #[test]
    fn a_sealed_value_opens_only_in_its_own_column_and_row() {
        for alg in [AES_256_GCM, SM4_GCM] {
            let c = cipher(alg);
            let s = c
                .seal("persons.id_number", "abc", "11010519491231002X")
                .unwrap();
            assert!(is_sealed(&s) && !s.contains("11010519491231002X"), "{s}");
            assert_eq!(key_of(&s), Some(1));
            assert_eq!(
                c.open("persons", "persons.id_number", "abc", &s).unwrap(),
                "11010519491231002X"
            );
            assert!(c.open("persons", "persons.id_number", "abd", &s).is_err());
            assert!(c.open("persons", "files.manifest", "abc", &s).is_err());
            let mut bad = s.clone().into_bytes();
            let last = bad.len() - 1;
            bad[last] = if bad[last] == b'0' { b'1' } else { b'0' };
            assert!(
                c.open(
                    "persons",
                    "persons.id_number",
                    "abc",
                    &String::from_utf8(bad).unwrap()
                )
                .is_err()
            );
        }
    }

    #[test]
    fn the_same_value_seals_differently_each_time_but_indexes_the_same() {
        let c = cipher(AES_256_GCM);
        let a = c.seal("l", "b", "x").unwrap();
        let b = c.seal("l", "b", "x").unwrap();
        assert_ne!(a, b);
        assert_eq!(c.index("x"), c.index("x"));
        assert_ne!(c.index("x"), c.index("y"));
        assert_eq!(c.index("x").len(), 64);
    }

    #[test]
    fn a_value_under_an_unknown_key_is_refused_not_guessed() {
        let c = cipher(AES_256_GCM);
        let s = c.seal("l", "b", "x").unwrap();
        let other = FieldCipher::new([7; 32]);
        other.add_key(2, AES_256_GCM, &[9; 32], true).unwrap();
        assert!(other.open("t", "l", "b", &s).is_err());
        assert!(FieldCipher::new([0; 32]).seal("l", "b", "x").is_err());
    }
}
