//! What the monitoring reads beside the use-cases (`/metrics` and `/readyz` in `dangan-web`):
//! when the operation log was last anchored, and whether the blob store answers. Neither is a
//! use-case a person calls, neither carries personal data, and neither writes a log entry, so
//! a scrape every few seconds leaves no trace in the log.

use chrono::{DateTime, Utc};
use dangan_store::audit;

use crate::{App, AppResult};

impl App {
    /// When the newest anchor of the operation log was signed; `None` before the first.
    pub async fn last_anchor_signed_at(&self) -> AppResult<Option<DateTime<Utc>>> {
        let mut tx = self.store.begin().await?;
        let anchor = audit::last_anchor(&mut tx).await?;
        tx.rollback().await?;
        Ok(anchor
            .and_then(|a| DateTime::parse_from_rfc3339(&a.signed_at).ok())
            .map(|t| t.with_timezone(&Utc)))
    }

    /// Whether the vault's blob store answers: `None` when this server has no vault, else
    /// `Some(false)` with the reason logged once here.
    pub async fn blob_store_reachable(&self) -> Option<bool> {
        let vault = self.vault.as_ref()?;
        match vault.probe().await {
            Ok(()) => Some(true),
            Err(e) => {
                tracing::warn!(error = %e, "the blob store does not answer");
                Some(false)
            }
        }
    }
}
