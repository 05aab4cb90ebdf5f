//! 校验操作日志 — verifying the log: the chain, its MACs, the chained anchors, their witness
//! copies outside the database, the anchor interval and the time-stamps.
//!
//! Each check reports `ok`, `failed` or `skipped` with the reason: a check that could not be made
//! is never passed. The report names the first bad place (the lowest sequence number any check
//! found wrong) and says what is wrong in Chinese.
//!
//! What each kind of tampering runs into:
//! - an edited entry: its public hash (and its MACs);
//! - a deleted, inserted or swapped entry: the sequence and the links;
//! - a chain rewritten and re-hashed with database access only: the chain MAC (the key is not in
//!   the database);
//! - deleted anchors: the numbered anchor chain, the local witness, and the anchor interval;
//! - a truncated log: anchors (in the database or any witness) beyond its end;
//! - a rewrite by someone who also holds the keys: the witness copies on other machines, which
//!   an offline auditor checks with the public key alone ([`verify_offline`]).

mod checks;

use checks::Verifier;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use dangan_store::{Store, StoreConfig};
use serde::Serialize;

use super::anchor::WitnessSource;
use super::{Op, Outcome};
use crate::administration::roles::{Actor, UseCase};
use crate::security::keyring::PublicKey;
use crate::{App, AppError, AppResult};

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// It holds.
    Ok,
    /// It does not.
    Failed,
    /// It could not be made (the detail says why).
    Skipped,
}

impl CheckStatus {
    /// The Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            CheckStatus::Ok => "通过",
            CheckStatus::Failed => "未通过",
            CheckStatus::Skipped => "未检查",
        }
    }
}

/// One check of a verification.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyCheck {
    /// What was checked (Chinese).
    pub name: String,
    /// Its outcome.
    pub status: CheckStatus,
    /// What was found, or why it was not checked (Chinese).
    pub detail: String,
}

/// The result of verifying the log.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// Whether no check failed.
    pub ok: bool,
    /// Entries in the chain checked.
    pub entries: i64,
    /// Entries committed but not yet in the chain (checked one by one).
    pub pending: i64,
    /// Anchors in the database checked.
    pub anchors: usize,
    /// Witness copies compared.
    pub witnessed: usize,
    /// The first bad entry, if any.
    pub first_bad_seq: Option<i64>,
    /// What is wrong there, in Chinese.
    pub problem: Option<String>,
    /// The hash after the last good entry.
    pub head_hash: String,
    /// Every check with its outcome.
    pub checks: Vec<VerifyCheck>,
}

/// Extra inputs of a verification.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Verify as of this time (default now): the anchor interval is measured from it.
    pub now: Option<DateTime<Utc>>,
    /// Witnesses besides the local one and the configured backup targets.
    pub witnesses: Vec<WitnessSource>,
    /// The CA certificate of the time-stamping authority (PEM), to check tokens' signatures.
    pub tsa_ca: Option<PathBuf>,
}

const CHAIN: &str = "日志链（序号、衔接、哈希）";
const MACS: &str = "密钥校验码（HMAC）";
const ANCHORS: &str = "签名锚点";
const COVERAGE: &str = "锚定间隔";
const WITNESS: &str = "见证副本";
const PENDING: &str = "待入链条目";
const TIMESTAMPS: &str = "可信时间戳";

#[derive(Default)]
struct Findings {
    /// Per check: first failure (seq, message) and notes.
    failed: BTreeMap<&'static str, (Option<i64>, String)>,
    skipped: BTreeMap<&'static str, String>,
    notes: BTreeMap<&'static str, String>,
}

impl Findings {
    fn fail(&mut self, check: &'static str, seq: Option<i64>, message: impl Into<String>) {
        self.failed.entry(check).or_insert((seq, message.into()));
    }
    fn skip(&mut self, check: &'static str, why: impl Into<String>) {
        self.skipped.entry(check).or_insert(why.into());
    }
    fn note(&mut self, check: &'static str, text: impl Into<String>) {
        self.notes.insert(check, text.into());
    }
}

/// The report of the checks in their fixed order; the first failure by sequence number is the
/// problem.
fn report(
    f: &Findings,
    walked_to: i64,
    pending: i64,
    anchors: usize,
    witnessed: usize,
    prev: String,
) -> VerifyReport {
    let mut checks = Vec::new();
    for name in [CHAIN, MACS, ANCHORS, COVERAGE, WITNESS, PENDING, TIMESTAMPS] {
        let (status, detail) = if let Some((_, m)) = f.failed.get(name) {
            (CheckStatus::Failed, m.clone())
        } else if let Some(why) = f.skipped.get(name) {
            (CheckStatus::Skipped, why.clone())
        } else {
            let note = f.notes.get(name).cloned().unwrap_or_default();
            (CheckStatus::Ok, note)
        };
        checks.push(VerifyCheck {
            name: name.to_owned(),
            status,
            detail,
        });
    }
    let first = f
        .failed
        .values()
        .min_by_key(|(seq, _)| seq.unwrap_or(i64::MAX))
        .cloned();
    VerifyReport {
        ok: first.is_none(),
        entries: walked_to,
        pending,
        anchors,
        witnessed,
        first_bad_seq: first.as_ref().and_then(|(s, _)| *s),
        problem: first.map(|(_, m)| m),
        head_hash: prev,
        checks,
    }
}

impl App {
    /// Verifies the whole log: chain, MACs, anchors, the local witness, the configured backup
    /// targets' newest copies, the anchor interval and time-stamps.
    pub async fn verify_log(&self, actor: &Actor) -> AppResult<VerifyReport> {
        self.verify_log_with(actor, VerifyOptions::default()).await
    }

    /// [`App::verify_log`] with more witnesses, another time, or a time-stamp CA.
    pub async fn verify_log_with(
        &self,
        actor: &Actor,
        options: VerifyOptions,
    ) -> AppResult<VerifyReport> {
        self.authorize(actor, UseCase::VerifyLog).await?;
        if let Err(e) = self.seal_log().await {
            tracing::error!(error = %e, "cannot link pending entries before verifying");
        }
        let mut witnesses = vec![self.local_witness().await?];
        for (name, target) in &self.settings.log.witness_targets {
            witnesses.push(WitnessSource {
                name: format!("备份目标 {name}"),
                target: target.clone(),
                prefix: super::anchor::WITNESS_PREFIX.to_owned(),
                newest: Some(20),
            });
        }
        witnesses.extend(options.witnesses);
        let keys = self.keys.public_keys();
        let report = Verifier {
            chain: Some((self.audit.key.algorithm(), self.audit.config.legacy_until)),
            key: Some(self.audit.key.clone()),
            keys: &keys,
            interval: Some(self.settings.log.anchor_interval),
            now: options.now.unwrap_or_else(Utc::now),
            witnesses,
            tsa_ca: options.tsa_ca,
        }
        .run(&self.store)
        .await?;
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
}

/// 离线校验 — what an auditor holding only the public key(s) and the witness copies checks,
/// without the key directory: the public hash chain, the anchors' signatures and chain, and the
/// database against every witnessed anchor. Opens the database read-only in effect (no
/// migration, no seed, nothing written).
pub async fn verify_offline(
    config: &StoreConfig,
    keys: &[PublicKey],
    interval: Option<Duration>,
    witnesses: Vec<WitnessSource>,
    tsa_ca: Option<PathBuf>,
) -> AppResult<VerifyReport> {
    if keys.is_empty() {
        return Err(AppError::invalid_with(
            "public_key_required",
            Some("public_key"),
            "离线校验需要机构的签名公钥（dangan audit public-key 输出）",
        ));
    }
    let store = Store::connect(config)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let report = Verifier {
        chain: None,
        key: None,
        keys,
        interval,
        now: Utc::now(),
        witnesses,
        tsa_ca,
    }
    .run(&store)
    .await;
    store.close().await;
    report
}
