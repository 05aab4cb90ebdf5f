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
#[command(name = "dangan", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the server: web UI, JSON API and background jobs (启动服务).
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
    /// Act as the pension business system against a running server (业务系统模拟).
    ///
    /// Persons, auto-archived business with scans, contribution batches, corrections and person
    /// changes, sent as the business system would.
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

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// Every subcommand below `cmd`, with its path (`user add`).
    fn walk(cmd: &clap::Command, path: &str, out: &mut Vec<(String, clap::Command)>) {
        for sub in cmd.get_subcommands() {
            let p = format!("{path} {}", sub.get_name()).trim().to_owned();
            out.push((p.clone(), sub.clone()));
            walk(sub, &p, out);
        }
    }

    #[test]
    fn every_subcommand_is_listed_in_help_with_one_line_in_english_and_chinese() {
        let mut root = Cli::command();
        root.build();
        let mut all = Vec::new();
        walk(&root, "", &mut all);
        assert!(all.len() > 20, "{} subcommands", all.len());
        for (path, cmd) in &all {
            if cmd.get_name() == "help" {
                continue;
            }
            assert!(!cmd.is_hide_set(), "`dangan {path}` is hidden");
            let about = cmd.get_about().map(|a| a.to_string()).unwrap_or_default();
            assert!(
                !about.contains('\n'),
                "`dangan {path}`: one line, not {about:?}"
            );
            assert!(
                about.chars().any(|c| c.is_ascii_alphabetic()),
                "`dangan {path}` has no English description: {about:?}"
            );
            assert!(
                about
                    .chars()
                    .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "`dangan {path}` has no Chinese description: {about:?}"
            );
            // The parent's help lists it with that line.
            let parent = path.rsplit_once(' ').map_or("", |(p, _)| p);
            let mut parent_cmd = root.clone();
            for part in parent.split_whitespace() {
                parent_cmd = parent_cmd.find_subcommand(part).unwrap().clone();
            }
            let help = parent_cmd.render_help().to_string();
            assert!(
                help.lines().any(|l| {
                    let l = l.trim_start();
                    l.starts_with(&format!("{} ", cmd.get_name()))
                        && l.contains(about.trim_end_matches('.'))
                }),
                "`dangan {parent} --help` lists `{}` with its line:\n{help}",
                cmd.get_name()
            );
        }
    }
}
