//! For whoever runs Rapport: the admin health page's data (is email reachable, is the disk
//! filling up, is anything stuck) and `/metrics` for Prometheus. Both are for admins only:
//! scrape with an admin's API token (`Authorization: Bearer ...`).

use super::{Admin, AppState, State};
use crate::error::{ApiError, ErrorBody};
use crate::metrics::Exposition;
use crate::store::stats::{self, Queues};
use crate::store::Location;
use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(health).service(setup_list).service(metrics);
}

/// Below this much free space the health page says so (or below a twentieth of the disk).
const LOW_DISK_BYTES: u64 = 1 << 30;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `attention` when `problems` lists something.
    pub status: &'static str,
    /// For people, one line each: what needs looking at.
    pub problems: Vec<String>,
    /// For people, one line each: what is not set up yet, how to set it, and what waits on
    /// it. Not a problem (status stays `ok`): a new install starts this way.
    pub setup: Vec<String>,
    pub version: &'static str,
    pub commit: &'static str,
    pub schema_version: i64,
    pub uptime_seconds: u64,
    pub database: DatabaseSize,
    /// The file system of the data dir; absent where it cannot be read.
    pub disk: Option<Disk>,
    pub smtp: Reachability,
    pub imap: Reachability,
    pub queues: Queues,
    pub sockets: Sockets,
}

#[derive(Serialize, ToSchema)]
pub struct DatabaseSize {
    pub path: String,
    pub bytes: u64,
    pub wal_bytes: u64,
}

#[derive(Serialize, ToSchema)]
pub struct Disk {
    pub free_bytes: u64,
    pub total_bytes: u64,
}

#[derive(Serialize, ToSchema)]
pub struct Reachability {
    pub configured: bool,
    /// Checked just now; absent when not configured.
    pub reachable: Option<bool>,
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Sockets {
    pub agents: i64,
    pub customers: i64,
}

fn disk(dir: &Path) -> Option<Disk> {
    let fs = rustix::fs::statvfs(dir).ok()?;
    Some(Disk { free_bytes: fs.f_bavail * fs.f_frsize, total_bytes: fs.f_blocks * fs.f_frsize })
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Where the data lives and how big it is: the SQLite file and its log, or the PostgreSQL
/// database (its size as the server counts it; no log of ours).
async fn database(state: &AppState) -> DatabaseSize {
    match state.store.location() {
        Location::Sqlite(path) => {
            let wal = path.with_file_name("rapport.db-wal");
            DatabaseSize { path: path.display().to_string(), bytes: file_len(path), wal_bytes: file_len(&wal) }
        }
        server => DatabaseSize {
            path: server.to_string(),
            bytes: state.store.database_bytes().await.unwrap_or(0),
            wal_bytes: 0,
        },
    }
}

fn reachability(configured: bool, checked: Option<Result<(), String>>) -> Reachability {
    match checked {
        Some(result) => Reachability { configured, reachable: Some(result.is_ok()), error: result.err() },
        None => Reachability { configured, reachable: None, error: None },
    }
}

/// What a fresh install still lacks, each with the way to set it.
fn not_set_up(has_mailer: bool, has_project: bool) -> Vec<String> {
    let mut setup = Vec::new();
    if !has_mailer {
        setup.push(
            "Email is not set up: set smtp_url (RAPPORT_SMTP_URL) and smtp_from (RAPPORT_SMTP_FROM), then restart \
             — until then no email, portal sign-in link or unseen-message email goes out"
                .to_owned(),
        );
    }
    if !has_project {
        setup.push(
            "There is no project: make one in Admin → Projects — until then no ticket can be made and web forms are off"
                .to_owned(),
        );
    }
    setup
}

/// Everything an admin needs to know that Rapport is well, checked now: SMTP and IMAP are
/// connected to (and logged in to), which takes up to 10 s when a server does not answer.
#[utoipa::path(tag = "admin", responses((status = 200, body = Health), (status = 403, body = ErrorBody)))]
#[get("/api/v1/admin/health")]
async fn health(state: State, _admin: Admin) -> Result<web::Json<Health>, ApiError> {
    let smtp = async {
        match &state.mailer {
            Some(mailer) => Some(mailer.check().await),
            None => None,
        }
    };
    let imap = async {
        let source = state.config.imap_url.as_ref().map(crate::mail::imap::ImapSource::parse);
        match source {
            Some(Ok(source)) => Some(source.check().await),
            Some(Err(e)) => Some(Err(e)),
            None => None,
        }
    };
    let (smtp, imap, queues, has_project) =
        futures_util::join!(smtp, imap, state.store.settings().queues(), state.store.items().any_project());
    let queues = queues?;
    let setup = not_set_up(state.mailer.is_some(), has_project?);
    let smtp = reachability(state.mailer.is_some(), smtp);
    let imap = reachability(state.config.imap_url.is_some(), imap);
    let disk = disk(&state.config.data_dir);

    let mut problems = Vec::new();
    for (name, r) in [("SMTP", &smtp), ("IMAP", &imap)] {
        if let Some(e) = &r.error {
            problems.push(format!("the {name} server cannot be reached: {e}"));
        }
    }
    if let Some(d) = &disk {
        if d.free_bytes < LOW_DISK_BYTES.min(d.total_bytes / 20) {
            problems.push(format!("the disk is almost full: {} MiB free", d.free_bytes >> 20));
        }
    }
    if queues.outbox("failed") > 0 {
        problems.push(format!("{} emails could not be sent (Admin → Email)", queues.outbox("failed")));
    }
    let held = queues.inbound.iter().find(|(o, _)| o == "held").map_or(0, |(_, n)| *n);
    if held > 0 {
        problems.push(format!("{held} inbound emails wait for review (Admin → Email)"));
    }
    let live = state.hub.stats();
    Ok(web::Json(Health {
        status: if problems.is_empty() { "ok" } else { "attention" },
        problems,
        setup,
        version: env!("CARGO_PKG_VERSION"),
        commit: crate::COMMIT,
        schema_version: *crate::store::SCHEMA_VERSION,
        uptime_seconds: state.started.elapsed().as_secs(),
        database: database(&state).await,
        disk,
        smtp,
        imap,
        queues,
        sockets: Sockets {
            agents: live.agent_sockets.load(Ordering::Relaxed),
            customers: live.customer_sockets.load(Ordering::Relaxed),
        },
    }))
}

#[derive(Serialize, ToSchema)]
pub struct Setup {
    /// As in the health page: what is not set up yet, one line each.
    pub setup: Vec<String>,
    /// The first-run checklist, always these five steps in this order: `project`, `email`,
    /// `widget`, `teammate`, `test_message`.
    pub checklist: Vec<ChecklistStep>,
}

/// One step of the first-run checklist, each done by what has happened, not by a click.
#[derive(Serialize, ToSchema)]
pub struct ChecklistStep {
    /// Stable: `project`, `email`, `widget`, `teammate` or `test_message`.
    pub key: &'static str,
    /// For people: the step, as an instruction.
    pub title: &'static str,
    pub done: bool,
    /// For people: how to do it, and when it counts as done.
    pub hint: &'static str,
}

fn checklist(has_mailer: bool, facts: &stats::FirstRun) -> Vec<ChecklistStep> {
    let step = |key, title, done, hint| ChecklistStep { key, title, done, hint };
    vec![
        step("project", "Create a project", facts.has_project,
            "Projects hold your conversations and tickets. Make one in Admin → Projects."),
        step("email", "Connect email", has_mailer,
            "Set smtp_url (RAPPORT_SMTP_URL) and smtp_from (RAPPORT_SMTP_FROM) in the config, then restart. \
             Until then no email, portal sign-in link or unseen-message email goes out."),
        step("widget", "Install the chat widget on your site", facts.widget_chat,
            "Paste the snippet from Admin → Widget into your site's pages. Done when a visitor starts a chat through it."),
        step("teammate", "Invite a teammate", facts.active_users > 1,
            "Add an agent in Admin → Agents, with a first password you pass on to them."),
        step("test_message", "Send a test message", facts.customer_message,
            "Write to your team as a customer would: in the widget on your site, in the portal or in a web form."),
    ]
}

/// What is not set up yet and the first-run checklist, at once (no mail server is contacted):
/// the app shows them to admins.
#[utoipa::path(tag = "admin", responses((status = 200, body = Setup), (status = 403, body = ErrorBody)))]
#[get("/api/v1/admin/setup")]
async fn setup_list(state: State, _admin: Admin) -> Result<web::Json<Setup>, ApiError> {
    let facts = state.store.settings().first_run().await?;
    let has_mailer = state.mailer.is_some();
    Ok(web::Json(Setup { setup: not_set_up(has_mailer, facts.has_project), checklist: checklist(has_mailer, &facts) }))
}

/// Prometheus text format: sockets, messages, queues, email outcomes, latencies, sizes.
#[utoipa::path(tag = "admin", responses(
    (status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[get("/metrics")]
async fn metrics(state: State, _admin: Admin) -> Result<HttpResponse, ApiError> {
    let queues = state.store.settings().queues().await?;
    let mut out = Exposition::default();
    let label = |name: &str, value: &str| format!("{name}=\"{value}\"");

    out.gauges(
        "rapport_build_info",
        "The running version and commit.",
        &[(format!("{},{}", label("version", env!("CARGO_PKG_VERSION")), label("commit", crate::COMMIT)), 1)],
    );
    out.gauge("rapport_uptime_seconds", "Seconds since start.", state.started.elapsed().as_secs());

    let live = state.hub.stats();
    out.gauges(
        "rapport_sockets",
        "Open websockets.",
        &[
            (label("kind", "agent"), live.agent_sockets.load(Ordering::Relaxed)),
            (label("kind", "customer"), live.customer_sockets.load(Ordering::Relaxed)),
        ],
    );
    out.gauge("rapport_rooms", "Conversations with a live room.", state.hub.rooms());
    let authors = ["customer", "user", "bot"];
    let messages: Vec<(String, u64)> =
        authors.iter().zip(&live.messages).map(|(a, n)| (label("author", a), n.load(Ordering::Relaxed))).collect();
    out.counters("rapport_messages_total", "Messages committed since start, by author.", &messages);

    let answers: Vec<(String, u64)> = (1..=5)
        .zip(&state.http.answers)
        .map(|(c, n)| (label("class", &format!("{c}xx")), n.load(Ordering::Relaxed)))
        .collect();
    out.counters("rapport_http_responses_total", "HTTP answers since start, by status class.", &answers);
    out.histogram("rapport_http_request_duration_seconds", "Time to answer an HTTP request.", &state.http.latency);

    let writes = state.store.write_stats();
    out.histogram(
        "rapport_write_batch_duration_seconds",
        "One group commit: its writes and the durable COMMIT.",
        &writes.batch_seconds,
    );
    out.counters(
        "rapport_writes_total",
        "Writes run since start.",
        &[(String::new(), writes.jobs.load(Ordering::Relaxed))],
    );
    out.counters(
        "rapport_write_failed_batches_total",
        "Group commits that did not commit (a full disk, an I/O error).",
        &[(String::new(), writes.failed_batches.load(Ordering::Relaxed))],
    );
    out.gauge("rapport_write_queue", "Writes waiting for the writer.", state.store.write_queue());
    let jobs = state.jobs.stats();
    let of = |f: fn(&crate::jobs::JobStats) -> u64| -> Vec<(String, u64)> {
        jobs.iter().map(|(name, s)| (label("job", name), f(s))).collect()
    };
    out.counters(
        "rapport_job_rounds_total",
        "Rounds of each background job since start.",
        &of(|s| s.rounds.load(Ordering::Relaxed)),
    );
    out.counters(
        "rapport_job_failures_total",
        "Rounds of each background job that failed (each is retried after a growing pause).",
        &of(|s| s.failures.load(Ordering::Relaxed)),
    );
    password_metrics(&mut out, state.passwords.stats());

    out.gauge(
        "rapport_pending_notifications",
        "Recipients owed an email for messages not yet seen.",
        queues.pending_notifications,
    );
    out.gauge("rapport_notices", "Rule notifications waiting to become email.", queues.notices);
    let outbox: Vec<(String, i64)> = queues.outbox.iter().map(|(s, n)| (label("status", s), *n)).collect();
    out.gauges("rapport_outbox_emails", "Outgoing emails by status (pending, sent, failed).", &outbox);
    let inbound: Vec<(String, i64)> = queues.inbound.iter().map(|(o, n)| (label("outcome", o), *n)).collect();
    out.gauges("rapport_inbound_emails", "Emails received, by what became of them.", &inbound);

    let db = database(&state).await;
    out.gauges(
        "rapport_database_bytes",
        "Size of the database file and its WAL.",
        &[(label("file", "db"), db.bytes as i64), (label("file", "wal"), db.wal_bytes as i64)],
    );
    if let Some(d) = disk(&state.config.data_dir) {
        out.gauge("rapport_disk_free_bytes", "Free space for the data dir.", d.free_bytes);
        out.gauge("rapport_disk_total_bytes", "Size of the data dir's file system.", d.total_bytes);
    }
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(out.finish()))
}

fn password_metrics(out: &mut Exposition, stats: &crate::password::HashStats) {
    let counter = |n: &AtomicU64| [(String::new(), n.load(Ordering::Relaxed))];
    out.counters(
        "rapport_password_checks_total",
        "Passwords checked (argon2 against a stored or the dummy hash) since start.",
        &counter(&stats.checks),
    );
    out.counters("rapport_password_hashes_total", "New passwords hashed since start.", &counter(&stats.hashes));
    out.counters(
        "rapport_password_busy_total",
        "Password checks and hashes refused at once (503 busy): too many were waiting.",
        &counter(&stats.busy),
    );
}
