//! Configuration, read in one place: command-line flags, each with a `DANGAN_*` environment
//! variable, and defaults that start the embedded deployment with no set-up at all.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use dangan_app::integration::outbox::{Mac, WebhookSettings};
use dangan_app::{App, Bootstrap, Deadlines, KeyRing, Settings, StoreConfig, VaultSettings};
use dangan_domain::archive_number::{ArchiveNumberPattern, DEFAULT_PATTERN};
use dangan_domain::volume::VolumeRules;

/// Where the data lives.
#[derive(Clone, clap::Args)]
pub struct StoreArgs {
    /// Data directory (数据目录), for the service account alone: the SQLite database
    /// `dangan.db` (unless --database-url names PostgreSQL), the scans' encrypted blob store
    /// `vault/blobs` with its upload spool `vault/tmp` (only the spool with --blob-store s3),
    /// and the key directory `keys/` unless --key-dir puts it elsewhere. `restore` fills a new,
    /// empty one.
    #[arg(long, env = "DANGAN_DATA_DIR", default_value = "./dangan-data")]
    pub data_dir: PathBuf,
    /// PostgreSQL URL (postgres://user:password@host:5432/db). Without it, SQLite in the data
    /// directory is used.
    #[arg(long, env = "DANGAN_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Directory of the agency's keys (signing key, HMAC key); default `DATA_DIR/keys`. Several
    /// servers on one PostgreSQL database must share its contents.
    #[arg(long, env = "DANGAN_KEY_DIR")]
    pub key_dir: Option<PathBuf>,
    /// Where scans are kept: `local` (DATA_DIR/vault/blobs) or `s3` (an S3-compatible bucket;
    /// DATA_DIR/vault/tmp is then only the upload spool).
    #[arg(long, env = "DANGAN_BLOB_STORE", default_value = "local")]
    pub blob_store: String,
    /// S3 endpoint URL, e.g. `https://obs.cn-north-4.myhuaweicloud.com`.
    #[arg(long, env = "DANGAN_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// S3 bucket.
    #[arg(long, env = "DANGAN_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// S3 region.
    #[arg(long, env = "DANGAN_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,
    /// S3 access key id.
    #[arg(long, env = "DANGAN_S3_ACCESS_KEY")]
    pub s3_access_key: Option<String>,
    /// S3 secret key (prefer the environment variable: a flag shows in the process list).
    #[arg(long, env = "DANGAN_S3_SECRET_KEY", hide_env_values = true)]
    pub s3_secret_key: Option<String>,
    /// The operation log's keyed chain: `hmac-sha256` or `hmac-sm3` (国密). Read when the
    /// chain begins (first start); afterwards the key directory's `log-chain.json` decides.
    #[arg(long, env = "DANGAN_LOG_MAC", default_value = "hmac-sha256")]
    pub log_mac: String,
    #[command(flatten)]
    pub log: crate::audit::LogArgs,
}

impl fmt::Debug for StoreArgs {
    /// The database URL may carry a password: it is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreArgs")
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_ref().map(|_| "<redacted>"),
            )
            .field("key_dir", &self.key_dir)
            .field("blob_store", &self.blob_store)
            .field("s3_endpoint", &self.s3_endpoint)
            .field("s3_bucket", &self.s3_bucket)
            .field("s3_region", &self.s3_region)
            .field("s3_access_key", &self.s3_access_key)
            .field(
                "s3_secret_key",
                &self.s3_secret_key.as_ref().map(|_| "<redacted>"),
            )
            .field("log_mac", &self.log_mac)
            .field("log", &self.log)
            .finish()
    }
}

/// Settings of the archive's rules.
#[derive(Debug, Clone, clap::Args)]
pub struct RuleArgs {
    /// Archive-number pattern (档号规则), e.g. `{year}-{class}-{serial:3}` or
    /// `{fonds}-ZY·{class_code}·{year}·{retention}-{serial:3}`.
    #[arg(long, env = "DANGAN_ARCHIVE_NUMBER_PATTERN", default_value = DEFAULT_PATTERN)]
    pub archive_number_pattern: String,
    /// 全宗号 — the agency's fonds number, required when the pattern uses `{fonds}`.
    #[arg(long, env = "DANGAN_FONDS")]
    pub fonds: Option<String>,
    /// 机构名称 — the agency's name, printed at the head of every print (交接表, 案卷封面, …).
    #[arg(long, env = "DANGAN_AGENCY_NAME", default_value = dangan_app::DEFAULT_AGENCY_NAME)]
    pub agency_name: String,
    /// How many hours a sign-in lasts.
    #[arg(long, env = "DANGAN_SESSION_HOURS", default_value_t = 8)]
    pub session_hours: u64,
    /// How many minutes a query registration lets its staff member open the person's archive.
    #[arg(long, env = "DANGAN_QUERY_WINDOW_MINUTES", default_value_t = 240)]
    pub query_window_minutes: u64,
    /// S2.1: working days from the business to the handover of its materials.
    #[arg(long, env = "DANGAN_COLLECTION_DAYS", default_value_t = 1)]
    pub collection_days: u32,
    /// S2.2: working days from receipt to organised volumes.
    #[arg(long, env = "DANGAN_ORGANISING_DAYS", default_value_t = 3)]
    pub organising_days: u32,
    /// S4.3: working days to obtain a missing material.
    #[arg(long, env = "DANGAN_SUPPLEMENT_DAYS", default_value_t = 5)]
    pub supplement_days: u32,
    /// S5.2: the largest thickness of a volume, in millimetres.
    #[arg(long, env = "DANGAN_VOLUME_MAX_MM", default_value_t = 20.0)]
    pub volume_max_mm: f64,
    /// Thickness of one sheet, in millimetres.
    #[arg(long, env = "DANGAN_SHEET_MM", default_value_t = 0.1)]
    pub sheet_mm: f64,
    /// Pages on one sheet: 1 (single-sided) or 2 (double-sided).
    #[arg(long, env = "DANGAN_PAGES_PER_SHEET", default_value_t = 1)]
    pub pages_per_sheet: u32,
    /// Cipher of new scans at rest: aes-256-gcm or sm4-gcm.
    #[arg(long, env = "DANGAN_CIPHER", default_value = "aes-256-gcm")]
    pub cipher: String,
    /// Digests of new scans: sha256, or sha256+sm3 (the 国密 profile). Unset: sha256+sm3 with
    /// sm4-gcm, sha256 with aes-256-gcm.
    #[arg(long, env = "DANGAN_SCAN_DIGESTS")]
    pub scan_digests: Option<String>,
    /// Algorithm of the seals (电子印章) of new scans: ed25519 or sm2.
    #[arg(long, env = "DANGAN_SEAL", default_value = "ed25519")]
    pub seal: String,
    /// The largest upload, in MB.
    #[arg(long, env = "DANGAN_MAX_UPLOAD_MB", default_value_t = 200)]
    pub max_upload_mb: u64,
    /// S8.2: seconds of inactivity after which a kiosk signs its visitor out.
    #[arg(long, env = "DANGAN_KIOSK_IDLE_SECONDS", default_value_t = 60)]
    pub kiosk_idle_seconds: u32,
    /// The minimum resolution of the archival policy (dpi).
    #[arg(long, env = "DANGAN_MIN_DPI", default_value_t = 300)]
    pub min_dpi: u32,
    /// Scans up to this size (MB) are identified by parsing them whole (page tree, XMP, every
    /// page decodable); larger ones only by their first bytes, with the structural checks
    /// reported as skipped. Each upload in progress holds up to this much in memory.
    #[arg(long, env = "DANGAN_IDENTIFY_MAX_MB", default_value_t = 256)]
    pub identify_max_mb: u64,
    /// Make a PDF/A-2B 保存副本 (preservation copy) of each JPEG, PNG or TIFF scan, sealed and
    /// linked to its original, which stays the master: true or false.
    #[arg(long, env = "DANGAN_PRESERVATION_COPIES", default_value_t = true, action = clap::ArgAction::Set)]
    pub preservation_copies: bool,
    /// Minutes without a request after which a staff session (or an insured person's session
    /// outside the kiosk) ends.
    #[arg(long, env = "DANGAN_SESSION_IDLE_MINUTES", default_value_t = 30)]
    pub session_idle_minutes: u64,
    /// Failed sign-ins (staff and insured together) allowed from one client address in
    /// `--sign-in-window-minutes`; then that address gets 429 until the window moves on. 0: no
    /// limit.
    #[arg(
        long,
        env = "DANGAN_SIGN_IN_FAILURES_PER_ADDRESS",
        default_value_t = 10
    )]
    pub sign_in_failures_per_address: u32,
    /// The window of `--sign-in-failures-per-address`, in minutes.
    #[arg(long, env = "DANGAN_SIGN_IN_WINDOW_MINUTES", default_value_t = 15)]
    pub sign_in_window_minutes: u64,
    /// Sign-ins admitted to the password check at once (hashing or queued for it); one more
    /// gets 429.
    #[arg(long, env = "DANGAN_SIGN_IN_CONCURRENCY", default_value_t = 16)]
    pub sign_in_concurrency: usize,
    /// Searches by exact identity number allowed per staff account or API token in
    /// `--exact-search-window-minutes` (0: no limit).
    #[arg(long, env = "DANGAN_EXACT_SEARCH_LIMIT", default_value_t = 30)]
    pub exact_search_limit: u32,
    /// The window of `--exact-search-limit`, in minutes.
    #[arg(long, env = "DANGAN_EXACT_SEARCH_WINDOW_MINUTES", default_value_t = 10)]
    pub exact_search_window_minutes: u64,
}

impl Default for RuleArgs {
    fn default() -> Self {
        RuleArgs {
            archive_number_pattern: DEFAULT_PATTERN.to_owned(),
            fonds: None,
            agency_name: dangan_app::DEFAULT_AGENCY_NAME.to_owned(),
            session_hours: 8,
            query_window_minutes: 240,
            collection_days: 1,
            organising_days: 3,
            supplement_days: 5,
            volume_max_mm: 20.0,
            sheet_mm: 0.1,
            pages_per_sheet: 1,
            cipher: "aes-256-gcm".to_owned(),
            scan_digests: None,
            seal: "ed25519".to_owned(),
            max_upload_mb: 200,
            min_dpi: 300,
            identify_max_mb: 256,
            preservation_copies: true,
            kiosk_idle_seconds: 60,
            session_idle_minutes: 30,
            sign_in_failures_per_address: 10,
            sign_in_window_minutes: 15,
            sign_in_concurrency: 16,
            exact_search_limit: 30,
            exact_search_window_minutes: 10,
        }
    }
}

impl RuleArgs {
    /// Validates into the use-cases' settings.
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let pattern = ArchiveNumberPattern::parse(&self.archive_number_pattern)?;
        if pattern.needs_fonds() && self.fonds.as_deref().is_none_or(|f| f.trim().is_empty()) {
            anyhow::bail!("档号规则使用了 {{fonds}}，请用 --fonds 或 DANGAN_FONDS 指定全宗号");
        }
        let agency_name = self.agency_name.trim();
        if agency_name.is_empty()
            || agency_name.chars().count() > 60
            || agency_name.chars().any(char::is_control)
        {
            anyhow::bail!("--agency-name 应为1至60个字符的机构名称");
        }
        for (name, days) in [
            ("--collection-days", self.collection_days),
            ("--organising-days", self.organising_days),
            ("--supplement-days", self.supplement_days),
        ] {
            if !(1..=60).contains(&days) {
                anyhow::bail!("{name} 应在1至60个工作日之间");
            }
        }
        if !(1..=24 * 60).contains(&self.query_window_minutes) {
            anyhow::bail!("--query-window-minutes 应在1至1440之间");
        }
        if !(1..=24 * 30).contains(&self.session_hours) {
            anyhow::bail!("--session-hours 应在1至720之间");
        }
        if !(1..=24 * 60).contains(&self.session_idle_minutes) {
            anyhow::bail!("--session-idle-minutes 应在1至1440之间");
        }
        for (name, minutes) in [
            ("--sign-in-window-minutes", self.sign_in_window_minutes),
            (
                "--exact-search-window-minutes",
                self.exact_search_window_minutes,
            ),
        ] {
            if !(1..=24 * 60).contains(&minutes) {
                anyhow::bail!("{name} 应在1至1440之间");
            }
        }
        if !(1..=10_000).contains(&self.sign_in_concurrency) {
            anyhow::bail!("--sign-in-concurrency 应在1至10000之间");
        }
        let cipher = dangan_vault::Cipher::parse(&self.cipher)
            .ok_or_else(|| anyhow::anyhow!("--cipher 应为 aes-256-gcm 或 sm4-gcm"))?;
        Ok(Settings {
            archive_number_pattern: pattern,
            fonds: self.fonds.clone(),
            agency_name: agency_name.to_owned(),
            session_ttl: Duration::from_secs(self.session_hours * 3600),
            query_window: Duration::from_secs(self.query_window_minutes * 60),
            deadlines: Deadlines {
                collection_days: self.collection_days,
                organising_days: self.organising_days,
                supplement_days: self.supplement_days,
            },
            volume_rules: VolumeRules::new(
                self.volume_max_mm,
                self.sheet_mm,
                self.pages_per_sheet,
            )?,
            vault: Some(VaultSettings {
                // Set to DATA_DIR/vault when the store is opened.
                root: PathBuf::new(),
                s3: None,
                cipher,
                digests: match &self.scan_digests {
                    None => dangan_vault::Digests::default_for(cipher),
                    Some(d) => dangan_vault::Digests::parse(d).ok_or_else(|| {
                        anyhow::anyhow!("--scan-digests 应为 sha256 或 sha256+sm3")
                    })?,
                },
                seal: dangan_app::SealAlgorithm::parse(&self.seal)
                    .ok_or_else(|| anyhow::anyhow!("--seal 应为 ed25519 或 sm2"))?,
                max_upload: self.max_upload_mb.clamp(1, 100_000) * 1024 * 1024,
                min_dpi: self.min_dpi,
                parse_limit: self.identify_max_mb.clamp(1, 100_000) * 1024 * 1024,
                preservation_copies: self.preservation_copies,
            }),
            kiosk_idle_seconds: self.kiosk_idle_seconds.clamp(10, 3600),
            // Set by `serve` from its webhook flags; other commands deliver nothing.
            webhook: None,
            log: dangan_app::security::audit::LogSettings::default(),
            session_idle: Duration::from_secs(self.session_idle_minutes * 60),
            sign_in_failures_per_address: self.sign_in_failures_per_address,
            sign_in_window: Duration::from_secs(self.sign_in_window_minutes * 60),
            sign_in_concurrency: self.sign_in_concurrency,
            exact_searches: self.exact_search_limit,
            exact_search_window: Duration::from_secs(self.exact_search_window_minutes * 60),
        })
    }
}

/// Creates a directory (and its parents) readable by the service account only (0700).
fn create_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
        .with_context(|| format!("无法创建数据目录 {}", dir.display()))
}

/// Places holding personal data or keys that others on the machine can read or enter: the data
/// directory, the database files, the vault and the key directory. Said at every start, in
/// Chinese with the command that fixes it (the files are not changed behind the operator's
/// back).
pub fn loose_modes(data_dir: &std::path::Path, key_dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut check = |path: PathBuf, want: u32| {
            if let Ok(meta) = std::fs::metadata(&path) {
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    out.push(format!(
                        "{} 的权限为 {mode:04o}，同一台机器上的其他账号可以读取；应为 {want:04o}（chmod {want:o} {}）— readable by other accounts",
                        path.display(),
                        path.display()
                    ));
                }
            }
        };
        check(data_dir.to_owned(), 0o700);
        for f in ["dangan.db", "dangan.db-wal", "dangan.db-shm"] {
            check(data_dir.join(f), 0o600);
        }
        for d in ["vault", "vault/blobs", "vault/tmp"] {
            check(data_dir.join(d), 0o700);
        }
        check(key_dir.to_owned(), 0o700);
    }
    out
}

impl StoreArgs {
    /// The S3 bucket to keep scans in, when `--blob-store s3`.
    pub fn s3_config(&self) -> anyhow::Result<Option<dangan_vault::S3Config>> {
        match self.blob_store.as_str() {
            "local" => Ok(None),
            "s3" => {
                let need = |v: &Option<String>, flag: &str| {
                    v.clone()
                        .filter(|s| !s.trim().is_empty())
                        .ok_or_else(|| anyhow::anyhow!("--blob-store s3 需要 {flag}"))
                };
                let endpoint = need(&self.s3_endpoint, "--s3-endpoint")?;
                if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                    anyhow::bail!("--s3-endpoint 应以 http:// 或 https:// 开头");
                }
                Ok(Some(dangan_vault::S3Config {
                    allow_http: endpoint.starts_with("http://"),
                    endpoint,
                    bucket: need(&self.s3_bucket, "--s3-bucket")?,
                    region: self.s3_region.clone(),
                    access_key: need(&self.s3_access_key, "--s3-access-key")?,
                    secret_key: need(&self.s3_secret_key, "--s3-secret-key")?,
                }))
            }
            _ => anyhow::bail!("--blob-store 应为 local 或 s3"),
        }
    }

    /// The store to open; creates the data directory for SQLite.
    pub fn store_config(&self) -> anyhow::Result<StoreConfig> {
        match &self.database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(StoreConfig::Postgres(url.clone()))
            }
            Some(_) => anyhow::bail!(
                "--database-url 应以 postgres:// 开头；不指定时使用数据目录中的 SQLite"
            ),
            None => {
                create_private_dir(&self.data_dir)?;
                Ok(StoreConfig::SqliteFile(self.data_dir.join("dangan.db")))
            }
        }
    }

    /// The key directory: `--key-dir`, or `DATA_DIR/keys`.
    pub fn key_dir(&self) -> PathBuf {
        self.key_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("keys"))
    }

    /// Loads the keys, opens the store, migrates and seeds, and prints the three officers'
    /// generated passwords if their accounts were created now. Refuses a data directory that
    /// holds an unfinished restore.
    pub async fn open(&self, mut settings: Settings) -> anyhow::Result<(App, Bootstrap)> {
        // A data directory in the middle of a restore holds no whole instance yet.
        dangan_app::security::backup::refuse_unfinished_restore(&self.data_dir)?;
        if let Some(v) = settings.vault.as_mut() {
            v.root = self.data_dir.join("vault");
            v.s3 = self.s3_config()?;
            settings.log.anchor_signature = v.seal;
        }
        settings.log.chain_algorithm =
            dangan_domain::audit::ChainAlgorithm::parse(&self.log_mac)
                .ok_or_else(|| anyhow::anyhow!("--log-mac 应为 hmac-sha256 或 hmac-sm3"))?;
        self.log.apply(&mut settings)?;
        let config = self.store_config()?;
        let key_dir = self.key_dir();
        let keys = KeyRing::load_or_create(&key_dir).context("无法读取或创建密钥")?;
        let (app, boot) = App::start(&config, settings, keys)
            .await
            .context("无法打开数据库")?;
        for warning in loose_modes(&self.data_dir, &key_dir) {
            tracing::warn!("{warning}");
            eprintln!("警告：{warning}");
        }
        // Printed to the terminal once, never to the log.
        for (username, role, password) in &boot.initial_accounts {
            println!(
                "已创建{}账号：用户名 {username}，初始密码 {password}",
                role.label()
            );
        }
        if !boot.initial_accounts.is_empty() {
            println!("三员账号各自保管；首次登录后须修改密码。这些密码不会再次显示。");
        }
        Ok((app, boot))
    }
}

/// S9.2: where `serve` delivers corrections (更正回传) — the business system's webhook.
#[derive(Clone, Default, clap::Args)]
pub struct WebhookArgs {
    /// The business system's webhook (`http://` or `https://`); corrections are POSTed to it,
    /// signed. Without it they stay queued in the outbox.
    #[arg(long, env = "DANGAN_WEBHOOK_URL")]
    pub webhook_url: Option<String>,
    /// A file holding the secret shared with the receiver (surrounding whitespace is ignored).
    #[arg(long, env = "DANGAN_WEBHOOK_SECRET_FILE")]
    pub webhook_secret_file: Option<PathBuf>,
    /// The shared secret itself (prefer the file or the environment variable: a flag shows in
    /// the process list).
    #[arg(long, env = "DANGAN_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
    /// The MAC of the `X-Dangan-Signature` header: `hmac-sha256` or `hmac-sm3`.
    #[arg(long, env = "DANGAN_WEBHOOK_MAC", default_value = "hmac-sha256")]
    pub webhook_mac: String,
    /// Seconds to wait after an item's first failed delivery; doubled after each further
    /// failure, at most an hour.
    #[arg(long, env = "DANGAN_WEBHOOK_BACKOFF_SECONDS", default_value_t = 30)]
    pub webhook_backoff_seconds: u64,
    /// Seconds one delivery attempt may take.
    #[arg(long, env = "DANGAN_WEBHOOK_TIMEOUT_SECONDS", default_value_t = 10)]
    pub webhook_timeout_seconds: u64,
}

impl fmt::Debug for WebhookArgs {
    /// The secret is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookArgs")
            .field("webhook_url", &self.webhook_url)
            .field("webhook_secret_file", &self.webhook_secret_file)
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("webhook_mac", &self.webhook_mac)
            .field("webhook_backoff_seconds", &self.webhook_backoff_seconds)
            .field("webhook_timeout_seconds", &self.webhook_timeout_seconds)
            .finish()
    }
}

/// The shortest shared secret accepted.
const MIN_WEBHOOK_SECRET: usize = 16;

impl WebhookArgs {
    /// Validates into the use-cases' webhook settings; `None` without a URL. A URL without a
    /// secret is refused: an unsigned correction must never leave the building.
    pub fn settings(&self) -> anyhow::Result<Option<WebhookSettings>> {
        let Some(url) = self
            .webhook_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        else {
            return Ok(None);
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            anyhow::bail!(
                "--webhook-url 应以 http:// 或 https:// 开头 / --webhook-url must start with http:// or https://"
            );
        }
        let secret = match (&self.webhook_secret_file, &self.webhook_secret) {
            (Some(path), _) => std::fs::read_to_string(path)
                .with_context(|| {
                    format!(
                        "无法读取共享密钥文件 {} / cannot read the webhook secret file",
                        path.display()
                    )
                })?
                .trim()
                .to_owned(),
            (None, Some(secret)) => secret.trim().to_owned(),
            (None, None) => String::new(),
        };
        if secret.is_empty() {
            anyhow::bail!(
                "已指定 --webhook-url，但没有共享密钥：请用 --webhook-secret-file（或环境变量 DANGAN_WEBHOOK_SECRET）提供，更正不会未经签名发出 / \
                 --webhook-url is set but no shared secret is given: use --webhook-secret-file (or DANGAN_WEBHOOK_SECRET); corrections are never sent unsigned"
            );
        }
        if secret.len() < MIN_WEBHOOK_SECRET {
            anyhow::bail!(
                "共享密钥至少{MIN_WEBHOOK_SECRET}个字符 / the webhook secret must have at least {MIN_WEBHOOK_SECRET} characters"
            );
        }
        let mac = Mac::parse(&self.webhook_mac).ok_or_else(|| {
            anyhow::anyhow!(
                "--webhook-mac 应为 hmac-sha256 或 hmac-sm3 / --webhook-mac must be hmac-sha256 or hmac-sm3"
            )
        })?;
        if !(1..=300).contains(&self.webhook_timeout_seconds) {
            anyhow::bail!("--webhook-timeout-seconds 应在1至300之间 / must be between 1 and 300");
        }
        Ok(Some(WebhookSettings {
            url: url.to_owned(),
            secret: secret.into_bytes(),
            mac,
            timeout: Duration::from_secs(self.webhook_timeout_seconds),
            backoff: Duration::from_secs(self.webhook_backoff_seconds.min(3600)),
        }))
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Text,
    /// One JSON object a line, for a log collector.
    Json,
}

impl LogFormat {
    /// The format `DANGAN_LOG_FORMAT` names (`text` when unset or unknown), for the commands
    /// other than `serve`, which takes it as `--log-format` too.
    pub fn from_env() -> LogFormat {
        match std::env::var("DANGAN_LOG_FORMAT").as_deref() {
            Ok("json") => LogFormat::Json,
            _ => LogFormat::Text,
        }
    }
}

/// Structured logs to standard error; `DANGAN_LOG` sets the filter (default `info`), `format`
/// the shape of a line. Identity numbers never reach either: `IdNumber` prints itself masked.
pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DANGAN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().with_current_span(true).init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn webhook(url: Option<&str>, secret: Option<&str>) -> WebhookArgs {
        WebhookArgs {
            webhook_url: url.map(str::to_owned),
            webhook_secret: secret.map(str::to_owned),
            webhook_mac: "hmac-sha256".to_owned(),
            webhook_backoff_seconds: 30,
            webhook_timeout_seconds: 10,
            ..WebhookArgs::default()
        }
    }

    #[test]
    fn the_scan_digests_follow_the_cipher_unless_configured_and_a_wrong_name_is_refused() {
        let digests = |cipher: &str, configured: Option<&str>| {
            RuleArgs {
                cipher: cipher.to_owned(),
                scan_digests: configured.map(str::to_owned),
                ..RuleArgs::default()
            }
            .settings()
            .map(|s| s.vault.expect("a vault").digests)
        };
        use dangan_vault::Digests;
        assert_eq!(digests("aes-256-gcm", None).unwrap(), Digests::Sha256);
        assert_eq!(digests("sm4-gcm", None).unwrap(), Digests::Sha256AndSm3);
        assert_eq!(
            digests("aes-256-gcm", Some("sha256+sm3")).unwrap(),
            Digests::Sha256AndSm3
        );
        let e = digests("aes-256-gcm", Some("md5")).unwrap_err().to_string();
        assert!(e.contains("--scan-digests 应为"), "{e}");
    }

    #[test]
    fn a_webhook_url_without_a_secret_is_refused_in_chinese_and_english() {
        let e = webhook(Some("https://pension.example/hooks"), None)
            .settings()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("共享密钥") && e.contains("no shared secret"),
            "{e}"
        );
        assert!(webhook(None, None).settings().unwrap().is_none());
        assert!(
            webhook(Some("ftp://x"), Some("0123456789abcdef0123"))
                .settings()
                .is_err()
        );
        assert!(
            webhook(Some("https://x"), Some("short"))
                .settings()
                .is_err()
        );
    }

    #[test]
    fn the_webhook_secret_is_read_from_its_file_and_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "  0123456789abcdef-from-file\n").unwrap();
        let mut args = webhook(Some("https://pension.example/hooks"), None);
        args.webhook_secret_file = Some(file);
        args.webhook_mac = "hmac-sm3".to_owned();
        let s = args.settings().unwrap().unwrap();
        assert_eq!(s.secret, b"0123456789abcdef-from-file");
        assert_eq!(s.mac, Mac::HmacSm3);
        assert_eq!(s.backoff, Duration::from_secs(30));
        args.webhook_secret = Some("0123456789abcdef-on-the-command-line".to_owned());
        let printed = format!("{args:?} {s:?}");
        assert!(
            !printed.contains("from-file") && !printed.contains("command-line"),
            "{printed}"
        );
        args.webhook_mac = "md5".to_owned();
        assert!(args.settings().is_err());
    }
}
