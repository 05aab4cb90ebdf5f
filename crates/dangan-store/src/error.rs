//! The store's error type: unique and foreign-key violations are told apart by the
//! constraint they broke, so the use-case can turn them into user errors.

/// A failure of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint was violated. The name follows PostgreSQL's default naming
    /// (`{table}_{columns}_key`) on both backends.
    #[error("unique constraint violated: {0}")]
    Conflict(String),
    /// A foreign key pointed at a missing row.
    #[error("foreign key violated")]
    MissingReference,
    /// The database could not be opened or reached.
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    /// A migration failed or the applied migrations do not match the shipped ones.
    #[error("migration {version} ({description}) failed: {reason}")]
    Migration {
        /// The migration's version number.
        version: i64,
        /// The migration's description.
        description: String,
        /// What went wrong.
        reason: String,
    },
    /// A row held a value this version cannot read.
    #[error("corrupt row in {table}: {reason}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The disk (or the database's storage) is full: nothing was written.
    #[error("storage full: {0}")]
    StorageFull(String),
    /// A group commit failed (nothing of the group was written).
    #[error("commit failed: {0}")]
    Commit(String),
    /// Any other database error.
    #[error(transparent)]
    Database(sqlx::Error),
    /// The operation does not apply to this backend or input.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl StoreError {
    pub(crate) fn from_connect(e: sqlx::Error) -> StoreError {
        StoreError::Connect(e)
    }

    /// The constraint name when this is a unique violation.
    pub fn conflict(&self) -> Option<&str> {
        match self {
            StoreError::Conflict(name) => Some(name),
            _ => None,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                return StoreError::Conflict(constraint_name(db.as_ref()));
            }
            if db.is_foreign_key_violation() {
                return StoreError::MissingReference;
            }
        }
        if is_storage_full(&e) {
            return StoreError::StorageFull(e.to_string());
        }
        StoreError::Database(e)
    }
}

/// Whether the database could not write for want of space: SQLite's `SQLITE_FULL` (13, with
/// its extended codes), PostgreSQL's `53100 disk_full`, or `ENOSPC` on the connection's I/O.
fn is_storage_full(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            code == "53100"
                || code.parse::<i64>().is_ok_and(|c| c & 0xff == 13)
                || db.message().contains("database or disk is full")
        }
        sqlx::Error::Io(io) => {
            io.raw_os_error() == Some(28) || io.kind() == std::io::ErrorKind::StorageFull
        }
        _ => false,
    }
}

/// PostgreSQL reports the constraint's name; SQLite only reports
/// `UNIQUE constraint failed: t.a, t.b`, from which the same `t_a_b_key` name is rebuilt.
fn constraint_name(db: &dyn sqlx::error::DatabaseError) -> String {
    if let Some(name) = db.constraint() {
        return name.to_owned();
    }
    let msg = db.message();
    match msg.strip_prefix("UNIQUE constraint failed: ") {
        Some(cols) => {
            let mut table = "";
            let mut parts = Vec::new();
            for qualified in cols.split(", ") {
                let (t, c) = qualified.split_once('.').unwrap_or(("", qualified));
                table = t;
                parts.push(c);
            }
            format!("{table}_{}_key", parts.join("_"))
        }
        None => msg.to_owned(),
    }
}
