//! A scan as shown (uploads, listings, auto-archiving).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::ids::{FileId, MaterialId};

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

impl From<dangan_app::electronic::files::FileView> for FileView {
    fn from(f: dangan_app::electronic::files::FileView) -> FileView {
        FileView {
            id: FileId(f.id.0),
            material_id: MaterialId(f.material_id.0),
            original_name: f.original_name,
            format: f.format.to_string(),
            mime: f.mime,
            dpi: f.dpi,
            pages: f.pages,
            pdfa: f.pdfa,
            archival: f.archival,
            flags: f.flags,
            duplicate: f.duplicate,
            size: f.size,
            sha256: f.sha256,
            sm3: f.sm3,
            scanned_by: f.scanned_by,
            scan_date: f.scan_date,
            created_at: f.created_at,
            four_properties_passed: f.four_properties_passed,
            preservation_of: f.preservation_of.map(|id| FileId(id.0)),
        }
    }
}
