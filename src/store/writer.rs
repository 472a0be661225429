//! The one thread that owns the write connection. It takes every job that is waiting, runs
//! them in one transaction (each inside its own savepoint, so one failure spoils only itself),
//! commits once, and only then answers each caller: group commit, durable and fast at once.

use super::{Event, Result, StoreError};
use rusqlite::Connection;
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use tokio::sync::{mpsc, oneshot};

/// Bounds both the queue and one transaction: enough to amortise an fsync over many writes,
/// small enough that one batch never holds the lock for long.
const MAX_BATCH: usize = 512;

/// Runs after the commit (or its failure): answers the caller and publishes what happened.
type Done = Box<dyn FnOnce(Result<(), String>, &Events) + Send>;
/// A job gets no connection when its transaction could not even begin.
type Job = Box<dyn FnOnce(Option<&Connection>) -> Done + Send>;

enum Command {
    Job(Job),
    Close(oneshot::Sender<Result<()>>),
}

thread_local! {
    /// What the running job raised, while a job runs on this (the writer's) thread.
    static RAISED: RefCell<Option<Vec<Event>>> = const { RefCell::new(None) };
}

/// Announces `event` once the running write job commits, after the events its result
/// announces; dropped with the job's changes if it fails. Deep inside a write (an automation
/// that posts a bot reply), this saves threading the events back through every return value.
/// Outside a writer job (a plain connection in a test or the CLI) it does nothing.
pub(crate) fn raise(event: Event) {
    RAISED.with(|r| {
        if let Some(raised) = r.borrow_mut().as_mut() {
            raised.push(event);
        }
    });
}

#[derive(Clone)]
pub(super) struct Writer {
    tx: mpsc::Sender<Command>,
}

/// Where committed changes are announced, in commit order (the realtime hub listens).
pub(super) struct Events(Option<mpsc::Sender<Event>>);

impl Events {
    fn publish(&self, events: Vec<Event>) {
        if let Some(tx) = &self.0 {
            for event in events {
                // Blocking here pushes back on writers when the listener falls behind; a
                // listener that is gone (CLI use, shutdown) just drops them.
                if tx.blocking_send(event).is_err() {
                    return;
                }
            }
        }
    }
}

impl Writer {
    pub(super) fn start(conn: Connection, events: Option<mpsc::Sender<Event>>) -> Writer {
        let (tx, rx) = mpsc::channel(MAX_BATCH);
        let events = Events(events);
        std::thread::Builder::new()
            .name("rapport-writer".into())
            .spawn(move || run(conn, rx, events))
            .expect("spawning the writer thread");
        Writer { tx }
    }

    /// Runs `f` in the next transaction; after it commits, `announce` turns the result into
    /// events, published from this thread so that they leave in commit order.
    pub(super) async fn write<T, F, A>(&self, f: F, announce: A) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
        A: FnOnce(&T) -> Vec<Event> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            RAISED.with(|r| *r.borrow_mut() = Some(Vec::new()));
            let outcome = match conn {
                Some(conn) => in_savepoint(conn, f),
                None => Err(StoreError::Internal("could not begin a transaction".into())),
            };
            let raised = RAISED.with(|r| r.borrow_mut().take()).unwrap_or_default();
            Box::new(move |committed: Result<(), String>, events: &Events| {
                let result = match committed {
                    Ok(()) => outcome,
                    Err(e) => Err(StoreError::Internal(format!("commit failed: {e}"))),
                };
                if let Ok(value) = &result {
                    events.publish(announce(value));
                    events.publish(raised);
                }
                let _ = reply.send(result);
            })
        });
        self.tx.send(Command::Job(job)).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    pub(super) async fn close(&self) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        if self.tx.send(Command::Close(reply)).await.is_err() {
            return Ok(()); // already closed
        }
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

fn in_savepoint<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    conn.prepare_cached("SAVEPOINT job")?.execute([])?;
    let outcome = catch_unwind(AssertUnwindSafe(|| f(conn)))
        .unwrap_or_else(|_| Err(StoreError::Internal("a write job panicked".into())));
    match &outcome {
        Ok(_) => conn.prepare_cached("RELEASE job")?.execute([]).map(drop)?,
        Err(_) => conn.execute_batch("ROLLBACK TO job; RELEASE job")?,
    }
    outcome
}

fn run(conn: Connection, mut rx: mpsc::Receiver<Command>, events: Events) {
    while let Some(first) = rx.blocking_recv() {
        let mut jobs = Vec::new();
        let mut close = None;
        match first {
            Command::Job(job) => jobs.push(job),
            Command::Close(reply) => close = Some(reply),
        }
        while close.is_none() && jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(Command::Job(job)) => jobs.push(job),
                Ok(Command::Close(reply)) => close = Some(reply),
                Err(_) => break,
            }
        }
        if !jobs.is_empty() {
            commit_batch(&conn, jobs, &events);
        }
        if let Some(reply) = close {
            rx.close();
            // Anything that raced in behind the close still gets its answer.
            while let Ok(Command::Job(job)) = rx.try_recv() {
                commit_batch(&conn, vec![job], &events);
            }
            let checkpoint = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").map_err(StoreError::from);
            let closed = conn.close().map_err(|(_, e)| StoreError::from(e));
            let _ = reply.send(checkpoint.and(closed));
            return;
        }
    }
}

fn commit_batch(conn: &Connection, jobs: Vec<Job>, events: &Events) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        tracing::error!(error = %e, "could not begin a write transaction");
        for job in jobs {
            job(None)(Err(e.to_string()), events);
        }
        return;
    }
    let done: Vec<Done> = jobs.into_iter().map(|job| job(Some(conn))).collect();
    let committed = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
    if let Err(e) = &committed {
        tracing::error!(error = %e, "commit failed; the batch is rolled back");
        let _ = conn.execute_batch("ROLLBACK");
    }
    for d in done {
        d(committed.clone(), events);
    }
}
