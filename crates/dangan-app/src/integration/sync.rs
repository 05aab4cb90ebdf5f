//! 数据同步 (S6.6) — batches of contribution records (缴费明细) and benefit payments (待遇发放)
//! from the pension business system, upserted by their source ids. Every record is checked with
//! the same rules as a form; the valid ones are applied in one transaction and every rejected one
//! is reported with its index, field and reason — nothing is dropped silently. Sending the same
//! batch again changes nothing.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use dangan_domain::id_number::IdNumber;
use dangan_store::ledger::{self, BenefitPayment, Contribution};
use dangan_store::persons::PersonId;

use crate::administration::roles::{Actor, UseCase};
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult, today};

/// The most records one batch may carry.
pub const MAX_BATCH: usize = 10_000;

/// One contribution record as sent. Amounts are yuan, as a number or a string with at most two
/// decimals (`300`, `"300.00"`).
#[derive(Debug, Clone, Deserialize)]
pub struct ContributionRecord {
    /// The record's id in the business system.
    pub source_id: String,
    /// The person's identity number.
    pub id_number: String,
    /// 缴费年度
    pub year: i32,
    /// 缴费档次, yuan a year.
    pub tier: i64,
    /// 个人缴费
    pub personal: Value,
    /// 政府补贴
    #[serde(default)]
    pub subsidy: Option<Value>,
    /// 集体补助
    #[serde(default)]
    pub collective: Option<Value>,
    /// 缴费日期 `YYYY-MM-DD`
    pub paid_on: String,
    /// 缴费渠道
    pub channel: String,
}

/// One benefit payment as sent.
#[derive(Debug, Clone, Deserialize)]
pub struct BenefitRecord {
    /// The record's id in the business system.
    pub source_id: String,
    /// The person's identity number.
    pub id_number: String,
    /// 发放月份 `YYYY-MM`
    pub month: String,
    /// 金额, yuan.
    pub amount: Value,
    /// `paid`, `suspended` or `returned`.
    pub status: String,
}

/// A batch.
#[derive(Debug, Clone, Deserialize)]
pub struct Batch<T> {
    /// The sending system, e.g. `pension`.
    pub source_system: String,
    /// The records.
    pub records: Vec<T>,
}

/// A record refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reject {
    /// Its position in the batch (from 0).
    pub index: usize,
    /// Its source id as sent.
    pub source_id: String,
    /// The field at fault.
    pub field: String,
    /// Stable code.
    pub code: String,
    /// Why, in Chinese.
    pub message: String,
}

/// What a batch did.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    /// Records applied (inserted or updated).
    pub accepted: usize,
    /// Records refused.
    pub rejected: Vec<Reject>,
}

/// The report line of a refused record.
pub(crate) fn reject(index: usize, source_id: &str, e: &AppError) -> Reject {
    Reject {
        index,
        source_id: source_id.to_owned(),
        field: e.field().unwrap_or_default().to_owned(),
        code: e.code().to_owned(),
        message: e.to_string(),
    }
}

/// Yuan (number or string, at most two decimals, not negative) as fen.
pub fn parse_yuan(field: &str, v: &Value) -> AppResult<i64> {
    let bad = || {
        AppError::invalid_with(
            "invalid_amount",
            Some(field),
            "金额应为不小于0、最多两位小数的数（元），如 300 或 \"300.00\"",
        )
    };
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_owned(),
        _ => return Err(bad()),
    };
    let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty()
        || whole.len() > 12
        || !whole.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 2
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let frac: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    Ok(whole * 100 + frac)
}

/// Checks a record's source id: 1 to 64 characters, no control characters.
pub(crate) fn source_id(s: &str) -> AppResult<String> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > 64 || t.chars().any(char::is_control) {
        return Err(AppError::invalid_with(
            "invalid_source_id",
            Some("source_id"),
            "source_id 不能为空，且不超过64个字符",
        ));
    }
    Ok(t.to_owned())
}

/// The sending system's name, checked: 1 to 32 letters, digits, `_` or `-`.
pub fn source_system(s: &str) -> AppResult<String> {
    let t = s.trim();
    if t.is_empty()
        || t.len() > 32
        || !t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(AppError::invalid_with(
            "invalid_source_system",
            Some("source_system"),
            "source_system 应为1至32个字母、数字、下划线或连字符",
        ));
    }
    Ok(t.to_owned())
}

/// The refusal of a record whose person is not registered.
pub(crate) fn person_not_found() -> AppError {
    AppError::invalid_with(
        "person_not_found",
        Some("id_number"),
        "未找到该参保人，请先同步参保登记",
    )
}

/// A record checked in everything but its person: what can be checked without the database, so
/// that `dangan import` checks rows on its reader thread and looks persons up for a whole batch.
/// [`Prechecked::with_person`] completes it with the same result as a full check.
#[derive(Debug)]
pub enum Prechecked<T> {
    /// Refused before its person is looked up (its source id or identity number).
    Refused(AppError),
    /// Its person still to find.
    Person {
        /// The normalised identity number.
        id_number: String,
        /// The outcome of the checks after the person (its `person_id` not yet set).
        rest: AppResult<T>,
    },
}

impl<T> Prechecked<T> {
    /// The normalised identity number to look up, if the record got that far.
    pub fn id_number(&self) -> Option<&str> {
        match self {
            Prechecked::Refused(_) => None,
            Prechecked::Person { id_number, .. } => Some(id_number),
        }
    }

    fn resolve(
        self,
        lookup: impl Fn(&str) -> Option<PersonId>,
        set: impl FnOnce(&mut T, PersonId),
    ) -> AppResult<T> {
        match self {
            Prechecked::Refused(e) => Err(e),
            Prechecked::Person { id_number, rest } => {
                // An unknown person is reported before any later field, as a clerk reads it.
                let person = lookup(&id_number).ok_or_else(person_not_found)?;
                let mut t = rest?;
                set(&mut t, person);
                Ok(t)
            }
        }
    }
}

impl Prechecked<Contribution> {
    /// Completes the check with the person of the identity number (`lookup` gives the person id
    /// of a normalised number, `None` when nobody has it).
    pub fn with_person(self, lookup: impl Fn(&str) -> Option<PersonId>) -> AppResult<Contribution> {
        self.resolve(lookup, |c, p| c.person_id = p)
    }
}

impl Prechecked<BenefitPayment> {
    /// Completes the check with the person of the identity number; as for contributions.
    pub fn with_person(
        self,
        lookup: impl Fn(&str) -> Option<PersonId>,
    ) -> AppResult<BenefitPayment> {
        self.resolve(lookup, |b, p| b.person_id = p)
    }
}

/// The source id and the identity number, the checks before the person.
fn precheck_keys(source: &str, id_number: &str, today: NaiveDate) -> AppResult<(String, String)> {
    let source_id = source_id(source)?;
    let id = IdNumber::parse(id_number, today).map_err(|e| AppError::invalid("id_number", &e))?;
    Ok((source_id, id.as_str().to_owned()))
}

/// A person id that no row has, in a record whose person is not yet looked up.
const UNRESOLVED: PersonId = PersonId(0);

/// Checks one contribution record with the rules of the form, in the order a clerk would read
/// it (source id, person, year, tier, date, channel, amounts: the first fault is reported).
/// `lookup` gives the person id of a normalised identity number, or `None` when nobody has it.
/// Used per record by [`App::sync_contributions`] and, in two halves, by `dangan import`.
pub fn check_contribution(
    r: &ContributionRecord,
    system: &str,
    today: NaiveDate,
    lookup: impl Fn(&str) -> Option<PersonId>,
) -> AppResult<Contribution> {
    precheck_contribution(r, system, today).with_person(lookup)
}

/// [`check_contribution`] without the person.
pub fn precheck_contribution(
    r: &ContributionRecord,
    system: &str,
    today: NaiveDate,
) -> Prechecked<Contribution> {
    let (source_id, id_number) = match precheck_keys(&r.source_id, &r.id_number, today) {
        Ok(k) => k,
        Err(e) => return Prechecked::Refused(e),
    };
    Prechecked::Person {
        id_number,
        rest: contribution_rest(r, system, source_id, today),
    }
}

fn contribution_rest(
    r: &ContributionRecord,
    system: &str,
    source_id: String,
    today: NaiveDate,
) -> AppResult<Contribution> {
    let this_year = today.year();
    if !(1990..=this_year + 1).contains(&r.year) {
        return Err(AppError::invalid_with(
            "invalid_year",
            Some("year"),
            format!("缴费年度应在1990至{}之间", this_year + 1),
        ));
    }
    if !(1..=100_000).contains(&r.tier) {
        return Err(AppError::invalid_with(
            "invalid_tier",
            Some("tier"),
            "缴费档次应为1至100000元",
        ));
    }
    let paid_on = NaiveDate::parse_from_str(r.paid_on.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| *d <= today)
        .ok_or_else(|| {
            AppError::invalid_with(
                "invalid_date",
                Some("paid_on"),
                "缴费日期应为不晚于今天的 YYYY-MM-DD",
            )
        })?;
    let channel = crate::text::required("channel", &r.channel, 20, "缴费渠道")?;
    let optional = |field: &str, v: &Option<Value>| {
        v.as_ref()
            .map(|v| parse_yuan(field, v))
            .transpose()
            .map(Option::unwrap_or_default)
    };
    Ok(Contribution {
        person_id: UNRESOLVED,
        source_system: system.to_owned(),
        source_id,
        year: r.year,
        tier: r.tier,
        personal_fen: parse_yuan("personal", &r.personal)?,
        subsidy_fen: optional("subsidy", &r.subsidy)?,
        collective_fen: optional("collective", &r.collective)?,
        paid_on,
        channel,
    })
}

/// Checks one benefit payment with the rules of the form; as [`check_contribution`].
pub fn check_benefit(
    r: &BenefitRecord,
    system: &str,
    today: NaiveDate,
    lookup: impl Fn(&str) -> Option<PersonId>,
) -> AppResult<BenefitPayment> {
    precheck_benefit(r, system, today).with_person(lookup)
}

/// [`check_benefit`] without the person.
pub fn precheck_benefit(
    r: &BenefitRecord,
    system: &str,
    today: NaiveDate,
) -> Prechecked<BenefitPayment> {
    let (source_id, id_number) = match precheck_keys(&r.source_id, &r.id_number, today) {
        Ok(k) => k,
        Err(e) => return Prechecked::Refused(e),
    };
    Prechecked::Person {
        id_number,
        rest: benefit_rest(r, system, source_id, today),
    }
}

fn benefit_rest(
    r: &BenefitRecord,
    system: &str,
    source_id: String,
    today: NaiveDate,
) -> AppResult<BenefitPayment> {
    let month = r.month.trim();
    let valid_month = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .is_ok_and(|d| d.year() >= 2009 && d <= today);
    if !valid_month || month.len() != 7 {
        return Err(AppError::invalid_with(
            "invalid_month",
            Some("month"),
            "发放月份应为不晚于本月的 YYYY-MM（2009年起）",
        ));
    }
    if !matches!(r.status.as_str(), "paid" | "suspended" | "returned") {
        return Err(AppError::invalid_with(
            "invalid_status",
            Some("status"),
            "状态应为 paid、suspended 或 returned",
        ));
    }
    Ok(BenefitPayment {
        person_id: UNRESOLVED,
        source_system: system.to_owned(),
        source_id,
        month: month.to_owned(),
        amount_fen: parse_yuan("amount", &r.amount)?,
        status: r.status.clone(),
    })
}

/// The person ids of the valid identity numbers among `id_numbers`, looked up together, keyed
/// by the normalised number.
pub(crate) async fn person_ids<'a>(
    tx: &mut dangan_store::Tx,
    id_numbers: impl Iterator<Item = &'a str>,
    today: NaiveDate,
) -> AppResult<HashMap<String, PersonId>> {
    let mut wanted: Vec<String> = id_numbers
        .filter_map(|n| IdNumber::parse(n, today).ok())
        .map(|id| id.as_str().to_owned())
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let refs: Vec<&str> = wanted.iter().map(String::as_str).collect();
    Ok(ledger::person_ids(tx, &refs).await?.into_iter().collect())
}

/// Checks a batch's own fields: its size and the sending system's name (returned checked).
pub(crate) fn check_batch(source_system_name: &str, records: usize) -> AppResult<String> {
    if records > MAX_BATCH {
        return Err(AppError::invalid_with(
            "batch_too_large",
            Some("records"),
            format!("一批最多 {MAX_BATCH} 条记录"),
        ));
    }
    source_system(source_system_name)
}

impl App {
    /// One sync batch: every record checked by `check` with the batch's persons looked up
    /// together, the valid ones written by `write` in one transaction with one log entry
    /// `action`, every refused one reported.
    async fn sync_batch<R, T>(
        &self,
        actor: &Actor,
        batch: &Batch<R>,
        action: &'static str,
        keys: impl Fn(&R) -> (&str, &str),
        check: impl Fn(&R, &str, NaiveDate, &dyn Fn(&str) -> Option<PersonId>) -> AppResult<T>,
        write: impl AsyncFnOnce(&mut dangan_store::Tx, &[T]) -> AppResult<()>,
    ) -> AppResult<SyncReport> {
        self.authorize(actor, UseCase::SyncRecords).await?;
        let system = check_batch(&batch.source_system, batch.records.len())?;
        let today = today();
        let mut tx = self.store.begin_write().await?;
        let ids = person_ids(&mut tx, batch.records.iter().map(|r| keys(r).1), today).await?;
        let lookup = |n: &str| ids.get(n).copied();
        let mut valid = Vec::with_capacity(batch.records.len());
        let mut rejected = Vec::new();
        for (i, r) in batch.records.iter().enumerate() {
            match check(r, &system, today, &lookup) {
                Ok(v) => valid.push(v),
                Err(e) => rejected.push(reject(i, keys(r).0, &e)),
            }
        }
        write(&mut tx, &valid).await?;
        let report = SyncReport {
            accepted: valid.len(),
            rejected,
        };
        let op = Op::new(action, "source_system", &system).detail(format!(
            "{} accepted, {} rejected",
            report.accepted,
            report.rejected.len()
        ));
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Upserts a batch of contribution records; see the module text.
    pub async fn sync_contributions(
        &self,
        actor: &Actor,
        batch: &Batch<ContributionRecord>,
    ) -> AppResult<SyncReport> {
        self.sync_batch(
            actor,
            batch,
            "sync.contributions",
            |r| (r.source_id.as_str(), r.id_number.as_str()),
            |r, system, today, lookup| check_contribution(r, system, today, lookup),
            async |tx, valid| {
                ledger::upsert_contributions(tx, &self.keyed_contributions(valid), Utc::now())
                    .await?;
                Ok(())
            },
        )
        .await
    }

    /// Upserts a batch of benefit payments; see the module text.
    pub async fn sync_benefits(
        &self,
        actor: &Actor,
        batch: &Batch<BenefitRecord>,
    ) -> AppResult<SyncReport> {
        self.sync_batch(
            actor,
            batch,
            "sync.benefits",
            |r| (r.source_id.as_str(), r.id_number.as_str()),
            |r, system, today, lookup| check_benefit(r, system, today, lookup),
            async |tx, valid| {
                ledger::upsert_benefits(tx, &self.keyed_benefits(valid), Utc::now()).await?;
                Ok(())
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::parse_yuan;
    use serde_json::json;

    #[test]
    fn amounts_in_yuan_become_fen_and_anything_else_is_refused() {
        assert_eq!(parse_yuan("a", &json!(300)).unwrap(), 30_000);
        assert_eq!(parse_yuan("a", &json!("300.5")).unwrap(), 30_050);
        assert_eq!(parse_yuan("a", &json!("0.05")).unwrap(), 5);
        assert_eq!(parse_yuan("a", &json!(12.34)).unwrap(), 1_234);
        for bad in [
            json!(-1),
            json!("1.234"),
            json!("abc"),
            json!(null),
            json!("1e3"),
            json!(""),
        ] {
            assert_eq!(
                parse_yuan("a", &bad).unwrap_err().code(),
                "invalid_amount",
                "{bad}"
            );
        }
    }
}
