//! `rapport-bench SCENARIO [--seconds N] [--url URL --token TOKEN]`: measures Rapport and,
//! in the same run, the machine's own limits (the disk's fsync rate, a raw SQLite batched
//! insert rate), and prints one JSON object per line with both and their ratio.
//! `history` seeds years of history and measures the agents' screens on it (see history.rs).
//! `--compare URL --compare-token TOKEN` measures another server speaking the same API the
//! same way, the two taking turns, and prints medians side by side (see compare.rs).

mod client;
mod compare;
mod history;
mod machine;
mod notify;
mod scenarios;
mod server;

use clap::{Parser, ValueEnum};
use std::time::Duration;

#[derive(Parser)]
#[command(name = "rapport-bench", about = "Benchmarks a Rapport server against this machine's own limits")]
struct Args {
    scenario: Scenario,
    /// Seconds of load per measurement.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// A running server to measure instead of one started here (then --token is needed).
    #[arg(long, requires = "token")]
    url: Option<String>,
    /// An admin's API token for --url.
    #[arg(long)]
    token: Option<String>,
    /// The process of the server at --url, whose memory and CPU time are then read.
    #[arg(long, requires = "url")]
    pid: Option<u32>,
    /// Another server to measure the same way, taking turns with a Rapport started here.
    #[arg(long, requires = "compare_token")]
    compare: Option<String>,
    /// An admin's API token for --compare.
    #[arg(long)]
    compare_token: Option<String>,
    /// The process of the server at --compare (for memory and CPU time).
    #[arg(long)]
    compare_pid: Option<u32>,
    /// For --compare: rounds, each measuring both servers (in turn, the order rotated).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// For `connections`: how many sockets to open; several (comma-separated, ascending)
    /// measure the memory at each count on the way.
    #[arg(long, value_delimiter = ',', default_value = "100000")]
    sockets: Vec<usize>,
    /// For `delivery`: conversations (each with 1 customer and 2 agents), default 10,000.
    /// For `history`: conversations to seed, default 100,000.
    #[arg(long)]
    conversations: Option<usize>,
    /// For `history`: messages to seed.
    #[arg(long, default_value_t = 1_000_000)]
    messages: usize,
    /// For `history`: the seed of the history drawn.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// For `history`: a data dir to seed (or, seeded before, to reuse) instead of a temporary one.
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
    /// For `history`: only the measurements of this endpoint (counts, list, search,
    /// list_while_searching, apps_while_customer_writes, clean_stop_ms).
    #[arg(long)]
    only: Option<String>,
    /// For `delivery`: messages per second to send.
    #[arg(long, default_value_t = 2_000)]
    rate: u64,
    /// The store of the server started here: an empty PostgreSQL database's URL (its cluster's
    /// own `pgbench -N` rate is measured beside it); SQLite in a temporary data dir without.
    #[arg(long)]
    database_url: Option<String>,
    /// For `notify`: notifications falling due at once.
    #[arg(long, default_value_t = 10_000)]
    notifications: usize,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Scenario {
    Durable,
    Delivery,
    Connections,
    Notify,
    History,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let raised = machine::raise_open_files();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(run(args, raised)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rapport-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args, open_files: u64) -> Result<(), String> {
    let duration = Duration::from_secs(args.seconds.max(1));
    let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
    if let Scenario::History = args.scenario {
        if args.url.is_some() {
            return Err("the history scenario seeds its own data dir and starts its servers: drop --url".into());
        }
        let plan = history::Plan {
            conversations: args.conversations.unwrap_or(100_000),
            messages: args.messages,
            seed: args.seed,
        };
        let opts = history::Options { data_dir: args.data_dir, plan, duration, only: args.only };
        return history::run(opts, scratch.path(), open_files).await;
    }
    let store: Vec<(&str, String)> =
        args.database_url.iter().map(|url| ("RAPPORT_DATABASE_URL", url.clone())).collect();
    if let (Some(url), Some(token)) = (&args.compare, &args.compare_token) {
        let other = server::Server::remote(url, token, args.compare_pid);
        let ours = server::Server::start(scratch.path(), &store).await?;
        let limits = measure(scratch.path(), open_files, args.database_url.as_deref())?;
        let scenario = args.scenario;
        let once = |server| measure_once(server, &limits, &args, scenario, duration, false);
        return compare::run(&ours, &other, args.rounds, once).await;
    }
    let server = match (&args.url, &args.token) {
        (Some(url), Some(token)) => server::Server::remote(url, token, args.pid),
        _ => {
            // The notify scenario runs its own SMTP server for Rapport to send to.
            let sink = match args.scenario {
                Scenario::Notify => Some(notify::SmtpSink::start().await?),
                _ => None,
            };
            let mut env = sink.as_ref().map(|s| s.env()).unwrap_or_default();
            env.extend(store.iter().cloned());
            let server = server::Server::start(scratch.path(), &env).await?;
            if let Some(sink) = sink {
                let limits = measure(scratch.path(), open_files, args.database_url.as_deref())?;
                return notify::notify(server, sink, &limits, args.notifications).await;
            }
            server
        }
    };
    let limits = measure(scratch.path(), open_files, args.database_url.as_deref())?;
    for line in measure_once(&server, &limits, &args, args.scenario, duration, true).await? {
        scenarios::print(line);
    }
    Ok(())
}

/// One run of a scenario that measures any server speaking Rapport's API; its lines.
/// `ladder`: delivery raises its rate until p99 goes over 50 ms (else one step at --rate).
async fn measure_once(
    server: &server::Server,
    limits: &machine::Limits,
    args: &Args,
    scenario: Scenario,
    duration: Duration,
    ladder: bool,
) -> Result<Vec<serde_json::Value>, String> {
    match scenario {
        Scenario::Durable => scenarios::durable(server, limits, duration).await,
        Scenario::Delivery => {
            let conversations = args.conversations.unwrap_or(10_000);
            scenarios::delivery(server, limits, duration, conversations, args.rate, ladder).await
        }
        Scenario::Connections => scenarios::connections(server, limits, &args.sockets).await,
        Scenario::Notify => {
            Err("the notify scenario starts its own server and SMTP sink: drop --url and --compare".into())
        }
        Scenario::History => Err("the history scenario seeds its own data dir and starts its servers".into()),
    }
}

fn measure(dir: &std::path::Path, open_files: u64, database_url: Option<&str>) -> Result<machine::Limits, String> {
    eprintln!("measuring this machine's limits in {} ...", dir.display());
    let limits = machine::Limits::measure(dir, Duration::from_secs(2), database_url)?;
    eprintln!(
        "fsync/s {:.0}, raw sqlite inserts/s {:.0}, open files {open_files}{}",
        limits.fsync_per_s,
        limits.raw_insert_per_s,
        limits
            .pgbench
            .map(|p| format!(", pgbench -N tps {:.0} (1 client), {:.0} (16)", p.one, p.sixteen))
            .unwrap_or_default()
    );
    Ok(limits)
}
