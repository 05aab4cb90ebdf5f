//! `dangan` — the records system of a county pension agency, in one binary.
//!
//! Subcommands: `serve` (the whole system), `migrate`, `user add`, `demo-data`, `ingest`, `import`,
//! `verify`, `gc`, `key`, `cert`, `audit`, `backup`, `restore`, `simulate`. Each lives in its own file;
//! configuration is read in `config.rs`.

use clap::{Parser, Subcommand};

mod audit;
mod backup;
mod cert;
mod config;
mod demo_data;
mod import;
mod ingest;
mod key;
mod migrate;
mod schedule;
mod serve;
mod simulate;
mod user;
mod verify;

/// Dangan (档案) — 城乡居民基本养老保险档案管理系统
#[derive(Debug, Parser)]
#[command(name = "dangan", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the server: JSON API and health check (启动服务).
    Serve(serve::ServeArgs),
    /// Apply database migrations and seed data, then exit (升级数据库).
    Migrate(config::StoreArgs),
    /// Manage staff accounts (用户管理).
    #[command(subcommand)]
    User(user::UserCommand),
    /// Generate deterministic synthetic persons with their business (生成演示数据).
    DemoData(demo_data::DemoArgs),
    /// Ingest a scanner's hot folder (扫描件入库).
    Ingest(ingest::IngestArgs),
    /// Bulk migration of persons, events, contributions or benefits from CSV or JSON Lines (批量导入).
    Import(import::ImportArgs),
    /// Verify stored scans: digests, encryption and seals (校验电子文件).
    Verify(verify::VerifyArgs),
    /// Remove blobs no metadata knows, left by a crash (清理无主数据块).
    Gc(verify::GcArgs),
    /// The master key (主密钥).
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Certificates for TLS (证书).
    #[command(subcommand)]
    Cert(cert::CertCommand),
    /// Verify or anchor the operation log (操作日志校验).
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Write a backup set to the configured targets, or verify a target (备份).
    Backup(backup::BackupCommand),
    /// Rebuild an instance from a target's backup sets into a new data directory (恢复).
    Restore(backup::RestoreArgs),
    /// Act as the pension business system against a running server: persons, auto-archived
    /// business with scans, contribution batches, corrections, person changes (业务系统模拟).
    Simulate(simulate::SimulateArgs),
}

fn main() -> std::process::ExitCode {
    // Everything this process creates — the database and its WAL, the vault, the spool, keys,
    // backups, certificates — is for the service account alone: files 0600, directories 0700.
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let cli = Cli::parse();
    let log_format = match &cli.command {
        Command::Serve(args) => args.log_format,
        _ => config::LogFormat::from_env(),
    };
    config::init_tracing(log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("错误：无法启动运行时：{e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Migrate(args) => migrate::run(args).await,
            Command::User(cmd) => user::run(cmd).await,
            Command::DemoData(args) => demo_data::run(args).await,
            Command::Audit(cmd) => audit::run(cmd).await,
            Command::Cert(cmd) => cert::run(cmd),
            Command::Verify(args) => verify::run(args).await,
            Command::Ingest(args) => ingest::run(args).await,
            Command::Import(args) => import::run(args).await,
            Command::Gc(args) => verify::gc(args).await,
            Command::Key(cmd) => key::run(cmd).await,
            Command::Backup(cmd) => backup::run(cmd).await,
            Command::Restore(args) => backup::restore(args).await,
            Command::Simulate(args) => simulate::run(args).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("错误：{e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
