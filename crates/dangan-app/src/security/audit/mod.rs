//! 操作日志 — writing the operation log (S7.5), authorisation with logged denials, and the
//! auditor's use-cases: search, verify, anchor.
//!
//! Every read of personal archive data, every change, every sign-in and failed sign-in and every
//! denied attempt is appended: who (kind, id, name, role), when, from where, what (action), on
//! which record, with what result. Changes are logged in the same transaction as the change, so
//! a change without its log entry cannot be committed. Identity numbers appear only masked.
//!
//! The log is a keyed hash chain with chained, signed anchors that are copied out of the
//! database (`docs/audit-log.md`): [`writer`] writes and links entries, [`anchor`] signs and
//! sends anchors to witnesses, [`verify`] checks everything, [`tsa`] adds RFC 3161 time-stamps.

pub mod anchor;
pub mod tsa;
pub mod verify;
mod writer;

use std::time::Duration;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

use dangan_domain::audit::{ChainAlgorithm, ChainKey, EntryContent, LogEntry};
use dangan_domain::code::Code;
use dangan_domain::operation::{AuditAction, LogOutcome};
use dangan_store::audit::{self, LogFilter};
use dangan_store::persons::PersonId;
use dangan_store::{Store, Tx, register};

pub use anchor::{WitnessCopy, WitnessSource};
pub use verify::{CheckStatus, VerifyCheck, VerifyOptions, VerifyReport, verify_offline};

use crate::administration::roles::{Actor, Grant, Role, Subject, UseCase, grant};
use crate::{App, AppError, AppResult};

/// What an entry is about.
#[derive(Debug, Clone)]
pub(crate) struct Op {
    pub action: &'static str,
    pub target_kind: &'static str,
    pub target_id: String,
    pub detail: String,
}

impl Op {
    pub(crate) fn new(
        action: &'static str,
        target_kind: &'static str,
        target_id: impl ToString,
    ) -> Op {
        debug_assert!(
            <AuditAction as Code>::from_code(action).is_some(),
            "the action {action} has no Chinese label: add it to dangan_domain::operation::AuditAction"
        );
        Op {
            action,
            target_kind,
            target_id: target_id.to_string(),
            detail: String::new(),
        }
    }

    pub(crate) fn detail(mut self, detail: impl Into<String>) -> Op {
        self.detail = detail.into();
        self
    }
}

/// The outcome written with an entry.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Outcome {
    Ok,
    Denied,
    NotFound,
    Failed,
}

impl Outcome {
    fn code(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
            Outcome::NotFound => "not_found",
            Outcome::Failed => "failed",
        }
    }
}

/// The timestamp of an entry: RFC 3339 UTC with microseconds, stored as text.
pub(crate) fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn new_entry(actor: &Actor, op: &Op, outcome: Outcome) -> EntryContent {
    let (kind, id) = actor.subject.log_parts();
    EntryContent {
        at: stamp(Utc::now()),
        actor_kind: kind.to_owned(),
        actor_id: id,
        actor_name: actor.username.clone(),
        role: actor.role.code().to_owned(),
        source: actor.source.clone(),
        action: op.action.to_owned(),
        target_kind: op.target_kind.to_owned(),
        target_id: op.target_id.clone(),
        detail: op.detail.clone(),
        outcome: outcome.code().to_owned(),
    }
}

/// The actor of a sign-in attempt before anyone is known.
pub(crate) fn anonymous(name: &str, source: &str) -> Actor {
    Actor {
        subject: Subject::System,
        username: name.to_owned(),
        display_name: String::new(),
        role: Role::Insured,
        must_change_password: false,
        scopes: Vec::new(),
        source: source.to_owned(),
    }
}

/// The auditor's search of the log, as sent in a query string (no personal data in it: a
/// person is named by the archive's row id, never by an identity number).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct LogQuery {
    /// Action prefix, e.g. `person.`.
    pub action: Option<String>,
    /// Only this action (its exact code, one of [`AuditAction`]).
    pub exact_action: Option<String>,
    /// Target kind (with `target_id`).
    pub target_kind: Option<String>,
    /// Target id (with `target_kind`).
    pub target_id: Option<String>,
    /// Actor kind (with `actor_id`).
    pub actor_kind: Option<String>,
    /// Actor id (with `actor_kind`).
    pub actor_id: Option<String>,
    /// Only entries by the actor of this name (a username).
    pub actor_name: Option<String>,
    /// Only entries about (or by) the person with this archive row id.
    pub person: Option<i64>,
    /// From this Beijing date on (`YYYY-MM-DD`).
    pub from: Option<String>,
    /// Up to and including this Beijing date (`YYYY-MM-DD`).
    pub to: Option<String>,
    /// Outcome (one of [`LogOutcome`]).
    pub outcome: Option<String>,
    /// Entries written before this entry `id` (for paging back).
    pub before: Option<i64>,
    /// Page size (default 100).
    pub limit: Option<i64>,
}

/// Reads a Beijing date of a log filter.
fn filter_date(field: &'static str, value: Option<&str>) -> AppResult<Option<NaiveDate>> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| {
            AppError::invalid_with(
                "invalid_log_filter",
                Some(field),
                format!(
                    "日期“{}”无效：格式应为YYYY-MM-DD（北京时间），如 2026-12-06",
                    v.chars().take(20).collect::<String>()
                ),
            )
        })
}

/// Refuses a code outside its set with the set's Chinese message.
fn filter_code<C: Code>(field: &'static str, value: Option<&str>) -> AppResult<()> {
    match value {
        Some(v) => C::decode(v)
            .map(|_| ())
            .map_err(|e| AppError::invalid_with("invalid_log_filter", Some(field), e.to_string())),
        None => Ok(()),
    }
}

impl LogQuery {
    /// Refuses a filter no entry can match: control characters (PostgreSQL cannot even compare
    /// a text with a NUL in it) or more than 100 characters, an action or outcome that does not
    /// exist, a date that is not one, or a range that ends before it begins.
    fn check(&self) -> AppResult<()> {
        for (field, value) in [
            ("action", &self.action),
            ("exact_action", &self.exact_action),
            ("target_kind", &self.target_kind),
            ("target_id", &self.target_id),
            ("actor_kind", &self.actor_kind),
            ("actor_id", &self.actor_id),
            ("actor_name", &self.actor_name),
            ("outcome", &self.outcome),
        ] {
            if value
                .as_deref()
                .is_some_and(|v| v.chars().count() > 100 || v.chars().any(char::is_control))
            {
                return Err(AppError::invalid_with(
                    "invalid_log_filter",
                    Some(field),
                    "日志查询条件不能超过100个字，且不能含控制字符",
                ));
            }
        }
        filter_code::<AuditAction>("exact_action", self.exact_action.as_deref())?;
        filter_code::<LogOutcome>("outcome", self.outcome.as_deref())?;
        let from = filter_date("from", self.from.as_deref())?;
        let to = filter_date("to", self.to.as_deref())?;
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            return Err(AppError::invalid_with(
                "invalid_log_filter",
                Some("to"),
                format!("结束日期{t}早于开始日期{f}，请改正日期范围"),
            ));
        }
        Ok(())
    }

    /// The store's filter (after [`LogQuery::check`]: the dates are read as Beijing days).
    pub fn into_filter(self) -> LogFilter {
        let day =
            |d: Option<&str>| d.and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok());
        let from = day(self.from.as_deref()).map(|d| stamp(crate::local_day_start(d)));
        let until = day(self.to.as_deref())
            .and_then(|d| d.succ_opt())
            .map(|d| stamp(crate::local_day_start(d)));
        LogFilter {
            action_prefix: self.action,
            action: self.exact_action,
            target: self.target_kind.zip(self.target_id),
            actor: self.actor_kind.zip(self.actor_id),
            actor_name: self.actor_name,
            person: self.person,
            from,
            until,
            outcome: self.outcome,
            before: self.before,
            limit: self.limit.unwrap_or(100),
        }
    }
}

/// Entries on one page of the auditor's log page.
pub const LOG_PAGE_SIZE: i64 = 50;

/// One page of the operation log: entries in the chain up to a fixed sequence number, newest
/// first, [`LOG_PAGE_SIZE`] a page.
#[derive(Debug, Clone)]
pub struct LogPage {
    /// The entries of this page.
    pub entries: Vec<LogEntry>,
    /// How many entries match the filter (up to `upto`).
    pub total: i64,
    /// The page, from 1.
    pub page: i64,
    /// The last sequence number the pages show: entries written after the first page was read
    /// do not shift the later pages.
    pub upto: i64,
}

impl LogPage {
    /// How many pages there are (at least 1).
    pub fn pages(&self) -> i64 {
        ((self.total + LOG_PAGE_SIZE - 1) / LOG_PAGE_SIZE).max(1)
    }
}

/// How the log is anchored and witnessed (from configuration).
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// How often `serve` signs the head (`--anchor-minutes`); the verifier treats entries older
    /// than two intervals without an anchor as tampering.
    pub anchor_interval: Duration,
    /// The chain's algorithm when the keyed chain begins (later it is what the key directory
    /// says).
    pub chain_algorithm: ChainAlgorithm,
    /// The algorithm that signs anchors.
    pub anchor_signature: crate::SealAlgorithm,
    /// An external witness that receives every anchor as a signed POST.
    pub witness_url: Option<String>,
    /// An RFC 3161 time-stamping authority for the anchors.
    pub tsa_url: Option<String>,
    /// Backup targets that receive every anchor under `anchors/` (set by `serve`).
    pub witness_targets: Vec<(String, dangan_vault::Target)>,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            anchor_interval: Duration::from_secs(600),
            chain_algorithm: ChainAlgorithm::HmacSha256,
            anchor_signature: crate::SealAlgorithm::Ed25519,
            witness_url: None,
            tsa_url: None,
            witness_targets: Vec::new(),
        }
    }
}

/// The log of one app: the chain's key and set-up, and the writer.
#[derive(Debug)]
pub(crate) struct AuditLog {
    pub(crate) key: ChainKey,
    pub(crate) config: crate::security::keyring::LogChainConfig,
    writer: writer::Writer,
}

impl AuditLog {
    /// Reads the chain's set-up from the key directory, or begins the keyed chain after the
    /// unkeyed entries already in the database. Refuses a database with keyed entries and a key
    /// directory without the set-up (keys not imported: the log could never verify).
    pub(crate) async fn open(
        store: &Store,
        keys: &crate::KeyRing,
        algorithm: ChainAlgorithm,
    ) -> AppResult<AuditLog> {
        let config = match keys.log_chain_config()? {
            Some(c) => c,
            None => {
                let mut tx = store.begin().await?;
                let keyed = audit::has_keyed_entries(&mut tx).await?;
                let legacy_until = audit::last_unkeyed_seq(&mut tx).await?;
                tx.rollback().await?;
                if keyed {
                    return Err(AppError::Conflict {
                        code: "log_key_missing",
                        field: None,
                        message: format!(
                            "操作日志已按密钥链记录，但密钥目录 {} 中没有日志密钥的设置（log-chain.json）：请先用 dangan key import 导入机构密钥",
                            keys.dir().display()
                        ),
                    });
                }
                keys.begin_log_chain(crate::security::keyring::LogChainConfig {
                    algorithm,
                    legacy_until,
                })?
            }
        };
        let key = keys.log_chain_key(config.algorithm);
        let writer = writer::Writer::start(store, &key);
        Ok(AuditLog {
            key,
            config,
            writer,
        })
    }
}

impl App {
    /// Appends an entry inside the caller's transaction.
    pub(crate) async fn log_in(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        op: &Op,
        outcome: Outcome,
    ) -> AppResult<()> {
        audit::append(tx, &[new_entry(actor, op, outcome)], &self.audit.key).await?;
        Ok(())
    }

    /// Appends an entry that records no change (a read, a denial): committed together with
    /// whatever other such entries are waiting (group commit); returns once it is durable.
    pub(crate) async fn log(&self, actor: &Actor, op: &Op, outcome: Outcome) -> AppResult<()> {
        self.audit
            .writer
            .write(&self.store, &self.audit.key, new_entry(actor, op, outcome))
            .await
    }

    /// Begins a read of records (a read transaction: on SQLite it never waits for a writer and
    /// never holds up one). End it with [`App::end_read`].
    pub(crate) async fn begin_read(&self) -> AppResult<Tx> {
        Ok(self.store.begin().await?)
    }

    /// Ends a read begun with [`App::begin_read`]: the transaction is closed (nothing was
    /// written in it), then the read's entry is appended through the group commit. Returns
    /// once the entry is durable, so no answer leaves before its log entry; when the entry
    /// cannot be written, the caller returns the error instead of what it read.
    pub(crate) async fn end_read(
        &self,
        tx: Tx,
        actor: &Actor,
        op: &Op,
        outcome: Outcome,
    ) -> AppResult<()> {
        tx.rollback().await?;
        self.log(actor, op, outcome).await
    }

    /// For the benchmark of the log (`benches/audit_log.rs`): one entry, either in a
    /// transaction of its own as a change would write it, or through the group commit.
    #[doc(hidden)]
    pub async fn bench_append(&self, in_own_transaction: bool) -> AppResult<()> {
        let actor = Actor::system();
        let op = Op::new("bench.append", "log", "").detail("benchmark");
        if in_own_transaction {
            let mut tx = self.store.begin_write().await?;
            self.log_in(&mut tx, &actor, &op, Outcome::Ok).await?;
            tx.commit().await?;
            Ok(())
        } else {
            self.log(&actor, &op, Outcome::Ok).await
        }
    }

    /// Logs a denied attempt and returns the error the caller sees. An insured person sees
    /// "not found" for anything not theirs, so that the existence of a record is not revealed.
    pub(crate) async fn deny(&self, actor: &Actor, op: Op, error: AppError) -> AppError {
        let outcome = if actor.role == Role::Insured {
            Outcome::NotFound
        } else {
            Outcome::Denied
        };
        if let Err(e) = self.log(actor, &op, outcome).await {
            tracing::error!(error = %e, "cannot log a denied attempt");
            return e;
        }
        if actor.role == Role::Insured {
            AppError::not_found("not_found", "未找到该记录")
        } else {
            error
        }
    }

    /// Checks the matrix (and the must-change-password rule) for `use_case`, logging a denial.
    /// Returns the grant, whose condition (`Registered`, `Own`) the use-case then checks.
    pub(crate) async fn authorize(&self, actor: &Actor, use_case: UseCase) -> AppResult<Grant> {
        if actor.subject == Subject::System {
            return Ok(Grant::Yes);
        }
        let op = Op::new("access.denied", "use_case", format!("{use_case:?}"));
        if actor.must_change_password && use_case != UseCase::OwnAccount {
            return Err(self
                .deny(
                    actor,
                    op.detail("password_change_required"),
                    AppError::Denied {
                        code: "password_change_required",
                        message: "当前密码为系统生成的初始密码，请先修改密码".to_owned(),
                    },
                )
                .await);
        }
        match grant(actor.role, use_case) {
            Grant::No => Err(self.deny(actor, op, AppError::Forbidden).await),
            Grant::Scope if !actor.scopes.contains(&use_case) => Err(self
                .deny(actor, op.detail("scope"), AppError::Forbidden)
                .await),
            g => Ok(g),
        }
    }

    /// Whether the actor may open the archive of `person` under `g`; on a refusal the caller
    /// must roll back and call [`App::deny`] with the returned error.
    pub(crate) async fn archive_access(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        g: Grant,
        person: PersonId,
    ) -> AppResult<Option<AppError>> {
        Ok(match g {
            Grant::Yes | Grant::Scope => None,
            Grant::No => Some(AppError::Forbidden),
            Grant::Own => (actor.subject != Subject::Insured(person))
                .then(|| AppError::not_found("not_found", "未找到该记录")),
            Grant::Registered => {
                let Some(user) = actor.user_id() else {
                    return Ok(Some(AppError::Forbidden));
                };
                let window = chrono::Duration::from_std(self.settings.query_window)
                    .map_err(|e| AppError::Internal(e.to_string()))?;
                let open = register::has_open(tx, user, person, Utc::now() - window).await?;
                (!open).then(|| AppError::Denied {
                    code: "query_registration_required",
                    message: "查阅参保人档案前须先进行查询登记（谁查询、谁登记）：请登记查询人姓名、公民身份号码、查询内容和目的".to_owned(),
                })
            }
        })
    }

    /// The newest entries matching the filter (the auditor's view).
    pub async fn search_log(&self, actor: &Actor, query: &LogQuery) -> AppResult<Vec<LogEntry>> {
        self.authorize(actor, UseCase::ReadLog).await?;
        query.check()?;
        let filter = query.clone().into_filter();
        if let Err(e) = self.seal_log().await {
            tracing::error!(error = %e, "cannot link pending entries before a search");
        }
        let mut tx = self.begin_read().await?;
        let rows = audit::search(&mut tx, &filter).await?;
        let op = Op::new("log.search", "log", "").detail(format!("{} entries", rows.len()));
        self.end_read(tx, actor, &op, Outcome::Ok).await?;
        Ok(rows)
    }

    /// One page of the log in order of the chain (the auditor's page): `upto` fixes the
    /// newest entry the pages show (the head when `None`), `page` counts from 1.
    pub async fn search_log_page(
        &self,
        actor: &Actor,
        query: &LogQuery,
        upto: Option<i64>,
        page: i64,
    ) -> AppResult<LogPage> {
        self.authorize(actor, UseCase::ReadLog).await?;
        query.check()?;
        let filter = query.clone().into_filter();
        if let Err(e) = self.seal_log().await {
            tracing::error!(error = %e, "cannot link pending entries before a search");
        }
        let page = page.max(1);
        let mut tx = self.begin_read().await?;
        let upto = match upto {
            Some(u) => u,
            None => audit::head(&mut tx).await?.0,
        };
        let offset = (page - 1).saturating_mul(LOG_PAGE_SIZE);
        let (entries, total) =
            audit::page_in_chain(&mut tx, &filter, upto, offset, LOG_PAGE_SIZE).await?;
        let op = Op::new("log.search", "log", "")
            .detail(format!("page {page} of {total} entries up to {upto}"));
        self.end_read(tx, actor, &op, Outcome::Ok).await?;
        Ok(LogPage {
            entries,
            total,
            page,
            upto,
        })
    }
}
