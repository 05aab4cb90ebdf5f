//! 签名锚点 — signing the chain head at intervals, and sending every anchor out of the database.
//!
//! An anchor signs (its number, the last entry's `seq` and chain hash, the time, the chain's
//! algorithm, the last unkeyed entry, the previous anchor's digest) with the agency's key. Before
//! signing, the entries since the previous anchor are checked (links, hashes, MACs) and the
//! previous anchor must still be the newest one the local witness knows: an anchor is never put
//! over a log that has been tampered with.
//!
//! Every anchor is then written, as a small signed JSON document that is never overwritten, to
//! the **local witness** (`KEY_DIR/log-witness/`, outside the database), to every configured
//! backup target (`anchors/`), and optionally POSTed to an external witness
//! (`--audit-witness-url`). `dangan audit verify --witness` compares the database with such
//! copies using the public key only.

use chrono::Utc;
use dangan_domain::audit::{AnchorBody, ChainCheck, GENESIS};
use dangan_store::Tx;
use dangan_store::audit::{self, Anchor};
use dangan_vault::Target;
use serde::{Deserialize, Serialize};

use super::{Op, Outcome, stamp, writer};
use crate::administration::roles::{Actor, UseCase};
use crate::security::keyring::LOG_WITNESS_DIR;
use crate::{App, AppError, AppResult};

/// The format name of a witness copy.
pub const WITNESS_FORMAT: &str = "dangan-log-anchor-v2";
/// Where witness copies go on a backup target.
pub const WITNESS_PREFIX: &str = "anchors/";

/// An anchor as copied to a witness: everything needed to check it with the public key alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessCopy {
    /// `dangan-log-anchor-v2`.
    pub format: String,
    /// What was signed.
    #[serde(flatten)]
    pub body: AnchorBody,
    /// The signing key's id.
    pub key_id: String,
    /// The signature (hex).
    pub signature: String,
    /// The signing public key (hex), for convenience; trust comes from the key the auditor
    /// holds, never from this field.
    pub public_key: String,
    /// The RFC 3161 time-stamp token (DER, hex), if any.
    pub tsa_token: Option<String>,
}

impl WitnessCopy {
    /// The file name: number and the start of the digest, so that two different anchors with
    /// one number (a log rolled back by a restore) never overwrite each other.
    pub fn file_name(&self) -> String {
        let digest = self.body.digest(&self.signature);
        format!("anchor-{:010}-{}.json", self.body.n, &digest[..16])
    }

    /// The digest the next anchor names.
    pub fn digest(&self) -> String {
        self.body.digest(&self.signature)
    }

    /// The anchor row this copy stands for.
    pub fn anchor(&self) -> Anchor {
        Anchor {
            n: self.body.n,
            seq: self.body.seq,
            hash: self.body.hash.clone(),
            signed_at: self.body.signed_at.clone(),
            chain: self.body.chain.clone(),
            prev: self.body.prev.clone(),
            legacy_until: self.body.legacy_until,
            key_id: self.key_id.clone(),
            signature: self.signature.clone(),
            tsa_token: self.tsa_token.clone(),
        }
    }
}

/// The signed body of an anchor row.
pub(crate) fn body_of(a: &Anchor) -> AnchorBody {
    AnchorBody {
        n: a.n,
        seq: a.seq,
        hash: a.hash.clone(),
        signed_at: a.signed_at.clone(),
        chain: a.chain.clone(),
        legacy_until: a.legacy_until,
        prev: a.prev.clone(),
    }
}

/// A witness: where copies of anchors are kept outside the database.
#[derive(Debug, Clone)]
pub struct WitnessSource {
    /// A name for reports (`本地见证`, `local`, `cloud`, a directory).
    pub name: String,
    /// The place.
    pub target: Target,
    /// The key prefix of the copies on it (`""` or `anchors/`).
    pub prefix: String,
    /// Read only the newest this many copies (a quick check on every verification), or all.
    pub newest: Option<usize>,
}

/// Reads the witness copies of a source: the parsed copies, and the names that are not copies
/// of an anchor (damaged or forged files), oldest first.
pub async fn read_copies(src: &WitnessSource) -> AppResult<(Vec<WitnessCopy>, Vec<String>)> {
    let mut names: Vec<String> = src
        .target
        .list_files(&src.prefix)
        .await
        .map_err(|e| AppError::Internal(format!("witness {}: {e}", src.name)))?
        .into_iter()
        .filter(|n| n.starts_with("anchor-") && n.ends_with(".json"))
        .collect();
    if let Some(k) = src.newest {
        let skip = names.len().saturating_sub(k);
        names.drain(..skip);
    }
    let mut copies = Vec::new();
    let mut bad = Vec::new();
    for name in names {
        let bytes = src
            .target
            .get(&format!("{}{name}", src.prefix))
            .await
            .map_err(|e| AppError::Internal(format!("witness {}: {e}", src.name)))?;
        match serde_json::from_slice::<WitnessCopy>(&bytes) {
            Ok(c) if c.format == WITNESS_FORMAT && c.file_name() == name => copies.push(c),
            _ => bad.push(name),
        }
    }
    Ok((copies, bad))
}

impl App {
    /// The local witness: copies of every anchor in the key directory.
    pub(crate) async fn local_witness(&self) -> AppResult<WitnessSource> {
        let dir = self.keys.dir().join(LOG_WITNESS_DIR);
        let target = Target::local(&dir)
            .await
            .map_err(|e| AppError::Internal(format!("{}: {e}", dir.display())))?;
        Ok(WitnessSource {
            name: "本地见证（密钥目录）".to_owned(),
            target,
            prefix: String::new(),
            newest: None,
        })
    }

    fn witness_copy(&self, a: &Anchor) -> WitnessCopy {
        let public_key = self
            .keys
            .public_keys()
            .into_iter()
            .find(|k| k.key_id() == a.key_id)
            .map(|k| k.to_hex())
            .unwrap_or_default();
        WitnessCopy {
            format: WITNESS_FORMAT.to_owned(),
            body: body_of(a),
            key_id: a.key_id.clone(),
            signature: a.signature.clone(),
            public_key,
            tsa_token: a.tsa_token.clone(),
        }
    }

    /// Links every committed entry into the chain now (PostgreSQL; nothing to do on SQLite).
    pub async fn seal_log(&self) -> AppResult<usize> {
        writer::seal_pending(&self.store, &self.audit.key, true).await
    }

    /// Signs the current head unless it is already anchored; returns the new anchor. Refuses
    /// (`log_tampered`) when the entries since the last anchor do not verify, or when the local
    /// witness knows an anchor the database no longer has.
    pub async fn anchor_log(&self, actor: &Actor) -> AppResult<Option<Anchor>> {
        self.authorize(actor, UseCase::VerifyLog).await?;
        self.seal_log().await?;
        let witness = self.local_witness().await?;
        let (copies, _) = read_copies(&WitnessSource {
            newest: Some(4),
            ..witness.clone()
        })
        .await?;
        let mut tx = self.store.begin_write().await?;
        // One anchorer at a time, across nodes too.
        audit::lock_anchoring(&mut tx).await?;
        let last = audit::last_anchor(&mut tx).await?;
        if let Some(problem) = anchors_removed(&copies, last.as_ref()) {
            tx.rollback().await?;
            tracing::error!(problem = %problem, "operation log anchors were removed");
            return Err(tampered(problem));
        }
        let Some(head) = audit::last_sealed(&mut tx).await? else {
            tx.rollback().await?;
            return Ok(None);
        };
        let head_seq = head.seq.unwrap_or_default();
        if last.as_ref().is_some_and(|a| a.seq >= head_seq) {
            tx.rollback().await?;
            return Ok(None);
        }
        let (seq, hash) = match self
            .verify_unanchored(&mut tx, last.as_ref(), head_seq)
            .await?
        {
            Ok(reached) => reached,
            Err(refusal) => {
                tx.rollback().await?;
                return Err(refusal);
            }
        };
        let anchor = self.sign_anchor(last.as_ref(), seq, hash).await;
        audit::insert_anchor(&mut tx, &anchor).await?;
        tx.commit().await?;
        self.write_local_witness(&witness, &anchor).await?;
        Ok(Some(anchor))
    }

    /// Checks the entries since the previous anchor (links, hashes, MACs) up to `head_seq`: the
    /// `seq` and chain hash reached, or `Err(log_tampered)` inside when they do not verify and
    /// must not be signed.
    async fn verify_unanchored(
        &self,
        tx: &mut Tx,
        last: Option<&Anchor>,
        head_seq: i64,
    ) -> AppResult<Result<(i64, String), AppError>> {
        let check = ChainCheck {
            algorithm: self.audit.key.algorithm(),
            key: Some(self.audit.key.clone()),
            legacy_until: self.audit.config.legacy_until,
        };
        let (mut seq, mut prev) = match last {
            Some(a) => (a.seq, a.hash.clone()),
            None => (0, GENESIS.to_owned()),
        };
        if let Some(a) = last {
            let anchored = audit::page(tx, a.seq - 1, 1).await?;
            if anchored.first().map(|e| e.hash.as_str()) != Some(a.hash.as_str()) {
                return Ok(Err(tampered(format!(
                    "第{}条日志与第{}号签名锚点不符：日志被改写，拒绝继续签名",
                    a.seq, a.n
                ))));
            }
        }
        while seq < head_seq {
            let page = audit::page(tx, seq, 1000).await?;
            if page.is_empty() {
                break;
            }
            for e in &page {
                if let Err(b) = check.check(e, seq, &prev) {
                    tracing::error!(
                        seq = b.seq(),
                        "the operation log does not verify; not anchored"
                    );
                    return Ok(Err(tampered(format!("{b}，拒绝签名锚定"))));
                }
                seq = e.seq.unwrap_or_default();
                prev.clone_from(&e.hash);
            }
        }
        Ok(Ok((seq, prev)))
    }

    /// Signs the anchor after `last` over the entry `seq` with chain hash `hash`, with a
    /// trusted time-stamp (可信时间戳) when a TSA is configured and answers.
    async fn sign_anchor(&self, last: Option<&Anchor>, seq: i64, hash: String) -> Anchor {
        let body = AnchorBody {
            n: last.map_or(0, |a| a.n) + 1,
            seq,
            hash,
            signed_at: stamp(Utc::now()),
            chain: self.audit.key.algorithm().code().to_owned(),
            legacy_until: self.audit.config.legacy_until,
            prev: last.map_or_else(|| GENESIS.to_owned(), |a| body_of(a).digest(&a.signature)),
        };
        let (key_id, signature) = self
            .keys
            .seal(self.settings.log.anchor_signature, &body.message());
        let tsa_token = match &self.settings.log.tsa_url {
            Some(url) => {
                let digest = body_digest_bytes(&body, &signature);
                match super::tsa::timestamp(url, &digest).await {
                    Ok(t) => Some(hex::encode(t)),
                    Err(e) => {
                        tracing::warn!(error = %e, "anchor signed without a trusted time-stamp");
                        None
                    }
                }
            }
            None => None,
        };
        Anchor {
            n: body.n,
            seq: body.seq,
            hash: body.hash.clone(),
            signed_at: body.signed_at.clone(),
            chain: body.chain.clone(),
            prev: body.prev.clone(),
            legacy_until: body.legacy_until,
            key_id,
            signature,
            tsa_token,
        }
    }

    /// Writes the committed anchor to the local witness; a failure is logged, not returned
    /// (the anchor stands, and the witness is compared with what it has).
    async fn write_local_witness(&self, witness: &WitnessSource, anchor: &Anchor) -> AppResult<()> {
        let copy = self.witness_copy(anchor);
        let bytes =
            serde_json::to_vec_pretty(&copy).map_err(|e| AppError::Internal(e.to_string()))?;
        if let Err(e) = witness.target.put_once(&copy.file_name(), bytes).await {
            tracing::error!(error = %e, n = anchor.n, "cannot write the local witness copy of an anchor");
        }
        Ok(())
    }

    /// Sends every anchor a witness has not yet received: to each backup target (`anchors/`,
    /// written once) and to the external witness URL (a signed POST). Returns per witness how
    /// many were sent, or the Chinese error; one failing witness does not hold up the others,
    /// and it is tried again next time.
    pub async fn push_witnesses(
        &self,
        targets: &[(String, Target)],
    ) -> AppResult<Vec<(String, Result<usize, String>)>> {
        let mut out = Vec::new();
        for (name, target) in targets {
            let r = self
                .push_to(&format!("target:{name}"), |copy| {
                    let target = target.clone();
                    async move {
                        let bytes = serde_json::to_vec_pretty(&copy).map_err(|e| e.to_string())?;
                        target
                            .put_once(&format!("{WITNESS_PREFIX}{}", copy.file_name()), bytes)
                            .await
                            .map(|_| ())
                            .map_err(|e| format!("备份目标 {e}"))
                    }
                })
                .await?;
            out.push((name.clone(), r));
        }
        if let Some(url) = self.settings.log.witness_url.clone() {
            let client = reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| AppError::Internal(e.to_string()))?;
            let r = self
                .push_to("url", |copy| {
                    let (client, url) = (client.clone(), url.clone());
                    let body = serde_json::to_vec(&copy).unwrap_or_default();
                    let (key_id, signature) =
                        self.keys.seal(self.settings.log.anchor_signature, &body);
                    async move {
                        let resp = client
                            .post(&url)
                            .header("content-type", "application/json")
                            .header("x-dangan-key-id", key_id)
                            .header("x-dangan-signature", signature)
                            .body(body)
                            .send()
                            .await
                            .map_err(|e| format!("见证服务不可用：{}", e.without_url()))?;
                        if resp.status().is_success() {
                            Ok(())
                        } else {
                            Err(format!("见证服务应答 HTTP {}", resp.status()))
                        }
                    }
                })
                .await?;
            out.push(("url".to_owned(), r));
        }
        Ok(out)
    }

    async fn push_to<F, Fut>(&self, witness: &str, send: F) -> AppResult<Result<usize, String>>
    where
        F: Fn(WitnessCopy) -> Fut,
        Fut: std::future::Future<Output = Result<(), String>>,
    {
        let mut tx = self.store.begin().await?;
        let mut pushed = audit::witness_pushed(&mut tx, witness).await?;
        let pending = audit::anchors(&mut tx, pushed, 10_000).await?;
        tx.rollback().await?;
        let mut sent = 0usize;
        for a in pending {
            if let Err(e) = send(self.witness_copy(&a)).await {
                tracing::warn!(witness, n = a.n, error = %e, "anchor not yet sent to a witness");
                self.record_pushed(witness, pushed).await?;
                return Ok(Err(e));
            }
            pushed = a.n;
            sent += 1;
        }
        self.record_pushed(witness, pushed).await?;
        Ok(Ok(sent))
    }

    async fn record_pushed(&self, witness: &str, n: i64) -> AppResult<()> {
        let mut tx = self.store.begin_write().await?;
        audit::set_witness_pushed(&mut tx, witness, n, Utc::now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends this process's use of the database: links pending entries, signs the head (so that
    /// what a command wrote is anchored now, not at the next start of the server), sends the
    /// anchors to the configured witnesses and closes the pool. Failures are logged, not fatal:
    /// the next anchor covers them.
    pub async fn close(&self) {
        let targets = self.settings.log.witness_targets.clone();
        if let Err(e) = self.anchor_and_witness(&Actor::system(), &targets).await {
            tracing::error!(error = %e, "cannot anchor the operation log");
        }
        self.store.close().await;
    }

    /// Signs the head and sends the anchors out: what `serve` does every interval and at
    /// shutdown, and `dangan audit anchor`. Failures are logged in the operation log's terms
    /// and returned.
    pub async fn anchor_and_witness(
        &self,
        actor: &Actor,
        targets: &[(String, Target)],
    ) -> AppResult<Option<Anchor>> {
        let anchor = self.anchor_log(actor).await;
        if let Err(e) = &anchor {
            let _ = self
                .log(
                    actor,
                    &Op::new("log.anchor", "log", "").detail(e.to_string()),
                    Outcome::Failed,
                )
                .await;
        }
        for (name, r) in self.push_witnesses(targets).await? {
            if let Err(e) = r {
                tracing::warn!(witness = %name, error = %e, "witness not reached; retried at the next anchor");
            }
        }
        anchor
    }
}

/// The newest anchor the local witness holds must still be in the database: the problem, said
/// in Chinese, when it is not. (A witness behind the database only missed a write; verification
/// compares what it has.)
fn anchors_removed(copies: &[WitnessCopy], last: Option<&Anchor>) -> Option<String> {
    let last_n = last.map_or(0, |a| a.n);
    let newest = copies.iter().map(|c| c.body.n).max().unwrap_or(0);
    if newest >= last_n && newest > 0 {
        let held = last.is_some_and(|a| {
            let d = body_of(a).digest(&a.signature);
            copies.iter().any(|c| c.body.n == a.n && c.digest() == d)
        });
        if !held || newest > last_n {
            return Some(format!(
                "本地见证副本有第{newest}号签名锚点，数据库中的锚点只到第{last_n}号或与之不符：锚点被删除或改写（或数据库从备份恢复后沿用了原密钥目录的见证副本），拒绝继续签名"
            ));
        }
    }
    None
}

fn tampered(message: String) -> AppError {
    AppError::Conflict {
        code: "log_tampered",
        field: None,
        message,
    }
}

/// The anchor's digest as bytes (what a time-stamp covers).
pub(crate) fn body_digest_bytes(body: &AnchorBody, signature: &str) -> [u8; 32] {
    let hex_digest = body.digest(signature);
    let mut out = [0u8; 32];
    if let Ok(bytes) = hex::decode(hex_digest) {
        out.copy_from_slice(&bytes[..32]);
    }
    out
}
