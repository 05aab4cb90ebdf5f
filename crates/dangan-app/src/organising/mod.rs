//! 二 整理 — received materials are organised: cut into volumes (组卷) and given archive numbers
//! (档号).

pub mod archive_numbers;
pub mod volumes;
