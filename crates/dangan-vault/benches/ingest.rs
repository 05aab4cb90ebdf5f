//! Benchmark of vault ingest (prints figures; not a timed test).
//!
//! For 1 MB and 10 MB files: throughput (MB/s, files/s) of `Vault::ingest` with AES-256-GCM and
//! with SM4-GCM, beside a baseline measured in the same run on the same bytes: SHA-256 of the
//! plaintext + AES-256-GCM over 64 KiB records + write + fsync + rename + fsync of the directory
//! (the least a durable write needs), with no SM3 digest, no content addressing, no key wrapping.
//! Also printed: SM3 alone over the same bytes, and ingest two files at a time. Then one large file streamed through ingest with the
//! peak resident memory (VmHWM) before and after.
//!
//! `cargo bench -p dangan-vault --bench ingest`. Environment: `DANGAN_BENCH_FILES_1MB` (default
//! 200), `DANGAN_BENCH_FILES_10MB` (20), `DANGAN_BENCH_BIG_MB` (2048).

use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use dangan_vault::{Cipher, Vault};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, ReadBuf};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn files(n: usize, size: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let mut seed = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            (0..size)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect()
        })
        .collect()
}

fn baseline(dir: &std::path::Path, data: &[Vec<u8>]) -> Duration {
    let key = [7u8; 32];
    let cipher = Aes256Gcm::new_from_slice(&key).unwrap();
    let start = Instant::now();
    for (i, f) in data.iter().enumerate() {
        let digest = Sha256::digest(f);
        let tmp = dir.join(format!("{i}.tmp"));
        let mut out = std::fs::File::create(&tmp).unwrap();
        for (n, chunk) in f.chunks(64 * 1024).enumerate() {
            let mut nonce = [0u8; 12];
            nonce[4..].copy_from_slice(&(n as u64).to_be_bytes());
            let ct = cipher
                .encrypt(
                    &Nonce::try_from(&nonce[..]).unwrap(),
                    Payload {
                        msg: chunk,
                        aad: b"",
                    },
                )
                .unwrap();
            out.write_all(&ct).unwrap();
        }
        out.sync_all().unwrap();
        std::fs::rename(&tmp, dir.join(hex::encode(digest))).unwrap();
        // A rename is durable only once its directory is synced.
        std::fs::File::open(dir).unwrap().sync_all().unwrap();
    }
    start.elapsed()
}

async fn vault(dir: &std::path::Path, cipher: Cipher, data: &[Vec<u8>]) -> Duration {
    let v = Vault::open(dir, cipher).await.unwrap();
    let master = [9u8; 32];
    let start = Instant::now();
    for f in data {
        v.ingest(&f[..], &master, u64::MAX).await.unwrap();
    }
    start.elapsed()
}

/// The same files ingested two at a time (as concurrent uploads or `dangan ingest --jobs 2` do).
async fn vault_parallel(dir: &std::path::Path, cipher: Cipher, data: &[Vec<u8>]) -> Duration {
    let v = Vault::open(dir, cipher).await.unwrap();
    let master = [9u8; 32];
    let start = Instant::now();
    for pair in data.chunks(2) {
        let jobs = pair.iter().map(|f| v.ingest(&f[..], &master, u64::MAX));
        for r in futures_util::future::join_all(jobs).await {
            r.unwrap();
        }
    }
    start.elapsed()
}

/// SM3 of the same bytes and nothing else: the floor the required SM3 digest puts on ingest.
fn sm3_alone(data: &[Vec<u8>]) -> Duration {
    use sm3::Sm3;
    let start = Instant::now();
    for f in data {
        std::hint::black_box(Sm3::digest(f));
    }
    start.elapsed()
}

/// Endless pseudo-random bytes up to a length, without holding them.
struct Generated {
    left: u64,
    seed: u64,
}

impl AsyncRead for Generated {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = (buf.remaining() as u64).min(self.left).min(256 * 1024) as usize;
        let mut chunk = vec![0u8; n];
        for b in &mut chunk {
            self.seed ^= self.seed << 13;
            self.seed ^= self.seed >> 7;
            self.seed ^= self.seed << 17;
            *b = self.seed as u8;
        }
        buf.put_slice(&chunk);
        self.left -= n as u64;
        Poll::Ready(Ok(()))
    }
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_owned)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let big_mb = env("DANGAN_BENCH_BIG_MB", 2048) as u64;
        let before = peak_rss_mb();
        let d = tempfile::tempdir().unwrap();
        let v = Vault::open(d.path(), Cipher::Aes256Gcm).await.unwrap();
        let start = Instant::now();
        let stored = v.ingest(Generated { left: big_mb << 20, seed: 42 }, &[9u8; 32], u64::MAX).await.unwrap();
        let t = start.elapsed();
        println!(
            "ingest one {big_mb} MB file: {:.1} MB/s, peak RSS {:.1} MB before, {:.1} MB after (measured before the small-file runs allocate their data) (size {} bytes)",
            big_mb as f64 / t.as_secs_f64(),
            before,
            peak_rss_mb(),
            stored.size
        );
        for (label, n, size) in [("1 MB", env("DANGAN_BENCH_FILES_1MB", 200), 1 << 20), ("10 MB", env("DANGAN_BENCH_FILES_10MB", 20), 10 << 20)] {
            let data = files(n, size);
            let mb = (n * size) as f64 / (1 << 20) as f64;
            let (mut best_base, mut best_aes, mut best_sm4) = (Duration::MAX, Duration::MAX, Duration::MAX);
            let (mut best_sm3, mut best_par) = (Duration::MAX, Duration::MAX);
            for _round in 0..3 {
                best_sm3 = best_sm3.min(sm3_alone(&data));
                let d = tempfile::tempdir().unwrap();
                best_par = best_par.min(vault_parallel(d.path(), Cipher::Aes256Gcm, &data).await);
                let d = tempfile::tempdir().unwrap();
                best_base = best_base.min(baseline(d.path(), &data));
                let d = tempfile::tempdir().unwrap();
                best_aes = best_aes.min(vault(d.path(), Cipher::Aes256Gcm, &data).await);
                let d = tempfile::tempdir().unwrap();
                best_sm4 = best_sm4.min(vault(d.path(), Cipher::Sm4Gcm, &data).await);
            }
            let rate = |t: Duration| (mb / t.as_secs_f64(), n as f64 / t.as_secs_f64());
            let (bm, bf) = rate(best_base);
            let (am, af) = rate(best_aes);
            let (sm, sf) = rate(best_sm4);
            let (pm, pf) = rate(best_par);
            let (s3m, _) = rate(best_sm3);
            println!("ingest {label:>5} x{n:<4} baseline {bm:>7.1} MB/s {bf:>7.1} files/s | AES-256-GCM {am:>7.1} MB/s {af:>7.1} files/s ({:>5.1} % of baseline) | SM4-GCM {sm:>7.1} MB/s {sf:>7.1} files/s", 100.0 * am / bm);
            println!("       {label:>5} x{n:<4} SM3 alone {s3m:>7.1} MB/s ({:>5.1} % of baseline: the ceiling of one stream) | AES-256-GCM two files at a time {pm:>7.1} MB/s {pf:>7.1} files/s ({:>5.1} % of baseline)", 100.0 * s3m / bm, 100.0 * pm / bm);
        }
    });
}
