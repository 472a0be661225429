//! The `rapport` command: parses the command line and hands over to the library.

use clap::{Args, Parser, Subcommand};
use rapport::app::Application;
use rapport::cli;
use rapport::clock::SystemClock;
use rapport::config::{Config, Flags, LogFormat};
use rapport::store::Location;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "rapport",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("RAPPORT_COMMIT"), ")"),
    about = "A self-hosted customer-support messenger in one binary"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (what a bare `rapport` does).
    Serve(ServeArgs),
    /// Manage admin accounts; works while the server runs.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Write a consistent, verified copy of the live database to FILE.
    Backup {
        #[command(flatten)]
        place: Place,
        file: PathBuf,
    },
    /// Replace the database with a backup FILE (the server must be stopped); the old database
    /// is kept beside it.
    Restore {
        #[command(flatten)]
        place: Place,
        file: PathBuf,
    },
    /// Move an installation between SQLite and PostgreSQL.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Exit 0 when the server answers on /healthz.
    Healthcheck {
        /// Defaults to the configured listen address.
        #[arg(long)]
        url: Option<String>,
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[derive(Args, Default)]
struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<String>,
    #[command(flatten)]
    place: Place,
    /// The public URL used in links and emails [default: http://LISTEN].
    #[arg(long)]
    base_url: Option<String>,
}

#[derive(Args, Default)]
struct Place {
    /// Where the database lives [default: ./rapport-data].
    #[arg(long)]
    data_dir: Option<String>,
    /// A PostgreSQL server to keep the data in instead (postgres://user:pass@host/db).
    #[arg(long)]
    database_url: Option<String>,
    /// A TOML config file (also RAPPORT_CONFIG).
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Copy everything from one store into a new, empty one and verify every table: a data dir
    /// onto PostgreSQL, or PostgreSQL into a new data dir. Rapport must not be running on
    /// either; the source is left as it was.
    Copy {
        /// A data dir (its rapport.db) or a PostgreSQL URL.
        #[arg(long)]
        from: String,
        /// A new data dir, or an empty PostgreSQL database's URL.
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin; the password is read from standard input.
    Create(AdminArgs),
    /// Set a new password (ending every session); read from standard input.
    ResetPassword(AdminArgs),
}

#[derive(Args)]
struct AdminArgs {
    #[command(flatten)]
    place: Place,
    #[arg(long)]
    email: String,
    /// Required by `create`.
    #[arg(long)]
    name: Option<String>,
    /// Read the password from standard input (required: passwords never go on the command line).
    #[arg(long, required = true)]
    password_stdin: bool,
}

impl Place {
    fn flags(&self) -> Flags {
        Flags {
            config: self.config.clone(),
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            ..Flags::default()
        }
    }
}

fn load(flags: &Flags) -> Result<Config, String> {
    Config::load(flags).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => serve(cli.serve),
        Some(Command::Serve(args)) => serve(args),
        Some(Command::Admin(cmd)) => admin(cmd),
        Some(Command::Backup { place, file }) => backup(&place, &file),
        Some(Command::Restore { place, file }) => restore(&place, &file),
        Some(Command::Store(StoreCommand::Copy { from, to })) => {
            cli::copy::run(&from, &to).map(|report| println!("{report}"))
        }
        Some(Command::Healthcheck { url, config }) => {
            let flags = Flags { config, ..Flags::default() };
            let url = match url {
                Some(url) => Ok(url),
                None => load(&flags).map(|c| cli::healthcheck::default_url(c.listen)),
            };
            url.and_then(|u| cli::healthcheck::check(&u))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("rapport: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs) -> Result<(), String> {
    let flags = Flags {
        config: args.place.config,
        listen: args.listen,
        data_dir: args.place.data_dir,
        database_url: args.place.database_url,
        base_url: args.base_url,
    };
    let config = load(&flags)?;
    use std::io::IsTerminal;
    let filter =
        tracing_subscriber::EnvFilter::try_new(&config.log).map_err(|e| format!("invalid setting `log`: {e}"))?;
    let logs = tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter(filter);
    match config.log_format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs.json().with_current_span(true).with_span_list(false).init(),
    }
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(config.clone(), Arc::new(SystemClock)).await.map_err(|e| e.to_string())?;
        tracing::info!(
            listen = %config.listen, port = app.port(), data_dir = %config.data_dir.display(),
            version = env!("CARGO_PKG_VERSION"), commit = rapport::COMMIT, "rapport is serving"
        );
        if let Some(url) = app.setup_url() {
            println!("\nRapport has no admin yet. Open this link to create one:\n\n    {url}\n");
        }
        app.run_until_stopped().await.map_err(|e| e.to_string())?;
        tracing::info!("stopped cleanly");
        Ok(())
    })
}

fn admin(cmd: AdminCommand) -> Result<(), String> {
    let (args, creating) = match &cmd {
        AdminCommand::Create(a) => (a, true),
        AdminCommand::ResetPassword(a) => (a, false),
    };
    let config = load(&args.place.flags())?;
    let password = cli::admin::read_password(std::io::stdin().lock())?;
    let hasher = rapport::password::Hasher::new(config.password_memory_kib, 1, 0)?;
    actix_web::rt::System::new().block_on(async {
        if creating {
            let name = args.name.as_deref().ok_or("admin create needs --name")?;
            let user = cli::admin::create_with(&hasher, &config.database(), &args.email, name, password).await?;
            println!("created admin {} <{}>", user.name, user.email);
        } else {
            let ended = cli::admin::reset_password(&hasher, &config.database(), &args.email, password).await?;
            println!(
                "password changed for {}; ended {} browser session(s) and revoked {} API token(s); \
                 a running server closes their open connections when it next re-checks rights",
                args.email, ended.sessions, ended.tokens
            );
        }
        Ok(())
    })
}

fn backup(place: &Place, file: &std::path::Path) -> Result<(), String> {
    let config = load(&place.flags())?;
    let progress = &mut |step: &str| eprintln!("backup: {step}");
    let report = match config.database() {
        Location::Sqlite(_) => cli::backup::run(&config.data_dir, file, progress)?,
        Location::Postgres(server) => cli::backup::run_postgres(&server, file, progress)?,
    };
    println!("backup written to {} ({} bytes)", report.path.display(), report.bytes);
    Ok(())
}

fn restore(place: &Place, file: &std::path::Path) -> Result<(), String> {
    let config = load(&place.flags())?;
    let progress = &mut |step: &str| eprintln!("restore: {step}");
    let report = match config.database() {
        Location::Sqlite(_) => cli::backup::restore(&config.data_dir, file, progress)?,
        Location::Postgres(server) => cli::backup::restore_postgres(&server, file, progress)?,
    };
    println!("restored {} ({} bytes); start Rapport to serve it", report.path.display(), report.bytes);
    Ok(())
}
