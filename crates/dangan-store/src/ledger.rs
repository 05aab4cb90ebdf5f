//! 缴费明细 and 待遇发放 — contribution records and benefit payments of a person, upserted by the
//! source system's record id (S6.6, S8.1). Money is in fen (分).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::persons::PersonId;
use crate::{StoreResult, Tx, on_conn};

/// One contribution record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Contribution {
    /// The person.
    pub person_id: PersonId,
    /// The system the record comes from.
    pub source_system: String,
    /// Its id there.
    pub source_id: String,
    /// 缴费年度
    pub year: i32,
    /// 缴费档次 (yuan a year).
    pub tier: i64,
    /// 个人缴费, fen.
    pub personal_fen: i64,
    /// 政府补贴, fen.
    pub subsidy_fen: i64,
    /// 集体补助, fen.
    pub collective_fen: i64,
    /// 缴费日期
    pub paid_on: NaiveDate,
    /// 缴费渠道 (bank, tax, window, …).
    pub channel: String,
}

/// One benefit payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct BenefitPayment {
    /// The person.
    pub person_id: PersonId,
    /// The system the record comes from.
    pub source_system: String,
    /// Its id there.
    pub source_id: String,
    /// 发放月份 `YYYY-MM`.
    pub month: String,
    /// Amount, fen.
    pub amount_fen: i64,
    /// `paid`, `suspended` or `returned`.
    pub status: String,
}

/// Inserts or updates a contribution by its source id.
pub async fn upsert_contribution(
    tx: &mut Tx,
    c: &Contribution,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    on_conn!(tx, conn => {
        sqlx::query(
            "INSERT INTO contributions (person_id, source_system, source_id, year, tier, personal_fen, subsidy_fen, collective_fen, paid_on, channel, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (source_system, source_id) DO UPDATE SET person_id = $1, year = $4, tier = $5,
                 personal_fen = $6, subsidy_fen = $7, collective_fen = $8, paid_on = $9, channel = $10, updated_at = $11",
        )
        .bind(c.person_id)
        .bind(&c.source_system)
        .bind(&c.source_id)
        .bind(c.year)
        .bind(c.tier)
        .bind(c.personal_fen)
        .bind(c.subsidy_fen)
        .bind(c.collective_fen)
        .bind(c.paid_on)
        .bind(&c.channel)
        .bind(now)
        .execute(conn)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Inserts or updates a benefit payment by its source id.
pub async fn upsert_benefit(
    tx: &mut Tx,
    b: &BenefitPayment,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    on_conn!(tx, conn => {
        sqlx::query(
            "INSERT INTO benefit_payments (person_id, source_system, source_id, month, amount_fen, status, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (source_system, source_id) DO UPDATE SET person_id = $1, month = $4,
                 amount_fen = $5, status = $6, updated_at = $7",
        )
        .bind(b.person_id)
        .bind(&b.source_system)
        .bind(&b.source_id)
        .bind(&b.month)
        .bind(b.amount_fen)
        .bind(&b.status)
        .bind(now)
        .execute(conn)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// A person's contributions, by year then payment date.
pub async fn contributions(tx: &mut Tx, person: PersonId) -> StoreResult<Vec<Contribution>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as(
            "SELECT person_id, source_system, source_id, year, tier, personal_fen, subsidy_fen, collective_fen, paid_on, channel
             FROM contributions WHERE person_id = $1 ORDER BY year, paid_on, id",
        )
        .bind(person)
        .fetch_all(c)
        .await
    })?)
}

/// A person's benefit payments, by month.
pub async fn benefits(tx: &mut Tx, person: PersonId) -> StoreResult<Vec<BenefitPayment>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as(
            "SELECT person_id, source_system, source_id, month, amount_fen, status
             FROM benefit_payments WHERE person_id = $1 ORDER BY month, id",
        )
        .bind(person)
        .fetch_all(c)
        .await
    })?)
}
