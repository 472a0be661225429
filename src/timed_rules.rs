//! The job that runs time-based rules (no reply for a while, an item left open, a schedule).
//! Their due times follow from the data (a message's time, an item's age) and each subject is
//! decided once (see `rule_runs`), so there is nothing to lose on a restart: the first round
//! after one catches up. Rounds run every minute of the app's clock, and at once when a rule
//! changes.

use crate::clock::Clock;
use crate::store::automations::timed;
use crate::store::{Millis, Store, StoreError};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Subjects decided per rule and transaction: small enough not to hold up chat writes.
const BATCH: usize = 200;
const EVERY_MS: Millis = 60_000;

#[derive(Clone, Default)]
pub struct TimedRules {
    wake: Arc<Notify>,
    /// The clock time up to which every due subject has been decided (0 before the first round).
    checked_through: Arc<AtomicI64>,
}

impl TimedRules {
    pub fn start(store: Store, clock: Arc<dyn Clock>, stop: CancellationToken) -> TimedRules {
        let timer = TimedRules::default();
        tokio::spawn(timer.clone().run(store, clock, stop));
        timer
    }

    /// A rule changed: run a round now.
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    pub fn checked_through(&self) -> Option<Millis> {
        Some(self.checked_through.load(Ordering::Acquire)).filter(|at| *at > 0)
    }

    async fn run(self, store: Store, clock: Arc<dyn Clock>, stop: CancellationToken) {
        loop {
            let now = clock.now_ms();
            let round = loop {
                match store.write(move |c| timed::run_due(c, now, BATCH)).await {
                    Ok(n) if n > 0 => continue,
                    other => break other,
                }
            };
            match round {
                Ok(_) => self.checked_through.store(now, Ordering::Release),
                Err(StoreError::Closed) => return,
                Err(e) => tracing::error!(error = %e, "time-based rules"),
            }
            tokio::select! {
                () = clock.sleep_until(now + EVERY_MS) => {}
                () = self.wake.notified() => {}
                () = stop.cancelled() => return,
            }
        }
    }
}
