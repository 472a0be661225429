//! Time as a dependency: the server reads the system clock, tests move a manual one. Everything
//! that waits for a time of day (the notification scheduler, email retries) waits on the clock,
//! so a test can move an hour forward without sleeping.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
    /// Resolves once the clock reads `at_ms` or later.
    fn sleep_until(&self, at_ms: i64) -> Sleep;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
    }

    fn sleep_until(&self, at_ms: i64) -> Sleep {
        let wait = (at_ms - self.now_ms()).max(0) as u64;
        Box::pin(tokio::time::sleep(std::time::Duration::from_millis(wait)))
    }
}

/// A clock that moves only when told to.
#[derive(Clone)]
pub struct ManualClock(Arc<(AtomicI64, Notify)>);

impl ManualClock {
    pub fn new(start_ms: i64) -> ManualClock {
        ManualClock(Arc::new((AtomicI64::new(start_ms), Notify::new())))
    }
    pub fn advance_ms(&self, ms: i64) {
        self.0 .0.fetch_add(ms, Ordering::SeqCst);
        self.0 .1.notify_waiters();
    }
    pub fn now_secs(&self) -> i64 {
        self.now_ms() / 1000
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0 .0.load(Ordering::SeqCst)
    }

    fn sleep_until(&self, at_ms: i64) -> Sleep {
        let clock = self.clone();
        Box::pin(async move {
            loop {
                let moved = clock.0 .1.notified();
                tokio::pin!(moved);
                // Registered before the check, so an advance in between is not missed.
                moved.as_mut().enable();
                if clock.now_ms() >= at_ms {
                    return;
                }
                moved.await;
            }
        })
    }
}
