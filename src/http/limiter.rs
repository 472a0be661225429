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

    /// Like `take`, answering a 429 with `code` and when to try again.
    pub fn admit(&self, keys: &[&str], now: i64, code: &'static str) -> Result<(), crate::error::ApiError> {
        self.take(keys, now).map(drop).map_err(|secs| crate::error::ApiError::too_many(code, secs))
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
