//! 电子文件 — scans of material items in the electronic archive (S6.1, S6.2, S6.4, S7.4, X2):
//! ingest (streamed, identified by content, digested with SHA-256 and SM3, encrypted, stored
//! durably before it is acknowledged), the seal (the agency's Ed25519 signature over a canonical
//! manifest of the S6.2 metadata, digests, size, format and ingest time), download, and
//! verification that finds a changed byte in a blob or a changed metadata row.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::io::AsyncRead;

use dangan_store::events::{self, MaterialId, MaterialRow};
pub use dangan_store::files::ScrubRun;
use dangan_store::files::{self, FileId, FileRow, NewFile};
use dangan_store::{Tx, persons, volumes};
use dangan_vault::identify::{Format, Identified, Limits, Readability, identify};
use dangan_vault::preserve::{PreserveLimits, pdfa_copy};
use dangan_vault::store::Ingested;
use dangan_vault::{Vault, VaultError};

use crate::administration::roles::{Actor, UseCase};
use crate::electronic::four::{self, Facts, FourPropertyReport};
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult, today};

/// A file as shown (no key material, no identity number: one in the name it arrived with is
/// masked).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FileView {
    /// Row id.
    pub id: FileId,
    /// The material item.
    pub material_id: MaterialId,
    /// The name it arrived with, any identity number in it masked (an S6.1 name carries one).
    pub original_name: String,
    /// Format code.
    pub format: String,
    /// MIME type.
    pub mime: String,
    /// Resolution.
    pub dpi: Option<i64>,
    /// Pages.
    pub pages: Option<i64>,
    /// PDF/A claim.
    pub pdfa: Option<String>,
    /// Meets the archival policy.
    pub archival: bool,
    /// Policy flags.
    pub flags: Vec<String>,
    /// Identical bytes were already in the archive (stored once).
    pub duplicate: bool,
    /// Size in bytes.
    pub size: i64,
    /// SHA-256.
    pub sha256: String,
    /// SM3, when the scan was stored under the 国密 digest profile (or one configured with SM3).
    pub sm3: Option<String>,
    /// 扫描人
    pub scanned_by: String,
    /// 扫描日期
    pub scan_date: NaiveDate,
    /// Ingested at.
    pub created_at: DateTime<Utc>,
    /// The four-property check at ingest passed (`None` for files ingested before it existed).
    pub four_properties_passed: Option<bool>,
    /// For a PDF/A-2B 保存副本 (preservation copy): the original scan it was made from (the
    /// original stays the master).
    pub preservation_of: Option<FileId>,
}

/// One byte range of a download (`Range: bytes=…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=a-`
    From(u64),
    /// `bytes=a-b`
    FromTo(u64, u64),
    /// `bytes=-n`: the last n bytes.
    Suffix(u64),
}

impl ByteRange {
    /// Parses a single-range `Range` header value; `None` for anything else (the caller then
    /// sends the whole file, as HTTP allows).
    pub fn parse(header: &str) -> Option<ByteRange> {
        let spec = header.trim().strip_prefix("bytes=")?;
        if spec.contains(',') {
            return None;
        }
        let (a, b) = spec.split_once('-')?;
        match (a.trim(), b.trim()) {
            ("", n) => n.parse().ok().map(ByteRange::Suffix),
            (a, "") => a.parse().ok().map(ByteRange::From),
            (a, b) => Some(ByteRange::FromTo(a.parse().ok()?, b.parse().ok()?)),
        }
    }

    /// The inclusive byte positions for a file of `size` bytes, or `None` when unsatisfiable.
    pub fn resolve(self, size: u64) -> Option<(u64, u64)> {
        if size == 0 {
            return None;
        }
        let (s, e) = match self {
            ByteRange::From(a) => (a, size - 1),
            ByteRange::FromTo(a, b) => (a, b.min(size - 1)),
            ByteRange::Suffix(0) => return None,
            ByteRange::Suffix(n) => (size.saturating_sub(n), size - 1),
        };
        (s <= e && s < size).then_some((s, e))
    }
}

/// An opened file: its view, the range being sent, and the decrypted bytes.
#[derive(Debug)]
pub struct OpenedFile {
    /// The file.
    pub view: FileView,
    /// The inclusive range being sent, when one was asked and fits.
    pub range: Option<(u64, u64)>,
    /// A range was asked that does not fit the file (HTTP 416).
    pub unsatisfiable: bool,
    /// The decrypted bytes (empty when unsatisfiable).
    pub reader: tokio::io::DuplexStream,
    /// The S6.1 name `年度-业务类型-参保人ID-材料名称.ext` with the identity number masked (the
    /// default download name: browsers keep download names in their history).
    pub s61_name_masked: String,
    /// The S6.1 name with the full identity number, for an export asked for explicitly.
    pub s61_name: String,
}

/// `年度-业务类型-参保人ID-材料名称.ext`, with characters a file name cannot hold replaced.
fn s61_name(year: i32, business: &str, id: &str, material: &str, ext: &str) -> String {
    let clean = |s: &str| {
        s.chars()
            .map(|c| {
                if matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
                    || c.is_control()
                {
                    '_'
                } else {
                    c
                }
            })
            .collect::<String>()
    };
    format!("{year}-{}-{id}-{}.{ext}", clean(business), clean(material))
}

/// The result of verifying one file.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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

fn vault_missing() -> AppError {
    AppError::Internal("no vault configured".to_owned())
}

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

/// What a manifest states beyond the file's rows.
struct Issue<'a> {
    /// 档案编号, empty until the volume is sealed.
    archive_number: &'a str,
    /// Version 2 (covers identification and the chain) rather than version 1.
    v2: bool,
    /// SHA-256 (hex) of the manifest this one replaces.
    previous: Option<&'a str>,
}

fn ensure_not_lost(m: &MaterialRow) -> AppResult<()> {
    if m.status == "lost" {
        return Err(AppError::Conflict {
            code: "material_lost",
            field: None,
            message: "该材料已登记为档案丢失".to_owned(),
        });
    }
    Ok(())
}

impl App {
    fn vault(&self) -> AppResult<&Vault> {
        self.vault.as_ref().ok_or_else(vault_missing)
    }

    /// The canonical manifest of a file: keys sorted, no whitespace. Version 2 (every manifest
    /// issued since issue 16) also covers the identification results (`original_name`, `dpi`,
    /// `pages`, `pdfa`, `archival`, `flags`) and, when it replaces an earlier manifest, that
    /// manifest's SHA-256 (`previous`). Version 1 (`issue.v2 == false`) is only recomputed to
    /// verify scans sealed before.
    async fn manifest(&self, tx: &mut Tx, f: &FileRow, issue: &Issue<'_>) -> AppResult<String> {
        let m = events::material(tx, f.material_id)
            .await?
            .ok_or_else(|| AppError::Internal("material vanished".to_owned()))?;
        let e = events::get(tx, m.event_id)
            .await?
            .ok_or_else(|| AppError::Internal("event vanished".to_owned()))?;
        let p = persons::get(tx, e.person_id)
            .await?
            .ok_or_else(|| AppError::Internal("person vanished".to_owned()))?;
        let blob = files::blob(tx, &f.sha256)
            .await?
            .ok_or_else(|| AppError::Internal("blob row missing".to_owned()))?;
        let mut map = BTreeMap::new();
        map.insert("archive_number", issue.archive_number.to_owned());
        map.insert("file_id", f.id.to_string());
        map.insert("material_id", f.material_id.to_string());
        map.insert("person_id_number", p.id_number);
        map.insert("material_name", m.name);
        map.insert("formation_date", m.formation_date.to_string());
        map.insert("scan_date", f.scan_date.to_string());
        map.insert("scanned_by", f.scanned_by.clone());
        map.insert("sha256", f.sha256.clone());
        // Without SM3 (the SHA-256 profile) the key is left out, so that a scan stored before the
        // profile existed keeps the manifest its seal covers.
        if let Some(sm3) = blob.sm3() {
            map.insert("sm3", sm3.to_owned());
        }
        map.insert("size", blob.size.to_string());
        map.insert("format", f.format.clone());
        map.insert("ingested_at", crate::security::audit::stamp(f.created_at));
        if issue.v2 {
            let opt = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
            map.insert("manifest_version", "2".to_owned());
            map.insert("original_name", f.original_name.clone());
            map.insert("dpi", opt(f.dpi));
            map.insert("pages", opt(f.pages));
            map.insert("pdfa", f.pdfa.clone().unwrap_or_default());
            map.insert("archival", f.archival.to_string());
            map.insert("flags", f.flags.clone());
            if let Some(previous) = issue.previous {
                map.insert("previous", previous.to_owned());
            }
            if let Some(original) = f.preservation_of {
                map.insert("preservation_of", original.to_string());
            }
        }
        serde_json::to_string(&map).map_err(|e| AppError::Internal(e.to_string()))
    }

    /// Issues a new sealed manifest for a file whose archive number is now fixed (its volume
    /// was sealed): the current manifest and seal go to its history, and the new one names the
    /// digest of the one it replaces. The blob is unchanged.
    pub(crate) async fn reissue_manifest(
        &self,
        tx: &mut Tx,
        f: &FileRow,
        archive_number: &str,
    ) -> AppResult<()> {
        let settings = self.settings.vault.as_ref().ok_or_else(vault_missing)?;
        let previous = hex::encode(Sha256::digest(f.manifest.as_bytes()));
        let issue = Issue {
            archive_number,
            v2: true,
            previous: Some(&previous),
        };
        let manifest = self.manifest(tx, f, &issue).await?;
        let (seal_key_id, seal) = self.keys.seal(settings.seal, manifest.as_bytes());
        files::reissue(tx, f, &manifest, &seal, &seal_key_id, Utc::now()).await?;
        Ok(())
    }

    /// Checks the chain of manifests a file had before its current one: each is sealed, and each
    /// newer one names the digest of the one it replaced. Returns the problems found.
    async fn check_history(
        &self,
        tx: &mut Tx,
        f: &FileRow,
        previous: Option<&str>,
    ) -> AppResult<Vec<String>> {
        let history = files::manifest_history(tx, f.id).await?;
        let mut problems = Vec::new();
        let mut expected = previous.map(str::to_owned);
        for (i, old) in history.iter().enumerate().rev() {
            let n = i + 1;
            let digest = hex::encode(Sha256::digest(old.manifest.as_bytes()));
            if expected.as_deref() != Some(digest.as_str()) {
                problems.push(format!("封存清单的历史版本 {n} 与后一版本所记摘要不符"));
            }
            if !self
                .keys
                .verify_seal(&old.seal_key_id, old.manifest.as_bytes(), &old.seal)
            {
                problems.push(format!("封存清单的历史版本 {n} 电子印章无效"));
            }
            expected = serde_json::from_str::<BTreeMap<String, String>>(&old.manifest)
                .ok()
                .and_then(|m| m.get("previous").cloned());
        }
        if expected.is_some() {
            problems.push("封存清单记有上一版本，但历史版本缺失".to_owned());
        }
        Ok(problems)
    }

    pub(crate) async fn file_view(&self, tx: &mut Tx, f: FileRow) -> AppResult<FileView> {
        let blob = files::blob(tx, &f.sha256)
            .await?
            .ok_or_else(|| AppError::Internal("blob row missing".to_owned()))?;
        let format = f.format.clone();
        let four_properties_passed = files::checks(tx, f.id)
            .await?
            .and_then(|c| serde_json::from_str::<FourPropertyReport>(&c).ok())
            .map(|r| r.passed);
        Ok(FileView {
            mime: match format.as_str() {
                "pdf" => Format::Pdf,
                "ofd" => Format::Ofd,
                "tiff" => Format::Tiff,
                "jpeg" => Format::Jpeg,
                "png" => Format::Png,
                "jp2" => Format::Jp2,
                _ => Format::Other,
            }
            .mime()
            .to_owned(),
            id: f.id,
            material_id: f.material_id,
            original_name: crate::text::mask_id_numbers(&f.original_name),
            format,
            dpi: f.dpi,
            pages: f.pages,
            pdfa: f.pdfa,
            archival: f.archival,
            flags: f.flags.split_whitespace().map(str::to_owned).collect(),
            duplicate: f.duplicate,
            size: blob.size,
            sha256: f.sha256,
            sm3: blob.sm3().map(str::to_owned),
            scanned_by: f.scanned_by,
            scan_date: f.scan_date,
            created_at: f.created_at,
            four_properties_passed,
            preservation_of: f.preservation_of,
        })
    }

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
    async fn record_staged(
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
    async fn stage_copy(
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

    /// The virus check of a stored scan (a duplicate's bytes on disk are the existing blob's,
    /// under its own data key).
    async fn scan_staged(&self, stored: &Ingested) -> AppResult<Option<Result<(), String>>> {
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
    async fn attach_one(
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
        let flags = id.flags.join(" ");
        // An S6.1 name carries the person's identity number: it is kept masked (the file is
        // filed under its person anyway, and the number is sealed there).
        let kept_name = crate::text::mask_id_numbers(name);
        let new = NewFile {
            material_id: material,
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
        let fid = files::insert(tx, &new).await?;
        let row = files::get(tx, fid)
            .await?
            .ok_or_else(|| AppError::Internal("file vanished".to_owned()))?;
        let archive_number = match m.volume_id {
            Some(v) => volumes::get(tx, dangan_store::volumes::VolumeId(v))
                .await?
                .and_then(|v| v.archive_number)
                .unwrap_or_default(),
            None => String::new(),
        };
        let issue = Issue {
            archive_number: &archive_number,
            v2: true,
            previous: None,
        };
        let manifest = self.manifest(tx, &row, &issue).await?;
        let (seal_key_id, seal) = self.keys.seal(settings.seal, manifest.as_bytes());
        files::seal(tx, fid, &manifest, &seal, &seal_key_id).await?;
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        let extension_matches = match id.format {
            Format::Pdf => ext == "pdf",
            Format::Ofd => ext == "ofd",
            Format::Tiff => ext == "tif" || ext == "tiff",
            Format::Jpeg => ext == "jpg" || ext == "jpeg",
            Format::Png => ext == "png",
            Format::Jp2 => ext == "jp2" || ext == "j2k" || ext == "jpf",
            Format::Other => false,
        };
        let person_id_number = serde_json::from_str::<BTreeMap<String, String>>(&manifest)
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
        let facts = Facts {
            seal_ok: self
                .keys
                .verify_seal(&seal_key_id, manifest.as_bytes(), &seal),
            sha256_len_ok: stored.sha256.len() == 64,
            sm3_required: self.vault()?.digests().sm3(),
            sm3_present: stored.sm3.as_ref().is_some_and(|d| d.len() == 64),
            size: stored.size,
            stored: true,
            duplicate,
            format_code: id.format.code(),
            extension_matches,
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
            missing_metadata,
            archive_number: &archive_number,
            virus: staged.virus.clone(),
        };
        let checks = serde_json::to_string(&four::report(&facts))
            .map_err(|e| AppError::Internal(e.to_string()))?;
        files::set_checks(tx, fid, &checks).await?;
        let op = Op::new("file.ingest", "file", fid).detail(format!(
            "material {material} {} {} bytes{}{}{}",
            id.format.code(),
            stored.size,
            if duplicate { " duplicate" } else { "" },
            match preservation_of {
                Some(original) => format!(" preservation copy of file {original}"),
                None => String::new(),
            },
            match &staged.copy_failed {
                Some(why) => format!(" no preservation copy: {why}"),
                None => String::new(),
            }
        ));
        self.log_in(tx, actor, &op, Outcome::Ok).await?;
        Ok((fid, true))
    }

    /// Opens a file for reading (part of the person's archive: staff need a query
    /// registration). Returns its view and a reader of the decrypted bytes; a blob that fails
    /// authentication ends the stream with an error.
    pub async fn open_file(
        &self,
        actor: &Actor,
        id: FileId,
    ) -> AppResult<(FileView, tokio::io::DuplexStream)> {
        let opened = self.open_file_range(actor, id, None).await?;
        Ok((opened.view, opened.reader))
    }

    /// As [`App::open_file`], for one byte range (an HTTP `Range` request). A range that does
    /// not fit the file gives `unsatisfiable` and an empty reader.
    pub async fn open_file_range(
        &self,
        actor: &Actor,
        id: FileId,
        requested: Option<ByteRange>,
    ) -> AppResult<OpenedFile> {
        let g = self.authorize(actor, UseCase::ReadArchive).await?;
        let op = Op::new("file.read", "file", id);
        let (mut tx, (f, m, e)) = self.file_for_reading(actor, g, id, &op).await?;
        let blob = files::blob(&mut tx, &f.sha256)
            .await?
            .ok_or_else(|| AppError::Internal("blob row missing".to_owned()))?;
        let person = persons::get(&mut tx, e.person_id)
            .await?
            .ok_or_else(|| AppError::Internal("person vanished".to_owned()))?;
        let business = dangan_domain::business::BusinessType::parse(&e.business_type)
            .map(|b| b.name().split('/').next().unwrap_or_default().to_owned())
            .unwrap_or_else(|_| e.business_type.clone());
        let ext = f
            .original_name
            .rsplit_once('.')
            .map(|(_, x)| x.to_ascii_lowercase())
            .filter(|x| x.len() <= 5 && x.chars().all(|c| c.is_ascii_alphanumeric()))
            .unwrap_or_else(|| "bin".to_owned());
        let year = chrono::Datelike::year(&e.business_date);
        let masked = dangan_domain::id_number::mask(&person.id_number);
        let s61_name_masked = s61_name(year, &business, &masked, &m.name, &ext);
        let s61_full = s61_name(year, &business, &person.id_number, &m.name, &ext);
        let view = self.file_view(&mut tx, f).await?;
        self.end_read(tx, actor, &op, Outcome::Ok).await?;
        let wrapped =
            hex::decode(&blob.wrapped_key).map_err(|e| AppError::Internal(e.to_string()))?;
        let vault = self.vault()?.clone();
        let master = self
            .keys
            .master_key_by_id(&blob.master_key_id)
            .ok_or_else(|| {
                AppError::Internal(format!("master key {} not available", blob.master_key_id))
            })?;
        let (mut writer, reader) = tokio::io::duplex(256 * 1024);
        let sha = blob.sha256.clone();
        let size = u64::try_from(view.size).unwrap_or(0);
        let range = requested.and_then(|r| r.resolve(size));
        let unsatisfiable = requested.is_some() && range.is_none();
        if unsatisfiable {
            drop(writer);
            return Ok(OpenedFile {
                view,
                range,
                unsatisfiable,
                reader,
                s61_name_masked,
                s61_name: s61_full,
            });
        }
        tokio::spawn(async move {
            let result = match range {
                Some((start, end)) => {
                    vault
                        .read_range(&sha, &wrapped, &master, start, end, &mut writer)
                        .await
                }
                None => vault
                    .read_to(&sha, &wrapped, &master, false, &mut writer)
                    .await
                    .map(|_| ()),
            };
            if let Err(e) = result {
                tracing::error!(error = %e, blob = %sha, "blob failed while streaming");
            }
        });
        Ok(OpenedFile {
            view,
            range,
            unsatisfiable,
            reader,
            s61_name_masked,
            s61_name: s61_full,
        })
    }

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

    /// The files of a material item: a read of the person's archive (staff need a query
    /// registration, an insured person sees only their own), logged.
    pub async fn files_of(&self, actor: &Actor, material: MaterialId) -> AppResult<Vec<FileView>> {
        let g = self.authorize(actor, UseCase::ReadArchive).await?;
        let mut tx = self.begin_read().await?;
        let Some(m) = events::material(&mut tx, material).await? else {
            tx.rollback().await?;
            return Err(self
                .deny(
                    actor,
                    Op::new("file.list", "material", material),
                    AppError::not_found("material_not_found", "未找到该材料"),
                )
                .await);
        };
        let e = events::get(&mut tx, m.event_id)
            .await?
            .ok_or_else(|| AppError::Internal("event vanished".to_owned()))?;
        let op = Op::new("file.list", "person", e.person_id);
        if let Some(refusal) = self.archive_access(&mut tx, actor, g, e.person_id).await? {
            tx.rollback().await?;
            return Err(self
                .deny(actor, op.detail(format!("material {material}")), refusal)
                .await);
        }
        let mut out = Vec::new();
        for f in files::for_material(&mut tx, material).await? {
            out.push(self.file_view(&mut tx, f).await?);
        }
        let op = op.detail(format!("material {material}: {} files", out.len()));
        self.end_read(tx, actor, &op, Outcome::Ok).await?;
        Ok(out)
    }

    /// The files of every material of a person's archive, by material: one archive read
    /// (registration checked once, one log entry), for the archive tree.
    pub async fn person_files(
        &self,
        actor: &Actor,
        person: persons::PersonId,
    ) -> AppResult<BTreeMap<MaterialId, Vec<FileView>>> {
        let g = self.authorize(actor, UseCase::ReadArchive).await?;
        let op = Op::new("file.list", "person", person);
        let mut tx = self.begin_read().await?;
        if let Some(refusal) = self.archive_access(&mut tx, actor, g, person).await? {
            tx.rollback().await?;
            return Err(self.deny(actor, op, refusal).await);
        }
        let mut out = BTreeMap::new();
        let mut n = 0;
        for e in events::list_for_person(&mut tx, person).await? {
            for m in events::materials(&mut tx, e.id).await? {
                let mut views = Vec::new();
                for f in files::for_material(&mut tx, m.id).await? {
                    views.push(self.file_view(&mut tx, f).await?);
                }
                n += views.len();
                out.insert(m.id, views);
            }
        }
        let op = op.detail(format!("{n} files"));
        self.end_read(tx, actor, &op, Outcome::Ok).await?;
        Ok(out)
    }

    async fn verify_one(&self, id: FileId) -> AppResult<FileVerification> {
        let mut tx = self.store.begin().await?;
        let f = files::get(&mut tx, id)
            .await?
            .ok_or_else(|| AppError::not_found("file_not_found", "未找到该电子文件"))?;
        let blob = files::blob(&mut tx, &f.sha256).await?;
        let mut problems = Vec::new();
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
        let seal_ok = match self.manifest(&mut tx, &f, &issue).await {
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
                let chain = self.check_history(&mut tx, &f, issue.previous).await?;
                problems.extend(chain.iter().cloned());
                signed && now == f.manifest && chain.is_empty()
            }
            Err(e) => {
                problems.push(format!("元数据不完整：{e}"));
                false
            }
        };
        tx.rollback().await?;
        let content_ok = match &blob {
            None => {
                problems.push("缺少数据块记录".to_owned());
                false
            }
            Some(b) => {
                let wrapped = hex::decode(&b.wrapped_key).unwrap_or_default();
                let Some(master) = self.keys.master_key_by_id(&b.master_key_id) else {
                    problems.push(format!("缺少主密钥 {}，无法解密", b.master_key_id));
                    return Ok(FileVerification {
                        file_id: id,
                        ok: false,
                        content_ok: false,
                        seal_ok,
                        problems,
                    });
                };
                let with_sm3 = b.sm3().is_some();
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
                }
            }
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

    async fn verify_all(
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
        let outcome = if failures.is_empty() {
            Outcome::Ok
        } else {
            Outcome::Failed
        };
        let failed: Vec<FileId> = failures.iter().map(|f| f.file_id).collect();
        let mut tx = self.store.begin_write().await?;
        files::finish_scrub(
            &mut tx,
            run,
            i64::try_from(done).unwrap_or(i64::MAX),
            &failed,
            Utc::now(),
        )
        .await?;
        let detail = format!("{trigger}: {done} files, {} failed", failures.len());
        self.log_in(
            &mut tx,
            actor,
            &Op::new("file.verify_all", "scrub_run", run).detail(detail),
            outcome,
        )
        .await?;
        tx.commit().await?;
        Ok((done, failures))
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

impl App {
    /// Scans a stored blob with ClamAV when `clamscan` is installed, streaming the decrypted bytes
    /// to its standard input. `None` when ClamAV is not there (the report says so plainly).
    async fn virus_scan(
        &self,
        sha256: &str,
        wrapped_key: &[u8],
        master_id: &str,
    ) -> Option<Result<(), String>> {
        let installed = std::env::var_os("PATH").is_some_and(|paths| {
            std::env::split_paths(&paths).any(|p| p.join("clamscan").is_file())
        });
        if !installed {
            return None;
        }
        let mut child = tokio::process::Command::new("clamscan")
            .args(["--no-summary", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let mut stdin = child.stdin.take()?;
        let vault = self.vault.as_ref()?;
        let master = self.keys.master_key_by_id(master_id)?;
        let fed = vault
            .read_to(sha256, wrapped_key, &master, false, &mut stdin)
            .await;
        drop(stdin);
        let out = child.wait_with_output().await.ok()?;
        Some(match (fed, out.status.code()) {
            (Err(e), _) => Err(format!("无法读取文件：{e}")),
            (Ok(_), Some(0)) => Ok(()),
            (Ok(_), Some(1)) => Err(String::from_utf8_lossy(&out.stdout).trim().to_owned()),
            (Ok(_), _) => Err("扫描出错".to_owned()),
        })
    }

    /// Opens the file `id` for reading by `actor` under `g`, with its material and event: the
    /// one access check of every path that reveals a scan (a query registration for staff, own
    /// records for insured persons). A missing file or a refusal is logged and returned as the
    /// error; otherwise the read transaction, which the caller ends with [`App::end_read`],
    /// comes back.
    async fn file_for_reading(
        &self,
        actor: &Actor,
        g: crate::administration::roles::Grant,
        id: FileId,
        op: &Op,
    ) -> AppResult<(Tx, (FileRow, MaterialRow, events::EventRow))> {
        let mut tx = self.begin_read().await?;
        let Some(f) = files::get(&mut tx, id).await? else {
            tx.rollback().await?;
            return Err(self
                .deny(
                    actor,
                    op.clone(),
                    AppError::not_found("file_not_found", "未找到该电子文件"),
                )
                .await);
        };
        let m = events::material(&mut tx, f.material_id)
            .await?
            .ok_or_else(|| AppError::Internal("material vanished".to_owned()))?;
        let e = events::get(&mut tx, m.event_id)
            .await?
            .ok_or_else(|| AppError::Internal("event vanished".to_owned()))?;
        if let Some(refusal) = self.archive_access(&mut tx, actor, g, e.person_id).await? {
            tx.rollback().await?;
            return Err(self.deny(actor, op.clone(), refusal).await);
        }
        Ok((tx, (f, m, e)))
    }

    /// The four-property report of a file: it describes the person's scan (its metadata, dates,
    /// format), so reading it is a read of the archive — registration checked, logged.
    pub async fn file_checks(&self, actor: &Actor, id: FileId) -> AppResult<FourPropertyReport> {
        let g = self.authorize(actor, UseCase::ReadArchive).await?;
        let op = Op::new("file.checks", "file", id);
        let (mut tx, _) = self.file_for_reading(actor, g, id, &op).await?;
        let raw = files::checks(&mut tx, id).await?;
        self.end_read(tx, actor, &op, Outcome::Ok).await?;
        let raw =
            raw.ok_or_else(|| AppError::not_found("no_checks", "该文件入库时尚未进行四性检测"))?;
        serde_json::from_str(&raw)
            .map_err(|_| AppError::not_found("no_checks", "该文件入库时尚未进行四性检测"))
    }
}

#[cfg(test)]
mod tests {
    use super::ByteRange;

    #[test]
    fn range_headers_resolve_against_the_size() {
        assert_eq!(
            ByteRange::parse("bytes=0-99").unwrap().resolve(1000),
            Some((0, 99))
        );
        assert_eq!(
            ByteRange::parse("bytes=900-").unwrap().resolve(1000),
            Some((900, 999))
        );
        assert_eq!(
            ByteRange::parse("bytes=-100").unwrap().resolve(1000),
            Some((900, 999))
        );
        assert_eq!(
            ByteRange::parse("bytes=990-5000").unwrap().resolve(1000),
            Some((990, 999))
        );
        assert_eq!(ByteRange::parse("bytes=1000-").unwrap().resolve(1000), None);
        assert_eq!(ByteRange::parse("bytes=5-1").unwrap().resolve(1000), None);
        assert_eq!(ByteRange::parse("bytes=0-1,5-6"), None);
        assert_eq!(ByteRange::parse("items=0-1"), None);
    }
}
