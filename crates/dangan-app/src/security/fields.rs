//! 字段加密 — the keys of the sealed columns (`dangan_store::sealing`), the pass that seals what
//! an older version stored in plain text, and the part of key rotation that re-seals them.
//!
//! A field key (字段密钥) is made at the first start: random, of the configured cipher
//! (AES-256-GCM or SM4-GCM, the vault's profile), wrapped by the master key and kept in the
//! database (`field_keys`); the blind index uses the PII key of the key directory. A stolen
//! database therefore opens no identity number: the master key and the PII key stay in the key
//! directory. Every start unwraps the field keys and installs them in the store.

use std::sync::Arc;

use chrono::Utc;
use dangan_store::sealing::{self, FieldCipher, SealedText};
use dangan_store::{Store, Tx, files, persons};

use crate::security::keyring::KeyRing;
use crate::{AppError, AppResult};

impl crate::App {
    /// A business system's record key (来源编号: a source id, an external business id) as it is
    /// stored: unchanged, unless it holds an identity number (some systems key their records
    /// by it). Then the number is masked and a keyed digest of the whole key (HMAC under the
    /// PII key, 64 bits) keeps it unique, so that a repeated delivery still finds its record.
    /// Applying it twice changes nothing.
    pub(crate) fn stored_source_key(&self, key: &str) -> String {
        let masked = crate::text::mask_id_numbers(key);
        if masked == key {
            return masked;
        }
        format!("{masked}~{}", &self.keys().pii_hmac(key)[..16])
    }

    /// Ledger rows with their source ids as stored.
    pub(crate) fn keyed_contributions(
        &self,
        rows: &[dangan_store::ledger::Contribution],
    ) -> Vec<dangan_store::ledger::Contribution> {
        rows.iter()
            .map(|r| dangan_store::ledger::Contribution {
                source_id: self.stored_source_key(&r.source_id),
                ..r.clone()
            })
            .collect()
    }

    /// Benefit rows with their source ids as stored.
    pub(crate) fn keyed_benefits(
        &self,
        rows: &[dangan_store::ledger::BenefitPayment],
    ) -> Vec<dangan_store::ledger::BenefitPayment> {
        rows.iter()
            .map(|r| dangan_store::ledger::BenefitPayment {
                source_id: self.stored_source_key(&r.source_id),
                ..r.clone()
            })
            .collect()
    }
}

/// The one-off pass that seals an older version's plain values.
const LEGACY_PASS: &str = "legacy-v1";
/// Rows per transaction of the passes.
const BATCH: i64 = 1000;
/// The whole-text sealed columns.
const TEXTS: [SealedText; 3] = [
    sealing::FILE_MANIFEST,
    sealing::FILE_MANIFEST_HISTORY,
    sealing::OUTBOX_PAYLOAD,
];

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(e.to_string())
}

/// Makes a field key of `cipher`, wrapped by the master key `(id, key)`, and stores it.
async fn new_field_key(
    tx: &mut Tx,
    cipher: &str,
    master_id: &str,
    master: &[u8; 32],
) -> AppResult<(i64, Vec<u8>)> {
    let len = sealing::key_len(cipher).ok_or_else(|| internal(format!("cipher {cipher}")))?;
    let key = dangan_vault::crypto::random_bytes(len).map_err(internal)?;
    let wrapped = dangan_vault::crypto::wrap_key(master, &key).map_err(internal)?;
    let id = sealing::insert_key(tx, cipher, &hex::encode(wrapped), master_id, Utc::now()).await?;
    Ok((id, key))
}

/// Unwraps a stored field key with the master key that wraps it.
fn unwrap(keys: &KeyRing, row: &sealing::FieldKeyRow) -> AppResult<Vec<u8>> {
    let master = keys.master_key_by_id(&row.master_key_id).ok_or_else(|| {
        internal(format!(
            "field key {} is wrapped by master key {}, which is not in the key directory",
            row.id, row.master_key_id
        ))
    })?;
    let wrapped = hex::decode(&row.wrapped_key).map_err(internal)?;
    dangan_vault::crypto::unwrap_key(&master, &wrapped)
        .map_err(|e| internal(format!("field key {}: {e}", row.id)))
}

/// Loads the field keys (making the first one, of `cipher`, on a new database) and installs
/// them in the store; the newest is current.
pub(crate) async fn install(store: &Store, keys: &KeyRing, cipher: &str) -> AppResult<()> {
    let mut tx = store.begin_write().await?;
    let mut rows = sealing::keys(&mut tx).await?;
    if rows.is_empty() {
        new_field_key(&mut tx, cipher, keys.master_key_id(), keys.master_key()).await?;
        rows = sealing::keys(&mut tx).await?;
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    let fields = FieldCipher::new(keys.pii_key());
    let newest = rows.last().map(|r| r.id);
    for row in &rows {
        fields.add_key(
            row.id,
            &row.cipher,
            &unwrap(keys, row)?,
            Some(row.id) == newest,
        )?;
    }
    store.install_field_cipher(Arc::new(fields));
    Ok(())
}

/// Seals what an older version stored in plain text (identity numbers, manifests, outbox
/// payloads, quarantined names) and masks the identity numbers in stored file names, then
/// purges the plain copies from the database's storage. Runs once (resumable: each batch
/// commits); later starts find the pass finished. Returns the values sealed or masked.
pub(crate) async fn seal_legacy(store: &Store) -> AppResult<usize> {
    let mut tx = store.begin().await?;
    let finished = sealing::pass_finished(&mut tx, LEGACY_PASS).await?;
    tx.rollback().await?;
    if finished {
        return Ok(0);
    }
    let mut done = 0usize;
    loop {
        let mut tx = store.begin_write().await?;
        let batch = persons::unsealed(&mut tx, BATCH).await?;
        if batch.is_empty() {
            break;
        }
        for (id, plain) in &batch {
            persons::reseal(&mut tx, *id, plain).await?;
        }
        tx.commit().await?;
        done += batch.len();
    }
    loop {
        let mut tx = store.begin_write().await?;
        let batch = files::unsealed_quarantine(&mut tx, BATCH).await?;
        if batch.is_empty() {
            break;
        }
        for (id, name, sha) in &batch {
            let masked = crate::text::mask_id_numbers(name);
            files::seal_quarantined_name(&mut tx, *id, name, &masked, sha).await?;
        }
        tx.commit().await?;
        done += batch.len();
    }
    for col in TEXTS {
        done += reseal_texts(store, col, |stored| !sealing::is_sealed(stored)).await?;
    }
    let mut after = 0i64;
    loop {
        let mut tx = store.begin_write().await?;
        let page = files::names_page(&mut tx, after, BATCH).await?;
        let Some(last) = page.last().map(|(id, _)| *id) else {
            break;
        };
        for (id, name) in &page {
            let masked = crate::text::mask_id_numbers(name);
            if masked != *name {
                files::set_original_name(&mut tx, *id, &masked).await?;
                done += 1;
            }
        }
        tx.commit().await?;
        after = last;
    }
    if done > 0 {
        sealing::purge_plain_copies(store).await?;
        tracing::info!(
            values = done,
            "personal data an older version stored in plain text is now sealed"
        );
    }
    let mut tx = store.begin_write().await?;
    sealing::finish_pass(&mut tx, LEGACY_PASS, Utc::now()).await?;
    tx.commit().await?;
    Ok(done)
}

/// Re-seals, under the current field key, every stored text of `col` that `stale` picks
/// (plain text, or sealed under an older key); returns how many. Rows are read in id order, one
/// batch per transaction.
async fn reseal_texts(
    store: &Store,
    col: SealedText,
    stale: impl Fn(&str) -> bool,
) -> AppResult<usize> {
    let mut done = 0usize;
    let mut after = 0i64;
    loop {
        let mut tx = store.begin_write().await?;
        let page = sealing::page(&mut tx, col, after, BATCH).await?;
        let Some(last) = page.last().map(|r| r.id) else {
            break;
        };
        for row in &page {
            let Some(stored) = row.stored.as_deref().filter(|s| !s.is_empty() && stale(s)) else {
                continue;
            };
            let plain = if sealing::is_sealed(stored) {
                tx.open_text(col, &row.binding, stored)?
            } else {
                stored.to_owned()
            };
            let sealed = tx.seal_text(col, &row.binding, &plain)?;
            sealing::set(&mut tx, col, row.id, &sealed).await?;
            done += 1;
        }
        tx.commit().await?;
        after = last;
    }
    Ok(done)
}

/// Key rotation's part: a new field key wrapped by the next master key becomes current, every
/// field key is re-wrapped by the next master key, and every sealed value is re-sealed under
/// the new field key, so that neither the old master key nor an old field key opens the
/// database any more. Resumable like the rest of the rotation. Returns the values re-sealed.
pub(crate) async fn rotate(
    store: &Store,
    keys: &KeyRing,
    next_id: &str,
    next: &[u8; 32],
    cipher: &str,
    progress: &impl Fn(usize),
) -> AppResult<usize> {
    let fields = store
        .field_cipher()
        .ok_or_else(|| internal("no field cipher installed"))?;
    let mut tx = store.begin_write().await?;
    let rows = sealing::keys(&mut tx).await?;
    // A resumed rotation finds its new key already made (the newest, wrapped by the next key).
    let newest_is_next = rows.last().is_some_and(|r| r.master_key_id == next_id);
    if !newest_is_next {
        let (id, key) = new_field_key(&mut tx, cipher, next_id, next).await?;
        fields.add_key(id, cipher, &key, true)?;
    }
    for row in rows.iter().filter(|r| r.master_key_id != next_id) {
        let key = unwrap(keys, row)?;
        let wrapped = dangan_vault::crypto::wrap_key(next, &key).map_err(internal)?;
        sealing::rewrap_key(&mut tx, row.id, &hex::encode(wrapped), next_id).await?;
    }
    tx.commit().await?;
    let current = fields
        .current()
        .ok_or_else(|| internal("no current field key"))?;
    let old = |stored: &str| sealing::key_of(stored) != Some(current);
    let mut done = 0usize;
    let mut after = persons::PersonId(0);
    loop {
        let mut tx = store.begin_write().await?;
        let page = persons::sealed_page(&mut tx, after, BATCH).await?;
        let Some(last) = page.last().map(|r| r.0) else {
            break;
        };
        for (id, sealed, index) in &page {
            if !old(sealed) {
                continue;
            }
            let plain = persons::open_id_number(tx.fields()?, *id, index.as_deref(), sealed)?;
            persons::reseal(&mut tx, *id, &plain).await?;
            done += 1;
        }
        tx.commit().await?;
        after = last;
        progress(done);
    }
    for col in TEXTS.into_iter().chain([sealing::QUARANTINE_NAME]) {
        done += reseal_texts(store, col, old).await?;
        progress(done);
    }
    Ok(done)
}
