//! The work of the subcommands other than `serve`.

pub mod admin;
pub mod backup;
pub mod copy;
pub mod healthcheck;
