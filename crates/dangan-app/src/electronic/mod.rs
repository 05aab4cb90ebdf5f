//! 三 数字化 — the electronic archive: scans stored, read, verified and scrubbed; the
//! four-property check (四性检测) at ingest; the scanning hot folder.

pub mod files;
pub mod four;
pub mod hotfolder;
