//! Pure rules of the pension archive (档案). No I/O, no async: every function here is a
//! deterministic computation over its arguments and the data shipped in `data/`.

pub mod account;
pub mod archive_number;
pub mod audit;
pub mod business;
pub mod calendar;
pub mod catalogue;
pub mod change;
pub mod code;
pub mod division;
pub mod environment;
pub mod equipment;
pub mod id_number;
pub mod material;
pub mod operation;
pub mod person;
pub mod retention;
pub mod room;
pub mod volume;
pub mod workflow;

/// A rule violation that the person entering the data can fix.
///
/// `Display` gives the message in simplified Chinese (what was wrong and how to fix it);
/// [`Rejection::code`] gives a stable machine code such as `invalid_id_number` that API
/// clients may match on. Every error enum of this crate implements it.
pub trait Rejection: std::error::Error {
    /// The stable machine-readable code of this rejection.
    fn code(&self) -> &'static str;
}
