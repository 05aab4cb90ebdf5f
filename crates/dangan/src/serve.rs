//! `dangan serve`: the whole system on one machine. Stops cleanly on SIGTERM or Ctrl-C:
//! in-flight requests finish, then the database is closed.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;

use crate::config::{RuleArgs, StoreArgs, WebhookArgs};

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    rules: RuleArgs,
    #[command(flatten)]
    webhook: WebhookArgs,
    /// Address to listen on.
    #[arg(long, env = "DANGAN_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Load 200 demo persons (seed 1) before serving, for a first look.
    #[arg(long)]
    demo: bool,
    /// TLS certificate chain (PEM); with `--tls-key` the server speaks HTTPS only.
    #[arg(long, env = "DANGAN_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "DANGAN_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
    #[command(flatten)]
    log: crate::audit::IntervalArgs,
    /// Daily time (server local, `HH:MM`) of the 巡检 that re-verifies every stored scan and
    /// its seal; `off` to disable.
    #[arg(long, env = "DANGAN_SCRUB_AT", default_value = "03:00")]
    scrub_at: String,
    #[command(flatten)]
    targets: crate::backup::TargetArgs,
    /// Daily time (server local, `HH:MM`) of the backups to every configured target; `off` to
    /// disable.
    #[arg(long, env = "DANGAN_BACKUP_AT", default_value = "02:00")]
    backup_at: String,
    /// The weekday of the full set (`mon` … `sun`); other days are incremental.
    #[arg(long, env = "DANGAN_BACKUP_FULL_DAY", default_value = "sun")]
    backup_full_day: String,
}

/// Signs the operation log's head at start (entries a stopped process left unanchored) and
/// every interval, and sends the anchors to the witnesses (local, backup targets, URL). A
/// refused anchor (the log does not verify) is logged at every interval until someone looks.
fn spawn_anchoring(
    app: Arc<dangan_app::App>,
    interval: std::time::Duration,
    targets: Vec<(String, dangan_vault::Target)>,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = app
                .anchor_and_witness(&dangan_app::Actor::system(), &targets)
                .await
            {
                tracing::error!(error = %e, "cannot anchor the operation log");
            }
        }
    });
}

/// Listens for SIGTERM and Ctrl-C. The handlers are installed when this is called — before the
/// server announces its address — so a signal that arrives early still shuts down cleanly.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    #[cfg(unix)]
    let int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
    async move {
        #[cfg(unix)]
        {
            match (term, int) {
                (Ok(mut t), Ok(mut i)) => {
                    tokio::select! {
                        _ = t.recv() => {},
                        _ = i.recv() => {},
                    }
                }
                (t, i) => {
                    tracing::warn!(
                        term = t.is_ok(),
                        int = i.is_ok(),
                        "cannot listen for signals"
                    );
                    std::future::pending::<()>().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            if let Err(e) = tokio::signal::ctrl_c().await {
                tracing::warn!(error = %e, "cannot listen for Ctrl-C");
                std::future::pending::<()>().await;
            }
        }
        tracing::info!("shutdown requested");
    }
}

/// Runs the server until a shutdown signal.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mut settings = args.rules.settings()?;
    settings.webhook = args.webhook.settings()?;
    args.log.apply(&mut settings)?;
    let scrub_at = crate::schedule::parse_daily(&args.scrub_at)?;
    let backup_at = crate::schedule::parse_daily(&args.backup_at)?;
    let full_day = crate::schedule::parse_weekday(&args.backup_full_day)?;
    let targets = args.targets.targets().await?;
    settings.log.witness_targets = targets.clone();
    let (app, _) = args.store.open(settings).await?;
    crate::schedule::collect_garbage(&app).await;
    if args.demo {
        crate::demo_data::load(&app, 200, 1).await?;
        // The first 30 demo persons get a generated scan per material, for a first look at
        // the scan viewer.
        let scans = app
            .load_demo_scans(&dangan_app::Actor::system(), 1, 30)
            .await?;
        if scans > 0 {
            println!("演示扫描件：{scans} 份（前30位演示参保人的每件材料）");
        }
    }
    let app = Arc::new(app);
    spawn_anchoring(Arc::clone(&app), args.log.interval()?, targets.clone());
    crate::schedule::spawn_scrub(Arc::clone(&app), scrub_at);
    crate::schedule::spawn_person_changes(Arc::clone(&app));
    crate::schedule::spawn_outbox_delivery(Arc::clone(&app));
    crate::schedule::spawn_backups(
        Arc::clone(&app),
        targets,
        backup_at,
        full_day,
        args.targets.backup_keep_fulls,
    );
    let backend = app.store().backend().name();
    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .with_context(|| {
                    format!(
                        "无法读取 TLS 证书 {} 或私钥 {}",
                        cert.display(),
                        key.display()
                    )
                })?;
            let handle = axum_server::Handle::new();
            let shutdown = handle.clone();
            let signal = shutdown_signal();
            tokio::spawn(async move {
                signal.await;
                shutdown.graceful_shutdown(Some(std::time::Duration::from_secs(30)));
            });
            let router = dangan_web::with_hsts(dangan_web::router(Arc::clone(&app)));
            let service = router.into_make_service_with_connect_info::<SocketAddr>();
            let server = axum_server::bind_rustls(args.listen, config)
                .handle(handle.clone())
                .serve(service);
            let serving = tokio::spawn(server);
            let addr = handle
                .listening()
                .await
                .with_context(|| format!("无法监听 {}", args.listen))?;
            println!("Dangan 已启动：https://{addr}  （数据库：{backend}）");
            tracing::info!(%addr, backend, tls = true, "listening");
            serving
                .await
                .context("服务异常退出")?
                .context("服务异常退出")?;
        }
        _ => {
            let signal = shutdown_signal();
            let listener = tokio::net::TcpListener::bind(args.listen)
                .await
                .with_context(|| format!("无法监听 {}", args.listen))?;
            let addr = listener.local_addr()?;
            println!("Dangan 已启动：http://{addr}  （数据库：{backend}）");
            tracing::info!(%addr, backend, tls = false, "listening");
            let service = dangan_web::router(Arc::clone(&app))
                .into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener, service)
                .with_graceful_shutdown(signal)
                .await
                .context("服务异常退出")?;
        }
    }
    // A last anchor, so that the log as it stands at shutdown is signed and witnessed.
    app.close().await;
    tracing::info!("stopped");
    Ok(())
}
