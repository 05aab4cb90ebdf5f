//! The virus check of a stored scan (with ClamAV, when installed: `adapters/clamav.rs`).

use dangan_store::files::{self};
use dangan_vault::store::Ingested;

use crate::adapters::clamav::ClamScan;
use crate::{App, AppResult};

impl App {
    /// The virus check of a stored scan (a duplicate's bytes on disk are the existing blob's,
    /// under its own data key).
    pub(super) async fn scan_staged(
        &self,
        stored: &Ingested,
    ) -> AppResult<Option<Result<(), String>>> {
        let (scan_key, scan_master) = {
            let mut tx = self.store.begin().await?;
            let existing = files::blob(&mut tx, &stored.sha256).await?;
            tx.rollback().await?;
            match existing {
                Some(b) => (
                    hex::decode(&b.wrapped_key).unwrap_or_default(),
                    b.master_key_id,
                ),
                None => (
                    stored.wrapped_key.clone(),
                    self.keys.master_key_id().to_owned(),
                ),
            }
        };
        Ok(self
            .virus_scan(&stored.sha256, &scan_key, &scan_master)
            .await)
    }

    /// Scans a stored blob with ClamAV when `clamscan` is installed, streaming the decrypted bytes
    /// to its standard input. `None` when ClamAV is not there (the report says so plainly).
    pub(super) async fn virus_scan(
        &self,
        sha256: &str,
        wrapped_key: &[u8],
        master_id: &str,
    ) -> Option<Result<(), String>> {
        let mut scan = ClamScan::start()?;
        let vault = self.vault.as_ref()?;
        let master = self.keys.master_key_by_id(master_id)?;
        let fed = vault
            .read_to(sha256, wrapped_key, &master, false, scan.input())
            .await
            .map(|_| ())
            .map_err(|e| e.to_string());
        scan.verdict(fed).await
    }
}
