//! Fixed-window counters in memory, keyed by IP or account: enough to stop password guessing
//! on one host without a shared cache.

use std::collections::HashMap;
use std::sync::Mutex;

pub struct RateLimiter {
    max: u32,
    window_ms: i64,
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

/// Beyond this many keys, expired windows are swept on the next hit.
const SWEEP_AT: usize = 10_000;

impl RateLimiter {
    pub fn new(max: u32, window_ms: i64) -> RateLimiter {
        RateLimiter { max, window_ms, windows: Mutex::new(HashMap::new()) }
    }

    /// Seconds until `key` may try again, or `None` if it may now.
    pub fn blocked(&self, key: &str, now: i64) -> Option<u64> {
        let windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        match windows.get(key) {
            Some(&(start, count)) if now - start < self.window_ms && count >= self.max => {
                Some(((start + self.window_ms - now) as u64).div_ceil(1000).max(1))
            }
            _ => None,
        }
    }

    /// Counts an attempt for each key, unless one is over its limit: then a 429 with `code` and
    /// when to try again, and nothing is counted.
    pub fn admit(&self, keys: &[&str], now: i64, code: &'static str) -> Result<(), crate::error::ApiError> {
        if let Some(secs) = keys.iter().find_map(|key| self.blocked(key, now)) {
            return Err(crate::error::ApiError::too_many(code, secs));
        }
        for key in keys {
            self.hit(key, now);
        }
        Ok(())
    }

    /// Counts one attempt for `key`.
    pub fn hit(&self, key: &str, now: i64) {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= SWEEP_AT {
            let window = self.window_ms;
            windows.retain(|_, (start, _)| now - *start < window);
        }
        let entry = windows.entry(key.to_owned()).or_insert((now, 0));
        if now - entry.0 >= self.window_ms {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }

    /// Forgets `key` (after a successful login).
    pub fn clear(&self, key: &str) {
        self.windows.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}
