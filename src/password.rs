//! Password hashing with argon2id, off the async executor and within a budget. Each hash holds
//! `memory_kib` of memory while it runs, so at most `workers` run at once and at most `queue`
//! more wait; beyond that the caller is told `Busy` at once instead of piling up memory and
//! latency. Unknown accounts are checked against a dummy hash made with the same parameters,
//! so that the time taken does not tell who has an account.
//!
//! The parameters of a stored hash live in its PHC string, so hashes made with another memory
//! cost still verify (with the cost they were made with).

use crate::domain::Password;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;

/// The argon2 crate's default memory cost (19 MiB), as OWASP recommends for argon2id.
pub const DEFAULT_MEMORY_KIB: u32 = Params::DEFAULT_M_COST;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every worker is busy and the queue is full.
    #[error("too many password checks are waiting")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// The password checks' budget; cheap to clone (the clones share it).
#[derive(Clone)]
pub struct Hasher(Arc<Inner>);

struct Inner {
    params: Params,
    /// One permit per running hash.
    workers: Arc<Semaphore>,
    /// One permit per hash running or waiting.
    admitted: Arc<Semaphore>,
    dummy: OnceLock<String>,
    stats: HashStats,
}

/// What `/metrics` reports.
#[derive(Default)]
pub struct HashStats {
    /// Passwords checked (argon2 run against a stored or the dummy hash).
    pub checks: AtomicU64,
    /// New hashes made (a password set).
    pub hashes: AtomicU64,
    /// Refused at once because the queue was full.
    pub busy: AtomicU64,
}

impl Hasher {
    /// `workers` hashes at once (at least one), `queue` more waiting.
    pub fn new(memory_kib: u32, workers: usize, queue: usize) -> Result<Hasher, String> {
        let params = Params::new(memory_kib, Params::DEFAULT_T_COST, Params::DEFAULT_P_COST, None)
            .map_err(|e| format!("argon2 parameters: {e}"))?;
        let workers = workers.max(1);
        Ok(Hasher(Arc::new(Inner {
            params,
            workers: Arc::new(Semaphore::new(workers)),
            admitted: Arc::new(Semaphore::new(workers.saturating_add(queue))),
            dummy: OnceLock::new(),
            stats: HashStats::default(),
        })))
    }

    /// The number of cores, which is what bounds useful parallel hashing.
    pub fn cores() -> usize {
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    }

    pub fn stats(&self) -> &HashStats {
        &self.0.stats
    }

    pub async fn hash(&self, password: &Password) -> Result<String, HashError> {
        let password = password.expose().to_owned();
        self.0.stats.hashes.fetch_add(1, Ordering::Relaxed);
        self.run(move |inner| inner.hash_blocking(&password)).await?
    }

    /// Verifies against `hash`, or against the dummy hash when there is none (false then).
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, HashError> {
        self.run(move |inner| {
            inner.stats.checks.fetch_add(1, Ordering::Relaxed);
            match hash {
                Some(h) => verify_blocking(&password, &h),
                None => {
                    let dummy = inner
                        .dummy
                        .get_or_init(|| inner.hash_blocking("dummy password never used").unwrap_or_default());
                    verify_blocking(&password, dummy);
                    false
                }
            }
        })
        .await
    }

    /// Runs `job` on a blocking thread once a worker is free. The permits go with the job, so a
    /// caller that gives up (a client that disconnects) does not let another hash start early.
    async fn run<T: Send + 'static>(&self, job: impl FnOnce(&Inner) -> T + Send + 'static) -> Result<T, HashError> {
        let Ok(admitted) = self.0.admitted.clone().try_acquire_owned() else {
            self.0.stats.busy.fetch_add(1, Ordering::Relaxed);
            return Err(HashError::Busy);
        };
        let working = self.0.workers.clone().acquire_owned().await.map_err(|_| HashError::Failed("closed".into()))?;
        let inner = self.0.clone();
        tokio::task::spawn_blocking(move || {
            let out = job(&inner);
            drop((working, admitted));
            out
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))
    }
}

impl Default for Hasher {
    /// The default memory cost, one worker per core and a queue of 64.
    fn default() -> Hasher {
        Hasher::new(DEFAULT_MEMORY_KIB, Hasher::cores(), 64).expect("the default parameters are valid")
    }
}

impl Inner {
    fn hash_blocking(&self, password: &str) -> Result<String, HashError> {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| HashError::Failed(e.to_string()))
    }
}

/// Verifies with the parameters stored in the hash itself.
fn verify_blocking(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Secret;

    #[tokio::test]
    async fn hashes_made_with_another_memory_cost_still_verify() {
        let password = Password::parse(Secret::new("correct horse battery")).unwrap();
        let small = Hasher::new(1024, 1, 0).unwrap();
        let made = Hasher::default().hash(&password).await.unwrap();
        assert!(made.contains("m=19456"), "{made}");
        assert!(small.verify("correct horse battery".into(), Some(made.clone())).await.unwrap());
        assert!(!small.verify("wrong horse battery".into(), Some(made)).await.unwrap());
        let small_made = small.hash(&password).await.unwrap();
        assert!(small_made.contains("m=1024"), "{small_made}");
        assert!(!small.verify("correct horse battery".into(), None).await.unwrap());
    }
}
