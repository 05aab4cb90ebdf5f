//! JSON handlers under `/api/v1`, one module per area.

pub mod auth;
pub mod calendar;
pub mod catalogue;
pub mod events;
pub mod health;
pub mod persons;
pub mod reference;
