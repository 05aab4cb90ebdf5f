//! 五 利用与服务 — using the archive: finding persons, the query register (谁查询、谁登记), what
//! an insured person reads of their own archive, contributions and benefits.

pub mod exports;
pub mod insured;
pub mod ledger;
pub mod person_archive;
pub mod persons;
pub mod register;
