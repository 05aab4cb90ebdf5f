//! 操作日志 — writing the operation log (S7.5), authorisation with logged denials, and the
//! auditor's use-cases: search, verify, anchor.
//!
//! Every read of personal archive data, every change, every sign-in and failed sign-in and every
//! denied attempt is appended: who (kind, id, name, role), when, from where, what (action), on
//! which record, with what result. Changes are logged in the same transaction as the change, so
//! a change without its log entry cannot be committed. Identity numbers appear only masked.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use dangan_domain::audit::{GENESIS, LogEntry, anchor_message, verify_chain};
use dangan_store::Tx;
use dangan_store::audit::{self, Anchor, LogFilter, NewEntry};
use dangan_store::persons::PersonId;
use dangan_store::register;

use crate::roles::{Actor, Grant, Role, Subject, UseCase, grant};
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

fn new_entry(actor: &Actor, op: &Op, outcome: Outcome) -> NewEntry {
    let (kind, id) = actor.subject.log_parts();
    NewEntry {
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

/// The auditor's search of the log, as sent in a query string (no personal data in it).
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// Action prefix, e.g. `person.`.
    pub action: Option<String>,
    /// Target kind (with `target_id`).
    pub target_kind: Option<String>,
    /// Target id (with `target_kind`).
    pub target_id: Option<String>,
    /// Actor kind (with `actor_id`).
    pub actor_kind: Option<String>,
    /// Actor id (with `actor_kind`).
    pub actor_id: Option<String>,
    /// Outcome.
    #[param(pattern = "^(ok|denied|not_found|invalid|failed)$")]
    pub outcome: Option<String>,
    /// Entries before this sequence number (for paging back).
    pub before: Option<i64>,
    /// Page size (default 100).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
}

impl LogQuery {
    /// Refuses a filter no entry can match: control characters (PostgreSQL cannot even compare
    /// a text with a NUL in it) or more than 100 characters.
    fn check(&self) -> AppResult<()> {
        for (field, value) in [
            ("action", &self.action),
            ("target_kind", &self.target_kind),
            ("target_id", &self.target_id),
            ("actor_kind", &self.actor_kind),
            ("actor_id", &self.actor_id),
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
        Ok(())
    }

    /// The store's filter.
    pub fn into_filter(self) -> LogFilter {
        LogFilter {
            action_prefix: self.action,
            target: self.target_kind.zip(self.target_id),
            actor: self.actor_kind.zip(self.actor_id),
            outcome: self.outcome,
            before: self.before,
            limit: self.limit.unwrap_or(100),
        }
    }
}

/// The result of verifying the log.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VerifyReport {
    /// Whether chain, head and anchors are all intact.
    pub ok: bool,
    /// Entries checked.
    pub entries: i64,
    /// Anchors checked.
    pub anchors: usize,
    /// The first bad entry, if any.
    pub first_bad_seq: Option<i64>,
    /// What is wrong, in Chinese.
    pub problem: Option<String>,
    /// The head hash after the last good entry.
    pub head_hash: String,
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
        audit::append(tx, new_entry(actor, op, outcome)).await?;
        Ok(())
    }

    /// Appends an entry in a transaction of its own.
    pub(crate) async fn log(&self, actor: &Actor, op: &Op, outcome: Outcome) -> AppResult<()> {
        let mut tx = self.store.begin_write().await?;
        self.log_in(&mut tx, actor, op, outcome).await?;
        tx.commit().await?;
        Ok(())
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
        let mut tx = self.store.begin_write().await?;
        let rows = audit::search(&mut tx, &filter).await?;
        self.log_in(
            &mut tx,
            actor,
            &Op::new("log.search", "log", "").detail(format!("{} entries", rows.len())),
            Outcome::Ok,
        )
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Verifies the whole chain, the head row and every anchor; names the first bad entry.
    pub async fn verify_log(&self, actor: &Actor) -> AppResult<VerifyReport> {
        self.authorize(actor, UseCase::VerifyLog).await?;
        let report = self.verify_log_unlogged().await?;
        let outcome = if report.ok {
            Outcome::Ok
        } else {
            Outcome::Failed
        };
        let detail = report
            .problem
            .clone()
            .unwrap_or_else(|| format!("{} entries intact", report.entries));
        self.log(
            actor,
            &Op::new("log.verify", "log", "").detail(detail),
            outcome,
        )
        .await?;
        Ok(report)
    }

    async fn verify_log_unlogged(&self) -> AppResult<VerifyReport> {
        let mut tx = self.store.begin().await?;
        let anchors = audit::anchors(&mut tx).await?;
        let (head_seq, head_hash) = audit::head(&mut tx).await?;
        let mut prev = GENESIS.to_owned();
        let mut seq = 0i64;
        let mut anchor_iter = anchors.iter().peekable();
        let fail =
            |first: i64, problem: String, entries: i64, anchors: usize, prev: &str| VerifyReport {
                ok: false,
                entries,
                anchors,
                first_bad_seq: Some(first),
                problem: Some(problem),
                head_hash: prev.to_owned(),
            };
        let mut checked_anchors = 0usize;
        loop {
            let page = audit::page(&mut tx, seq, 1000).await?;
            if page.is_empty() {
                break;
            }
            for e in &page {
                match verify_chain(std::iter::once(e), &prev, seq) {
                    Ok((h, s)) => {
                        prev = h;
                        seq = s;
                    }
                    Err(b) => {
                        tx.rollback().await?;
                        return Ok(fail(b.seq(), b.to_string(), seq, checked_anchors, &prev));
                    }
                }
                while let Some(a) = anchor_iter.next_if(|a| a.seq == seq) {
                    checked_anchors += 1;
                    if let Some(problem) = self.anchor_problem(a, &prev) {
                        tx.rollback().await?;
                        return Ok(fail(a.seq, problem, seq, checked_anchors, &prev));
                    }
                }
            }
        }
        tx.rollback().await?;
        if let Some(a) = anchor_iter.next() {
            return Ok(fail(
                seq + 1,
                format!(
                    "日志被截断：第{}条已由签名锚点确认，但现存日志只到第{seq}条",
                    a.seq
                ),
                seq,
                checked_anchors,
                &prev,
            ));
        }
        if head_seq != seq || head_hash != prev {
            return Ok(fail(
                seq.min(head_seq) + 1,
                format!(
                    "日志头记录（第{head_seq}条）与现存日志（第{seq}条）不符：日志被截断或篡改"
                ),
                seq,
                checked_anchors,
                &prev,
            ));
        }
        Ok(VerifyReport {
            ok: true,
            entries: seq,
            anchors: checked_anchors,
            first_bad_seq: None,
            problem: None,
            head_hash: prev,
        })
    }

    fn anchor_problem(&self, a: &Anchor, chain_hash: &str) -> Option<String> {
        if a.key_id != self.keys.key_id() {
            return Some(format!(
                "第{}条的签名锚点由未知密钥 {} 签署",
                a.seq, a.key_id
            ));
        }
        if !self
            .keys
            .verify(&anchor_message(a.seq, &a.hash), &a.signature)
        {
            return Some(format!("第{}条的签名锚点签名无效", a.seq));
        }
        if a.hash != chain_hash {
            return Some(format!("第{}条及以前的日志与签名锚点不符（被篡改）", a.seq));
        }
        None
    }

    /// Signs the current head, unless it is already anchored. Returns the new anchor.
    pub async fn anchor_log(&self, actor: &Actor) -> AppResult<Option<Anchor>> {
        self.authorize(actor, UseCase::VerifyLog).await?;
        let mut tx = self.store.begin_write().await?;
        let (seq, hash) = audit::head(&mut tx).await?;
        let last = audit::anchors(&mut tx)
            .await?
            .last()
            .map(|a| a.seq)
            .unwrap_or(0);
        if seq == 0 || seq == last {
            tx.rollback().await?;
            return Ok(None);
        }
        let anchor = Anchor {
            seq,
            signature: self.keys.sign(&anchor_message(seq, &hash)),
            hash,
            signed_at: Utc::now(),
            key_id: self.keys.key_id().to_owned(),
        };
        audit::insert_anchor(&mut tx, &anchor).await?;
        tx.commit().await?;
        Ok(Some(anchor))
    }
}
