//! Password hashing (argon2id) on a few dedicated threads, so that a flood of sign-ins cannot
//! run more hashes at once than the machine has cores for.
//!
//! Each argon2id computation with the default parameters (m = 19 MiB, t = 2, p = 1) needs
//! 19 MiB of memory. Run on Tokio's blocking pool, every parallel sign-in got its own thread and
//! its own 19 MiB: three bursts of 60 attempts took the server from 355 MB to 4.1 GB. Here at
//! most [`workers`] hashes run at a time, on the same threads, and each thread keeps *one*
//! memory area for all its hashes: allocating 19 MiB per hash, even two threads at a time, left
//! the allocator's heap fragmented (measured: +20 MB resident per sign-in, 260 MB after 16),
//! while a reused area keeps it at `workers × 19 MiB`. Jobs wait in an unbounded channel; the
//! *admission* of anonymous sign-ins into it is bounded by the app
//! (`Settings::sign_in_concurrency`), while authenticated callers (a password change, a new
//! account) simply wait their turn.

use std::cell::RefCell;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::{AppError, AppResult};

type Job = Box<dyn FnOnce() + Send>;

/// How many hashes run at once: the cores, at least 2 and at most 4.
pub fn workers() -> usize {
    std::thread::available_parallelism()
        .map_or(2, std::num::NonZero::get)
        .clamp(2, 4)
}

fn pool() -> &'static Mutex<mpsc::Sender<Job>> {
    static POOL: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    POOL.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..workers() {
            let rx = Arc::clone(&rx);
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while taking a job, never while running one.
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        // A panic inside argon2 must not shrink the pool: the waiting caller
                        // sees its answer channel closed and reports an internal error.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password-hashing thread");
            }
        }
        Mutex::new(tx)
    })
}

/// Runs `work` on a hashing thread and waits for its result. If the caller stops waiting (its
/// request was dropped) before a thread takes the job, the job is skipped.
async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        if !tx.is_closed() {
            let _ = tx.send(work());
        }
    });
    pool()
        .lock()
        .map_err(|_| AppError::Internal("password hashing pool poisoned".to_owned()))?
        .send(job)
        .map_err(|_| AppError::Internal("password hashing pool stopped".to_owned()))?;
    rx.await
        .map_err(|_| AppError::Internal("password hashing failed".to_owned()))
}

/// The largest memory a stored hash may ask for (64 MiB): a hash with absurd parameters in the
/// database must not make a sign-in allocate gigabytes.
const MAX_BLOCKS: usize = 64 * 1024;

thread_local! {
    /// The argon2 memory of this hashing thread, reused by every hash it computes.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on this thread's argon2 memory, grown to `blocks` if it is smaller.
fn with_memory<T>(blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    MEMORY.with_borrow_mut(|m| {
        if m.len() < blocks {
            m.resize(blocks, Block::default());
        }
        f(&mut m[..blocks])
    })
}

fn hash_now(password: &[u8]) -> AppResult<String> {
    let failed = |e: &dyn std::fmt::Display| AppError::Internal(format!("argon2: {e}"));
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| failed(&e))?;
    let params = Params::default();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    with_memory(params.block_count(), |m| {
        argon.hash_password_into_with_memory(password, &salt, &mut out, m)
    })
    .map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(Salt::new(&salt).map_err(|e| failed(&e))?),
        hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `phc`, as `argon2`'s own verifier decides, but on
/// this thread's memory.
fn verify_now(password: &[u8], phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm.as_str()) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    if params.block_count() > MAX_BLOCKS {
        return false;
    }
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    let computed = with_memory(params.block_count(), |m| {
        argon.hash_password_into_with_memory(password, salt, &mut out, m)
    });
    // `Output`'s equality is constant-time.
    computed.is_ok() && Output::new(&out).is_ok_and(|o| o == *expected)
}

/// The argon2id PHC string of a password.
pub(crate) async fn hash(password: String) -> AppResult<String> {
    run(move || hash_now(password.as_bytes())).await?
}

/// Whether `password` matches the PHC string `hash` (an unreadable hash never matches).
pub(crate) async fn verify(password: String, hash: String) -> bool {
    run(move || verify_now(password.as_bytes(), &hash))
        .await
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashes_run_on_the_named_worker_threads_and_verify() {
        let h = hash("correct-horse-42".to_owned()).await.unwrap();
        let checks = (0..12).map(|i| {
            let h = h.clone();
            let pw = if i % 2 == 0 {
                "correct-horse-42"
            } else {
                "wrong-horse-42"
            };
            tokio::spawn(verify(pw.to_owned(), h))
        });
        let results = futures_util::future::join_all(checks).await;
        for (i, r) in results.into_iter().enumerate() {
            assert_eq!(r.unwrap(), i % 2 == 0);
        }
        let names = run(|| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap()
            .unwrap_or_default();
        assert!(names.starts_with("argon2-"), "{names}");
        assert!(!verify("x".to_owned(), "not a hash".to_owned()).await);
    }

    #[test]
    fn hashes_agree_with_the_argon2_crates_own_hasher_and_verifier_both_ways() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        // Hashes stored before this module (by `Argon2::default().hash_password`) still verify,
        // and ours verify with the crate's verifier.
        let theirs = Argon2::default()
            .hash_password(b"stored-before-2026")
            .unwrap()
            .to_string();
        assert!(verify_now(b"stored-before-2026", &theirs));
        assert!(!verify_now(b"stored-before-2027", &theirs));
        let ours = hash_now(b"hashed-here-2026").unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        assert!(
            Argon2::default()
                .verify_password(b"hashed-here-2026", ours.as_str())
                .is_ok()
        );
        assert_ne!(
            hash_now(b"hashed-here-2026").unwrap(),
            ours,
            "a fresh salt each time"
        );
        // A hash asking for a gigabyte is refused, not computed.
        let greedy = ours.replace("m=19456", "m=1048576");
        assert!(!verify_now(b"hashed-here-2026", &greedy));
    }
}
