//! Key files on disk: 32-byte keys in hex, created once with mode 0600 in a directory of mode
//! 0700, written to a temporary name, synced and renamed so that a crash never leaves a
//! half-written key under the real name. `security/keyring/` decides which keys there are.

use std::io::Write;
use std::path::Path;

use crate::{AppError, AppResult};

/// Reads a key file: 32 bytes in hex.
pub(crate) fn read_key(path: &Path) -> AppResult<[u8; 32]> {
    let text = std::fs::read_to_string(path).map_err(|e| io_err("cannot read", path, e))?;
    let bytes = hex::decode(text.trim())
        .map_err(|_| AppError::Internal(format!("key file {} is not hex", path.display())))?;
    bytes
        .try_into()
        .map_err(|_| AppError::Internal(format!("key file {} is not 32 bytes", path.display())))
}

/// An I/O failure on a key file, with what was being done and the path.
pub(crate) fn io_err(what: &str, path: &Path, e: std::io::Error) -> AppError {
    AppError::Internal(format!("{what} {}: {e}", path.display()))
}

/// 32 bytes from the operating system's random source.
pub(crate) fn random32() -> AppResult<[u8; 32]> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| AppError::Internal(format!("random source: {e}")))?;
    Ok(b)
}

/// Sets a file's or directory's permission bits (0600, 0700).
#[cfg(unix)]
pub(crate) fn restrict(path: &Path, mode: u32) -> AppResult<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| io_err("cannot set permissions of", path, e))
}

/// Permission bits are Unix only.
#[cfg(not(unix))]
pub(crate) fn restrict(_path: &Path, _mode: u32) -> AppResult<()> {
    Ok(())
}

/// The key in `dir/name`, created (32 random bytes) when the file does not exist.
pub(crate) fn load_or_create_key(dir: &Path, name: &str) -> AppResult<[u8; 32]> {
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
            write_private(&tmp, hex::encode(key).as_bytes())?;
            std::fs::rename(&tmp, &path).map_err(|e| io_err("cannot rename", &path, e))?;
            sync_dir(dir);
            Ok(key)
        }
        Err(e) => Err(io_err("cannot read", &path, e)),
    }
}

/// Creates `tmp` with mode 0600 and writes and syncs `bytes` to it (the caller then renames or
/// links it to its real name).
pub(crate) fn write_private(tmp: &Path, bytes: &[u8]) -> AppResult<()> {
    let mut f = std::fs::File::create(tmp).map_err(|e| io_err("cannot create", tmp, e))?;
    restrict(tmp, 0o600)?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| io_err("cannot write", tmp, e))
}

/// Syncs a directory after a rename in it (best effort: not every platform can).
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}
