//! Forward-only migrations, one list per backend, embedded in the binary.
//!
//! Each migration runs in its own transaction together with the row that records it (its
//! version, description and SHA-256 of its text). A recorded migration whose text changed is an
//! error: migrations are append-only. On PostgreSQL an advisory lock lets several `dangan serve`
//! nodes start at once.

use sha2::{Digest, Sha256};

use crate::{Conn, Pool, Store, StoreError, StoreResult, on_conn};

struct Migration {
    version: i64,
    description: &'static str,
    sql: &'static str,
}

/// The migrations of one backend. One list for both: a migration is added here once, and the
/// build fails unless both `migrations/sqlite/` and `migrations/postgres/` have its file.
macro_rules! migrations {
    ($backend:literal) => {
        &[
            Migration {
                version: 1,
                description: "foundation",
                sql: include_str!(concat!("../migrations/", $backend, "/0001_foundation.sql")),
            },
            Migration {
                version: 2,
                description: "access_control",
                sql: include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0002_access_control.sql"
                )),
            },
            Migration {
                version: 3,
                description: "workflow",
                sql: include_str!(concat!("../migrations/", $backend, "/0003_workflow.sql")),
            },
            Migration {
                version: 4,
                description: "files",
                sql: include_str!(concat!("../migrations/", $backend, "/0004_files.sql")),
            },
            Migration {
                version: 5,
                description: "quarantine",
                sql: include_str!(concat!("../migrations/", $backend, "/0005_quarantine.sql")),
            },
            Migration {
                version: 6,
                description: "four_properties",
                sql: include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0006_four_properties.sql"
                )),
            },
            Migration {
                version: 7,
                description: "scrub_runs",
                sql: include_str!(concat!("../migrations/", $backend, "/0007_scrub_runs.sql")),
            },
            Migration {
                version: 8,
                description: "backup_runs",
                sql: include_str!(concat!("../migrations/", $backend, "/0008_backup_runs.sql")),
            },
            Migration {
                version: 9,
                description: "assisted_sessions",
                sql: include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0009_assisted_sessions.sql"
                )),
            },
            Migration {
                version: 10,
                description: "contributions_benefits",
                sql: include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0010_contributions_benefits.sql"
                )),
            },
            Migration {
                version: 11,
                description: "outbox_delivery",
                sql: include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0011_outbox_delivery.sql"
                )),
            },
            Migration {
                version: 12,
                description: "person_changes",
                sql: include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0012_person_changes.sql"
                )),
            },
            Migration {
                version: 13,
                description: "keyed_log",
                sql: include_str!(concat!("../migrations/", $backend, "/0013_keyed_log.sql")),
            },
            Migration {
                version: 14,
                description: "account_requests",
                sql: include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0014_account_requests.sql"
                )),
            },
            Migration {
                version: 15,
                description: "session_idle",
                sql: include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0015_session_idle.sql"
                )),
            },
            Migration {
                version: 16,
                description: "sealed_personal_data",
                sql: include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0016_sealed_personal_data.sql"
                )),
            },
            Migration {
                version: 17,
                description: "persons_without_sealed_unique",
                sql: include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0017_persons_without_sealed_unique.sql"
                )),
            },
            Migration {
                version: 18,
                description: "persons_name_order",
                sql: include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0018_persons_name_order.sql"
                )),
            },
            Migration {
                version: 19,
                description: "file_manifest_history",
                sql: include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0019_file_manifest_history.sql"
                )),
            },
            Migration {
                version: 20,
                description: "jobs",
                sql: include_str!(concat!("../migrations/", $backend, "/0020_jobs.sql")),
            },
            Migration {
                version: 21,
                description: "person_name_suffixes",
                sql: include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0021_person_name_suffixes.sql"
                )),
            },
            Migration {
                version: 22,
                description: "archive_room",
                sql: include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0022_archive_room.sql"
                )),
            },
            Migration {
                version: 23,
                description: "custody_environment",
                sql: include_str!(concat!(
                    "../migrations/",
                    $backend,
                    "/0023_custody_environment.sql"
                )),
            },
            Migration {
                version: 24,
                description: "equipment",
                sql: include_str!(concat!("../migrations/", $backend, "/0024_equipment.sql")),
            },
        ]
    };
}

const SQLITE: &[Migration] = migrations!("sqlite");
/// SQLite migrations that rebuild a table others refer to: they run with foreign keys off (the
/// documented way to rebuild such a table; the switch only works outside a transaction), on a
/// connection taken out of the pool so that the switch cannot outlive them, and
/// `PRAGMA foreign_key_check` must find nothing before they commit.
const SQLITE_REBUILDS: &[i64] = &[17, 23];
const POSTGRES: &[Migration] = migrations!("postgres");

/// What a migration run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions applied by this run.
    pub applied: Vec<i64>,
    /// The newest version now in the database.
    pub current: i64,
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS dangan_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL
)";

pub(crate) async fn run(store: &Store, until: Option<i64>) -> StoreResult<MigrationReport> {
    let list = match store.pool() {
        Pool::Sqlite(_) => SQLITE,
        Pool::Postgres(_) => POSTGRES,
    };
    let mut report = MigrationReport::default();
    for m in list.iter().filter(|m| until.is_none_or(|u| m.version <= u)) {
        let mut tx = store.begin_write().await?;
        if let Conn::Postgres(t) = &mut tx.conn {
            // Any constant serves; it only has to be the same for every node.
            sqlx::query("SELECT pg_advisory_xact_lock(4242024)")
                .execute(&mut **t)
                .await?;
        }
        on_conn!(&mut tx, c => sqlx::raw_sql(CREATE_TABLE).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        let checksum = hex::encode(Sha256::digest(m.sql.as_bytes()));
        let recorded: Option<String> = on_conn!(&mut tx, c => {
            sqlx::query_scalar("SELECT checksum FROM dangan_migrations WHERE version = $1")
                .bind(m.version)
                .fetch_optional(&mut *c)
                .await
        })?;
        match recorded {
            Some(sum) if sum == checksum => {}
            Some(_) => {
                return Err(StoreError::Migration {
                    version: m.version,
                    description: m.description.to_owned(),
                    reason: "the applied migration differs from the shipped one (migrations are append-only)".to_owned(),
                });
            }
            None if SQLITE_REBUILDS.contains(&m.version)
                && tx.backend() == crate::Backend::Sqlite =>
            {
                tx.rollback().await?;
                rebuild_sqlite(store, m, &checksum).await?;
                report.applied.push(m.version);
                report.current = m.version;
                continue;
            }
            None => {
                let failed = |e: sqlx::Error| StoreError::Migration {
                    version: m.version,
                    description: m.description.to_owned(),
                    reason: e.to_string(),
                };
                on_conn!(&mut tx, c => sqlx::raw_sql(m.sql).execute(&mut *c).await.map(|r| r.rows_affected())).map_err(failed)?;
                let now = chrono::Utc::now().to_rfc3339();
                on_conn!(&mut tx, c => {
                    sqlx::query("INSERT INTO dangan_migrations (version, description, checksum, applied_at) VALUES ($1, $2, $3, $4)")
                        .bind(m.version)
                        .bind(m.description)
                        .bind(&checksum)
                        .bind(&now)
                        .execute(&mut *c)
                        .await.map(|r| r.rows_affected())
                })?;
                report.applied.push(m.version);
            }
        }
        tx.commit().await?;
        report.current = m.version;
    }
    Ok(report)
}

/// Runs a SQLite rebuild migration (see [`SQLITE_REBUILDS`]) and records it, in one
/// transaction on a connection of its own with foreign keys off.
async fn rebuild_sqlite(store: &Store, m: &Migration, checksum: &str) -> StoreResult<()> {
    use sqlx::{Connection, Executor};
    let Pool::Sqlite(pool) = store.pool() else {
        return Err(StoreError::Unsupported(
            "a SQLite rebuild on another backend".to_owned(),
        ));
    };
    let failed = |e: sqlx::Error| StoreError::Migration {
        version: m.version,
        description: m.description.to_owned(),
        reason: e.to_string(),
    };
    let _turn = store.turn().await?;
    // Out of the pool: closed at the end, so foreign keys are never off on a pooled connection.
    let mut conn = pool.acquire().await?.detach();
    conn.execute("PRAGMA foreign_keys = OFF").await?;
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    // Another process may have applied it since this one looked.
    let recorded: Option<String> =
        sqlx::query_scalar("SELECT checksum FROM dangan_migrations WHERE version = $1")
            .bind(m.version)
            .fetch_optional(&mut *tx)
            .await?;
    if recorded.is_some() {
        tx.rollback().await?;
        conn.close().await?;
        return Ok(());
    }
    tx.execute(sqlx::raw_sql(m.sql)).await.map_err(failed)?;
    let broken: Vec<(String, Option<i64>, String, i64)> =
        sqlx::query_as("PRAGMA foreign_key_check")
            .fetch_all(&mut *tx)
            .await?;
    if let Some((table, row, parent, _)) = broken.first() {
        return Err(StoreError::Migration {
            version: m.version,
            description: m.description.to_owned(),
            reason: format!(
                "{} rows would refer to missing rows, e.g. {table} row {row:?} to {parent}",
                broken.len()
            ),
        });
    }
    sqlx::query("INSERT INTO dangan_migrations (version, description, checksum, applied_at) VALUES ($1, $2, $3, $4)")
        .bind(m.version)
        .bind(m.description)
        .bind(checksum)
        .bind(chrono::Utc::now().to_rfc3339())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    conn.close().await?;
    Ok(())
}
