//! 批量迁移 (S6.6; issue 7 item 5) — bulk import of persons, business events, contribution
//! records and benefit payments from an agency's CSV or JSON Lines export (`dangan import`).
//!
//! - **Same rules as the API.** Each row is converted into the API's input type
//!   ([`PersonInput`](crate::access::persons::PersonInput), [`EventInput`](crate::intake::events::EventInput),
//!   [`ContributionRecord`](crate::integration::sync::ContributionRecord),
//!   [`BenefitRecord`](crate::integration::sync::BenefitRecord)) and checked by the
//!   use-case's own validation (`persons::validate`, `record_event`, [`sync::check_contribution`],
//!   [`sync::check_benefit`]).
//! - **Nothing dropped silently.** A refused row goes to the reject file with its line number,
//!   source id, field, code and Chinese reason; the report counts accepted, rejected and skipped
//!   rows (skipped: a person already registered with the same data, an event already recorded
//!   under its external id).
//! - **Batches.** Rows are applied in batches (default 5 000), each in one transaction with one
//!   operation-log entry (events: one `record_event` each, as through the API). Contributions
//!   and benefits take the bulk path: persons looked up for the whole batch through a cache, then
//!   multi-row upserts by (source system, source id).
//! - **Resumable.** After each committed batch a checkpoint (`FILE.import-state`) records the
//!   byte offset and line reached; a new run on the same file goes on from there. Every write is
//!   an upsert or idempotent, so a crash between a commit and its checkpoint duplicates nothing.
//! - **Overlapped.** A reader thread decodes, converts and checks rows (all but their person),
//!   this task finds the persons of the next batch on a read connection, and the current batch is
//!   written, all at once.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;

use dangan_store::ledger::{BenefitPayment, Contribution};
use dangan_store::persons::{self, SealedId};
use dangan_store::sealing::FieldCipher;

use crate::access::persons::{PersonInput, ValidPerson};
use crate::administration::roles::{Actor, UseCase};
use crate::intake::events::EventInput;
use crate::integration::sync::{self, Prechecked};
use crate::{App, AppError, AppResult, today};

mod apply;
mod columns;
mod plan;
mod source;
mod state;

use apply::{BatchOutcome, LogTarget, PersonCache, Work};
use columns::Input;
use source::{Position, Source};
use state::{Checkpoint, Rejects};

pub use plan::{ImportCounts, ImportOptions, ImportPlan};
pub use state::REJECT_HEADER;

/// The default number of rows a batch (one transaction, one checkpoint).
pub const DEFAULT_BATCH: usize = 5_000;

/// What an import file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    /// 参保人
    Persons,
    /// 业务事件 with their materials.
    Events,
    /// 缴费明细
    Contributions,
    /// 待遇发放
    Benefits,
}

impl ImportKind {
    /// The command-line word.
    pub fn code(self) -> &'static str {
        match self {
            ImportKind::Persons => "persons",
            ImportKind::Events => "events",
            ImportKind::Contributions => "contributions",
            ImportKind::Benefits => "benefits",
        }
    }

    /// The Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            ImportKind::Persons => "参保人",
            ImportKind::Events => "业务",
            ImportKind::Contributions => "缴费明细",
            ImportKind::Benefits => "待遇发放",
        }
    }

    fn use_case(self) -> UseCase {
        match self {
            ImportKind::Persons => UseCase::WritePersons,
            ImportKind::Events => UseCase::WriteEvents,
            ImportKind::Contributions | ImportKind::Benefits => UseCase::SyncRecords,
        }
    }
}

/// The file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    /// CSV with a header row.
    Csv,
    /// One JSON object a line, with the API's field names.
    Jsonl,
}

impl ImportFormat {
    /// `csv` or `jsonl`.
    pub fn code(self) -> &'static str {
        match self {
            ImportFormat::Csv => "csv",
            ImportFormat::Jsonl => "jsonl",
        }
    }

    /// The format a file name's extension says (`.csv`, `.txt`; `.jsonl`, `.ndjson`, `.json`).
    pub fn from_path(path: &Path) -> Option<ImportFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" | "txt" => Some(ImportFormat::Csv),
            "jsonl" | "ndjson" | "json" => Some(ImportFormat::Jsonl),
            _ => None,
        }
    }
}

/// A text encoding of an import file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8 (a BOM is stripped).
    Utf8,
    /// GB18030 (and so GBK and GB2312, its subsets), as Chinese Excel saves CSV.
    Gb18030,
}

impl TextEncoding {
    /// `utf-8` or `gb18030`.
    pub fn label(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "utf-8",
            TextEncoding::Gb18030 => "gb18030",
        }
    }

    fn parse(s: &str) -> Option<TextEncoding> {
        match s {
            "utf-8" => Some(TextEncoding::Utf8),
            "gb18030" => Some(TextEncoding::Gb18030),
            _ => None,
        }
    }
}

/// Where an import is, after each batch.
#[derive(Debug, Clone, Copy)]
pub struct ImportProgress {
    /// Bytes of the file behind us.
    pub bytes: u64,
    /// The file's size.
    pub total_bytes: u64,
    /// Counts so far, those of earlier runs of this import included.
    pub counts: ImportCounts,
    /// Rows read by this run.
    pub rows_this_run: u64,
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct ImportReport {
    /// Counts of the whole import (earlier runs included).
    pub counts: ImportCounts,
    /// Rows read by this run.
    pub rows_this_run: u64,
    /// Seconds this run took.
    pub seconds: f64,
    /// False when stopped by `stop_after_rows` (the checkpoint is left for the next run).
    pub finished: bool,
    /// The reject file, when a row was refused.
    pub rejects: Option<PathBuf>,
}

/// One row as the reader hands it over: converted and, for ledger records, checked in all but
/// its person; or why not.
#[derive(Debug)]
enum Prepared {
    Bad(AppError),
    /// The import cannot go on (not the row's fault).
    Fatal(AppError),
    Person(ReadyPerson),
    Event(EventInput),
    Contribution(Prechecked<Contribution>),
    Benefit(Prechecked<BenefitPayment>),
}

/// A person row validated and its identity number sealed on the reader thread.
struct ReadyPerson {
    valid: ValidPerson,
    id: SealedId,
}

impl std::fmt::Debug for ReadyPerson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the identity number.
        f.write_str("ReadyPerson(…)")
    }
}

#[derive(Debug)]
struct Row {
    line: u64,
    source_ref: String,
    input: Prepared,
}

/// A batch of rows and where the file stands after them.
#[derive(Debug)]
struct ReadBatch {
    rows: Vec<Row>,
    end: Position,
}

/// Reads the file on its own thread and sends converted, prechecked batches; ends when the file
/// ends, on the first read error, or when the receiver is gone.
fn spawn_reader(
    plan: &ImportPlan,
    from: Option<Position>,
    fields: Option<Arc<FieldCipher>>,
) -> tokio::sync::mpsc::Receiver<AppResult<ReadBatch>> {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let path = plan.opts.path.clone();
    let (kind, format, enc, batch) = (plan.opts.kind, plan.format, plan.encoding, plan.opts.batch);
    let system = plan.opts.source_system.clone();
    std::thread::spawn(move || {
        let mut src = match Source::open(&path, kind, format, enc, from) {
            Ok(s) => s,
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        };
        loop {
            let today = today();
            let mut rows = Vec::with_capacity(batch);
            while rows.len() < batch {
                match src.next_row() {
                    Ok(Some(raw)) => rows.push(prepare_row(raw, &system, today, fields.as_deref())),
                    Ok(None) => break,
                    Err(e) => {
                        let _ = tx.blocking_send(Err(state::file_error(&path, e)));
                        return;
                    }
                }
            }
            if rows.is_empty() {
                return;
            }
            let last = rows.len() < batch;
            let batch = ReadBatch {
                rows,
                end: src.position(),
            };
            if tx.blocking_send(Ok(batch)).is_err() || last {
                return;
            }
        }
    });
    rx
}

fn prepare_row(
    raw: source::RawRow,
    system: &str,
    today: NaiveDate,
    fields: Option<&FieldCipher>,
) -> Row {
    let (source_ref, input) = match raw.cells {
        Err(e) => (String::new(), Prepared::Bad(e)),
        Ok(cells) => {
            let source_ref = cells.source_ref();
            let input = match columns::convert(cells, system) {
                Err(e) => Prepared::Bad(e),
                Ok(Input::Person(p)) => ready_person(&p, today, fields),
                Ok(Input::Event(e)) => Prepared::Event(e),
                Ok(Input::Contribution(r)) => {
                    Prepared::Contribution(sync::precheck_contribution(&r, system, today))
                }
                Ok(Input::Benefit(r)) => {
                    Prepared::Benefit(sync::precheck_benefit(&r, system, today))
                }
            };
            (source_ref, input)
        }
    };
    Row {
        line: raw.line,
        source_ref,
        input,
    }
}

/// A person row validated (as through the API) and its identity number sealed.
fn ready_person(p: &PersonInput, today: NaiveDate, fields: Option<&FieldCipher>) -> Prepared {
    let valid = match crate::access::persons::validate(p, today) {
        Ok(v) => v,
        Err(e) => return Prepared::Bad(e),
    };
    let sealed = fields
        .ok_or_else(|| {
            dangan_store::StoreError::Unsupported(
                "no field cipher installed: personal data cannot be written".to_owned(),
            )
        })
        .and_then(|f| persons::seal_id(f, valid.id_number.as_str()));
    match sealed {
        Ok(id) => Prepared::Person(ReadyPerson { valid, id }),
        Err(e) => Prepared::Fatal(e.into()),
    }
}

/// A batch made ready to write, and what is already known of it.
#[derive(Debug)]
struct Staged {
    rows: u64,
    end: Position,
    span: String,
    work: Work,
    out: BatchOutcome,
}

impl App {
    /// Runs an import planned by [`ImportPlan::prepare`] to the end of the file (or to
    /// `stop_after_rows`), calling `progress` after every committed batch. The caller needs the
    /// use-case of the kind: registering persons, recording events, or receiving sync records.
    ///
    /// Three stages overlap: the reader thread converts and checks batch N+2, this task finds
    /// the persons of batch N+1 (on a read connection), and batch N is written.
    pub async fn import_file(
        &self,
        actor: &Actor,
        plan: ImportPlan,
        mut progress: impl FnMut(&ImportProgress),
    ) -> AppResult<ImportReport> {
        self.authorize(actor, plan.opts.kind.use_case()).await?;
        let started = Instant::now();
        let kind = plan.opts.kind;
        let system = plan.opts.source_system.clone();
        let file_name = file_name_of(&plan.opts.path);
        let mut rejects = Rejects::open(
            &plan.rejects_path,
            plan.resume.as_ref().map_or(0, |c| c.rejects_len),
        )?;
        let mut counts = plan.resumes_after().map(|(_, c)| c).unwrap_or_default();
        let mut rows_this_run = 0u64;
        let mut cache = PersonCache::default();
        let mut reader = spawn_reader(
            &plan,
            plan.resume.as_ref().map(Checkpoint::position),
            self.store.field_cipher(),
        );
        let mut next = self.stage_next(&mut reader, kind, &mut cache).await?;
        while let Some(current) = next.take() {
            let target = LogTarget {
                file: &file_name,
                span: &current.span,
                system: &system,
            };
            let (written, staged) = tokio::join!(
                self.write_batch(actor, current.work, current.out, target),
                self.stage_next(&mut reader, kind, &mut cache)
            );
            let out = written?;
            for (line, source_ref, e) in &out.rejects {
                rejects.push(*line, source_ref, e)?;
            }
            let rejects_len = rejects.flush()?;
            count_batch(&mut counts, current.rows, &out);
            rows_this_run += current.rows;
            if plan
                .opts
                .stop_after_rows
                .is_some_and(|s| rows_this_run >= s)
            {
                return Ok(ImportReport {
                    counts,
                    rows_this_run,
                    seconds: started.elapsed().as_secs_f64(),
                    finished: false,
                    rejects: None,
                });
            }
            let checkpoint = checkpoint_after(&plan, &counts, current.end, rejects_len);
            state::save(&plan.checkpoint_path, &checkpoint)?;
            progress(&ImportProgress {
                bytes: current.end.byte,
                total_bytes: plan.file_size,
                counts,
                rows_this_run,
            });
            next = staged?;
        }
        let rejects = finish_import(&plan, rejects, &counts)?;
        Ok(ImportReport {
            counts,
            rows_this_run,
            seconds: started.elapsed().as_secs_f64(),
            finished: true,
            rejects,
        })
    }

    /// Takes the next batch from the reader and stages it (its persons found, its work
    /// grouped); `None` at the end of the file.
    async fn stage_next(
        &self,
        reader: &mut tokio::sync::mpsc::Receiver<AppResult<ReadBatch>>,
        kind: ImportKind,
        cache: &mut PersonCache,
    ) -> AppResult<Option<Staged>> {
        let Some(batch) = reader.recv().await else {
            return Ok(None);
        };
        let batch = batch?;
        let rows = batch.rows.len() as u64;
        let span = match (batch.rows.first(), batch.rows.last()) {
            (Some(a), Some(b)) => format!("lines {}-{}", a.line, b.line),
            _ => String::new(),
        };
        let (work, out) = self.stage_batch(kind, batch.rows, cache).await?;
        Ok(Some(Staged {
            rows,
            end: batch.end,
            span,
            work,
            out,
        }))
    }
}

/// Adds a written batch of `rows` rows to the counts of the import.
fn count_batch(counts: &mut ImportCounts, rows: u64, out: &BatchOutcome) {
    counts.rows += rows;
    counts.accepted += out.accepted;
    counts.skipped += out.skipped;
    counts.rejected += out.rejects.len() as u64;
}

/// The checkpoint (断点) after a committed batch that ends at `end`.
fn checkpoint_after(
    plan: &ImportPlan,
    counts: &ImportCounts,
    end: Position,
    rejects_len: u64,
) -> Checkpoint {
    Checkpoint {
        version: 1,
        kind: plan.opts.kind.code().to_owned(),
        format: plan.format.code().to_owned(),
        encoding: plan.encoding.label().to_owned(),
        source_system: plan.opts.source_system.clone(),
        file_size: plan.file_size,
        head_sha256: plan.head_sha256.clone(),
        offset: end.byte,
        line: end.line,
        record: end.record,
        rows: counts.rows,
        accepted: counts.accepted,
        rejected: counts.rejected,
        skipped: counts.skipped,
        rejects_len,
    }
}

/// The file's name, for the operation log.
fn file_name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Ends an import that reached the end of its file: the checkpoint removed, and the reject
/// file kept (its path returned) only when a row was refused.
fn finish_import(
    plan: &ImportPlan,
    rejects: Rejects,
    counts: &ImportCounts,
) -> AppResult<Option<PathBuf>> {
    state::remove(&plan.checkpoint_path)?;
    drop(rejects);
    Ok(if counts.rejected == 0 {
        state::remove(&plan.rejects_path)?;
        None
    } else {
        Some(plan.rejects_path.clone())
    })
}
