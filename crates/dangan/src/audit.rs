//! `dangan audit verify` and `dangan audit anchor`: the operation log's integrity from the
//! server's shell. `verify` exits non-zero and names the first bad entry when the chain, the
//! head or an anchor does not hold.

use crate::config::StoreArgs;

/// Audit subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Verify the hash chain, the head and every signed anchor (校验操作日志).
    Verify(StoreArgs),
    /// Sign the current head of the log (锚定操作日志).
    Anchor(StoreArgs),
}

/// Runs an audit subcommand.
pub async fn run(cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Verify(args) => {
            let (app, _) = args.open(dangan_app::Settings::default()).await?;
            let report = app.verify_log(&dangan_app::Actor::system()).await?;
            app.store().close().await;
            if report.ok {
                println!(
                    "操作日志完整：共 {} 条，签名锚点 {} 个，链头 {}",
                    report.entries, report.anchors, report.head_hash
                );
                Ok(())
            } else {
                anyhow::bail!(
                    "操作日志校验失败：第 {} 条起有问题：{}",
                    report.first_bad_seq.unwrap_or_default(),
                    report.problem.unwrap_or_default()
                )
            }
        }
        AuditCommand::Anchor(args) => {
            let (app, _) = args.open(dangan_app::Settings::default()).await?;
            match app.anchor_log(&dangan_app::Actor::system()).await? {
                Some(a) => println!("已签名锚定第 {} 条（密钥 {}）", a.seq, a.key_id),
                None => println!("日志头自上次锚定以来没有变化"),
            }
            app.store().close().await;
            Ok(())
        }
    }
}
