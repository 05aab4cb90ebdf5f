//! `dangan import persons|events|contributions|benefits FILE`: bulk migration from an agency's
//! CSV (GB18030 or UTF-8, Chinese or English headers) or JSON Lines export, with a progress bar
//! (rows/s, ETA by bytes read), a reject file and a checkpoint to resume from. The work is
//! `dangan_app::integration::import`; this file is the flags and the terminal.

use std::path::PathBuf;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use dangan_app::Actor;
use dangan_app::integration::import::{
    DEFAULT_BATCH, ImportFormat, ImportKind, ImportOptions, ImportPlan, TextEncoding,
};

use crate::config::{RuleArgs, StoreArgs};

/// What the file holds.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Kind {
    /// 参保人 (the fields of a person registration).
    Persons,
    /// 业务事件, one a row, with their materials.
    Events,
    /// 缴费明细, upserted by (source system, source id).
    Contributions,
    /// 待遇发放, upserted by (source system, source id).
    Benefits,
}

/// The file's format.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// CSV with a header row.
    Csv,
    /// One JSON object a line, with the API's field names.
    Jsonl,
}

/// The file's encoding.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Encoding {
    /// UTF-8 (a BOM is stripped).
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    /// GB18030 (GBK, GB2312), as Chinese Excel saves CSV.
    #[value(alias = "gbk")]
    Gb18030,
    /// UTF-8 if the whole file is valid UTF-8, else GB18030.
    Auto,
}

/// Arguments of `import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    rules: RuleArgs,
    /// What the file holds.
    kind: Kind,
    /// The file.
    file: PathBuf,
    /// Format; default from the extension (.csv, .txt → csv; .jsonl, .ndjson, .json → jsonl).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Text encoding.
    #[arg(long, value_enum, default_value = "auto")]
    encoding: Encoding,
    /// The system the records come from: contributions and benefits are keyed by it and their
    /// source ids, events by it and their external ids.
    #[arg(long, default_value = "import")]
    source_system: String,
    /// The reject file (CSV, UTF-8 with BOM); default FILE.rejects.csv.
    #[arg(long)]
    rejects: Option<PathBuf>,
    /// Rows per batch: one transaction and one checkpoint each.
    #[arg(long, default_value_t = DEFAULT_BATCH)]
    batch: usize,
    /// Start from the first row even though FILE.import-state holds a checkpoint.
    #[arg(long)]
    restart: bool,
    /// Test hook: exit as if killed after committing the batch that reaches N rows, before its
    /// checkpoint.
    #[arg(long, hide = true)]
    stop_after_rows: Option<u64>,
}

/// Runs `import`.
pub async fn run(args: ImportArgs) -> anyhow::Result<()> {
    let kind = match args.kind {
        Kind::Persons => ImportKind::Persons,
        Kind::Events => ImportKind::Events,
        Kind::Contributions => ImportKind::Contributions,
        Kind::Benefits => ImportKind::Benefits,
    };
    let plan = ImportPlan::prepare(ImportOptions {
        kind,
        path: args.file.clone(),
        format: args.format.map(|f| match f {
            Format::Csv => ImportFormat::Csv,
            Format::Jsonl => ImportFormat::Jsonl,
        }),
        encoding: match args.encoding {
            Encoding::Utf8 => Some(TextEncoding::Utf8),
            Encoding::Gb18030 => Some(TextEncoding::Gb18030),
            Encoding::Auto => None,
        },
        source_system: args.source_system.clone(),
        rejects: args.rejects.clone(),
        batch: args.batch,
        restart: args.restart,
        stop_after_rows: args.stop_after_rows,
    })?;
    let (encoding, detected) = plan.encoding();
    println!(
        "导入{}：{}（{}，{}{}）",
        kind.label(),
        args.file.display(),
        plan.format().code(),
        encoding.label(),
        if detected { "，自动识别" } else { "" }
    );
    if !plan.ignored_columns().is_empty() {
        println!("忽略未识别的列：{}", plan.ignored_columns().join("、"));
    }
    if let Some((line, c)) = plan.resumes_after() {
        println!(
            "接着上次未完成的导入，从第 {} 行继续（已处理 {} 行：接收 {}，拒绝 {}，跳过 {}）",
            line, c.rows, c.accepted, c.rejected, c.skipped
        );
    }
    let (app, _) = args.store.open(args.rules.settings()?).await?;
    let bar = ProgressBar::new(plan.total_bytes());
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:40}] {bytes}/{total_bytes} {msg} 剩余 {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix(format!("导入{}", kind.label()));
    bar.enable_steady_tick(Duration::from_millis(500));
    let started = std::time::Instant::now();
    let report = app
        .import_file(&Actor::system(), plan, |p| {
            let secs = started.elapsed().as_secs_f64().max(0.001);
            bar.set_position(p.bytes);
            bar.set_message(format!(
                "{} 行 {:.0} 行/秒",
                p.counts.rows,
                p.rows_this_run as f64 / secs
            ));
        })
        .await;
    bar.finish_and_clear();
    app.close().await;
    let report = report?;
    let c = report.counts;
    if !report.finished {
        anyhow::bail!(
            "已按 --stop-after-rows 在读入 {} 行后中止（断点未更新，模拟进程被杀）",
            report.rows_this_run
        );
    }
    println!(
        "导入完成：共 {} 行，接收 {} 条，拒绝 {} 条，跳过 {} 条；本次 {} 行，用时 {:.1} 秒（{:.0} 行/秒）",
        c.rows,
        c.accepted,
        c.rejected,
        c.skipped,
        report.rows_this_run,
        report.seconds,
        report.rows_this_run as f64 / report.seconds.max(0.001)
    );
    if let Some(path) = &report.rejects {
        println!(
            "被拒绝的行见 {}（行号、来源编号、字段、代码、原因）",
            path.display()
        );
    }
    Ok(())
}
