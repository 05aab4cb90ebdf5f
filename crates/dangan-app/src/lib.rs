//! Use-cases of Dangan. The web API, the web UI and the CLI call these and nothing below them:
//! each use-case checks the caller's role, validates input into domain types, owns its
//! transaction and maps storage failures to user errors.
//!
//! The folders follow the chapters of the founding guide (养老保险参保档案管理实务):
//! [`administration`] 一 基础管理, [`intake`] 二 收集, [`organising`] 二 整理, [`electronic`]
//! 三 数字化, [`security`] 四 安全防护, [`access`] 五 利用与服务, [`problems`] 六 常见问题应对;
//! [`integration`] is the pension business system's side, and [`adapters`] holds what talks to
//! the outside world (processes, HTTP, files on disk, threads). This file, `error.rs` and
//! `text.rs` are the shared kernel: [`App`], [`Settings`], [`AppError`], free-text rules.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use dangan_domain::archive_number::ArchiveNumberPattern;
use dangan_domain::calendar::WorkCalendar;
use dangan_store::Store;

pub mod access;
mod adapters;
pub mod administration;
pub mod custody;
pub mod electronic;
mod error;
pub mod intake;
pub mod integration;
pub mod jobs;
mod monitoring;
pub mod organising;
pub mod problems;
pub mod security;
mod text;

pub use administration::bootstrap::{
    Bootstrap, FIRST_ADMIN, FIRST_AUDITOR, FIRST_SECURITY_OFFICER,
};

/// Typed row ids, re-exported so that the web and CLI layers need not know the store.
pub mod ids {
    pub use dangan_store::account_requests::AccountRequestId;
    pub use dangan_store::corrections::CorrectionId;
    pub use dangan_store::custody_checks::{CheckId, ChecklistItemId};
    pub use dangan_store::environment::{AlertId, LoggerId};
    pub use dangan_store::equipment::EquipmentId;
    pub use dangan_store::events::{EventId, MaterialId};
    pub use dangan_store::files::FileId;
    pub use dangan_store::handovers::{HandoverId, HandoverItemId};
    pub use dangan_store::locations::{BoxId, StocktakeId};
    pub use dangan_store::person_changes::ChangeId;
    pub use dangan_store::persons::PersonId;
    pub use dangan_store::register::QueryId;
    pub use dangan_store::rooms::{PlaceId, RoomId};
    pub use dangan_store::supplements::SupplementId;
    pub use dangan_store::tokens::TokenId;
    pub use dangan_store::users::UserId;
    pub use dangan_store::volumes::VolumeId;
}
pub use administration::roles::{Actor, Role, Subject, UseCase};
pub use dangan_store::{Backend, StoreConfig};
pub use error::{AppError, AppResult};
pub use security::keyring::{KeyRing, SealAlgorithm};

/// Settings of the use-cases (read once from configuration by the binary).
#[derive(Debug, Clone)]
pub struct Settings {
    /// The archive-number pattern (档号规则).
    pub archive_number_pattern: ArchiveNumberPattern,
    /// 全宗号 — the agency's fonds number, when the pattern uses it.
    pub fonds: Option<String>,
    /// 机构名称 — the agency's name, at the head of every print.
    pub agency_name: String,
    /// How long a sign-in session lasts.
    pub session_ttl: Duration,
    /// How long a query registration lets its staff member open the person's archive.
    pub query_window: Duration,
    /// Working-day deadlines of the posts.
    pub deadlines: Deadlines,
    /// Volume thickness rules (组卷规则).
    pub volume_rules: dangan_domain::volume::VolumeRules,
    /// The electronic archive's storage; `None` runs without one (file use-cases refuse).
    pub vault: Option<VaultSettings>,
    /// S8.2: a kiosk signs its visitor out after this many idle seconds.
    pub kiosk_idle_seconds: u32,
    /// S9.2: where corrections are delivered; `None` keeps them queued in the outbox.
    pub webhook: Option<integration::outbox::WebhookSettings>,
    /// S7.5: how the operation log is anchored and witnessed.
    pub log: security::audit::LogSettings,
    /// A staff session (and an insured person's session outside the kiosk) ends after this
    /// long without a request.
    pub session_idle: Duration,
    /// Failed sign-ins (staff and insured together) allowed from one client address in
    /// `sign_in_window`; past it the address is refused (429) until the window moves on. 0: no
    /// limit.
    pub sign_in_failures_per_address: u32,
    /// The window of `sign_in_failures_per_address`.
    pub sign_in_window: Duration,
    /// Anonymous sign-ins admitted to the password check at once (running or waiting for one
    /// of the hashing threads); the next gets 429 at once.
    pub sign_in_concurrency: usize,
    /// Searches by exact identity number allowed per staff account or API token in
    /// `exact_search_window` (0: no limit).
    pub exact_searches: u32,
    /// The window of `exact_searches`.
    pub exact_search_window: Duration,
}

/// Where and how scans are stored.
#[derive(Debug, Clone)]
pub struct VaultSettings {
    /// The vault directory (the blobs themselves with the local backend; the upload spool with
    /// S3).
    pub root: std::path::PathBuf,
    /// Blobs in an S3-compatible bucket instead of `root/blobs`.
    pub s3: Option<dangan_vault::S3Config>,
    /// The cipher of new blobs.
    pub cipher: dangan_vault::Cipher,
    /// The digests computed over each new scan (SM3 besides SHA-256 in the 国密 profile).
    pub digests: dangan_vault::Digests,
    /// The algorithm of new seals.
    pub seal: SealAlgorithm,
    /// The largest upload in bytes.
    pub max_upload: u64,
    /// The minimum resolution of the archival policy.
    pub min_dpi: u32,
    /// Scans up to this many bytes are identified by parsing them whole; larger ones by their
    /// first bytes only (see `dangan_vault::store::DEFAULT_PARSE_LIMIT`).
    pub parse_limit: u64,
    /// Each JPEG, PNG or TIFF scan gets a PDF/A-2B preservation copy (保存副本).
    pub preservation_copies: bool,
}

/// Working-day deadlines (configurable per agency; defaults from the founding guide).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// S2.1: materials reach the archive post this many working days after the business.
    pub collection_days: u32,
    /// S2.2: received materials are organised within this many working days.
    pub organising_days: u32,
    /// S4.3: a missing material is requested and supplemented within this many working days.
    pub supplement_days: u32,
}

impl Settings {
    /// The cipher of new field keys: the vault's profile (AES-256-GCM without a vault).
    pub fn field_cipher(&self) -> &'static str {
        self.vault
            .as_ref()
            .map_or(dangan_vault::Cipher::Aes256Gcm, |v| v.cipher)
            .name()
    }
}

impl Default for Deadlines {
    fn default() -> Self {
        Deadlines {
            collection_days: 1,
            organising_days: 3,
            supplement_days: 5,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            archive_number_pattern: ArchiveNumberPattern::default(),
            fonds: None,
            agency_name: DEFAULT_AGENCY_NAME.to_owned(),
            session_ttl: Duration::from_secs(8 * 3600),
            query_window: Duration::from_secs(4 * 3600),
            deadlines: Deadlines::default(),
            volume_rules: dangan_domain::volume::VolumeRules::default(),
            vault: None,
            kiosk_idle_seconds: 60,
            webhook: None,
            log: security::audit::LogSettings::default(),
            session_idle: Duration::from_secs(30 * 60),
            sign_in_failures_per_address: 10,
            sign_in_window: Duration::from_secs(15 * 60),
            sign_in_concurrency: 16,
            exact_searches: 30,
            exact_search_window: Duration::from_secs(10 * 60),
        }
    }
}

/// The application: the store, the settings and the caches the use-cases share.
#[derive(Debug)]
pub struct App {
    store: Store,
    settings: Settings,
    /// The working-day calendar as loaded from the database; replaced whole when an
    /// administrator loads a year.
    calendar: RwLock<Arc<WorkCalendar>>,
    /// The agency's signing and HMAC keys.
    keys: KeyRing,
    /// The electronic archive's blob store.
    vault: Option<dangan_vault::Vault>,
    /// How the store was opened (backups take the database's own snapshot).
    store_config: StoreConfig,
    /// The operation log's key and writer.
    audit: security::audit::AuditLog,
    /// Failed sign-ins per client address.
    sign_in_failures: administration::accounts::throttle::Throttle,
    /// Anonymous sign-ins admitted to the password check.
    sign_in_slots: Arc<tokio::sync::Semaphore>,
    /// Exact identity-number searches per staff account or token.
    exact_searches: administration::accounts::throttle::Throttle,
    /// Wakes this node's idle job workers when a job was enqueued here.
    job_wake: Arc<tokio::sync::Notify>,
}

/// The agency name printed when none is configured.
pub const DEFAULT_AGENCY_NAME: &str = "城乡居民基本养老保险经办机构";

/// Dates are calendar dates in Asia/Shanghai (UTC+8 all year, no daylight saving).
const SHANGHAI_OFFSET_SECS: i32 = 8 * 3600;

/// Today's date in Asia/Shanghai.
pub fn today() -> NaiveDate {
    local_date(Utc::now())
}

/// An instant as Asia/Shanghai local time, `YYYY-MM-DD HH:MM:SS`.
pub fn local_time(at: DateTime<Utc>) -> String {
    let offset = FixedOffset::east_opt(SHANGHAI_OFFSET_SECS).unwrap_or_else(|| unreachable!());
    at.with_timezone(&offset)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// An instant in Asia/Shanghai as RFC 3339 with its offset, to the second
/// (`2026-12-06T22:40:00+08:00`).
pub fn local_rfc3339(at: DateTime<Utc>) -> String {
    let offset = FixedOffset::east_opt(SHANGHAI_OFFSET_SECS).unwrap_or_else(|| unreachable!());
    at.with_timezone(&offset)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// The Asia/Shanghai date of an instant.
pub fn local_date(at: DateTime<Utc>) -> NaiveDate {
    let offset = FixedOffset::east_opt(SHANGHAI_OFFSET_SECS).unwrap_or_else(|| unreachable!());
    at.with_timezone(&offset).date_naive()
}

/// The instant an Asia/Shanghai day begins (`2026-12-06` → `2026-12-05T16:00:00Z`).
pub fn local_day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
        - chrono::Duration::seconds(i64::from(SHANGHAI_OFFSET_SECS))
}

impl App {
    /// Opens the store, applies migrations and seeds what an empty database needs (the
    /// builtin catalogue, the builtin calendar years, the first officers' accounts).
    pub async fn start(
        config: &StoreConfig,
        settings: Settings,
        keys: KeyRing,
    ) -> AppResult<(App, Bootstrap)> {
        let store = Store::connect(config)
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let migrations = store.migrate().await?;
        security::fields::install(&store, &keys, settings.field_cipher()).await?;
        security::fields::seal_legacy(&store).await?;
        let audit =
            security::audit::AuditLog::open(&store, &keys, settings.log.chain_algorithm).await?;
        let report = administration::bootstrap::run(&store, &audit.key, migrations.applied).await?;
        let calendar = administration::calendar::load_from_store(&store).await?;
        let vault = match &settings.vault {
            Some(v) => Some(
                match &v.s3 {
                    None => dangan_vault::Vault::open(&v.root, v.cipher).await,
                    Some(s3) => dangan_vault::Vault::open_s3(&v.root, v.cipher, s3).await,
                }
                .map_err(|e| AppError::Internal(format!("vault: {e}")))?
                .with_digests(v.digests)
                .with_parse_limit(v.parse_limit),
            ),
            None => None,
        };
        let app = App {
            sign_in_failures: administration::accounts::throttle::Throttle::new(
                settings.sign_in_failures_per_address,
                settings.sign_in_window,
            ),
            sign_in_slots: Arc::new(tokio::sync::Semaphore::new(
                settings.sign_in_concurrency.max(1),
            )),
            exact_searches: administration::accounts::throttle::Throttle::new(
                settings.exact_searches,
                settings.exact_search_window,
            ),
            store,
            settings,
            calendar: RwLock::new(Arc::new(calendar)),
            keys,
            vault,
            store_config: config.clone(),
            audit,
            job_wake: Arc::new(tokio::sync::Notify::new()),
        };
        Ok((app, report))
    }

    /// The agency's keys (public parts and signing).
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// The store (for health checks and shutdown).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether the database answers.
    pub async fn healthy(&self) -> bool {
        self.store.ping().await.is_ok()
    }

    /// Wakes this node's idle job workers.
    pub fn job_wake(&self) -> &tokio::sync::Notify {
        &self.job_wake
    }
}
