//! Use-cases of the filing catalogue (归档范围): read the current version, write a new one.

use chrono::Utc;
use serde::{Deserialize, Serialize};

use dangan_domain::business::BusinessType;
use dangan_domain::catalogue::{Catalogue, CatalogueEntry, MaterialCode};
use dangan_domain::retention::Retention;
use dangan_store::{Tx, catalogue};

use crate::administration::roles::{Actor, UseCase};
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult};

/// A catalogue version with its entries.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogueView {
    /// Version number.
    pub version: i64,
    /// Who wrote it.
    pub created_by: String,
    /// When.
    pub created_at: chrono::DateTime<Utc>,
    /// Why.
    pub note: String,
    /// The entries.
    pub entries: Vec<CatalogueEntry>,
}

/// One entry as an administrator submits it.
#[derive(Debug, Clone, Deserialize)]
pub struct EntryInput {
    /// Business type code or name.
    pub business_type: String,
    /// Material code.
    pub material_code: String,
    /// 材料名称
    pub name: String,
    /// 必归档
    pub required: bool,
    /// Retention code (`Y`, `D30` …) or label.
    pub retention: String,
    /// Paper original kept (default true).
    #[serde(default = "yes")]
    pub paper_original_kept: bool,
    /// Scan required (default true).
    #[serde(default = "yes")]
    pub scan_required: bool,
}

fn yes() -> bool {
    true
}

pub(crate) fn entry_row(e: &CatalogueEntry) -> catalogue::EntryRow {
    catalogue::EntryRow {
        business_type: e.business_type,
        material_code: e.material_code.as_str().to_owned(),
        name: e.name.trim().to_owned(),
        required: e.required,
        retention: e.retention,
        paper_original_kept: e.paper_original_kept,
        scan_required: e.scan_required,
    }
}

fn corrupt(what: &str) -> AppError {
    AppError::Internal(format!("catalogue row holds an unreadable {what}"))
}

fn entry_of(r: catalogue::EntryRow) -> AppResult<CatalogueEntry> {
    Ok(CatalogueEntry {
        business_type: r.business_type,
        material_code: MaterialCode::parse(&r.material_code)
            .map_err(|_| corrupt("material code"))?,
        name: r.name,
        required: r.required,
        retention: r.retention,
        paper_original_kept: r.paper_original_kept,
        scan_required: r.scan_required,
    })
}

/// The current catalogue version inside a transaction (used by event recording). Its entries
/// come from the store's cache after the first read (a version never changes).
pub(crate) async fn current(tx: &mut Tx) -> AppResult<(i64, Catalogue)> {
    let v = catalogue::current_version(tx).await?.ok_or_else(|| {
        AppError::Internal("no catalogue version (bootstrap did not run)".to_owned())
    })?;
    Ok((v.version, build(tx, &v).await?))
}

/// A given catalogue version (for re-checking an event against the version it was filed under).
pub(crate) async fn at_version(tx: &mut Tx, version: i64) -> AppResult<Catalogue> {
    let v = catalogue::version(tx, version)
        .await?
        .ok_or_else(|| AppError::Internal(format!("catalogue version {version} is missing")))?;
    build(tx, &v).await
}

async fn build(tx: &mut Tx, v: &catalogue::VersionRow) -> AppResult<Catalogue> {
    let entries = catalogue::cached_entries(tx, v)
        .await?
        .iter()
        .cloned()
        .map(entry_of)
        .collect::<AppResult<Vec<_>>>()?;
    Catalogue::new(entries).map_err(|e| AppError::Internal(e.to_string()))
}

impl App {
    /// The current catalogue.
    pub async fn catalogue(&self, actor: &Actor) -> AppResult<CatalogueView> {
        self.authorize(actor, UseCase::ReadCatalogue).await?;
        let mut tx = self.store.begin().await?;
        let head = catalogue::current_version(&mut tx)
            .await?
            .ok_or_else(|| AppError::Internal("no catalogue version".to_owned()))?;
        let (_, cat) = current(&mut tx).await?;
        tx.rollback().await?;
        Ok(CatalogueView {
            version: head.version,
            created_by: head.created_by,
            created_at: head.created_at,
            note: head.note,
            entries: cat.entries().to_vec(),
        })
    }

    /// Writes a new catalogue version with exactly these entries. Events recorded earlier keep
    /// the version they were checked against.
    pub async fn replace_catalogue(
        &self,
        actor: &Actor,
        entries: &[EntryInput],
        note: &str,
    ) -> AppResult<CatalogueView> {
        self.authorize(actor, UseCase::EditCatalogue).await?;
        if entries.is_empty() {
            return Err(AppError::invalid_with(
                "empty_catalogue",
                Some("entries"),
                "归档范围不能为空",
            ));
        }
        let mut parsed = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let field = |f: &str| format!("entries[{i}].{f}");
            parsed.push(CatalogueEntry {
                business_type: BusinessType::parse(&e.business_type)
                    .map_err(|err| AppError::invalid(&field("business_type"), &err))?,
                material_code: MaterialCode::parse(&e.material_code)
                    .map_err(|err| AppError::invalid(&field("material_code"), &err))?,
                name: e.name.trim().to_owned(),
                required: e.required,
                retention: Retention::parse(&e.retention)
                    .map_err(|err| AppError::invalid(&field("retention"), &err))?,
                paper_original_kept: e.paper_original_kept,
                scan_required: e.scan_required,
            });
        }
        let cat = Catalogue::new(parsed).map_err(|err| AppError::invalid("entries", &err))?;
        let note = note.trim();
        if note.is_empty() || note.chars().count() > 200 || note.chars().any(char::is_control) {
            return Err(AppError::invalid_with(
                "invalid_note",
                Some("note"),
                "请填写修改说明（不超过200个字，不能含控制字符）",
            ));
        }
        let rows: Vec<_> = cat.entries().iter().map(entry_row).collect();
        let now = Utc::now();
        let mut tx = self.store.begin_write().await?;
        let version = catalogue::insert_version(&mut tx, &rows, &actor.username, note, now).await?;
        let op = Op::new("catalogue.replace", "catalogue", version).detail(note);
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        tx.commit().await?;
        Ok(CatalogueView {
            version,
            created_by: actor.username.clone(),
            created_at: now,
            note: note.to_owned(),
            entries: cat.entries().to_vec(),
        })
    }
}
