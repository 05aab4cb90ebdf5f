//! `dangan backup [--full] [--target NAME]`, `dangan backup verify`, `dangan restore`, and the
//! backup targets' configuration: `local` (a directory on another disk) and `cloud` (an
//! S3-compatible bucket). The schedule inside `serve` is in `schedule.rs`.

use std::fmt;
use std::path::PathBuf;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use dangan_app::Actor;
use dangan_app::security::backup::RestoreInto;
use dangan_vault::Target;

use crate::config::{RuleArgs, StoreArgs};

/// Where backups go and when.
#[derive(Clone, clap::Args)]
pub struct TargetArgs {
    /// Target `local`: a directory, preferably on another disk.
    #[arg(long, env = "DANGAN_BACKUP_DIR")]
    pub backup_dir: Option<PathBuf>,
    /// Target `cloud`: S3 endpoint URL.
    #[arg(long, env = "DANGAN_BACKUP_S3_ENDPOINT")]
    pub backup_s3_endpoint: Option<String>,
    /// Target `cloud`: bucket.
    #[arg(long, env = "DANGAN_BACKUP_S3_BUCKET")]
    pub backup_s3_bucket: Option<String>,
    /// Target `cloud`: region.
    #[arg(long, env = "DANGAN_BACKUP_S3_REGION", default_value = "us-east-1")]
    pub backup_s3_region: String,
    /// Target `cloud`: access key id.
    #[arg(long, env = "DANGAN_BACKUP_S3_ACCESS_KEY")]
    pub backup_s3_access_key: Option<String>,
    /// Target `cloud`: secret key (prefer the environment variable).
    #[arg(long, env = "DANGAN_BACKUP_S3_SECRET_KEY", hide_env_values = true)]
    pub backup_s3_secret_key: Option<String>,
    /// Target `cloud`: key prefix inside the bucket.
    #[arg(long, env = "DANGAN_BACKUP_S3_PREFIX", default_value = "dangan")]
    pub backup_s3_prefix: String,
    /// How many full sets to keep on each target, with their incrementals.
    #[arg(long, env = "DANGAN_BACKUP_KEEP_FULLS", default_value_t = 8)]
    pub backup_keep_fulls: usize,
}

impl fmt::Debug for TargetArgs {
    /// The secret key is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TargetArgs")
            .field("backup_dir", &self.backup_dir)
            .field("backup_s3_endpoint", &self.backup_s3_endpoint)
            .field("backup_s3_bucket", &self.backup_s3_bucket)
            .field("backup_s3_prefix", &self.backup_s3_prefix)
            .field("backup_keep_fulls", &self.backup_keep_fulls)
            .finish_non_exhaustive()
    }
}

impl TargetArgs {
    /// The configured targets by name: `local`, `cloud`.
    pub async fn targets(&self) -> anyhow::Result<Vec<(String, Target)>> {
        let mut out = Vec::new();
        if let Some(dir) = &self.backup_dir {
            let t = Target::local(dir)
                .await
                .with_context(|| format!("无法使用备份目录 {}", dir.display()))?;
            out.push(("local".to_owned(), t));
        }
        if let Some(endpoint) = &self.backup_s3_endpoint {
            let need = |v: &Option<String>, flag: &str| {
                v.clone()
                    .filter(|s| !s.trim().is_empty())
                    .ok_or_else(|| anyhow::anyhow!("云端备份需要 {flag}"))
            };
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                anyhow::bail!("--backup-s3-endpoint 应以 http:// 或 https:// 开头");
            }
            let config = dangan_vault::S3Config {
                endpoint: endpoint.clone(),
                bucket: need(&self.backup_s3_bucket, "--backup-s3-bucket")?,
                region: self.backup_s3_region.clone(),
                access_key: need(&self.backup_s3_access_key, "--backup-s3-access-key")?,
                secret_key: need(&self.backup_s3_secret_key, "--backup-s3-secret-key")?,
                allow_http: endpoint.starts_with("http://"),
            };
            out.push((
                "cloud".to_owned(),
                Target::s3(&config, &self.backup_s3_prefix)?,
            ));
        }
        Ok(out)
    }

    /// One target by name.
    pub async fn target(&self, name: &str) -> anyhow::Result<Target> {
        self.targets()
            .await?
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "没有名为 {name} 的备份目标：local 需要 --backup-dir，cloud 需要 --backup-s3-endpoint 等"
                )
            })
    }
}

/// `dangan backup …`
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BackupCommand {
    #[command(subcommand)]
    sub: Option<BackupSub>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, clap::Subcommand)]
enum BackupSub {
    /// Check a target's sets without restoring (校验备份).
    Verify(VerifyArgs),
}

/// Arguments of a backup run.
#[derive(Debug, clap::Args)]
struct RunArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    targets: TargetArgs,
    /// A full set even when an incremental one could build on the last set.
    #[arg(long)]
    full: bool,
    /// Only this target (`local` or `cloud`); default every configured one.
    #[arg(long)]
    target: Option<String>,
}

/// Arguments of `backup verify`.
#[derive(Debug, clap::Args)]
struct VerifyArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    targets: TargetArgs,
    /// The target to check.
    #[arg(long)]
    target: String,
}

fn bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} {per_sec} 剩余 {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Runs `backup`.
pub async fn run(cmd: BackupCommand) -> anyhow::Result<()> {
    match cmd.sub {
        Some(BackupSub::Verify(args)) => verify(args).await,
        None => backup(cmd.run).await,
    }
}

async fn backup(args: RunArgs) -> anyhow::Result<()> {
    let targets = match &args.target {
        Some(name) => vec![(name.clone(), args.targets.target(name).await?)],
        None => args.targets.targets().await?,
    };
    if targets.is_empty() {
        anyhow::bail!("没有配置备份目标：用 --backup-dir 或 --backup-s3-endpoint 等指定");
    }
    let mut settings = RuleArgs::default().settings()?;
    // The targets also witness the operation log: the anchors go with every backup.
    settings.log.witness_targets = targets.clone();
    let (app, _) = args.store.open(settings).await?;
    let mut failed = Vec::new();
    for (name, target) in &targets {
        let bar = bar();
        bar.set_message(format!("备份到 {name}"));
        let result = app
            .backup(
                &Actor::system(),
                name,
                target,
                args.full,
                args.targets.backup_keep_fulls,
                |done, total| {
                    bar.set_length(total);
                    bar.set_position(done);
                },
            )
            .await;
        bar.finish_and_clear();
        match result {
            Ok(r) => {
                println!(
                    "备份目标 {name}：{} 备份集 {}，{} 个对象，{:.1} MB",
                    if r.kind == "full" { "全量" } else { "增量" },
                    r.set,
                    r.objects,
                    r.bytes as f64 / 1e6
                );
                for s in &r.cleared {
                    println!("  删除上次中断留下的未完成备份集 {s}");
                }
                for s in &r.retired {
                    println!("  按保留规则删除旧备份集 {s}");
                }
            }
            Err(e) => {
                eprintln!("备份目标 {name}：失败：{e}");
                failed.push(name.clone());
            }
        }
    }
    app.close().await;
    if failed.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("备份失败的目标：{}", failed.join("、"))
    }
}

async fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    let target = args.targets.target(&args.target).await?;
    let (app, _) = args.store.open(RuleArgs::default().settings()?).await?;
    let checks = app.verify_backups(&Actor::system(), &target).await?;
    app.close().await;
    let mut bad = 0;
    for c in &checks {
        let verdict = match (c.complete, c.ok) {
            (true, true) => "完好",
            (false, _) => "未完成",
            (true, false) => {
                bad += 1;
                "有问题"
            }
        };
        println!("备份集 {}：{verdict}", c.set);
        for p in &c.problems {
            println!("  {p}");
        }
    }
    println!("共 {} 个备份集，{} 个有问题", checks.len(), bad);
    if bad > 0 {
        anyhow::bail!("{bad} 个备份集校验失败");
    }
    Ok(())
}

/// Arguments of `restore`.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    targets: TargetArgs,
    /// The target to restore from.
    #[arg(long)]
    target: String,
    /// The set to restore (default: the newest set of the target, which must then be whole; an
    /// older one only when named here).
    #[arg(long)]
    set: Option<String>,
}

/// Runs `restore`: the new data directory (`--data-dir`, and `--database-url` for a
/// PostgreSQL set) gets the database and every blob it knows. The agency's keys must already be
/// in the key directory (`dangan key import`). A damaged or unfinished newest set stops it with
/// the reason; an older set is restored only when `--set` names it.
pub async fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let target = args.targets.target(&args.target).await?;
    let key_dir = args
        .store
        .key_dir
        .clone()
        .unwrap_or_else(|| args.store.data_dir.join("keys"));
    let keys = dangan_app::KeyRing::load_existing(&key_dir)?;
    let bar = bar();
    bar.set_message("恢复数据块");
    let result = dangan_app::security::backup::restore(
        &target,
        args.set.as_deref(),
        &keys,
        &RestoreInto {
            data_dir: args.store.data_dir.clone(),
            database_url: args.store.database_url.clone(),
            target_name: args.target.clone(),
        },
        |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        },
    )
    .await;
    bar.finish_and_clear();
    let report = result?;
    println!(
        "已从备份集 {} 恢复（备份链：{}），{} 个数据块，{:.1} MB。请运行 dangan verify 校验。",
        report.set,
        report.chain.join(" ← "),
        report.blobs,
        report.bytes as f64 / 1e6
    );
    if !report.newer.is_empty() {
        println!(
            "注意：目标上还有更新的备份集 {}，未恢复（按 --set 的指定）。",
            report.newer.join("、")
        );
    }
    Ok(())
}
