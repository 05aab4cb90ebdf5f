//! 备份目标 — a place objects are copied to and read back from: a local directory (another disk;
//! every object written durably: file synced, renamed, directory synced) or an S3-compatible
//! bucket through `object_store`, optionally under a key prefix. Backups and restores are copies
//! between targets, hashing with SHA-256 as the bytes pass.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::crypto;
use crate::store::{S3Config, VaultError};

/// Objects above this size are uploaded in parts of this size.
const PART_SIZE: usize = 8 * 1024 * 1024;

/// Where objects go.
#[derive(Debug, Clone)]
pub enum Target {
    /// A directory.
    Local(PathBuf),
    /// A bucket, with every key under `prefix` (empty or ending in `/`).
    Object {
        /// The client.
        store: Arc<dyn ObjectStore>,
        /// Key prefix.
        prefix: String,
    },
}

/// Bytes and digest of an object as copied or read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, hex.
    pub sha256: String,
}

async fn sync_dir(dir: &Path) -> std::io::Result<()> {
    tokio::fs::File::open(dir).await?.sync_all().await
}

fn missing(key: &str) -> impl Fn(std::io::Error) -> VaultError + '_ {
    move |e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            VaultError::Missing(key.to_owned())
        } else {
            VaultError::Io(e)
        }
    }
}

/// An object being read, in pieces.
pub(crate) enum Reader {
    File(tokio::fs::File, Vec<u8>),
    Stream(futures_util::stream::BoxStream<'static, object_store::Result<Bytes>>),
}

impl Reader {
    /// The next piece, or `None` at the end.
    pub(crate) async fn next(&mut self) -> Result<Option<Bytes>, VaultError> {
        match self {
            Reader::File(file, buf) => {
                let n = file.read(buf).await?;
                Ok((n > 0).then(|| Bytes::copy_from_slice(&buf[..n])))
            }
            Reader::Stream(stream) => match stream.next().await {
                None => Ok(None),
                Some(piece) => Ok(Some(piece?)),
            },
        }
    }
}

/// An object being written; nothing is visible under its key until [`Writer::finish`].
enum Writer {
    File {
        file: tokio::fs::File,
        tmp: PathBuf,
        dest: PathBuf,
    },
    /// Bytes are held until a part is full; an object that never fills one is sent in one PUT,
    /// a larger one as a multipart upload begun only then.
    Object {
        store: Arc<dyn ObjectStore>,
        location: ObjectPath,
        held: Vec<u8>,
        upload: Option<Box<WriteMultipart>>,
    },
}

impl Writer {
    async fn write(&mut self, bytes: &[u8]) -> Result<(), VaultError> {
        match self {
            Writer::File { file, .. } => Ok(file.write_all(bytes).await?),
            Writer::Object {
                store,
                location,
                held,
                upload,
            } => {
                held.extend_from_slice(bytes);
                if held.len() < PART_SIZE {
                    return Ok(());
                }
                if upload.is_none() {
                    let started = store.put_multipart(location).await?;
                    *upload = Some(Box::new(WriteMultipart::new_with_chunk_size(
                        started, PART_SIZE,
                    )));
                }
                if let Some(up) = upload.as_mut() {
                    up.wait_for_capacity(2).await?;
                    up.write(held);
                    held.clear();
                }
                Ok(())
            }
        }
    }

    async fn finish(self) -> Result<(), VaultError> {
        match self {
            Writer::File { file, tmp, dest } => {
                file.sync_all().await?;
                drop(file);
                let dir = dest.parent().map(Path::to_owned).unwrap_or_default();
                create_durable_dirs(&dir).await?;
                tokio::fs::rename(&tmp, &dest).await?;
                sync_dir(&dir).await?;
                Ok(())
            }
            Writer::Object {
                store,
                location,
                held,
                upload,
            } => {
                match upload {
                    None => {
                        store.put(&location, Bytes::from(held).into()).await?;
                    }
                    Some(mut up) => {
                        up.write(&held);
                        up.finish().await?;
                    }
                }
                Ok(())
            }
        }
    }

    async fn abort(self) {
        match self {
            Writer::File { file, tmp, .. } => {
                drop(file);
                let _ = tokio::fs::remove_file(tmp).await;
            }
            Writer::Object { upload, .. } => {
                if let Some(up) = upload {
                    let _ = up.abort().await;
                }
            }
        }
    }
}

/// Creates `dir` and its missing parents, syncing each new directory's parent so that the new
/// entries survive a crash too.
pub(crate) async fn create_durable_dirs(dir: &Path) -> Result<(), VaultError> {
    let mut missing = Vec::new();
    let mut at = dir.to_owned();
    // A relative path ends in the empty path, the current directory: it exists.
    while !at.as_os_str().is_empty() && !tokio::fs::try_exists(&at).await? {
        missing.push(at.clone());
        match at.parent() {
            Some(p) => at = p.to_owned(),
            None => break,
        }
    }
    for d in missing.iter().rev() {
        match tokio::fs::create_dir(d).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e.into()),
        }
        if let Some(parent) = d.parent() {
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            sync_dir(parent).await?;
        }
    }
    Ok(())
}

impl Target {
    /// A directory target (created when missing).
    pub async fn local(dir: &Path) -> Result<Target, VaultError> {
        create_durable_dirs(dir).await?;
        Ok(Target::Local(dir.to_owned()))
    }

    /// A bucket target; `prefix` may be empty. Nothing is requested yet.
    pub fn s3(config: &S3Config, prefix: &str) -> Result<Target, VaultError> {
        let prefix = prefix.trim_matches('/');
        Ok(Target::Object {
            store: config.client()?,
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
        })
    }

    fn location(prefix: &str, key: &str) -> ObjectPath {
        ObjectPath::from(format!("{prefix}{key}"))
    }

    pub(crate) async fn reader(&self, key: &str) -> Result<Reader, VaultError> {
        match self {
            Target::Local(root) => {
                let file = tokio::fs::File::open(root.join(key))
                    .await
                    .map_err(missing(key))?;
                Ok(Reader::File(file, vec![0u8; 1024 * 1024]))
            }
            Target::Object { store, prefix } => {
                match store.get(&Self::location(prefix, key)).await {
                    Ok(got) => Ok(Reader::Stream(got.into_stream())),
                    Err(object_store::Error::NotFound { .. }) => {
                        Err(VaultError::Missing(key.to_owned()))
                    }
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    async fn writer(&self, key: &str) -> Result<Writer, VaultError> {
        match self {
            Target::Local(root) => {
                let incoming = root.join(".incoming");
                create_durable_dirs(&incoming).await?;
                let tmp = incoming.join(format!("{}.tmp", hex::encode(crypto::random_bytes(16)?)));
                let file = tokio::fs::File::create(&tmp).await?;
                Ok(Writer::File {
                    file,
                    tmp,
                    dest: root.join(key),
                })
            }
            Target::Object { store, prefix } => Ok(Writer::Object {
                store: Arc::clone(store),
                location: Self::location(prefix, key),
                held: Vec::new(),
                upload: None,
            }),
        }
    }

    /// Copies object `key` of this target to `dest_key` of `dest`, hashing as it goes. The copy
    /// appears whole or not at all.
    pub async fn copy_to(
        &self,
        key: &str,
        dest: &Target,
        dest_key: &str,
    ) -> Result<Copied, VaultError> {
        let mut reader = self.reader(key).await?;
        let mut writer = dest.writer(dest_key).await?;
        let mut sha = Sha256::new();
        let mut size = 0u64;
        loop {
            let piece = match reader.next().await {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(e) => {
                    writer.abort().await;
                    return Err(e);
                }
            };
            sha.update(&piece);
            size += piece.len() as u64;
            if let Err(e) = writer.write(&piece).await {
                writer.abort().await;
                return Err(e);
            }
        }
        writer.finish().await?;
        Ok(Copied {
            size,
            sha256: hex::encode(sha.finalize()),
        })
    }

    /// Writes a small object whole.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), VaultError> {
        match self {
            Target::Local(_) => {
                let mut w = self.writer(key).await?;
                if let Err(e) = w.write(&bytes).await {
                    w.abort().await;
                    return Err(e);
                }
                w.finish().await
            }
            Target::Object { store, prefix } => {
                store
                    .put(&Self::location(prefix, key), Bytes::from(bytes).into())
                    .await?;
                Ok(())
            }
        }
    }

    /// Reads a small object whole.
    pub async fn get(&self, key: &str) -> Result<Vec<u8>, VaultError> {
        let mut r = self.reader(key).await?;
        let mut out = Vec::new();
        while let Some(p) = r.next().await? {
            out.extend_from_slice(&p);
        }
        Ok(out)
    }

    /// Reads an object through, returning its size and SHA-256.
    pub async fn digest(&self, key: &str) -> Result<Copied, VaultError> {
        let mut r = self.reader(key).await?;
        let mut sha = Sha256::new();
        let mut size = 0u64;
        while let Some(p) = r.next().await? {
            sha.update(&p);
            size += p.len() as u64;
        }
        Ok(Copied {
            size,
            sha256: hex::encode(sha.finalize()),
        })
    }

    /// Whether an object exists.
    pub async fn exists(&self, key: &str) -> Result<bool, VaultError> {
        match self {
            Target::Local(root) => Ok(tokio::fs::try_exists(root.join(key)).await?),
            Target::Object { store, prefix } => {
                match store.head(&Self::location(prefix, key)).await {
                    Ok(_) => Ok(true),
                    Err(object_store::Error::NotFound { .. }) => Ok(false),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// The keys directly under `prefix` that are "directories" (e.g. the sets under `sets/`),
    /// sorted.
    pub async fn list_dirs(&self, prefix: &str) -> Result<Vec<String>, VaultError> {
        self.list(prefix, true).await
    }

    /// The names of the objects directly under `prefix` (not in deeper "directories"), sorted.
    pub async fn list_files(&self, prefix: &str) -> Result<Vec<String>, VaultError> {
        self.list(prefix, false).await
    }

    async fn list(&self, prefix: &str, dirs: bool) -> Result<Vec<String>, VaultError> {
        let mut out = Vec::new();
        match self {
            Target::Local(root) => {
                let dir = root.join(prefix);
                let mut rd = match tokio::fs::read_dir(&dir).await {
                    Ok(rd) => rd,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
                    Err(e) => return Err(e.into()),
                };
                while let Some(e) = rd.next_entry().await? {
                    let kind = e.file_type().await?;
                    if (if dirs { kind.is_dir() } else { kind.is_file() })
                        && let Some(n) = e.file_name().to_str()
                    {
                        out.push(n.to_owned());
                    }
                }
            }
            Target::Object { store, prefix: p } => {
                let listed = store
                    .list_with_delimiter(Some(&Self::location(p, prefix.trim_end_matches('/'))))
                    .await?;
                if dirs {
                    out.extend(
                        listed
                            .common_prefixes
                            .iter()
                            .filter_map(|d| d.filename().map(str::to_owned)),
                    );
                } else {
                    out.extend(
                        listed
                            .objects
                            .iter()
                            .filter_map(|o| o.location.filename().map(str::to_owned)),
                    );
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Writes a small object that must never be overwritten (a witness copy): written when
    /// absent (`Ok(true)`), left alone when present with the same bytes (`Ok(false)`), refused
    /// when present with other bytes. A local target links the synced file into place, which
    /// fails if the name exists, so two writers cannot both win; a bucket is checked first and
    /// then written (protect it against deletion with the bucket's own object lock).
    pub async fn put_once(&self, key: &str, bytes: Vec<u8>) -> Result<bool, VaultError> {
        if self.exists(key).await? {
            return if self.get(key).await? == bytes {
                Ok(false)
            } else {
                Err(VaultError::Exists(key.to_owned()))
            };
        }
        match self {
            Target::Local(root) => {
                let dest = root.join(key);
                if let Some(parent) = dest.parent() {
                    create_durable_dirs(parent).await?;
                }
                let incoming = root.join(".incoming");
                create_durable_dirs(&incoming).await?;
                let tmp = incoming.join(format!("{}.tmp", hex::encode(crypto::random_bytes(16)?)));
                {
                    let mut f = tokio::fs::File::create(&tmp).await?;
                    f.write_all(&bytes).await?;
                    f.sync_all().await?;
                }
                let linked = tokio::fs::hard_link(&tmp, &dest).await;
                let _ = tokio::fs::remove_file(&tmp).await;
                match linked {
                    Ok(()) => {
                        if let Some(parent) = dest.parent() {
                            sync_dir(parent).await?;
                        }
                        Ok(true)
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        if self.get(key).await? == bytes {
                            Ok(false)
                        } else {
                            Err(VaultError::Exists(key.to_owned()))
                        }
                    }
                    Err(e) => Err(e.into()),
                }
            }
            Target::Object { .. } => {
                self.put(key, bytes).await?;
                Ok(true)
            }
        }
    }

    /// Deletes one object (absent is fine).
    pub async fn delete(&self, key: &str) -> Result<(), VaultError> {
        match self {
            Target::Local(root) => match tokio::fs::remove_file(root.join(key)).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e.into()),
            },
            Target::Object { store, prefix } => {
                match store.delete(&Self::location(prefix, key)).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// Deletes every object under `prefix` (a set being retired). Returns how many.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<usize, VaultError> {
        match self {
            Target::Local(root) => {
                let dir = root.join(prefix.trim_end_matches('/'));
                let mut n = 0usize;
                let mut stack = vec![dir.clone()];
                while let Some(d) = stack.pop() {
                    let mut rd = match tokio::fs::read_dir(&d).await {
                        Ok(rd) => rd,
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(e.into()),
                    };
                    while let Some(e) = rd.next_entry().await? {
                        if e.file_type().await?.is_dir() {
                            stack.push(e.path());
                        } else {
                            n += 1;
                        }
                    }
                }
                if tokio::fs::try_exists(&dir).await? {
                    tokio::fs::remove_dir_all(&dir).await?;
                    if let Some(parent) = dir.parent() {
                        sync_dir(parent).await?;
                    }
                }
                Ok(n)
            }
            Target::Object { store, prefix: p } => {
                let mut listing =
                    store.list(Some(&Self::location(p, prefix.trim_end_matches('/'))));
                let mut keys = Vec::new();
                while let Some(meta) = listing.next().await {
                    keys.push(meta?.location);
                }
                for k in &keys {
                    store.delete(k).await?;
                }
                Ok(keys.len())
            }
        }
    }
}
