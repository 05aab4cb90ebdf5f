//! The PostgreSQL client tools: `pg_dump` takes a backup set's database snapshot, `pg_restore`
//! brings one back. They are separate processes; what they print on failure is passed on.

use std::path::Path;
use std::process::Stdio;

use tokio::process::Command;

/// Why a tool did not do its work.
#[derive(Debug)]
pub(crate) enum PgToolError {
    /// It could not be run (not installed, not on the `PATH`).
    NotRun(std::io::Error),
    /// It ran and failed; what it wrote to standard error.
    Failed(String),
}

/// `pg_dump --format=custom` of the database at `url` into the existing file `out`.
pub(crate) async fn pg_dump(url: &str, out: &Path) -> Result<(), PgToolError> {
    let done = Command::new("pg_dump")
        .args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
        .arg(out)
        .arg("--dbname")
        .arg(url)
        .stderr(Stdio::piped())
        .output()
        .await
        .map_err(PgToolError::NotRun)?;
    if done.status.success() {
        Ok(())
    } else {
        Err(PgToolError::Failed(
            String::from_utf8_lossy(&done.stderr).trim().to_owned(),
        ))
    }
}

/// `pg_restore --clean --if-exists` of the dump `file` into the database at `url`.
pub(crate) async fn pg_restore(url: &str, file: &Path) -> Result<(), PgToolError> {
    let done = Command::new("pg_restore")
        .args([
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--dbname",
        ])
        .arg(url)
        .arg(file)
        .output()
        .await
        .map_err(PgToolError::NotRun)?;
    if done.status.success() {
        Ok(())
    } else {
        Err(PgToolError::Failed(
            String::from_utf8_lossy(&done.stderr).trim().to_owned(),
        ))
    }
}
