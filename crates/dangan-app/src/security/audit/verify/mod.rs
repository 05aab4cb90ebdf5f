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

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use dangan_domain::audit::{
    ChainAlgorithm, ChainCheck, ChainKey, GENESIS, LogEntry, chain_hash, eq_hex,
    legacy_anchor_message,
};
use dangan_store::audit::{self, Anchor};
use dangan_store::{Store, StoreConfig};
use serde::Serialize;

use super::anchor::{WitnessSource, body_digest_bytes, body_of, read_copies};
use super::tsa;
use super::{Op, Outcome};
use crate::administration::roles::{Actor, UseCase};
use crate::security::keys::{PublicKey, verify_by_id};
use crate::{App, AppError, AppResult};

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VerifyCheck {
    /// What was checked (Chinese).
    pub name: String,
    /// Its outcome.
    pub status: CheckStatus,
    /// What was found, or why it was not checked (Chinese).
    pub detail: String,
}

/// The result of verifying the log.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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

struct Verifier<'a> {
    /// The chain's algorithm and last unkeyed entry, when known.
    chain: Option<(ChainAlgorithm, i64)>,
    key: Option<ChainKey>,
    keys: &'a [PublicKey],
    interval: Option<Duration>,
    now: DateTime<Utc>,
    witnesses: Vec<WitnessSource>,
    tsa_ca: Option<PathBuf>,
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

/// An anchor's place: its `seq`, its hash, and a label for messages.
type Expectation = (String, String);

impl Verifier<'_> {
    async fn run(self, store: &Store) -> AppResult<VerifyReport> {
        let mut f = Findings::default();
        let mut tx = store.begin().await?;
        let mut expect: BTreeMap<i64, Vec<Expectation>> = BTreeMap::new();

        // --- anchors in the database: numbered, chained, signed --------------------------------
        let mut db_anchors: Vec<Anchor> = Vec::new();
        loop {
            let after = db_anchors.last().map_or(0, |a| a.n);
            let page = audit::anchors(&mut tx, after, 1000).await?;
            if page.is_empty() {
                break;
            }
            db_anchors.extend(page);
        }
        let (chain, chain_source) = match self.chain {
            Some(c) => (Some(c), "密钥目录"),
            None => (
                db_anchors
                    .iter()
                    .rev()
                    .find(|a| {
                        verify_by_id(self.keys, &a.key_id, &body_of(a).message(), &a.signature)
                    })
                    .and_then(|a| ChainAlgorithm::parse(&a.chain).map(|alg| (alg, a.legacy_until))),
                "签名锚点",
            ),
        };
        let mut prev_digest = GENESIS.to_owned();
        let mut prev_seq = 0i64;
        let mut covered = 0i64;
        for (i, a) in db_anchors.iter().enumerate() {
            let expected_n = i as i64 + 1;
            let label = format!("第{}号签名锚点", a.n);
            if a.n != expected_n {
                f.fail(
                    ANCHORS,
                    Some(prev_seq + 1),
                    format!("第{expected_n}号签名锚点缺失（锚点被删除）"),
                );
            }
            let body = body_of(a);
            if !verify_by_id(self.keys, &a.key_id, &body.message(), &a.signature) {
                f.fail(
                    ANCHORS,
                    Some(a.seq),
                    format!("{label}的签名无效或由未知密钥 {} 签署（伪造）", a.key_id),
                );
            } else if a.seq > covered {
                covered = a.seq;
            }
            if a.prev != prev_digest {
                f.fail(
                    ANCHORS,
                    Some(prev_seq + 1),
                    format!("{label}与前一个锚点不衔接：其间的锚点被删除或替换"),
                );
            }
            if a.seq <= prev_seq && i > 0 {
                f.fail(ANCHORS, Some(a.seq), format!("{label}的日志序号倒退"));
            }
            if let Some((alg, legacy)) = chain
                && (a.chain != alg.code() || a.legacy_until != legacy)
            {
                f.fail(
                    ANCHORS,
                    Some(a.seq),
                    format!("{label}记录的日志链算法或旧格式界限与{chain_source}不符"),
                );
            }
            expect
                .entry(a.seq)
                .or_default()
                .push((a.hash.clone(), label));
            prev_digest = body.digest(&a.signature);
            prev_seq = a.seq;
        }
        for a in audit::legacy_anchors(&mut tx).await? {
            let label = format!("第{}条的旧格式签名锚点", a.seq);
            let signed = verify_by_id(
                self.keys,
                &a.key_id,
                &legacy_anchor_message(a.seq, &a.hash),
                &a.signature,
            );
            if !signed {
                f.fail(ANCHORS, Some(a.seq), format!("{label}签名无效"));
            } else if a.seq > covered {
                covered = a.seq;
            }
            if chain.is_some_and(|(_, legacy)| a.seq > legacy) {
                f.fail(
                    ANCHORS,
                    Some(a.seq),
                    format!("{label}位于密钥链启用之后（伪造）"),
                );
            }
            expect.entry(a.seq).or_default().push((a.hash, label));
        }

        // --- witness copies outside the database ----------------------------------------------
        let mut witnessed = 0usize;
        let mut witness_sources = Vec::new();
        for src in &self.witnesses {
            let (copies, bad) = match read_copies(src).await {
                Ok(r) => r,
                Err(e) => {
                    f.fail(WITNESS, None, format!("无法读取{}：{e}", src.name));
                    continue;
                }
            };
            witness_sources.push(format!("{} {} 份", src.name, copies.len()));
            for name in bad {
                f.fail(
                    WITNESS,
                    None,
                    format!("{}中的 {name} 不是有效的锚点副本（被篡改）", src.name),
                );
            }
            for c in copies {
                witnessed += 1;
                let label = format!("{}的第{}号锚点", src.name, c.body.n);
                if !verify_by_id(self.keys, &c.key_id, &c.body.message(), &c.signature) {
                    f.fail(
                        WITNESS,
                        Some(c.body.seq),
                        format!("{label}签名无效或不是由机构密钥签署（伪造的副本）"),
                    );
                    continue;
                }
                match db_anchors.iter().find(|a| a.n == c.body.n) {
                    Some(a) if body_of(a).digest(&a.signature) == c.digest() => {}
                    Some(a) => f.fail(
                        WITNESS,
                        Some(a.seq.min(c.body.seq)),
                        format!(
                            "数据库中的第{}号签名锚点与{label}不符：锚点与日志被改写",
                            a.n
                        ),
                    ),
                    None => f.fail(
                        WITNESS,
                        Some(c.body.seq),
                        format!(
                            "{label}（确认到第{}条）在数据库中不存在：锚点被删除，日志被截断或回退",
                            c.body.seq
                        ),
                    ),
                }
                expect
                    .entry(c.body.seq)
                    .or_default()
                    .push((c.body.hash.clone(), label));
            }
        }
        if self.witnesses.is_empty() {
            f.skip(WITNESS, "没有可用的见证副本");
        } else {
            f.note(
                WITNESS,
                format!("比对 {witnessed} 份：{}", witness_sources.join("，")),
            );
        }

        // --- the chain -------------------------------------------------------------------------
        let (algorithm, legacy_until) = match chain {
            Some(c) => c,
            None => {
                let guess = guess_algorithm(&mut tx).await?;
                f.note(
                    CHAIN,
                    "没有可信的签名锚点说明链算法，按日志本身推断（只校验其自洽）",
                );
                guess
            }
        };
        let check = ChainCheck {
            algorithm,
            key: self.key.clone(),
            legacy_until,
        };
        if self.key.is_none() {
            f.skip(
                MACS,
                "未持有日志密钥（仅凭公钥离线校验）：只核对公开哈希链与签名锚点",
            );
        }
        let (mut seq, mut prev) = (0i64, GENESIS.to_owned());
        let mut first_uncovered_at: Option<String> = None;
        'walk: loop {
            let page = audit::page(&mut tx, seq, 1000).await?;
            if page.is_empty() {
                break;
            }
            for e in &page {
                if let Err(b) = check.check(e, seq, &prev) {
                    let which = match b {
                        dangan_domain::audit::ChainBreak::ForgedEntry { .. }
                        | dangan_domain::audit::ChainBreak::ForgedChain { .. } => MACS,
                        _ => CHAIN,
                    };
                    f.fail(which, Some(b.seq()), b.to_string());
                    break 'walk;
                }
                seq = e.seq.unwrap_or_default();
                prev.clone_from(&e.hash);
                if seq == covered + 1 {
                    first_uncovered_at = Some(e.at.clone());
                }
                if let Some(list) = expect.get(&seq) {
                    for (hash, label) in list {
                        if *hash != e.hash {
                            f.fail(
                                ANCHORS,
                                Some(seq),
                                format!("第{seq}条及以前的日志与{label}不符：日志被改写"),
                            );
                        }
                    }
                }
            }
        }
        let walked_to = seq;
        let chain_intact = !f.failed.contains_key(CHAIN) && !f.failed.contains_key(MACS);
        if chain_intact {
            if let Some((&beyond, list)) = expect.range(walked_to + 1..).next() {
                let label = list.first().map(|(_, l)| l.as_str()).unwrap_or("");
                f.fail(
                    ANCHORS,
                    Some(walked_to + 1),
                    format!("日志被截断：{label}确认到第{beyond}条，但现存日志只到第{walked_to}条"),
                );
            }
            let (head_seq, head_hash) = audit::head(&mut tx).await?;
            if head_seq != walked_to || head_hash != prev {
                f.fail(
                    CHAIN,
                    Some(walked_to.min(head_seq) + 1),
                    format!(
                        "日志头记录（第{head_seq}条）与现存日志（第{walked_to}条）不符：日志被截断或篡改"
                    ),
                );
            }
        }

        // --- every entry older than the interval is covered by an anchor -------------------------
        match (self.interval, &first_uncovered_at) {
            (None, _) => f.skip(
                COVERAGE,
                "未给出锚定间隔（--anchor-minutes），无法判断锚点是否缺失",
            ),
            (Some(_), None) => {}
            (Some(interval), Some(at)) => {
                let grace = chrono::Duration::from_std(interval * 2 + Duration::from_secs(60))
                    .unwrap_or_else(|_| chrono::Duration::minutes(30));
                match DateTime::parse_from_rfc3339(at) {
                    Ok(t) if t.with_timezone(&Utc) < self.now - grace => f.fail(
                        COVERAGE,
                        Some(covered + 1),
                        format!(
                            "第{}条起的日志写入已超过两个锚定间隔（{} 分钟）仍没有签名锚点：锚点被删除，或写日志的进程未正常结束（启动服务会立即补签）",
                            covered + 1,
                            grace.num_minutes()
                        ),
                    ),
                    Ok(_) => {}
                    Err(_) => f.fail(
                        COVERAGE,
                        Some(covered + 1),
                        format!("第{}条日志的时间无法解析", covered + 1),
                    ),
                }
            }
        }

        // --- entries not yet in the chain ------------------------------------------------------
        let mut pending = 0i64;
        let mut after = 0i64;
        loop {
            let page = audit::unsealed(&mut tx, after, 1000).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for e in &page {
                pending += 1;
                if let Some(k) = &self.key
                    && !eq_hex(&k.entry_mac(&e.fields()), &e.entry_mac)
                {
                    f.fail(
                        PENDING,
                        None,
                        format!(
                            "写入序号 {} 的日志（尚未入链）内容与校验码不符：被篡改或伪造",
                            e.id
                        ),
                    );
                }
            }
        }
        tx.rollback().await?;
        f.note(PENDING, format!("{pending} 条（已逐条核对校验码）"));

        // --- trusted time-stamps ----------------------------------------------------------------
        let stamped: Vec<&Anchor> = db_anchors
            .iter()
            .filter(|a| a.tsa_token.is_some())
            .collect();
        if stamped.is_empty() {
            f.skip(TIMESTAMPS, "锚点没有可信时间戳（未配置 --tsa-url）");
        } else {
            let mut valid = 0usize;
            for a in &stamped {
                let digest = body_digest_bytes(&body_of(a), &a.signature);
                let token = a
                    .tsa_token
                    .as_deref()
                    .and_then(|t| hex::decode(t).ok())
                    .unwrap_or_default();
                match tsa::token_info(&token) {
                    Ok(info) if info.digest == digest => {}
                    _ => {
                        f.fail(
                            TIMESTAMPS,
                            Some(a.seq),
                            format!("第{}号签名锚点的时间戳与锚点不符（被替换或损坏）", a.n),
                        );
                        continue;
                    }
                }
                match &self.tsa_ca {
                    None => {}
                    Some(ca) => match tsa::verify_signature(&token, &digest, ca).await {
                        tsa::SignatureCheck::Valid => valid += 1,
                        tsa::SignatureCheck::Invalid(why) => f.fail(
                            TIMESTAMPS,
                            Some(a.seq),
                            format!("第{}号签名锚点的时间戳签名无效：{why}", a.n),
                        ),
                        tsa::SignatureCheck::Skipped(why) => f.skip(TIMESTAMPS, why),
                    },
                }
            }
            if self.tsa_ca.is_none() {
                f.skip(
                    TIMESTAMPS,
                    format!(
                        "{} 个时间戳与锚点相符，但未提供时间戳服务的 CA 证书（--tsa-ca），其签名未验证",
                        stamped.len()
                    ),
                );
            } else {
                f.note(TIMESTAMPS, format!("{valid} 个时间戳签名有效"));
            }
        }

        // --- the report --------------------------------------------------------------------------
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
        Ok(VerifyReport {
            ok: first.is_none(),
            entries: walked_to,
            pending,
            anchors: db_anchors.len(),
            witnessed,
            first_bad_seq: first.as_ref().and_then(|(s, _)| *s),
            problem: first.map(|(_, m)| m),
            head_hash: prev,
            checks,
        })
    }
}

/// Without trusted anchors: the algorithm under which the first keyed entry's hash holds, and
/// the entries before it as the unkeyed format.
async fn guess_algorithm(tx: &mut dangan_store::Tx) -> AppResult<(ChainAlgorithm, i64)> {
    let legacy = audit::last_unkeyed_seq(tx).await?;
    let first = audit::page(tx, legacy, 1).await?;
    let alg = first
        .first()
        .and_then(|e: &LogEntry| {
            [ChainAlgorithm::HmacSha256, ChainAlgorithm::HmacSm3]
                .into_iter()
                .find(|alg| {
                    chain_hash(
                        *alg,
                        e.seq.unwrap_or_default(),
                        &e.fields(),
                        &e.entry_mac,
                        &e.prev_hash,
                    ) == e.hash
                })
        })
        .unwrap_or(ChainAlgorithm::HmacSha256);
    Ok((alg, legacy))
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
