//! 四性检测 — the four-property check of a file at ingest (X2), in the style of DA/T 70: each check
//! has a code `GD-<property>-<n>` (1 真实性 authenticity, 2 完整性 integrity, 3 可用性 usability,
//! 4 安全性 security), a result (passed, failed, or skipped with the reason said plainly) and a
//! reason. The report is stored with the file and served to archivists.

use chrono::NaiveDate;
use dangan_vault::identify::{Readability, Rule};
use serde::{Deserialize, Serialize};

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// DA/T 70 style code, e.g. `GD-1-1`.
    pub code: String,
    /// 真实性 / 完整性 / 可用性 / 安全性.
    pub property: String,
    /// What is checked.
    pub name: String,
    /// `Some(true)` passed, `Some(false)` failed, `None` skipped.
    pub passed: Option<bool>,
    /// Why, in Chinese.
    pub reason: String,
}

/// The report of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FourPropertyReport {
    /// No check failed.
    pub passed: bool,
    /// The checks, grouped by property in order.
    pub checks: Vec<Check>,
}

/// The tally of one property over a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyTally {
    /// 真实性 / 完整性 / 可用性 / 安全性.
    pub property: String,
    /// Checks passed.
    pub passed: usize,
    /// Checks failed.
    pub failed: usize,
    /// Checks skipped (with their reason in each file's report).
    pub skipped: usize,
}

/// A failed check of one file in a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchFailure {
    /// The file's name (identity numbers masked).
    pub file: String,
    /// The check's code.
    pub code: String,
    /// What is checked.
    pub name: String,
    /// Why it failed.
    pub reason: String,
}

/// The four-property summary of one ingest batch (a hot-folder run).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchSummary {
    /// Files checked (those ingested in this batch).
    pub files: usize,
    /// Files whose every check passed or was skipped.
    pub files_passed: usize,
    /// Per property, in the order 真实性, 完整性, 可用性, 安全性.
    pub properties: Vec<PropertyTally>,
    /// Every failed check, file by file.
    pub failures: Vec<BatchFailure>,
    /// Checks of the batch as a whole: every file accounted for (GD-2-4), pages as declared
    /// (GD-2-5).
    pub batch_checks: Vec<Check>,
}

impl BatchSummary {
    /// Adds one file's report.
    pub fn add(&mut self, file: &str, report: &FourPropertyReport) {
        self.files += 1;
        if report.passed {
            self.files_passed += 1;
        }
        for c in &report.checks {
            let tally = match self
                .properties
                .iter_mut()
                .position(|t| t.property == c.property)
            {
                Some(i) => &mut self.properties[i],
                None => {
                    self.properties.push(PropertyTally {
                        property: c.property.clone(),
                        ..PropertyTally::default()
                    });
                    let last = self.properties.len() - 1;
                    &mut self.properties[last]
                }
            };
            match c.passed {
                Some(true) => tally.passed += 1,
                Some(false) => {
                    tally.failed += 1;
                    self.failures.push(BatchFailure {
                        file: file.to_owned(),
                        code: c.code.clone(),
                        name: c.name.clone(),
                        reason: c.reason.clone(),
                    });
                }
                None => tally.skipped += 1,
            }
        }
    }
}

/// What ingest knows about a file.
#[derive(Debug, Clone)]
pub(crate) struct Facts<'a> {
    pub seal_ok: bool,
    pub sha256_len_ok: bool,
    /// The digest profile asks for SM3 (国密).
    pub sm3_required: bool,
    pub sm3_present: bool,
    pub size: u64,
    pub stored: bool,
    pub duplicate: bool,
    pub format_code: &'a str,
    pub extension_matches: bool,
    pub archival_format: bool,
    pub raster: bool,
    /// Whether the file opens (GD-3-3), from identification.
    pub readable: &'a Readability,
    /// The basic PDF/A conformance rules, for a PDF that claims PDF/A (GD-3-4).
    pub conformance: &'a [Rule],
    pub dpi: Option<u32>,
    pub min_dpi: u32,
    pub formation_date: NaiveDate,
    pub scan_date: NaiveDate,
    pub missing_metadata: Vec<&'static str>,
    pub archive_number: &'a str,
    pub virus: Option<Result<(), String>>,
}

pub(crate) fn check(
    code: &str,
    property: &str,
    name: &str,
    passed: Option<bool>,
    reason: impl Into<String>,
) -> Check {
    Check {
        code: code.into(),
        property: property.into(),
        name: name.into(),
        passed,
        reason: reason.into(),
    }
}

/// GD-3-4: the basic PDF/A conformance subset, for a PDF that claims PDF/A. Unknown is not
/// passed: a rule that could not be checked leaves the check skipped unless another failed.
fn conformance(f: &Facts<'_>) -> Check {
    const NAME: &str = "PDF/A 基本符合性检查（部分规则，非完整验证）";
    if f.format_code != "pdf" {
        return check("GD-3-4", "可用性", NAME, None, "不是 PDF 文件，不适用");
    }
    if f.conformance.is_empty() {
        return check(
            "GD-3-4",
            "可用性",
            NAME,
            None,
            "文件未声明 PDF/A，不适用（见 GD-3-1）",
        );
    }
    let failed: Vec<String> = f
        .conformance
        .iter()
        .filter(|r| r.passed == Some(false))
        .map(|r| format!("{} {}：{}", r.code, r.name, r.reason))
        .collect();
    let unchecked: Vec<String> = f
        .conformance
        .iter()
        .filter(|r| r.passed.is_none())
        .map(|r| format!("{} {}：{}", r.code, r.name, r.reason))
        .collect();
    let n = f.conformance.len();
    if !failed.is_empty() {
        check("GD-3-4", "可用性", NAME, Some(false), failed.join("；"))
    } else if !unchecked.is_empty() {
        check(
            "GD-3-4",
            "可用性",
            NAME,
            None,
            format!(
                "{} 条规则通过，{} 条未能检查：{}",
                n - unchecked.len(),
                unchecked.len(),
                unchecked.join("；")
            ),
        )
    } else {
        check(
            "GD-3-4",
            "可用性",
            NAME,
            Some(true),
            format!("{n} 条规则全部通过"),
        )
    }
}

/// Builds the report from the facts: the checks of each property in the order 真实性, 完整性,
/// 可用性, 安全性.
pub(crate) fn report(f: &Facts<'_>) -> FourPropertyReport {
    let mut checks = authenticity_checks(f);
    checks.extend(integrity_checks(f));
    checks.extend(usability_checks(f));
    checks.extend(security_checks(f));
    FourPropertyReport {
        passed: checks.iter().all(|c| c.passed != Some(false)),
        checks,
    }
}

/// 真实性 — authenticity: the seal and digests (GD-1-1), the dates (GD-1-2), the content against
/// the file name (GD-1-3).
fn authenticity_checks(f: &Facts<'_>) -> Vec<Check> {
    let a = "真实性";
    vec![
        check(
            "GD-1-1",
            a,
            "固化信息有效性（数字摘要与电子印章）",
            Some(f.seal_ok && f.sha256_len_ok && (f.sm3_present || !f.sm3_required)),
            match (f.seal_ok, f.sm3_present, f.sm3_required) {
                (false, _, _) => "电子印章或数字摘要无效",
                (true, true, _) => "SHA-256、SM3 摘要已计算，机构电子印章有效",
                (true, false, false) => "SHA-256 摘要已计算（摘要配置不含 SM3），机构电子印章有效",
                (true, false, true) => "摘要配置要求 SM3，但未计算 SM3 摘要",
            },
        ),
        check(
            "GD-1-2",
            a,
            "元数据准确性（日期合理）",
            Some(f.formation_date <= f.scan_date),
            if f.formation_date <= f.scan_date {
                "形成日期不晚于扫描日期".to_owned()
            } else {
                format!("形成日期{}晚于扫描日期{}", f.formation_date, f.scan_date)
            },
        ),
        check(
            "GD-1-3",
            a,
            "内容真实性（内容与文件名一致）",
            Some(f.extension_matches),
            if f.extension_matches {
                format!("内容识别为 {}，与扩展名一致", f.format_code)
            } else {
                format!("内容识别为 {}，与文件扩展名不符", f.format_code)
            },
        ),
    ]
}

/// 完整性 — integrity: the size (GD-2-1), the required metadata (GD-2-2), the stored blob
/// (GD-2-3).
fn integrity_checks(f: &Facts<'_>) -> Vec<Check> {
    let i = "完整性";
    vec![
        check(
            "GD-2-1",
            i,
            "数据总量",
            Some(f.size > 0),
            format!("{} 字节", f.size),
        ),
        check(
            "GD-2-2",
            i,
            "元数据完整性（S6.2 必填项）",
            Some(f.missing_metadata.is_empty()),
            if f.missing_metadata.is_empty() {
                if f.archive_number.is_empty() {
                    "必填项齐全；档案编号在封卷时赋予".to_owned()
                } else {
                    format!("必填项齐全，档案编号 {}", f.archive_number)
                }
            } else {
                format!("缺少：{}", f.missing_metadata.join("、"))
            },
        ),
        check(
            "GD-2-3",
            i,
            "内容完整性（已持久保存）",
            Some(f.stored),
            if f.stored {
                "加密数据块已落盘并同步"
            } else {
                "数据块缺失"
            },
        ),
    ]
}

/// 可用性 — usability: the archival format (GD-3-1), the scan resolution (GD-3-2), readability
/// (GD-3-3), PDF/A conformance (GD-3-4).
fn usability_checks(f: &Facts<'_>) -> Vec<Check> {
    let u = "可用性";
    vec![
        check(
            "GD-3-1",
            u,
            "格式符合归档要求",
            Some(f.archival_format),
            if f.archival_format {
                format!("{} 为归档格式", f.format_code)
            } else {
                format!(
                    "{} 不是归档格式（PDF/A、OFD、TIFF、JPEG、JPEG 2000），已保存并标记",
                    f.format_code
                )
            },
        ),
        match (f.raster, f.dpi) {
            // Unknown is not passed: a file whose format is not recognised has no resolution to
            // read, so the check cannot be made (GD-3-3 fails it as unreadable).
            (false, None) if f.format_code == "other" => check(
                "GD-3-2",
                u,
                "扫描分辨率",
                None,
                "文件格式无法识别，无法读取分辨率，未检查（见 GD-3-3）",
            ),
            (false, None) => check(
                "GD-3-2",
                u,
                "扫描分辨率",
                None,
                "版式文件中未发现整页扫描图像，不适用",
            ),
            (_, Some(d)) => check(
                "GD-3-2",
                u,
                "扫描分辨率",
                Some(d >= f.min_dpi),
                format!("{d} dpi（要求不低于 {} dpi）", f.min_dpi),
            ),
            (true, None) => check("GD-3-2", u, "扫描分辨率", Some(false), "文件未记录分辨率"),
        },
        match f.readable {
            Readability::Readable(detail) => check(
                "GD-3-3",
                u,
                "可读性（文件可完整解析）",
                Some(true),
                detail.clone(),
            ),
            Readability::Unreadable(why) => check(
                "GD-3-3",
                u,
                "可读性（文件可完整解析）",
                Some(false),
                why.clone(),
            ),
            Readability::Unchecked(why) => {
                check("GD-3-3", u, "可读性（文件可完整解析）", None, why.clone())
            }
        },
        conformance(f),
    ]
}

/// 安全性 — security: the virus scan (GD-4-1) and the duplicate check (GD-4-2).
fn security_checks(f: &Facts<'_>) -> Vec<Check> {
    let s = "安全性";
    vec![
        match &f.virus {
            None => check(
                "GD-4-1",
                s,
                "病毒检测",
                None,
                "本机未安装 ClamAV（clamscan），已跳过",
            ),
            Some(Ok(())) => check("GD-4-1", s, "病毒检测", Some(true), "ClamAV 未发现病毒"),
            Some(Err(found)) => check(
                "GD-4-1",
                s,
                "病毒检测",
                Some(false),
                format!("ClamAV：{found}"),
            ),
        },
        check(
            "GD-4-2",
            s,
            "重复检测",
            Some(true),
            if f.duplicate {
                "与已有文件内容相同，仅保存一份并已标记"
            } else {
                "未发现重复内容"
            },
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    static READABLE: std::sync::LazyLock<Readability> =
        std::sync::LazyLock::new(|| Readability::Readable("TIFF 1 页均可解码".to_owned()));

    fn facts() -> Facts<'static> {
        Facts {
            readable: &READABLE,
            conformance: &[],
            seal_ok: true,
            sha256_len_ok: true,
            sm3_required: true,
            sm3_present: true,
            size: 10,
            stored: true,
            duplicate: false,
            format_code: "tiff",
            extension_matches: true,
            archival_format: true,
            raster: true,
            dpi: Some(300),
            min_dpi: 300,
            formation_date: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
            scan_date: NaiveDate::from_ymd_opt(2024, 2, 1).unwrap(),
            missing_metadata: vec![],
            archive_number: "",
            virus: None,
        }
    }

    #[test]
    fn a_good_scan_passes_with_the_virus_scan_said_to_be_skipped() {
        let r = report(&facts());
        assert!(r.passed);
        let virus = r.checks.iter().find(|c| c.code == "GD-4-1").unwrap();
        assert_eq!(virus.passed, None);
        assert!(virus.reason.contains("ClamAV"));
        let codes: Vec<&str> = r.checks.iter().map(|c| c.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "GD-1-1", "GD-1-2", "GD-1-3", "GD-2-1", "GD-2-2", "GD-2-3", "GD-3-1", "GD-3-2",
                "GD-3-3", "GD-3-4", "GD-4-1", "GD-4-2"
            ]
        );
    }

    #[test]
    fn an_unrecognised_file_is_not_passed_on_resolution_but_said_to_be_unchecked() {
        let unreadable = Readability::Unreadable("无法识别文件格式".to_owned());
        let mut f = facts();
        f.readable = &unreadable;
        f.format_code = "other";
        f.raster = false;
        f.dpi = None;
        f.archival_format = false;
        f.extension_matches = false;
        let r = report(&f);
        let dpi = r.checks.iter().find(|c| c.code == "GD-3-2").unwrap();
        assert_eq!(dpi.passed, None);
        assert!(dpi.reason.contains("无法识别"), "{}", dpi.reason);
        let failed: Vec<&str> = r
            .checks
            .iter()
            .filter(|c| c.passed == Some(false))
            .map(|c| c.code.as_str())
            .collect();
        assert_eq!(failed, ["GD-1-3", "GD-3-1", "GD-3-3"]);
    }

    #[test]
    fn a_low_resolution_mislabelled_scan_fails_those_checks() {
        let mut f = facts();
        f.dpi = Some(150);
        f.extension_matches = false;
        let r = report(&f);
        assert!(!r.passed);
        let failed: Vec<&str> = r
            .checks
            .iter()
            .filter(|c| c.passed == Some(false))
            .map(|c| c.code.as_str())
            .collect();
        assert_eq!(failed, ["GD-1-3", "GD-3-2"]);
    }
}
