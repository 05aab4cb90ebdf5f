//! 操作日志 — the append-only operation log, its head row and its signed anchors.
//!
//! [`append`] locks the head row (`FOR UPDATE` on PostgreSQL; SQLite's write transaction locks
//! the database), so entries form one chain even with many writers. Nothing here updates or
//! deletes an entry: the only way to change the log is outside Dangan, and the chain shows it.

use chrono::{DateTime, Utc};
use dangan_domain::audit::LogEntry;
use serde::Serialize;

use crate::{StoreResult, Tx, on_conn};

/// An entry before it gets its place in the chain.
#[derive(Debug, Clone, Default)]
pub struct NewEntry {
    /// When, RFC 3339 UTC with microseconds.
    pub at: String,
    /// Actor kind.
    pub actor_kind: String,
    /// Actor id.
    pub actor_id: String,
    /// Actor name.
    pub actor_name: String,
    /// Role code.
    pub role: String,
    /// Client address.
    pub source: String,
    /// Action.
    pub action: String,
    /// Target kind.
    pub target_kind: String,
    /// Target id.
    pub target_id: String,
    /// Detail (masked).
    pub detail: String,
    /// Outcome.
    pub outcome: String,
}

#[derive(sqlx::FromRow)]
struct Head {
    seq: i64,
    hash: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    seq: i64,
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
    prev_hash: String,
    hash: String,
}

impl From<Row> for LogEntry {
    fn from(r: Row) -> LogEntry {
        LogEntry {
            seq: r.seq,
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
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

/// Appends an entry at the head of the chain and returns it sealed.
pub async fn append(tx: &mut Tx, e: NewEntry) -> StoreResult<LogEntry> {
    let head: Head = match tx {
        Tx::Sqlite(t) => {
            sqlx::query_as("SELECT seq, hash FROM operation_log_head WHERE id = 1")
                .fetch_one(&mut **t)
                .await?
        }
        Tx::Postgres(t) => {
            sqlx::query_as("SELECT seq, hash FROM operation_log_head WHERE id = 1 FOR UPDATE")
                .fetch_one(&mut **t)
                .await?
        }
    };
    let entry = LogEntry {
        seq: head.seq + 1,
        at: e.at,
        actor_kind: e.actor_kind,
        actor_id: e.actor_id,
        actor_name: e.actor_name,
        role: e.role,
        source: e.source,
        action: e.action,
        target_kind: e.target_kind,
        target_id: e.target_id,
        detail: e.detail,
        outcome: e.outcome,
        prev_hash: String::new(),
        hash: String::new(),
    }
    .seal(&head.hash);
    on_conn!(tx, c => {
        sqlx::query(
            "INSERT INTO operation_log (seq, at, actor_kind, actor_id, actor_name, role, source, action, target_kind, target_id, detail, outcome, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(entry.seq)
        .bind(&entry.at)
        .bind(&entry.actor_kind)
        .bind(&entry.actor_id)
        .bind(&entry.actor_name)
        .bind(&entry.role)
        .bind(&entry.source)
        .bind(&entry.action)
        .bind(&entry.target_kind)
        .bind(&entry.target_id)
        .bind(&entry.detail)
        .bind(&entry.outcome)
        .bind(&entry.prev_hash)
        .bind(&entry.hash)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    on_conn!(tx, c => {
        sqlx::query("UPDATE operation_log_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(entry.seq)
            .bind(&entry.hash)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(entry)
}

const COLUMNS: &str = "seq, at, actor_kind, actor_id, actor_name, role, source, action, target_kind, target_id, detail, outcome, prev_hash, hash";

/// Entries with `seq > after`, in stored order of `seq`, at most `limit`.
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
    /// Target kind and id.
    pub target: Option<(String, String)>,
    /// Actor kind and id.
    pub actor: Option<(String, String)>,
    /// Only entries with this outcome.
    pub outcome: Option<String>,
    /// Newest first, entries with `seq < before` (all when `None`).
    pub before: Option<i64>,
    /// Page size.
    pub limit: i64,
}

/// Entries matching the filter, newest first.
pub async fn search(tx: &mut Tx, f: &LogFilter) -> StoreResult<Vec<LogEntry>> {
    let mut clauses = Vec::new();
    let mut binds: Vec<String> = Vec::new();
    let mut bind = |v: String| {
        binds.push(v);
        format!("${}", binds.len())
    };
    if let Some(p) = &f.action_prefix {
        // Wildcards in the prefix are matched literally (escaped, not dropped: actions have
        // underscores).
        let escaped = p
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let n = bind(escaped);
        clauses.push(format!("action LIKE {n} || '%' ESCAPE '\\'"));
    }
    if let Some((k, id)) = &f.target {
        let a = bind(k.clone());
        let b = bind(id.clone());
        clauses.push(format!("target_kind = {a} AND target_id = {b}"));
    }
    if let Some((k, id)) = &f.actor {
        let a = bind(k.clone());
        let b = bind(id.clone());
        clauses.push(format!("actor_kind = {a} AND actor_id = {b}"));
    }
    if let Some(o) = &f.outcome {
        let n = bind(o.clone());
        clauses.push(format!("outcome = {n}"));
    }
    if let Some(b) = f.before {
        clauses.push(format!("seq < {b}"));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM operation_log {filter} ORDER BY seq DESC LIMIT {}",
        f.limit.clamp(1, 1000)
    );
    let rows: Vec<Row> = on_conn!(tx, c => {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for b in &binds {
            q = q.bind(b);
        }
        q.fetch_all(c).await
    })?;
    Ok(rows.into_iter().map(LogEntry::from).collect())
}

/// The head: the newest entry's seq and hash.
pub async fn head(tx: &mut Tx) -> StoreResult<(i64, String)> {
    let h: Head = on_conn!(tx, c => {
        sqlx::query_as("SELECT seq, hash FROM operation_log_head WHERE id = 1").fetch_one(c).await
    })?;
    Ok((h.seq, h.hash))
}

/// A signed anchor of the chain head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Anchor {
    /// The anchored entry.
    pub seq: i64,
    /// Its hash.
    pub hash: String,
    /// When it was signed.
    pub signed_at: DateTime<Utc>,
    /// The signing key's id.
    pub key_id: String,
    /// Hex signature over `dangan_domain::audit::anchor_message`.
    pub signature: String,
}

/// Records an anchor (once per seq).
pub async fn insert_anchor(tx: &mut Tx, a: &Anchor) -> StoreResult<()> {
    on_conn!(tx, c => {
        sqlx::query("INSERT INTO operation_log_anchors (seq, hash, signed_at, key_id, signature) VALUES ($1, $2, $3, $4, $5)")
            .bind(a.seq)
            .bind(&a.hash)
            .bind(a.signed_at)
            .bind(&a.key_id)
            .bind(&a.signature)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Every anchor, oldest first.
pub async fn anchors(tx: &mut Tx) -> StoreResult<Vec<Anchor>> {
    Ok(on_conn!(tx, c => {
        sqlx::query_as("SELECT seq, hash, signed_at, key_id, signature FROM operation_log_anchors ORDER BY seq")
            .fetch_all(c)
            .await
    })?)
}
