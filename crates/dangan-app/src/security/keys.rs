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

use std::fmt;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

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

fn read_key(path: &Path) -> AppResult<[u8; 32]> {
    let text = std::fs::read_to_string(path).map_err(|e| io_err("cannot read", path, e))?;
    let bytes = hex::decode(text.trim())
        .map_err(|_| AppError::Internal(format!("key file {} is not hex", path.display())))?;
    bytes
        .try_into()
        .map_err(|_| AppError::Internal(format!("key file {} is not 32 bytes", path.display())))
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> AppError {
    AppError::Internal(format!("{what} {}: {e}", path.display()))
}

fn random32() -> AppResult<[u8; 32]> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| AppError::Internal(format!("random source: {e}")))?;
    Ok(b)
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> AppResult<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| io_err("cannot set permissions of", path, e))
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _mode: u32) -> AppResult<()> {
    Ok(())
}

fn load_or_create_key(dir: &Path, name: &str) -> AppResult<[u8; 32]> {
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let bytes = hex::decode(text.trim()).map_err(|_| {
                AppError::Internal(format!("key file {} is not hex", path.display()))
            })?;
            bytes.try_into().map_err(|_| {
                AppError::Internal(format!("key file {} is not 32 bytes", path.display()))
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = random32()?;
            // Write to a temporary name with 0600, sync, then rename: a crash never leaves a
            // half-written key under the real name.
            let tmp = dir.join(format!(".{name}.tmp"));
            {
                use std::io::Write;
                let mut f =
                    std::fs::File::create(&tmp).map_err(|e| io_err("cannot create", &tmp, e))?;
                restrict(&tmp, 0o600)?;
                f.write_all(hex::encode(key).as_bytes())
                    .and_then(|()| f.sync_all())
                    .map_err(|e| io_err("cannot write", &tmp, e))?;
            }
            std::fs::rename(&tmp, &path).map_err(|e| io_err("cannot rename", &path, e))?;
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(key)
        }
        Err(e) => Err(io_err("cannot read", &path, e)),
    }
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
        if let Ok(d) = std::fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
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
        {
            use std::io::Write;
            let mut f =
                std::fs::File::create(&tmp).map_err(|e| io_err("cannot create", &tmp, e))?;
            restrict(&tmp, 0o600)?;
            let text =
                serde_json::to_vec(&config).map_err(|e| AppError::Internal(e.to_string()))?;
            f.write_all(&text)
                .and_then(|()| f.sync_all())
                .map_err(|e| io_err("cannot write", &tmp, e))?;
        }
        // A hard link fails when the name exists: the first process wins, nobody replaces it.
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                if let Ok(d) = std::fs::File::open(&self.dir) {
                    let _ = d.sync_all();
                }
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

/// The format name of an exported key file.
const EXPORT_FORMAT: &str = "dangan-keys-1";

/// An exported key directory: every key file, encrypted under a key derived from a passphrase
/// with Argon2id (64 MiB, 3 passes), then AES-256-GCM.
#[derive(serde::Serialize, serde::Deserialize)]
struct KeyExport {
    format: String,
    kdf: String,
    m_kib: u32,
    t: u32,
    p: u32,
    salt: String,
    sealed: String,
}

fn derive(passphrase: &str, salt: &[u8], m_kib: u32, t: u32, p: u32) -> AppResult<[u8; 32]> {
    let params = argon2::Params::new(m_kib, t, p, Some(32))
        .map_err(|e| AppError::Internal(format!("argon2 params: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = [0u8; 32];
    argon
        .hash_password_into(passphrase.as_bytes(), salt, &mut out)
        .map_err(|e| AppError::Internal(format!("argon2: {e}")))?;
    Ok(out)
}

fn check_passphrase(passphrase: &str) -> AppResult<()> {
    if passphrase.chars().count() < 12 {
        return Err(AppError::invalid_with(
            "weak_passphrase",
            Some("passphrase"),
            "口令至少12个字符：导出的密钥只靠它保护",
        ));
    }
    Ok(())
}

impl KeyRing {
    /// Loads the keys of `dir`, which must already hold them (a restore must not invent new
    /// keys: the backups would be unreadable).
    pub fn load_existing(dir: &Path) -> AppResult<KeyRing> {
        for name in [SIGNING_FILE, PII_FILE, MASTER_FILE] {
            if !dir.join(name).is_file() {
                return Err(AppError::not_found(
                    "keys_missing",
                    format!(
                        "密钥目录 {} 中没有 {name}：请先用 dangan key import 导入机构密钥",
                        dir.display()
                    ),
                ));
            }
        }
        KeyRing::load_or_create(dir)
    }

    /// 导出密钥 — every key file of the ring's directory (retired master keys included),
    /// encrypted under `passphrase`; the result is what `import_keys` reads.
    pub fn export(&self, passphrase: &str) -> AppResult<Vec<u8>> {
        check_passphrase(passphrase)?;
        let mut files = std::collections::BTreeMap::new();
        let mut names = vec![
            SIGNING_FILE.to_owned(),
            SM2_FILE.to_owned(),
            PII_FILE.to_owned(),
            LOG_KEY_FILE.to_owned(),
            LOG_CHAIN_FILE.to_owned(),
            MASTER_FILE.to_owned(),
            NEXT_MASTER_FILE.to_owned(),
        ];
        if let Ok(entries) = std::fs::read_dir(self.dir.join(RETIRED_DIR)) {
            for e in entries.flatten() {
                if let Some(n) = e.file_name().to_str() {
                    names.push(format!("{RETIRED_DIR}/{n}"));
                }
            }
        }
        for name in names {
            match std::fs::read_to_string(self.dir.join(&name)) {
                Ok(text) => {
                    files.insert(name, text.trim().to_owned());
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("cannot read", &self.dir.join(&name), e)),
            }
        }
        let plain = serde_json::to_vec(&files).map_err(|e| AppError::Internal(e.to_string()))?;
        let salt = random32()?;
        let (m_kib, t, p) = (64 * 1024, 3, 1);
        let kek = derive(passphrase, &salt, m_kib, t, p)?;
        let sealed = dangan_vault::crypto::wrap_key(&kek, &plain)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        serde_json::to_vec_pretty(&KeyExport {
            format: EXPORT_FORMAT.to_owned(),
            kdf: "argon2id".to_owned(),
            m_kib,
            t,
            p,
            salt: hex::encode(salt),
            sealed: hex::encode(sealed),
        })
        .map_err(|e| AppError::Internal(e.to_string()))
    }

    /// 导入密钥 — writes the key files of an export into `dir` (created 0700, files 0600).
    /// Refuses a directory that already holds a master key, and a wrong passphrase.
    pub fn import(exported: &[u8], passphrase: &str, dir: &Path) -> AppResult<KeyRing> {
        if dir.join(MASTER_FILE).exists() {
            return Err(AppError::Conflict {
                code: "keys_exist",
                field: Some("key_dir".to_owned()),
                message: format!("密钥目录 {} 已有主密钥，不会覆盖", dir.display()),
            });
        }
        let bad =
            || AppError::invalid_with("bad_key_export", Some("file"), "不是 Dangan 导出的密钥文件");
        let e: KeyExport = serde_json::from_slice(exported).map_err(|_| bad())?;
        if e.format != EXPORT_FORMAT || e.kdf != "argon2id" {
            return Err(bad());
        }
        let salt = hex::decode(&e.salt).map_err(|_| bad())?;
        let kek = derive(passphrase, &salt, e.m_kib, e.t, e.p)?;
        let sealed = hex::decode(&e.sealed).map_err(|_| bad())?;
        let plain = dangan_vault::crypto::unwrap_key(&kek, &sealed).map_err(|_| {
            AppError::invalid_with(
                "wrong_passphrase",
                Some("passphrase"),
                "口令不正确，或文件已损坏",
            )
        })?;
        let files: std::collections::BTreeMap<String, String> =
            serde_json::from_slice(&plain).map_err(|_| bad())?;
        std::fs::create_dir_all(dir.join(RETIRED_DIR))
            .map_err(|e| io_err("cannot create key directory", dir, e))?;
        restrict(dir, 0o700)?;
        for (name, text) in &files {
            if name.contains("..") || name.starts_with('/') {
                return Err(bad());
            }
            let path = dir.join(name);
            let tmp = dir.join(format!(".import-{}.tmp", name.replace('/', "_")));
            {
                use std::io::Write;
                let mut f =
                    std::fs::File::create(&tmp).map_err(|e| io_err("cannot create", &tmp, e))?;
                restrict(&tmp, 0o600)?;
                f.write_all(text.as_bytes())
                    .and_then(|()| f.sync_all())
                    .map_err(|e| io_err("cannot write", &tmp, e))?;
            }
            std::fs::rename(&tmp, &path).map_err(|e| io_err("cannot rename", &path, e))?;
        }
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        KeyRing::load_existing(dir)
    }
}

/// A public key that checks signatures made by the agency's keys: what an auditor outside
/// Dangan holds (`dangan audit public-key` prints them).
#[derive(Clone)]
pub enum PublicKey {
    /// Ed25519 (32 bytes).
    Ed25519(VerifyingKey),
    /// SM2 (uncompressed SEC1 point), with the standard distinguishing id.
    Sm2(Box<sm2::dsa::VerifyingKey>),
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.key_id())
    }
}

impl PublicKey {
    /// Parses a public key in hex: 32 bytes are Ed25519, 65 bytes (`04…`) SM2.
    pub fn parse_hex(text: &str) -> AppResult<PublicKey> {
        let bad = || {
            AppError::invalid_with(
                "invalid_public_key",
                Some("public_key"),
                "公钥应为十六进制：Ed25519 公钥 64 位，SM2 公钥 130 位（以 04 开头）",
            )
        };
        let bytes = hex::decode(text.trim()).map_err(|_| bad())?;
        match bytes.len() {
            32 => {
                let arr: [u8; 32] = bytes.try_into().map_err(|_| bad())?;
                VerifyingKey::from_bytes(&arr)
                    .map(PublicKey::Ed25519)
                    .map_err(|_| bad())
            }
            65 => sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DIST_ID, &bytes)
                .map(|k| PublicKey::Sm2(Box::new(k)))
                .map_err(|_| bad()),
            _ => Err(bad()),
        }
    }

    /// The key id that signatures name (the same as [`KeyRing::key_id`] and the SM2 seal id).
    pub fn key_id(&self) -> String {
        match self {
            PublicKey::Ed25519(k) => hex::encode(&Sha256::digest(k.as_bytes())[..8]),
            PublicKey::Sm2(k) => format!(
                "sm2-{}",
                hex::encode(&Sha256::digest(k.to_sec1_bytes())[..8])
            ),
        }
    }

    /// The key in hex.
    pub fn to_hex(&self) -> String {
        match self {
            PublicKey::Ed25519(k) => hex::encode(k.as_bytes()),
            PublicKey::Sm2(k) => hex::encode(k.to_sec1_bytes()),
        }
    }

    /// The algorithm's name.
    pub fn algorithm(&self) -> SealAlgorithm {
        match self {
            PublicKey::Ed25519(_) => SealAlgorithm::Ed25519,
            PublicKey::Sm2(_) => SealAlgorithm::Sm2,
        }
    }

    /// Whether `signature_hex` is this key's signature of `message`.
    pub fn verify(&self, message: &[u8], signature_hex: &str) -> bool {
        let Ok(bytes) = hex::decode(signature_hex) else {
            return false;
        };
        match self {
            PublicKey::Ed25519(k) => Signature::from_slice(&bytes)
                .map(|sig| k.verify(message, &sig).is_ok())
                .unwrap_or(false),
            PublicKey::Sm2(k) => {
                use sm2::dsa::signature::Verifier as _;
                sm2::dsa::Signature::from_slice(&bytes)
                    .map(|sig| k.verify(message, &sig).is_ok())
                    .unwrap_or(false)
            }
        }
    }
}

/// Checks a signature against the key it names among `keys`.
pub fn verify_by_id(keys: &[PublicKey], key_id: &str, message: &[u8], signature_hex: &str) -> bool {
    keys.iter()
        .any(|k| k.key_id() == key_id && k.verify(message, signature_hex))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_keys_check_the_rings_signatures_under_the_same_key_ids() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::load_or_create(dir.path()).unwrap();
        for alg in [SealAlgorithm::Ed25519, SealAlgorithm::Sm2] {
            let (id, sig) = ring.seal(alg, b"anchor");
            let public = PublicKey::parse_hex(&ring.seal_public_key_hex(alg)).unwrap();
            assert_eq!(public.key_id(), id);
            assert!(verify_by_id(
                std::slice::from_ref(&public),
                &id,
                b"anchor",
                &sig
            ));
            assert!(!verify_by_id(&[public], &id, b"anchor2", &sig));
        }
        assert_eq!(
            PublicKey::parse_hex("abcd").unwrap_err().code(),
            "invalid_public_key"
        );
    }

    #[test]
    fn the_log_chain_set_up_is_recorded_once() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::load_or_create(dir.path()).unwrap();
        assert_eq!(ring.log_chain_config().unwrap(), None);
        let first = LogChainConfig {
            algorithm: dangan_domain::audit::ChainAlgorithm::HmacSm3,
            legacy_until: 7,
        };
        assert_eq!(ring.begin_log_chain(first).unwrap(), first);
        let second = LogChainConfig {
            algorithm: dangan_domain::audit::ChainAlgorithm::HmacSha256,
            legacy_until: 0,
        };
        assert_eq!(
            ring.begin_log_chain(second).unwrap(),
            first,
            "never replaced"
        );
        assert_eq!(ring.log_chain_config().unwrap(), Some(first));
    }

    #[test]
    fn keys_are_created_once_and_reloaded_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let a = KeyRing::load_or_create(dir.path()).unwrap();
        let b = KeyRing::load_or_create(dir.path()).unwrap();
        assert_eq!(a.key_id(), b.key_id());
        assert_eq!(a.pii_hmac("x"), b.pii_hmac("x"));
        let sig = a.sign(b"head");
        assert!(b.verify(b"head", &sig));
        assert!(!b.verify(b"head2", &sig));
        assert!(!format!("{a:?}").contains(&hex::encode(a.pii_key)));
    }

    #[cfg(unix)]
    #[test]
    fn key_files_are_readable_by_the_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        KeyRing::load_or_create(&dir.path().join("keys")).unwrap();
        let mode = std::fs::metadata(dir.path().join("keys").join(SIGNING_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn sm2_and_ed25519_seals_verify_under_their_own_key_ids_only() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::load_or_create(dir.path()).unwrap();
        let manifest = br#"{"archive_number":"2024-A-001","sha256":"ab"}"#;
        let (sm2_id, sm2_sig) = ring.seal(SealAlgorithm::Sm2, manifest);
        let (ed_id, ed_sig) = ring.seal(SealAlgorithm::Ed25519, manifest);
        assert!(sm2_id.starts_with("sm2-") && sm2_id != ed_id);
        assert_eq!(sm2_sig.len(), 128, "r||s, 64 bytes");
        assert!(ring.verify_seal(&sm2_id, manifest, &sm2_sig));
        assert!(ring.verify_seal(&ed_id, manifest, &ed_sig));
        assert!(!ring.verify_seal(&sm2_id, b"{}", &sm2_sig));
        assert!(!ring.verify_seal(&ed_id, manifest, &sm2_sig));
        assert!(!ring.verify_seal("unknown", manifest, &ed_sig));
        // The key is kept: the next process seals with the same key id.
        let again = KeyRing::load_or_create(dir.path()).unwrap();
        assert!(again.verify_seal(&sm2_id, manifest, &sm2_sig));
    }

    #[test]
    fn an_sm2_seal_is_a_standard_signature_that_openssl_accepts() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::load_or_create(dir.path()).unwrap();
        let manifest = "{\"material_name\":\"参保登记表\",\"sha256\":\"00\"}";
        let (_, sig_hex) = ring.seal(SealAlgorithm::Sm2, manifest.as_bytes());
        let sig = sm2::dsa::Signature::from_slice(&hex::decode(sig_hex).unwrap()).unwrap();
        let der = sig.to_der();
        // SubjectPublicKeyInfo: id-ecPublicKey with the SM2 curve (1.2.156.10197.1.301).
        let mut spki = hex::decode("3059301306072a8648ce3d020106082a811ccf5501822d034200").unwrap();
        spki.extend_from_slice(&hex::decode(ring.seal_public_key_hex(SealAlgorithm::Sm2)).unwrap());
        let work = tempfile::tempdir().unwrap();
        let (msg, sigf, key) = (
            work.path().join("m"),
            work.path().join("s"),
            work.path().join("k.der"),
        );
        std::fs::write(&msg, manifest).unwrap();
        std::fs::write(&sigf, der.as_bytes()).unwrap();
        std::fs::write(&key, &spki).unwrap();
        let run = |m: &Path| {
            std::process::Command::new("openssl")
                .args([
                    "pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-rawin", "-digest", "sm3",
                ])
                .args(["-pkeyopt", "distid:1234567812345678", "-inkey"])
                .arg(&key)
                .arg("-in")
                .arg(m)
                .arg("-sigfile")
                .arg(&sigf)
                .output()
                .expect("openssl is installed")
        };
        let out = run(&msg);
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(&msg, manifest.replace("参保", "伪造")).unwrap();
        assert!(
            !run(&msg).status.success(),
            "a changed manifest fails in OpenSSL too"
        );
    }

    #[test]
    fn exported_keys_import_elsewhere_only_with_the_passphrase_and_never_over_keys() {
        let a = tempfile::tempdir().unwrap();
        let ring = KeyRing::load_or_create(a.path()).unwrap();
        assert_eq!(ring.export("short").unwrap_err().code(), "weak_passphrase");
        let file = ring.export("correct horse battery").unwrap();
        assert!(
            !String::from_utf8_lossy(&file).contains(&hex::encode(ring.master_key())),
            "no key in clear"
        );
        let b = tempfile::tempdir().unwrap();
        let target = b.path().join("keys");
        assert_eq!(
            KeyRing::import(&file, "wrong horse battery", &target)
                .unwrap_err()
                .code(),
            "wrong_passphrase"
        );
        let back = KeyRing::import(&file, "correct horse battery", &target).unwrap();
        assert_eq!(back.master_key(), ring.master_key());
        assert_eq!(back.key_id(), ring.key_id());
        let (id, sig) = ring.seal(SealAlgorithm::Sm2, b"m");
        assert!(back.verify_seal(&id, b"m", &sig));
        assert_eq!(
            KeyRing::import(&file, "correct horse battery", &target)
                .unwrap_err()
                .code(),
            "keys_exist"
        );
        assert_eq!(
            KeyRing::load_existing(b.path()).unwrap_err().code(),
            "keys_missing"
        );
    }
}
