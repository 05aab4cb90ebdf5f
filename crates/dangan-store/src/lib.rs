//! The one place that speaks SQL. Two backends with one behaviour:
//!
//! - **SQLite** (the embedded default): a file in the data directory, WAL journal,
//!   `synchronous=FULL`, foreign keys on, writers serialised with `BEGIN IMMEDIATE`.
//! - **PostgreSQL** (scale-out): a pool against `postgres://…`.
//!
//! Each backend has its own append-only migrations (`migrations/sqlite`, `migrations/postgres`).
//! Query functions live in one module per aggregate and take a [`Tx`]: the use-case owns the
//! transaction. Where both dialects accept the same SQL (most statements: `$1` placeholders work
//! in SQLite too), the statement is written once and run on either connection through
//! [`on_conn!`]; where they differ, each arm has its own text. A conformance suite
//! (`tests/conformance.rs`) runs unchanged against both.

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

pub mod account_requests;
pub mod archive_numbers;
pub mod audit;
pub mod backups;
mod bulk;
pub mod calendar;
pub mod capacity;
pub mod catalogue;
pub mod coded;
pub mod corrections;
pub mod custody_checks;
pub mod damage;
pub mod environment;
pub mod equipment;
mod error;
pub mod events;
pub mod files;
mod group;
pub mod handovers;
pub mod insured;
pub mod jobs;
pub mod ledger;
pub mod locations;
mod migrate;
pub mod outbox;
pub mod person_changes;
pub mod persons;
pub mod register;
pub mod rooms;
pub mod sealing;
pub mod supplements;
pub mod tasks;
pub mod tokens;
pub mod users;
pub mod volumes;

pub use error::StoreError;
pub use group::Member;
pub use migrate::MigrationReport;

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// Which database engine a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// A short name for logs and health output.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A connection pool on one of the two backends.
#[derive(Debug, Clone)]
pub enum Pool {
    /// Embedded SQLite.
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

/// The store: a connection pool, the field cipher that seals personal data ([`sealing`],
/// installed once the application has unwrapped its keys), the cache of immutable reference
/// rows and, on SQLite, the queue of writers. Clones share all of them.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    shared: Arc<Shared>,
}

/// What the clones of one [`Store`] share.
#[derive(Debug)]
struct Shared {
    fields: RwLock<Option<Arc<sealing::FieldCipher>>>,
    /// Catalogue versions already read ([`catalogue::cached_entries`]).
    catalogues: catalogue::EntryCache,
    /// SQLite only: the writers' queue. A writing transaction waits here, first come first
    /// served, before `BEGIN IMMEDIATE`, instead of polling SQLite's busy handler (which
    /// sleeps up to 100 ms between tries, so a writer could wait seconds while others got
    /// through). Writers of other processes on the same file still meet the busy handler.
    writers: Option<Arc<AsyncMutex<()>>>,
    /// The groups of [`grouped!`].
    groups: group::Groups,
}

/// How long a writer waits for its turn in the queue before giving up, as long as SQLite's
/// own busy timeout.
const WRITER_WAIT: Duration = Duration::from_secs(30);

/// The connection of a [`Tx`] on one of the two backends.
#[derive(Debug)]
pub enum Conn {
    /// A SQLite transaction.
    Sqlite(Transaction<'static, Sqlite>),
    /// A PostgreSQL transaction.
    Postgres(Transaction<'static, Postgres>),
}

/// A transaction on one of the two backends. Every query function takes one. It carries the
/// store's field cipher, so that the query functions of sealed columns seal and open them, and
/// a writing transaction on SQLite holds its turn in the writers' queue until it ends.
#[derive(Debug)]
pub struct Tx {
    /// The connection (declared first: it is rolled back before the turn is given up).
    pub conn: Conn,
    fields: Option<Arc<sealing::FieldCipher>>,
    shared: Arc<Shared>,
    _turn: Option<OwnedMutexGuard<()>>,
}

/// Runs the same expression on whichever connection a [`Tx`] holds. The expression sees the
/// connection as `$c` (`&mut SqliteConnection` or `&mut PgConnection`), so one SQL text and one
/// row type serve both backends.
#[macro_export]
macro_rules! on_conn {
    ($tx:expr, $c:ident => $body:expr) => {
        match &mut $tx.conn {
            $crate::Conn::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::Conn::Postgres(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}

/// How to open a store.
#[derive(Debug, Clone)]
pub enum StoreConfig {
    /// A SQLite file (created when missing).
    SqliteFile(std::path::PathBuf),
    /// A PostgreSQL URL, e.g. `postgres://postgres@127.0.0.1:5432/dangan`.
    Postgres(String),
}

impl Store {
    /// Opens the store. A SQLite file is created when missing; PostgreSQL must be reachable.
    pub async fn connect(config: &StoreConfig) -> StoreResult<Store> {
        match config {
            StoreConfig::SqliteFile(path) => Store::open_sqlite(path).await,
            StoreConfig::Postgres(url) => Store::open_postgres(url).await,
        }
    }

    async fn open_sqlite(path: &Path) -> StoreResult<Store> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: an acknowledged write survives power loss, not only a crash of the process.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // Freed pages and cells are zeroed: a deleted or re-sealed value (an identity number
            // an older version stored in plain text) leaves no copy in the file's free space.
            .pragma("secure_delete", "ON")
            // A page cache of up to 64 MiB a connection (SQLite's default is 2 MiB): a batch of
            // persons touches a page of each of their four indexes per row, and with the small
            // cache a 5 000-row batch spilled and re-read those pages all through.
            .pragma("cache_size", "-65536")
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            // A transaction that SQLite rolled back by itself (a full disk rolls back the whole
            // transaction) leaves sqlx's count of open transactions at one: the explicit
            // rollback then fails, and the next `BEGIN IMMEDIATE` on that connection would be
            // refused ("begin_with at non-zero transaction depth"). Such a connection is closed
            // when it comes back to the pool instead of being handed out again.
            .after_release(|conn, _| {
                Box::pin(async move {
                    use sqlx::Connection;
                    use sqlx_core::transaction::TransactionManager;
                    type Manager = sqlx::sqlite::SqliteTransactionManager;
                    if Manager::get_transaction_depth(conn) == 0 {
                        return Ok(true);
                    }
                    // A dropped transaction queues its rollback: let it run, then look again.
                    let _ = conn.ping().await;
                    Ok(Manager::get_transaction_depth(conn) == 0)
                })
            })
            .connect_with(options)
            .await
            .map_err(StoreError::from_connect)?;
        Ok(Store::new(Pool::Sqlite(pool)))
    }

    async fn open_postgres(url: &str) -> StoreResult<Store> {
        let options: PgConnectOptions = url.parse().map_err(StoreError::from_connect)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(StoreError::from_connect)?;
        Ok(Store::new(Pool::Postgres(pool)))
    }

    fn new(pool: Pool) -> Store {
        // SQLite has one writer at a time: its writers queue here and fill one group; on
        // PostgreSQL connections write in parallel.
        let sqlite = matches!(pool, Pool::Sqlite(_));
        Store {
            pool,
            shared: Arc::new(Shared {
                fields: RwLock::new(None),
                catalogues: catalogue::EntryCache::default(),
                writers: sqlite.then(|| Arc::new(AsyncMutex::new(()))),
                groups: group::Groups::new(if sqlite { 1 } else { group::PG_SLOTS }),
            }),
        }
    }

    /// The connection pool.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Installs the field cipher every later transaction seals and opens personal data with.
    pub fn install_field_cipher(&self, cipher: Arc<sealing::FieldCipher>) {
        if let Ok(mut f) = self.shared.fields.write() {
            *f = Some(cipher);
        }
    }

    /// The installed field cipher.
    pub fn field_cipher(&self) -> Option<Arc<sealing::FieldCipher>> {
        self.shared.fields.read().ok().and_then(|f| f.clone())
    }

    fn tx(&self, conn: Conn, turn: Option<OwnedMutexGuard<()>>) -> Tx {
        Tx {
            conn,
            fields: self.field_cipher(),
            shared: Arc::clone(&self.shared),
            _turn: turn,
        }
    }

    /// Waits for this writer's turn (SQLite; nothing to wait for on PostgreSQL).
    async fn turn(&self) -> StoreResult<Option<OwnedMutexGuard<()>>> {
        let Some(writers) = &self.shared.writers else {
            return Ok(None);
        };
        match tokio::time::timeout(WRITER_WAIT, Arc::clone(writers).lock_owned()).await {
            Ok(turn) => Ok(Some(turn)),
            Err(_) => Err(StoreError::Database(sqlx::Error::PoolTimedOut)),
        }
    }

    /// The engine behind this store.
    pub fn backend(&self) -> Backend {
        match &self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the pending migrations of this backend, in order, each in its own transaction.
    pub async fn migrate(&self) -> StoreResult<MigrationReport> {
        migrate::run(self, None).await
    }

    /// Applies the pending migrations up to `version` only: what an older version of Dangan
    /// left, for the tests of upgrades.
    pub async fn migrate_to(&self, version: i64) -> StoreResult<MigrationReport> {
        migrate::run(self, Some(version)).await
    }

    /// Begins a transaction for reading (and writes that cannot conflict). On SQLite a reader
    /// never waits for a writer (WAL): it sees the database as of its first read.
    pub async fn begin(&self) -> StoreResult<Tx> {
        let conn = match &self.pool {
            Pool::Sqlite(p) => Conn::Sqlite(p.begin().await?),
            Pool::Postgres(p) => Conn::Postgres(p.begin().await?),
        };
        Ok(self.tx(conn, None))
    }

    /// Begins a transaction that will write. On SQLite it waits for its turn in the writers'
    /// queue, then takes the write lock at once (`BEGIN IMMEDIATE`), so two writers queue
    /// instead of failing with `SQLITE_BUSY` when both try to upgrade a read lock.
    pub async fn begin_write(&self) -> StoreResult<Tx> {
        let turn = self.turn().await?;
        let conn = match &self.pool {
            Pool::Sqlite(p) => Conn::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(p) => Conn::Postgres(p.begin().await?),
        };
        Ok(self.tx(conn, turn))
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> StoreResult<()> {
        match &self.pool {
            Pool::Sqlite(p) => sqlx::query("SELECT 1").execute(p).await?.rows_affected(),
            Pool::Postgres(p) => sqlx::query("SELECT 1").execute(p).await?.rows_affected(),
        };
        Ok(())
    }

    /// Whether [`Store::close`] was called.
    pub fn is_closed(&self) -> bool {
        match &self.pool {
            Pool::Sqlite(p) => p.is_closed(),
            Pool::Postgres(p) => p.is_closed(),
        }
    }

    /// Closes every connection (on shutdown; SQLite checkpoints its WAL).
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

impl Tx {
    /// Commits the transaction.
    pub async fn commit(self) -> StoreResult<()> {
        match self.conn {
            Conn::Sqlite(t) => t.commit().await?,
            Conn::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Rolls the transaction back (dropping it does the same).
    pub async fn rollback(self) -> StoreResult<()> {
        match self.conn {
            Conn::Sqlite(t) => t.rollback().await?,
            Conn::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }

    /// The engine of this transaction.
    pub fn backend(&self) -> Backend {
        match self.conn {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Waits, inside a writing transaction, for any other node doing the one-off set-up of an empty
/// database (seeds, the first field key) until its transaction ends: on PostgreSQL an advisory
/// transaction lock; SQLite's writers are serialised by `BEGIN IMMEDIATE` already. Two servers
/// starting at once on a new database then seed it once.
pub async fn wait_for_setup(tx: &mut Tx) -> StoreResult<()> {
    if let Conn::Postgres(t) = &mut tx.conn {
        // Any constant serves; it only has to be the same for every node.
        sqlx::query("SELECT pg_advisory_xact_lock(4242025)")
            .execute(&mut **t)
            .await?;
    }
    Ok(())
}

/// Declares a newtype id for one table, so ids of different tables cannot be mixed up.
macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, sqlx::Type)]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}
pub(crate) use id_type;
