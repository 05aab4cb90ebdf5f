//! The two files an import writes beside its input: the checkpoint (`FILE.import-state`, JSON,
//! replaced atomically after every committed batch) and the reject file (CSV in UTF-8 with a BOM,
//! so that Excel opens it in Chinese).

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::source::Position;
use crate::AppError;

/// What an unfinished import had done when it last committed a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    /// Format version of this file.
    pub version: u32,
    /// `persons`, `events`, `contributions` or `benefits`.
    pub kind: String,
    /// `csv` or `jsonl`.
    pub format: String,
    /// `utf-8` or `gb18030` (as detected at the start).
    pub encoding: String,
    /// The source system the rows are keyed under.
    pub source_system: String,
    /// The input's size in bytes.
    pub file_size: u64,
    /// SHA-256 of its first 64 KiB, hex.
    pub head_sha256: String,
    /// Byte offset of the first row not yet committed.
    pub offset: u64,
    /// Line number where the first row not yet committed starts.
    pub line: u64,
    /// CSV records read (header included).
    pub record: u64,
    /// Data rows read so far.
    pub rows: u64,
    /// Rows written.
    pub accepted: u64,
    /// Rows refused.
    pub rejected: u64,
    /// Rows already there.
    pub skipped: u64,
    /// The reject file's length after the last committed batch.
    pub rejects_len: u64,
}

impl Checkpoint {
    /// Where to go on.
    pub(crate) fn position(&self) -> Position {
        Position {
            byte: self.offset,
            line: self.line,
            record: self.record,
        }
    }
}

/// `FILE.import-state`.
pub(crate) fn checkpoint_path(input: &Path) -> PathBuf {
    with_suffix(input, ".import-state")
}

/// `FILE.rejects.csv`.
pub(crate) fn default_rejects_path(input: &Path) -> PathBuf {
    with_suffix(input, ".rejects.csv")
}

fn with_suffix(input: &Path, suffix: &str) -> PathBuf {
    let mut s = input.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

pub(crate) fn file_error(path: &Path, e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("{}: {e}", path.display()))
}

/// Reads a checkpoint, `None` when there is none.
pub(crate) fn load(path: &Path) -> Result<Option<Checkpoint>, AppError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            AppError::invalid_with(
                "import_state_unreadable",
                None,
                format!(
                    "断点文件 {} 无法读取（{e}）；如需从头导入请加 --restart",
                    path.display()
                ),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(file_error(path, e)),
    }
}

/// Writes a checkpoint: a temporary file beside it, synced, then renamed over it, so that a
/// crash leaves the old or the new checkpoint, never half of one.
pub(crate) fn save(path: &Path, c: &Checkpoint) -> Result<(), AppError> {
    let tmp = with_suffix(path, ".tmp");
    let write = || -> io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(c).map_err(io::Error::other)?)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| file_error(path, e))
}

/// Removes a checkpoint (the import finished, or starts again).
pub(crate) fn remove(path: &Path) -> Result<(), AppError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(file_error(path, e)),
        _ => Ok(()),
    }
}

/// The columns of the reject file.
pub const REJECT_HEADER: [&str; 5] = ["行号", "来源编号", "字段", "代码", "原因"];

/// The reject file, open for appending.
pub(crate) struct Rejects {
    path: PathBuf,
    w: csv::Writer<File>,
    /// Rows written since the last flush.
    dirty: bool,
}

impl std::fmt::Debug for Rejects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rejects").field("path", &self.path).finish()
    }
}

impl Rejects {
    /// Opens the reject file cut back to `len` bytes (what the last checkpoint had; 0 for a new
    /// import), so that a batch done again after a crash is not listed twice.
    pub(crate) fn open(path: &Path, len: u64) -> Result<Rejects, AppError> {
        let open = || -> io::Result<csv::Writer<File>> {
            let mut f = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(path)?;
            f.set_len(len)?;
            f.seek(SeekFrom::Start(len))?;
            if len == 0 {
                f.write_all(b"\xEF\xBB\xBF")?;
            }
            let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(f);
            if len == 0 {
                w.write_record(REJECT_HEADER)?;
            }
            Ok(w)
        };
        Ok(Rejects {
            path: path.to_owned(),
            w: open().map_err(|e| file_error(path, e))?,
            dirty: true,
        })
    }

    /// Appends one rejected row.
    pub(crate) fn push(
        &mut self,
        line: u64,
        source_ref: &str,
        e: &AppError,
    ) -> Result<(), AppError> {
        self.dirty = true;
        self.w
            .write_record([
                line.to_string().as_str(),
                source_ref,
                e.field().unwrap_or_default(),
                e.code(),
                &e.to_string(),
            ])
            .map_err(|e| file_error(&self.path, e))
    }

    /// Writes out what is buffered and returns the file's length.
    pub(crate) fn flush(&mut self) -> Result<u64, AppError> {
        self.w.flush().map_err(|e| file_error(&self.path, e))?;
        let mut f: &File = self.w.get_ref();
        if std::mem::take(&mut self.dirty) {
            // The checkpoint written next records this length: it must be on disk first.
            f.sync_data().map_err(|e| file_error(&self.path, e))?;
        }
        f.stream_position().map_err(|e| file_error(&self.path, e))
    }
}
