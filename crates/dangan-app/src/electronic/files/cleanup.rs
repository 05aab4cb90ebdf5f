//! Cleaning up: a scan withdrawn before sealing (撤回), and blobs and temporary files that no
//! metadata knows collected as garbage.

use dangan_store::events::{self};
use dangan_store::files::{self, FileId};
use dangan_store::volumes;

use crate::administration::roles::{Actor, UseCase};
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult};

impl App {
    /// 撤回 — removes a scan uploaded by mistake (wrong person, wrong page), with the reason,
    /// while its material is not yet in a sealed volume; after sealing, scans are corrected
    /// through the correction and damage procedures instead. The blob is kept while another file
    /// holds the same bytes; otherwise it is left for garbage collection.
    pub async fn withdraw_file(&self, actor: &Actor, id: FileId, reason: &str) -> AppResult<()> {
        self.authorize(actor, UseCase::IngestScans).await?;
        let reason = crate::text::required("reason", reason, 500, "撤回原因")?;
        let mut tx = self.store.begin_write().await?;
        let f = files::get(&mut tx, id)
            .await?
            .ok_or_else(|| AppError::not_found("file_not_found", "未找到该电子文件"))?;
        let m = events::material(&mut tx, f.material_id)
            .await?
            .ok_or_else(|| AppError::Internal("material vanished".to_owned()))?;
        if let Some(v) = m.volume_id
            && volumes::get(&mut tx, dangan_store::volumes::VolumeId(v))
                .await?
                .is_some_and(|v| v.sealed_at.is_some())
        {
            return Err(AppError::Conflict {
                code: "volume_sealed",
                field: None,
                message: "该材料所在案卷已封卷，扫描件不能撤回；请走档案更正或损毁登记".to_owned(),
            });
        }
        let blob_gone = files::delete(&mut tx, id, &f.sha256).await?;
        let op = Op::new("file.withdraw", "file", id).detail(format!(
            "material {} {}{}",
            f.material_id,
            reason,
            if blob_gone {
                ""
            } else {
                " (blob kept: shared)"
            }
        ));
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes blobs and temporary files that no metadata knows (after a crash between a blob's
    /// write and its commit) and that are older than `grace` (a younger one may be an ingest
    /// still under way in another process). Returns how many were removed.
    pub async fn collect_garbage(
        &self,
        actor: &Actor,
        grace: std::time::Duration,
    ) -> AppResult<usize> {
        self.authorize(actor, UseCase::VerifyFiles).await?;
        let mut tx = self.store.begin().await?;
        let known = files::all_blob_digests(&mut tx)
            .await?
            .into_iter()
            .collect();
        tx.rollback().await?;
        let removed = self
            .vault()?
            .remove_orphans(&known, grace)
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        self.log(
            actor,
            &Op::new("file.gc", "vault", "").detail(format!("{removed} removed")),
            Outcome::Ok,
        )
        .await?;
        Ok(removed)
    }
}
