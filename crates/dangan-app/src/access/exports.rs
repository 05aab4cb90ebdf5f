//! 导出 — a list written to a file (Excel) leaves the system: who exported which list, with
//! how many rows, is in the operation log like every read of a person's data.

use crate::administration::roles::Actor;
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult};

/// The lists staff can export, by code (the `list` of the log entry).
pub const LISTS: [&str; 9] = [
    "persons",
    "tasks",
    "supplements",
    "handovers",
    "volumes",
    "queries",
    "audit",
    "corrections",
    "incidents",
];

impl App {
    /// Records that `actor` exported `rows` rows of the list `list` (one of [`LISTS`]); the
    /// rows themselves were read through their own use-cases and access checks.
    pub async fn log_export(&self, actor: &Actor, list: &str, rows: usize) -> AppResult<()> {
        if !LISTS.contains(&list) {
            return Err(AppError::Internal(format!("unknown export list {list}")));
        }
        let op = Op::new("export.xlsx", "list", list).detail(format!("{rows} rows"));
        self.log(actor, &op, Outcome::Ok).await
    }
}
