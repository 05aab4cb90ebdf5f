//! `dangan ingest DIR`: a scanner's hot folder into the electronic archive, with a progress bar
//! and a summary; re-runnable (what is already in is skipped). Unmatched files go on the
//! quarantine list with their reason; identity numbers in names are printed masked.

use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};

use dangan_app::Actor;

use crate::config::{RuleArgs, StoreArgs};

/// Arguments of `ingest`.
#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    rules: RuleArgs,
    /// The folder of scans named `年度-业务类型-参保人ID-材料名称.ext`.
    dir: PathBuf,
}

/// Runs `ingest`.
pub async fn run(args: IngestArgs) -> anyhow::Result<()> {
    let (app, _) = args.store.open(args.rules.settings()?).await?;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("扫描件入库 [{bar:40}] {pos}/{len} {per_sec} 剩余 {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report = app
        .ingest_folder(&Actor::system(), &args.dir, |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        })
        .await?;
    bar.finish_and_clear();
    println!(
        "入库 {} 个，已存在而跳过 {} 个，待处理（隔离） {} 个",
        report.ingested,
        report.skipped,
        report.quarantined.len()
    );
    if let Some(why) = &report.stopped {
        println!("入库中止：{why}");
    }
    for (name, reason) in &report.quarantined {
        println!("  隔离：{name}：{reason}");
    }
    let c = &report.checks;
    println!(
        "四性检测：本批入库 {} 个文件，{} 个全部通过",
        c.files, c.files_passed
    );
    for t in &c.properties {
        println!(
            "  {}：通过 {}，未通过 {}，跳过 {}",
            t.property, t.passed, t.failed, t.skipped
        );
    }
    for f in &c.failures {
        println!("  未通过：{} {} {}：{}", f.file, f.code, f.name, f.reason);
    }
    for b in &c.batch_checks {
        let verdict = match b.passed {
            Some(true) => "通过",
            Some(false) => "未通过",
            None => "跳过",
        };
        println!("  批次 {} {}：{}（{}）", b.code, b.name, verdict, b.reason);
    }
    app.close().await;
    if let Some(why) = &report.stopped {
        anyhow::bail!("入库未完成，{why}；排除故障后重新运行即可（已入库的文件会被跳过）");
    }
    Ok(())
}
