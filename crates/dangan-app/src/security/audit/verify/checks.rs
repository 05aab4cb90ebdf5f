//! The checks of a verification, in order: the anchors in the database, the witness copies,
//! the chain walked entry by entry, the anchor interval, the entries not yet chained, the
//! time-stamps.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use dangan_domain::audit::{
    ChainAlgorithm, ChainCheck, ChainKey, GENESIS, LogEntry, chain_hash, eq_hex,
    legacy_anchor_message,
};
use dangan_store::audit::{self, Anchor};
use dangan_store::{Store, Tx};

use crate::security::audit::anchor::{WitnessSource, body_digest_bytes, body_of, read_copies};
use crate::security::audit::tsa;

use crate::AppResult;
use crate::security::keyring::{PublicKey, verify_by_id};

use super::{
    ANCHORS, CHAIN, COVERAGE, Findings, MACS, PENDING, TIMESTAMPS, VerifyReport, WITNESS, report,
};

pub(super) struct Verifier<'a> {
    /// The chain's algorithm and last unkeyed entry, when known.
    pub(super) chain: Option<(ChainAlgorithm, i64)>,
    pub(super) key: Option<ChainKey>,
    pub(super) keys: &'a [PublicKey],
    pub(super) interval: Option<Duration>,
    pub(super) now: DateTime<Utc>,
    pub(super) witnesses: Vec<WitnessSource>,
    pub(super) tsa_ca: Option<PathBuf>,
}

/// An anchor's place: its `seq`, its hash, and a label for messages.
type Expectation = (String, String);

impl Verifier<'_> {
    pub(super) async fn run(self, store: &Store) -> AppResult<VerifyReport> {
        let mut f = Findings::default();
        let mut tx = store.begin().await?;
        let mut expect: BTreeMap<i64, Vec<Expectation>> = BTreeMap::new();
        let anchors = self.check_anchors(&mut tx, &mut f, &mut expect).await?;
        let witnessed = self
            .check_witnesses(&mut f, &mut expect, &anchors.list)
            .await;
        let walk = self
            .walk_chain(&mut tx, &mut f, &expect, anchors.chain, anchors.covered)
            .await?;
        self.check_coverage(&mut f, &walk.first_uncovered_at, anchors.covered);
        let pending = self.check_pending(&mut tx, &mut f).await?;
        tx.rollback().await?;
        f.note(PENDING, format!("{pending} 条（已逐条核对校验码）"));
        self.check_timestamps(&mut f, &anchors.list).await;
        Ok(report(
            &f,
            walk.walked_to,
            pending,
            anchors.list.len(),
            witnessed,
            walk.head,
        ))
    }

    /// Anchors in the database: numbered, chained, signed, and of the chain's set-up.
    async fn check_anchors(
        &self,
        tx: &mut Tx,
        f: &mut Findings,
        expect: &mut BTreeMap<i64, Vec<Expectation>>,
    ) -> AppResult<Anchors> {
        let db_anchors = all_anchors(tx).await?;
        let (chain, chain_source) = self.stated_chain(&db_anchors);
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
        self.check_legacy_anchors(tx, f, expect, chain, &mut covered)
            .await?;
        Ok(Anchors {
            list: db_anchors,
            chain,
            covered,
        })
    }

    /// The chain's set-up (algorithm and last unkeyed entry) and where it is stated: the key
    /// directory when given, else the newest anchor whose signature holds.
    fn stated_chain(&self, db_anchors: &[Anchor]) -> (Option<(ChainAlgorithm, i64)>, &'static str) {
        match self.chain {
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
        }
    }

    /// Anchors of the unkeyed format: signed, and not after the keyed chain began.
    async fn check_legacy_anchors(
        &self,
        tx: &mut Tx,
        f: &mut Findings,
        expect: &mut BTreeMap<i64, Vec<Expectation>>,
        chain: Option<(ChainAlgorithm, i64)>,
        covered: &mut i64,
    ) -> AppResult<()> {
        for a in audit::legacy_anchors(tx).await? {
            let label = format!("第{}条的旧格式签名锚点", a.seq);
            let signed = verify_by_id(
                self.keys,
                &a.key_id,
                &legacy_anchor_message(a.seq, &a.hash),
                &a.signature,
            );
            if !signed {
                f.fail(ANCHORS, Some(a.seq), format!("{label}签名无效"));
            } else if a.seq > *covered {
                *covered = a.seq;
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
        Ok(())
    }

    /// Witness copies outside the database, each compared with the anchor it copies. Returns
    /// how many were compared.
    async fn check_witnesses(
        &self,
        f: &mut Findings,
        expect: &mut BTreeMap<i64, Vec<Expectation>>,
        db_anchors: &[Anchor],
    ) -> usize {
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
        witnessed
    }

    /// The chain walked entry by entry (hashes, MACs, the anchors' hashes on the way), and its
    /// head compared with the head record.
    async fn walk_chain(
        &self,
        tx: &mut Tx,
        f: &mut Findings,
        expect: &BTreeMap<i64, Vec<Expectation>>,
        chain: Option<(ChainAlgorithm, i64)>,
        covered: i64,
    ) -> AppResult<Walk> {
        let check = self.chain_check(tx, f, chain).await?;
        let (mut seq, mut prev) = (0i64, GENESIS.to_owned());
        let mut first_uncovered_at: Option<String> = None;
        'walk: loop {
            let page = audit::page(tx, seq, 1000).await?;
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
            check_truncation(tx, f, expect, walked_to, &prev).await?;
        }
        Ok(Walk {
            walked_to,
            head: prev,
            first_uncovered_at,
        })
    }

    /// How the chain is checked: its algorithm and last unkeyed entry (guessed from the log
    /// itself when no trusted anchor states them), with the log key when held.
    async fn chain_check(
        &self,
        tx: &mut Tx,
        f: &mut Findings,
        chain: Option<(ChainAlgorithm, i64)>,
    ) -> AppResult<ChainCheck> {
        let (algorithm, legacy_until) = match chain {
            Some(c) => c,
            None => {
                let guess = guess_algorithm(tx).await?;
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
        Ok(check)
    }

    /// Every entry older than the interval is covered by an anchor.
    fn check_coverage(&self, f: &mut Findings, first_uncovered_at: &Option<String>, covered: i64) {
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
    }

    /// Entries not yet in the chain: each one's MAC. Returns how many there are.
    async fn check_pending(&self, tx: &mut Tx, f: &mut Findings) -> AppResult<i64> {
        let mut pending = 0i64;
        let mut after = 0i64;
        loop {
            let page = audit::unsealed(tx, after, 1000).await?;
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
        Ok(pending)
    }

    /// Trusted time-stamps of the anchors: each token matches its anchor, and its signature
    /// holds when the authority's certificate is given.
    async fn check_timestamps(&self, f: &mut Findings, db_anchors: &[Anchor]) {
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
    }
}

/// Every anchor in the database, by number.
async fn all_anchors(tx: &mut Tx) -> AppResult<Vec<Anchor>> {
    let mut db_anchors: Vec<Anchor> = Vec::new();
    loop {
        let after = db_anchors.last().map_or(0, |a| a.n);
        let page = audit::anchors(tx, after, 1000).await?;
        if page.is_empty() {
            break;
        }
        db_anchors.extend(page);
    }
    Ok(db_anchors)
}

/// An intact chain walked to `walked_to` (with last hash `head`) must reach every entry an
/// anchor or a witness confirms, and match the head record: otherwise the log was cut.
async fn check_truncation(
    tx: &mut Tx,
    f: &mut Findings,
    expect: &BTreeMap<i64, Vec<Expectation>>,
    walked_to: i64,
    head: &str,
) -> AppResult<()> {
    if let Some((&beyond, list)) = expect.range(walked_to + 1..).next() {
        let label = list.first().map(|(_, l)| l.as_str()).unwrap_or("");
        f.fail(
            ANCHORS,
            Some(walked_to + 1),
            format!("日志被截断：{label}确认到第{beyond}条，但现存日志只到第{walked_to}条"),
        );
    }
    let (head_seq, head_hash) = audit::head(tx).await?;
    if head_seq != walked_to || head_hash != head {
        f.fail(
            CHAIN,
            Some(walked_to.min(head_seq) + 1),
            format!(
                "日志头记录（第{head_seq}条）与现存日志（第{walked_to}条）不符：日志被截断或篡改"
            ),
        );
    }
    Ok(())
}

/// The anchors as checked: all of them, the chain's set-up they (or the key directory) state,
/// and the last entry a valid anchor covers.
struct Anchors {
    list: Vec<Anchor>,
    chain: Option<(ChainAlgorithm, i64)>,
    covered: i64,
}

/// The chain as walked: how far it holds, its last hash, and when the first entry no anchor
/// covers was written.
struct Walk {
    walked_to: i64,
    head: String,
    first_uncovered_at: Option<String>,
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
