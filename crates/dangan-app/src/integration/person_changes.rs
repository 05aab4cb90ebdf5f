//! 人员变更 (S6.6) — the business system reports changes of a person's 参保状态, 缴费档次,
//! 行政区划 and deaths, each with its 生效日期. A change is kept by its source record id (a
//! repeated batch changes nothing) and the person's record shows, for each kind, the change with
//! the latest effective date that is already in force. A change dated in the future waits and is
//! applied on its day (`serve` applies due changes daily). A change older than one already in
//! force is kept in the history but does not overwrite the newer one, and the answer says so; a
//! status change after a recorded death is refused. Nothing is dropped silently.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use dangan_domain::change::{self, ChangeError, ChangeKind, FieldValue, Precedence};
use dangan_domain::id_number::IdNumber;
use dangan_store::Tx;
use dangan_store::corrections::update_person_field;
use dangan_store::person_changes::{self, ChangeRow, NewChange};
use dangan_store::persons::PersonId;

use crate::administration::roles::{Actor, UseCase};
use crate::integration::sync::{
    Reject, check_batch, person_ids, person_not_found, reject, source_id as check_source_id,
};
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult, today};

/// One change as sent.
#[derive(Debug, Clone, Deserialize)]
pub struct PersonChangeRecord {
    /// The record's id in the business system.
    pub source_id: String,
    /// The person's identity number.
    pub id_number: String,
    /// `status` (参保状态), `tier` (缴费档次), `division` (行政区划) or `death` (死亡).
    pub kind: String,
    /// The new value: a status code or label, yuan a year, a six-digit county code; not needed
    /// for a death.
    #[serde(default)]
    pub value: Option<Value>,
    /// 生效日期 `YYYY-MM-DD` (for a death, the date of death).
    pub effective_date: String,
}

/// A batch of changes.
#[derive(Debug, Clone, Deserialize)]
pub struct PersonChangeBatch {
    /// The sending system, e.g. `pension`.
    pub source_system: String,
    /// The changes.
    pub records: Vec<PersonChangeRecord>,
}

/// What a batch of changes did.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeReport {
    /// Changes kept (new, corrected or already known).
    pub accepted: usize,
    /// Of those, changes whose effective date lies in the future: applied on their day.
    pub pending: usize,
    /// Changes refused, with the reason.
    pub rejected: Vec<Reject>,
    /// Changes kept in the history that did not alter the record, because a change with a
    /// later effective date is already in force.
    pub superseded: Vec<Reject>,
}

/// A change as shown.
#[derive(Debug, Clone, Serialize)]
pub struct PersonChangeView {
    /// The sending system.
    pub source_system: String,
    /// The record's id there.
    pub source_id: String,
    /// `status`, `tier`, `division` or `death`.
    pub kind: ChangeKind,
    /// The kind in Chinese.
    pub kind_label: String,
    /// The value.
    pub value: String,
    /// 生效日期
    pub effective_date: NaiveDate,
    /// When the record was brought up to date with it (none while its date lies ahead; a
    /// superseded change is marked too, though a later one decides the field).
    pub applied_at: Option<chrono::DateTime<Utc>>,
}

fn value_text(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) => Some(s.trim().to_owned()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// The field of the API a change's rejection is about.
fn change_error(e: &ChangeError) -> AppError {
    let field = match e {
        ChangeError::MissingValue(_) | ChangeError::Value(_) => "value",
        ChangeError::NotADate(_) | ChangeError::DateOutOfRange(_) | ChangeError::AfterDeath(_) => {
            "effective_date"
        }
    };
    AppError::invalid(field, e)
}

fn parse_kind(s: &str) -> AppResult<ChangeKind> {
    ChangeKind::parse(s).ok_or_else(|| {
        AppError::invalid_with(
            "invalid_change_kind",
            Some("kind"),
            format!(
                "变更类型“{}”无效：应为 status、tier、division 或 death",
                s.trim().chars().take(40).collect::<String>()
            ),
        )
    })
}

/// Sets the person's field of `kind`'s group to the change in force today, if there is one.
async fn apply_in_force(
    tx: &mut Tx,
    person: PersonId,
    group: &[ChangeKind],
    today: NaiveDate,
) -> AppResult<()> {
    let now = Utc::now();
    let Some(row) = person_changes::in_force(tx, person, group, today).await? else {
        return Ok(());
    };
    let value = row
        .kind
        .value(Some(&row.value))
        .map_err(|e| AppError::Internal(format!("stored change {}: {e}", row.id)))?;
    update_person_field(tx, person, &value, now).await?;
    person_changes::mark_applied(tx, person, group, today, now).await?;
    Ok(())
}

fn change_view(r: ChangeRow) -> PersonChangeView {
    PersonChangeView {
        kind_label: r.kind.label().to_owned(),
        source_system: r.source_system,
        source_id: r.source_id,
        kind: r.kind,
        value: r.value,
        effective_date: r.effective_date,
        applied_at: r.applied_at,
    }
}

/// A change checked in everything the database is not needed for, with its person.
struct Checked {
    source_id: String,
    kind: ChangeKind,
    value: FieldValue,
    date: NaiveDate,
    person: PersonId,
}

/// What became of one change of a batch.
enum Fate {
    /// Kept; applied now, or on its day when `pending`.
    Accepted { pending: bool },
    /// Kept in the history, but a later change decides the field.
    Superseded(AppError),
    /// Refused.
    Rejected(AppError),
}

/// Keeps one checked change and brings the person's record up to date when it is in force:
/// a repeat changes nothing, a status after a recorded death is refused, a change older than
/// the one in force is kept but superseded (生效日期优先).
async fn record_change(
    tx: &mut Tx,
    system: &str,
    c: &Checked,
    today: NaiveDate,
) -> AppResult<Fate> {
    let value = c.value.text();
    if let Some(known) = person_changes::by_source(tx, system, &c.source_id).await?
        && known.person_id == c.person
        && known.kind == c.kind
        && known.value == value
        && known.effective_date == c.date
    {
        return Ok(Fate::Accepted {
            pending: c.date > today,
        });
    }
    if c.kind == ChangeKind::Status {
        // Any recorded death, whatever its date (a date SQLite compares as text).
        let ever = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(today);
        let death = person_changes::in_force(tx, c.person, &[ChangeKind::Death], ever)
            .await?
            .filter(|d| d.source_id != c.source_id || d.source_system != system)
            .map(|d| d.effective_date);
        if let Err(e) = change::check_after_death(c.kind, &c.value, c.date, death) {
            return Ok(Fate::Rejected(change_error(&e)));
        }
    }
    let latest = person_changes::in_force(tx, c.person, c.kind.group(), today)
        .await?
        .map(|n| n.effective_date);
    let change = NewChange {
        person_id: c.person,
        source_system: system,
        source_id: &c.source_id,
        kind: c.kind,
        value: &value,
        effective_date: c.date,
    };
    person_changes::upsert(tx, &change, Utc::now()).await?;
    let fate = match change::precedence(c.date, today, latest) {
        Precedence::Pending => return Ok(Fate::Accepted { pending: true }),
        Precedence::Superseded { by } => Fate::Superseded(AppError::Conflict {
            code: "superseded_by_later_change",
            field: Some("effective_date".to_owned()),
            message: format!(
                "已有生效日期更晚（{by}）的{}变更，本条已记入变更历史，但不改变当前信息",
                c.kind.label()
            ),
        }),
        Precedence::InForce => Fate::Accepted { pending: false },
    };
    apply_in_force(tx, c.person, c.kind.group(), today).await?;
    Ok(fate)
}

impl App {
    /// Applies a batch of person changes from the business system (scope `sync:write`).
    pub async fn sync_person_changes(
        &self,
        actor: &Actor,
        batch: &PersonChangeBatch,
    ) -> AppResult<ChangeReport> {
        self.authorize(actor, UseCase::SyncRecords).await?;
        let system = check_batch(&batch.source_system, batch.records.len())?;
        let today = today();
        let mut report = ChangeReport {
            accepted: 0,
            pending: 0,
            rejected: Vec::new(),
            superseded: Vec::new(),
        };
        let mut tx = self.store.begin_write().await?;
        let numbers = batch.records.iter().map(|r| r.id_number.as_str());
        let ids = person_ids(&mut tx, numbers, today).await?;
        for (index, r) in batch.records.iter().enumerate() {
            let c = match self.check_change(r, &ids, today) {
                Ok(c) => c,
                Err(e) => {
                    report.rejected.push(reject(index, &r.source_id, &e));
                    continue;
                }
            };
            match record_change(&mut tx, &system, &c, today).await? {
                Fate::Accepted { pending } => {
                    report.accepted += 1;
                    report.pending += usize::from(pending);
                }
                Fate::Superseded(e) => {
                    report.accepted += 1;
                    report.superseded.push(reject(index, &c.source_id, &e));
                }
                Fate::Rejected(e) => report.rejected.push(reject(index, &c.source_id, &e)),
            }
        }
        let op = Op::new("sync.person_changes", "source_system", &system).detail(format!(
            "{} accepted, {} pending, {} superseded, {} rejected",
            report.accepted,
            report.pending,
            report.superseded.len(),
            report.rejected.len()
        ));
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Checks one change: its source id, kind, value, date and person.
    fn check_change(
        &self,
        r: &PersonChangeRecord,
        ids: &HashMap<String, PersonId>,
        today: NaiveDate,
    ) -> AppResult<Checked> {
        let source_id = self.stored_source_key(&check_source_id(&r.source_id)?);
        let kind = parse_kind(&r.kind)?;
        let value = kind
            .value(value_text(r.value.as_ref()).as_deref())
            .map_err(|e| change_error(&e))?;
        let date =
            change::effective_date(&r.effective_date, today).map_err(|e| change_error(&e))?;
        let number =
            IdNumber::parse(&r.id_number, today).map_err(|e| AppError::invalid("id_number", &e))?;
        let person = ids
            .get(number.as_str())
            .copied()
            .ok_or_else(person_not_found)?;
        Ok(Checked {
            source_id,
            kind,
            value,
            date,
            person,
        })
    }

    /// Applies the person changes whose effective date has come (run daily by `serve`).
    /// Returns how many (person, kind) fields were updated.
    pub async fn apply_due_person_changes(&self, actor: &Actor) -> AppResult<usize> {
        self.authorize(actor, UseCase::SyncRecords).await?;
        let today = today();
        let mut applied = 0;
        loop {
            let mut tx = self.store.begin_write().await?;
            let due = person_changes::due(&mut tx, today, 500).await?;
            if due.is_empty() {
                tx.rollback().await?;
                break;
            }
            for (person, kind) in &due {
                let group = kind.0.group();
                apply_in_force(&mut tx, *person, group, today).await?;
                person_changes::mark_applied(&mut tx, *person, group, today, Utc::now()).await?;
                applied += 1;
            }
            let op = Op::new("sync.person_changes.apply", "persons", due.len())
                .detail(format!("{} fields brought up to date", due.len()));
            self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
            tx.commit().await?;
        }
        Ok(applied)
    }

    /// A person's changes as reported by the business system, newest first (part of the
    /// person's archive: staff need a query registration).
    pub async fn person_changes(
        &self,
        actor: &Actor,
        person: PersonId,
    ) -> AppResult<Vec<PersonChangeView>> {
        let op = Op::new("person.changes.read", "person", person);
        let mut tx = self.begin_archive_read(actor, person, &op).await?;
        let rows = person_changes::of_person(&mut tx, person).await?;
        self.end_read(tx, actor, &op, Outcome::Ok).await?;
        Ok(rows.into_iter().map(change_view).collect())
    }
}
