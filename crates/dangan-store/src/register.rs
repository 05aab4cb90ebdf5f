//! 查询登记 — the query register (谁查询、谁登记, S2.4): who asked about which person's archive,
//! what and why, and which staff member opened it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::persons::{BRIEF_COLUMNS, PersonBrief, PersonId, StoredBrief};
use crate::users::UserId;
use crate::{StoreResult, Tx, id_type, on_conn};

id_type!(
    /// The row id of a query registration.
    QueryId
);

/// A registration to insert.
#[derive(Debug, Clone)]
pub struct NewQuery<'a> {
    /// The person whose archive is opened.
    pub person_id: PersonId,
    /// 查询人姓名
    pub enquirer_name: &'a str,
    /// The enquirer's identity number, masked.
    pub enquirer_id_masked: &'a str,
    /// HMAC-SHA256 of the enquirer's identity number under the agency's key (for search).
    pub enquirer_id_hmac: &'a str,
    /// 查询内容
    pub question: &'a str,
    /// 查询目的
    pub purpose: &'a str,
    /// The staff member.
    pub staff_user_id: UserId,
    /// The staff member's name.
    pub staff_name: &'a str,
}

/// A stored registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct QueryRow {
    /// Row id.
    pub id: QueryId,
    /// The person.
    pub person_id: PersonId,
    /// 查询人姓名
    pub enquirer_name: String,
    /// Masked identity number of the enquirer.
    pub enquirer_id_masked: String,
    /// Keyed hash of the enquirer's identity number (never shown).
    #[serde(skip)]
    pub enquirer_id_hmac: String,
    /// 查询内容
    pub question: String,
    /// 查询目的
    pub purpose: String,
    /// Staff member.
    pub staff_user_id: UserId,
    /// Staff member's name.
    pub staff_name: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, person_id, enquirer_name, enquirer_id_masked, enquirer_id_hmac, question, purpose, staff_user_id, staff_name, created_at";

/// Records a registration.
pub async fn insert(tx: &mut Tx, q: &NewQuery<'_>, now: DateTime<Utc>) -> StoreResult<QueryId> {
    let id = on_conn!(tx, c => {
        sqlx::query_scalar(
            "INSERT INTO query_register (person_id, enquirer_name, enquirer_id_masked, enquirer_id_hmac, question, purpose, staff_user_id, staff_name, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(q.person_id)
        .bind(q.enquirer_name)
        .bind(q.enquirer_id_masked)
        .bind(q.enquirer_id_hmac)
        .bind(q.question)
        .bind(q.purpose)
        .bind(q.staff_user_id)
        .bind(q.staff_name)
        .bind(now)
        .fetch_one(c)
        .await
    })?;
    Ok(QueryId(id))
}

/// Whether `staff` registered a query about `person` at or after `since`.
pub async fn has_open(
    tx: &mut Tx,
    staff: UserId,
    person: PersonId,
    since: DateTime<Utc>,
) -> StoreResult<bool> {
    let n: i64 = on_conn!(tx, c => {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM query_register WHERE staff_user_id = $1 AND person_id = $2 AND created_at >= $3",
        )
        .bind(staff)
        .bind(person)
        .bind(since)
        .fetch_one(c)
        .await
    })?;
    Ok(n > 0)
}

/// Search criteria of the register; absent fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct QueryFilter {
    /// The person asked about.
    pub person_id: Option<PersonId>,
    /// The enquirer, by keyed hash of the identity number.
    pub enquirer_id_hmac: Option<String>,
    /// Enquirer name prefix.
    pub enquirer_name: Option<String>,
    /// The staff member.
    pub staff_user_id: Option<UserId>,
    /// Persons asked about whose name starts so.
    pub person_name: Option<String>,
    /// This purpose exactly (查询目的, as entered).
    pub purpose: Option<String>,
    /// From (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// To (exclusive).
    pub to: Option<DateTime<Utc>>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// Registrations matching the filter, newest first, with the total count.
pub async fn search(tx: &mut Tx, f: &QueryFilter) -> StoreResult<(Vec<ListedQuery>, i64)> {
    enum B {
        I(i64),
        S(String),
        T(DateTime<Utc>),
    }
    let mut clauses = Vec::new();
    let mut binds = Vec::new();
    let mut add = |clause: &str, b: B| {
        binds.push(b);
        clauses.push(clause.replace('?', &format!("${}", binds.len())));
    };
    if let Some(p) = f.person_id {
        add("person_id = ?", B::I(p.0));
    }
    if let Some(h) = &f.enquirer_id_hmac {
        add("enquirer_id_hmac = ?", B::S(h.clone()));
    }
    if let Some(n) = &f.enquirer_name {
        let escaped: String = n
            .chars()
            .filter(|c| !matches!(c, '%' | '_' | '\\'))
            .collect();
        add("enquirer_name LIKE ?", B::S(format!("{escaped}%")));
    }
    if let Some(n) = &f.person_name {
        add(
            "person_id IN (SELECT id FROM persons WHERE name LIKE ?)",
            B::S(format!("{}%", without_wildcards(n))),
        );
    }
    if let Some(p) = &f.purpose {
        add("purpose = ?", B::S(p.clone()));
    }
    if let Some(s) = f.staff_user_id {
        add("staff_user_id = ?", B::I(s.0));
    }
    if let Some(t) = f.from {
        add("created_at >= ?", B::T(t));
    }
    if let Some(t) = f.to {
        add("created_at < ?", B::T(t));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let count_sql = format!("SELECT COUNT(*) FROM query_register {filter}");
    // The page first, then its persons joined (their names and sealed numbers).
    let page_sql = format!(
        "SELECT q.*, {BRIEF_COLUMNS} FROM (
             SELECT {COLUMNS} FROM query_register {filter} ORDER BY created_at DESC, id DESC LIMIT {} OFFSET {}
         ) q LEFT JOIN persons p ON p.id = q.person_id
         ORDER BY q.created_at DESC, q.id DESC",
        f.limit.clamp(1, 10_000),
        f.offset.max(0)
    );
    macro_rules! bind_all {
        ($q:expr) => {{
            let mut q = $q;
            for b in &binds {
                q = match b {
                    B::I(v) => q.bind(*v),
                    B::S(v) => q.bind(v.as_str()),
                    B::T(v) => q.bind(*v),
                };
            }
            q
        }};
    }
    let total: i64 = on_conn!(tx, c => {
        bind_all!(sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql))).fetch_one(&mut *c).await
    })?;
    let rows: Vec<StoredListed> = on_conn!(tx, c => {
        bind_all!(sqlx::query_as(sqlx::AssertSqlSafe(page_sql))).fetch_all(&mut *c).await
    })?;
    let listed = rows
        .into_iter()
        .map(|r| {
            Ok(ListedQuery {
                row: r.row,
                person: r.person.open(tx)?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok((listed, total))
}

/// A registration as listed, with the person asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedQuery {
    /// The registration.
    pub row: QueryRow,
    /// The person asked about (name and number).
    pub person: Option<PersonBrief>,
}

#[derive(sqlx::FromRow)]
struct StoredListed {
    #[sqlx(flatten)]
    row: QueryRow,
    #[sqlx(flatten)]
    person: StoredBrief,
}

/// One registration.
pub async fn get(tx: &mut Tx, id: QueryId) -> StoreResult<Option<QueryRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM query_register WHERE id = $1"
    ));
    Ok(on_conn!(tx, c => sqlx::query_as(sql).bind(id).fetch_optional(c).await)?)
}

/// A name prefix as typed, without the characters `LIKE` would read as wildcards.
fn without_wildcards(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '%' | '_' | '\\'))
        .collect()
}

/// The purposes (查询目的) entered so far, in their order, at most `limit`: the choices of the
/// register page's purpose filter.
pub async fn purposes(tx: &mut Tx, limit: i64) -> StoreResult<Vec<String>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_scalar("SELECT DISTINCT purpose FROM query_register ORDER BY purpose LIMIT $1")
            .bind(limit.clamp(1, 1000))
            .fetch_all(c)
            .await
    })?)
}
