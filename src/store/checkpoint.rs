//! Folds the write-ahead log back into the database file on a thread of its own, so that no
//! commit pays for it. With SQLite's automatic checkpoint, the commit that takes the log past a
//! thousand pages copies it into the file and syncs it (tens of milliseconds on a large
//! database), a stall that lands on whoever posted at that moment; here a passive checkpoint
//! runs beside the writer, which goes on appending meanwhile. The writer's clean stop still
//! checkpoints and truncates the log last (`writer::close`).

use super::{configure, Result};
use rusqlite::Connection;
use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the log is folded in; a checkpoint with nothing to do costs next to nothing.
const EVERY: Duration = Duration::from_millis(500);

pub(super) struct Checkpointer(Mutex<Option<(mpsc::Sender<()>, JoinHandle<()>)>>);

impl Checkpointer {
    pub fn start(path: &Path) -> Result<Checkpointer> {
        let conn = Connection::open(path)?;
        configure(&conn)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("rapport-checkpoint".into())
            .spawn(move || {
                // Until told to stop, or until every handle of the store is gone.
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(EVERY) {
                    if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE);") {
                        tracing::warn!(error = %e, "could not fold the write-ahead log into the database");
                    }
                }
            })
            .map_err(|e| super::StoreError::Internal(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Checkpointer(Mutex::new(Some((stop, thread)))))
    }

    /// Stops the thread and waits for a checkpoint under way to end.
    pub fn stop(&self) {
        let running = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some((stop, thread)) = running {
            let _ = stop.send(());
            let _ = thread.join();
        }
    }
}
