//! 备份目标 — a place objects are copied to and read back from: a local directory (another disk;
//! every object written durably: file synced, renamed, directory synced) or an S3-compatible
//! bucket through `object_store`, optionally under a key prefix. Backups and restores are copies
//! between targets, hashing with SHA-256 as the bytes pass; a local file can also be encrypted
//! into an object (and an object decrypted back) as a stream, in the blobs' format.
//!
//! On a local target an object is written to `.incoming/` first, under a name that starts with
//! its key (`/` as `~`), so that what a killed writer left under a prefix can be found and
//! removed ([`Target::remove_incoming`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::crypto::{self, Cipher, Decryptor, Encryptor};
use crate::store::{S3Config, VaultError};

/// Objects above this size are uploaded in parts of this size.
const PART_SIZE: usize = 8 * 1024 * 1024;

/// Bytes read from a local file and encrypted at a time.
const STREAM_BUFFER: usize = 1024 * 1024;

/// The directory of a local target where objects are written before they get their name.
const INCOMING: &str = ".incoming";

/// The longest key stem in a temporary file's name (file names stop at 255 bytes).
const MAX_STEM: usize = 150;

/// How a key (or a key prefix) begins the name of its temporary file in `.incoming/`.
fn incoming_stem(key: &str) -> String {
    let mut stem = key.replace('/', "~");
    if stem.len() > MAX_STEM {
        let mut cut = MAX_STEM;
        while !stem.is_char_boundary(cut) {
            cut -= 1;
        }
        stem.truncate(cut);
    }
    stem
}

/// A fresh temporary name for an object being written under `key`.
fn incoming_name(key: &str) -> Result<String, VaultError> {
    Ok(format!(
        "{}.{}.tmp",
        incoming_stem(key),
        hex::encode(crypto::random_bytes(16)?)
    ))
}

fn joined(e: tokio::task::JoinError) -> VaultError {
    VaultError::Io(std::io::Error::other(e))
}

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
                let incoming = root.join(INCOMING);
                create_durable_dirs(&incoming).await?;
                let tmp = incoming.join(incoming_name(key)?);
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

    /// Encrypts the local file `source` into object `key` under `data_key`, in the blobs' format
    /// (see `docs/vault-format.md`), as a stream: memory stays at a few MiB whatever the size.
    /// The object appears whole or not at all. Returns the stored (encrypted) bytes' size and
    /// SHA-256.
    pub async fn write_encrypted(
        &self,
        key: &str,
        source: std::fs::File,
        cipher: Cipher,
        data_key: &[u8],
    ) -> Result<Copied, VaultError> {
        let enc = Encryptor::new(cipher, data_key)?;
        let mut writer = self.writer(key).await?;
        // One blocking thread reads, encrypts and hashes; this task writes. The channel is
        // bounded, so a slow target holds the reading back.
        let (to_writer, mut pieces) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
        let producer = tokio::task::spawn_blocking(move || -> Result<Copied, VaultError> {
            use std::io::Read;
            let (mut source, mut enc) = (source, enc);
            let mut sha = Sha256::new();
            let mut size = 0u64;
            let mut send = |sealed: Vec<u8>| -> Result<(), VaultError> {
                sha.update(&sealed);
                size += sealed.len() as u64;
                to_writer
                    .blocking_send(sealed)
                    .map_err(|_| VaultError::Io(std::io::Error::other("the writer stopped")))
            };
            let mut buf = vec![0u8; STREAM_BUFFER];
            loop {
                let n = match source.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(err) => return Err(err.into()),
                };
                send(enc.update(&buf[..n])?)?;
            }
            send(enc.finish()?)?;
            Ok(Copied {
                size,
                sha256: hex::encode(sha.finalize()),
            })
        });
        while let Some(piece) = pieces.recv().await {
            if let Err(e) = writer.write(&piece).await {
                drop(pieces);
                writer.abort().await;
                let _ = producer.await;
                return Err(e);
            }
        }
        match producer.await.map_err(joined)? {
            Ok(copied) => {
                writer.finish().await?;
                Ok(copied)
            }
            Err(e) => {
                writer.abort().await;
                Err(e)
            }
        }
    }

    /// Reads object `key` through, returning its stored bytes' size and SHA-256. With
    /// `data_key` the bytes are decrypted as they pass (an object in the blobs' format), and the
    /// read fails if any record does not authenticate; what comes out (the plaintext, or the
    /// bytes as stored without a key) is written to `out` when given, which is synced at the end.
    pub async fn read_through(
        &self,
        key: &str,
        data_key: Option<&[u8]>,
        out: Option<std::fs::File>,
    ) -> Result<Copied, VaultError> {
        let mut reader = self.reader(key).await?;
        let dec = data_key.map(Decryptor::new);
        let (to_reader, mut pieces) = tokio::sync::mpsc::channel::<Bytes>(4);
        let consumer = tokio::task::spawn_blocking(move || -> Result<Copied, VaultError> {
            use std::io::Write;
            let (mut out, mut dec) = (out, dec);
            let mut sha = Sha256::new();
            let mut size = 0u64;
            while let Some(piece) = pieces.blocking_recv() {
                sha.update(&piece);
                size += piece.len() as u64;
                match (dec.as_mut(), out.as_mut()) {
                    (Some(d), out) => {
                        let plain = d.update(&piece)?;
                        if let Some(f) = out {
                            f.write_all(&plain)?;
                        }
                    }
                    (None, Some(f)) => f.write_all(&piece)?,
                    (None, None) => {}
                }
            }
            if let Some(d) = dec {
                let plain = d.finish()?;
                if let Some(f) = out.as_mut() {
                    f.write_all(&plain)?;
                }
            }
            if let Some(f) = out {
                f.sync_all()?;
            }
            Ok(Copied {
                size,
                sha256: hex::encode(sha.finalize()),
            })
        });
        loop {
            match reader.next().await {
                Ok(Some(piece)) => {
                    if to_reader.send(piece).await.is_err() {
                        // The consumer stopped (a record failed): its error is the answer.
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    drop(to_reader);
                    let _ = consumer.await;
                    return Err(e);
                }
            }
        }
        drop(to_reader);
        consumer.await.map_err(joined)?
    }

    /// Removes what writers that never finished left in a local target's `.incoming/` for keys
    /// under `prefix` (a killed backup's objects); returns how many. Only for keys no writer is
    /// still writing. A bucket shows an object only once its upload completes, so it has no such
    /// debris (an abandoned multipart upload is invisible; a lifecycle rule aborts it).
    pub async fn remove_incoming(&self, prefix: &str) -> Result<usize, VaultError> {
        let Target::Local(root) = self else {
            return Ok(0);
        };
        let stem = incoming_stem(prefix);
        let mut rd = match tokio::fs::read_dir(root.join(INCOMING)).await {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        let mut removed = 0;
        while let Some(e) = rd.next_entry().await? {
            if e.file_name().to_str().is_some_and(|n| n.starts_with(&stem)) {
                match tokio::fs::remove_file(e.path()).await {
                    Ok(()) => removed += 1,
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                    Err(err) => return Err(err.into()),
                }
            }
        }
        Ok(removed)
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

    /// Every object under `prefix` (at any depth) with its size, by key. A local target's
    /// `.incoming/` is not listed.
    pub async fn list_sizes(
        &self,
        prefix: &str,
    ) -> Result<std::collections::BTreeMap<String, u64>, VaultError> {
        let mut out = std::collections::BTreeMap::new();
        let prefix = prefix.trim_end_matches('/');
        match self {
            Target::Local(root) => {
                let mut stack = vec![prefix.to_owned()];
                while let Some(rel) = stack.pop() {
                    let mut rd = match tokio::fs::read_dir(root.join(&rel)).await {
                        Ok(rd) => rd,
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(e.into()),
                    };
                    while let Some(e) = rd.next_entry().await? {
                        let Some(name) = e.file_name().to_str().map(str::to_owned) else {
                            continue;
                        };
                        let key = if rel.is_empty() {
                            name.clone()
                        } else {
                            format!("{rel}/{name}")
                        };
                        let meta = e.metadata().await?;
                        if meta.is_dir() {
                            if name != INCOMING {
                                stack.push(key);
                            }
                        } else {
                            out.insert(key, meta.len());
                        }
                    }
                }
            }
            Target::Object { store, prefix: p } => {
                let mut listing = store.list(Some(&Self::location(p, prefix)));
                while let Some(meta) = listing.next().await {
                    let meta = meta?;
                    let location = meta.location.to_string();
                    if let Some(key) = location.strip_prefix(p.as_str()) {
                        out.insert(key.to_owned(), meta.size);
                    }
                }
            }
        }
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
                let incoming = root.join(INCOMING);
                create_durable_dirs(&incoming).await?;
                let tmp = incoming.join(incoming_name(key)?);
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

    /// Deletes every object under `prefix` (a set being retired), and on a local target the
    /// temporaries of unfinished writes under it. Returns how many.
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
                Ok(n + self.remove_incoming(prefix).await?)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(dir: &Path, data: &[u8]) -> std::fs::File {
        let path = dir.join("plain");
        std::fs::write(&path, data).unwrap();
        std::fs::File::open(path).unwrap()
    }

    #[tokio::test]
    async fn a_file_encrypted_into_a_target_reads_back_decrypted_and_holds_no_plaintext() {
        let work = tempfile::tempdir().unwrap();
        let target = Target::local(&work.path().join("t")).await.unwrap();
        let data: Vec<u8> = (0..(3 * STREAM_BUFFER + 777) as u32)
            .map(|i| (i % 251) as u8)
            .collect();
        for cipher in [Cipher::Aes256Gcm, Cipher::Sm4Gcm] {
            let key = crypto::random_bytes(cipher.key_len()).unwrap();
            let stored = target
                .write_encrypted(
                    "sets/a/db.dgvb",
                    file_with(work.path(), &data),
                    cipher,
                    &key,
                )
                .await
                .unwrap();
            let on_disk = std::fs::read(work.path().join("t/sets/a/db.dgvb")).unwrap();
            assert_eq!(stored.size, on_disk.len() as u64);
            assert_eq!(stored.sha256, hex::encode(Sha256::digest(&on_disk)));
            assert!(!on_disk.windows(64).any(|w| w == &data[1000..1064]));
            let back_path = work.path().join("back");
            let read = target
                .read_through(
                    "sets/a/db.dgvb",
                    Some(&key),
                    Some(std::fs::File::create(&back_path).unwrap()),
                )
                .await
                .unwrap();
            assert_eq!(read, stored, "the digest is of the stored bytes");
            assert!(std::fs::read(&back_path).unwrap() == data, "{cipher:?}");
        }
        assert_eq!(
            std::fs::read_dir(work.path().join("t/.incoming"))
                .unwrap()
                .count(),
            0
        );
    }

    #[tokio::test]
    async fn an_encrypted_object_changed_or_read_with_another_key_fails_authentication() {
        let work = tempfile::tempdir().unwrap();
        let target = Target::local(&work.path().join("t")).await.unwrap();
        let key = crypto::random_bytes(32).unwrap();
        let data = vec![5u8; 200_000];
        target
            .write_encrypted("o", file_with(work.path(), &data), Cipher::Aes256Gcm, &key)
            .await
            .unwrap();
        let other = crypto::random_bytes(32).unwrap();
        assert!(matches!(
            target.read_through("o", Some(&other), None).await,
            Err(VaultError::Crypto(_))
        ));
        let path = work.path().join("t/o");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[150_000] ^= 0x10;
        std::fs::write(&path, &bytes).unwrap();
        // Read without a key, the changed object is only a digest; with it, it fails.
        let digest = target.read_through("o", None, None).await.unwrap();
        assert_eq!(digest.sha256, hex::encode(Sha256::digest(&bytes)));
        assert!(matches!(
            target.read_through("o", Some(&key), None).await,
            Err(VaultError::Crypto(crypto::CryptoError::Tampered(2)))
        ));
        std::fs::write(&path, &bytes[..100_000]).unwrap();
        assert!(matches!(
            target.read_through("o", Some(&key), None).await,
            Err(VaultError::Crypto(_))
        ));
    }

    #[tokio::test]
    async fn what_unfinished_writers_left_under_a_prefix_is_removed_and_nothing_else() {
        let work = tempfile::tempdir().unwrap();
        let target = Target::local(work.path()).await.unwrap();
        // Writers that never finish, as a killed process leaves them.
        for key in [
            "sets/A/blobs/ab/x.dgvb",
            "sets/B/manifest.sig",
            "anchors/1.json",
        ] {
            let mut w = target.writer(key).await.unwrap();
            w.write(b"half").await.unwrap();
            drop(w);
        }
        target
            .put("sets/A/database.dgvb", b"db".to_vec())
            .await
            .unwrap();
        let incoming = || {
            let mut names: Vec<String> = std::fs::read_dir(work.path().join(INCOMING))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        assert_eq!(incoming().len(), 3);
        assert_eq!(target.delete_prefix("sets/A/").await.unwrap(), 2);
        assert!(!work.path().join("sets/A").exists());
        assert_eq!(target.remove_incoming("sets/").await.unwrap(), 1);
        let left = incoming();
        assert_eq!(left.len(), 1);
        assert!(left[0].starts_with("anchors~1.json."), "{left:?}");
    }
}
