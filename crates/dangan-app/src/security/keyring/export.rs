//! 导出与导入 — every key of the agency exported under a passphrase (Argon2id, then
//! AES-256-GCM), for keeping apart from the backups, and imported into an empty directory.

use std::path::Path;

use super::{
    KeyRing, LOG_CHAIN_FILE, LOG_KEY_FILE, MASTER_FILE, NEXT_MASTER_FILE, PII_FILE, RETIRED_DIR,
    SIGNING_FILE, SM2_FILE,
};
use crate::adapters::key_files::{io_err, random32, restrict, sync_dir, write_private};
use crate::{AppError, AppResult};

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
            write_private(&tmp, text.as_bytes())?;
            std::fs::rename(&tmp, &path).map_err(|e| io_err("cannot rename", &path, e))?;
        }
        sync_dir(dir);
        KeyRing::load_existing(dir)
    }
}
