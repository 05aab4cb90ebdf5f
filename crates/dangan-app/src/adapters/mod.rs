//! Adapters — the code that talks to the outside world, kept apart from the use-cases: threads,
//! processes, HTTP clients, files on disk and foreign encodings. The use-cases call these and
//! decide; an adapter only carries out.

pub(crate) mod clamav;
pub(crate) mod encodings;
pub(crate) mod hashing;
pub(crate) mod key_files;
pub(crate) mod pg_tools;
pub(crate) mod webhook;
