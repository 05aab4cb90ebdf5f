//! JSON handlers under `/api/v1`, one module per area.

pub mod admin;
pub mod archive;
pub mod audit;
pub mod auth;
pub mod calendar;
pub mod catalogue;
pub mod environment;
pub mod equipment;
pub mod events;
pub mod files;
pub mod health;
pub mod jobs;
pub mod my;
pub mod officers;
pub mod outbox;
pub mod person_changes;
pub mod persons;
pub mod print;
pub mod reference;
pub mod register;
pub mod rooms;
pub mod sync;
pub mod wire;
pub mod workflow;
