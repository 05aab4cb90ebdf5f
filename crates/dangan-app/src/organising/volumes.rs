//! 组卷 — organising (S5.1–S5.3): received materials of a year and business class are ordered by
//! the person's division code and identity number, then formation date, and cut into volumes of
//! at most 2 cm (`dangan_domain::volume`). Drafts are rebuilt at will and deterministically;
//! sealing allocates the archive number in the same transaction and freezes the volume.

use dangan_domain::material::MaterialStatus;
use dangan_domain::volume::VolumeState;
use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;

use dangan_domain::business::BusinessClass;
use dangan_domain::retention::Retention;
use dangan_domain::volume::{self, PlannedVolume, VolumeItem};
use dangan_domain::workflow::LineResult;
use dangan_store::Tx;
use dangan_store::coded::Coded;
use dangan_store::events::{self, MaterialId};
use dangan_store::handovers::{self, HandoverId};
use dangan_store::volumes::{self, VolumeId, VolumeRow};

use crate::administration::roles::{Actor, UseCase};
use crate::administration::tasks::Kind;
use crate::electronic::four::FourPropertyReport;
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult};
use dangan_store::files::{self, FileId};

/// A line of the contents list (卷内目录).
#[derive(Debug, Clone, Serialize)]
pub struct ContentsLine {
    /// 序号
    pub seq: u32,
    /// 参保人 — the name of the person whose archive the material belongs to.
    pub person_name: String,
    /// 公民身份号码, masked as in every list.
    pub id_number_masked: String,
    /// 材料名称
    pub name: String,
    /// 形成日期
    pub formation_date: NaiveDate,
    /// 页数
    pub pages: u32,
    /// 页号 (from–to inside the volume).
    pub start_page: u32,
    /// 页号 (to).
    pub end_page: u32,
    /// 备注 (with 补件 / 损毁 / 档案丢失 marks).
    pub remarks: String,
    /// The material.
    pub material_id: i64,
}

/// A volume as shown and printed.
#[derive(Debug, Clone, Serialize)]
pub struct VolumeView {
    /// Row id.
    pub id: VolumeId,
    /// 年度
    pub year: i64,
    /// Business class code.
    pub business_class: String,
    /// Business class name.
    pub business_class_name: String,
    /// `draft` or `sealed`.
    pub state: String,
    /// 档号 (once sealed).
    pub archive_number: Option<String>,
    /// 总页数
    pub pages: i64,
    /// 厚度 in millimetres.
    pub thickness_mm: f64,
    /// 备考 notes.
    pub note: Option<String>,
    /// Sealed at.
    pub sealed_at: Option<DateTime<Utc>>,
    /// Sealed by.
    pub sealed_by: Option<String>,
    /// The longest retention of its items (保管期限).
    pub retention: Option<String>,
    /// 卷内目录
    pub contents: Vec<ContentsLine>,
    /// Scans of its materials whose four-property check (四性检测) failed: sealing asks for
    /// an explicit acknowledgement of these.
    pub failed_scans: Vec<FailedScan>,
}

/// A scan in a volume whose four-property check failed.
#[derive(Debug, Clone, Serialize)]
pub struct FailedScan {
    /// The file.
    pub file_id: FileId,
    /// The name it arrived with (identity numbers masked).
    pub name: String,
    /// The material it belongs to.
    pub material_id: i64,
    /// The material's name.
    pub material: String,
    /// The failed checks, e.g. `GD-3-2 扫描分辨率：72 dpi（要求不低于 300 dpi）`.
    pub failed: Vec<String>,
}

/// Whether sealing may go ahead over scans whose four-property check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailedScans {
    /// Refuse with `failed_scans_not_acknowledged` when the volume holds any.
    Refuse,
    /// The user saw the list and confirmed (封卷确认).
    Acknowledged,
}

/// The refusal of a seal over failed scans the user has not confirmed.
fn failed_scans_not_acknowledged(scans: &[FailedScan]) -> AppError {
    let names: Vec<&str> = scans.iter().map(|f| f.name.as_str()).collect();
    AppError::Conflict {
        code: "failed_scans_not_acknowledged",
        field: None,
        message: format!(
            "本卷有 {} 个扫描件四性检测未通过（{}）；请先撤回或核对这些扫描件，确认后再封卷",
            scans.len(),
            names.join("、")
        ),
    }
}

/// The scans of the volume's materials whose four-property check failed, in contents order
/// (one read for the whole volume).
async fn failed_scans(
    tx: &mut Tx,
    volume: VolumeId,
    contents: &[ContentsLine],
) -> AppResult<Vec<FailedScan>> {
    let mut out = Vec::new();
    for f in files::checks_of_volume(tx, volume.0).await? {
        let Ok(report) = serde_json::from_str::<FourPropertyReport>(&f.checks) else {
            continue;
        };
        if report.passed {
            continue;
        }
        let material = contents
            .iter()
            .find(|l| l.material_id == f.material_id.0)
            .map(|l| l.name.clone())
            .unwrap_or_default();
        out.push(FailedScan {
            file_id: f.id,
            name: crate::text::mask_id_numbers(&f.original_name),
            material_id: f.material_id.0,
            material,
            failed: report
                .checks
                .iter()
                .filter(|c| c.passed == Some(false))
                .map(|c| format!("{} {}：{}", c.code, c.name, c.reason))
                .collect(),
        });
    }
    Ok(out)
}

fn sealed() -> AppError {
    AppError::Conflict {
        code: "volume_sealed",
        field: None,
        message: "该案卷已封卷，不能修改（如需更正请走档案更正程序）".to_owned(),
    }
}

fn longest(a: Option<Retention>, b: Retention) -> Option<Retention> {
    match (a, b.years()) {
        (None, _) => Some(b),
        (Some(x), None) => Some(if x.years().is_none() { x } else { b }),
        (Some(x), Some(n)) => Some(if x.years().is_none_or(|m| m >= n) {
            x
        } else {
            b
        }),
    }
}

/// Whether every item of handover list `h` received (ok or damaged) is in a sealed volume.
async fn handover_all_sealed(tx: &mut Tx, h: HandoverId) -> AppResult<bool> {
    let mut all_sealed = true;
    for item in handovers::items(tx, h).await? {
        let (Some(mid), Some(Coded(LineResult::Ok | LineResult::Damaged))) =
            (item.material_id, item.result)
        else {
            continue;
        };
        let m = events::material(tx, mid)
            .await?
            .ok_or_else(|| AppError::Internal("material vanished".to_owned()))?;
        let in_sealed = match m.volume_id {
            Some(v) => volumes::get(tx, VolumeId(v))
                .await?
                .is_some_and(|v| v.state == VolumeState::Sealed),
            None => false,
        };
        all_sealed &= in_sealed;
    }
    Ok(all_sealed)
}

impl App {
    async fn volume_view(&self, tx: &mut Tx, row: VolumeRow) -> AppResult<VolumeView> {
        let class = BusinessClass::parse(&row.business_class)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let mut items = Vec::new();
        let mut marks = Vec::new();
        let mut persons = Vec::new();
        let mut retention = None;
        // One statement for the whole contents list, persons included.
        for line in volumes::contents(tx, row.id).await? {
            let m = line.material;
            retention = longest(retention, m.retention);
            let mut remark = Vec::new();
            if m.supplement_id.is_some() {
                remark.push("补件".to_owned());
            }
            if matches!(m.status, MaterialStatus::Lost | MaterialStatus::Damaged) {
                remark.push(m.status.label().to_owned());
            }
            if let Some(r) = &m.remarks {
                remark.push(r.clone());
            }
            marks.push(remark.join("；"));
            persons.push(line.person);
            items.push(VolumeItem {
                item_id: m.id.0,
                year: i32::try_from(row.year).unwrap_or_default(),
                class,
                division_code: String::new(),
                id_number: String::new(),
                formation_date: m.formation_date,
                name: m.name,
                pages: u32::try_from(m.pages).unwrap_or(0),
                remarks: m.remarks,
            });
        }
        let planned = PlannedVolume {
            year: i32::try_from(row.year).unwrap_or_default(),
            class,
            pages: items.iter().map(|i| i.pages).sum(),
            thickness_mm: row.thickness_um as f64 / 1000.0,
            items,
        };
        let contents: Vec<ContentsLine> = volume::contents(&planned)
            .into_iter()
            .zip(marks)
            .zip(persons)
            .map(|((c, remarks), person)| ContentsLine {
                seq: c.seq,
                person_name: person.name,
                id_number_masked: person.id_number.masked(),
                name: c.name,
                formation_date: c.formation_date,
                pages: c.pages,
                start_page: c.start_page,
                end_page: c.end_page,
                remarks,
                material_id: c.item_id,
            })
            .collect();
        // Stored as the sign-in name (who it was); shown and printed as the person's name.
        let sealed_by = match row.sealed_by {
            Some(username) => Some(
                dangan_store::users::find_by_username(tx, &username)
                    .await?
                    .map_or(username, |u| u.display_name),
            ),
            None => None,
        };
        Ok(VolumeView {
            id: row.id,
            year: row.year,
            business_class_name: class.name().to_owned(),
            business_class: row.business_class,
            state: row.state.code().to_owned(),
            archive_number: row.archive_number,
            pages: row.pages,
            thickness_mm: row.thickness_um as f64 / 1000.0,
            note: row.note,
            sealed_at: row.sealed_at,
            sealed_by,
            retention: retention.map(|r| r.code().to_owned()),
            failed_scans: failed_scans(tx, row.id, &contents).await?,
            contents,
        })
    }

    /// Rebuilds the draft volumes of (year, class) from the received materials not yet sealed.
    /// Sealed volumes are never touched; the same materials always give the same drafts.
    pub async fn build_volumes(
        &self,
        actor: &Actor,
        year: i32,
        class: BusinessClass,
    ) -> AppResult<Vec<VolumeView>> {
        self.authorize(actor, UseCase::Organise).await?;
        if !(1950..=2200).contains(&year) {
            return Err(AppError::invalid_with(
                "invalid_year",
                Some("year"),
                "年度应为1950至2200之间的年份",
            ));
        }
        let mut tx = self.store.begin_write().await?;
        volumes::delete_drafts(&mut tx, i64::from(year), class.code()).await?;
        let mut items = Vec::new();
        for r in events::filable(&mut tx, year).await? {
            let business = r.business_type;
            if business.class() != class {
                continue;
            }
            items.push(VolumeItem {
                item_id: r.id.0,
                year: r.business_date.year(),
                class,
                division_code: r.division_code,
                id_number: r.id_number,
                formation_date: r.formation_date,
                name: r.name,
                pages: u32::try_from(r.pages).unwrap_or(0),
                remarks: r.remarks,
            });
        }
        let planned = volume::plan_volumes(items, &self.settings.volume_rules)
            .map_err(|e| AppError::invalid("materials", &e))?;
        let now = Utc::now();
        let mut ids = Vec::new();
        for (position, v) in planned.iter().enumerate() {
            let members: Vec<MaterialId> = v.items.iter().map(|i| MaterialId(i.item_id)).collect();
            let um = (v.thickness_mm * 1000.0).round() as i64;
            let id = volumes::insert_draft(
                &mut tx,
                i64::from(year),
                class.code(),
                position as i64 + 1,
                i64::from(v.pages),
                um,
                &members,
                now,
            )
            .await?;
            ids.push(id);
        }
        let op = Op::new("volume.build", "volume", format!("{year}-{}", class.code()))
            .detail(format!("{} drafts", ids.len()));
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        let mut out = Vec::new();
        for id in ids {
            let row = volumes::get(&mut tx, id)
                .await?
                .ok_or_else(|| AppError::Internal("draft vanished".to_owned()))?;
            out.push(self.volume_view(&mut tx, row).await?);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// One volume with its contents list.
    pub async fn volume(&self, actor: &Actor, id: VolumeId) -> AppResult<VolumeView> {
        self.authorize(actor, UseCase::ReadWorkflow).await?;
        let mut tx = self.store.begin().await?;
        let row = volumes::get(&mut tx, id)
            .await?
            .ok_or_else(|| AppError::not_found("volume_not_found", "未找到该案卷"))?;
        let view = self.volume_view(&mut tx, row).await?;
        tx.rollback().await?;
        Ok(view)
    }

    /// The volumes of (year, class): sealed by archive number, then drafts.
    pub async fn volumes(
        &self,
        actor: &Actor,
        year: i32,
        class: BusinessClass,
    ) -> AppResult<Vec<VolumeView>> {
        self.authorize(actor, UseCase::ReadWorkflow).await?;
        let mut tx = self.store.begin().await?;
        let mut out = Vec::new();
        for row in volumes::list(&mut tx, i64::from(year), class.code()).await? {
            out.push(self.volume_view(&mut tx, row).await?);
        }
        tx.rollback().await?;
        Ok(out)
    }

    /// Sets the 备考 note of a draft volume; a sealed volume refuses.
    pub async fn set_volume_note(
        &self,
        actor: &Actor,
        id: VolumeId,
        note: &str,
    ) -> AppResult<VolumeView> {
        self.authorize(actor, UseCase::Organise).await?;
        let note = note.trim();
        if note.chars().count() > 500 || note.chars().any(|c| c.is_control() && c != '\n') {
            return Err(AppError::invalid_with(
                "invalid_text",
                Some("note"),
                "备考不能超过500个字",
            ));
        }
        let mut tx = self.store.begin_write().await?;
        let row = volumes::get(&mut tx, id)
            .await?
            .ok_or_else(|| AppError::not_found("volume_not_found", "未找到该案卷"))?;
        if row.state != VolumeState::Draft || !volumes::set_note(&mut tx, id, note).await? {
            return Err(sealed());
        }
        self.log_in(
            &mut tx,
            actor,
            &Op::new("volume.note", "volume", id),
            Outcome::Ok,
        )
        .await?;
        let row = volumes::get(&mut tx, id)
            .await?
            .ok_or_else(|| AppError::Internal("volume vanished".to_owned()))?;
        let view = self.volume_view(&mut tx, row).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Seals a draft: allocates its archive number (gapless, in this transaction) and freezes
    /// it. Closes the organising tasks whose materials are now all sealed.
    /// Scans whose four-property check failed refuse the seal unless `failed` is
    /// [`FailedScans::Acknowledged`] (the page asks for a confirmation listing them).
    pub async fn seal_volume(
        &self,
        actor: &Actor,
        id: VolumeId,
        failed: FailedScans,
    ) -> AppResult<VolumeView> {
        self.authorize(actor, UseCase::Organise).await?;
        let mut tx = self.store.begin_write().await?;
        let row = volumes::get(&mut tx, id)
            .await?
            .ok_or_else(|| AppError::not_found("volume_not_found", "未找到该案卷"))?;
        if row.state != VolumeState::Draft {
            return Err(sealed());
        }
        let view = self.volume_view(&mut tx, row.clone()).await?;
        if view.contents.is_empty() {
            return Err(AppError::invalid_with(
                "empty_volume",
                None,
                "空案卷不能封卷",
            ));
        }
        if failed == FailedScans::Refuse && !view.failed_scans.is_empty() {
            return Err(failed_scans_not_acknowledged(&view.failed_scans));
        }
        let class = BusinessClass::parse(&row.business_class)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let retention = view
            .retention
            .as_deref()
            .and_then(|r| Retention::parse(r).ok());
        let year = i32::try_from(row.year).map_err(|_| AppError::Internal("year".to_owned()))?;
        let number = self
            .allocate_in(&mut tx, actor, year, class, retention)
            .await?;
        if !volumes::seal(
            &mut tx,
            id,
            &number.archive_number,
            &actor.username,
            Utc::now(),
        )
        .await?
        {
            return Err(sealed());
        }
        self.reissue_manifests(&mut tx, &view, &number.archive_number)
            .await?;
        self.close_organised_handovers(&mut tx, &view).await?;
        self.log_in(
            &mut tx,
            actor,
            &Op::new("volume.seal", "volume", id).detail(number.archive_number.clone()),
            Outcome::Ok,
        )
        .await?;
        let row = volumes::get(&mut tx, id)
            .await?
            .ok_or_else(|| AppError::Internal("volume vanished".to_owned()))?;
        let view = self.volume_view(&mut tx, row).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Re-issues each scan's sealed manifest with the 档号 (archive number), so that
    /// verification proves it too.
    async fn reissue_manifests(
        &self,
        tx: &mut Tx,
        view: &VolumeView,
        archive_number: &str,
    ) -> AppResult<()> {
        for line in &view.contents {
            for f in dangan_store::files::for_material(tx, MaterialId(line.material_id)).await? {
                self.reissue_manifest(tx, &f, archive_number).await?;
            }
        }
        Ok(())
    }

    /// Closes the 整理 (organising) task of each handover list the volume's materials came
    /// with, once every received item of the list is in a sealed volume.
    async fn close_organised_handovers(&self, tx: &mut Tx, view: &VolumeView) -> AppResult<()> {
        let mut lists = BTreeSet::new();
        for line in &view.contents {
            if let Some(h) = handovers::of_material(tx, MaterialId(line.material_id)).await? {
                lists.insert(h);
            }
        }
        for h in lists {
            if handover_all_sealed(tx, h).await? {
                self.close_task(tx, Kind::Organising, h.0).await?;
            }
        }
        Ok(())
    }
}
