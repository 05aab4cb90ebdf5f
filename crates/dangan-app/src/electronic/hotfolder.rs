//! 扫描热文件夹 — `dangan ingest DIR`: scans named by the S6.1 rule
//! `年度-业务类型-参保人ID-材料名称.ext` are matched to their person, business event and material and
//! ingested; a name that matches nothing, or more than one material, goes on the quarantine list
//! with its reason — nothing is dropped. Re-running skips what is already in.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{Datelike, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use dangan_domain::business::BusinessType;
use dangan_domain::id_number::{IdNumber, mask};
use dangan_store::events::{self, MaterialId};
use dangan_store::{files, persons};

use crate::administration::roles::{Actor, UseCase};
use crate::electronic::four::{self, BatchSummary, Check, FourPropertyReport};
use crate::{App, AppError, AppResult, today};

/// What a hot-folder run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FolderReport {
    /// Files ingested now.
    pub ingested: usize,
    /// Files already in the archive (skipped).
    pub skipped: usize,
    /// Files put on the quarantine list: (name with the identity number masked, reason).
    pub quarantined: Vec<(String, String)>,
    /// 四性检测 of the batch: the files ingested now, by property, and the batch's own checks.
    pub checks: BatchSummary,
    /// Why the run stopped before the last file, when it did (the database or the disk failed;
    /// a file's own fault never stops it).
    pub stopped: Option<String>,
}

/// The parts of an S6.1 name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct S61Name {
    year: i32,
    business: BusinessType,
    id_number: IdNumber,
    material: String,
}

/// Parses `年度-业务类型-参保人ID-材料名称.ext`. The business type may be its code or its Chinese
/// name; a name with “/” (not allowed in file names) may be given up to the “/”.
fn parse_name(file_name: &str) -> Result<S61Name, String> {
    let stem = file_name.rsplit_once('.').map_or(file_name, |(s, _)| s);
    let mut parts = stem.splitn(4, '-');
    let (Some(year), Some(business), Some(id), Some(material)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("文件名不符合“年度-业务类型-参保人ID-材料名称”规则".to_owned());
    };
    let year: i32 = year
        .parse()
        .ok()
        .filter(|y| (1950..=2200).contains(y))
        .ok_or_else(|| format!("年度“{year}”无效"))?;
    let business = BusinessType::parse(business)
        .ok()
        .or_else(|| {
            BusinessType::ALL
                .into_iter()
                .find(|b| b.name().split('/').next() == Some(business))
        })
        .ok_or_else(|| format!("业务类型“{business}”无法识别"))?;
    let id_number = IdNumber::parse(id, today()).map_err(|e| format!("参保人ID无效：{e}"))?;
    let material = material.trim().to_owned();
    if material.is_empty() {
        return Err("缺少材料名称".to_owned());
    }
    Ok(S61Name {
        year,
        business,
        id_number,
        material,
    })
}

/// The file name with any identity number in it masked (for reports and logs).
fn masked_name(file_name: &str) -> String {
    file_name
        .split('-')
        .map(|part| {
            let stem = part.split('.').next().unwrap_or(part);
            if (stem.len() == 18 || stem.len() == 15)
                && stem.chars().take(15).all(|c| c.is_ascii_digit())
            {
                part.replacen(stem, &mask(stem), 1)
            } else {
                part.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

async fn sha256_of(path: &Path) -> std::io::Result<String> {
    let mut f = tokio::fs::File::open(path).await?;
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; 1024 * 1024];
    loop {
        let n = f.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
    }
    Ok(hex::encode(sha.finalize()))
}

impl App {
    /// The one material an S6.1 name designates, or why there is not exactly one.
    async fn match_name(&self, name: &S61Name) -> AppResult<Result<MaterialId, String>> {
        let mut tx = self.store.begin().await?;
        let Some(person) = persons::find_by_id_number(&mut tx, name.id_number.as_str()).await?
        else {
            tx.rollback().await?;
            return Ok(Err("未找到该参保人".to_owned()));
        };
        let mut found = Vec::new();
        for e in events::list_for_person(&mut tx, person.id).await? {
            if e.business_type != name.business || e.business_date.year() != name.year {
                continue;
            }
            for m in events::materials(&mut tx, e.id).await? {
                if m.name == name.material || m.material_code == name.material {
                    found.push(m.id);
                }
            }
        }
        tx.rollback().await?;
        Ok(match found.as_slice() {
            [one] => Ok(*one),
            [] => Err(format!(
                "未找到{}年“{}”业务中的材料“{}”",
                name.year,
                name.business.name(),
                name.material
            )),
            many => Err(format!("匹配到{}件材料，无法确定归属", many.len())),
        })
    }

    /// One file of a hot folder: ingested, skipped or quarantined (into `report`). Returns the
    /// material that received it and whether its page count is known, or `None`. An error
    /// returned is not the file's own (the database or the disk): the caller stops the run.
    async fn ingest_one(
        &self,
        actor: &Actor,
        path: &Path,
        name: &str,
        report: &mut FolderReport,
    ) -> AppResult<Option<(MaterialId, bool)>> {
        let sha = match sha256_of(path).await {
            Ok(sha) => sha,
            Err(e) => {
                // Unreadable: nothing can be stored, not even its content hash.
                report
                    .quarantined
                    .push((masked_name(name), format!("无法读取文件：{e}")));
                return Ok(None);
            }
        };
        let target = match parse_name(name) {
            Ok(parsed) => self.match_name(&parsed).await?,
            Err(reason) => Err(reason),
        };
        let material = match target {
            Ok(material) => material,
            Err(reason) => {
                self.quarantine(name, &sha, &reason, report).await?;
                return Ok(None);
            }
        };
        let mut tx = self.store.begin().await?;
        let already = files::material_has(&mut tx, material, &sha).await?;
        tx.rollback().await?;
        if already {
            report.skipped += 1;
            return Ok(None);
        }
        let file = match tokio::fs::File::open(path).await {
            Ok(f) => f,
            Err(e) => {
                let reason = format!("无法读取文件：{e}");
                self.quarantine(name, &sha, &reason, report).await?;
                return Ok(None);
            }
        };
        let view = match self.ingest_file(actor, material, Some(name), file).await {
            Ok(view) => view,
            // The file's own fault (empty, too large, its material lost …): quarantined with
            // the reason the user would have seen, and the batch goes on.
            Err(
                e @ (AppError::Invalid { .. }
                | AppError::Conflict { .. }
                | AppError::NotFound { .. }),
            ) => {
                self.quarantine(name, &sha, &e.to_string(), report).await?;
                return Ok(None);
            }
            Err(other) => return Err(other),
        };
        report.ingested += 1;
        let mut tx = self.store.begin().await?;
        let raw = files::checks(&mut tx, view.id).await?.unwrap_or_default();
        tx.rollback().await?;
        if let Ok(r) = serde_json::from_str::<FourPropertyReport>(&raw) {
            report.checks.add(&masked_name(name), &r);
        }
        Ok(Some((material, view.pages.is_some())))
    }

    /// Puts a file on the quarantine list with its reason (a rerun updates the reason).
    async fn quarantine(
        &self,
        name: &str,
        sha: &str,
        reason: &str,
        report: &mut FolderReport,
    ) -> AppResult<()> {
        let mut tx = self.store.begin_write().await?;
        files::quarantine(&mut tx, name, &masked_name(name), sha, reason, Utc::now()).await?;
        tx.commit().await?;
        report
            .quarantined
            .push((masked_name(name), reason.to_owned()));
        Ok(())
    }

    /// Ingests every regular file of `dir` (hidden files and `*.tmp` are left alone), calling
    /// `progress(done, total)` after each.
    pub async fn ingest_folder(
        &self,
        actor: &Actor,
        dir: &Path,
        progress: impl Fn(usize, usize),
    ) -> AppResult<FolderReport> {
        self.authorize(actor, UseCase::IngestScans).await?;
        let names = scan_names(dir).await?;
        let mut report = FolderReport::default();
        // The materials that received files now, and whether every such file has a page count:
        // their scanned pages are compared with the pages declared.
        let mut pages: BTreeMap<MaterialId, bool> = Default::default();
        for (i, name) in names.iter().enumerate() {
            let path = dir.join(name);
            match self.ingest_one(actor, &path, name, &mut report).await {
                Ok(Some((material, pages_known))) => {
                    let known = pages.entry(material).or_insert(true);
                    *known &= pages_known;
                }
                Ok(None) => {}
                Err(e) => {
                    // Not this file's fault (the database or the disk): the rest would fail the
                    // same way, so the run stops here, and says so in its summary.
                    report.stopped = Some(format!("在“{}”处中止：{e}", masked_name(name)));
                    progress(i + 1, names.len());
                    break;
                }
            }
            progress(i + 1, names.len());
        }
        let accounted = every_file_accounted_for(&report, names.len());
        report.checks.batch_checks.push(accounted);
        let (mismatched, unknown) = self.page_mismatches(&pages).await?;
        let as_declared = pages_as_declared(pages.len(), &mismatched, unknown);
        report.checks.batch_checks.push(as_declared);
        Ok(report)
    }

    /// Compares the scanned pages of each material that received files with its declared pages:
    /// the mismatches, said in Chinese, and how many materials have a scan without a page count
    /// (not compared).
    async fn page_mismatches(
        &self,
        pages: &BTreeMap<MaterialId, bool>,
    ) -> AppResult<(Vec<String>, usize)> {
        let mut mismatched = Vec::new();
        let mut unknown = 0usize;
        let mut tx = self.store.begin().await?;
        for (material, known) in pages {
            if !known {
                unknown += 1;
                continue;
            }
            let all: i64 = files::for_material(&mut tx, *material)
                .await?
                .iter()
                .filter_map(|f| f.pages)
                .sum();
            if let Some(m) = events::material(&mut tx, *material).await?
                && all != m.pages
            {
                mismatched.push(format!(
                    "“{}”登记 {} 页，扫描件共 {} 页",
                    m.name, m.pages, all
                ));
            }
        }
        tx.rollback().await?;
        Ok((mismatched, unknown))
    }
}

/// The names of the files in the hot folder, sorted; hidden and `.tmp` files (still being
/// written) are left for a later run.
async fn scan_names(dir: &Path) -> AppResult<Vec<String>> {
    let mut names = Vec::new();
    let mut rd = tokio::fs::read_dir(dir).await.map_err(|e| {
        AppError::invalid_with(
            "invalid_folder",
            Some("dir"),
            format!("无法读取文件夹：{e}"),
        )
    })?;
    while let Some(e) = rd
        .next_entry()
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
    {
        let is_file = e.file_type().await.map(|t| t.is_file()).unwrap_or(false);
        let Some(name) = e.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if is_file && !name.starts_with('.') && !name.ends_with(".tmp") {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// GD-2-4 of the batch: every file of the folder was ingested, skipped or quarantined, and the
/// run did not stop.
fn every_file_accounted_for(report: &FolderReport, files: usize) -> Check {
    let accounted = report.ingested + report.skipped + report.quarantined.len();
    four::check(
        "GD-2-4",
        "完整性",
        "数据总量（批次）",
        Some(accounted == files && report.stopped.is_none()),
        format!(
            "文件夹中 {} 个文件：入库 {}、已存在 {}、隔离 {}",
            files,
            report.ingested,
            report.skipped,
            report.quarantined.len()
        ),
    )
}

/// GD-2-5 of the batch: the scanned pages of the `materials` that received files are as
/// declared.
fn pages_as_declared(materials: usize, mismatched: &[String], unknown: usize) -> Check {
    if materials == 0 {
        four::check(
            "GD-2-5",
            "完整性",
            "页数与登记一致",
            None,
            "本批次没有新入库的文件",
        )
    } else if !mismatched.is_empty() {
        four::check(
            "GD-2-5",
            "完整性",
            "页数与登记一致",
            Some(false),
            mismatched.join("；"),
        )
    } else if unknown > 0 {
        // Unknown is not passed: a material whose scans have no page count was not checked.
        four::check(
            "GD-2-5",
            "完整性",
            "页数与登记一致",
            None,
            format!(
                "{unknown} 件材料的扫描件页数无法识别，未能核对；其余 {} 件一致",
                materials - unknown
            ),
        )
    } else {
        four::check(
            "GD-2-5",
            "完整性",
            "页数与登记一致",
            Some(true),
            format!("{} 件材料的扫描页数与登记页数一致", materials),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_s61_name_parses_with_a_chinese_business_type_and_a_dash_in_the_material() {
        let n = parse_name("2023-参保登记-11010519491231002X-身份证复印件-正面.pdf").unwrap();
        assert_eq!(n.year, 2023);
        assert_eq!(n.business, BusinessType::Enrolment);
        assert_eq!(n.material, "身份证复印件-正面");
        assert_eq!(
            parse_name("2024-待遇申领-11010519491231002X-待遇申领表.pdf")
                .unwrap()
                .business,
            BusinessType::BenefitClaim
        );
    }

    #[test]
    fn bad_names_say_what_is_wrong() {
        assert!(parse_name("scan001.pdf").unwrap_err().contains("规则"));
        assert!(
            parse_name("1800-参保登记-11010519491231002X-表.pdf")
                .unwrap_err()
                .contains("年度")
        );
        assert!(
            parse_name("2023-买菜-11010519491231002X-表.pdf")
                .unwrap_err()
                .contains("业务类型")
        );
        assert!(
            parse_name("2023-参保登记-110105194912310021-表.pdf")
                .unwrap_err()
                .contains("参保人ID")
        );
    }

    #[test]
    fn reported_names_mask_the_identity_number() {
        assert_eq!(
            masked_name("2023-参保登记-11010519491231002X-表.pdf"),
            "2023-参保登记-110105***********X-表.pdf"
        );
    }
}
