//! The electronic archive's blobs (`dangan-vault`): encryption at rest, digests and durable,
//! content-addressed storage. No database and no HTTP here; `dangan-app` records what the vault
//! stores.

pub mod crypto;
pub mod identify;
pub mod preserve;
pub mod store;
pub mod target;

pub use crypto::{Cipher, CryptoError};
pub use store::{Digests, Ingested, S3Config, Vault, VaultError, Verified};
pub use target::Target;
