//! 缴费与待遇 — a person's contribution records by year and benefit payments (S8.1), as the
//! insured person and staff see them. Records arrive from the pension business system (issue 7's
//! sync); reading them is a read of the person's archive, with the same access rule and log.

use serde::Serialize;

use dangan_store::ledger::{self, BenefitPayment, Contribution};
use dangan_store::persons::PersonId;

use crate::administration::roles::Actor;
use crate::security::audit::{Op, Outcome};
use crate::{App, AppResult};

/// One year of contributions.
#[derive(Debug, Clone, Serialize)]
pub struct ContributionYear {
    /// 缴费年度
    pub year: i32,
    /// 缴费档次 (yuan a year; the last record's).
    pub tier: i64,
    /// 个人缴费, yuan with two decimals.
    pub personal: String,
    /// 政府补贴.
    pub subsidy: String,
    /// 集体补助.
    pub collective: String,
    /// The records of the year.
    pub records: Vec<Contribution>,
}

/// A benefit payment as shown.
#[derive(Debug, Clone, Serialize)]
pub struct BenefitView {
    /// 发放月份
    pub month: String,
    /// Amount, yuan with two decimals.
    pub amount: String,
    /// 已发放 / 暂停 / 退回.
    pub status: String,
}

/// A person's contributions by year and benefit payments.
#[derive(Debug, Clone, Serialize)]
pub struct Ledger {
    /// By year, oldest first.
    pub years: Vec<ContributionYear>,
    /// By month, oldest first.
    pub benefits: Vec<BenefitView>,
}

/// Fen as yuan, `1234.50`.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let f = fen.unsigned_abs();
    format!("{sign}{}.{:02}", f / 100, f % 100)
}

fn status_label(s: &str) -> String {
    match s {
        "paid" => "已发放".to_owned(),
        "suspended" => "暂停".to_owned(),
        "returned" => "退回".to_owned(),
        other => other.to_owned(),
    }
}

fn shape(contributions: Vec<Contribution>, benefits: Vec<BenefitPayment>) -> Ledger {
    let mut years: Vec<ContributionYear> = Vec::new();
    for c in contributions {
        match years.last_mut().filter(|y| y.year == c.year) {
            Some(y) => y.records.push(c),
            None => years.push(ContributionYear {
                year: c.year,
                tier: 0,
                personal: String::new(),
                subsidy: String::new(),
                collective: String::new(),
                records: vec![c],
            }),
        }
    }
    for y in &mut years {
        y.tier = y.records.last().map_or(0, |r| r.tier);
        y.personal = yuan(y.records.iter().map(|r| r.personal_fen).sum());
        y.subsidy = yuan(y.records.iter().map(|r| r.subsidy_fen).sum());
        y.collective = yuan(y.records.iter().map(|r| r.collective_fen).sum());
    }
    Ledger {
        years,
        benefits: benefits
            .into_iter()
            .map(|b| BenefitView {
                month: b.month,
                amount: yuan(b.amount_fen),
                status: status_label(&b.status),
            })
            .collect(),
    }
}

impl App {
    /// A person's contributions and benefit payments (part of their archive: staff need a query
    /// registration, an insured person sees only their own).
    pub async fn person_ledger(&self, actor: &Actor, person: PersonId) -> AppResult<Ledger> {
        let op = Op::new("person.ledger.read", "person", person);
        let mut tx = self.begin_archive_read(actor, person, &op).await?;
        let c = ledger::contributions(&mut tx, person).await?;
        let b = ledger::benefits(&mut tx, person).await?;
        self.end_read(tx, actor, &op, Outcome::Ok).await?;
        Ok(shape(c, b))
    }

    /// The signed-in insured person's own contributions and benefit payments.
    pub async fn my_ledger(&self, actor: &Actor) -> AppResult<Ledger> {
        let p = App::own_person(actor)?;
        self.person_ledger(actor, p).await
    }
}

#[cfg(test)]
mod tests {
    use super::yuan;

    #[test]
    fn fen_are_shown_as_yuan_with_two_decimals() {
        assert_eq!(yuan(0), "0.00");
        assert_eq!(yuan(30_000), "300.00");
        assert_eq!(yuan(12_345), "123.45");
        assert_eq!(yuan(-5), "-0.05");
    }
}
