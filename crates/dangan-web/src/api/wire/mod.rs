//! Wire types shared by several API modules: what goes over `/api/v1` and what the OpenAPI
//! description says of it. The use-cases know nothing of either; each type here is filled from
//! an app view (`From`) or turned into an app input (`From`), field for field, so that the JSON
//! stays what it was. Types used by one module only live in that module, except those of
//! `workflow.rs`, which are in `workflow.rs` here (that module is long enough with its handlers).

pub mod accounts;
pub mod codes;
pub mod events;
pub mod files;
pub mod ids;
pub mod persons;
pub mod sync;
pub mod workflow;

/// Turns a list of app views into their wire form.
pub fn all<A, W: From<A>>(views: Vec<A>) -> Vec<W> {
    views.into_iter().map(W::from).collect()
}
