//! Keys of the electronic archive: exporting every key under a passphrase, and rotating the
//! master key (re-wrapping every blob's data key, re-sealing the sealed columns).

use dangan_store::files::{self};

use crate::administration::roles::{Actor, UseCase};
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult};

/// What a key rotation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Blob data keys re-wrapped under the new master key.
    pub data_keys: usize,
    /// Sealed personal values (identity numbers, manifests, notices, quarantined names)
    /// re-sealed under the new field key.
    pub personal_values: usize,
}

impl App {
    /// 导出密钥 — every key of the agency, encrypted under `passphrase` (at least 12
    /// characters), for keeping apart from the backups. The security officer's use-case; logged.
    pub async fn export_keys(&self, actor: &Actor, passphrase: &str) -> AppResult<Vec<u8>> {
        self.authorize(actor, UseCase::ManageKeys).await?;
        let bytes = self.keys.export(passphrase)?;
        self.log(
            actor,
            &Op::new("key.export", "key_ring", self.keys.key_id()),
            Outcome::Ok,
        )
        .await?;
        Ok(bytes)
    }

    /// 密钥轮换: re-wraps every blob's data key under a new master key, without rewriting any
    /// blob; makes a new field key and re-seals every sealed personal value under it
    /// ([`crate::security::fields::rotate`]); then makes the new master key current and retires the old
    /// one. Resumable: a run that
    /// stopped half-way continues with the same next key. Run it with the server stopped (a
    /// running server holds the old key ring until restarted).
    pub async fn rotate_master_key(
        &self,
        actor: &Actor,
        progress: impl Fn(usize),
    ) -> AppResult<Rotation> {
        self.authorize(actor, UseCase::ManageKeys).await?;
        let (next_id, next) = self.keys.next_master_key()?;
        let mut done = 0usize;
        loop {
            let mut tx = self.store.begin_write().await?;
            let batch = files::blobs_not_wrapped_by(&mut tx, &next_id, 500).await?;
            if batch.is_empty() {
                tx.rollback().await?;
                break;
            }
            for b in &batch {
                let old = self
                    .keys
                    .master_key_by_id(&b.master_key_id)
                    .ok_or_else(|| {
                        AppError::Internal(format!("master key {} not available", b.master_key_id))
                    })?;
                let wrapped =
                    hex::decode(&b.wrapped_key).map_err(|e| AppError::Internal(e.to_string()))?;
                let data_key = dangan_vault::crypto::unwrap_key(&old, &wrapped)
                    .map_err(|e| AppError::Internal(e.to_string()))?;
                let rewrapped = dangan_vault::crypto::wrap_key(&next, &data_key)
                    .map_err(|e| AppError::Internal(e.to_string()))?;
                files::rewrap(&mut tx, &b.sha256, &hex::encode(rewrapped), &next_id).await?;
            }
            tx.commit().await?;
            done += batch.len();
            progress(done);
        }
        let resealed = crate::security::fields::rotate(
            &self.store,
            &self.keys,
            &next_id,
            &next,
            self.settings.field_cipher(),
            &|n| progress(done + n),
        )
        .await?;
        self.keys.finish_rotation()?;
        self.log(
            actor,
            &Op::new("key.rotate", "master_key", next_id).detail(format!(
                "{done} data keys re-wrapped, {resealed} personal values re-sealed"
            )),
            Outcome::Ok,
        )
        .await?;
        Ok(Rotation {
            data_keys: done,
            personal_values: resealed,
        })
    }
}
