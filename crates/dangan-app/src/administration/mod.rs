//! 一 基础管理 — the ground rules of the archive office: roles and the permission matrix, the
//! three officers (三员分立), staff and insured persons' accounts, machine clients' API tokens,
//! the working-day calendar, the filing catalogue (归档范围), the posts' tasks and deadlines,
//! reference data, first start and demo data.

pub mod accounts;
pub(crate) mod bootstrap;
pub mod calendar;
pub mod calendar_notice;
pub mod catalogue;
pub mod demo;
mod demo_person;
pub mod officers;
pub mod reference;
pub mod roles;
pub mod tasks;
pub mod tokens;
