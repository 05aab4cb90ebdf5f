//! 参保人 — insured persons.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::{StoreResult, Tx, id_type, on_conn};

id_type!(
    /// The row id of an insured person.
    PersonId
);

/// A person to insert; every field already validated by the domain.
#[derive(Debug, Clone)]
pub struct NewPerson<'a> {
    /// 公民身份号码, 18 characters.
    pub id_number: &'a str,
    /// 姓名
    pub name: &'a str,
    /// `male` / `female`.
    pub sex: &'a str,
    /// 出生日期
    pub birth_date: NaiveDate,
    /// GB/T 2260 county-level code.
    pub division_code: &'a str,
    /// 参保状态 code.
    pub status: &'a str,
    /// 缴费档次 in yuan per year.
    pub tier: Option<i64>,
    /// 参保身份 code (`011` …).
    pub identity: &'a str,
}

/// A stored person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct PersonRow {
    /// Row id.
    pub id: PersonId,
    /// 公民身份号码 (never log this field).
    pub id_number: String,
    /// 姓名
    pub name: String,
    /// `male` / `female`.
    pub sex: String,
    /// 出生日期
    pub birth_date: NaiveDate,
    /// 行政区划代码
    pub division_code: String,
    /// 参保状态
    pub status: String,
    /// 缴费档次
    pub tier: Option<i64>,
    /// 参保身份
    pub identity: String,
    /// When the row was created.
    pub created_at: DateTime<Utc>,
    /// When the row last changed.
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, id_number, name, sex, birth_date, division_code, status, tier, identity, created_at, updated_at";

/// Inserts a person. A repeated identity number is `Conflict("persons_id_number_key")`.
pub async fn insert(tx: &mut Tx, p: &NewPerson<'_>, now: DateTime<Utc>) -> StoreResult<PersonId> {
    let id = on_conn!(tx, c => {
        sqlx::query_scalar(
            "INSERT INTO persons (id_number, name, sex, birth_date, division_code, status, tier, identity, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        )
        .bind(p.id_number)
        .bind(p.name)
        .bind(p.sex)
        .bind(p.birth_date)
        .bind(p.division_code)
        .bind(p.status)
        .bind(p.tier)
        .bind(p.identity)
        .bind(now)
        .fetch_one(c)
        .await
    })?;
    Ok(PersonId(id))
}

/// The person with this row id.
pub async fn get(tx: &mut Tx, id: PersonId) -> StoreResult<Option<PersonRow>> {
    let sql = const_format_select("WHERE id = $1");
    Ok(on_conn!(tx, c => sqlx::query_as(sql).bind(id).fetch_optional(c).await)?)
}

/// The person with this identity number.
pub async fn find_by_id_number(tx: &mut Tx, id_number: &str) -> StoreResult<Option<PersonRow>> {
    let sql = const_format_select("WHERE id_number = $1");
    Ok(on_conn!(tx, c => sqlx::query_as(sql).bind(id_number).fetch_optional(c).await)?)
}

fn const_format_select(filter: &'static str) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM persons {filter}"))
}

/// Search criteria; absent fields do not filter. Results are ordered by division code and
/// identity number (the archive's arrangement order, S5.1).
#[derive(Debug, Clone, Default)]
pub struct PersonFilter {
    /// Exact identity number.
    pub id_number: Option<String>,
    /// Name prefix (张 finds 张三 and 张三丰).
    pub name_prefix: Option<String>,
    /// Exact county-level division code.
    pub division_code: Option<String>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`.
fn like_prefix(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 1);
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

/// Persons matching the filter, one page, with the total number of matches.
pub async fn search(tx: &mut Tx, f: &PersonFilter) -> StoreResult<(Vec<PersonRow>, i64)> {
    let mut clauses = Vec::new();
    let mut binds: Vec<String> = Vec::new();
    if let Some(v) = &f.id_number {
        binds.push(v.clone());
        clauses.push(format!("id_number = ${}", binds.len()));
    }
    if let Some(v) = &f.name_prefix {
        binds.push(like_prefix(v));
        clauses.push(format!("name LIKE ${} ESCAPE '\\'", binds.len()));
    }
    if let Some(v) = &f.division_code {
        binds.push(v.clone());
        clauses.push(format!("division_code = ${}", binds.len()));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let count_sql = format!("SELECT COUNT(*) FROM persons {filter}");
    let page_sql = format!(
        "SELECT {COLUMNS} FROM persons {filter} ORDER BY division_code, id_number LIMIT {} OFFSET {}",
        f.limit.clamp(1, 500),
        f.offset.max(0)
    );
    let total: i64 = on_conn!(tx, c => {
        let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql));
        for b in &binds {
            q = q.bind(b);
        }
        q.fetch_one(&mut *c).await
    })?;
    let rows = on_conn!(tx, c => {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(page_sql));
        for b in &binds {
            q = q.bind(b);
        }
        q.fetch_all(&mut *c).await
    })?;
    Ok((rows, total))
}

/// How many persons are stored.
pub async fn count(tx: &mut Tx) -> StoreResult<i64> {
    Ok(on_conn!(tx, c => sqlx::query_scalar("SELECT COUNT(*) FROM persons").fetch_one(c).await)?)
}
