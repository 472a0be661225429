//! The one thread that owns the write connection. It takes every job that is waiting, runs
//! them in one transaction (each inside its own savepoint, so one failure spoils only itself),
//! commits once, and only then answers each caller: group commit, durable and fast at once.
//! Upkeep runs here too, after the callers are answered rather than inside the commit that
//! made it due: checkpoints (copying the write-ahead log back into the database file), and
//! the store's idle work (merging search's index) once no write has come for a moment.

use super::db::Connection;
use super::{Event, Result, StoreError};
use crate::metrics::Histogram;
use std::cell::{Cell, RefCell};
use std::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Bounds both the queue and one transaction: enough to amortise an fsync over many writes,
/// small enough that one batch never holds the lock for long.
pub const MAX_BATCH: usize = 512;

/// Runs after the commit (or its failure): answers the caller and publishes what happened.
type Done = Box<dyn FnOnce(Result<(), Failed>, &Events) + Send>;
/// A job gets no connection when its transaction could not even begin. Besides its `Done`, it
/// returns why the whole transaction is gone, when its failure took the transaction down with
/// it (SQLite rolls back by itself on a full disk or an I/O error).
type Job = Box<dyn FnOnce(Option<&Connection>) -> (Done, Option<Failed>) + Send>;

/// Why a batch did not commit; every job in it gets this answer.
#[derive(Clone, Debug)]
enum Failed {
    Full,
    Other(String),
}

impl Failed {
    fn of(e: &StoreError) -> Failed {
        match e {
            StoreError::Full => Failed::Full,
            other => Failed::Other(other.to_string()),
        }
    }
}

impl From<Failed> for StoreError {
    fn from(f: Failed) -> StoreError {
        match f {
            Failed::Full => StoreError::Full,
            Failed::Other(e) => StoreError::Internal(format!("commit failed: {e}")),
        }
    }
}

enum Command {
    Job(Job),
    Close(oneshot::Sender<Result<()>>),
    /// Answered once the idle work has nothing left to do: what a test waits for instead of time.
    #[cfg(test)]
    Settle(oneshot::Sender<()>),
}

thread_local! {
    /// Pages in the write-ahead log after the writer's last commit, as SQLite's WAL hook tells.
    static WAL_PAGES: Cell<c_int> = const { Cell::new(0) };
}

/// A checkpoint is due once a commit leaves this many pages in the log (SQLite's own default).
/// SQLite would run it inside that commit, making its callers wait for the copying; the writer
/// runs it right after answering them, as often, so the log stays as short as before.
const CHECKPOINT_PAGES: c_int = 1000;

/// Replaces SQLite's automatic checkpoint (setting a WAL hook turns that off): counts only.
fn count_wal_pages(_: &rusqlite::hooks::Wal, pages: c_int) -> rusqlite::Result<()> {
    WAL_PAGES.set(pages);
    Ok(())
}

/// The store's work for when no write waits, one short step at a time; says whether it found
/// anything to do (so whether another step may be worth taking).
pub(super) type IdleStep = fn(&Connection) -> rusqlite::Result<bool>;

/// One idle step in its own transaction; whether it did work. A failure counts as nothing done:
/// the work is tried again after the next commit.
fn idle_step(conn: &Connection, step: IdleStep) -> bool {
    let done = conn.begin().and_then(|()| step(conn)).and_then(|worked| {
        conn.commit()?;
        Ok(worked)
    });
    done.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "the writer's idle work failed; it is tried again later");
        if conn.in_transaction() {
            let _ = conn.rollback();
        }
        false
    })
}

/// Does the idle work until none is left, then answers.
#[cfg(test)]
fn settle(conn: &Connection, idle: IdleStep, reply: oneshot::Sender<()>) {
    while idle_step(conn, idle) {}
    let _ = reply.send(());
}

/// Copies the log back into the database file when a commit made that due. Passive: readers
/// are never waited for; what they still need is copied on a later pass. A failure (a full
/// disk) leaves the log as it is, committed data in it, and is tried again after the next commit.
fn checkpoint_if_due(conn: &Connection) {
    let Some(conn) = conn.lite() else { return };
    if WAL_PAGES.get() < CHECKPOINT_PAGES {
        return;
    }
    WAL_PAGES.set(0);
    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
        tracing::warn!(error = %e, "could not checkpoint the write-ahead log");
    }
}

/// A write in progress: the connection inside the writer's transaction, and what the write
/// will announce once it commits. A function deep inside a write (an automation that posts a
/// bot reply) announces through it instead of threading events back through every return.
pub struct Tx<'c> {
    conn: &'c Connection,
    raised: RefCell<Vec<Event>>,
}

impl<'c> Tx<'c> {
    fn new(conn: &'c Connection) -> Tx<'c> {
        Tx { conn, raised: RefCell::default() }
    }

    /// Announces `event` once this write commits, after the events its result announces;
    /// dropped with the write's changes if it fails.
    pub fn raise(&self, event: Event) {
        self.raised.borrow_mut().push(event);
    }

    fn into_raised(self) -> Vec<Event> {
        self.raised.into_inner()
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
    }
}

#[derive(Clone)]
pub(super) struct Writer {
    tx: mpsc::Sender<Command>,
    stats: Arc<WriteStats>,
    /// The most jobs one transaction takes (`MAX_BATCH` unless set lower).
    batch: Arc<AtomicUsize>,
}

/// What `/metrics` reports of the writer.
#[derive(Default)]
pub struct WriteStats {
    /// How long each batch took from BEGIN to the answer: the jobs and the durable COMMIT.
    pub batch_seconds: Histogram,
    pub jobs: AtomicU64,
    pub failed_batches: AtomicU64,
}

/// Where committed changes are announced, in commit order: the live side listens to the feed;
/// `Event::Mail` rings the email jobs' bell instead.
pub(super) struct Events {
    feed: Option<mpsc::Sender<Event>>,
    mail: Option<MailBell>,
}

/// Called when a commit queued email to send at once.
pub type MailBell = Box<dyn Fn() + Send>;

impl Events {
    fn publish(&self, events: Vec<Event>) {
        for event in events {
            match (&event, &self.mail, &self.feed) {
                (Event::Mail, Some(ring), _) => ring(),
                (Event::Mail, None, _) | (_, _, None) => {}
                // Blocking here pushes back on writers when the listener falls behind; a
                // listener that is gone (CLI use, shutdown) just drops them.
                (_, _, Some(tx)) => {
                    let _ = tx.blocking_send(event);
                }
            }
        }
    }
}

impl Writer {
    pub(super) fn start(
        conn: Connection,
        feed: Option<mpsc::Sender<Event>>,
        mail: Option<MailBell>,
        idle: IdleStep,
    ) -> Writer {
        let (tx, rx) = mpsc::channel(MAX_BATCH);
        let batch = Arc::new(AtomicUsize::new(MAX_BATCH));
        let most = batch.clone();
        let events = Events { feed, mail };
        let stats = Arc::new(WriteStats::default());
        let counted = stats.clone();
        std::thread::Builder::new()
            .name("rapport-writer".into())
            .spawn(move || run(conn, rx, events, &counted, &most, idle))
            .expect("spawning the writer thread");
        Writer { tx, stats, batch }
    }

    /// Commits at most `n` jobs together from now on (1: each on its own).
    pub(super) fn limit_batch(&self, n: usize) {
        self.batch.store(n.clamp(1, MAX_BATCH), Ordering::Relaxed);
    }

    pub(super) fn stats(&self) -> &WriteStats {
        &self.stats
    }

    /// Jobs waiting for the writer.
    pub(super) fn queued(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// Runs `f` in the next transaction; after it commits, `announce` turns the result into
    /// events, published from this thread so that they leave in commit order.
    pub(super) async fn write<T, F, A>(&self, f: F, announce: A) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Tx) -> Result<T> + Send + 'static,
        A: FnOnce(&T) -> Vec<Event> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let (outcome, raised, lost) = match conn {
                Some(conn) => in_savepoint(conn, f),
                None => (Err(StoreError::Internal("could not begin a transaction".into())), Vec::new(), None),
            };
            let done: Done = Box::new(move |committed: Result<(), Failed>, events: &Events| {
                let result = match committed {
                    Ok(()) => outcome,
                    Err(failed) => Err(failed.into()),
                };
                if let Ok(value) = &result {
                    events.publish(announce(value));
                    events.publish(raised);
                }
                let _ = reply.send(result);
            });
            (done, lost)
        });
        self.tx.send(Command::Job(job)).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    #[cfg(test)]
    pub(super) async fn settle(&self) {
        let (reply, answer) = oneshot::channel();
        if self.tx.send(Command::Settle(reply)).await.is_ok() {
            let _ = answer.await;
        }
    }

    pub(super) async fn close(&self) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        if self.tx.send(Command::Close(reply)).await.is_err() {
            return Ok(()); // already closed
        }
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

/// Runs `f` in a savepoint of the open transaction; besides its outcome, what it raised. The
/// third value is set when the transaction cannot go on: SQLite rolled it back by itself (a
/// full disk, an I/O error), or the savepoint could not be closed.
fn in_savepoint<T>(conn: &Connection, f: impl FnOnce(&Tx) -> Result<T>) -> (Result<T>, Vec<Event>, Option<Failed>) {
    let tx = Tx::new(conn);
    let outcome = match conn.prepare_cached("SAVEPOINT job").and_then(|mut s| s.execute([])) {
        Ok(_) => catch_unwind(AssertUnwindSafe(|| f(&tx)))
            .unwrap_or_else(|_| Err(StoreError::Internal("a write job panicked".into()))),
        Err(e) => Err(e.into()),
    };
    let raised = tx.into_raised();
    let ended = if !conn.in_transaction() {
        Err(outcome.err().unwrap_or_else(|| StoreError::Internal("the transaction was rolled back".into())))
    } else {
        let closed = match &outcome {
            Ok(_) => conn.prepare_cached("RELEASE job").and_then(|mut s| s.execute([])).map(drop),
            Err(_) => conn.execute_batch("ROLLBACK TO job; RELEASE job"),
        };
        closed.map(|()| outcome).map_err(StoreError::from)
    };
    match ended {
        Ok(outcome) => (outcome, raised, None),
        Err(e) => {
            let failed = Failed::of(&e);
            (Err(e), raised, Some(failed))
        }
    }
}

/// How long nobody must have asked the writer for anything before it does its idle work:
/// longer than the pause between one sender's acknowledged message and its next, so that a
/// steady stream of writes, however thin, never waits behind idle work (or pays its commits).
const IDLE_AFTER: Duration = Duration::from_millis(25);

fn run(
    conn: Connection,
    mut rx: mpsc::Receiver<Command>,
    events: Events,
    stats: &WriteStats,
    batch: &AtomicUsize,
    idle: IdleStep,
) {
    if let Some(lite) = conn.lite() {
        lite.wal_hook(Some(count_wal_pages));
        // Merging search's segments reads and frees every page of the segments merged; with
        // SQLite's default 2 MB cache each merge of a large level read them all again from the OS.
        if let Err(e) = lite.execute_batch("PRAGMA cache_size = -16384") {
            tracing::warn!(error = %e, "could not size the writer's page cache");
        }
    }
    // Only a clock, for waiting on the queue with a timeout while idle work may be due.
    let timer = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("the writer's timer");
    let mut idle_due = false;
    loop {
        let next = if idle_due {
            match timer.block_on(async { tokio::time::timeout(IDLE_AFTER, rx.recv()).await }) {
                Ok(next) => next,
                Err(_) => {
                    // Step by step while nobody waits and there is work: a write that arrives
                    // meanwhile waits for one short step at most.
                    idle_due = loop {
                        if !rx.is_empty() {
                            break true;
                        }
                        if !idle_step(&conn, idle) {
                            break false;
                        }
                    };
                    checkpoint_if_due(&conn);
                    continue;
                }
            }
        } else {
            rx.blocking_recv()
        };
        let Some(first) = next else { break };
        let mut jobs = Vec::new();
        let mut close = None;
        match first {
            Command::Job(job) => jobs.push(job),
            Command::Close(reply) => close = Some(reply),
            #[cfg(test)]
            Command::Settle(reply) => {
                settle(&conn, idle, reply);
                continue;
            }
        }
        while close.is_none() && jobs.len() < batch.load(Ordering::Relaxed) {
            match rx.try_recv() {
                Ok(Command::Job(job)) => jobs.push(job),
                Ok(Command::Close(reply)) => close = Some(reply),
                #[cfg(test)]
                Ok(Command::Settle(reply)) => settle(&conn, idle, reply),
                Err(_) => break,
            }
        }
        if !jobs.is_empty() {
            let started = Instant::now();
            stats.jobs.fetch_add(jobs.len() as u64, Ordering::Relaxed);
            let committed = commit_batch(&conn, jobs, &events);
            if !committed {
                stats.failed_batches.fetch_add(1, Ordering::Relaxed);
            }
            stats.batch_seconds.observe(started.elapsed());
            idle_due |= committed;
            checkpoint_if_due(&conn);
        }
        if let Some(reply) = close {
            rx.close();
            // Anything that raced in behind the close still gets its answer.
            while let Ok(Command::Job(job)) = rx.try_recv() {
                let _ = commit_batch(&conn, vec![job], &events);
            }
            let _ = reply.send(close_connection(conn));
            return;
        }
    }
}

/// Whether the batch committed.
fn commit_batch(conn: &Connection, jobs: Vec<Job>, events: &Events) -> bool {
    if let Err(e) = conn.begin() {
        tracing::error!(error = %e, "could not begin a write transaction");
        let failed = Failed::of(&e.into());
        for job in jobs {
            job(None).0(Err(failed.clone()), events);
        }
        return false;
    }
    let mut done = Vec::with_capacity(jobs.len());
    let mut lost = None;
    let mut jobs = jobs.into_iter();
    for job in jobs.by_ref() {
        let (d, gone) = job(Some(conn));
        done.push(d);
        if gone.is_some() {
            lost = gone;
            break;
        }
    }
    // The jobs behind one that lost the transaction are not run: they share its answer.
    done.extend(jobs.map(|job| job(None).0));
    let committed = match lost {
        Some(failed) => Err(failed),
        None => super::search::index_pending(conn).and_then(|()| conn.commit()).map_err(|e| Failed::of(&e.into())),
    };
    if let Err(e) = &committed {
        tracing::error!(error = ?e, "the batch did not commit and is rolled back");
        if conn.in_transaction() {
            let _ = conn.rollback();
        }
    }
    let ok = committed.is_ok();
    for d in done {
        d(committed.clone(), events);
    }
    ok
}

/// Ends the writer's connection; on SQLite, after refreshing the planner's statistics and
/// folding the write-ahead log into the database file.
fn close_connection(conn: Connection) -> Result<()> {
    match conn {
        Connection::Lite(conn) => {
            if let Err(e) = conn.execute_batch("PRAGMA optimize;") {
                tracing::warn!(error = %e, "could not refresh the query planner's statistics");
            }
            let checkpoint = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").map_err(StoreError::from);
            let closed = conn.close().map_err(|(_, e)| StoreError::from(e));
            checkpoint.and(closed)
        }
        Connection::Pg(_) => Ok(()),
    }
}
