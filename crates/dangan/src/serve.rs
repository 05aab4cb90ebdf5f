//! `dangan serve`: the whole system on one machine. Stops cleanly on SIGTERM or Ctrl-C:
//! in-flight requests finish, then the database is closed.
//!
//! The accept loop is our own (hyper-util's connection builder), because `axum::serve` has no
//! limits and a flood of idle connections stopped it (issue 13 §4): at most `--max-connections`
//! connections are open (one more is answered 503 and closed at once, never left in the
//! backlog); a client has `--header-timeout-seconds` to send each request's headers (which also
//! closes an idle keep-alive connection); a request body may pause for at most
//! `--body-idle-timeout-seconds` between bytes (a slow 200 MB upload is fine, a stalled one is
//! not); a TLS handshake must finish within the header timeout. The soft limit of open files is
//! raised to the hard limit at start, so the cap, not the kernel, decides.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

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
    #[command(flatten)]
    targets: crate::backup::TargetArgs,
    #[command(flatten)]
    jobs: crate::schedule::JobArgs,
    #[command(flatten)]
    limits: ConnectionArgs,
    /// Address of a second listener that serves only `GET /metrics` (Prometheus); off when
    /// not given. Keep it on loopback or the monitoring network: it takes no token.
    #[arg(long, env = "DANGAN_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Log lines as human-readable `text` or one JSON object a line (`json`).
    #[arg(long, env = "DANGAN_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: crate::config::LogFormat,
}

/// Limits of the connections `serve` accepts.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct ConnectionArgs {
    /// Seconds a client has to send a request's headers (and a TLS handshake to finish); an
    /// idle keep-alive connection is closed after it too.
    #[arg(long, env = "DANGAN_HEADER_TIMEOUT_SECONDS", default_value_t = 10)]
    header_timeout_seconds: u64,
    /// Seconds a request body may pause between bytes before the request fails (an idle
    /// limit, not a deadline: a slow upload that keeps sending is never cut).
    #[arg(long, env = "DANGAN_BODY_IDLE_TIMEOUT_SECONDS", default_value_t = 30)]
    body_idle_timeout_seconds: u64,
    /// Connections open at once; one more is answered 503 and closed. Lowered to what the
    /// open-file limit allows (less 256 for the database, scans and logs).
    #[arg(long, env = "DANGAN_MAX_CONNECTIONS", default_value_t = 4096)]
    max_connections: usize,
}

/// Files kept free of connections: the database pool, scans being read or written, logs.
const RESERVED_FILES: u64 = 256;

/// Raises the soft limit of open files to the hard limit and returns the resulting soft limit
/// (`None`: unlimited). Many systems start a service with a soft limit of 1 024, which a
/// thousand idle connections use up; the hard limit is usually far higher.
fn raise_open_files() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    // `None` is unlimited.
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        if let Err(e) = setrlimit(Resource::Nofile, limit) {
            tracing::warn!(error = %e, "cannot raise the open-file limit");
        }
    }
    getrlimit(Resource::Nofile).current
}

impl ConnectionArgs {
    fn limits(&self) -> anyhow::Result<Limits> {
        if !(1..=300).contains(&self.header_timeout_seconds) {
            anyhow::bail!("--header-timeout-seconds 应在1至300之间");
        }
        if !(1..=3600).contains(&self.body_idle_timeout_seconds) {
            anyhow::bail!("--body-idle-timeout-seconds 应在1至3600之间");
        }
        if self.max_connections == 0 {
            anyhow::bail!("--max-connections 至少为1");
        }
        let mut max_connections = self.max_connections;
        if let Some(files) = raise_open_files() {
            let room = usize::try_from(files.saturating_sub(RESERVED_FILES))
                .unwrap_or(usize::MAX)
                .max(1);
            if room < max_connections {
                tracing::warn!(
                    requested = max_connections,
                    allowed = room,
                    open_files = files,
                    "fewer connections than --max-connections: the open-file limit is lower"
                );
                max_connections = room;
            }
        }
        Ok(Limits {
            header_timeout: Duration::from_secs(self.header_timeout_seconds),
            body_idle_timeout: Duration::from_secs(self.body_idle_timeout_seconds),
            max_connections,
        })
    }
}

/// The connection limits in force.
#[derive(Debug, Clone, Copy)]
struct Limits {
    header_timeout: Duration,
    body_idle_timeout: Duration,
    max_connections: usize,
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
    let targets = args.targets.targets().await?;
    let jobs = args.jobs.context(
        args.log.interval()?,
        targets.clone(),
        args.targets.backup_keep_fulls,
    )?;
    settings.log.witness_targets = targets.clone();
    let (app, _) = args.store.open(settings).await?;
    crate::schedule::collect_garbage(&app).await;
    if args.demo {
        crate::demo_data::load(&app, 200, 1).await?;
        // Every demo person gets a generated scan per material, so that any person the
        // README's first look opens (search 张, the first result) has scans to click. Measured:
        // 200 persons with 2,066 scans, ready in 8.2 s in a debug build (2.7 s with the first
        // 30 persons' 268 scans only).
        let scans = app
            .load_demo_scans(&dangan_app::Actor::system(), 1, 200)
            .await?;
        if scans > 0 {
            println!("演示扫描件：{scans} 份（每位演示参保人的每件材料）");
        }
        if app.load_demo_room(&dangan_app::Actor::system()).await? {
            println!("演示库房：一号档案库房 K01（密集架 A 两列各五层，防火保险箱 S）");
        }
    }
    let app = Arc::new(app);
    tracing::info!(node = %jobs.node, workers = jobs.workers, "background jobs start");
    dangan_app::jobs::start(Arc::clone(&app), jobs);
    let backend = app.store().backend().name();
    let limits = args.limits.limits()?;
    let signal = shutdown_signal();
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("无法监听 {}", args.listen))?;
    let addr = listener.local_addr()?;
    let readiness = dangan_web::Readiness::default();
    let router = dangan_web::router(Arc::clone(&app)).layer(axum::Extension(readiness.clone()));
    let router = match args.metrics_listen {
        Some(at) => serve_metrics(at, Arc::clone(&app), router).await?,
        None => router,
    };
    let signal = async move {
        signal.await;
        readiness.shutting_down();
    };
    let (router, tls, scheme) = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => (
            dangan_web::with_hsts(router),
            Some(tls_acceptor(cert, key)?),
            "https",
        ),
        _ => (router, None, "http"),
    };
    println!("Dangan 已启动：{scheme}://{addr}  （数据库：{backend}）");
    tracing::info!(
        %addr,
        backend,
        tls = tls.is_some(),
        max_connections = limits.max_connections,
        "listening"
    );
    accept_loop(listener, tls, router, limits, signal).await;
    // A last anchor, so that the log as it stands at shutdown is signed and witnessed.
    app.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Starts the metrics listener at `at` (`GET /metrics` only) and returns `router` counting its
/// requests into the same recorder, one per server (`dangan-web/src/metrics.rs`).
async fn serve_metrics(
    at: SocketAddr,
    app: Arc<dangan_app::App>,
    router: axum::Router,
) -> anyhow::Result<axum::Router> {
    let metrics = dangan_web::metrics::Metrics::new().context("指标记录器")?;
    let listener = TcpListener::bind(at)
        .await
        .with_context(|| format!("无法监听指标地址 {at}"))?;
    let addr = listener.local_addr()?;
    let service = dangan_web::metrics::metrics_router(app, metrics.clone());
    metrics.spawn_upkeep();
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, service).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    println!("指标地址：{addr}（GET /metrics）");
    tracing::info!(%addr, "metrics listening");
    Ok(dangan_web::metrics::instrument(router, &metrics))
}

/// The TLS configuration: the certificate chain and key, HTTP/2 and HTTP/1.1 by ALPN, rustls
/// with aws-lc-rs (the one crypto provider of the binary).
fn tls_acceptor(cert: &std::path::Path, key: &std::path::Path) -> anyhow::Result<TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let unreadable = || {
        format!(
            "无法读取 TLS 证书 {} 或私钥 {}",
            cert.display(),
            key.display()
        )
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(unreadable)?;
    let key = PrivateKeyDer::from_pem_file(key).with_context(unreadable)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS 协议版本")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .with_context(unreadable)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Accepts connections until `shutdown`, then lets the open ones finish (30 s at most).
async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: axum::Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(64)
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(20));
    // Plain HTTP is HTTP/1.1 only: waiting to tell HTTP/2's preface from a request line would
    // be a read without a deadline. Over TLS, ALPN says which.
    let h1 = Arc::new(builder.clone().http1_only());
    let h2 = Arc::new(builder.http2_only());
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors or the like: let in-flight work end some.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            refuse(stream, tls.is_none());
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = ConnectionService {
            router: router.clone(),
            peer,
            body_idle: limits.body_idle_timeout,
        };
        let watcher = graceful.watcher();
        let (h1, h2, tls) = (Arc::clone(&h1), Arc::clone(&h2), tls.clone());
        let handshake = limits.header_timeout;
        tokio::spawn(async move {
            let _slot = slot;
            let served = match tls {
                None => {
                    watcher
                        .watch(h1.serve_connection(TokioIo::new(stream), service))
                        .await
                }
                Some(acceptor) => {
                    let stream =
                        match tokio::time::timeout(handshake, acceptor.accept(stream)).await {
                            Ok(Ok(s)) => s,
                            Ok(Err(e)) => {
                                tracing::debug!(error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => return,
                        };
                    let builder = if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                        h2
                    } else {
                        h1
                    };
                    watcher
                        .watch(builder.serve_connection(TokioIo::new(stream), service))
                        .await
                }
            };
            if let Err(e) = served {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!("no new connections; waiting for open ones");
    if tokio::time::timeout(Duration::from_secs(30), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 30 s; stopping anyway");
    }
}

/// A connection over the cap: plain HTTP gets a short 503 if the socket takes it at once,
/// then the connection is closed; TLS is closed at once.
fn refuse(stream: TcpStream, plain: bool) {
    if plain {
        let body = "服务器连接数已满，请稍后再试";
        let answer = format!(
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.try_write(answer.as_bytes());
    }
    tracing::debug!("connection refused: at --max-connections");
}

/// The router as one connection's service: the client address for the handlers, and the
/// idle timeout on the request body.
#[derive(Clone)]
struct ConnectionService {
    router: axum::Router,
    peer: SocketAddr,
    body_idle: Duration,
}

impl hyper::service::Service<hyper::Request<hyper::body::Incoming>> for ConnectionService {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = tower::util::Oneshot<axum::Router, axum::extract::Request>;

    fn call(&self, req: hyper::Request<hyper::body::Incoming>) -> Self::Future {
        let body_idle = self.body_idle;
        let mut req = req.map(|body| {
            axum::body::Body::new(tower_http::timeout::TimeoutBody::new(body_idle, body))
        });
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(self.peer));
        self.router.clone().oneshot(req)
    }
}
