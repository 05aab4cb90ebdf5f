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
/// by the full number, S5.1); a search by name lists in name order.
#[derive(Debug, Clone, Default)]
pub struct PersonFilter {
    /// Exact identity number.
    pub id_number: Option<String>,
    /// Text the name contains anywhere (明 finds 王明 and 李明华), literally: `%` and `_` are
    /// characters like any other.
    pub name: Option<String>,
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

/// A `WHERE` clause under construction, its values bound in the order of their placeholders.
#[derive(Default)]
struct Clause {
    terms: Vec<String>,
    binds: Vec<String>,
}

impl Clause {
    /// Adds a term whose `?` stands for `value`.
    fn push(&mut self, term: &str, value: String) {
        self.binds.push(value);
        self.terms
            .push(term.replacen('?', &format!("${}", self.binds.len()), 1));
    }

    fn push_plain(&mut self, term: String) {
        self.terms.push(term);
    }

    fn render(&self) -> String {
        if self.terms.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.terms.join(" AND "))
        }
    }
}

/// The terms on the suffix table `s` that keep, for each person whose name contains `text`,
/// exactly one suffix: the one starting at the text's last occurrence (a suffix that starts with
/// the text and holds no later occurrence of it). The range is in byte order, which the table's
/// key is in on both backends; a range treats `%` and `_` literally.
fn suffix_terms(c: &mut Clause, backend: Backend, text: &str) {
    c.push("s.suffix >= ?", text.to_owned());
    if let Some(end) = prefix_end(text) {
        c.push("s.suffix < ?", end);
    }
    let find = position_fn(backend);
    c.push(
        &format!("{find}(substr(s.suffix, 2), ?) = 0"),
        text.to_owned(),
    );
}

/// The function giving the 1-based position of a text in another, 0 when absent.
fn position_fn(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "instr",
        Backend::Postgres => "strpos",
    }
}

/// The terms on `persons` (aliased `p`) other than the name: identity number and division.
fn person_terms(c: &mut Clause, fields: Option<&FieldCipher>, f: &PersonFilter) -> StoreResult<()> {
    if let Some(v) = &f.id_number {
        let fields = fields.ok_or_else(|| {
            StoreError::Unsupported(
                "no field cipher installed: personal data cannot be searched".to_owned(),
            )
        })?;
        c.push("p.id_number_hmac = ?", fields.index(v));
    }
    if let Some(v) = &f.division_code {
        c.push("p.division_code = ?", v.clone());
    }
    Ok(())
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
/// [`COUNT_AHEAD`] past the page.
///
/// A search by name walks the suffix table (`person_name_suffixes`, kept by triggers: every suffix
/// of every name, so that "contains" is a range of its key), one row per person, in the key's
/// order: matches are listed by the name read from the text on (for 张: 张伟 before 张芳, which is
/// name order; for 明: 王明 and 李明 before 李明华), then by registration. Both the count and the
/// page stop where they have enough, however common the text: no plan sorts or skips over the
/// matches. The other searches list by division, birth date and registration (the division index).
pub async fn search(tx: &mut Tx, f: &PersonFilter) -> StoreResult<Found> {
    let backend = tx.backend();
    let limit = f.limit.clamp(1, 500);
    let offset = f.offset.max(0);
    let counted = offset + limit + COUNT_AHEAD;
    // A first page by identity number holds every match (the number is unique): no count.
    let exact_id = f.id_number.is_some() && offset == 0;
    let total: Option<i64> = if exact_id {
        None
    } else {
        let (sql, binds) = count_statement(backend, tx.fields.as_deref(), f, counted + 1)?;
        Some(scalar(tx, sql, &binds).await?)
    };
    let (sql, binds) = page_statement(backend, tx.fields.as_deref(), f, limit, offset)?;
    let rows: Vec<StoredPerson> = on_conn!(tx, c => {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for b in &binds {
            q = q.bind(b);
        }
        q.fetch_all(&mut *c).await
    })?;
    let total = total.unwrap_or_else(|| i64::try_from(rows.len()).unwrap_or(i64::MAX));
    Ok(Found {
        rows: open_all(tx, rows)?,
        total: total.min(counted),
        more: total > counted,
    })
}

async fn scalar(tx: &mut Tx, sql: String, binds: &[String]) -> StoreResult<i64> {
    Ok(on_conn!(tx, c => {
        let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
        for b in binds {
            q = q.bind(b);
        }
        q.fetch_one(&mut *c).await
    })?)
}

/// The count of a search, stopping after `cap` matches. In the page's order where there is no
/// name, so that the count walks the same index and stops at its limit: without it PostgreSQL
/// builds a bitmap of every match first (12 ms for a broad search at a million).
fn count_statement(
    backend: Backend,
    fields: Option<&FieldCipher>,
    f: &PersonFilter,
    cap: i64,
) -> StoreResult<(String, Vec<String>)> {
    let mut c = Clause::default();
    let sql = match &f.name {
        Some(text) => {
            suffix_terms(&mut c, backend, text);
            if f.id_number.is_some() || f.division_code.is_some() {
                c.push_plain("p.id = s.person_id".to_owned());
                person_terms(&mut c, fields, f)?;
                // SQLite keeps the tables in the order written after `CROSS JOIN`: the suffix
                // range first.
                format!(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM person_name_suffixes s CROSS JOIN persons p {} LIMIT {cap}) AS m",
                    c.render()
                )
            } else {
                format!(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM person_name_suffixes s {} LIMIT {cap}) AS m",
                    c.render()
                )
            }
        }
        None => {
            person_terms(&mut c, fields, f)?;
            format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM persons p {} ORDER BY p.division_code, p.birth_date, p.id LIMIT {cap}) AS m",
                c.render()
            )
        }
    };
    Ok((sql, c.binds))
}

/// The page of a search.
fn page_statement(
    backend: Backend,
    fields: Option<&FieldCipher>,
    f: &PersonFilter,
    limit: i64,
    offset: i64,
) -> StoreResult<(String, Vec<String>)> {
    let mut c = Clause::default();
    let columns = prefixed_columns();
    let sql = match &f.name {
        Some(text) => {
            suffix_terms(&mut c, backend, text);
            c.push_plain("p.id = s.person_id".to_owned());
            person_terms(&mut c, fields, f)?;
            // SQLite keeps the tables in the order written after `CROSS JOIN`: the suffix range
            // first, in its key's order, so that the page needs no sort.
            format!(
                "SELECT {columns} FROM person_name_suffixes s CROSS JOIN persons p {} ORDER BY s.suffix, s.person_id LIMIT {limit} OFFSET {offset}",
                c.render()
            )
        }
        None => {
            person_terms(&mut c, fields, f)?;
            format!(
                "SELECT {columns} FROM persons p {} ORDER BY p.division_code, p.birth_date, p.id LIMIT {limit} OFFSET {offset}",
                c.render()
            )
        }
    };
    Ok((sql, c.binds))
}

/// [`COLUMNS`] of the table aliased `p`.
fn prefixed_columns() -> String {
    COLUMNS
        .split(", ")
        .map(|c| format!("p.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
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

    /// The steps SQLite plans for a statement, with its values bound.
    async fn sqlite_plan(store: &crate::Store, sql: &str, binds: &[String]) -> Vec<String> {
        let mut tx = store.begin().await.unwrap();
        let sql = format!("EXPLAIN QUERY PLAN {sql}");
        let plan: Vec<(i64, i64, i64, String)> = on_conn!(&mut tx, c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for b in binds {
                q = q.bind(b);
            }
            q.fetch_all(&mut *c).await
        })
        .unwrap();
        tx.rollback().await.unwrap();
        plan.into_iter().map(|r| r.3).collect()
    }

    #[tokio::test]
    async fn a_name_search_on_sqlite_counts_and_pages_along_the_suffix_key_never_the_table() {
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
            name: Some("明".to_owned()),
            division_code: Some("110105".to_owned()),
            ..PersonFilter::default()
        };
        let (count, binds) = count_statement(Backend::Sqlite, None, &f, 1_051).unwrap();
        let counting = sqlite_plan(&store, &count, &binds).await;
        let (page, page_binds) = page_statement(Backend::Sqlite, None, &f, 50, 0).unwrap();
        let listing = sqlite_plan(&store, &page, &page_binds).await;
        store.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        let by_suffix_key = |plan: &[String]| {
            plan.iter().any(|step| {
                step.contains("SEARCH s USING PRIMARY KEY") && step.contains("suffix>?")
            })
        };
        assert!(by_suffix_key(&counting), "{counting:?}");
        assert!(by_suffix_key(&listing), "{listing:?}");
        for plan in [&counting, &listing] {
            assert!(
                !plan.iter().any(|step| step.starts_with("SCAN p")),
                "no plan reads the whole persons table: {plan:?}"
            );
        }
        assert!(
            !listing.iter().any(|step| step.contains("TEMP B-TREE")),
            "the page is listed in the suffix key's order, never sorted, so it stops at its end: {listing:?}"
        );
    }
}
