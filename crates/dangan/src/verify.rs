//! `dangan verify [--file ID]`: re-reads every stored scan (or one), recomputes its SHA-256 and
//! (when it has one) SM3, authenticates every encrypted record and checks its seal over the current metadata.
//! Exits non-zero and names each file that fails. `dangan gc` removes orphan blobs.

use indicatif::{ProgressBar, ProgressStyle};

use dangan_app::Actor;
use dangan_app::ids::FileId;

use crate::config::{RuleArgs, StoreArgs};

/// Arguments of `verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Only this file.
    #[arg(long)]
    file: Option<i64>,
}

/// Runs `verify`.
pub async fn run(args: VerifyArgs) -> anyhow::Result<()> {
    let (app, _) = args.store.open(RuleArgs::default().settings()?).await?;
    let actor = Actor::system();
    let failures = match args.file {
        Some(id) => {
            let v = app.verify_file(&actor, FileId(id)).await?;
            if v.ok {
                println!("文件 {id}：数字摘要与电子印章均有效");
            }
            if v.ok { Vec::new() } else { vec![v] }
        }
        None => {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} 已校验 {pos} 个文件 {per_sec}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            let (done, failures) = app
                .verify_all_files(&actor, |n| bar.set_position(n as u64))
                .await?;
            bar.finish_and_clear();
            println!("共校验 {done} 个电子文件，{} 个有问题", failures.len());
            failures
        }
    };
    app.close().await;
    if failures.is_empty() {
        return Ok(());
    }
    for f in &failures {
        eprintln!("文件 {}：{}", f.file_id, f.problems.join("；"));
    }
    anyhow::bail!("{} 个电子文件校验失败", failures.len())
}

/// Arguments of `gc`.
#[derive(Debug, clap::Args)]
pub struct GcArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Keep orphans younger than this many minutes: they may belong to an ingest still under
    /// way in another process (0 when nothing else runs on this data).
    #[arg(long, default_value_t = 60)]
    grace_minutes: u64,
}

/// Runs `gc`.
pub async fn gc(args: GcArgs) -> anyhow::Result<()> {
    let (app, _) = args.store.open(RuleArgs::default().settings()?).await?;
    let grace = std::time::Duration::from_secs(args.grace_minutes.saturating_mul(60));
    let removed = app.collect_garbage(&Actor::system(), grace).await?;
    println!("已清理 {removed} 个无主数据块或临时文件");
    app.close().await;
    Ok(())
}
