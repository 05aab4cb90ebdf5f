//! 二 收集 — materials come in: business events with their materials and the completeness check
//! (前置审核), automatic filing from the business system (自动归档), and the closed-loop handover
//! from the collection post to the archive post (交接).

pub mod archive;
pub mod events;
pub mod handovers;
