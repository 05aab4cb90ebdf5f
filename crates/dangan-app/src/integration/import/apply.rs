//! Applying a batch of an import: staging (persons of ledger records found through a cache, on a
//! read connection) and writing (one transaction and one operation-log entry a batch; events one
//! by one through `record_event`).

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, Utc};

use dangan_store::Tx;
use dangan_store::ledger::{self, BenefitPayment, Contribution};
use dangan_store::persons::{self as person_store, NewPerson, PersonId, PersonRow, SealedId};

use super::{ImportKind, Prepared, ReadyPerson, Row};
use crate::administration::roles::Actor;
use crate::intake::events::EventInput;
use crate::integration::sync;
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult, today};

/// What a batch will write.
#[derive(Debug)]
pub(super) enum Work {
    Persons(Vec<(u64, String, ReadyPerson)>),
    Events(Vec<(u64, String, EventInput)>),
    Contributions(Vec<Contribution>),
    Benefits(Vec<BenefitPayment>),
}

/// What a batch did, or will have done once written.
#[derive(Debug, Default)]
pub(super) struct BatchOutcome {
    pub accepted: u64,
    pub skipped: u64,
    /// (line, source ref, why), in line order once written.
    pub rejects: Vec<(u64, String, AppError)>,
}

impl BatchOutcome {
    fn reject(&mut self, line: u64, source_ref: String, e: AppError) {
        self.rejects.push((line, source_ref, e));
    }
}

/// What a batch's log entry names: the file, its lines, the source system.
#[derive(Debug, Clone, Copy)]
pub(super) struct LogTarget<'a> {
    pub file: &'a str,
    pub span: &'a str,
    pub system: &'a str,
}

/// Person ids by normalised identity number, kept across batches (persons do not change during
/// an import of ledger records); cleared when it grows past half a million.
#[derive(Debug, Default)]
pub(super) struct PersonCache(HashMap<String, PersonId>);

impl PersonCache {
    const MAX: usize = 500_000;

    /// Looks up, in one query, the numbers not yet known.
    async fn fill<'a>(
        &mut self,
        tx: &mut Tx,
        id_numbers: impl Iterator<Item = &'a str>,
        today: NaiveDate,
    ) -> AppResult<()> {
        if self.0.len() > Self::MAX {
            self.0.clear();
        }
        let missing: Vec<&str> = id_numbers.filter(|n| !self.0.contains_key(*n)).collect();
        if !missing.is_empty() {
            let found = sync::person_ids(tx, missing.into_iter(), today).await?;
            self.0.extend(found);
        }
        Ok(())
    }

    fn get(&self, id_number: &str) -> Option<PersonId> {
        self.0.get(id_number).copied()
    }
}

/// Whether an error is the row's fault (rejected) rather than the system's (the import stops).
fn is_row_error(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Invalid { .. } | AppError::NotFound { .. } | AppError::Conflict { .. }
    )
}

/// The fields of a stored person that differ from a row, as (API name, Chinese label).
fn differences(stored: &PersonRow, row: &NewPerson<'_>) -> Vec<(&'static str, &'static str)> {
    let mut d = Vec::new();
    if stored.name != row.name {
        d.push(("name", "姓名"));
    }
    if stored.division_code != row.division_code {
        d.push(("division_code", "行政区划代码"));
    }
    if stored.status.code() != row.status {
        d.push(("status", "参保状态"));
    }
    if stored.tier != row.tier {
        d.push(("tier", "缴费档次"));
    }
    if stored.identity != row.identity {
        d.push(("identity", "参保身份"));
    }
    d
}

impl App {
    /// Sorts a batch's rows into refused ones and work; ledger records get their persons (from
    /// the cache, the unknown ones looked up in one query on a read connection) and so their
    /// final check.
    pub(super) async fn stage_batch(
        &self,
        kind: ImportKind,
        rows: Vec<Row>,
        cache: &mut PersonCache,
    ) -> AppResult<(Work, BatchOutcome)> {
        let mut out = BatchOutcome::default();
        let n = rows.len();
        if matches!(kind, ImportKind::Contributions | ImportKind::Benefits) {
            let mut tx = self.store.begin().await?;
            let id_numbers = rows.iter().filter_map(|r| match &r.input {
                Prepared::Contribution(c) => c.id_number(),
                Prepared::Benefit(b) => b.id_number(),
                _ => None,
            });
            cache.fill(&mut tx, id_numbers, today()).await?;
            tx.rollback().await?;
        }
        let lookup = |n: &str| cache.get(n);
        let mut work = match kind {
            ImportKind::Persons => Work::Persons(Vec::with_capacity(n)),
            ImportKind::Events => Work::Events(Vec::with_capacity(n)),
            ImportKind::Contributions => Work::Contributions(Vec::with_capacity(n)),
            ImportKind::Benefits => Work::Benefits(Vec::with_capacity(n)),
        };
        for Row {
            line,
            source_ref,
            input,
        } in rows
        {
            match (input, &mut work) {
                (Prepared::Bad(e), _) => out.reject(line, source_ref, e),
                (Prepared::Fatal(e), _) => return Err(e),
                (Prepared::Person(p), Work::Persons(w)) => w.push((line, source_ref, p)),
                (Prepared::Event(e), Work::Events(w)) => w.push((line, source_ref, e)),
                (Prepared::Contribution(c), Work::Contributions(w)) => {
                    match c.with_person(lookup) {
                        Ok(c) => w.push(c),
                        Err(e) => out.reject(line, source_ref, e),
                    }
                }
                (Prepared::Benefit(b), Work::Benefits(w)) => match b.with_person(lookup) {
                    Ok(b) => w.push(b),
                    Err(e) => out.reject(line, source_ref, e),
                },
                _ => unreachable!("rows are converted to the import's kind"),
            }
        }
        Ok((work, out))
    }

    /// Writes a staged batch; returns its outcome with the rejects in line order.
    pub(super) async fn write_batch(
        &self,
        actor: &Actor,
        work: Work,
        mut out: BatchOutcome,
        target: LogTarget<'_>,
    ) -> AppResult<BatchOutcome> {
        match work {
            Work::Persons(rows) => self.write_persons(actor, rows, target, &mut out).await?,
            Work::Events(rows) => self.write_events(actor, rows, &mut out).await?,
            Work::Contributions(rows) => {
                let mut tx = self.store.begin_write().await?;
                ledger::upsert_contributions(&mut tx, &self.keyed_contributions(&rows), Utc::now())
                    .await?;
                out.accepted += rows.len() as u64;
                self.log_ledger(&mut tx, actor, "import.contributions", target, &out)
                    .await?;
                tx.commit().await?;
            }
            Work::Benefits(rows) => {
                let mut tx = self.store.begin_write().await?;
                ledger::upsert_benefits(&mut tx, &self.keyed_benefits(&rows), Utc::now()).await?;
                out.accepted += rows.len() as u64;
                self.log_ledger(&mut tx, actor, "import.benefits", target, &out)
                    .await?;
                tx.commit().await?;
            }
        }
        out.rejects.sort_by_key(|r| r.0);
        Ok(out)
    }

    async fn log_ledger(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        action: &'static str,
        t: LogTarget<'_>,
        out: &BatchOutcome,
    ) -> AppResult<()> {
        let op = Op::new(action, "import_file", t.file).detail(format!(
            "{}, source_system {}: {} accepted, {} rejected",
            t.span,
            t.system,
            out.accepted,
            out.rejects.len()
        ));
        self.log_in(tx, actor, &op, Outcome::Ok).await
    }

    /// Persons of a batch in one transaction: new ones registered (multi-row inserts that skip
    /// numbers already registered), then those not inserted compared with what is stored: the
    /// same data is skipped, other data refused (nothing is changed). A number twice in a file
    /// is registered the first time and compared the second.
    async fn write_persons(
        &self,
        actor: &Actor,
        rows: Vec<(u64, String, ReadyPerson)>,
        t: LogTarget<'_>,
        out: &mut BatchOutcome,
    ) -> AppResult<()> {
        let now = Utc::now();
        let news: Vec<(&SealedId, NewPerson<'_>)> = rows
            .iter()
            .map(|(_, _, r)| (&r.id, r.valid.as_new()))
            .collect();
        let mut tx = self.store.begin_write().await?;
        let inserted = person_store::insert_missing(&mut tx, &news, now).await?;
        let mut claimed = HashSet::with_capacity(inserted.len());
        let mut compare = Vec::new();
        for (i, (id, _)) in news.iter().enumerate() {
            if !(inserted.contains(&id.index) && claimed.insert(id.index.as_str())) {
                compare.push(i);
            }
        }
        if !compare.is_empty() {
            let indexes: Vec<&str> = compare.iter().map(|&i| news[i].0.index.as_str()).collect();
            let stored = person_store::find_by_indexes(&mut tx, &indexes).await?;
            for &i in &compare {
                let (line, source_ref, _) = &rows[i];
                let (id, new) = &news[i];
                let Some(stored) = stored.get(&id.index) else {
                    // Neither inserted nor stored: a uniqueness other than the number's.
                    return Err(dangan_store::StoreError::Conflict("persons".to_owned()).into());
                };
                let diff = differences(stored, new);
                let Some((field, _)) = diff.first() else {
                    out.skipped += 1;
                    continue;
                };
                let labels: Vec<&str> = diff.iter().map(|d| d.1).collect();
                out.reject(
                    *line,
                    source_ref.clone(),
                    AppError::invalid_with(
                        "person_differs",
                        Some(field),
                        format!(
                            "该公民身份号码已登记，但{}与已登记的不一致，本行未导入；请核对，确需更正的请在系统中办理",
                            labels.join("、")
                        ),
                    ),
                );
            }
        }
        let registered = inserted.len();
        out.accepted += registered as u64;
        let op = Op::new("import.persons", "import_file", t.file).detail(format!(
            "{}: {registered} registered, {} skipped, {} rejected",
            t.span,
            out.skipped,
            out.rejects.len()
        ));
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Events one by one through [`App::record_event`] (its own transaction and log entry each,
    /// its collection task and supplement requests, as through the API); an external id already
    /// recorded is skipped.
    async fn write_events(
        &self,
        actor: &Actor,
        rows: Vec<(u64, String, EventInput)>,
        out: &mut BatchOutcome,
    ) -> AppResult<()> {
        for (line, source_ref, input) in rows {
            match self.record_event(actor, &input).await {
                Ok(r) if r.created => out.accepted += 1,
                Ok(_) => out.skipped += 1,
                Err(e) if is_row_error(&e) => out.reject(line, source_ref, e),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
