//! The pension business system's side: contribution and benefit batches (数据同步), person
//! changes (人员变更), bulk import of an agency's export (批量迁移), and the outbox of corrections
//! sent back (更正回传).

pub mod import;
pub mod outbox;
pub mod person_changes;
pub mod sync;
