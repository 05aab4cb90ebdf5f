//! 人员变更 (S6.6) — the business system reports changes of a person's 参保状态, 缴费档次,
//! 行政区划 and deaths, each with its 生效日期. A change is kept by its source record id (a
//! repeated batch changes nothing) and the person's record shows, for each kind, the change with
//! the latest effective date that is already in force. A change dated in the future waits and is
//! applied on its day (`serve` applies due changes daily). A change older than one already in
//! force is kept in the history but does not overwrite the newer one, and the answer says so; a
//! status change after a recorded death is refused. Nothing is dropped silently.

use chrono::{Datelike, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use dangan_domain::division::DivisionCode;
use dangan_domain::id_number::IdNumber;
use dangan_domain::person::{ContributionTier, InsuranceStatus};
use dangan_store::Tx;
use dangan_store::corrections::{PersonField, update_person_field};
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
    pub kind: String,
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

/// The kinds of change and the person field each one sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Status,
    Tier,
    Division,
    Death,
}

impl Kind {
    fn parse(s: &str) -> AppResult<Kind> {
        match s.trim() {
            "status" | "参保状态" => Ok(Kind::Status),
            "tier" | "缴费档次" => Ok(Kind::Tier),
            "division" | "行政区划" => Ok(Kind::Division),
            "death" | "死亡" => Ok(Kind::Death),
            other => Err(AppError::invalid_with(
                "invalid_change_kind",
                Some("kind"),
                format!("变更类型“{other}”无效：应为 status、tier、division 或 death"),
            )),
        }
    }

    fn code(self) -> &'static str {
        match self {
            Kind::Status => "status",
            Kind::Tier => "tier",
            Kind::Division => "division",
            Kind::Death => "death",
        }
    }

    /// The kinds that decide the same field: a death ends the insurance like a status change.
    fn group(self) -> &'static [&'static str] {
        match self {
            Kind::Status | Kind::Death => &["status", "death"],
            Kind::Tier => &["tier"],
            Kind::Division => &["division"],
        }
    }
}

fn kind_label(code: &str) -> &'static str {
    match code {
        "status" => "参保状态",
        "tier" => "缴费档次",
        "division" => "行政区划",
        "death" => "死亡",
        _ => "其他",
    }
}

fn value_text(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) => Some(s.trim().to_owned()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// Checks a change's value for its kind and returns it normalised.
fn check_value(kind: Kind, v: Option<&Value>) -> AppResult<String> {
    let missing = |what: &str| {
        AppError::invalid_with(
            "invalid_change_value",
            Some("value"),
            format!("变更值无效：应为{what}"),
        )
    };
    match kind {
        Kind::Death => Ok(InsuranceStatus::Terminated.code().to_owned()),
        Kind::Status => {
            let t = value_text(v)
                .ok_or_else(|| missing("参保状态（active、suspended 或 terminated）"))?;
            InsuranceStatus::parse(&t)
                .map(|s| s.code().to_owned())
                .map_err(|e| AppError::invalid("value", &e))
        }
        Kind::Tier => {
            let yuan = value_text(v)
                .and_then(|t| t.parse::<i64>().ok())
                .ok_or_else(|| missing("缴费档次（元/年，整数）"))?;
            ContributionTier::new(yuan)
                .map(|t| t.yuan().to_string())
                .map_err(|e| AppError::invalid("value", &e))
        }
        Kind::Division => {
            let t = value_text(v).ok_or_else(|| missing("六位县级行政区划代码"))?;
            DivisionCode::parse(&t)
                .map(|d| d.as_str().to_owned())
                .map_err(|e| AppError::invalid("value", &e))
        }
    }
}

fn check_date(s: &str, today: NaiveDate) -> AppResult<NaiveDate> {
    let bad = |msg: String| AppError::invalid_with("invalid_date", Some("effective_date"), msg);
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| bad(format!("生效日期“{}”无效，格式应为YYYY-MM-DD", s.trim())))?;
    let latest = today.checked_add_days(Days::new(5 * 366)).unwrap_or(today);
    if d.year() < 1950 || d > latest {
        return Err(bad(format!(
            "生效日期{d}超出范围：应在1950年至今后五年之内"
        )));
    }
    Ok(d)
}

/// Sets the person's field of `kind`'s group to the change in force today, if there is one.
async fn apply_in_force(
    tx: &mut Tx,
    person: PersonId,
    group: &[&str],
    today: NaiveDate,
) -> AppResult<()> {
    let now = Utc::now();
    let Some(row) = person_changes::in_force(tx, person, group, today).await? else {
        return Ok(());
    };
    let field = match row.kind.as_str() {
        "status" | "death" => PersonField::Status(&row.value),
        "division" => PersonField::Division(&row.value),
        _ => PersonField::Tier(row.value.parse::<i64>().ok()),
    };
    update_person_field(tx, person, field, now).await?;
    person_changes::mark_applied(tx, person, group, today, now).await?;
    Ok(())
}

fn change_view(r: ChangeRow) -> PersonChangeView {
    PersonChangeView {
        kind_label: kind_label(&r.kind).to_owned(),
        source_system: r.source_system,
        source_id: r.source_id,
        kind: r.kind,
        value: r.value,
        effective_date: r.effective_date,
        applied_at: r.applied_at,
    }
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
        let ids = person_ids(
            &mut tx,
            batch.records.iter().map(|r| r.id_number.as_str()),
            today,
        )
        .await?;
        for (index, r) in batch.records.iter().enumerate() {
            let checked = (|| {
                let source_id = self.stored_source_key(&check_source_id(&r.source_id)?);
                let kind = Kind::parse(&r.kind)?;
                let value = check_value(kind, r.value.as_ref())?;
                let date = check_date(&r.effective_date, today)?;
                let number = IdNumber::parse(&r.id_number, today)
                    .map_err(|e| AppError::invalid("id_number", &e))?;
                let person = ids
                    .get(number.as_str())
                    .copied()
                    .ok_or_else(person_not_found)?;
                Ok::<_, AppError>((source_id, kind, value, date, person))
            })();
            let (source_id, kind, value, date, person) = match checked {
                Ok(c) => c,
                Err(e) => {
                    report.rejected.push(reject(index, &r.source_id, &e));
                    continue;
                }
            };
            if let Some(known) = person_changes::by_source(&mut tx, &system, &source_id).await?
                && known.person_id == person
                && known.kind == kind.code()
                && known.value == value
                && known.effective_date == date
            {
                report.accepted += 1;
                if date > today {
                    report.pending += 1;
                }
                continue;
            }
            if kind == Kind::Status && value != InsuranceStatus::Terminated.code() {
                // Any recorded death, whatever its date (a date SQLite compares as text).
                let ever = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(today);
                let death = person_changes::in_force(&mut tx, person, &["death"], ever)
                    .await?
                    .filter(|d| d.source_id != source_id || d.source_system != system);
                if let Some(d) = death
                    && d.effective_date <= date
                {
                    let e = AppError::invalid_with(
                        "after_death",
                        Some("effective_date"),
                        format!("该参保人已于{}死亡，不能再变更参保状态", d.effective_date),
                    );
                    report.rejected.push(reject(index, &source_id, &e));
                    continue;
                }
            }
            let newer = person_changes::in_force(&mut tx, person, kind.group(), today)
                .await?
                .filter(|n| n.effective_date > date);
            person_changes::upsert(
                &mut tx,
                &NewChange {
                    person_id: person,
                    source_system: &system,
                    source_id: &source_id,
                    kind: kind.code(),
                    value: &value,
                    effective_date: date,
                },
                Utc::now(),
            )
            .await?;
            report.accepted += 1;
            if date > today {
                report.pending += 1;
                continue;
            }
            if let Some(n) = newer {
                let e = AppError::Conflict {
                    code: "superseded_by_later_change",
                    field: Some("effective_date".to_owned()),
                    message: format!(
                        "已有生效日期更晚（{}）的{}变更，本条已记入变更历史，但不改变当前信息",
                        n.effective_date,
                        kind_label(kind.code())
                    ),
                };
                report.superseded.push(reject(index, &source_id, &e));
            }
            apply_in_force(&mut tx, person, kind.group(), today).await?;
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
                let group = Kind::parse(kind).map_or(&[][..], Kind::group);
                // A kind this version does not know is marked as seen, so the loop ends.
                let group = if group.is_empty() {
                    &[kind.as_str()][..]
                } else {
                    group
                };
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
