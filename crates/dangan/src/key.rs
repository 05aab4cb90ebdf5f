//! `dangan key rotate`: re-wraps every blob's data key under a new master key without rewriting
//! any blob. Resumable; run it with the server stopped.

use indicatif::ProgressBar;

use dangan_app::Actor;

use crate::config::{RuleArgs, StoreArgs};

/// Key subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum KeyCommand {
    /// Rotate the master key (轮换主密钥).
    Rotate(StoreArgs),
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
                "已用新主密钥重新封装 {n} 个数据密钥；旧主密钥已移入 keys/retired/（旧备份仍需要它）"
            );
            app.store().close().await;
            Ok(())
        }
    }
}
