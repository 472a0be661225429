//! Rate limits kept in memory, for HTTP requests and socket frames alike: fixed-window
//! counters (`RateLimiter`) and what customers write (`CustomerWrites`).
//!
//! Fixed-window counters in memory, keyed by client address or account: enough to stop
//! password guessing on one host without a shared cache. Counting and refusing happen under one
//! lock, so concurrent requests can never get more attempts than the limit between them.

use std::collections::HashMap;
use std::sync::Mutex;

pub struct RateLimiter {
    max: u32,
    window_ms: i64,
    windows: Mutex<HashMap<String, Window>>,
}

#[derive(Clone, Copy)]
struct Window {
    start: i64,
    count: u32,
}

/// One attempt counted for a key, kept so that it can be given back (the attempt turned out
/// not to count: the password was right, or it was never checked).
#[derive(Debug)]
pub struct Taken {
    key: String,
    start: i64,
}

/// Beyond this many keys, expired windows are swept on the next attempt.
const SWEEP_AT: usize = 10_000;

impl RateLimiter {
    pub fn new(max: u32, window_ms: i64) -> RateLimiter {
        RateLimiter { max, window_ms, windows: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Window>> {
        self.windows.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live window of `key` at `now`, if it is full: seconds until it has room.
    fn full(&self, windows: &HashMap<String, Window>, key: &str, now: i64) -> Option<u64> {
        match windows.get(key) {
            Some(w) if now - w.start < self.window_ms && w.count >= self.max => {
                Some(((w.start + self.window_ms - now) as u64).div_ceil(1000).max(1))
            }
            _ => None,
        }
    }

    /// Counts one attempt for every key, all or none: when one of them is full nothing is
    /// counted and the answer is the seconds until it has room.
    pub fn take(&self, keys: &[&str], now: i64) -> Result<Vec<Taken>, u64> {
        let mut windows = self.lock();
        if let Some(secs) = keys.iter().find_map(|key| self.full(&windows, key, now)) {
            return Err(secs);
        }
        if windows.len() >= SWEEP_AT {
            let window = self.window_ms;
            windows.retain(|_, w| now - w.start < window);
        }
        let taken = keys
            .iter()
            .map(|key| {
                let w = windows.entry((*key).to_owned()).or_insert(Window { start: now, count: 0 });
                if now - w.start >= self.window_ms {
                    *w = Window { start: now, count: 0 };
                }
                w.count += 1;
                Taken { key: (*key).to_owned(), start: w.start }
            })
            .collect();
        Ok(taken)
    }

    /// `take` for one key.
    pub fn take_one(&self, key: &str, now: i64) -> Result<Taken, u64> {
        self.take(&[key], now).map(|mut taken| taken.remove(0))
    }

    /// Uncounts an attempt, unless its window has already made way for a new one.
    pub fn give_back(&self, taken: Taken) {
        let mut windows = self.lock();
        if let Some(w) = windows.get_mut(&taken.key) {
            if w.start == taken.start {
                w.count = w.count.saturating_sub(1);
            }
        }
    }

    /// Forgets `key` (its owner proved who they are).
    pub fn clear(&self, key: &str) {
        self.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::RateLimiter;

    #[test]
    fn attempts_are_counted_all_or_none_and_can_be_given_back() {
        let limiter = RateLimiter::new(2, 1000);
        let first = limiter.take(&["a", "b"], 0).unwrap();
        limiter.take(&["a"], 10).unwrap();
        // "a" is full: nothing is counted for "b" either.
        assert_eq!(limiter.take(&["b", "a"], 20).unwrap_err(), 1);
        limiter.take(&["b"], 20).unwrap();
        assert!(limiter.take(&["b"], 30).is_err());
        for taken in first {
            limiter.give_back(taken);
        }
        limiter.take(&["a"], 40).unwrap();
        limiter.take(&["b"], 40).unwrap();
        // A new window starts empty, and what was taken in the old one is not given back to it.
        let old = limiter.take(&["c"], 0).unwrap();
        limiter.take(&["c"], 1000).unwrap();
        limiter.take(&["c"], 1000).unwrap();
        old.into_iter().for_each(|t| limiter.give_back(t));
        assert!(limiter.take(&["c"], 1010).is_err());
        limiter.clear("c");
        limiter.take(&["c"], 1010).unwrap();
    }
}

/// What customers write (messages, new conversations and tickets, uploads), limited per visitor
/// and per client address: a person typing never meets it, a script posting thousands does.
/// Token buckets: a burst, then a steady rate. It holds no app state, so the realtime side can
/// share it (`Arc<CustomerWrites>`) and call `admit_customer` for each `send`.
pub struct CustomerWrites {
    per_customer: Buckets,
    per_address: Buckets,
}

impl Default for CustomerWrites {
    fn default() -> Self {
        CustomerWrites::new(120)
    }
}

impl CustomerWrites {
    /// A visitor may write 20 in a burst, then one every 2 seconds; one address (many visitors
    /// behind one office or school router) `address_burst`, then one a second. The app gives
    /// an address four times its `visitor_limit` (120 by default).
    pub fn new(address_burst: u32) -> CustomerWrites {
        CustomerWrites {
            per_customer: Buckets::new(20.0, 2_000),
            per_address: Buckets::new(f64::from(address_burst), 1_000),
        }
    }

    /// Counts one write of customer `customer_id` from client address `ip` (`limit_key`), unless
    /// either is over its limit: then when to try again, and nothing is counted.
    pub fn admit_customer(&self, customer_id: i64, ip: &str, now: i64) -> Result<(), TooFast> {
        let customer = customer_id.to_string();
        let wait = self.per_customer.wait(&customer, now).max(self.per_address.wait(ip, now));
        if wait > 0 {
            return Err(TooFast { retry_after_secs: (wait as u64).div_ceil(1000).max(1) });
        }
        self.per_customer.take(&customer, now);
        self.per_address.take(ip, now);
        Ok(())
    }
}

/// A customer's write refused by `CustomerWrites`: each path answers it in its own way (`429
/// too_many_messages` with `Retry-After`, or the socket's error frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooFast {
    pub retry_after_secs: u64,
}

/// Token buckets by key: `burst` tokens, one more every `refill_ms`.
struct Buckets {
    burst: f64,
    refill_ms: i64,
    /// Key → (tokens, when they were counted).
    state: Mutex<HashMap<String, (f64, i64)>>,
}

impl Buckets {
    fn new(burst: f64, refill_ms: i64) -> Buckets {
        Buckets { burst, refill_ms, state: Mutex::new(HashMap::new()) }
    }

    fn tokens(&self, entry: Option<&(f64, i64)>, now: i64) -> f64 {
        match entry {
            Some(&(tokens, at)) => (tokens + (now - at).max(0) as f64 / self.refill_ms as f64).min(self.burst),
            None => self.burst,
        }
    }

    /// Milliseconds until `key` has a token (0: it has one now).
    fn wait(&self, key: &str, now: i64) -> i64 {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let tokens = self.tokens(state.get(key), now);
        if tokens >= 1.0 {
            0
        } else {
            ((1.0 - tokens) * self.refill_ms as f64).ceil() as i64
        }
    }

    fn take(&self, key: &str, now: i64) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.len() >= SWEEP_AT {
            // Keys whose bucket is full again are the same as absent ones.
            let (burst, refill) = (self.burst, self.refill_ms as f64);
            state.retain(|_, (tokens, at)| *tokens + (now - *at) as f64 / refill < burst);
        }
        let tokens = self.tokens(state.get(key), now);
        state.insert(key.to_owned(), (tokens - 1.0, now));
    }
}

#[cfg(test)]
mod customer_writes_tests {
    use super::*;

    #[test]
    fn a_visitor_gets_a_burst_then_a_steady_rate_and_an_address_more() {
        let writes = CustomerWrites::new(100);
        let now = 1_000_000;
        for _ in 0..20 {
            writes.admit_customer(1, "a", now).unwrap();
        }
        let refused = writes.admit_customer(1, "a", now).unwrap_err();
        assert_eq!(refused, TooFast { retry_after_secs: 2 });
        writes.admit_customer(1, "a", now + 2_000).unwrap();
        writes.admit_customer(1, "a", now + 2_000).unwrap_err();
        // Other visitors at the same address share its larger budget: 100, and 2 more by now.
        for visitor in 2..6 {
            for _ in 0..20 {
                writes.admit_customer(visitor, "a", now + 2_000).unwrap();
            }
        }
        writes.admit_customer(6, "a", now + 2_000).unwrap();
        writes.admit_customer(6, "a", now + 2_000).unwrap_err();
        writes.admit_customer(6, "b", now + 2_000).unwrap();
    }
}
