//! 四 安全防护 — the operation log (操作日志) and its anchors, backups and restore, the agency's
//! keys and the sealed (encrypted) columns.

pub mod audit;
pub mod backup;
pub mod fields;
pub mod keyring;
