//! The pieces of `/metrics`: a latency histogram cheap enough for every request and commit,
//! and a writer of the Prometheus text format (version 0.0.4).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds in seconds: from a fast in-memory answer to a slow fsync or SMTP round trip.
const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// A histogram of durations, lock-free.
#[derive(Default)]
pub struct Histogram {
    /// Per bucket (not cumulative); the last counts what is above every bound.
    counts: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        let bucket = BUCKETS.iter().position(|&bound| seconds <= bound).unwrap_or(BUCKETS.len());
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }
}

/// Builds the text exposition: each family's HELP and TYPE once, then its samples.
#[derive(Default)]
pub struct Exposition(String);

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &str, value: impl std::fmt::Display) {
        if labels.is_empty() {
            let _ = writeln!(self.0, "{name} {value}");
        } else {
            let _ = writeln!(self.0, "{name}{{{labels}}} {value}");
        }
    }

    pub fn gauge(&mut self, name: &str, help: &str, value: impl std::fmt::Display) {
        self.family(name, "gauge", help);
        self.sample(name, "", value);
    }

    /// One gauge family with a sample per label value: `[("status=\"sent\"", 3), ...]`.
    pub fn gauges(&mut self, name: &str, help: &str, samples: &[(String, i64)]) {
        self.family(name, "gauge", help);
        for (labels, value) in samples {
            self.sample(name, labels, value);
        }
    }

    pub fn counters(&mut self, name: &str, help: &str, samples: &[(String, u64)]) {
        self.family(name, "counter", help);
        for (labels, value) in samples {
            self.sample(name, labels, value);
        }
    }

    pub fn histogram(&mut self, name: &str, help: &str, h: &Histogram) {
        self.family(name, "histogram", help);
        let mut cumulative = 0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += h.counts[i].load(Ordering::Relaxed);
            self.sample(&format!("{name}_bucket"), &format!("le=\"{bound}\""), cumulative);
        }
        cumulative += h.counts[BUCKETS.len()].load(Ordering::Relaxed);
        self.sample(&format!("{name}_bucket"), "le=\"+Inf\"", cumulative);
        self.sample(&format!("{name}_sum"), "", h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6);
        self.sample(&format!("{name}_count"), "", cumulative);
    }

    pub fn finish(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_renders_cumulative_buckets_sum_and_count() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(300));
        h.observe(Duration::from_millis(20));
        h.observe(Duration::from_secs(60));
        let mut out = Exposition::default();
        out.histogram("t_seconds", "test", &h);
        let text = out.finish();
        assert!(text.starts_with("# HELP t_seconds test\n# TYPE t_seconds histogram\n"), "{text}");
        assert!(text.contains("t_seconds_bucket{le=\"0.0005\"} 1\n"), "{text}");
        assert!(text.contains("t_seconds_bucket{le=\"0.01\"} 1\n"), "{text}");
        assert!(text.contains("t_seconds_bucket{le=\"0.025\"} 2\n"), "{text}");
        assert!(text.contains("t_seconds_bucket{le=\"10\"} 2\n"), "{text}");
        assert!(text.contains("t_seconds_bucket{le=\"+Inf\"} 3\n"), "{text}");
        assert!(text.contains("t_seconds_sum 60.0203\n"), "{text}");
        assert!(text.contains("t_seconds_count 3\n"), "{text}");
        assert_eq!(h.count(), 3);
    }
}
