//! 缴费明细 and 待遇发放 — contribution records and benefit payments of a person, upserted by the
//! source system's record id (S6.6, S8.1). Money is in fen (分).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::persons::PersonId;
use crate::{Backend, Conn, StoreResult, Tx, on_conn};

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

/// The rows to write: the last of several with one (source system, source id), in their order.
/// One `INSERT … ON CONFLICT DO UPDATE` may not touch a row twice on PostgreSQL, and the last
/// one sent is the one a row-by-row upsert would have kept.
fn last_per_source<T>(rows: &[T], key: impl Fn(&T) -> (&str, &str)) -> Vec<&T> {
    let mut last = std::collections::HashMap::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        last.insert(key(r), i);
    }
    if last.len() == rows.len() {
        return rows.iter().collect();
    }
    rows.iter()
        .enumerate()
        .filter(|(i, r)| last.get(&key(r)) == Some(i))
        .map(|(_, r)| r)
        .collect()
}

/// `INSERT INTO table (cols, updated_at) VALUES (…), (…) … ON CONFLICT (source_system, source_id)
/// DO UPDATE` for `rows` rows of `cols.len() + 1` parameters each.
fn multi_row_upsert(backend: Backend, table: &str, cols: &[&str], rows: usize) -> String {
    let per_row = cols.len() + 1;
    let mut sql = String::with_capacity(200);
    sql.push_str("INSERT INTO ");
    sql.push_str(table);
    sql.push_str(" (");
    for c in cols {
        sql.push_str(c);
        sql.push_str(", ");
    }
    sql.push_str("updated_at) VALUES ");
    crate::bulk::push_values(&mut sql, backend, per_row, rows);
    sql.push_str(" ON CONFLICT (source_system, source_id) DO UPDATE SET ");
    for c in cols
        .iter()
        .filter(|c| !matches!(**c, "source_system" | "source_id"))
    {
        sql.push_str(c);
        sql.push_str(" = excluded.");
        sql.push_str(c);
        sql.push_str(", ");
    }
    sql.push_str("updated_at = excluded.updated_at");
    sql
}

const CONTRIBUTION_COLUMNS: [&str; 10] = [
    "person_id",
    "source_system",
    "source_id",
    "year",
    "tier",
    "personal_fen",
    "subsidy_fen",
    "collective_fen",
    "paid_on",
    "channel",
];

const BENEFIT_COLUMNS: [&str; 6] = [
    "person_id",
    "source_system",
    "source_id",
    "month",
    "amount_fen",
    "status",
];

/// Inserts or updates many contributions by their source ids: multi-row statements as large as
/// the backend's bind limit allows, in the caller's transaction (the bulk path of `dangan
/// import` and of a sync batch). Of several rows with one source id the last wins, as it would
/// row by row. Returns the number of distinct rows written.
pub async fn upsert_contributions(
    tx: &mut Tx,
    rows: &[Contribution],
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let rows = last_per_source(rows, |c| (c.source_system.as_str(), c.source_id.as_str()));
    let backend = tx.backend();
    let per_statement = crate::bulk::max_binds(backend) / (CONTRIBUTION_COLUMNS.len() + 1);
    for chunk in rows.chunks(per_statement) {
        let sql = multi_row_upsert(backend, "contributions", &CONTRIBUTION_COLUMNS, chunk.len());
        on_conn!(tx, conn => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for c in chunk {
                q = q
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
                    .bind(now);
            }
            q.execute(conn).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(rows.len())
}

/// Inserts or updates many benefit payments by their source ids; as
/// [`upsert_contributions`].
pub async fn upsert_benefits(
    tx: &mut Tx,
    rows: &[BenefitPayment],
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let rows = last_per_source(rows, |b| (b.source_system.as_str(), b.source_id.as_str()));
    let backend = tx.backend();
    let per_statement = crate::bulk::max_binds(backend) / (BENEFIT_COLUMNS.len() + 1);
    for chunk in rows.chunks(per_statement) {
        let sql = multi_row_upsert(backend, "benefit_payments", &BENEFIT_COLUMNS, chunk.len());
        on_conn!(tx, conn => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for b in chunk {
                q = q
                    .bind(b.person_id)
                    .bind(&b.source_system)
                    .bind(&b.source_id)
                    .bind(&b.month)
                    .bind(b.amount_fen)
                    .bind(&b.status)
                    .bind(now);
            }
            q.execute(conn).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(rows.len())
}

/// The person ids of those identity numbers that are registered, in one query per few thousand
/// numbers (`= ANY($1)` on PostgreSQL, `IN (…)` on SQLite) on their blind index: how a batch of
/// ledger records finds its persons without a lookup per record. Numbers must be in their stored
/// (normalised) form.
pub async fn person_ids(tx: &mut Tx, id_numbers: &[&str]) -> StoreResult<Vec<(String, PersonId)>> {
    let fields = tx.fields()?;
    let by_index: std::collections::HashMap<String, &str> =
        id_numbers.iter().map(|n| (fields.index(n), *n)).collect();
    let indexes: Vec<&str> = by_index.keys().map(String::as_str).collect();
    let mut found: Vec<(String, PersonId)> = Vec::with_capacity(indexes.len());
    match &mut tx.conn {
        Conn::Postgres(t) => {
            let rows: Vec<(String, PersonId)> = sqlx::query_as(
                "SELECT id_number_hmac, id FROM persons WHERE id_number_hmac = ANY($1)",
            )
            .bind(&indexes)
            .fetch_all(&mut **t)
            .await?;
            found.extend(rows);
        }
        Conn::Sqlite(t) => {
            for chunk in indexes.chunks(crate::bulk::max_binds(crate::Backend::Sqlite)) {
                // Anonymous `?`: see `bulk::push_values`.
                let sql = format!(
                    "SELECT id_number_hmac, id FROM persons WHERE id_number_hmac IN ({})",
                    vec!["?"; chunk.len()].join(", ")
                );
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
                for n in chunk {
                    q = q.bind(*n);
                }
                let rows: Vec<(String, PersonId)> = q.fetch_all(&mut **t).await?;
                found.extend(rows);
            }
        }
    }
    Ok(found
        .into_iter()
        .filter_map(|(index, id)| by_index.get(&index).map(|n| ((*n).to_owned(), id)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::{last_per_source, multi_row_upsert};
    use crate::Backend;

    #[test]
    fn a_multi_row_upsert_updates_all_but_the_key_with_each_dialects_parameters() {
        let cols = ["person_id", "source_system", "source_id", "x"];
        let tail = " ON CONFLICT (source_system, source_id) DO UPDATE SET \
                    person_id = excluded.person_id, x = excluded.x, updated_at = excluded.updated_at";
        assert_eq!(
            multi_row_upsert(Backend::Postgres, "t", &cols, 2),
            format!(
                "INSERT INTO t (person_id, source_system, source_id, x, updated_at) VALUES \
                 ($1, $2, $3, $4, $5), ($6, $7, $8, $9, $10){tail}"
            )
        );
        assert_eq!(
            multi_row_upsert(Backend::Sqlite, "t", &cols, 2),
            format!(
                "INSERT INTO t (person_id, source_system, source_id, x, updated_at) VALUES \
                 (?, ?, ?, ?, ?), (?, ?, ?, ?, ?){tail}"
            )
        );
    }

    #[test]
    fn of_repeated_source_ids_only_the_last_is_written() {
        let rows = [("a", "1", 1), ("a", "2", 2), ("a", "1", 3), ("b", "1", 4)];
        let kept: Vec<i32> = last_per_source(&rows, |r| (r.0, r.1))
            .iter()
            .map(|r| r.2)
            .collect();
        assert_eq!(kept, [2, 3, 4]);
    }
}
