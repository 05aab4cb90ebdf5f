//! Durable, content-addressed blob storage: a local directory (the default) or an
//! S3-compatible bucket through the `object_store` crate.
//!
//! A blob is named by the SHA-256 of its plaintext (`blobs/ab/abcd….dgvb`, one level of 256 directories made when the vault is
//! opened, so that no ingest has to create and sync a directory), so identical scans are
//! stored once. Ingest streams: plaintext is hashed (SHA-256, and SM3 in the 国密 digest profile,
//! [`Digests`]) and encrypted record by record into a temporary file, which is `fsync`ed, renamed to its final name and its directory
//! `fsync`ed before the caller is told where it is. A crash before the rename leaves only a
//! temporary file; a crash after it, before the caller commits its metadata, leaves an orphan
//! blob that [`Vault::remove_orphans`] deletes. Nothing half-written ever has a final name.
//!
//! With the S3 backend the encrypted blob is spooled to the same local `tmp/` directory while
//! it is hashed, then uploaded under its final key (`blobs/ab/abcd….dgvb`) in one PUT or one
//! multipart upload; S3 makes an object visible only when its upload completes, so the same
//! promise holds. The local backend is our own code rather than `object_store`'s
//! `LocalFileSystem` because that one does not `fsync` the file or its directory.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};
use sm3::Sm3;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::crypto::{self, Cipher, CryptoError, Decryptor, Encryptor};
use crate::target::Target;

/// Bytes read and handed to the hashing and encrypting threads at a time.
const PIPE_BUFFER: usize = 1024 * 1024;

/// Plaintext bytes kept from the start of a file above the parse limit, for quick
/// identification by signature.
pub const HEAD_LEN: usize = 256 * 1024;

/// Files up to this size are kept whole in memory during ingest, for identification by parsing
/// (a PDF's cross-reference table and XMP often sit at its end); larger files are identified
/// from their first [`HEAD_LEN`] bytes only, and say so.
pub const DEFAULT_PARSE_LIMIT: u64 = 256 * 1024 * 1024;

/// Why a vault operation failed.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The file is larger than allowed.
    #[error("file larger than {0} bytes")]
    TooLarge(u64),
    /// An empty upload.
    #[error("empty file")]
    Empty,
    /// Disk or I/O failure.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// Encryption or authentication failure.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The blob is not there.
    #[error("blob {0} is missing")]
    Missing(String),
    /// The object store (S3) failed.
    #[error("object store: {0}")]
    Remote(String),
    /// An object that is written once already holds other bytes.
    #[error("object {0} already exists with other content")]
    Exists(String),
}

impl VaultError {
    /// Whether a read failed because whoever was reading went away (the browser left the page
    /// or aborted the download: the pipe to it is broken). Nothing is wrong with the blob.
    pub fn is_reader_gone(&self) -> bool {
        matches!(self, VaultError::Io(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }

    /// Whether this is a write that failed for want of space (`ENOSPC` on a local disk).
    pub fn is_storage_full(&self) -> bool {
        match self {
            VaultError::Io(e) => {
                e.raw_os_error() == Some(28) || e.kind() == std::io::ErrorKind::StorageFull
            }
            _ => false,
        }
    }
}

impl From<object_store::Error> for VaultError {
    fn from(e: object_store::Error) -> Self {
        VaultError::Remote(e.to_string())
    }
}

/// Where an S3-compatible bucket is and how to sign in to it.
#[derive(Clone)]
pub struct S3Config {
    /// Endpoint URL, e.g. `https://oss-cn-beijing.aliyuncs.com` or `http://127.0.0.1:9000`.
    pub endpoint: String,
    /// Bucket name.
    pub bucket: String,
    /// Region (many S3-compatible servers ignore it).
    pub region: String,
    /// Access key id.
    pub access_key: String,
    /// Secret access key (never printed).
    pub secret_key: String,
    /// Allow a plain-HTTP endpoint (for a server on the same host or in a test).
    pub allow_http: bool,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

impl S3Config {
    /// A client for the bucket (no request is made yet).
    pub fn client(&self) -> Result<Arc<dyn ObjectStore>, VaultError> {
        let store = AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_bucket_name(&self.bucket)
            .with_region(&self.region)
            .with_access_key_id(&self.access_key)
            .with_secret_access_key(&self.secret_key)
            .with_allow_http(self.allow_http)
            // A few quick retries: an upload is waiting on this, and a bucket that stays down
            // must fail the request visibly rather than hold it for minutes.
            .with_retry(object_store::RetryConfig {
                max_retries: 3,
                retry_timeout: std::time::Duration::from_secs(20),
                ..object_store::RetryConfig::default()
            })
            .build()?;
        Ok(Arc::new(store))
    }
}

/// Where blobs live.
#[derive(Debug, Clone)]
enum Backend {
    /// `root/blobs/…` on a local file system.
    Local,
    /// An object store (S3-compatible).
    Object(Arc<dyn ObjectStore>),
}

/// The digests ingest computes over a scan's plaintext. SHA-256 always: it names the blob and
/// is the digest every check uses. SM3 (GB/T 32905) besides it in the national (国密) profile,
/// where the agency must show a national-standard digest; computing it costs more than
/// encrypting, so the AES profile leaves it out unless configured (`docs/vault-format.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digests {
    /// SHA-256 only: the default with AES-256-GCM.
    Sha256,
    /// SHA-256 and SM3: the default with SM4-GCM, or chosen with AES-256-GCM.
    Sha256AndSm3,
}

impl Digests {
    /// Parses a configured profile: `sha256` or `sha256+sm3`.
    pub fn parse(s: &str) -> Option<Digests> {
        match s.trim() {
            "sha256" => Some(Digests::Sha256),
            "sha256+sm3" => Some(Digests::Sha256AndSm3),
            _ => None,
        }
    }

    /// The profile that goes with a cipher: SM3 with SM4 (国密), SHA-256 alone with AES.
    pub fn default_for(cipher: Cipher) -> Digests {
        match cipher {
            Cipher::Aes256Gcm => Digests::Sha256,
            Cipher::Sm4Gcm => Digests::Sha256AndSm3,
        }
    }

    /// Whether SM3 is computed.
    pub fn sm3(self) -> bool {
        self == Digests::Sha256AndSm3
    }
}

/// What ingest stored.
#[derive(Debug, Clone)]
pub struct Ingested {
    /// SHA-256 of the plaintext (the blob's name), hex.
    pub sha256: String,
    /// SM3 of the plaintext, hex, when the vault's [`Digests`] profile computes it.
    pub sm3: Option<String>,
    /// Plaintext size in bytes.
    pub size: u64,
    /// The cipher.
    pub cipher: Cipher,
    /// The blob's data key wrapped under the master key.
    pub wrapped_key: Vec<u8>,
    /// True when a blob with these bytes already existed: nothing new was written, and the
    /// existing blob (with its own wrapped key, known to the caller) stands.
    pub duplicate: bool,
    /// The plaintext for identification: all of it when [`Ingested::complete`], else its
    /// first [`HEAD_LEN`] bytes (the file was above the vault's parse limit).
    pub content: Vec<u8>,
    /// `content` is the whole file.
    pub complete: bool,
}

/// The outcome of re-reading a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// SHA-256 recomputed from the decrypted bytes.
    pub sha256: String,
    /// SM3 recomputed, when asked for.
    pub sm3: Option<String>,
    /// Size recomputed.
    pub size: u64,
}

/// A vault: blobs in a local directory or an S3-compatible bucket, with a local `tmp/` spool.
#[derive(Debug, Clone)]
pub struct Vault {
    root: PathBuf,
    cipher: Cipher,
    digests: Digests,
    parse_limit: u64,
    backend: Backend,
}

/// The object key of a blob: the same layout as on disk.
pub fn blob_key(sha256: &str) -> String {
    let a = &sha256[..2.min(sha256.len())];
    format!("blobs/{a}/{sha256}.dgvb")
}

fn blob_path(root: &Path, sha256: &str) -> PathBuf {
    root.join(blob_key(sha256))
}

fn not_found(sha256: &str) -> impl Fn(std::io::Error) -> VaultError + '_ {
    move |e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            VaultError::Missing(sha256.to_owned())
        } else {
            VaultError::Io(e)
        }
    }
}

fn remote_not_found(sha256: &str) -> impl Fn(object_store::Error) -> VaultError + '_ {
    move |e| match e {
        object_store::Error::NotFound { .. } => VaultError::Missing(sha256.to_owned()),
        other => VaultError::from(other),
    }
}

async fn sync_dir(dir: &Path) -> std::io::Result<()> {
    let d = tokio::fs::File::open(dir).await?;
    d.sync_all().await
}

/// A blocking thread that hashes the chunks sent to it with `D`; its hex digest when the
/// sender is dropped.
fn digest_thread<D: Digest + Send + 'static>() -> (
    tokio::sync::mpsc::Sender<Arc<Vec<u8>>>,
    tokio::task::JoinHandle<String>,
) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Arc<Vec<u8>>>(4);
    let thread = tokio::task::spawn_blocking(move || {
        let mut d = D::new();
        while let Some(chunk) = rx.blocking_recv() {
            d.update(&chunk[..]);
        }
        hex::encode(d.finalize())
    });
    (tx, thread)
}

impl Vault {
    /// A vault under `root` (created when missing) that encrypts new blobs with `cipher`.
    pub async fn open(root: &Path, cipher: Cipher) -> Result<Vault, VaultError> {
        let blobs = root.join("blobs");
        tokio::fs::create_dir_all(&blobs).await?;
        tokio::fs::create_dir_all(root.join("tmp")).await?;
        let mut created = false;
        for i in 0..=255u8 {
            let d = blobs.join(hex::encode([i]));
            if !tokio::fs::try_exists(&d).await? {
                tokio::fs::create_dir(&d).await?;
                created = true;
            }
        }
        if created {
            sync_dir(&blobs).await?;
            sync_dir(root).await?;
        }
        Ok(Vault {
            root: root.to_owned(),
            cipher,
            digests: Digests::default_for(cipher),
            parse_limit: DEFAULT_PARSE_LIMIT,
            backend: Backend::Local,
        })
    }

    /// A vault whose blobs live in an S3-compatible bucket; `spool` is a local directory for
    /// blobs on their way up. The bucket is checked by listing it once, so a wrong endpoint or
    /// wrong credentials fail here rather than at the first upload.
    pub async fn open_s3(spool: &Path, cipher: Cipher, s3: &S3Config) -> Result<Vault, VaultError> {
        tokio::fs::create_dir_all(spool.join("tmp")).await?;
        let store = s3.client()?;
        store
            .list_with_delimiter(Some(&ObjectPath::from("blobs")))
            .await?;
        Ok(Vault {
            root: spool.to_owned(),
            cipher,
            digests: Digests::default_for(cipher),
            parse_limit: DEFAULT_PARSE_LIMIT,
            backend: Backend::Object(store),
        })
    }

    /// Whether the blob store answers, for a readiness check: the local `blobs/` directory can
    /// be read, or the bucket answers a listing of `blobs/`.
    pub async fn probe(&self) -> Result<(), VaultError> {
        match &self.backend {
            Backend::Local => {
                drop(tokio::fs::read_dir(self.root.join("blobs")).await?);
            }
            Backend::Object(store) => {
                store
                    .list_with_delimiter(Some(&ObjectPath::from("blobs")))
                    .await?;
            }
        }
        Ok(())
    }

    /// The same vault computing `digests` on ingest instead of its cipher's default.
    pub fn with_digests(mut self, digests: Digests) -> Vault {
        self.digests = digests;
        self
    }

    /// The same vault keeping files up to `bytes` whole for identification (see
    /// [`DEFAULT_PARSE_LIMIT`]).
    pub fn with_parse_limit(mut self, bytes: u64) -> Vault {
        self.parse_limit = bytes;
        self
    }

    /// The digests ingest computes.
    pub fn digests(&self) -> Digests {
        self.digests
    }

    /// The vault's blobs seen as a [`Target`] (keys `blobs/ab/<sha256>.dgvb`), for backups.
    pub fn as_target(&self) -> crate::target::Target {
        match &self.backend {
            Backend::Local => crate::target::Target::Local(self.root.clone()),
            Backend::Object(store) => crate::target::Target::Object {
                store: Arc::clone(store),
                prefix: String::new(),
            },
        }
    }

    /// `local` or `s3`, for status pages and logs.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Local => "local",
            Backend::Object(_) => "s3",
        }
    }

    /// The cipher new blobs get.
    pub fn cipher(&self) -> Cipher {
        self.cipher
    }

    /// Where a blob lives (for tests and operators; callers use the methods).
    pub fn path_of(&self, sha256: &str) -> PathBuf {
        blob_path(&self.root, sha256)
    }

    /// Whether a blob exists.
    pub async fn exists(&self, sha256: &str) -> Result<bool, VaultError> {
        self.as_target().exists(&blob_key(sha256)).await
    }

    /// Gives the spooled, synced temporary file `tmp` its final name (local) or uploads it
    /// under its final key (S3). Returns true when the blob was already there.
    async fn publish(&self, tmp: &Path, sha256: &str) -> Result<bool, VaultError> {
        if self.exists(sha256).await? {
            tokio::fs::remove_file(tmp).await?;
            return Ok(true);
        }
        match &self.backend {
            Backend::Local => {
                let path = self.path_of(sha256);
                let dir = path
                    .parent()
                    .map(Path::to_owned)
                    .unwrap_or_else(|| self.root.clone());
                crate::target::create_durable_dirs(&dir).await?;
                tokio::fs::rename(tmp, &path).await?;
                sync_dir(&dir).await?;
            }
            Backend::Object(_) => {
                // One PUT up to a part, otherwise a multipart upload aborted on failure.
                let spool = Target::Local(tmp.parent().map(Path::to_owned).unwrap_or_default());
                let name = tmp
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
                    .to_owned();
                let uploaded = spool
                    .copy_to(&name, &self.as_target(), &blob_key(sha256))
                    .await;
                tokio::fs::remove_file(tmp).await?;
                uploaded?;
            }
        }
        Ok(false)
    }

    async fn reader(&self, sha256: &str) -> Result<crate::target::Reader, VaultError> {
        self.as_target()
            .reader(&blob_key(sha256))
            .await
            .map_err(|e| match e {
                VaultError::Missing(_) => VaultError::Missing(sha256.to_owned()),
                other => other,
            })
    }

    /// The stored (encrypted) length of a blob.
    async fn stored_len(&self, sha256: &str) -> Result<u64, VaultError> {
        match &self.backend {
            Backend::Local => Ok(tokio::fs::metadata(self.path_of(sha256))
                .await
                .map_err(not_found(sha256))?
                .len()),
            Backend::Object(store) => Ok(store
                .head(&ObjectPath::from(blob_key(sha256)))
                .await
                .map_err(remote_not_found(sha256))?
                .size),
        }
    }

    /// Stored bytes `at..at+len` of a blob.
    async fn read_at(&self, sha256: &str, at: u64, len: usize) -> Result<Bytes, VaultError> {
        match &self.backend {
            Backend::Local => {
                use tokio::io::AsyncSeekExt;
                let mut file = tokio::fs::File::open(self.path_of(sha256))
                    .await
                    .map_err(not_found(sha256))?;
                file.seek(std::io::SeekFrom::Start(at)).await?;
                let mut buf = vec![0u8; len];
                file.read_exact(&mut buf).await?;
                Ok(Bytes::from(buf))
            }
            Backend::Object(store) => Ok(store
                .get_range(&ObjectPath::from(blob_key(sha256)), at..at + len as u64)
                .await
                .map_err(remote_not_found(sha256))?),
        }
    }

    /// Streams `input` into the vault: hashes, encrypts under a fresh data key wrapped by
    /// `master`, writes durably. At most `limit` bytes are accepted.
    pub async fn ingest(
        &self,
        mut input: impl AsyncRead + Unpin,
        master: &[u8; 32],
        limit: u64,
    ) -> Result<Ingested, VaultError> {
        let data_key = crypto::random_bytes(self.cipher.key_len())?;
        let wrapped_key = crypto::wrap_key(master, &data_key)?;
        let mut enc = Encryptor::new(self.cipher, &data_key)?;
        let tmp_name = format!("{}.tmp", hex::encode(crypto::random_bytes(16)?));
        let tmp = self.root.join("tmp").join(tmp_name);
        // Stages in parallel, so that one upload uses both cores: this task reads; one blocking
        // thread encrypts and writes; one hashes with SHA-256, and one with SM3 when the profile
        // asks for it. Buffers of 1 MiB are shared, and the channels are bounded, so memory
        // stays at a few MiB whatever the size.
        let (to_writer, mut writer_rx) = tokio::sync::mpsc::channel::<Arc<Vec<u8>>>(4);
        let tmp_path = tmp.clone();
        let writer = tokio::task::spawn_blocking(move || -> Result<(), VaultError> {
            use std::io::Write;
            let mut out = std::fs::File::create(&tmp_path)?;
            while let Some(chunk) = writer_rx.blocking_recv() {
                out.write_all(&enc.update(&chunk)?)?;
            }
            out.write_all(&enc.finish()?)?;
            out.sync_all()?;
            Ok(())
        });
        let (to_sha, sha_thread) = digest_thread::<Sha256>();
        let sm3_stage = self.digests.sm3().then(digest_thread::<Sm3>);
        let parse_limit = self.parse_limit;
        let read = async {
            // The whole file while it is within the parse limit (its buffers kept, joined once at
            // the end); past it, only its head.
            let mut kept: Vec<Arc<Vec<u8>>> = Vec::new();
            let mut head = Vec::new();
            let mut complete = true;
            let mut size = 0u64;
            loop {
                let mut buf = vec![0u8; PIPE_BUFFER];
                let mut filled = 0;
                while filled < buf.len() {
                    let n = input.read(&mut buf[filled..]).await?;
                    if n == 0 {
                        break;
                    }
                    filled += n;
                }
                if filled == 0 {
                    break;
                }
                buf.truncate(filled);
                size += filled as u64;
                if size > limit {
                    return Err(VaultError::TooLarge(limit));
                }
                if complete && size > parse_limit {
                    complete = false;
                    for c in kept.drain(..) {
                        let room = HEAD_LEN.saturating_sub(head.len());
                        head.extend_from_slice(&c[..room.min(c.len())]);
                    }
                    let room = HEAD_LEN.saturating_sub(head.len());
                    head.extend_from_slice(&buf[..room.min(buf.len())]);
                }
                let chunk = Arc::new(buf);
                if complete {
                    kept.push(Arc::clone(&chunk));
                }
                let mut closed = to_sha.send(Arc::clone(&chunk)).await.is_err();
                if let Some((to_sm3, _)) = &sm3_stage {
                    closed |= to_sm3.send(Arc::clone(&chunk)).await.is_err();
                }
                closed |= to_writer.send(chunk).await.is_err();
                if closed {
                    break;
                }
            }
            if size == 0 {
                return Err(VaultError::Empty);
            }
            if complete {
                head = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
                for c in kept {
                    head.extend_from_slice(&c);
                }
            }
            Ok((size, head, complete))
        }
        .await;
        drop((to_writer, to_sha));
        let sm3_thread = sm3_stage.map(|(to_sm3, thread)| {
            drop(to_sm3);
            thread
        });
        let joined = |e: tokio::task::JoinError| VaultError::Io(std::io::Error::other(e));
        let written = writer.await.map_err(joined)?;
        let sha256 = sha_thread.await.map_err(joined)?;
        let sm3 = match sm3_thread {
            Some(t) => Some(t.await.map_err(joined)?),
            None => None,
        };
        let result = match (read, written) {
            (Ok(read), Ok(())) => Ok(read),
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        let (size, content, complete) = match result {
            Ok(v) => v,
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                return Err(e);
            }
        };
        let duplicate = match self.publish(&tmp, &sha256).await {
            Ok(d) => d,
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                return Err(e);
            }
        };
        Ok(Ingested {
            sha256,
            sm3,
            size,
            cipher: self.cipher,
            wrapped_key,
            duplicate,
            content,
            complete,
        })
    }

    /// Decrypts a blob into `out`, streaming; fails (after writing what authenticated) if any
    /// record was changed, reordered or cut.
    /// SM3 is recomputed only when `with_sm3` (the blob was stored with one).
    pub async fn read_to(
        &self,
        sha256: &str,
        wrapped_key: &[u8],
        master: &[u8; 32],
        with_sm3: bool,
        out: &mut (impl tokio::io::AsyncWrite + Unpin),
    ) -> Result<Verified, VaultError> {
        let key = crypto::unwrap_key(master, wrapped_key)?;
        let mut reader = self.reader(sha256).await?;
        let mut dec = Decryptor::new(&key);
        let mut sha = Sha256::new();
        let mut sm3 = with_sm3.then(Sm3::new);
        let mut size = 0u64;
        while let Some(piece) = reader.next().await? {
            let plain = dec.update(&piece)?;
            sha.update(&plain);
            if let Some(sm3) = &mut sm3 {
                sm3.update(&plain);
            }
            size += plain.len() as u64;
            out.write_all(&plain).await?;
        }
        let plain = dec.finish()?;
        sha.update(&plain);
        if let Some(sm3) = &mut sm3 {
            sm3.update(&plain);
        }
        size += plain.len() as u64;
        out.write_all(&plain).await?;
        out.flush().await?;
        Ok(Verified {
            sha256: hex::encode(sha.finalize()),
            sm3: sm3.map(|d| hex::encode(d.finalize())),
            size,
        })
    }

    /// Decrypts bytes `start..=end` of a blob's plaintext into `out`, reading only the records
    /// that hold them. The caller checks the range against the size first.
    pub async fn read_range(
        &self,
        sha256: &str,
        wrapped_key: &[u8],
        master: &[u8; 32],
        start: u64,
        end: u64,
        out: &mut (impl tokio::io::AsyncWrite + Unpin),
    ) -> Result<(), VaultError> {
        let key = crypto::unwrap_key(master, wrapped_key)?;
        let len = self.stored_len(sha256).await?;
        let header = self.read_at(sha256, 0, crypto::HEADER_LEN).await?;
        let body = len.saturating_sub(crypto::HEADER_LEN as u64);
        let record = crypto::RECORD_LEN as u64;
        let records = body.div_ceil(record).max(1);
        let chunk = crypto::CHUNK_SIZE as u64;
        let (first, last) = (start / chunk, end / chunk);
        for index in first..=last.min(records - 1) {
            let is_last = index == records - 1;
            let want = if is_last {
                (body - index * record) as usize
            } else {
                crypto::RECORD_LEN
            };
            let sealed = self
                .read_at(sha256, crypto::HEADER_LEN as u64 + index * record, want)
                .await?;
            let counter = u32::try_from(index).map_err(|_| CryptoError::TooLarge)?;
            let plain = crypto::open_record(&key, &header, counter, is_last, &sealed)?;
            let base = index * chunk;
            let from = start.saturating_sub(base) as usize;
            let to = ((end - base + 1) as usize).min(plain.len());
            if from < to {
                out.write_all(&plain[from..to]).await?;
            }
        }
        out.flush().await?;
        Ok(())
    }

    /// Re-reads a blob without keeping the plaintext, recomputing its digests (SM3 when
    /// `with_sm3`).
    pub async fn verify(
        &self,
        sha256: &str,
        wrapped_key: &[u8],
        master: &[u8; 32],
        with_sm3: bool,
    ) -> Result<Verified, VaultError> {
        self.read_to(
            sha256,
            wrapped_key,
            master,
            with_sm3,
            &mut tokio::io::sink(),
        )
        .await
    }

    /// Deletes temporary files and blobs that no metadata knows (`known` holds the digests the
    /// database records) and that are older than `grace`: a younger one may belong to an ingest
    /// still running in another process, between its blob's write and its commit. Returns how
    /// many were removed.
    pub async fn remove_orphans(
        &self,
        known: &HashSet<String>,
        grace: std::time::Duration,
    ) -> Result<usize, VaultError> {
        let now = std::time::SystemTime::now();
        let old = |at: std::time::SystemTime| now.duration_since(at).is_ok_and(|age| age >= grace);
        let mut removed = 0;
        let mut tmp = tokio::fs::read_dir(self.root.join("tmp")).await?;
        while let Some(e) = tmp.next_entry().await? {
            if old(e.metadata().await?.modified()?) {
                tokio::fs::remove_file(e.path()).await?;
                removed += 1;
            }
        }
        match &self.backend {
            Backend::Local => {
                let mut stack = vec![self.root.join("blobs")];
                while let Some(dir) = stack.pop() {
                    let mut rd = tokio::fs::read_dir(&dir).await?;
                    while let Some(e) = rd.next_entry().await? {
                        let p = e.path();
                        if e.file_type().await?.is_dir() {
                            stack.push(p);
                        } else if let Some(name) = p
                            .file_name()
                            .and_then(|n| n.to_str())
                            .and_then(|n| n.strip_suffix(".dgvb"))
                            && !known.contains(name)
                            && old(e.metadata().await?.modified()?)
                        {
                            tokio::fs::remove_file(&p).await?;
                            removed += 1;
                        }
                    }
                }
            }
            Backend::Object(store) => {
                let mut listing = store.list(Some(&ObjectPath::from("blobs")));
                let mut orphans = Vec::new();
                while let Some(meta) = listing.next().await {
                    let meta = meta?;
                    if let Some(name) = meta
                        .location
                        .filename()
                        .and_then(|n| n.strip_suffix(".dgvb"))
                        && !known.contains(name)
                        && old(std::time::SystemTime::from(meta.last_modified))
                    {
                        orphans.push(meta.location.clone());
                    }
                }
                for location in orphans {
                    store.delete(&location).await?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASTER: [u8; 32] = [3u8; 32];

    #[tokio::test]
    async fn a_file_is_stored_once_encrypted_and_reads_back_with_its_digests() {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::open(dir.path(), Cipher::Aes256Gcm).await.unwrap();
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        let a = vault.ingest(&data[..], &MASTER, 10_000_000).await.unwrap();
        assert!(!a.duplicate);
        assert_eq!(a.sha256, hex::encode(Sha256::digest(&data)));
        assert_eq!(a.size, 300_000);
        let on_disk = std::fs::read(vault.path_of(&a.sha256)).unwrap();
        assert!(
            !on_disk
                .windows(64)
                .any(|w| data.windows(64).next() == Some(w)),
            "no plaintext on disk"
        );
        let b = vault.ingest(&data[..], &MASTER, 10_000_000).await.unwrap();
        assert!(b.duplicate, "identical bytes are stored once");
        let mut back = Vec::new();
        let v = vault
            .read_to(&a.sha256, &a.wrapped_key, &MASTER, false, &mut back)
            .await
            .unwrap();
        assert_eq!(back, data);
        assert_eq!((v.sha256, v.sm3), (a.sha256.clone(), None));
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
    }

    #[tokio::test]
    async fn sm3_is_computed_in_the_national_profile_or_when_configured_and_not_otherwise() {
        let data: Vec<u8> = (0..(2 * PIPE_BUFFER + 17) as u32)
            .map(|i| (i % 251) as u8)
            .collect();
        let sm3 = hex::encode(Sm3::digest(&data));
        for (cipher, digests, want) in [
            (Cipher::Aes256Gcm, None, None),
            (Cipher::Sm4Gcm, None, Some(&sm3)),
            (Cipher::Aes256Gcm, Some(Digests::Sha256AndSm3), Some(&sm3)),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let mut vault = Vault::open(dir.path(), cipher).await.unwrap();
            if let Some(d) = digests {
                vault = vault.with_digests(d);
            }
            let a = vault.ingest(&data[..], &MASTER, u64::MAX).await.unwrap();
            assert_eq!(a.sha256, hex::encode(Sha256::digest(&data)));
            assert_eq!(a.sm3.as_ref(), want, "{cipher:?} {digests:?}");
            let v = vault
                .verify(&a.sha256, &a.wrapped_key, &MASTER, a.sm3.is_some())
                .await
                .unwrap();
            assert_eq!((v.sha256, v.sm3, v.size), (a.sha256, a.sm3, a.size));
        }
        assert_eq!(Digests::parse("sha256+sm3"), Some(Digests::Sha256AndSm3));
        assert_eq!(Digests::parse("md5"), None);
    }

    #[tokio::test]
    async fn a_file_within_the_parse_limit_is_kept_whole_and_a_larger_one_by_its_head() {
        let data: Vec<u8> = (0..(3 * PIPE_BUFFER + 5) as u32)
            .map(|i| (i % 241) as u8)
            .collect();
        for (limit, complete) in [
            (u64::MAX, true),
            (data.len() as u64, true),
            (data.len() as u64 - 1, false),
            (PIPE_BUFFER as u64 + 3, false),
            (0, false),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let vault = Vault::open(dir.path(), Cipher::Aes256Gcm)
                .await
                .unwrap()
                .with_parse_limit(limit);
            let a = vault.ingest(&data[..], &MASTER, u64::MAX).await.unwrap();
            assert_eq!(a.complete, complete, "limit {limit}");
            if complete {
                assert_eq!(a.content, data);
            } else {
                assert_eq!(a.content, data[..HEAD_LEN], "limit {limit}");
            }
        }
    }

    #[tokio::test]
    async fn a_flipped_byte_on_disk_fails_verification() {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::open(dir.path(), Cipher::Sm4Gcm).await.unwrap();
        let a = vault
            .ingest(&[1u8; 100_000][..], &MASTER, 1_000_000)
            .await
            .unwrap();
        let path = vault.path_of(&a.sha256);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[5000] ^= 0x40;
        std::fs::write(&path, bytes).unwrap();
        assert!(matches!(
            vault.verify(&a.sha256, &a.wrapped_key, &MASTER, true).await,
            Err(VaultError::Crypto(CryptoError::Tampered(0)))
        ));
    }

    #[tokio::test]
    async fn any_range_reads_the_same_bytes_as_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::open(dir.path(), Cipher::Aes256Gcm).await.unwrap();
        let data: Vec<u8> = (0..(3 * crypto::CHUNK_SIZE + 1000) as u32)
            .map(|i| (i % 241) as u8)
            .collect();
        let a = vault.ingest(&data[..], &MASTER, u64::MAX).await.unwrap();
        let chunk = crypto::CHUNK_SIZE as u64;
        let n = data.len() as u64;
        for (s, e) in [
            (0, 0),
            (0, n - 1),
            (chunk - 1, chunk),
            (5, 2 * chunk + 7),
            (3 * chunk, n - 1),
            (n - 1, n - 1),
        ] {
            let mut out = Vec::new();
            vault
                .read_range(&a.sha256, &a.wrapped_key, &MASTER, s, e, &mut out)
                .await
                .unwrap();
            assert_eq!(out, &data[s as usize..=e as usize], "{s}-{e}");
        }
    }

    #[tokio::test]
    async fn an_oversized_or_empty_upload_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::open(dir.path(), Cipher::Aes256Gcm).await.unwrap();
        assert!(matches!(
            vault.ingest(&[0u8; 2048][..], &MASTER, 1024).await,
            Err(VaultError::TooLarge(1024))
        ));
        assert!(matches!(
            vault.ingest(&[][..], &MASTER, 1024).await,
            Err(VaultError::Empty)
        ));
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
        assert_eq!(
            vault
                .remove_orphans(&HashSet::new(), std::time::Duration::ZERO)
                .await
                .unwrap(),
            0
        );
    }

    #[tokio::test]
    async fn orphans_are_removed_and_known_blobs_kept() {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::open(dir.path(), Cipher::Aes256Gcm).await.unwrap();
        let keep = vault.ingest(&b"keep"[..], &MASTER, 100).await.unwrap();
        let orphan = vault.ingest(&b"orphan"[..], &MASTER, 100).await.unwrap();
        std::fs::write(dir.path().join("tmp").join("x.tmp"), b"half").unwrap();
        let known: HashSet<String> = [keep.sha256.clone()].into();
        let hour = std::time::Duration::from_secs(3600);
        assert_eq!(
            vault.remove_orphans(&known, hour).await.unwrap(),
            0,
            "young orphans may be an ingest still under way"
        );
        assert_eq!(
            vault
                .remove_orphans(&known, std::time::Duration::ZERO)
                .await
                .unwrap(),
            2
        );
        assert!(vault.exists(&keep.sha256).await.unwrap());
        assert!(!vault.exists(&orphan.sha256).await.unwrap());
    }
}
