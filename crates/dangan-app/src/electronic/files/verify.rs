//! Verification (校验) and the scrub: a file's blob decrypts, authenticates and hashes to its
//! recorded digests, and its seal holds over the current metadata; the scrub verifies all.

use std::collections::BTreeMap;

use chrono::Utc;
use serde::Serialize;

use dangan_store::Tx;
use dangan_store::files::{self, BlobRow, FileId, FileRow};
use dangan_vault::VaultError;

use super::seal::Issue;
use crate::administration::roles::{Actor, UseCase};
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult};

/// The result of verifying one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileVerification {
    /// The file.
    pub file_id: FileId,
    /// Everything holds.
    pub ok: bool,
    /// The blob decrypts, authenticates and hashes to the recorded digests.
    pub content_ok: bool,
    /// The seal is valid over the current metadata.
    pub seal_ok: bool,
    /// What is wrong, in Chinese.
    pub problems: Vec<String>,
}

impl App {
    pub(crate) async fn verify_one(&self, id: FileId) -> AppResult<FileVerification> {
        let mut tx = self.store.begin().await?;
        let f = files::get(&mut tx, id)
            .await?
            .ok_or_else(|| AppError::not_found("file_not_found", "未找到该电子文件"))?;
        let blob = files::blob(&mut tx, &f.sha256).await?;
        let mut problems = Vec::new();
        let seal_ok = self.check_seal(&mut tx, &f, &mut problems).await?;
        tx.rollback().await?;
        let content_ok = match &blob {
            None => {
                problems.push("缺少数据块记录".to_owned());
                false
            }
            Some(b) => match self.check_content(b, &mut problems).await? {
                Some(ok) => ok,
                None => {
                    return Ok(FileVerification {
                        file_id: id,
                        ok: false,
                        content_ok: false,
                        seal_ok,
                        problems,
                    });
                }
            },
        };
        if let Some(b) = &blob {
            let mut tx = self.store.begin_write().await?;
            files::record_verification(&mut tx, &b.sha256, content_ok, Utc::now()).await?;
            tx.commit().await?;
        }
        Ok(FileVerification {
            file_id: id,
            ok: content_ok && seal_ok,
            content_ok,
            seal_ok,
            problems,
        })
    }

    /// Checks the file's 电子印章 (seal): the signature over its sealed manifest, the manifest
    /// against the metadata now, and the chain of the manifests it replaced. Each problem is
    /// said in `problems`; `true` when there was none.
    async fn check_seal(
        &self,
        tx: &mut Tx,
        f: &FileRow,
        problems: &mut Vec<String>,
    ) -> AppResult<bool> {
        // The archive number, the version and the link to the manifest replaced are taken from
        // the sealed manifest itself (the archive number is assigned later, when the volume is
        // sealed, and a new manifest is issued then).
        let stored: BTreeMap<String, String> =
            serde_json::from_str(&f.manifest).unwrap_or_default();
        let archive_number = stored.get("archive_number").cloned().unwrap_or_default();
        let issue = Issue {
            archive_number: &archive_number,
            v2: stored.get("manifest_version").map(String::as_str) == Some("2"),
            previous: stored.get("previous").map(String::as_str),
        };
        Ok(match self.manifest(tx, f, &issue).await {
            Ok(now) => {
                let signed = self
                    .keys
                    .verify_seal(&f.seal_key_id, f.manifest.as_bytes(), &f.seal);
                if !signed {
                    problems.push("电子印章无效：签名与封存清单不符".to_owned());
                }
                if now != f.manifest {
                    problems.push("元数据与封存清单不符：档案信息被修改".to_owned());
                }
                let chain = self.check_history(tx, f, issue.previous).await?;
                problems.extend(chain.iter().cloned());
                signed && now == f.manifest && chain.is_empty()
            }
            Err(e) => {
                problems.push(format!("元数据不完整：{e}"));
                false
            }
        })
    }

    /// Reads the blob back from the vault, decrypting it, and compares its digests and size
    /// with those recorded. Each problem is said in `problems`; `Some(true)` when there was
    /// none, `None` when it could not be read for want of its master key.
    async fn check_content(
        &self,
        b: &BlobRow,
        problems: &mut Vec<String>,
    ) -> AppResult<Option<bool>> {
        let wrapped = hex::decode(&b.wrapped_key).unwrap_or_default();
        let Some(master) = self.keys.master_key_by_id(&b.master_key_id) else {
            problems.push(format!("缺少主密钥 {}，无法解密", b.master_key_id));
            return Ok(None);
        };
        let with_sm3 = b.sm3().is_some();
        Ok(Some(
            match self
                .vault()?
                .verify(&b.sha256, &wrapped, &master, with_sm3)
                .await
            {
                Ok(v)
                    if v.sha256 == b.sha256
                        && v.sm3.as_deref() == b.sm3()
                        && i64::try_from(v.size).ok() == Some(b.size) =>
                {
                    true
                }
                Ok(_) => {
                    problems.push("数字摘要不符：文件内容被修改".to_owned());
                    false
                }
                Err(VaultError::Missing(_)) => {
                    problems.push("数据块缺失".to_owned());
                    false
                }
                Err(e) => {
                    problems.push(format!("文件内容校验失败（被修改、截断或调换）：{e}"));
                    false
                }
            },
        ))
    }

    /// Verifies one file: decrypts and re-hashes its blob and checks its seal over the current
    /// metadata.
    pub async fn verify_file(&self, actor: &Actor, id: FileId) -> AppResult<FileVerification> {
        self.authorize(actor, UseCase::VerifyFiles).await?;
        let v = self.verify_one(id).await?;
        let outcome = if v.ok { Outcome::Ok } else { Outcome::Failed };
        self.log(
            actor,
            &Op::new("file.verify", "file", id).detail(v.problems.join("；")),
            outcome,
        )
        .await?;
        Ok(v)
    }

    /// Verifies every file, in id order, calling `progress(done)` as it goes; returns the
    /// failures. The run is recorded among the scrub runs as `manual`.
    pub async fn verify_all_files(
        &self,
        actor: &Actor,
        progress: impl Fn(usize),
    ) -> AppResult<(usize, Vec<FileVerification>)> {
        self.verify_all(actor, "manual", progress).await
    }

    /// 巡检 — the scheduled scrub: re-verifies every blob and seal, records the run and, for
    /// each blob, when it was last verified and whether it passed.
    pub async fn scrub(&self, actor: &Actor) -> AppResult<(usize, Vec<FileVerification>)> {
        self.verify_all(actor, "schedule", |_| {}).await
    }

    /// The latest scrub runs, newest first.
    pub async fn scrub_runs(&self, actor: &Actor, limit: u32) -> AppResult<Vec<files::ScrubRun>> {
        self.authorize(actor, UseCase::VerifyFiles).await?;
        let mut tx = self.store.begin().await?;
        let runs = files::scrub_runs(&mut tx, i64::from(limit.clamp(1, 100))).await?;
        tx.rollback().await?;
        Ok(runs)
    }

    pub(super) async fn verify_all(
        &self,
        actor: &Actor,
        trigger: &str,
        progress: impl Fn(usize),
    ) -> AppResult<(usize, Vec<FileVerification>)> {
        self.authorize(actor, UseCase::VerifyFiles).await?;
        let mut tx = self.store.begin_write().await?;
        let run = files::start_scrub(&mut tx, trigger, Utc::now()).await?;
        tx.commit().await?;
        let mut after = 0i64;
        let mut done = 0usize;
        let mut failures = Vec::new();
        loop {
            let mut tx = self.store.begin().await?;
            let ids = files::ids_after(&mut tx, after, 500).await?;
            tx.rollback().await?;
            let Some(last) = ids.last() else { break };
            after = last.0;
            for id in ids {
                let v = self.verify_one(id).await?;
                if !v.ok {
                    failures.push(v);
                }
                done += 1;
                progress(done);
            }
        }
        let failed: Vec<FileId> = failures.iter().map(|f| f.file_id).collect();
        let done_rows = i64::try_from(done).unwrap_or(i64::MAX);
        self.finish_scrub_run(actor, run, trigger, done_rows, &failed)
            .await?;
        Ok((done, failures))
    }

    /// Ends a scrub run: records what it checked and which files failed, with its log entry,
    /// in one transaction (the run by hand, and the scheduled one of the job system).
    pub(crate) async fn finish_scrub_run(
        &self,
        actor: &Actor,
        run: i64,
        trigger: &str,
        done: i64,
        failed: &[FileId],
    ) -> AppResult<()> {
        let outcome = if failed.is_empty() {
            Outcome::Ok
        } else {
            Outcome::Failed
        };
        let mut tx = self.store.begin_write().await?;
        files::finish_scrub(&mut tx, run, done, failed, Utc::now()).await?;
        let detail = format!("{trigger}: {done} files, {} failed", failed.len());
        self.log_in(
            &mut tx,
            actor,
            &Op::new("file.verify_all", "scrub_run", run).detail(detail),
            outcome,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
