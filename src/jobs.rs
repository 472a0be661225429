//! One runner for every background job: the email scheduler and sender, the time-based rules,
//! the IMAP poller and the planner's statistics. A job does one round of its work and says when
//! the next round is due; the runner waits for that time on the job's clock (or until the job
//! is woken, or the app stops), retries a failed round after a pause that grows with each
//! failure (with jitter, so that jobs failing together do not retry together), and records how
//! each round went for `/metrics`. Jobs keep their state in the database: what a round claimed
//! and did commits with it, so the first round after a restart resumes where the last stopped,
//! and nothing is done twice.

use crate::clock::Clock;
use crate::store::{Millis, StoreError};
use rand::Rng;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// When a job's next round is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// At once: the round stopped at its batch size and more is waiting.
    Now,
    /// At this time of the job's clock, or sooner if the job is woken.
    At(Millis),
    /// Only when the job is woken.
    Woken,
}

/// Why a round failed.
#[derive(Debug)]
pub enum Failure {
    /// The store is shut down: the job ends.
    Closed,
    /// Anything else: the round is tried again after a pause.
    Failed(String),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        match e {
            StoreError::Closed => Failure::Closed,
            e => Failure::Failed(e.to_string()),
        }
    }
}

pub trait Job: Send + 'static {
    /// Names the job in logs and in `/metrics`.
    const NAME: &'static str;
    /// Does one round of the work due at `now`.
    fn round(&mut self, now: Millis) -> impl Future<Output = Result<Next, Failure>> + Send;
}

/// The pause after the first failed round; it doubles with each failure after it, up to `MAX_PAUSE_MS`.
const FIRST_PAUSE_MS: Millis = 5_000;
const MAX_PAUSE_MS: Millis = 5 * 60_000;

/// The wait before try `attempts + 1`: `first`, doubling with each attempt up to `max`, and
/// spread by up to a fifth either way, so that what failed together does not retry together.
pub fn backoff(first: Millis, max: Millis, attempts: u32) -> Millis {
    let base = first.saturating_mul(1 << attempts.min(30)).min(max);
    base + rand::thread_rng().gen_range(-base / 5..=base / 5)
}

/// The pause before retrying after `failures` failed rounds in a row.
fn pause_ms(failures: u32) -> Millis {
    backoff(FIRST_PAUSE_MS, MAX_PAUSE_MS, failures.saturating_sub(1))
}

/// How a job's rounds went, for `/metrics`.
#[derive(Default)]
pub struct JobStats {
    pub rounds: AtomicU64,
    pub failures: AtomicU64,
}

/// Each job's name and figures, in the order they started.
type Figures = Vec<(&'static str, Arc<JobStats>)>;

/// Starts jobs and wakes them; holds their figures.
#[derive(Clone, Default)]
pub struct Jobs {
    stats: Arc<Mutex<Figures>>,
}

/// Wakes one job for a round now (a rule changed, an email was queued).
#[derive(Clone, Default)]
pub struct Wake(Arc<Notify>);

impl Wake {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

impl Jobs {
    /// Runs `job` on `clock` until `stop` is cancelled or the store closes; `wake` starts a
    /// round early.
    pub fn spawn<J: Job>(
        &self,
        mut job: J,
        clock: Arc<dyn Clock>,
        wake: Wake,
        stop: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let stats = Arc::new(JobStats::default());
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).push((J::NAME, stats.clone()));
        tokio::spawn(async move {
            let mut failures = 0u32;
            loop {
                let now = clock.now_ms();
                let next = job.round(now).await;
                stats.rounds.fetch_add(1, Ordering::Relaxed);
                let next = match next {
                    Ok(next) => {
                        failures = 0;
                        next
                    }
                    Err(Failure::Closed) => return,
                    Err(Failure::Failed(e)) => {
                        failures += 1;
                        stats.failures.fetch_add(1, Ordering::Relaxed);
                        let pause = pause_ms(failures);
                        tracing::error!(job = J::NAME, error = %e, failures, retry_in_ms = pause, "a background job's round failed");
                        Next::At(now + pause)
                    }
                };
                let at = match next {
                    Next::Now => continue,
                    Next::At(at) => at,
                    Next::Woken => Millis::MAX,
                };
                tokio::select! {
                    () = clock.sleep_until(at), if at < Millis::MAX => {}
                    () = wake.0.notified() => {}
                    () = stop.cancelled() => return,
                }
            }
        })
    }

    pub fn stats(&self) -> Figures {
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn the_pause_after_failures_doubles_up_to_five_minutes_and_is_spread() {
        for failures in 1..40 {
            let base = (FIRST_PAUSE_MS << (failures - 1).min(30)).min(MAX_PAUSE_MS);
            let pause = pause_ms(failures);
            assert!(pause >= base - base / 5 && pause <= base + base / 5, "{failures}: {pause}");
        }
    }

    /// Fails its first two rounds, then asks to run again at once twice, then waits.
    struct Flaky(Arc<Mutex<Vec<Millis>>>);

    impl Job for Flaky {
        const NAME: &'static str = "flaky";
        async fn round(&mut self, now: Millis) -> Result<Next, Failure> {
            let n = {
                let mut seen = self.0.lock().unwrap();
                seen.push(now);
                seen.len()
            };
            match n {
                1 | 2 => Err(Failure::Failed("not yet".into())),
                3 | 4 => Ok(Next::Now),
                _ => Ok(Next::Woken),
            }
        }
    }

    #[tokio::test]
    async fn a_failed_round_is_retried_after_a_pause_on_the_jobs_clock_and_a_wake_runs_one_at_once() {
        let clock = ManualClock::new(1_000_000);
        let rounds = Arc::new(Mutex::new(Vec::new()));
        let (jobs, wake, stop) = (Jobs::default(), Wake::default(), CancellationToken::new());
        let task = jobs.spawn(Flaky(rounds.clone()), Arc::new(clock.clone()), wake.clone(), stop.clone());
        let count = || rounds.lock().unwrap().len();
        let settle = || async {
            for _ in 0..50 {
                tokio::task::yield_now().await;
            }
        };
        settle().await;
        assert_eq!(count(), 1, "the first round runs at once, fails, and waits for its pause");
        clock.advance_ms(FIRST_PAUSE_MS * 6 / 5);
        settle().await;
        assert_eq!(count(), 2, "the retry waits on the clock");
        clock.advance_ms(2 * FIRST_PAUSE_MS * 6 / 5);
        settle().await;
        assert_eq!(count(), 5, "after a success, rounds that ask for more run at once, then it waits to be woken");
        wake.wake();
        settle().await;
        assert_eq!(count(), 6);
        let stats = jobs.stats();
        assert_eq!((stats[0].0, stats[0].1.failures.load(Ordering::Relaxed)), ("flaky", 2));
        stop.cancel();
        task.await.unwrap();
    }
}
