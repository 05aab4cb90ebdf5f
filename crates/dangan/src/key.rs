//! `dangan key rotate`: re-wraps every blob's data key under a new master key without rewriting
//! any blob (resumable; run it with the server stopped). `dangan key export` / `import`: the
//! agency's keys, encrypted under a passphrase read from standard input, for safe keeping apart
//! from the backups and for a restore on another machine.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::Context;
use indicatif::ProgressBar;

use dangan_app::{Actor, KeyRing};

use crate::config::{RuleArgs, StoreArgs};

/// Key subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum KeyCommand {
    /// Rotate the master key (轮换主密钥).
    Rotate(StoreArgs),
    /// Export every key, encrypted under a passphrase read from standard input (导出密钥).
    Export(ExportArgs),
    /// Import exported keys into an empty key directory (导入密钥).
    Import(ImportArgs),
}

/// Arguments of `key export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The file to write (refused if it exists).
    #[arg(long)]
    out: PathBuf,
}

/// Arguments of `key import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The exported file.
    #[arg(long)]
    from: PathBuf,
    /// The key directory to fill (must hold no master key).
    #[arg(long, env = "DANGAN_KEY_DIR")]
    key_dir: PathBuf,
}

fn passphrase() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("无法从标准输入读取口令")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Runs a key subcommand.
pub async fn run(cmd: KeyCommand) -> anyhow::Result<()> {
    match cmd {
        KeyCommand::Rotate(store) => {
            let (app, _) = store.open(RuleArgs::default().settings()?).await?;
            let bar = ProgressBar::new_spinner();
            let n = app
                .rotate_master_key(&Actor::system(), |n| bar.set_position(n as u64))
                .await?;
            bar.finish_and_clear();
            println!(
                "已用新主密钥重新封装 {} 个数据密钥，并以新字段密钥重新加密 {} 项个人信息；旧主密钥已移入 keys/retired/（旧备份仍需要它）",
                n.data_keys, n.personal_values
            );
            app.close().await;
            Ok(())
        }
        KeyCommand::Export(args) => {
            if args.out.exists() {
                anyhow::bail!("文件 {} 已存在，不会覆盖", args.out.display());
            }
            let pass = passphrase()?;
            let (app, _) = args.store.open(RuleArgs::default().settings()?).await?;
            let bytes = app.export_keys(&Actor::system(), &pass).await?;
            app.close().await;
            std::fs::write(&args.out, bytes)
                .with_context(|| format!("无法写入 {}", args.out.display()))?;
            println!(
                "已导出全部密钥到 {}（口令加密）。请与备份分开保管：没有它，备份无法恢复。",
                args.out.display()
            );
            Ok(())
        }
        KeyCommand::Import(args) => {
            let pass = passphrase()?;
            let bytes = std::fs::read(&args.from)
                .with_context(|| format!("无法读取 {}", args.from.display()))?;
            let ring = KeyRing::import(&bytes, &pass, &args.key_dir)?;
            println!(
                "已导入密钥到 {}（签名密钥 {}）",
                args.key_dir.display(),
                ring.key_id()
            );
            Ok(())
        }
    }
}
