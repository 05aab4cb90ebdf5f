//! An unfinished restore: the marker it leaves in the data directory, found again to resume, and
//! refused by every command that would open the store there.

use std::path::Path;

use serde::{Deserialize, Serialize};

use dangan_vault::Target;

use super::errors::{RestoreError, Stop, written};
use crate::{AppError, AppResult};

/// The marker of an unfinished restore in its data directory.
pub(super) const MARKER: &str = "restore.incomplete";

/// An unfinished restore, as its marker in the data directory records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRestore {
    /// The set being restored.
    pub set: String,
    /// The target's name, when known.
    #[serde(default)]
    pub target: Option<String>,
    /// `sqlite` or `postgres`, when known.
    #[serde(default)]
    pub backend: Option<String>,
    /// The database step finished; the blobs remain.
    pub database_done: bool,
}

impl PendingRestore {
    /// The unfinished restore in `data_dir`, if any. A marker that cannot be read still counts.
    pub fn find(data_dir: &Path) -> Option<PendingRestore> {
        let text = match std::fs::read_to_string(data_dir.join(MARKER)) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(_) => String::new(),
        };
        if let Ok(p) = serde_json::from_str::<PendingRestore>(&text) {
            return Some(p);
        }
        // Written by an earlier version: `SET started` or `SET database-done`.
        let mut words = text.split_whitespace();
        Some(PendingRestore {
            set: words.next().unwrap_or("?").to_owned(),
            target: None,
            backend: None,
            database_done: words.next() == Some("database-done"),
        })
    }
}

/// Refuses a data directory that holds an unfinished restore: its database (or vault) is not
/// whole yet. Every command that opens the store there calls this first; the message (Chinese,
/// then English) says how to resume.
pub fn refuse_unfinished_restore(data_dir: &Path) -> AppResult<()> {
    let Some(p) = PendingRestore::find(data_dir) else {
        return Ok(());
    };
    let command = format!(
        "dangan restore --target {} --set {} --data-dir {}{}",
        p.target.as_deref().unwrap_or("NAME"),
        p.set,
        data_dir.display(),
        if p.backend.as_deref() == Some("postgres") {
            " --database-url URL"
        } else {
            ""
        }
    );
    Err(AppError::Conflict {
        code: "restore_unfinished",
        field: Some("data_dir".to_owned()),
        message: format!(
            "数据目录 {dir} 中有未完成的恢复（备份集 {set}），完成之前不能使用。请再次运行同一恢复命令，它会从中断处继续：{command}（备份目标与密钥目录的参数同上次）。\n\
             The data directory {dir} holds an unfinished restore of backup set {set} and cannot be used until it is finished. Run the same restore again to resume it: {command} (with the same target and key options as before).",
            dir = data_dir.display(),
            set = p.set,
        ),
    })
}

pub(super) async fn put_marker(here: &Target, p: &PendingRestore, what: &str) -> Result<(), Stop> {
    let body = serde_json::to_vec(p).map_err(|e| RestoreError::Io {
        what: what.to_owned(),
        reason: e.to_string(),
    })?;
    here.put(MARKER, body).await.map_err(written(what))?;
    Ok(())
}
