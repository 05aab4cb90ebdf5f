//! `dangan user add`: creates a staff account from the server's shell.

use std::io::BufRead;

use dangan_app::{Actor, Role};

use crate::config::StoreArgs;

/// User subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Create a user (新增用户).
    Add(AddArgs),
    /// Create an API token for a machine client such as the pension business system (接口令牌).
    Token(TokenArgs),
}

/// Arguments of `user token`.
#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The token's name, e.g. `pension-system`.
    #[arg(long)]
    name: String,
    /// A scope to grant (repeat): persons:write, events:write, files:write, archive:write,
    /// sync:write, persons:search, catalogue:read, reference:read.
    #[arg(long = "scope", required = true)]
    scopes: Vec<String>,
}

/// Arguments of `user add`.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Sign-in name.
    #[arg(long)]
    username: String,
    /// admin, archivist, handler, window, auditor or security_officer.
    #[arg(long)]
    role: String,
    /// Name shown in the UI and the log (default: the username).
    #[arg(long)]
    display_name: Option<String>,
    /// Read the password from the first line of standard input; without it a password is
    /// generated, printed once, and must be changed at first sign-in.
    #[arg(long)]
    password_stdin: bool,
}

/// Runs a user subcommand.
pub async fn run(cmd: UserCommand) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Add(args) => add(args).await,
        UserCommand::Token(args) => token(args).await,
    }
}

async fn token(args: TokenArgs) -> anyhow::Result<()> {
    let (app, _) = args.store.open(dangan_app::Settings::default()).await?;
    let created = app
        .create_token(&Actor::system(), &args.name, &args.scopes)
        .await?;
    println!(
        "已创建接口令牌 {}（{}），令牌只显示这一次：",
        created.token.name,
        args.scopes.join(" ")
    );
    println!("{}", created.secret);
    app.close().await;
    Ok(())
}

async fn add(args: AddArgs) -> anyhow::Result<()> {
    let role = Role::parse(&args.role)?;
    let password = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        anyhow::ensure!(!line.is_empty(), "标准输入中没有密码");
        Some(line)
    } else {
        None
    };
    let (app, _) = args.store.open(dangan_app::Settings::default()).await?;
    let (user, generated) = app
        .add_user(
            &Actor::system(),
            &args.username,
            args.display_name.as_deref(),
            role,
            password.as_deref(),
        )
        .await?;
    println!("已创建用户 {}（{}）", user.username, user.role.label());
    if let Some(p) = generated {
        println!("初始密码：{p}（首次登录后请修改，此密码不会再次显示）");
    }
    app.close().await;
    Ok(())
}
