//! Rapport: a self-hosted customer-support messenger in one binary. The crate is a library so
//! that tests start the whole app in-process; `main.rs` only parses the command line.

pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod mail;
pub mod metrics;
pub mod password;
pub mod realtime;
pub mod store;
pub mod timed_rules;
pub mod token;

/// The commit this binary was built from (see build.rs), or `unknown`.
pub const COMMIT: &str = env!("RAPPORT_COMMIT");

/// The property tests' settings: 256 cases, or `PROPTEST_CASES` (proptest reads it), and no
/// files of failing cases left in the source tree (each failure prints its input instead).
#[cfg(test)]
pub(crate) fn proptest_config() -> proptest::test_runner::Config {
    proptest::test_runner::Config { failure_persistence: None, ..Default::default() }
}
