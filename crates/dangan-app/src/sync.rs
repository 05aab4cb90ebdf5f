//! 数据同步 (S6.6) — batches of contribution records (缴费明细) and benefit payments (待遇发放)
//! from the pension business system, upserted by their source ids. Every record is checked with
//! the same rules as a form; the valid ones are applied in one transaction and every rejected one
//! is reported with its index, field and reason — nothing is dropped silently. Sending the same
//! batch again changes nothing.

use chrono::{Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use dangan_domain::id_number::IdNumber;
use dangan_store::ledger::{self, BenefitPayment, Contribution};
use dangan_store::persons;

use crate::audit::{Op, Outcome};
use crate::roles::{Actor, UseCase};
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

fn reject(index: usize, source_id: &str, e: &AppError) -> Reject {
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

fn source_id(s: &str) -> AppResult<String> {
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

fn source_system(s: &str) -> AppResult<String> {
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

impl App {
    async fn person_of(
        &self,
        tx: &mut dangan_store::Tx,
        id_number: &str,
    ) -> AppResult<dangan_store::persons::PersonId> {
        let id =
            IdNumber::parse(id_number, today()).map_err(|e| AppError::invalid("id_number", &e))?;
        persons::find_by_id_number(tx, id.as_str())
            .await?
            .map(|p| p.id)
            .ok_or_else(|| {
                AppError::invalid_with(
                    "person_not_found",
                    Some("id_number"),
                    "未找到该参保人，请先同步参保登记",
                )
            })
    }

    fn check_batch<T>(&self, batch: &Batch<T>) -> AppResult<String> {
        if batch.records.len() > MAX_BATCH {
            return Err(AppError::invalid_with(
                "batch_too_large",
                Some("records"),
                format!("一批最多 {MAX_BATCH} 条记录"),
            ));
        }
        source_system(&batch.source_system)
    }

    /// Upserts a batch of contribution records; see the module text.
    pub async fn sync_contributions(
        &self,
        actor: &Actor,
        batch: &Batch<ContributionRecord>,
    ) -> AppResult<SyncReport> {
        self.authorize(actor, UseCase::SyncRecords).await?;
        let system = self.check_batch(batch)?;
        let now = Utc::now();
        let this_year = today().year();
        let mut tx = self.store.begin_write().await?;
        let mut report = SyncReport {
            accepted: 0,
            rejected: Vec::new(),
        };
        for (i, r) in batch.records.iter().enumerate() {
            let checked: AppResult<Contribution> = async {
                let source_id = source_id(&r.source_id)?;
                let person_id = self.person_of(&mut tx, &r.id_number).await?;
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
                    .filter(|d| *d <= today())
                    .ok_or_else(|| {
                        AppError::invalid_with(
                            "invalid_date",
                            Some("paid_on"),
                            "缴费日期应为不晚于今天的 YYYY-MM-DD",
                        )
                    })?;
                let channel = crate::text::required("channel", &r.channel, 20, "缴费渠道")?;
                Ok(Contribution {
                    person_id,
                    source_system: system.clone(),
                    source_id,
                    year: r.year,
                    tier: r.tier,
                    personal_fen: parse_yuan("personal", &r.personal)?,
                    subsidy_fen: r
                        .subsidy
                        .as_ref()
                        .map(|v| parse_yuan("subsidy", v))
                        .transpose()?
                        .unwrap_or(0),
                    collective_fen: r
                        .collective
                        .as_ref()
                        .map(|v| parse_yuan("collective", v))
                        .transpose()?
                        .unwrap_or(0),
                    paid_on,
                    channel,
                })
            }
            .await;
            match checked {
                Ok(c) => {
                    ledger::upsert_contribution(&mut tx, &c, now).await?;
                    report.accepted += 1;
                }
                Err(e) => report.rejected.push(reject(i, &r.source_id, &e)),
            }
        }
        let op = Op::new("sync.contributions", "source_system", &system).detail(format!(
            "{} accepted, {} rejected",
            report.accepted,
            report.rejected.len()
        ));
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Upserts a batch of benefit payments; see the module text.
    pub async fn sync_benefits(
        &self,
        actor: &Actor,
        batch: &Batch<BenefitRecord>,
    ) -> AppResult<SyncReport> {
        self.authorize(actor, UseCase::SyncRecords).await?;
        let system = self.check_batch(batch)?;
        let now = Utc::now();
        let mut tx = self.store.begin_write().await?;
        let mut report = SyncReport {
            accepted: 0,
            rejected: Vec::new(),
        };
        for (i, r) in batch.records.iter().enumerate() {
            let checked: AppResult<BenefitPayment> = async {
                let source_id = source_id(&r.source_id)?;
                let person_id = self.person_of(&mut tx, &r.id_number).await?;
                let month = r.month.trim();
                let valid_month = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
                    .is_ok_and(|d| d.year() >= 2009 && d <= today());
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
                    person_id,
                    source_system: system.clone(),
                    source_id,
                    month: month.to_owned(),
                    amount_fen: parse_yuan("amount", &r.amount)?,
                    status: r.status.clone(),
                })
            }
            .await;
            match checked {
                Ok(b) => {
                    ledger::upsert_benefit(&mut tx, &b, now).await?;
                    report.accepted += 1;
                }
                Err(e) => report.rejected.push(reject(i, &r.source_id, &e)),
            }
        }
        let op = Op::new("sync.benefits", "source_system", &system).detail(format!(
            "{} accepted, {} rejected",
            report.accepted,
            report.rejected.len()
        ));
        self.log_in(&mut tx, actor, &op, Outcome::Ok).await?;
        tx.commit().await?;
        Ok(report)
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
