//! Planning an import before a row is read: the options checked, the file identified by its
//! size and head, its encoding found, and a checkpoint of an earlier run of the same file taken
//! up (or refused when the file changed).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::integration::sync::{self};
use crate::{AppError, AppResult};

use super::source::{self, Source};
use super::state::{self, Checkpoint};
use super::{ImportFormat, ImportKind, TextEncoding};

/// Everything `dangan import` is told.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// What the file holds.
    pub kind: ImportKind,
    /// The file.
    pub path: PathBuf,
    /// Its format; `None`: from the extension.
    pub format: Option<ImportFormat>,
    /// Its encoding; `None`: UTF-8 if the whole file is valid UTF-8, else GB18030.
    pub encoding: Option<TextEncoding>,
    /// The system the records come from: the key of contributions and benefits with their
    /// source ids, and of events with their external ids.
    pub source_system: String,
    /// The reject file; `None`: `FILE.rejects.csv`.
    pub rejects: Option<PathBuf>,
    /// Rows per batch (1 to 10 000).
    pub batch: usize,
    /// Start again from the first row even though a checkpoint exists.
    pub restart: bool,
    /// Test hook: stop as a kill would, right after committing the batch in which this many rows
    /// of this run were read and before its checkpoint is written.
    pub stop_after_rows: Option<u64>,
}

/// Rows counted so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportCounts {
    /// Data rows read (blank lines are not rows).
    pub rows: u64,
    /// Rows written (inserted or updated).
    pub accepted: u64,
    /// Rows refused (each in the reject file).
    pub rejected: u64,
    /// Rows already there: a person registered with the same data, an event recorded under
    /// its external id.
    pub skipped: u64,
}

/// An import checked and ready: the file, its format and encoding, and where it goes on from.
#[derive(Debug)]
pub struct ImportPlan {
    pub(super) opts: ImportOptions,
    pub(super) format: ImportFormat,
    pub(super) encoding: TextEncoding,
    pub(super) encoding_detected: bool,
    pub(super) file_size: u64,
    pub(super) head_sha256: String,
    pub(super) checkpoint_path: PathBuf,
    pub(super) rejects_path: PathBuf,
    pub(super) resume: Option<Checkpoint>,
    pub(super) ignored_columns: Vec<String>,
}

fn changed_file(path: &Path, why: &str) -> AppError {
    AppError::invalid_with(
        "import_file_changed",
        None,
        format!(
            "{} 有未完成的导入，但{why}，不能接着导入；确认要从头导入请加 --restart",
            path.display()
        ),
    )
}

/// A checkpoint goes on only with the same import: the same kind, source system and format,
/// and a file of the same size and first 64 KiB.
fn check_same_import(
    cp: &Checkpoint,
    opts: &ImportOptions,
    system: &str,
    format: ImportFormat,
    file_size: u64,
    head_sha256: &str,
) -> AppResult<()> {
    let path = &opts.path;
    if cp.kind != opts.kind.code() {
        return Err(changed_file(
            path,
            &format!("上次导入的是 {}，这次是 {}", cp.kind, opts.kind.code()),
        ));
    }
    if cp.source_system != system {
        return Err(changed_file(
            path,
            &format!("上次的来源系统是 {}，这次是 {system}", cp.source_system),
        ));
    }
    if cp.file_size != file_size || cp.head_sha256 != head_sha256 {
        return Err(changed_file(path, "文件的大小或开头内容已经变了"));
    }
    if cp.format != format.code() {
        return Err(changed_file(path, "文件格式与上次不同"));
    }
    Ok(())
}

/// The file's encoding (编码): the checkpoint's when going on, else the one given, else
/// detected (UTF-8 when the file is valid UTF-8, GB 18030 otherwise); and whether it was
/// detected.
fn text_encoding(
    resume: Option<&Checkpoint>,
    given: Option<TextEncoding>,
    path: &Path,
) -> AppResult<(TextEncoding, bool)> {
    Ok(match (resume, given) {
        (Some(cp), _) => (
            TextEncoding::parse(&cp.encoding)
                .ok_or_else(|| changed_file(path, "断点文件中的编码无法识别"))?,
            false,
        ),
        (None, Some(e)) => (e, false),
        (None, None) => {
            let utf8 = crate::adapters::encodings::is_utf8(path)
                .map_err(|e| state::file_error(path, e))?;
            (
                if utf8 {
                    TextEncoding::Utf8
                } else {
                    TextEncoding::Gb18030
                },
                true,
            )
        }
    })
}

impl ImportPlan {
    /// Checks the options, the file and its header, detects the encoding, and finds a checkpoint
    /// of an unfinished import of the same file. A checkpoint of another file (different size or
    /// first 64 KiB), kind or source system is refused unless `restart`.
    pub fn prepare(opts: ImportOptions) -> AppResult<ImportPlan> {
        if !(1..=sync::MAX_BATCH).contains(&opts.batch) {
            return Err(AppError::invalid_with(
                "invalid_batch",
                Some("batch"),
                format!("--batch 应在1至{}之间", sync::MAX_BATCH),
            ));
        }
        let system = sync::source_system(&opts.source_system)?;
        let format = opts
            .format
            .or_else(|| ImportFormat::from_path(&opts.path))
            .ok_or_else(|| {
                AppError::invalid_with(
                    "unknown_format",
                    Some("format"),
                    "无法从扩展名判断文件格式，请用 --format csv 或 --format jsonl 指定",
                )
            })?;
        let path = opts.path.clone();
        let (file_size, head_sha256) = source::fingerprint(&path).map_err(|e| {
            AppError::invalid_with(
                "file_unreadable",
                None,
                format!("无法读取 {}：{e}", path.display()),
            )
        })?;
        let checkpoint_path = state::checkpoint_path(&path);
        let mut resume = state::load(&checkpoint_path)?;
        if opts.restart {
            state::remove(&checkpoint_path)?;
            resume = None;
        }
        if let Some(cp) = &resume {
            check_same_import(cp, &opts, &system, format, file_size, &head_sha256)?;
        }
        let (encoding, encoding_detected) = text_encoding(resume.as_ref(), opts.encoding, &path)?;
        // Reads the header now, so that a wrong file is refused before anything is written.
        let src = Source::open(&path, opts.kind, format, encoding, None)?;
        let ignored_columns = src.ignored_columns().to_vec();
        let rejects_path = opts
            .rejects
            .clone()
            .unwrap_or_else(|| state::default_rejects_path(&path));
        Ok(ImportPlan {
            opts: ImportOptions {
                source_system: system,
                ..opts
            },
            format,
            encoding,
            encoding_detected,
            file_size,
            head_sha256,
            checkpoint_path,
            rejects_path,
            resume,
            ignored_columns,
        })
    }

    /// The file's format.
    pub fn format(&self) -> ImportFormat {
        self.format
    }

    /// The file's encoding, and whether it was detected rather than given.
    pub fn encoding(&self) -> (TextEncoding, bool) {
        (self.encoding, self.encoding_detected)
    }

    /// The file's size in bytes.
    pub fn total_bytes(&self) -> u64 {
        self.file_size
    }

    /// When an unfinished import of this file goes on: the line it goes on from and the counts
    /// so far.
    pub fn resumes_after(&self) -> Option<(u64, ImportCounts)> {
        self.resume.as_ref().map(|c| {
            (
                c.line,
                ImportCounts {
                    rows: c.rows,
                    accepted: c.accepted,
                    rejected: c.rejected,
                    skipped: c.skipped,
                },
            )
        })
    }

    /// CSV headers that name no field (ignored).
    pub fn ignored_columns(&self) -> &[String] {
        &self.ignored_columns
    }

    /// Where refused rows are written.
    pub fn rejects_path(&self) -> &Path {
        &self.rejects_path
    }

    /// The checkpoint file.
    pub fn checkpoint_path(&self) -> &Path {
        &self.checkpoint_path
    }
}
