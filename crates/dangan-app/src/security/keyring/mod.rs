//! The agency's keys (密钥), kept as files outside the database:
//!
//! - `signing-ed25519.key`: the seed of the Ed25519 key that signs operation-log anchors and, by
//!   default, the seals (电子印章) of scans;
//! - `signing-sm2.key`: the secret scalar of the SM2 key (GB/T 32918, distinguishing id
//!   `1234567812345678`) that seals scans when the agency configures SM2;
//! - `master-aes256.key`: the master key that wraps every blob's data key (S7.4);
//! - `pii-hmac.key`: the HMAC-SHA256 key of keyed hashes of identity numbers (a register can be
//!   searched by an enquirer's number without storing it);
//! - `log-hmac.key`: the key of the operation log's keyed chain (HMAC-SHA-256 or HMAC-SM3), and
//!   `log-chain.json` beside it: the chain's algorithm and the last entry of the unkeyed format,
//!   fixed when the keyed chain began — kept here, so that database access alone can neither
//!   re-key the chain nor pass keyed entries off as old ones;
//! - `log-witness/`: a copy of every signed anchor of the log (the local witness), written once
//!   and never overwritten.
//!
//! Both are 32 random bytes in hex, created on first start in the key directory (mode 0700,
//! files 0600). Several `serve` nodes on one PostgreSQL share the directory's contents. A stolen
//! database alone yields neither key.

mod export;
mod public;

pub use public::{PublicKey, verify_by_id};

use std::fmt;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::adapters::key_files::{
    io_err, load_or_create_key, read_key, restrict, sync_dir, write_private,
};
use crate::{AppError, AppResult};

/// The algorithm of the seals of scans.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SealAlgorithm {
    /// Ed25519 (RFC 8032).
    #[default]
    Ed25519,
    /// SM2 digital signature (GB/T 32918.2) over SM3, with the standard distinguishing id.
    Sm2,
}

impl SealAlgorithm {
    /// `ed25519` or `sm2`.
    pub fn parse(s: &str) -> Option<SealAlgorithm> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ed25519" => Some(SealAlgorithm::Ed25519),
            "sm2" => Some(SealAlgorithm::Sm2),
            _ => None,
        }
    }

    /// The name used in configuration and documents.
    pub fn name(self) -> &'static str {
        match self {
            SealAlgorithm::Ed25519 => "ed25519",
            SealAlgorithm::Sm2 => "sm2",
        }
    }
}

/// The SM2 distinguishing identifier (the default of GB/T 35276).
const SM2_DIST_ID: &str = "1234567812345678";

/// The agency's keys.
pub struct KeyRing {
    signing: SigningKey,
    sm2: sm2::dsa::SigningKey,
    sm2_key_id: String,
    pii_key: [u8; 32],
    log_key: [u8; 32],
    master: [u8; 32],
    master_id: String,
    /// Every master key this ring can unwrap with, by id: the current one, a rotation's next
    /// one and retired ones (kept, because older backups hold data keys wrapped by them).
    masters: std::sync::RwLock<std::collections::BTreeMap<String, [u8; 32]>>,
    key_id: String,
    dir: PathBuf,
}

impl fmt::Debug for KeyRing {
    /// Never prints key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("key_id", &self.key_id)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

const SIGNING_FILE: &str = "signing-ed25519.key";
const SM2_FILE: &str = "signing-sm2.key";
const PII_FILE: &str = "pii-hmac.key";
const MASTER_FILE: &str = "master-aes256.key";
const NEXT_MASTER_FILE: &str = "master-aes256.key.next";
const RETIRED_DIR: &str = "retired";
const LOG_KEY_FILE: &str = "log-hmac.key";
const LOG_CHAIN_FILE: &str = "log-chain.json";
/// The local witness: copies of the log's anchors beside the keys.
pub const LOG_WITNESS_DIR: &str = "log-witness";

/// How the operation log's keyed chain was set up (`log-chain.json` in the key directory).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogChainConfig {
    /// The chain's algorithm.
    pub algorithm: dangan_domain::audit::ChainAlgorithm,
    /// Entries up to this sequence number are of the unkeyed v1 format.
    pub legacy_until: i64,
}

fn master_id_of(key: &[u8; 32]) -> String {
    hex::encode(&Sha256::digest(Sha256::digest(key))[..8])
}

impl KeyRing {
    /// Loads the keys from `dir`, creating the directory and any missing key.
    pub fn load_or_create(dir: &Path) -> AppResult<KeyRing> {
        std::fs::create_dir_all(dir).map_err(|e| io_err("cannot create key directory", dir, e))?;
        restrict(dir, 0o700)?;
        let seed = load_or_create_key(dir, SIGNING_FILE)?;
        let pii_key = load_or_create_key(dir, PII_FILE)?;
        let log_key = load_or_create_key(dir, LOG_KEY_FILE)?;
        let master = load_or_create_key(dir, MASTER_FILE)?;
        let master_id = master_id_of(&master);
        let mut masters = std::collections::BTreeMap::new();
        masters.insert(master_id.clone(), master);
        let next = dir.join(NEXT_MASTER_FILE);
        if next.exists() {
            let k = read_key(&next)?;
            masters.insert(master_id_of(&k), k);
        }
        if let Ok(entries) = std::fs::read_dir(dir.join(RETIRED_DIR)) {
            for e in entries.flatten() {
                let k = read_key(&e.path())?;
                masters.insert(master_id_of(&k), k);
            }
        }
        let signing = SigningKey::from_bytes(&seed);
        let key_id = hex::encode(&Sha256::digest(signing.verifying_key().as_bytes())[..8]);
        let sm2_secret = load_or_create_key(dir, SM2_FILE)?;
        let sm2 = sm2::dsa::SigningKey::from_slice(SM2_DIST_ID, &sm2_secret).map_err(|_| {
            AppError::Internal(format!(
                "key file {} is not a valid SM2 secret key",
                dir.join(SM2_FILE).display()
            ))
        })?;
        let sm2_key_id = format!(
            "sm2-{}",
            hex::encode(&Sha256::digest(sm2.verifying_key().to_sec1_bytes())[..8])
        );
        Ok(KeyRing {
            signing,
            sm2,
            sm2_key_id,
            pii_key,
            log_key,
            master,
            master_id,
            masters: std::sync::RwLock::new(masters),
            key_id,
            dir: dir.to_owned(),
        })
    }

    /// A short id of the signing key: the first 8 bytes of SHA-256 of its public key, in hex.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Seals a scan's manifest with the configured algorithm: (key id, signature hex). SM2
    /// signatures are the 64-byte r‖s.
    pub fn seal(&self, algorithm: SealAlgorithm, manifest: &[u8]) -> (String, String) {
        match algorithm {
            SealAlgorithm::Ed25519 => (self.key_id.clone(), self.sign(manifest)),
            SealAlgorithm::Sm2 => {
                use sm2::dsa::signature::Signer;
                let sig: sm2::dsa::Signature = self.sm2.sign(manifest);
                (self.sm2_key_id.clone(), hex::encode(sig.to_bytes()))
            }
        }
    }

    /// Checks a seal made by [`KeyRing::seal`] with the key named `key_id` (either algorithm,
    /// so that seals made before a change of configuration still verify). An unknown key id
    /// fails.
    pub fn verify_seal(&self, key_id: &str, manifest: &[u8], signature_hex: &str) -> bool {
        if key_id == self.key_id {
            return self.verify(manifest, signature_hex);
        }
        if key_id != self.sm2_key_id {
            return false;
        }
        use sm2::dsa::signature::Verifier;
        let Ok(bytes) = hex::decode(signature_hex) else {
            return false;
        };
        let Ok(sig) = sm2::dsa::Signature::from_slice(&bytes) else {
            return false;
        };
        self.sm2.verifying_key().verify(manifest, &sig).is_ok()
    }

    /// The public key of a seal algorithm in hex (Ed25519: 32 bytes; SM2: uncompressed SEC1
    /// point), for whoever must check seals outside Dangan.
    pub fn seal_public_key_hex(&self, algorithm: SealAlgorithm) -> String {
        match algorithm {
            SealAlgorithm::Ed25519 => self.public_key_hex(),
            SealAlgorithm::Sm2 => hex::encode(self.sm2.verifying_key().to_sec1_bytes()),
        }
    }

    /// The public key in hex, for whoever must verify signatures outside Dangan.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.signing.verifying_key().as_bytes())
    }

    /// Signs a message; hex of the 64-byte signature.
    pub fn sign(&self, message: &[u8]) -> String {
        hex::encode(self.signing.sign(message).to_bytes())
    }

    /// Verifies a hex signature made by this key.
    pub fn verify(&self, message: &[u8], signature_hex: &str) -> bool {
        let Ok(bytes) = hex::decode(signature_hex) else {
            return false;
        };
        let Ok(sig) = Signature::from_slice(&bytes) else {
            return false;
        };
        let vk: VerifyingKey = self.signing.verifying_key();
        vk.verify(message, &sig).is_ok()
    }

    /// The master key that wraps the vault's data keys (AES-256).
    pub fn master_key(&self) -> &[u8; 32] {
        &self.master
    }

    /// The master key with this id (current, pending or retired).
    pub fn master_key_by_id(&self, id: &str) -> Option<[u8; 32]> {
        match self.masters.read() {
            Ok(m) => m.get(id).copied(),
            Err(poisoned) => poisoned.into_inner().get(id).copied(),
        }
    }

    /// Starts (or resumes) a rotation: the next master key, created once and kept in
    /// `master-aes256.key.next` until [`KeyRing::finish_rotation`]. Returns its id and key.
    pub fn next_master_key(&self) -> AppResult<(String, [u8; 32])> {
        let key = load_or_create_key(&self.dir, NEXT_MASTER_FILE)?;
        let id = master_id_of(&key);
        match self.masters.write() {
            Ok(mut m) => m.insert(id.clone(), key),
            Err(poisoned) => poisoned.into_inner().insert(id.clone(), key),
        };
        Ok((id, key))
    }

    /// Ends a rotation: the current master key moves to `retired/` (older backups still need
    /// it), the next one becomes current. Call only after every data key is re-wrapped.
    pub fn finish_rotation(&self) -> AppResult<()> {
        let retired = self.dir.join(RETIRED_DIR);
        std::fs::create_dir_all(&retired).map_err(|e| io_err("cannot create", &retired, e))?;
        restrict(&retired, 0o700)?;
        let old = self.dir.join(MASTER_FILE);
        let kept = retired.join(format!("master-aes256-{}.key", self.master_id));
        std::fs::copy(&old, &kept).map_err(|e| io_err("cannot retire", &old, e))?;
        restrict(&kept, 0o600)?;
        std::fs::rename(self.dir.join(NEXT_MASTER_FILE), &old)
            .map_err(|e| io_err("cannot activate", &old, e))?;
        sync_dir(&self.dir);
        Ok(())
    }

    /// A short id of the master key (first 8 bytes of SHA-256(SHA-256(key)), hex).
    pub fn master_key_id(&self) -> &str {
        &self.master_id
    }

    /// The key directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key of the log's chain with its algorithm.
    pub fn log_chain_key(
        &self,
        algorithm: dangan_domain::audit::ChainAlgorithm,
    ) -> dangan_domain::audit::ChainKey {
        dangan_domain::audit::ChainKey::new(algorithm, self.log_key)
    }

    /// The log chain's set-up, when it has begun.
    pub fn log_chain_config(&self) -> AppResult<Option<LogChainConfig>> {
        let path = self.dir.join(LOG_CHAIN_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                AppError::Internal(format!("{} is not a log chain set-up: {e}", path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("cannot read", &path, e)),
        }
    }

    /// Records the log chain's set-up once (created 0600, never replaced). When another process
    /// recorded it first, that one is returned.
    pub fn begin_log_chain(&self, config: LogChainConfig) -> AppResult<LogChainConfig> {
        let path = self.dir.join(LOG_CHAIN_FILE);
        let tmp = self
            .dir
            .join(format!(".{LOG_CHAIN_FILE}.{}.tmp", std::process::id()));
        let text = serde_json::to_vec(&config).map_err(|e| AppError::Internal(e.to_string()))?;
        write_private(&tmp, &text)?;
        // A hard link fails when the name exists: the first process wins, nobody replaces it.
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                sync_dir(&self.dir);
                Ok(config)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => self
                .log_chain_config()?
                .ok_or_else(|| AppError::Internal(format!("{} vanished", path.display()))),
            Err(e) => Err(io_err("cannot create", &path, e)),
        }
    }

    /// The public keys of this ring (Ed25519 and SM2), for checking anchors and seals.
    pub fn public_keys(&self) -> Vec<PublicKey> {
        vec![
            PublicKey::Ed25519(self.signing.verifying_key()),
            PublicKey::Sm2(Box::new(self.sm2.verifying_key().clone())),
        ]
    }

    /// The PII key: the key of the blind index of sealed columns (given to the store's
    /// field cipher) and of the register's keyed hashes.
    pub(crate) fn pii_key(&self) -> [u8; 32] {
        self.pii_key
    }

    /// HMAC-SHA256 of a personal value under the agency's key, in hex.
    pub fn pii_hmac(&self, value: &str) -> String {
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&self.pii_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests;
