//! 操作日志 — the append-only operation log, its chain head and its signed anchors.
//!
//! An entry is written inside the transaction of the change it records, with its own MAC
//! (`entry_mac`). It joins the keyed chain (`seq`, `prev_hash`, `hash`, `mac`):
//!
//! - on **SQLite** at once, in the same transaction: writers are serialised by the database
//!   anyway, so reading and moving the head row costs nothing extra;
//! - on **PostgreSQL** right after commit, by the sealer ([`sealable`], [`seal`]): a global
//!   order taken inside every writing transaction would hold one row lock through every commit
//!   and allow one commit (one WAL flush) at a time. The sealer links every committed entry it
//!   sees, in order of writing, and locks the head row so that sealers on several nodes take
//!   turns; an entry whose transaction commits later simply joins the chain in a later round.
//!   The chain's order is thus the order in which entries became visible, close to commit order.
//!
//! Nothing here rewrites what an entry says; the chain values are written once, by the sealer,
//! into entries that have none.

use chrono::{DateTime, Utc};
use dangan_domain::audit::{ChainKey, EntryContent, LogEntry};
use serde::Serialize;

use crate::{Conn, StoreResult, Tx, on_conn};

#[derive(sqlx::FromRow)]
struct Head {
    seq: i64,
    hash: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    seq: Option<i64>,
    at: String,
    actor_kind: String,
    actor_id: String,
    actor_name: String,
    role: String,
    source: String,
    action: String,
    target_kind: String,
    target_id: String,
    detail: String,
    outcome: String,
    entry_mac: String,
    prev_hash: String,
    hash: String,
    mac: String,
}

impl From<Row> for LogEntry {
    fn from(r: Row) -> LogEntry {
        LogEntry::new(
            r.id,
            r.seq,
            EntryContent {
                at: r.at,
                actor_kind: r.actor_kind,
                actor_id: r.actor_id,
                actor_name: r.actor_name,
                role: r.role,
                source: r.source,
                action: r.action,
                target_kind: r.target_kind,
                target_id: r.target_id,
                detail: r.detail,
                outcome: r.outcome,
            },
            r.entry_mac,
            r.prev_hash,
            r.hash,
            r.mac,
        )
    }
}

const INSERT_SQLITE: &str = "INSERT INTO operation_log (seq, at, actor_kind, actor_id, actor_name, role, source, action, target_kind, target_id, detail, outcome, entry_mac, prev_hash, hash, mac)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";

/// Writes entries inside the caller's transaction. On SQLite they join the chain at once; on
/// PostgreSQL the sealer links them after commit.
pub async fn append(tx: &mut Tx, entries: &[EntryContent], key: &ChainKey) -> StoreResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    match &mut tx.conn {
        Conn::Sqlite(t) => {
            let head: Head =
                sqlx::query_as("SELECT seq, hash FROM operation_log_head WHERE id = 1")
                    .fetch_one(&mut **t)
                    .await?;
            let (mut seq, mut prev) = (head.seq, head.hash);
            for e in entries {
                let entry_mac = key.entry_mac(&e.fields());
                seq += 1;
                let (hash, mac) = key.link(seq, &e.fields(), &entry_mac, &prev);
                sqlx::query(INSERT_SQLITE)
                    .bind(seq)
                    .bind(&e.at)
                    .bind(&e.actor_kind)
                    .bind(&e.actor_id)
                    .bind(&e.actor_name)
                    .bind(&e.role)
                    .bind(&e.source)
                    .bind(&e.action)
                    .bind(&e.target_kind)
                    .bind(&e.target_id)
                    .bind(&e.detail)
                    .bind(&e.outcome)
                    .bind(&entry_mac)
                    .bind(&prev)
                    .bind(&hash)
                    .bind(&mac)
                    .execute(&mut **t)
                    .await?;
                // The head row follows by trigger (`operation_log_head_follows`): one statement
                // less while the database is locked.
                prev = hash;
            }
        }
        Conn::Postgres(t) => {
            if let [e] = entries {
                // The common case: one entry with a change. A plain insert, no shared row.
                sqlx::query(
                    "INSERT INTO operation_log (at, actor_kind, actor_id, actor_name, role, source, action, target_kind, target_id, detail, outcome, entry_mac)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(&e.at)
                .bind(&e.actor_kind)
                .bind(&e.actor_id)
                .bind(&e.actor_name)
                .bind(&e.role)
                .bind(&e.source)
                .bind(&e.action)
                .bind(&e.target_kind)
                .bind(&e.target_id)
                .bind(&e.detail)
                .bind(&e.outcome)
                .bind(key.entry_mac(&e.fields()))
                .execute(&mut **t)
                .await?;
                return Ok(());
            }
            // Many at once (the group commit of entries that record no change): one statement.
            let mut cols: [Vec<&str>; 11] = Default::default();
            let macs: Vec<String> = entries.iter().map(|e| key.entry_mac(&e.fields())).collect();
            for e in entries {
                for (col, v) in cols.iter_mut().zip([
                    &e.at,
                    &e.actor_kind,
                    &e.actor_id,
                    &e.actor_name,
                    &e.role,
                    &e.source,
                    &e.action,
                    &e.target_kind,
                    &e.target_id,
                    &e.detail,
                    &e.outcome,
                ]) {
                    col.push(v.as_str());
                }
            }
            let mut q = sqlx::query(
                "INSERT INTO operation_log (at, actor_kind, actor_id, actor_name, role, source, action, target_kind, target_id, detail, outcome, entry_mac)
                 SELECT at, actor_kind, actor_id, actor_name, role, source, action, target_kind, target_id, detail, outcome, entry_mac FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])
                 WITH ORDINALITY AS v(at, actor_kind, actor_id, actor_name, role, source, action, target_kind, target_id, detail, outcome, entry_mac, n)
                 ORDER BY n",
            );
            for col in &cols {
                q = q.bind(col);
            }
            q.bind(&macs).execute(&mut **t).await?;
        }
    }
    Ok(())
}

const COLUMNS: &str = "id, seq, at, actor_kind, actor_id, actor_name, role, source, action, target_kind, target_id, detail, outcome, entry_mac, prev_hash, hash, mac";

/// Committed entries not yet in the chain, in order of writing, at most `limit`.
pub async fn sealable(tx: &mut Tx, limit: i64) -> StoreResult<Vec<LogEntry>> {
    let rows: Vec<Row> = match &mut tx.conn {
        Conn::Sqlite(t) => {
            let sql = sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM operation_log WHERE seq IS NULL ORDER BY id LIMIT $1"
            ));
            sqlx::query_as(sql).bind(limit).fetch_all(&mut **t).await?
        }
        Conn::Postgres(t) => {
            // Row locks as well: two sealers that both got past the head lock of an earlier
            // round cannot link the same entry twice.
            let sql = sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM operation_log WHERE seq IS NULL ORDER BY id LIMIT $1 FOR UPDATE"
            ));
            sqlx::query_as(sql).bind(limit).fetch_all(&mut **t).await?
        }
    };
    Ok(rows.into_iter().map(LogEntry::from).collect())
}

/// Entries not yet in the chain (whatever their transaction), in order of writing.
pub async fn unsealed(tx: &mut Tx, after_id: i64, limit: i64) -> StoreResult<Vec<LogEntry>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM operation_log WHERE seq IS NULL AND id > $1 ORDER BY id LIMIT $2"
    ));
    let rows: Vec<Row> =
        on_conn!(tx, c => sqlx::query_as(sql).bind(after_id).bind(limit).fetch_all(c).await)?;
    Ok(rows.into_iter().map(LogEntry::from).collect())
}

/// Locks the head row for a sealer. `None` on PostgreSQL when another sealer holds it.
pub async fn lock_head(tx: &mut Tx) -> StoreResult<Option<(i64, String)>> {
    let head: Option<Head> = match &mut tx.conn {
        Conn::Sqlite(t) => {
            sqlx::query_as("SELECT seq, hash FROM operation_log_head WHERE id = 1")
                .fetch_optional(&mut **t)
                .await?
        }
        Conn::Postgres(t) => {
            sqlx::query_as(
                "SELECT seq, hash FROM operation_log_head WHERE id = 1 FOR UPDATE SKIP LOCKED",
            )
            .fetch_optional(&mut **t)
            .await?
        }
    };
    Ok(head.map(|h| (h.seq, h.hash)))
}

/// Locks the head row, waiting for another sealer to finish.
pub async fn head_for_update(tx: &mut Tx) -> StoreResult<(i64, String)> {
    let head: Head = match &mut tx.conn {
        Conn::Sqlite(t) => {
            sqlx::query_as("SELECT seq, hash FROM operation_log_head WHERE id = 1")
                .fetch_one(&mut **t)
                .await?
        }
        Conn::Postgres(t) => {
            sqlx::query_as("SELECT seq, hash FROM operation_log_head WHERE id = 1 FOR UPDATE")
                .fetch_one(&mut **t)
                .await?
        }
    };
    Ok((head.seq, head.hash))
}

/// The newest entry in the chain.
pub async fn last_sealed(tx: &mut Tx) -> StoreResult<Option<LogEntry>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM operation_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1"
    ));
    let row: Option<Row> = on_conn!(tx, c => sqlx::query_as(sql).fetch_optional(c).await)?;
    Ok(row.map(LogEntry::from))
}

/// The chain values the sealer gives an entry.
#[derive(Debug, Clone)]
pub struct Link {
    /// The entry.
    pub id: i64,
    /// Its chain position.
    pub seq: i64,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// Its chain hash.
    pub hash: String,
    /// Its chain MAC.
    pub mac: String,
}

/// Writes the chain values of entries that have none and moves the head to the last of them.
pub async fn seal(tx: &mut Tx, links: &[Link]) -> StoreResult<()> {
    let Some(last) = links.last() else {
        return Ok(());
    };
    match &mut tx.conn {
        Conn::Sqlite(t) => {
            for l in links {
                sqlx::query(
                    "UPDATE operation_log SET seq = $1, prev_hash = $2, hash = $3, mac = $4 WHERE id = $5 AND seq IS NULL",
                )
                .bind(l.seq)
                .bind(&l.prev_hash)
                .bind(&l.hash)
                .bind(&l.mac)
                .bind(l.id)
                .execute(&mut **t)
                .await?;
            }
        }
        Conn::Postgres(t) => {
            let ids: Vec<i64> = links.iter().map(|l| l.id).collect();
            let seqs: Vec<i64> = links.iter().map(|l| l.seq).collect();
            let prevs: Vec<&str> = links.iter().map(|l| l.prev_hash.as_str()).collect();
            let hashes: Vec<&str> = links.iter().map(|l| l.hash.as_str()).collect();
            let macs: Vec<&str> = links.iter().map(|l| l.mac.as_str()).collect();
            sqlx::query(
                "UPDATE operation_log AS o SET seq = v.seq, prev_hash = v.prev, hash = v.hash, mac = v.mac
                 FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[]) AS v(id, seq, prev, hash, mac)
                 WHERE o.id = v.id AND o.seq IS NULL",
            )
            .bind(&ids)
            .bind(&seqs)
            .bind(&prevs)
            .bind(&hashes)
            .bind(&macs)
            .execute(&mut **t)
            .await?;
        }
    }
    on_conn!(tx, c => {
        sqlx::query("UPDATE operation_log_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(last.seq)
            .bind(&last.hash)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Entries in the chain with `seq > after`, in order of `seq`, at most `limit`.
pub async fn page(tx: &mut Tx, after: i64, limit: i64) -> StoreResult<Vec<LogEntry>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM operation_log WHERE seq > $1 ORDER BY seq LIMIT $2"
    ));
    let rows: Vec<Row> =
        on_conn!(tx, c => sqlx::query_as(sql).bind(after).bind(limit).fetch_all(c).await)?;
    Ok(rows.into_iter().map(LogEntry::from).collect())
}

/// Search criteria for the auditor.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// Action prefix, e.g. `person.`.
    pub action_prefix: Option<String>,
    /// Only this action (its exact code).
    pub action: Option<String>,
    /// Target kind and id.
    pub target: Option<(String, String)>,
    /// Actor kind and id.
    pub actor: Option<(String, String)>,
    /// Only entries by an actor of this name (a username).
    pub actor_name: Option<String>,
    /// Only entries about this person or by this person: the target `person` with this id, or
    /// the insured actor with this id.
    pub person: Option<i64>,
    /// Only entries written at or after this instant (a stamp as stored: RFC 3339 UTC with
    /// microseconds, which orders as text).
    pub from: Option<String>,
    /// Only entries written before this instant (a stamp as stored).
    pub until: Option<String>,
    /// Only entries with this outcome.
    pub outcome: Option<String>,
    /// Newest first, entries written before this id (all when `None`).
    pub before: Option<i64>,
    /// Page size.
    pub limit: i64,
}

impl LogFilter {
    /// The `WHERE` clause (empty when nothing is filtered) and its text parameters, in order.
    fn clause(&self) -> (String, Vec<String>) {
        let mut clauses = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        let mut bind = |v: String| {
            binds.push(v);
            format!("${}", binds.len())
        };
        if let Some(p) = &self.action_prefix {
            // Wildcards in the prefix are matched literally (escaped, not dropped: actions have
            // underscores).
            let escaped = p
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            let n = bind(escaped);
            clauses.push(format!("action LIKE {n} || '%' ESCAPE '\\'"));
        }
        for (column, value) in [
            ("action", &self.action),
            ("actor_name", &self.actor_name),
            ("outcome", &self.outcome),
        ] {
            if let Some(v) = value {
                let n = bind(v.clone());
                clauses.push(format!("{column} = {n}"));
            }
        }
        if let Some((k, id)) = &self.target {
            let a = bind(k.clone());
            let b = bind(id.clone());
            clauses.push(format!("target_kind = {a} AND target_id = {b}"));
        }
        if let Some((k, id)) = &self.actor {
            let a = bind(k.clone());
            let b = bind(id.clone());
            clauses.push(format!("actor_kind = {a} AND actor_id = {b}"));
        }
        if let Some(p) = self.person {
            // Both halves are served by the target and actor indexes.
            let n = bind(p.to_string());
            clauses.push(format!(
                "((target_kind = 'person' AND target_id = {n}) OR (actor_kind = 'insured' AND actor_id = {n}))"
            ));
        }
        if let Some(t) = &self.from {
            let n = bind(t.clone());
            clauses.push(format!("at >= {n}"));
        }
        if let Some(t) = &self.until {
            let n = bind(t.clone());
            clauses.push(format!("at < {n}"));
        }
        if let Some(b) = self.before {
            clauses.push(format!("id < {b}"));
        }
        let sql = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        (sql, binds)
    }
}

/// Runs `SELECT {COLUMNS} FROM operation_log {tail}` with text parameters.
async fn select(tx: &mut Tx, tail: &str, binds: &[String]) -> StoreResult<Vec<LogEntry>> {
    let sql = format!("SELECT {COLUMNS} FROM operation_log {tail}");
    let rows: Vec<Row> = on_conn!(tx, c => {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for b in binds {
            q = q.bind(b);
        }
        q.fetch_all(c).await
    })?;
    Ok(rows.into_iter().map(LogEntry::from).collect())
}

/// Entries matching the filter, newest first (by order of writing).
pub async fn search(tx: &mut Tx, f: &LogFilter) -> StoreResult<Vec<LogEntry>> {
    let (filter, binds) = f.clause();
    let tail = format!("{filter} ORDER BY id DESC LIMIT {}", f.limit.clamp(1, 1000));
    select(tx, &tail, &binds).await
}

/// How many entries a `WHERE` clause of [`LogFilter::clause`] selects.
async fn count_where(tx: &mut Tx, filter: &str, binds: &[String]) -> StoreResult<i64> {
    let sql = format!("SELECT COUNT(*) FROM operation_log {filter}");
    let n: i64 = on_conn!(tx, c => {
        let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
        for b in binds {
            q = q.bind(b);
        }
        q.fetch_one(c).await
    })?;
    Ok(n)
}

/// A page of the entries in the chain up to `upto` (a sequence number fixed when the first
/// page was read, so that entries written meanwhile do not shift the pages) that match the
/// filter, newest first by sequence: `limit` entries after skipping `offset`, and how many
/// match in all. `before` and `limit` of the filter are not used.
pub async fn page_in_chain(
    tx: &mut Tx,
    f: &LogFilter,
    upto: i64,
    offset: i64,
    limit: i64,
) -> StoreResult<(Vec<LogEntry>, i64)> {
    let f = LogFilter {
        before: None,
        ..f.clone()
    };
    let (filter, binds) = f.clause();
    let chained = format!("seq IS NOT NULL AND seq <= {upto}");
    let filter = if filter.is_empty() {
        format!("WHERE {chained}")
    } else {
        format!("{filter} AND {chained}")
    };
    let tail = format!(
        "{filter} ORDER BY seq DESC LIMIT {} OFFSET {}",
        limit.clamp(1, 1000),
        offset.max(0)
    );
    let entries = select(tx, &tail, &binds).await?;
    let total = count_where(tx, &filter, &binds).await?;
    Ok((entries, total))
}

/// The head row: the newest entry in the chain, as recorded.
pub async fn head(tx: &mut Tx) -> StoreResult<(i64, String)> {
    let h: Head = on_conn!(tx, c => {
        sqlx::query_as("SELECT seq, hash FROM operation_log_head WHERE id = 1").fetch_one(c).await
    })?;
    Ok((h.seq, h.hash))
}

/// Entries of the v1 format (written before the keyed chain): the highest such `seq`, 0 when
/// there are none.
pub async fn last_unkeyed_seq(tx: &mut Tx) -> StoreResult<i64> {
    let n: Option<i64> = on_conn!(tx, c => {
        sqlx::query_scalar("SELECT MAX(seq) FROM operation_log WHERE entry_mac = ''")
            .fetch_one(c)
            .await
    })?;
    Ok(n.unwrap_or(0))
}

/// Whether any entry of the keyed format exists.
pub async fn has_keyed_entries(tx: &mut Tx) -> StoreResult<bool> {
    let n: i64 = on_conn!(tx, c => {
        sqlx::query_scalar("SELECT COUNT(*) FROM (SELECT 1 FROM operation_log WHERE entry_mac <> '' LIMIT 1) AS k")
            .fetch_one(c)
            .await
    })?;
    Ok(n > 0)
}

/// A signed anchor of the v1 format (before anchors were chained).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct LegacyAnchor {
    /// The anchored entry.
    pub seq: i64,
    /// Its hash.
    pub hash: String,
    /// When it was signed.
    pub signed_at: DateTime<Utc>,
    /// The signing key's id.
    pub key_id: String,
    /// Hex signature over `dangan_domain::audit::legacy_anchor_message`.
    pub signature: String,
}

/// Every anchor of the v1 format, oldest first.
pub async fn legacy_anchors(tx: &mut Tx) -> StoreResult<Vec<LegacyAnchor>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as("SELECT seq, hash, signed_at, key_id, signature FROM operation_log_anchors ORDER BY seq")
            .fetch_all(c)
            .await
    })?)
}

/// A signed anchor of the chain head, chained to the previous anchor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Anchor {
    /// Its number, from 1.
    pub n: i64,
    /// The anchored entry.
    pub seq: i64,
    /// That entry's chain hash.
    pub hash: String,
    /// When it was signed, RFC 3339 UTC with microseconds, as signed.
    pub signed_at: String,
    /// The chain algorithm code.
    pub chain: String,
    /// The previous anchor's digest.
    pub prev: String,
    /// The last entry of the unkeyed v1 format (0: none).
    pub legacy_until: i64,
    /// The signing key's id.
    pub key_id: String,
    /// Hex signature over `AnchorBody::message`.
    pub signature: String,
    /// An RFC 3161 time-stamp token over the anchor's digest (DER, hex), when a time-stamping
    /// authority is configured.
    pub tsa_token: Option<String>,
}

/// Records an anchor.
pub async fn insert_anchor(tx: &mut Tx, a: &Anchor) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("INSERT INTO log_anchors (n, seq, hash, signed_at, chain, prev, legacy_until, key_id, signature, tsa_token) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind(a.n)
            .bind(a.seq)
            .bind(&a.hash)
            .bind(&a.signed_at)
            .bind(&a.chain)
            .bind(&a.prev)
            .bind(a.legacy_until)
            .bind(&a.key_id)
            .bind(&a.signature)
            .bind(&a.tsa_token)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

const ANCHOR_COLUMNS: &str =
    "n, seq, hash, signed_at, chain, prev, legacy_until, key_id, signature, tsa_token";

/// Anchors with `n > after`, oldest first, at most `limit`.
pub async fn anchors(tx: &mut Tx, after: i64, limit: i64) -> StoreResult<Vec<Anchor>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {ANCHOR_COLUMNS} FROM log_anchors WHERE n > $1 ORDER BY n LIMIT $2"
    ));
    Ok(on_conn!(tx, c => sqlx::query_as(sql).bind(after).bind(limit).fetch_all(c).await)?)
}

/// Serialises anchoring across processes: a transaction-scoped advisory lock on PostgreSQL;
/// on SQLite the write transaction already excludes every other writer.
pub async fn lock_anchoring(tx: &mut Tx) -> StoreResult<()> {
    if let Conn::Postgres(t) = &mut tx.conn {
        // Any constant; the migrations lock another one.
        sqlx::query("SELECT pg_advisory_xact_lock(4242025)")
            .execute(&mut **t)
            .await?;
    }
    Ok(())
}

/// The newest anchor.
pub async fn last_anchor(tx: &mut Tx) -> StoreResult<Option<Anchor>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {ANCHOR_COLUMNS} FROM log_anchors ORDER BY n DESC LIMIT 1"
    ));
    Ok(on_conn!(tx, c => sqlx::query_as(sql).fetch_optional(c).await)?)
}

/// The highest anchor number a witness has received (0 when none).
pub async fn witness_pushed(tx: &mut Tx, witness: &str) -> StoreResult<i64> {
    let n: Option<i64> = on_conn!(tx, c => {
        sqlx::query_scalar("SELECT pushed_n FROM log_witness_state WHERE witness = $1")
            .bind(witness)
            .fetch_optional(c)
            .await
    })?;
    Ok(n.unwrap_or(0))
}

/// Records that a witness has received every anchor up to `n`.
pub async fn set_witness_pushed(
    tx: &mut Tx,
    witness: &str,
    n: i64,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query(
            "INSERT INTO log_witness_state (witness, pushed_n, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (witness) DO UPDATE SET pushed_n = excluded.pushed_n, updated_at = excluded.updated_at",
        )
        .bind(witness)
        .bind(n)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(())
}
