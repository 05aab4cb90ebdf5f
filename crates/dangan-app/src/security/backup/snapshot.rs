//! The database snapshot of a set, encrypted end to end (S6.3, S7.4). It is taken into a
//! private temporary file inside the data directory (0600; removed on every way out — success,
//! error, cancellation — and, after a kill, by the next run of its target), then encrypted as a
//! stream into the target under a fresh data key per set wrapped by the master key: the
//! envelope of the scans. Restore and verification unwrap that key by the master key id the
//! manifest records, retired master keys included.

use std::path::{Path, PathBuf};

use dangan_vault::{Cipher, CryptoError, crypto};

use super::SnapshotKey;
use crate::security::keyring::KeyRing;

/// A file of plaintext personal data on local disk (a snapshot, or a restore's download): created
/// readable by its owner only, removed when dropped unless kept.
pub(super) struct PlainFile {
    path: PathBuf,
    keep: bool,
}

impl PlainFile {
    /// Creates `path` (0600), replacing what a killed process may have left under that name.
    pub(super) fn create(path: PathBuf) -> std::io::Result<(PlainFile, std::fs::File)> {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&path)?;
        Ok((PlainFile { path, keep: false }, file))
    }

    /// Where it is.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Keeps the file (it has become the restored database under another name).
    pub(super) fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for PlainFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The start of the names of target `target`'s snapshots in the spool.
fn temp_prefix(target: &str) -> String {
    let safe: String = target
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("backup-{safe}-")
}

/// The temporary name of the snapshot of `set` for target `target`.
pub(super) fn temp_name(target: &str, set: &str, db_name: &str) -> String {
    format!("{}{set}.{db_name}.tmp", temp_prefix(target))
}

/// Removes the snapshots that killed runs of target `target` left in `spool`; returns how many.
pub(super) fn sweep(spool: &Path, target: &str) -> std::io::Result<usize> {
    let prefix = temp_prefix(target);
    let entries = match std::fs::read_dir(spool) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for e in entries {
        let e = e?;
        if e.file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(&prefix))
        {
            match std::fs::remove_file(e.path()) {
                Ok(()) => removed += 1,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(err),
            }
        }
    }
    Ok(removed)
}

/// A fresh data key for a set's snapshot, and how the manifest records it.
pub(super) fn new_key(
    cipher: Cipher,
    keys: &KeyRing,
) -> Result<(Vec<u8>, SnapshotKey), CryptoError> {
    let data_key = crypto::random_bytes(cipher.key_len())?;
    let wrapped = crypto::wrap_key(keys.master_key(), &data_key)?;
    Ok((
        data_key,
        SnapshotKey {
            cipher: cipher.name().to_owned(),
            master_key_id: keys.master_key_id().to_owned(),
            wrapped_key: hex::encode(wrapped),
        },
    ))
}

/// Why a snapshot's data key cannot be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum KeyProblem {
    /// The master key that wrapped it is not in the key directory.
    MasterMissing(String),
    /// The recorded key does not unwrap (changed, or not of this format).
    Unusable,
}

impl KeyProblem {
    /// In Chinese, for a verification report.
    pub(super) fn describe(&self) -> String {
        match self {
            KeyProblem::MasterMissing(id) => {
                format!("数据库快照由主密钥 {id} 加密，密钥目录中没有该密钥，无法解密校验")
            }
            KeyProblem::Unusable => "数据库快照的数据密钥无法解开（清单记录不符）".to_owned(),
        }
    }
}

/// The data key of a snapshot, unwrapped with the master key it names.
pub(super) fn data_key(entry: &SnapshotKey, keys: &KeyRing) -> Result<Vec<u8>, KeyProblem> {
    let cipher = Cipher::parse(&entry.cipher).ok_or(KeyProblem::Unusable)?;
    let master = keys
        .master_key_by_id(&entry.master_key_id)
        .ok_or_else(|| KeyProblem::MasterMissing(entry.master_key_id.clone()))?;
    let wrapped = hex::decode(&entry.wrapped_key).map_err(|_| KeyProblem::Unusable)?;
    let key = crypto::unwrap_key(&master, &wrapped).map_err(|_| KeyProblem::Unusable)?;
    if key.len() != cipher.key_len() {
        return Err(KeyProblem::Unusable);
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_file_is_private_and_gone_when_dropped_unless_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(temp_name("cloud", "S1", "database.sqlite"));
        std::fs::write(&path, b"left by a killed run").unwrap();
        let (plain, mut file) = PlainFile::create(path.clone()).unwrap();
        std::io::Write::write_all(&mut file, b"SQLite format 3\0").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(std::fs::read(&path).unwrap(), b"SQLite format 3\0");
        drop(plain);
        assert!(!path.exists());
        let (plain, _) = PlainFile::create(path.clone()).unwrap();
        plain.keep();
        assert!(path.exists());
    }

    #[test]
    fn a_sweep_removes_only_its_own_targets_snapshots() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            temp_name("local", "A", "database.sqlite"),
            temp_name("cloud", "B", "database.sqlite"),
            "abcd.tmp".to_owned(),
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        assert_eq!(sweep(dir.path(), "local").unwrap(), 1);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn a_snapshot_key_unwraps_with_its_master_key_retired_or_not_and_only_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::load_or_create(dir.path()).unwrap();
        let (key, entry) = new_key(Cipher::Sm4Gcm, &ring).unwrap();
        assert_eq!((key.len(), entry.cipher.as_str()), (16, "sm4-gcm"));
        assert_eq!(data_key(&entry, &ring).unwrap(), key);
        ring.next_master_key().unwrap();
        ring.finish_rotation().unwrap();
        let rotated = KeyRing::load_existing(dir.path()).unwrap();
        assert_ne!(rotated.master_key_id(), entry.master_key_id);
        assert_eq!(
            data_key(&entry, &rotated).unwrap(),
            key,
            "a retired master key"
        );
        let stranger = KeyRing::load_or_create(tempfile::tempdir().unwrap().path()).unwrap();
        assert_eq!(
            data_key(&entry, &stranger),
            Err(KeyProblem::MasterMissing(entry.master_key_id.clone()))
        );
        let mut changed = entry.clone();
        let flipped = if &changed.wrapped_key[30..31] == "0" {
            "1"
        } else {
            "0"
        };
        changed.wrapped_key.replace_range(30..31, flipped);
        assert_eq!(data_key(&changed, &ring), Err(KeyProblem::Unusable));
    }
}
