//! 巡检 as a job: the scheduled scrub, resumable. Its progress (the scrub run, the last file
//! verified, the count and the failures) is saved with the job after every batch, so a node
//! that takes over a scrub whose node died goes on from there instead of starting again; and
//! it can be paced (bytes per second) so that a daily scrub of a large archive does not starve
//! ingest on a shared disk or bucket.

use std::time::{Duration, Instant};

use chrono::Utc;
use serde::{Deserialize, Serialize};

use dangan_store::files::{self, FileId};

use super::worker::Lease;
use crate::administration::roles::{Actor, UseCase};
use crate::{App, AppResult};

/// Files listed at a time (the progress is saved after each such batch at least).
const BATCH: i64 = 50;

/// How far a scrub got.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ScrubProgress {
    /// The scrub run being written.
    pub run: Option<i64>,
    /// The last file verified.
    pub after: i64,
    /// Files verified.
    pub done: i64,
    /// Files that failed.
    pub failed: Vec<i64>,
}

impl App {
    /// Runs (or resumes) the scrub of a job; verifies at most `bytes_per_second` of blob
    /// content a second (0: as fast as it goes). Returns what it did, in Chinese.
    pub(crate) async fn scrub_job(
        &self,
        lease: &Lease,
        bytes_per_second: u64,
    ) -> AppResult<String> {
        let actor = Actor::system();
        self.authorize(&actor, UseCase::VerifyFiles).await?;
        let mut p: ScrubProgress = serde_json::from_str(lease.progress()).unwrap_or_default();
        let run = match p.run {
            Some(run) => run,
            None => {
                let mut tx = self.store.begin_write().await?;
                let run = files::start_scrub(&mut tx, "schedule", Utc::now()).await?;
                tx.commit().await?;
                p.run = Some(run);
                lease.save(&p).await?;
                run
            }
        };
        // Saved at least every third of the lease (at most every 5 seconds), and after every
        // batch: a node that takes over repeats at most that much work.
        let save_every = (lease.length() / 3).min(Duration::from_secs(5));
        let mut saved = Instant::now();
        loop {
            let mut tx = self.store.begin().await?;
            let ids = files::ids_after(&mut tx, p.after, BATCH).await?;
            tx.rollback().await?;
            if ids.is_empty() {
                break;
            }
            for id in ids {
                let v = self.verify_one(id).await?;
                if !v.ok {
                    p.failed.push(id.0);
                }
                p.done += 1;
                p.after = id.0;
                self.pace(id, bytes_per_second).await?;
                if saved.elapsed() >= save_every {
                    lease.save(&p).await?;
                    saved = Instant::now();
                }
            }
            lease.save(&p).await?;
            saved = Instant::now();
        }
        let failed: Vec<FileId> = p.failed.iter().copied().map(FileId).collect();
        self.finish_scrub_run(&actor, run, "schedule", p.done, &failed)
            .await?;
        if failed.is_empty() {
            Ok(format!("巡检 {} 份电子文件，全部通过", p.done))
        } else {
            let ids: Vec<String> = failed.iter().map(ToString::to_string).collect();
            tracing::error!(files = p.done, failed = failed.len(), ids = %ids.join(" "), "scrub: files failed verification");
            Ok(format!(
                "巡检 {} 份电子文件，{} 份未通过（文件 {}）",
                p.done,
                failed.len(),
                ids.join("、")
            ))
        }
    }

    /// Waits as long as verifying this file's blob should take at the paced rate.
    async fn pace(&self, id: FileId, bytes_per_second: u64) -> AppResult<()> {
        if bytes_per_second == 0 {
            return Ok(());
        }
        let mut tx = self.store.begin().await?;
        let size = match files::get(&mut tx, id).await? {
            Some(f) => files::blob(&mut tx, &f.sha256).await?.map_or(0, |b| b.size),
            None => 0,
        };
        tx.rollback().await?;
        let secs = u64::try_from(size).unwrap_or(0) as f64 / bytes_per_second as f64;
        if secs > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(secs.min(3600.0))).await;
        }
        Ok(())
    }
}
