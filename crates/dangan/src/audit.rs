//! `dangan audit verify`, `dangan audit anchor`, `dangan audit public-key`: the operation log's
//! integrity from the server's shell, and from an auditor's machine that holds only the public
//! key and witness copies of the anchors. `verify` exits non-zero and names the first bad place.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use dangan_app::security::audit::{CheckStatus, VerifyOptions, VerifyReport, WitnessSource};
use dangan_app::security::keyring::PublicKey;

use crate::backup::TargetArgs;
use crate::config::StoreArgs;

/// How often the operation log is anchored (`serve`, `audit verify`).
#[derive(Debug, Clone, clap::Args)]
pub struct IntervalArgs {
    /// Minutes between signed anchors of the operation log's head (1–1440). The verifier
    /// treats entries older than two intervals without an anchor as tampering, so `audit
    /// verify` must be given the interval `serve` uses.
    #[arg(long, env = "DANGAN_ANCHOR_MINUTES", default_value_t = 10)]
    pub anchor_minutes: u64,
}

impl IntervalArgs {
    /// The anchor interval, checked.
    pub fn interval(&self) -> anyhow::Result<Duration> {
        if !(1..=1440).contains(&self.anchor_minutes) {
            anyhow::bail!("--anchor-minutes 应在1至1440之间（签名锚点是必需的，不能关闭）");
        }
        Ok(Duration::from_secs(self.anchor_minutes * 60))
    }

    /// Writes the interval into `settings`.
    pub fn apply(&self, settings: &mut dangan_app::Settings) -> anyhow::Result<()> {
        settings.log.anchor_interval = self.interval()?;
        Ok(())
    }
}

/// Where every command sends the anchors it signs besides the local witness (part of the store
/// arguments, so that a command anchoring as it ends uses them too).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LogArgs {
    /// An external witness of the log: every anchor is POSTed to it as JSON, signed
    /// (`X-Dangan-Key-Id`, `X-Dangan-Signature`).
    #[arg(long, env = "DANGAN_AUDIT_WITNESS_URL")]
    pub audit_witness_url: Option<String>,
    /// An RFC 3161 time-stamping authority (`http://…`); each anchor gets its token.
    #[arg(long, env = "DANGAN_TSA_URL")]
    pub tsa_url: Option<String>,
}

impl LogArgs {
    /// Writes the witness URL and the time-stamping authority into `settings`.
    pub fn apply(&self, settings: &mut dangan_app::Settings) -> anyhow::Result<()> {
        for (flag, url) in [
            ("--audit-witness-url", &self.audit_witness_url),
            ("--tsa-url", &self.tsa_url),
        ] {
            if let Some(u) = url
                && !(u.starts_with("http://") || u.starts_with("https://"))
            {
                anyhow::bail!("{flag} 应以 http:// 或 https:// 开头");
            }
        }
        settings.log.witness_url = self.audit_witness_url.clone();
        settings.log.tsa_url = self.tsa_url.clone();
        Ok(())
    }
}

/// Audit subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Verify the chain, its MACs, the anchors and their witness copies (校验操作日志).
    Verify(VerifyArgs),
    /// Sign the current head of the log and send the anchors to the witnesses (锚定操作日志).
    Anchor(AnchorArgs),
    /// Print the public keys that check the anchors, for an auditor (输出签名公钥).
    PublicKey(StoreArgs),
}

/// Arguments of `audit verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    interval: IntervalArgs,
    #[command(flatten)]
    targets: TargetArgs,
    /// Witness copies to compare with (repeatable): a directory of `anchor-*.json` files
    /// (e.g. what the witness URL received, or a copy of a backup target's `anchors/`), or
    /// `local` / `cloud` for a configured backup target.
    #[arg(long = "witness")]
    witness: Vec<String>,
    /// Verify offline with only this public key (hex or a file holding it; repeatable), without
    /// the key directory: the public chain, the anchors and the witness copies are checked, the
    /// keyed MACs are not.
    #[arg(long = "public-key")]
    public_key: Vec<String>,
    /// The time-stamping authority's CA certificate (PEM), to check the tokens' signatures
    /// (needs `openssl`).
    #[arg(long)]
    tsa_ca: Option<PathBuf>,
}

/// Arguments of `audit anchor`.
#[derive(Debug, clap::Args)]
pub struct AnchorArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    targets: TargetArgs,
}

async fn witnesses(args: &VerifyArgs) -> anyhow::Result<Vec<WitnessSource>> {
    let configured = args.targets.targets().await?;
    let mut out = Vec::new();
    for w in &args.witness {
        if let Some((name, target)) = configured.iter().find(|(n, _)| n == w) {
            out.push(WitnessSource {
                name: format!("备份目标 {name}"),
                target: target.clone(),
                prefix: dangan_app::security::audit::anchor::WITNESS_PREFIX.to_owned(),
                newest: None,
            });
            continue;
        }
        let dir = PathBuf::from(w);
        if !dir.is_dir() {
            anyhow::bail!(
                "--witness {w}：既不是已配置的备份目标（local、cloud），也不是存在的目录"
            );
        }
        // A backup target's directory holds its copies under anchors/.
        let (root, prefix) = if dir.join("anchors").is_dir() {
            (
                dir.clone(),
                dangan_app::security::audit::anchor::WITNESS_PREFIX.to_owned(),
            )
        } else {
            (dir.clone(), String::new())
        };
        let target = dangan_vault::Target::local(&root)
            .await
            .with_context(|| format!("无法读取见证目录 {}", dir.display()))?;
        out.push(WitnessSource {
            name: format!("见证目录 {}", dir.display()),
            target,
            prefix,
            newest: None,
        });
    }
    Ok(out)
}

fn parse_public_key(text: &str) -> anyhow::Result<PublicKey> {
    let path = std::path::Path::new(text);
    let hex = if path.is_file() {
        std::fs::read_to_string(path)
            .with_context(|| format!("无法读取公钥文件 {}", path.display()))?
    } else {
        text.to_owned()
    };
    PublicKey::parse_hex(hex.trim()).map_err(|e| anyhow::anyhow!("{e}"))
}

fn print_report(report: &VerifyReport) -> anyhow::Result<()> {
    for c in &report.checks {
        let mark = match c.status {
            CheckStatus::Ok => "通过",
            CheckStatus::Failed => "未通过",
            CheckStatus::Skipped => "未检查",
        };
        if c.detail.is_empty() {
            println!("  [{mark}] {}", c.name);
        } else {
            println!("  [{mark}] {}：{}", c.name, c.detail);
        }
    }
    if report.ok {
        println!(
            "操作日志完整：共 {} 条（另有 {} 条待入链），签名锚点 {} 个，见证副本 {} 份，链头 {}",
            report.entries, report.pending, report.anchors, report.witnessed, report.head_hash
        );
        Ok(())
    } else {
        match report.first_bad_seq {
            Some(seq) => anyhow::bail!(
                "操作日志校验失败：第 {seq} 条起有问题：{}",
                report.problem.clone().unwrap_or_default()
            ),
            None => anyhow::bail!(
                "操作日志校验失败：{}",
                report.problem.clone().unwrap_or_default()
            ),
        }
    }
}

/// Runs an audit subcommand.
pub async fn run(cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Verify(args) => {
            let witnesses = witnesses(&args).await?;
            let interval = args.interval.interval()?;
            let report = if args.public_key.is_empty() {
                let mut settings = dangan_app::Settings::default();
                args.interval.apply(&mut settings)?;
                let (app, _) = args.store.open(settings).await?;
                let report = app
                    .verify_log_with(
                        &dangan_app::Actor::system(),
                        VerifyOptions {
                            witnesses,
                            tsa_ca: args.tsa_ca.clone(),
                            ..VerifyOptions::default()
                        },
                    )
                    .await;
                app.close().await;
                report?
            } else {
                let keys = args
                    .public_key
                    .iter()
                    .map(|k| parse_public_key(k))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                println!("离线校验：只用公钥，不读取密钥目录");
                dangan_app::security::audit::verify_offline(
                    &args.store.store_config()?,
                    &keys,
                    Some(interval),
                    witnesses,
                    args.tsa_ca.clone(),
                )
                .await?
            };
            print_report(&report)
        }
        AuditCommand::Anchor(args) => {
            let settings = dangan_app::Settings::default();
            let targets = args.targets.targets().await?;
            let (app, _) = args.store.open(settings).await?;
            let anchored = app
                .anchor_and_witness(&dangan_app::Actor::system(), &targets)
                .await;
            app.store().close().await;
            println!(
                "已送达见证：本地见证（密钥目录）{}",
                if targets.is_empty() {
                    String::new()
                } else {
                    format!(
                        "，备份目标 {}",
                        targets
                            .iter()
                            .map(|(n, _)| n.as_str())
                            .collect::<Vec<_>>()
                            .join("、")
                    )
                }
            );
            match anchored? {
                Some(a) => println!(
                    "已签名锚定第 {} 条（第 {} 号锚点，密钥 {}{}）",
                    a.seq,
                    a.n,
                    a.key_id,
                    if a.tsa_token.is_some() {
                        "，附可信时间戳"
                    } else {
                        ""
                    }
                ),
                None => println!("日志头自上次锚定以来没有变化"),
            }
            Ok(())
        }
        AuditCommand::PublicKey(store) => {
            let keys = dangan_app::KeyRing::load_existing(&store.key_dir())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "# 算法 密钥编号 公钥（十六进制）；离线校验：dangan audit verify --public-key <公钥>"
            );
            for k in keys.public_keys() {
                println!("{} {} {}", k.algorithm().name(), k.key_id(), k.to_hex());
            }
            Ok(())
        }
    }
}
