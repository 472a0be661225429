//! Password hashing with argon2id, off the async executor and within a budget. Each hash holds
//! `memory_kib` of memory while it runs, so `workers` threads do all the hashing and at most
//! `queue` more jobs wait for them; beyond that the caller is told `Busy` at once instead of
//! piling up memory and latency. Unknown accounts are checked against a dummy hash made with
//! the same parameters, so that the time taken does not tell who has an account.
//!
//! The parameters of a stored hash live in its PHC string, so hashes made with another memory
//! cost still verify (with the cost they were made with).

use crate::domain::Password;
use argon2::password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
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
    jobs: std::sync::mpsc::Sender<Job>,
    /// One permit per hash running or waiting.
    admitted: Arc<Semaphore>,
    shared: Arc<Shared>,
}

/// What the worker threads share.
struct Shared {
    params: Params,
    dummy: OnceLock<String>,
    stats: HashStats,
}

type Job = Box<dyn FnOnce(&Shared, &mut Memory) + Send>;

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
    /// `workers` threads hash (at least one), `queue` more jobs may wait for them.
    ///
    /// Dedicated threads, each with its argon2 memory allocated once and reused: allocating and
    /// freeing `memory_kib` for every hash, on whichever of tokio's blocking threads, left the
    /// allocator holding hundreds of MB after a burst of sign-ins (1.1 GB after 150 at once).
    pub fn new(memory_kib: u32, workers: usize, queue: usize) -> Result<Hasher, String> {
        let params = Params::new(memory_kib, Params::DEFAULT_T_COST, Params::DEFAULT_P_COST, None)
            .map_err(|e| format!("argon2 parameters: {e}"))?;
        let shared = Arc::new(Shared { params, dummy: OnceLock::new(), stats: HashStats::default() });
        let (jobs, inbox) = std::sync::mpsc::channel::<Job>();
        let inbox = Arc::new(Mutex::new(inbox));
        let workers = workers.max(1);
        for n in 0..workers {
            let (inbox, shared) = (inbox.clone(), shared.clone());
            std::thread::Builder::new()
                .name(format!("rapport-argon2-{n}"))
                .spawn(move || work(&inbox, &shared, Memory::new(memory_kib)))
                .map_err(|e| format!("cannot start a password worker: {e}"))?;
        }
        let admitted = Arc::new(Semaphore::new(workers.saturating_add(queue).min(Semaphore::MAX_PERMITS)));
        Ok(Hasher(Arc::new(Inner { jobs, admitted, shared })))
    }

    /// The number of cores, which is what bounds useful parallel hashing.
    pub fn cores() -> usize {
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    }

    pub fn stats(&self) -> &HashStats {
        &self.0.shared.stats
    }

    pub async fn hash(&self, password: &Password) -> Result<String, HashError> {
        let password = password.expose().to_owned();
        self.run(move |shared, memory| {
            shared.stats.hashes.fetch_add(1, Ordering::Relaxed);
            memory.hash(&shared.params, &password)
        })
        .await?
    }

    /// Verifies against `hash`, or against the dummy hash when there is none (false then).
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, HashError> {
        self.run(move |shared, memory| {
            shared.stats.checks.fetch_add(1, Ordering::Relaxed);
            match hash {
                Some(h) => memory.verify(&password, &h),
                None => {
                    let dummy = shared
                        .dummy
                        .get_or_init(|| memory.hash(&shared.params, "dummy password never used").unwrap_or_default());
                    memory.verify(&password, dummy);
                    false
                }
            }
        })
        .await
    }

    /// Hands `job` to a worker, or answers `Busy` at once when the queue is full.
    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Shared, &mut Memory) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let Ok(admitted) = self.0.admitted.clone().try_acquire_owned() else {
            self.0.shared.stats.busy.fetch_add(1, Ordering::Relaxed);
            return Err(HashError::Busy);
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |shared, memory| {
            // A caller that gave up (a client that disconnected) needs no answer.
            if !reply.is_closed() {
                let out = job(shared, memory);
                drop(admitted);
                let _ = reply.send(out);
            }
        });
        self.0.jobs.send(job).map_err(|_| HashError::Failed("the password workers stopped".into()))?;
        answer.await.map_err(|_| HashError::Failed("a password worker failed".into()))
    }
}

/// A worker's life: jobs until every `Hasher` clone is gone. A job that panics loses only its
/// answer (the caller sees `Failed`), not the worker.
/// A worker's memory goes back once it has had nothing to do for this long: kept through a
/// burst of sign-ins, not held by an idle server.
const IDLE_RELEASE: std::time::Duration = std::time::Duration::from_secs(10);

fn work(inbox: &Mutex<std::sync::mpsc::Receiver<Job>>, shared: &Shared, mut memory: Memory) {
    use std::sync::mpsc::RecvTimeoutError;
    loop {
        let next = inbox.lock().unwrap_or_else(|p| p.into_inner()).recv_timeout(IDLE_RELEASE);
        match next {
            Ok(job) => {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(shared, &mut memory)));
            }
            Err(RecvTimeoutError::Timeout) => memory.release(),
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

impl Default for Hasher {
    /// The default memory cost, one worker per core and a queue of 64.
    fn default() -> Hasher {
        Hasher::new(DEFAULT_MEMORY_KIB, Hasher::cores(), 64).expect("the default parameters are valid")
    }
}

/// One worker's argon2 memory: the configured cost's blocks, allocated on first use and kept
/// until the worker is idle. A stored hash that needs more (made with a higher cost) gets its
/// own allocation.
struct Memory {
    blocks: Vec<Block>,
    keep: usize,
}

impl Memory {
    fn new(memory_kib: u32) -> Memory {
        // One block is 1 KiB.
        Memory { blocks: Vec::new(), keep: memory_kib as usize }
    }

    fn release(&mut self) {
        self.blocks = Vec::new();
    }

    fn hash_into(&mut self, argon2: &Argon2, password: &[u8], salt: &[u8], out: &mut [u8]) -> argon2::Result<()> {
        let needed = argon2.params().block_count();
        if needed > self.keep {
            return argon2.hash_password_into(password, salt, out);
        }
        if self.blocks.len() < needed {
            self.blocks.resize(needed, Block::default());
        }
        argon2.hash_password_into_with_memory(password, salt, out, &mut self.blocks)
    }

    /// A new argon2id PHC string for `password` with `params`.
    fn hash(&mut self, params: &Params, password: &str) -> Result<String, HashError> {
        let failed = |e: &dyn std::fmt::Display| HashError::Failed(e.to_string());
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt.as_salt().decode_b64(&mut salt_bytes).map_err(|e| failed(&e))?;
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        self.hash_into(&argon2, password.as_bytes(), salt_bytes, &mut out).map_err(|e| failed(&e))?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(params).map_err(|e| failed(&e))?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
        };
        Ok(phc.to_string())
    }

    /// Whether `password` matches the PHC string `hash`, with the parameters stored in it.
    fn verify(&mut self, password: &str, hash: &str) -> bool {
        let Ok(phc) = PasswordHash::new(hash) else { return false };
        let (Some(expected), Some(salt)) = (phc.hash, phc.salt) else { return false };
        let (Ok(algorithm), Ok(params)) = (Algorithm::try_from(phc.algorithm), Params::try_from(&phc)) else {
            return false;
        };
        let Ok(version) = phc.version.map_or(Ok(Version::default()), Version::try_from) else { return false };
        let mut salt_bytes = [0u8; 64];
        let Ok(salt_bytes) = Salt::decode_b64(&salt, &mut salt_bytes) else { return false };
        let mut out = vec![0u8; expected.len()];
        let argon2 = Argon2::new(algorithm, version, params);
        // Output compares in constant time.
        self.hash_into(&argon2, password.as_bytes(), salt_bytes, &mut out).is_ok() && Output::new(&out) == Ok(expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Secret;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    const RIGHT: &str = "correct horse battery";

    #[tokio::test]
    async fn hashes_agree_with_the_argon2_crate_whatever_their_memory_cost() {
        let password = Password::parse(Secret::new(RIGHT)).unwrap();
        // One worker, so every hash below reuses the same memory.
        let small = Hasher::new(1024, 1, 0).unwrap();
        // A hash the argon2 crate made itself, at its default (higher) cost, as stored ones were.
        let salt = SaltString::generate(&mut OsRng);
        let stored = Argon2::default().hash_password(RIGHT.as_bytes(), &salt).unwrap().to_string();
        assert!(stored.contains("m=19456"), "{stored}");
        for _ in 0..2 {
            assert!(small.verify(RIGHT.into(), Some(stored.clone())).await.unwrap());
            assert!(!small.verify("wrong horse battery".into(), Some(stored.clone())).await.unwrap());
        }
        // Ours, checked by the argon2 crate.
        let made = small.hash(&password).await.unwrap();
        assert!(made.starts_with("$argon2id$v=19$m=1024,t=2,p=1$"), "{made}");
        let parsed = PasswordHash::new(&made).unwrap();
        assert!(Argon2::default().verify_password(RIGHT.as_bytes(), &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"wrong horse battery", &parsed).is_err());
        assert!(small.verify(RIGHT.into(), Some(made)).await.unwrap());
        // No hash (an unknown account): the dummy is checked, and it is never a match.
        assert!(!small.verify(RIGHT.into(), None).await.unwrap());
        assert!(!small.verify(RIGHT.into(), Some("not a hash".into())).await.unwrap());
        assert_eq!(small.stats().checks.load(Ordering::Relaxed), 7);
    }

    #[tokio::test]
    async fn beyond_the_workers_and_the_queue_the_answer_is_busy_at_once() {
        let hasher = Hasher::new(64 * 1024, 1, 1).unwrap();
        let checks = (0..6).map(|_| hasher.verify(RIGHT.into(), None));
        let answers = futures_util::future::join_all(checks).await;
        let busy = answers.iter().filter(|a| matches!(a, Err(HashError::Busy))).count();
        assert_eq!((busy, answers.len() - busy), (4, 2), "{answers:?}");
        assert_eq!(hasher.stats().busy.load(Ordering::Relaxed), 4);
    }
}
