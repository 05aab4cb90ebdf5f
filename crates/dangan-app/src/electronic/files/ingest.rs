//! Ingest (入库): a scan streamed into the vault, identified by content, digested, encrypted and
//! durably written (staging), then recorded on its material with its seal, four-property report
//! and preservation copy in the caller's transaction (attaching).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use tokio::io::AsyncRead;

use dangan_store::events::{self, MaterialId, MaterialRow};
use dangan_store::files::{self, FileId, NewFile};
use dangan_store::{Tx, volumes};
use dangan_vault::VaultError;
use dangan_vault::identify::{Format, Identified, Limits, Readability, identify};
use dangan_vault::preserve::{PreserveLimits, pdfa_copy};
use dangan_vault::store::Ingested;

use super::seal::Issue;
use super::{FileView, ensure_not_lost, vault_missing};
use crate::administration::roles::{Actor, UseCase};
use crate::electronic::four::{self, Facts};
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult, SealAlgorithm, today};

/// A scan written to the vault and identified, waiting to be recorded on a material.
pub(crate) struct StagedFile {
    name: String,
    stored: Ingested,
    id: Identified,
    virus: Option<Result<(), String>>,
    /// Its PDF/A-2B 保存副本 (preservation copy), written to the vault and identified too.
    copy: Option<Box<StagedFile>>,
    /// Why no preservation copy was made of a raster scan that should have one.
    copy_failed: Option<String>,
}

impl StagedFile {
    /// The SHA-256 of its bytes.
    pub(crate) fn sha256(&self) -> &str {
        &self.stored.sha256
    }
}

/// Checks the name a scan arrived with.
pub(crate) fn file_name(original_name: Option<&str>) -> AppResult<String> {
    let name = original_name.map(str::trim).ok_or_else(|| {
        AppError::invalid_with(
            "file_name_required",
            Some("name"),
            "请提供文件名（接口中为 X-File-Name 请求头，UTF-8，百分号编码）",
        )
    })?;
    if name.is_empty()
        || name.chars().count() > 200
        || name.contains(['/', '\\'])
        || name.chars().any(char::is_control)
        || name.starts_with('.')
    {
        return Err(AppError::invalid_with(
            "invalid_file_name",
            Some("name"),
            "文件名无效：不能为空、不能含路径分隔符或控制字符，且不超过200个字",
        ));
    }
    Ok(name.to_owned())
}

impl App {
    /// Ingests a scan of a material item. The file is acknowledged only after its blob is
    /// durably written and its metadata and seal are committed. The same bytes sent again for
    /// the same material return the file already stored (see [`App::store_file`]).
    pub async fn ingest_file(
        &self,
        actor: &Actor,
        material: MaterialId,
        original_name: Option<&str>,
        body: impl AsyncRead + Unpin,
    ) -> AppResult<FileView> {
        self.store_file(actor, material, original_name, body)
            .await
            .map(|(view, _)| view)
    }

    /// Ingests a scan of a material item; `true` beside the view when it was stored now,
    /// `false` when the material already held these bytes (a retried upload: nothing is
    /// written, the existing file is returned).
    pub async fn store_file(
        &self,
        actor: &Actor,
        material: MaterialId,
        original_name: Option<&str>,
        body: impl AsyncRead + Unpin,
    ) -> AppResult<(FileView, bool)> {
        self.authorize(actor, UseCase::IngestScans).await?;
        let name = file_name(original_name)?;
        let mut tx = self.store.begin().await?;
        let m = events::material(&mut tx, material)
            .await?
            .ok_or_else(|| AppError::not_found("material_not_found", "未找到该材料"))?;
        tx.rollback().await?;
        ensure_not_lost(&m)?;
        let staged = self.stage_file(name, body).await?;
        // Group commit: scans arriving together are recorded in one transaction and one commit
        // (their blobs are already durable); each answer still waits for that commit.
        dangan_store::grouped!(&self.store, tx => self.record_staged(tx, actor, material, &staged))
    }

    /// Records a staged scan on its material inside the caller's write transaction.
    pub(super) async fn record_staged(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        material: MaterialId,
        staged: &StagedFile,
    ) -> AppResult<(FileView, bool)> {
        events::lock_material(tx, material).await?;
        let m = events::material(tx, material)
            .await?
            .ok_or_else(|| AppError::not_found("material_not_found", "未找到该材料"))?;
        let (fid, created) = self.attach_staged(tx, actor, &m, staged).await?;
        let row = files::get(tx, fid)
            .await?
            .ok_or_else(|| AppError::Internal("file vanished".to_owned()))?;
        let view = self.file_view(tx, row).await?;
        Ok((view, created))
    }

    /// Writes a scan durably into the vault and identifies it, before anything is recorded.
    /// Until [`App::attach_staged`] commits it, its blob is an orphan that `gc` removes.
    pub(crate) async fn stage_file(
        &self,
        name: String,
        body: impl AsyncRead + Unpin,
    ) -> AppResult<StagedFile> {
        let settings = self.settings.vault.as_ref().ok_or_else(vault_missing)?;
        let stored = self
            .vault()?
            .ingest(body, self.keys.master_key(), settings.max_upload)
            .await
            .map_err(|e| match e {
                VaultError::TooLarge(n) => AppError::invalid_with(
                    "file_too_large",
                    Some("body"),
                    format!("文件过大：不能超过 {} MB", n / 1024 / 1024),
                ),
                VaultError::Empty => AppError::invalid_with("empty_file", Some("body"), "文件为空"),
                full if full.is_storage_full() => {
                    tracing::error!(error = %full, "the vault's disk is full");
                    AppError::StorageFull
                }
                other => AppError::Internal(other.to_string()),
            })?;
        // Parsing and decoding are CPU work: off the async threads. The preservation copy is
        // made from the same bytes while they are in memory.
        let limits = Limits::new(settings.min_dpi);
        let make_copy = settings.preservation_copies;
        let title = crate::text::mask_id_numbers(&name);
        let created = crate::local_rfc3339(Utc::now());
        let (mut stored, id, copy) = tokio::task::spawn_blocking(move || {
            let id = identify(&stored.content, stored.complete, &limits);
            let wanted = make_copy
                && matches!(id.format, Format::Jpeg | Format::Png | Format::Tiff)
                && matches!(id.readable, Readability::Readable(_));
            let copy = wanted.then(|| {
                pdfa_copy(
                    &stored.content,
                    id.format,
                    id.dpi,
                    &title,
                    &created,
                    &PreserveLimits::default(),
                )
            });
            (stored, id, copy)
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
        // Identified: the bytes are not needed in memory while the scan waits to be recorded.
        stored.content = Vec::new();
        let virus = self.scan_staged(&stored).await?;
        let (copy, copy_failed) = match copy {
            None => (None, None),
            Some(Err(e)) => {
                tracing::warn!(code = e.code(), "no preservation copy made");
                (None, Some(format!("{}：{e}", e.code())))
            }
            Some(Ok(made)) => {
                let stem = name.rsplit_once('.').map_or(name.as_str(), |(s, _)| s);
                let copy = self
                    .stage_copy(format!("{stem}-保存副本.pdf"), made.pdf, &virus)
                    .await?;
                (Some(Box::new(copy)), None)
            }
        };
        Ok(StagedFile {
            name,
            stored,
            id,
            virus,
            copy,
            copy_failed,
        })
    }

    /// Writes a preservation copy durably into the vault and identifies it. Its virus check is
    /// its original's: it is made here from those bytes.
    pub(super) async fn stage_copy(
        &self,
        name: String,
        pdf: Vec<u8>,
        virus: &Option<Result<(), String>>,
    ) -> AppResult<StagedFile> {
        let settings = self.settings.vault.as_ref().ok_or_else(vault_missing)?;
        let stored = self
            .vault()?
            .ingest(&pdf[..], self.keys.master_key(), u64::MAX)
            .await
            .map_err(|e| {
                if e.is_storage_full() {
                    AppError::StorageFull
                } else {
                    AppError::Internal(e.to_string())
                }
            })?;
        let limits = Limits::new(settings.min_dpi);
        let (mut stored, id) = tokio::task::spawn_blocking(move || {
            let id = identify(&stored.content, stored.complete, &limits);
            (stored, id)
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
        stored.content = Vec::new();
        Ok(StagedFile {
            name,
            stored,
            id,
            virus: virus.clone(),
            copy: None,
            copy_failed: None,
        })
    }

    /// Records a staged scan on material `m` inside the caller's write transaction: blob row,
    /// file row, seal, four-property report and the log entry. When `m` already holds the same
    /// bytes, nothing is written and `(existing id, false)` is returned.
    pub(crate) async fn attach_staged(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        m: &MaterialRow,
        staged: &StagedFile,
    ) -> AppResult<(FileId, bool)> {
        let (fid, created) = self.attach_one(tx, actor, m, staged, None).await?;
        if created && let Some(copy) = &staged.copy {
            self.attach_one(tx, actor, m, copy, Some(fid)).await?;
        }
        Ok((fid, created))
    }

    /// Records one staged file (an original, or the preservation copy of `preservation_of`).
    pub(super) async fn attach_one(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        m: &MaterialRow,
        staged: &StagedFile,
        preservation_of: Option<FileId>,
    ) -> AppResult<(FileId, bool)> {
        let settings = self.settings.vault.as_ref().ok_or_else(vault_missing)?;
        ensure_not_lost(m)?;
        let (stored, id, name) = (&staged.stored, &staged.id, staged.name.as_str());
        let material = m.id;
        if let Some(existing) = files::on_material(tx, material, &stored.sha256).await? {
            let op = Op::new("file.ingest", "file", existing).detail(format!(
                "material {material} repeated upload, nothing stored"
            ));
            self.log_in(tx, actor, &op, Outcome::Ok).await?;
            return Ok((existing, false));
        }
        let now = Utc::now();
        let duplicate = self.insert_blob_unless_known(tx, stored, now).await?;
        let fid = insert_file_row(tx, actor, m, staged, duplicate, preservation_of, now).await?;
        let archive_number = archive_number_of(tx, m).await?;
        let sealed = self
            .seal_new_file(tx, fid, &archive_number, settings.seal)
            .await?;
        let facts = Facts {
            seal_ok: self.keys.verify_seal(
                &sealed.key_id,
                sealed.manifest.as_bytes(),
                &sealed.seal,
            ),
            sha256_len_ok: stored.sha256.len() == 64,
            sm3_required: self.vault()?.digests().sm3(),
            sm3_present: stored.sm3.as_ref().is_some_and(|d| d.len() == 64),
            size: stored.size,
            stored: true,
            duplicate,
            format_code: id.format.code(),
            extension_matches: extension_matches(name, id.format),
            archival_format: !id
                .flags
                .iter()
                .any(|f| f == "not_archival_format" || f == "not_pdfa"),
            raster: matches!(
                id.format,
                Format::Tiff | Format::Jpeg | Format::Png | Format::Jp2
            ),
            readable: &id.readable,
            conformance: &id.conformance,
            dpi: id.dpi,
            min_dpi: settings.min_dpi,
            formation_date: m.formation_date,
            scan_date: today(),
            missing_metadata: missing_metadata(&sealed.manifest, m, actor),
            archive_number: &archive_number,
            virus: staged.virus.clone(),
        };
        let checks = serde_json::to_string(&four::report(&facts))
            .map_err(|e| AppError::Internal(e.to_string()))?;
        files::set_checks(tx, fid, &checks).await?;
        let op = Op::new("file.ingest", "file", fid).detail(ingest_detail(
            material,
            staged,
            duplicate,
            preservation_of,
        ));
        self.log_in(tx, actor, &op, Outcome::Ok).await?;
        Ok((fid, true))
    }

    /// Records the blob unless the vault already holds these bytes (for another material);
    /// `true` when it did, the new file then being a 重复 (duplicate).
    async fn insert_blob_unless_known(
        &self,
        tx: &mut Tx,
        stored: &Ingested,
        now: DateTime<Utc>,
    ) -> AppResult<bool> {
        let existing = files::blob(tx, &stored.sha256).await?;
        let duplicate = existing.is_some();
        if existing.is_none() {
            files::insert_blob(
                tx,
                &stored.sha256,
                stored.sm3.as_deref().unwrap_or(""),
                i64::try_from(stored.size).unwrap_or(i64::MAX),
                stored.cipher.name(),
                &hex::encode(&stored.wrapped_key),
                self.keys.master_key_id(),
                now,
            )
            .await?;
        }
        Ok(duplicate)
    }

    /// Builds the manifest of a newly recorded file and seals it (电子印章) with the
    /// institution's key.
    async fn seal_new_file(
        &self,
        tx: &mut Tx,
        fid: FileId,
        archive_number: &str,
        algorithm: SealAlgorithm,
    ) -> AppResult<FileSeal> {
        let row = files::get(tx, fid)
            .await?
            .ok_or_else(|| AppError::Internal("file vanished".to_owned()))?;
        let issue = Issue {
            archive_number,
            v2: true,
            previous: None,
        };
        let manifest = self.manifest(tx, &row, &issue).await?;
        let (key_id, seal) = self.keys.seal(algorithm, manifest.as_bytes());
        files::seal(tx, fid, &manifest, &seal, &key_id).await?;
        Ok(FileSeal {
            manifest,
            key_id,
            seal,
        })
    }
}

/// The sealed manifest of a newly recorded file.
struct FileSeal {
    manifest: String,
    key_id: String,
    seal: String,
}

/// Inserts the file row of a staged file on material `m`.
async fn insert_file_row(
    tx: &mut Tx,
    actor: &Actor,
    m: &MaterialRow,
    staged: &StagedFile,
    duplicate: bool,
    preservation_of: Option<FileId>,
    now: DateTime<Utc>,
) -> AppResult<FileId> {
    let (stored, id) = (&staged.stored, &staged.id);
    let flags = id.flags.join(" ");
    // An S6.1 name carries the person's identity number: it is kept masked (the file is
    // filed under its person anyway, and the number is sealed there).
    let kept_name = crate::text::mask_id_numbers(&staged.name);
    let new = NewFile {
        material_id: m.id,
        sha256: &stored.sha256,
        original_name: &kept_name,
        format: id.format.code(),
        dpi: id.dpi.map(i64::from),
        pages: id.pages.map(i64::from),
        pdfa: id.pdfa.as_deref(),
        archival: id.archival,
        flags: &flags,
        duplicate,
        scanned_by: &actor.display_name,
        scan_date: today(),
        created_at: now,
        preservation_of,
    };
    Ok(files::insert(tx, &new).await?)
}

/// The 档号 (archive number) of the volume holding material `m`; empty before it is sealed
/// into one.
async fn archive_number_of(tx: &mut Tx, m: &MaterialRow) -> AppResult<String> {
    Ok(match m.volume_id {
        Some(v) => volumes::get(tx, dangan_store::volumes::VolumeId(v))
            .await?
            .and_then(|v| v.archive_number)
            .unwrap_or_default(),
        None => String::new(),
    })
}

/// Whether the file's extension names the format its content was identified as (GD-1-3).
fn extension_matches(name: &str, format: Format) -> bool {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match format {
        Format::Pdf => ext == "pdf",
        Format::Ofd => ext == "ofd",
        Format::Tiff => ext == "tif" || ext == "tiff",
        Format::Jpeg => ext == "jpg" || ext == "jpeg",
        Format::Png => ext == "png",
        Format::Jp2 => ext == "jp2" || ext == "j2k" || ext == "jpf",
        Format::Other => false,
    }
}

/// The S6.2 required metadata a file lacks (GD-2-2): the person's id from its sealed
/// manifest, the material's name, the scanner's name.
fn missing_metadata(manifest: &str, m: &MaterialRow, actor: &Actor) -> Vec<&'static str> {
    let person_id_number = serde_json::from_str::<BTreeMap<String, String>>(manifest)
        .ok()
        .and_then(|m| m.get("person_id_number").cloned())
        .unwrap_or_default();
    let mut missing_metadata = Vec::new();
    if person_id_number.is_empty() {
        missing_metadata.push("参保人ID");
    }
    if m.name.trim().is_empty() {
        missing_metadata.push("材料名称");
    }
    if actor.display_name.trim().is_empty() {
        missing_metadata.push("扫描人");
    }
    missing_metadata
}

/// The detail of the audit entry of an ingest.
fn ingest_detail(
    material: MaterialId,
    staged: &StagedFile,
    duplicate: bool,
    preservation_of: Option<FileId>,
) -> String {
    format!(
        "material {material} {} {} bytes{}{}{}",
        staged.id.format.code(),
        staged.stored.size,
        if duplicate { " duplicate" } else { "" },
        match preservation_of {
            Some(original) => format!(" preservation copy of file {original}"),
            None => String::new(),
        },
        match &staged.copy_failed {
            Some(why) => format!(" no preservation copy: {why}"),
            None => String::new(),
        }
    )
}
