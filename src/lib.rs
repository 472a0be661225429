//! Rapport: a self-hosted customer-support messenger in one binary. The crate is a library so
//! that tests start the whole app in-process; `main.rs` only parses the command line.

pub mod app;
pub mod automation;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod jobs;
pub mod limits;
pub mod mail;
pub mod metrics;
pub mod notify;
pub mod password;
pub mod realtime;
pub mod store;
pub mod text;
pub mod timed_rules;
pub mod token;

/// The commit this binary was built from (see build.rs), or `unknown`.
pub const COMMIT: &str = env!("RAPPORT_COMMIT");

/// The property tests' settings: no files of failing cases left in the source tree (each
/// failure prints its input instead), and derandomized: 256 cases from a fixed seed, the same
/// every run. `RAPPORT_LONG=1` explores: 4096 cases from a new seed each run, printed so that
/// `PROPTEST_RNG_SEED=N` replays it. `PROPTEST_CASES` and `PROPTEST_RNG_SEED` (proptest reads
/// them) take precedence.
#[cfg(test)]
pub(crate) fn proptest_config() -> proptest::test_runner::Config {
    use proptest::test_runner::{Config, RngSeed};
    let given = Config::default();
    let long = std::env::var("RAPPORT_LONG").is_ok_and(|v| v == "1");
    let cases_given = std::env::var_os("PROPTEST_CASES").is_some();
    let rng_seed = match given.rng_seed {
        RngSeed::Random if long => {
            let seed = rand::random::<u64>();
            eprintln!("proptest with PROPTEST_RNG_SEED={seed}");
            RngSeed::Fixed(seed)
        }
        RngSeed::Random => RngSeed::Fixed(16),
        fixed => fixed,
    };
    let cases = if long && !cases_given { 4096 } else { given.cases };
    Config { failure_persistence: None, rng_seed, cases, ..given }
}
