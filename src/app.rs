//! Builds the running app from a `Config`: opens the store, binds the listener (port 0 works),
//! wires the state, and on stop drains requests and closes the store cleanly.

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::http::{self, AppState, SetupLink};
use crate::jobs::{Failure, Job, Next, Wake};
use crate::limits::{CustomerWrites, RateLimiter};
use crate::mail::{inbound::Mailroom, postman::Postman, smtpd};
use crate::store::{Millis, Store, StoreError};
use actix_web::dev::{Server, ServerHandle};
use actix_web::{middleware, web, App};
use std::net::TcpListener;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    #[error("email settings: {0}")]
    Mail(String),
    #[error("password settings: {0}")]
    Password(String),
    #[error("another rapport is serving {0}")]
    Busy(String),
    #[error("cannot lock the data dir: {0}")]
    Lock(std::io::Error),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: std::net::SocketAddr, source: std::io::Error },
}

pub struct Application {
    port: u16,
    inbound_smtp_port: Option<u16>,
    server: Server,
    store: Store,
    setup_url: Option<String>,
    /// Stops the background jobs and the SMTP listener.
    background: CancellationToken,
    /// What stopping waits for: the SMTP listener's sessions, the IMAP poll, the statistics.
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Held while serving, released when the store is closed.
    _lock: std::fs::File,
}

impl Application {
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> Result<Application, StartError> {
        let data_dir = config.data_dir.clone();
        let lock = crate::store::lock_data_dir(&data_dir)
            .map_err(StartError::Lock)?
            .ok_or_else(|| StartError::Busy(data_dir.display().to_string()))?;
        let (events, events_rx) = tokio::sync::mpsc::channel(crate::realtime::EVENT_QUEUE);
        // Rung when a commit queued email to send at once: wakes the scheduler and the sender.
        let doorbell = crate::mail::postman::Doorbell::default();
        let bell = doorbell.clone();
        let ring: crate::store::MailBell = Box::new(move || {
            bell.ring_scheduler();
            bell.ring();
        });
        let database = config.database();
        let store = tokio::task::spawn_blocking(move || Store::open_at(&database, Some(events), Some(ring)))
            .await
            .map_err(|e| StoreError::Internal(e.to_string()))??;
        store.limit_write_batch(config.write_batch);
        let listener =
            TcpListener::bind(config.listen).map_err(|source| StartError::Listen { addr: config.listen, source })?;
        let port = listener.local_addr().map_err(|source| StartError::Listen { addr: config.listen, source })?.port();
        let mut config = config;
        if let Some(host) = config.base_url.strip_suffix(":0") {
            // Derived from a listen address with port 0: link to the port really bound.
            config.base_url = format!("{host}:{port}");
        }

        let device_key = store.settings().device_secret().await?;
        let passwords =
            crate::password::Hasher::new(config.password_memory_kib, config.password_workers, config.password_queue)
                .map_err(StartError::Password)?;
        let mailer = match (&config.smtp_url, &config.smtp_from) {
            (Some(url), Some(from)) => Some(Arc::new(crate::mail::Mailer::new(url, from).map_err(StartError::Mail)?)),
            _ => None,
        };
        // The address customers write to; reply addresses are made from it.
        let support_address = config
            .support_address
            .clone()
            .or_else(|| mailer.as_ref().map(|m| m.from_address()))
            .unwrap_or_else(|| "support@localhost".into());
        let background = CancellationToken::new();
        let mut tasks = Vec::new();
        let jobs = crate::jobs::Jobs::default();
        Postman {
            store: store.clone(),
            mailer: mailer.clone(),
            clock: clock.clone(),
            delay_ms: config.notify_delay_secs as i64 * 1000,
            support_address: support_address.clone(),
            base_url: config.base_url.clone(),
        }
        .start(doorbell.clone(), &jobs, background.clone());
        let mailroom = Mailroom {
            store: store.clone(),
            clock: clock.clone(),
            own_addresses: [Some(support_address.clone()), mailer.as_ref().map(|m| m.from_address())]
                .into_iter()
                .flatten()
                .collect(),
            max_attachment_bytes: config.max_upload_bytes,
        };
        let mut inbound_smtp_port = None;
        if let Some(addr) = config.inbound_smtp_listen {
            let listener =
                tokio::net::TcpListener::bind(addr).await.map_err(|source| StartError::Listen { addr, source })?;
            inbound_smtp_port =
                Some(listener.local_addr().map_err(|source| StartError::Listen { addr, source })?.port());
            tasks.push(tokio::spawn(smtpd::serve(
                listener,
                smtp_limits(&config),
                smtp_handler(mailroom.clone()),
                background.clone(),
            )));
        }
        if let Some(url) = &config.imap_url {
            let source = crate::mail::imap::ImapSource::parse(url).map_err(StartError::Mail)?;
            let every = std::time::Duration::from_secs(config.imap_poll_secs);
            let poll = PollMailbox { source, mailroom: mailroom.clone(), every_ms: every.as_millis() as Millis };
            tasks.push(jobs.spawn(poll, Arc::new(SystemClock), Wake::default(), background.clone()));
        }
        let statistics = KeepStatistics { store: store.clone(), started: false };
        tasks.push(jobs.spawn(statistics, Arc::new(SystemClock), Wake::default(), background.clone()));
        let timed_rules = crate::timed_rules::TimedRules::default();
        let (rounds, wake) = timed_rules.job(store.clone());
        jobs.spawn(rounds, clock.clone(), wake, background.clone());
        let hub = crate::realtime::Hub::start(events_rx, store.clone());
        let state = web::Data::new(AppState {
            mailroom,
            doorbell,
            timed_rules,
            store: store.clone(),
            mailer,
            hub,
            config: Arc::new(config.clone()),
            clock,
            logins: http::LoginLimits::new(device_key),
            passwords,
            setup: SetupLink::default(),
            new_visitors: RateLimiter::new(config.visitor_limit, 10 * 60 * 1000),
            widget_writes: RateLimiter::new(config.visitor_limit * 4, 10 * 60 * 1000),
            customer_writes: Arc::new(CustomerWrites::new(config.visitor_limit.saturating_mul(4))),
            portal_attempts: RateLimiter::new(5, 10 * 60 * 1000),
            form_submissions: RateLimiter::new(5, 10 * 60 * 1000),
            support_address: support_address.clone(),
            jobs,
            http: Default::default(),
            started: std::time::Instant::now(),
        });
        let now = state.now();
        store.users().delete_expired_sessions(now).await?;
        let setup_url = if store.users().any_admin().await? {
            None
        } else {
            Some(format!("{}/setup?token={}", config.base_url, state.setup.issue()))
        };

        let max_json = config.max_json_bytes;
        let app = move || {
            App::new()
                .app_data(state.clone())
                .wrap(
                    middleware::DefaultHeaders::new()
                        .add(("X-Content-Type-Options", "nosniff"))
                        .add(("Referrer-Policy", "same-origin")),
                )
                .wrap(middleware::from_fn(http::preauthenticate))
                .wrap(middleware::from_fn(http::trace_requests))
                .configure(|cfg| http::configure(cfg, max_json))
        };
        let tuning = http::upgrade::Tuning { shutdown_timeout_secs: 10, max_connections: 250_000, backlog: 4096 };
        let server = http::upgrade::serve(listener, app, tuning)
            .map_err(|source| StartError::Listen { addr: config.listen, source })?;
        Ok(Application { port, inbound_smtp_port, server, store, setup_url, background, tasks, _lock: lock })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the inbound SMTP listener, when one is configured.
    pub fn inbound_smtp_port(&self) -> Option<u16> {
        self.inbound_smtp_port
    }

    /// The app's store, for a program that embeds Rapport (the tests arrange what no API makes
    /// through it: a portal session without an emailed link, say).
    pub fn store(&self) -> Store {
        self.store.clone()
    }

    /// The one-time link that creates the first admin, while there is none.
    pub fn setup_url(&self) -> Option<&str> {
        self.setup_url.as_deref()
    }

    /// Stops the server (gracefully) from elsewhere, e.g. a test or a signal handler.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (SIGINT/SIGTERM or the handle), then closes the store: the WAL is
    /// checkpointed into the database file and truncated.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.background.cancel();
        for task in self.tasks {
            // The SMTP listener returns once its sessions have answered: nothing accepted is lost.
            let _ = task.await;
        }
        if let Err(e) = self.store.close().await {
            tracing::error!(error = %e, "closing the store failed");
        }
        served
    }
}

fn smtp_limits(config: &Config) -> smtpd::Limits {
    let hostname = config.base_url.split("://").nth(1).unwrap_or("localhost").split([':', '/']).next().unwrap_or("");
    smtpd::Limits {
        // Attachments travel base64-encoded: a third larger than the files.
        max_message_bytes: config.max_upload_bytes.saturating_mul(4) / 3 + 1024 * 1024,
        max_connections_per_address: config.inbound_smtp_max_per_address,
        ipv6_prefix: config.ipv6_limit_prefix,
        hostname: hostname.to_owned(),
        ..smtpd::Limits::default()
    }
}

/// Answers 250 only once the mail is recorded; a store failure is a temporary 451, so the
/// sending server tries again.
fn smtp_handler(mailroom: Mailroom) -> smtpd::Handler {
    Arc::new(move |envelope: smtpd::Envelope, raw: Vec<u8>| {
        let mailroom = mailroom.clone();
        Box::pin(async move {
            mailroom.receive(raw, &envelope.rcpt_to).await.map(drop).map_err(|e| {
                tracing::error!(error = %e, "inbound email not recorded");
                smtpd::Refusal { code: 451, text: "4.3.0 try again later".into() }
            })
        })
    })
}

/// Fetches new mail from the team's mailbox every `every_ms`. A message is marked seen only
/// once it is recorded, so a failure (or a crash) leaves it for the next poll.
struct PollMailbox {
    source: crate::mail::imap::ImapSource,
    mailroom: Mailroom,
    every_ms: Millis,
}

impl Job for PollMailbox {
    const NAME: &'static str = "imap";

    async fn round(&mut self, now: Millis) -> Result<Next, Failure> {
        let mailroom = &self.mailroom;
        let handled = self
            .source
            .fetch_new(100, |raw| {
                let mailroom = mailroom.clone();
                async move { mailroom.receive(raw, &[]).await.map(drop).map_err(|e| e.to_string()) }
            })
            .await;
        match handled {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "fetched email"),
            // A mailbox out of reach is the mail server's state, not a failure of ours: it is
            // said, and asked again at the next poll.
            Err(e) => tracing::warn!(error = %e, "cannot fetch email"),
        }
        Ok(Next::At(now + self.every_ms))
    }
}

/// Gives the query planner fresh statistics every few hours (the store does it at start and at a
/// clean stop too), so plans follow the data as it grows.
struct KeepStatistics {
    store: Store,
    started: bool,
}

impl Job for KeepStatistics {
    const NAME: &'static str = "statistics";

    async fn round(&mut self, now: Millis) -> Result<Next, Failure> {
        const EVERY_MS: Millis = 6 * 3600 * 1000;
        // The first round comes with the start, which refreshed them already.
        if std::mem::replace(&mut self.started, true) {
            self.store.optimize().await?;
        }
        Ok(Next::At(now + EVERY_MS))
    }
}
