//! The job that runs time-based rules (no reply for a while, an item left open, a schedule).
//! Their due times follow from the data (a message's time, an item's age) and each subject is
//! decided once (see `rule_runs`), so there is nothing to lose on a restart: the first round
//! after one catches up. Rounds run every minute of the app's clock, and at once when a rule
//! changes (`jobs` runs the rounds).

use crate::jobs::{Failure, Job, Next, Wake};
use crate::store::{Millis, Store};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Subjects decided per rule and transaction: small enough not to hold up chat writes.
const BATCH: usize = 200;
const EVERY_MS: Millis = 60_000;

/// The handle the API holds: wakes the job when a rule changes, and says how far it got.
#[derive(Clone, Default)]
pub struct TimedRules {
    wake: Wake,
    /// The clock time up to which every due subject has been decided (0 before the first round).
    checked_through: Arc<AtomicI64>,
}

impl TimedRules {
    /// The job to hand to `Jobs::spawn`, with the wake-up this handle rings.
    pub fn job(&self, store: Store) -> (RuleRounds, Wake) {
        (RuleRounds { store, checked_through: self.checked_through.clone() }, self.wake.clone())
    }

    /// A rule changed: run a round now.
    pub fn poke(&self) {
        self.wake.wake();
    }

    pub fn checked_through(&self) -> Option<Millis> {
        Some(self.checked_through.load(Ordering::Acquire)).filter(|at| *at > 0)
    }
}

pub struct RuleRounds {
    store: Store,
    checked_through: Arc<AtomicI64>,
}

impl Job for RuleRounds {
    const NAME: &'static str = "timed_rules";

    async fn round(&mut self, now: Millis) -> Result<Next, Failure> {
        if self.store.rules().run_due(now, BATCH).await? > 0 {
            return Ok(Next::Now);
        }
        self.checked_through.store(now, Ordering::Release);
        Ok(Next::At(now + EVERY_MS))
    }
}
