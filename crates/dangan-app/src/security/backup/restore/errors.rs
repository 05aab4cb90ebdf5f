//! Why a restore stops: the errors with their stable codes, the older set offered instead of a
//! damaged one, and the damage found in a set of the chain.

use dangan_vault::VaultError;

/// Why a restore stopped. Each says, in Chinese, what is wrong and what to do; the code is
/// stable ([`RestoreError::code`]).
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The target holds no set.
    #[error("该备份目标上没有备份集")]
    NoBackup,
    /// `--set` names no set of the target.
    #[error("备份目标上没有备份集 {0}")]
    SetNotFound(String),
    /// The set to restore was cut short (or is still being written).
    #[error("备份集 {set} 未完成（没有清单：备份被中断，或仍在进行），不能用于恢复。{alternative}")]
    SetIncomplete {
        /// The set.
        set: String,
        /// The older set that could be chosen instead.
        alternative: Alternative,
    },
    /// The set to restore, or one it builds on, is damaged.
    #[error("备份集 {set} 已损坏，未恢复：{reason}。{alternative}")]
    SetDamaged {
        /// The set.
        set: String,
        /// What is wrong, in Chinese.
        reason: String,
        /// The older set that could be chosen instead.
        alternative: Alternative,
    },
    /// The master key that wrapped the snapshot's data key is not in the key directory.
    #[error(
        "备份集 {set} 的数据库快照由主密钥 {master_key_id} 加密，密钥目录中没有该密钥：请用 dangan key import 导入含有它的密钥文件（轮换前的主密钥在 retired/ 中）"
    )]
    KeyMissing {
        /// The set.
        set: String,
        /// The master key's id.
        master_key_id: String,
    },
    /// A PostgreSQL set and no database to restore into.
    #[error("该备份来自 PostgreSQL，请用 --database-url 指定要恢复到的数据库")]
    DatabaseUrlRequired,
    /// The data directory already holds a database.
    #[error("目标数据目录已有数据库，请指定新的目录")]
    DataDirNotEmpty,
    /// The data directory holds an unfinished restore of another set.
    #[error(
        "该目录有未完成的另一次恢复（备份集 {0}）：请换用新目录，或用 --set {0} 完成那一次恢复"
    )]
    OtherRestorePending(String),
    /// The target cannot be read.
    #[error(
        "无法读取备份目标：{0}。请检查目标（网络、存储桶、凭据、磁盘）后再次运行同一命令，恢复会从中断处继续"
    )]
    Target(String),
    /// Reading or writing local files failed.
    #[error(
        "{what}失败：{reason}。请检查数据目录与备份目标所在的磁盘（空间、权限）后再次运行同一命令，恢复会从中断处继续"
    )]
    Io {
        /// What was being done, in Chinese.
        what: String,
        /// The system's reason.
        reason: String,
    },
    /// `pg_restore` could not run or failed.
    #[error("pg_restore 失败：{0}")]
    PgRestore(String),
    /// The restored database could not be opened or read.
    #[error("无法打开恢复出的数据库：{0}")]
    Database(String),
}

impl RestoreError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            RestoreError::NoBackup => "no_backup",
            RestoreError::SetNotFound(_) => "backup_set_not_found",
            RestoreError::SetIncomplete { .. } => "backup_set_incomplete",
            RestoreError::SetDamaged { .. } => "backup_set_damaged",
            RestoreError::KeyMissing { .. } => "backup_key_missing",
            RestoreError::DatabaseUrlRequired => "database_url_required",
            RestoreError::DataDirNotEmpty => "data_dir_not_empty",
            RestoreError::OtherRestorePending(_) => "other_restore_pending",
            RestoreError::Target(_) => "backup_target_unreadable",
            RestoreError::Io { .. } => "restore_io_failed",
            RestoreError::PgRestore(_) => "pg_restore_failed",
            RestoreError::Database(_) => "restored_database_unreadable",
        }
    }
}

/// The newest older set whose manifest and chain are intact, offered (never taken) instead of a
/// set that cannot be restored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alternative(pub Option<String>);

impl std::fmt::Display for Alternative {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(s) => write!(
                f,
                "较早的备份集 {s} 清单完好：如确需回退到它，请用 --set {s} 明确指定（其后的变更不会恢复），并先用 dangan backup verify 校验"
            ),
            None => write!(f, "该目标上没有可以改用的更早的备份集（--set）"),
        }
    }
}

/// Damage found in `link`, a set of the chain being restored (the chosen one or one it builds
/// on), or another reason to stop.
pub(super) enum Stop {
    Damaged {
        link: String,
        reason: String,
        incomplete: bool,
    },
    Error(RestoreError),
}

impl From<RestoreError> for Stop {
    fn from(e: RestoreError) -> Stop {
        Stop::Error(e)
    }
}

pub(super) fn damaged(link: &str, reason: impl Into<String>) -> Stop {
    Stop::Damaged {
        link: link.to_owned(),
        reason: reason.into(),
        incomplete: false,
    }
}

pub(super) fn unreadable(e: VaultError) -> RestoreError {
    match e {
        VaultError::Io(e) => RestoreError::Io {
            what: "读取备份目标".to_owned(),
            reason: e.to_string(),
        },
        other => RestoreError::Target(other.to_string()),
    }
}

pub(super) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> RestoreError {
    let what = what.into();
    move |e| RestoreError::Io {
        what,
        reason: e.to_string(),
    }
}

pub(super) fn written(what: &str) -> impl FnOnce(VaultError) -> RestoreError + '_ {
    move |e| RestoreError::Io {
        what: what.to_owned(),
        reason: e.to_string(),
    }
}

/// What went wrong reading the database snapshot of `set` into a local file.
pub(super) fn snapshot_failure(set: &str, e: VaultError) -> Stop {
    match e {
        VaultError::Missing(_) => damaged(set, "数据库快照缺失"),
        VaultError::Crypto(_) => damaged(set, "数据库快照无法通过认证解密（被修改或损坏）"),
        VaultError::Io(e) => Stop::Error(RestoreError::Io {
            what: "读取数据库快照并写入数据目录".to_owned(),
            reason: e.to_string(),
        }),
        other => Stop::Error(RestoreError::Target(other.to_string())),
    }
}
