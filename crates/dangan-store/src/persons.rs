//! 参保人 — insured persons.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use dangan_domain::Rejection;
use dangan_domain::id_number::IdNumber;
use dangan_domain::person::InsuranceStatus;

use crate::sealing::FieldCipher;
use crate::{Backend, StoreError, StoreResult, Tx, id_type, on_conn};

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

/// A stored person, its identity number opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonRow {
    /// Row id.
    pub id: PersonId,
    /// 公民身份号码 (masks itself in logs and `Debug`).
    pub id_number: IdNumber,
    /// 姓名
    pub name: String,
    /// `male` / `female`.
    pub sex: String,
    /// 出生日期
    pub birth_date: NaiveDate,
    /// 行政区划代码
    pub division_code: String,
    /// 参保状态
    pub status: InsuranceStatus,
    /// 缴费档次
    pub tier: Option<i64>,
    /// 参保身份
    pub identity: String,
    /// When the row was created.
    pub created_at: DateTime<Utc>,
    /// When the row last changed.
    pub updated_at: DateTime<Utc>,
}

/// A person as stored: the identity number sealed, with its blind index.
#[derive(sqlx::FromRow)]
struct StoredPerson {
    id: PersonId,
    id_number_enc: String,
    id_number_hmac: Option<String>,
    name: String,
    sex: String,
    birth_date: NaiveDate,
    division_code: String,
    status: String,
    tier: Option<i64>,
    identity: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// The label of the sealed identity number (bound to the row's blind index).
const ID_NUMBER_LABEL: &str = "persons.id_number";

/// An identity number as stored: (blind index, sealed number). The seal is bound to the index,
/// so an index changed or moved to another row no longer opens the number.
fn seal_id_number(fields: &FieldCipher, id_number: &str) -> StoreResult<(String, String)> {
    let index = fields.index(id_number);
    let sealed = fields.seal(ID_NUMBER_LABEL, &index, id_number)?;
    Ok((index, sealed))
}

/// Opens a stored identity number: `Corrupt` when the row has no blind index yet (an older
/// version's plain row) or the seal does not open under it.
pub fn open_id_number(
    fields: &FieldCipher,
    person: PersonId,
    index: Option<&str>,
    sealed: &str,
) -> StoreResult<String> {
    let index = index.ok_or_else(|| StoreError::Corrupt {
        table: "persons",
        reason: format!("person {person} is not sealed yet (an older version's row)"),
    })?;
    fields.open("persons", ID_NUMBER_LABEL, index, sealed)
}

/// Who a row of a work list (task, supplement, handover line) is about, read by a join beside
/// the list's own rows: the name and the identity number, opened from its seal (it masks
/// itself in `Display` and `Debug`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonBrief {
    /// Row id.
    pub id: PersonId,
    /// 姓名
    pub name: String,
    /// 公民身份号码
    pub id_number: IdNumber,
}

/// The columns a list selects from `persons` joined as `p` for a [`PersonBrief`].
pub const BRIEF_COLUMNS: &str = "p.id AS brief_id, p.name AS brief_name, p.id_number_enc AS brief_enc, p.id_number_hmac AS brief_hmac";

/// The [`BRIEF_COLUMNS`] of a row as read: all absent when the row has no person.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct StoredBrief {
    brief_id: Option<PersonId>,
    brief_name: Option<String>,
    brief_enc: Option<String>,
    brief_hmac: Option<String>,
}

impl StoredBrief {
    /// Opens the identity number with the transaction's field cipher; `None` when the row has
    /// no person.
    pub fn open(self, tx: &Tx) -> StoreResult<Option<PersonBrief>> {
        let (Some(id), Some(name), Some(enc)) = (self.brief_id, self.brief_name, self.brief_enc)
        else {
            return Ok(None);
        };
        let number = open_id_number(tx.fields()?, id, self.brief_hmac.as_deref(), &enc)?;
        // The rejection's code only: its text may quote digits of the number.
        let id_number = IdNumber::from_stored(&number).map_err(|e| StoreError::Corrupt {
            table: "persons",
            reason: format!("person {id}: {}", e.code()),
        })?;
        Ok(Some(PersonBrief {
            id,
            name,
            id_number,
        }))
    }
}

impl StoredPerson {
    fn open(self, fields: &FieldCipher) -> StoreResult<PersonRow> {
        let id_number = open_id_number(
            fields,
            self.id,
            self.id_number_hmac.as_deref(),
            &self.id_number_enc,
        )?;
        let corrupt = |reason: String| StoreError::Corrupt {
            table: "persons",
            reason: format!("person {}: {reason}", self.id),
        };
        // The rejection's code only: its text may quote digits of the number.
        let id_number =
            IdNumber::from_stored(&id_number).map_err(|e| corrupt(e.code().to_owned()))?;
        let status = InsuranceStatus::parse(&self.status).map_err(|e| corrupt(e.to_string()))?;
        Ok(PersonRow {
            id: self.id,
            id_number,
            name: self.name,
            sex: self.sex,
            birth_date: self.birth_date,
            division_code: self.division_code,
            status,
            tier: self.tier,
            identity: self.identity,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn open_all(tx: &Tx, rows: Vec<StoredPerson>) -> StoreResult<Vec<PersonRow>> {
    let fields = tx.fields()?;
    rows.into_iter().map(|r| r.open(fields)).collect()
}

const COLUMNS: &str = "id, id_number_enc, id_number_hmac, name, sex, birth_date, division_code, status, tier, identity, created_at, updated_at";

/// Inserts a person, its identity number sealed. A repeated identity number is
/// `Conflict("persons_id_number_key")`.
pub async fn insert(tx: &mut Tx, p: &NewPerson<'_>, now: DateTime<Utc>) -> StoreResult<PersonId> {
    let (index, sealed) = seal_id_number(tx.fields()?, p.id_number)?;
    let id = on_conn!(tx, c => {
        sqlx::query_scalar(
            "INSERT INTO persons (id_number_enc, id_number_hmac, name, sex, birth_date, division_code, status, tier, identity, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
        )
        .bind(&sealed)
        .bind(&index)
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
    })
    .map_err(|e| match StoreError::from(e) {
        StoreError::Conflict(name) if name == "persons_id_number_hmac_key" => {
            StoreError::Conflict("persons_id_number_key".to_owned())
        }
        other => other,
    })?;
    Ok(PersonId(id))
}

/// An identity number sealed ahead of its insert (by [`seal_id`]), so that the sealing can run
/// apart from the transaction, e.g. on an import's reader thread.
#[derive(Debug, Clone)]
pub struct SealedId {
    /// The blind index (the unique key).
    pub index: String,
    sealed: String,
}

impl SealedId {
    /// The sealed number as stored.
    pub fn sealed_text(&self) -> &str {
        &self.sealed
    }
}

/// Seals an identity number under the current field key.
pub fn seal_id(fields: &FieldCipher, id_number: &str) -> StoreResult<SealedId> {
    let (index, sealed) = seal_id_number(fields, id_number)?;
    Ok(SealedId { index, sealed })
}

/// The columns [`insert_missing`] writes, `created_at` and `updated_at` included.
const INSERT_COLUMNS: [&str; 11] = [
    "id_number_enc",
    "id_number_hmac",
    "name",
    "sex",
    "birth_date",
    "division_code",
    "status",
    "tier",
    "identity",
    "created_at",
    "updated_at",
];

/// Inserts those of `rows` whose identity number is not registered yet, in multi-row
/// statements (`ON CONFLICT (id_number_hmac) DO NOTHING`); returns the blind indexes of the rows
/// inserted. A number twice in `rows` is inserted once, the first time.
pub async fn insert_missing(
    tx: &mut Tx,
    rows: &[(&SealedId, NewPerson<'_>)],
    now: DateTime<Utc>,
) -> StoreResult<std::collections::HashSet<String>> {
    let backend = tx.backend();
    let per_statement = crate::bulk::max_binds(backend) / INSERT_COLUMNS.len();
    let mut inserted = std::collections::HashSet::with_capacity(rows.len());
    for chunk in rows.chunks(per_statement) {
        let mut sql = format!(
            "INSERT INTO persons ({}) VALUES ",
            INSERT_COLUMNS.join(", ")
        );
        crate::bulk::push_values(&mut sql, backend, INSERT_COLUMNS.len(), chunk.len());
        sql.push_str(" ON CONFLICT (id_number_hmac) DO NOTHING RETURNING id_number_hmac");
        let got: Vec<String> = on_conn!(tx, c => {
            let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
            for (id, p) in chunk {
                q = q
                    .bind(&id.sealed)
                    .bind(&id.index)
                    .bind(p.name)
                    .bind(p.sex)
                    .bind(p.birth_date)
                    .bind(p.division_code)
                    .bind(p.status)
                    .bind(p.tier)
                    .bind(p.identity)
                    .bind(now)
                    .bind(now);
            }
            q.fetch_all(&mut *c).await
        })?;
        inserted.extend(got);
    }
    Ok(inserted)
}

/// The persons with these blind indexes, by blind index (`= ANY($1)` on PostgreSQL, `IN (…)` in
/// chunks on SQLite).
pub async fn find_by_indexes(
    tx: &mut Tx,
    indexes: &[&str],
) -> StoreResult<std::collections::HashMap<String, PersonRow>> {
    let mut stored: Vec<StoredPerson> = Vec::with_capacity(indexes.len());
    match &mut tx.conn {
        crate::Conn::Postgres(t) => {
            let sql = const_format_select("WHERE id_number_hmac = ANY($1)");
            let rows: Vec<StoredPerson> = sqlx::query_as(sql)
                .bind(indexes)
                .fetch_all(&mut **t)
                .await?;
            stored.extend(rows);
        }
        crate::Conn::Sqlite(t) => {
            for chunk in indexes.chunks(crate::bulk::max_binds(Backend::Sqlite)) {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM persons WHERE id_number_hmac IN ({})",
                    vec!["?"; chunk.len()].join(", ")
                ));
                let mut q = sqlx::query_as(sql);
                for i in chunk {
                    q = q.bind(*i);
                }
                let rows: Vec<StoredPerson> = q.fetch_all(&mut **t).await?;
                stored.extend(rows);
            }
        }
    }
    let fields = tx.fields()?;
    stored
        .into_iter()
        .map(|r| {
            let index = r.id_number_hmac.clone().unwrap_or_default();
            Ok((index, r.open(fields)?))
        })
        .collect()
}

/// The person with this row id.
pub async fn get(tx: &mut Tx, id: PersonId) -> StoreResult<Option<PersonRow>> {
    let sql = const_format_select("WHERE id = $1");
    let row: Option<StoredPerson> =
        on_conn!(tx, c => sqlx::query_as(sql).bind(id).fetch_optional(c).await)?;
    let fields = tx.fields()?;
    row.map(|r| r.open(fields)).transpose()
}

/// The person with this identity number (found by its blind index).
pub async fn find_by_id_number(tx: &mut Tx, id_number: &str) -> StoreResult<Option<PersonRow>> {
    let index = tx.fields()?.index(id_number);
    let sql = const_format_select("WHERE id_number_hmac = $1");
    let row: Option<StoredPerson> =
        on_conn!(tx, c => sqlx::query_as(sql).bind(&index).fetch_optional(c).await)?;
    let fields = tx.fields()?;
    row.map(|r| r.open(fields)).transpose()
}

fn const_format_select(filter: &'static str) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM persons {filter}"))
}

/// Search criteria; absent fields do not filter. Results are ordered by division code, birth
/// date and registration: the identity number's own order within a division as far as it can be
/// followed without reading the sealed number (volumes, which open every number, still arrange
/// by the full number, S5.1).
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

/// The smallest text greater than every text that starts with `prefix`: its last character
/// moved to the next one (`None` for an empty prefix or one ending in the last character).
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    let last = chars.pop()?;
    let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32)?;
    chars.push(next);
    Some(chars.into_iter().collect())
}

/// The `WHERE` clause of a search and its bound values. A name prefix is a range in byte order
/// (`name >= p AND name < p'`; `COLLATE "C"` on PostgreSQL, SQLite's `BINARY` is byte order), which
/// the name index answers and which treats `%` and `_` in the prefix literally; SQLite's `LIKE`
/// is case-insensitive and could not use the index.
fn filter_clause(
    backend: Backend,
    fields: Option<&FieldCipher>,
    f: &PersonFilter,
) -> StoreResult<(String, Vec<String>)> {
    let mut clauses = Vec::new();
    let mut binds: Vec<String> = Vec::new();
    if let Some(v) = &f.id_number {
        let fields = fields.ok_or_else(|| {
            StoreError::Unsupported(
                "no field cipher installed: personal data cannot be searched".to_owned(),
            )
        })?;
        binds.push(fields.index(v));
        clauses.push(format!("id_number_hmac = ${}", binds.len()));
    }
    if let Some(v) = &f.name_prefix {
        let name = name_in_byte_order(backend);
        binds.push(v.clone());
        clauses.push(format!("{name} >= ${}", binds.len()));
        // A prefix ending in the last character has no end: the range stays open.
        if let Some(end) = prefix_end(v) {
            binds.push(end);
            clauses.push(format!("{name} < ${}", binds.len()));
        }
    }
    if let Some(v) = &f.division_code {
        binds.push(v.clone());
        // Beside a name, SQLite must walk the name index (the page's order), not the division
        // index: one county's division holds every person of a county agency, and without
        // statistics SQLite would take the equality for the better choice. The unary `+` keeps
        // the column out of index selection; PostgreSQL weighs both by its statistics.
        let column = if backend == Backend::Sqlite && f.name_prefix.is_some() {
            "+division_code"
        } else {
            "division_code"
        };
        clauses.push(format!("{column} = ${}", binds.len()));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    Ok((filter, binds))
}

/// The name column in the order of its index: bytes (code points), as both backends index it.
fn name_in_byte_order(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "name",
        Backend::Postgres => "(name COLLATE \"C\")",
    }
}

/// How far past the end of a page a search counts its matches: a broad name or division
/// search (王 at a million persons matches tens of thousands) stops counting there and says
/// "more than" instead of reading every match.
pub const COUNT_AHEAD: i64 = 1_000;

/// One page of a search and how many matches there are.
#[derive(Debug)]
pub struct Found {
    /// The page.
    pub rows: Vec<PersonRow>,
    /// Matches in all pages, or, when `more`, how many were counted (the page's end plus
    /// [`COUNT_AHEAD`]).
    pub total: i64,
    /// There are more matches than `total`: counting stopped.
    pub more: bool,
}

/// Persons matching the filter, one page, with the number of matches counted up to
/// [`COUNT_AHEAD`] past the page. A search by name lists in name order, which the name index
/// gives without reading the other matches; the others list by division, birth date and
/// registration (the division index).
pub async fn search(tx: &mut Tx, f: &PersonFilter) -> StoreResult<Found> {
    let backend = tx.backend();
    let (filter, binds) = filter_clause(backend, tx.fields.as_deref(), f)?;
    let limit = f.limit.clamp(1, 500);
    let offset = f.offset.max(0);
    let counted = offset + limit + COUNT_AHEAD;
    let order = if f.name_prefix.is_some() {
        format!("{}, id", name_in_byte_order(backend))
    } else {
        "division_code, birth_date, id".to_owned()
    };
    // In the page's order, so that the count walks the same index and stops at its limit:
    // without it PostgreSQL builds a bitmap of every match first (12 ms for 张 at a million).
    let count_sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM persons {filter} ORDER BY {order} LIMIT {}) AS m",
        counted + 1
    );
    let page_sql = format!(
        "SELECT {COLUMNS} FROM persons {filter} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
    );
    let rows: Vec<StoredPerson> = on_conn!(tx, c => {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(page_sql));
        for b in &binds {
            q = q.bind(b);
        }
        q.fetch_all(&mut *c).await
    })?;
    // A first page by identity number holds every match (the number is unique): no count.
    let total: i64 = if f.id_number.is_some() && offset == 0 {
        i64::try_from(rows.len()).unwrap_or(i64::MAX)
    } else {
        on_conn!(tx, c => {
            let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql));
            for b in &binds {
                q = q.bind(b);
            }
            q.fetch_one(&mut *c).await
        })?
    };
    Ok(Found {
        rows: open_all(tx, rows)?,
        total: total.min(counted),
        more: total > counted,
    })
}

/// How many persons are stored.
pub async fn count(tx: &mut Tx) -> StoreResult<i64> {
    Ok(on_conn!(tx, c => sqlx::query_scalar("SELECT COUNT(*) FROM persons").fetch_one(c).await)?)
}

/// Persons an older version stored with the identity number in plain text (no blind index yet),
/// a page of at most `limit`: (row id, the stored number).
pub async fn unsealed(tx: &mut Tx, limit: i64) -> StoreResult<Vec<(PersonId, String)>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as("SELECT id, id_number_enc FROM persons WHERE id_number_hmac IS NULL ORDER BY id LIMIT $1")
            .bind(limit)
            .fetch_all(c)
            .await
    })?)
}

/// Persons after `after` by row id, as stored: (row id, sealed number, blind index). For passes
/// that re-seal every number (key rotation).
pub async fn sealed_page(
    tx: &mut Tx,
    after: PersonId,
    limit: i64,
) -> StoreResult<Vec<(PersonId, String, Option<String>)>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as("SELECT id, id_number_enc, id_number_hmac FROM persons WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(c)
            .await
    })?)
}

/// Seals one person's identity number under the current field key (an older version's plain
/// row, or a rotation). `id_number` is the plain number.
pub async fn reseal(tx: &mut Tx, id: PersonId, id_number: &str) -> StoreResult<()> {
    let (index, sealed) = seal_id_number(tx.fields()?, id_number)?;
    on_conn!(tx, c => {
        sqlx::query("UPDATE persons SET id_number_enc = $1, id_number_hmac = $2 WHERE id = $3")
            .bind(&sealed)
            .bind(&index)
            .bind(id)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_ends_before_the_next_character() {
        assert_eq!(prefix_end("张").as_deref(), Some("弡"));
        assert_eq!(
            prefix_end("张三").as_deref(),
            Some("张上"),
            "三 U+4E09, 上 U+4E0A"
        );
        assert_eq!(prefix_end("李%").as_deref(), Some("李&"));
        assert_eq!(prefix_end(""), None);
        assert_eq!(prefix_end("\u{10FFFF}"), None);
        // The surrogates are not characters: the next one after U+D7FF is U+E000.
        assert_eq!(prefix_end("\u{D7FF}").as_deref(), Some("\u{E000}"));
    }

    #[tokio::test]
    async fn a_name_search_on_sqlite_is_answered_by_the_name_index() {
        let path = std::env::temp_dir().join(format!(
            "dangan-plan-{}-{}.db",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        let store = crate::Store::connect(&crate::StoreConfig::SqliteFile(path.clone()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let f = PersonFilter {
            name_prefix: Some("张".to_owned()),
            ..PersonFilter::default()
        };
        let (filter, binds) = filter_clause(Backend::Sqlite, None, &f).unwrap();
        let mut tx = store.begin().await.unwrap();
        let sql = format!("EXPLAIN QUERY PLAN SELECT COUNT(*) FROM persons {filter}");
        let plan: Vec<(i64, i64, i64, String)> = on_conn!(&mut tx, c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for b in &binds {
                q = q.bind(b);
            }
            q.fetch_all(&mut *c).await
        })
        .unwrap();
        tx.rollback().await.unwrap();
        store.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        let plan: Vec<&str> = plan.iter().map(|r| r.3.as_str()).collect();
        assert!(
            plan.iter()
                .any(|step| step.contains("persons_name_idx") && step.contains("name>?")),
            "{plan:?}"
        );
    }
}
