//! `dangan demo-data --persons N --seed S`: deterministic synthetic persons with their business
//! events and materials, with a progress bar.

use indicatif::{ProgressBar, ProgressStyle};

use dangan_app::{Actor, App};

use crate::config::StoreArgs;

/// Arguments of `demo-data`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// How many persons to generate.
    #[arg(long, default_value_t = 1000)]
    persons: usize,
    /// Seed: the same seed gives the same persons.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Loads demo data into an open app with a progress bar.
pub async fn load(app: &App, persons: usize, seed: u64) -> anyhow::Result<()> {
    let bar = ProgressBar::new(persons as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} 人 {per_sec} 剩余 {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("生成演示数据");
    let report = app
        .load_demo(&Actor::system(), seed, persons, |done| {
            bar.set_position(done as u64)
        })
        .await?;
    bar.finish_and_clear();
    println!(
        "演示数据：新增参保人 {} 人，业务 {} 笔，材料 {} 件；已存在而跳过 {} 人",
        report.persons, report.events, report.materials, report.skipped
    );
    Ok(())
}

/// Runs the subcommand.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let (app, _) = args.store.open(dangan_app::Settings::default()).await?;
    load(&app, args.persons, args.seed).await?;
    app.close().await;
    Ok(())
}
