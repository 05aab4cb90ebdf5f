//! 电子文件 — scans of material items in the electronic archive (S6.1, S6.2, S6.4, S7.4, X2):
//! ingest (streamed, identified by content, digested with SHA-256 and SM3, encrypted, stored
//! durably before it is acknowledged), the seal (the agency's Ed25519 signature over a canonical
//! manifest of the S6.2 metadata, digests, size, format and ingest time), download, and
//! verification that finds a changed byte in a blob or a changed metadata row.

mod cleanup;
mod ingest;
mod reads;
mod rotation;
mod seal;
mod verify;
mod virus;

pub(crate) use ingest::{StagedFile, file_name};
pub use reads::{ByteRange, OpenedFile};
pub use rotation::Rotation;
pub use verify::FileVerification;

use dangan_domain::material::MaterialStatus;
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use dangan_store::events::{self, MaterialId, MaterialRow};
pub use dangan_store::files::ScrubRun;
use dangan_store::files::{self, FileId, FileRow};
use dangan_store::{Tx, persons, volumes};
use dangan_vault::Vault;
use dangan_vault::identify::Format;

use crate::administration::roles::{Actor, UseCase};
use crate::electronic::four::{Check, FourPropertyReport};
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult};

/// A file as shown (no key material, no identity number: one in the name it arrived with is
/// masked).
#[derive(Debug, Clone, Serialize)]
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
    /// The checks that failed at ingest (code, name and the reason in Chinese), for showing
    /// beside the scan wherever it is listed.
    pub failed_checks: Vec<Check>,
    /// Its volume is sealed: it can no longer be withdrawn (撤回), only corrected.
    pub sealed: bool,
    /// For a PDF/A-2B 保存副本 (preservation copy): the original scan it was made from (the
    /// original stays the master).
    pub preservation_of: Option<FileId>,
}

fn vault_missing() -> AppError {
    AppError::Internal("no vault configured".to_owned())
}

fn ensure_not_lost(m: &MaterialRow) -> AppResult<()> {
    if m.status == MaterialStatus::Lost {
        return Err(AppError::Conflict {
            code: "material_lost",
            field: None,
            message: "该材料已登记为档案丢失".to_owned(),
        });
    }
    Ok(())
}

/// Whether the volume holding material `m` is sealed.
pub(crate) async fn volume_sealed(tx: &mut Tx, m: MaterialId) -> AppResult<bool> {
    let Some(material) = events::material(tx, m).await? else {
        return Ok(false);
    };
    Ok(match material.volume_id {
        Some(v) => volumes::get(tx, dangan_store::volumes::VolumeId(v))
            .await?
            .is_some_and(|v| v.sealed_at.is_some()),
        None => false,
    })
}

impl App {
    fn vault(&self) -> AppResult<&Vault> {
        self.vault.as_ref().ok_or_else(vault_missing)
    }

    pub(crate) async fn file_view(&self, tx: &mut Tx, f: FileRow) -> AppResult<FileView> {
        let blob = files::blob(tx, &f.sha256)
            .await?
            .ok_or_else(|| AppError::Internal("blob row missing".to_owned()))?;
        let format = f.format.clone();
        let report = files::checks(tx, f.id)
            .await?
            .and_then(|c| serde_json::from_str::<FourPropertyReport>(&c).ok());
        let four_properties_passed = report.as_ref().map(|r| r.passed);
        let failed_checks = report
            .map(|r| {
                r.checks
                    .into_iter()
                    .filter(|c| c.passed == Some(false))
                    .collect()
            })
            .unwrap_or_default();
        let sealed = volume_sealed(tx, f.material_id).await?;
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
            failed_checks,
            sealed,
            preservation_of: f.preservation_of,
        })
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
}
