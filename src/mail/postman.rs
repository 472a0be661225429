//! The two background jobs of outbound email. The scheduler turns notifications whose delay
//! ran out into outbox rows; the sender hands outbox rows to the SMTP server, retrying
//! temporary failures with backoff and jitter. Both wait on the app's clock, so tests move
//! time instead of sleeping, and both keep all their state in the database, so a restart
//! picks up exactly where the last run stopped.

use super::render::Letterhead;
use super::Mailer;
use crate::clock::Clock;
use crate::store::notify::{self, Attempt, Outgoing};
use crate::store::{settings, Millis, Store, StoreError};
use futures_util::stream::{self, StreamExt};
use rand::Rng;
use std::sync::Arc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Notifications turned into emails per transaction: small enough not to hold up chat writes.
const QUEUE_BATCH: usize = 500;
/// Emails read per round of sending, and how many are in flight at once.
const SEND_BATCH: usize = 256;
const IN_FLIGHT: usize = 8;
/// Temporary failures are retried for this long, then recorded as failed.
const GIVE_UP_AFTER_MS: Millis = 2 * 24 * 3600 * 1000;
const FIRST_RETRY_MS: Millis = 60 * 1000;
const MAX_RETRY_MS: Millis = 3600 * 1000;

pub struct Postman {
    pub store: Store,
    pub mailer: Option<Arc<Mailer>>,
    pub clock: Arc<dyn Clock>,
    pub delay_ms: Millis,
    pub support_address: String,
    pub base_url: String,
}

/// Wakes the email jobs early: the sender when an outbox row was queued or released, the
/// scheduler when a rule left a notice to send at once.
#[derive(Clone, Default)]
pub struct Doorbell {
    send: Arc<Notify>,
    queue: Arc<Notify>,
}

impl Doorbell {
    pub fn ring(&self) {
        self.send.notify_one();
    }

    pub fn ring_scheduler(&self) {
        self.queue.notify_one();
    }
}

impl Postman {
    /// Starts the scheduler and the sender; both stop when `stop` is cancelled.
    pub fn start(self, stop: CancellationToken) -> Doorbell {
        let bell = Doorbell::default();
        let postman = Arc::new(self);
        tokio::spawn(postman.clone().schedule(bell.clone(), stop.clone()));
        if postman.mailer.is_some() {
            tokio::spawn(postman.send(bell.clone(), stop));
        }
        bell
    }

    async fn schedule(self: Arc<Self>, bell: Doorbell, stop: CancellationToken) {
        loop {
            let now = self.clock.now_ms();
            let wake_at = match self.queue_due(now).await {
                Ok((looked, queued)) => {
                    if queued > 0 {
                        bell.ring();
                    }
                    if looked == QUEUE_BATCH {
                        continue;
                    }
                    // Anything posted from now on falls due `delay` from now at the earliest.
                    match self.store.read(notify::earliest_pending).await {
                        Ok(Some(since)) => (since + self.delay_ms).min(now + self.delay_ms),
                        Ok(None) => now + self.delay_ms,
                        Err(e) => self.failed(e, now),
                    }
                }
                Err(StoreError::Closed) => return,
                Err(e) => self.failed(e, now),
            };
            tokio::select! {
                () = self.clock.sleep_until(wake_at) => {}
                () = bell.queue.notified() => {}
                () = stop.cancelled() => return,
            }
        }
    }

    fn failed(&self, e: StoreError, now: Millis) -> Millis {
        tracing::error!(error = %e, "email scheduler");
        now + 5_000
    }

    async fn queue_due(&self, now: Millis) -> Result<(usize, usize), StoreError> {
        let cutoff = now - self.delay_ms;
        if self.mailer.is_none() {
            // No SMTP server: nothing can be sent, and mail queued now would go out stale once
            // one is configured.
            return self.store.write(move |c| Ok((notify::drop_due(c, cutoff)?, 0))).await;
        }
        let (support, base) = (self.support_address.clone(), self.base_url.clone());
        self.store
            .write(move |c| {
                let team = settings::widget(c)?.team_name;
                let head = Letterhead::new(settings::reply_secret(c)?, &support, &base, team);
                notify::queue_due(c, cutoff, QUEUE_BATCH, &head, now)
            })
            .await
    }

    async fn send(self: Arc<Self>, bell: Doorbell, stop: CancellationToken) {
        let Some(mailer) = self.mailer.clone() else { return };
        loop {
            let now = self.clock.now_ms();
            let due = match self.store.read(move |c| notify::due_emails(c, now, SEND_BATCH)).await {
                Ok(due) => due,
                Err(StoreError::Closed) => return,
                Err(e) => {
                    tracing::error!(error = %e, "email sender");
                    Vec::new()
                }
            };
            if due.is_empty() {
                let next = self.store.read(notify::next_attempt).await.ok().flatten();
                // Nothing due: wait for the next retry, a new email, or a minute.
                let at = next.unwrap_or(now + 60_000).min(now + 60_000);
                tokio::select! {
                    () = self.clock.sleep_until(at) => {}
                    () = bell.send.notified() => {}
                    () = stop.cancelled() => return,
                }
                continue;
            }
            let results: Vec<(i64, Attempt)> = stream::iter(due)
                .map(|email| {
                    let (mailer, postman) = (mailer.clone(), self.clone());
                    async move {
                        let result = mailer.send(&email.email).await;
                        (email.id, postman.outcome(&email, result))
                    }
                })
                .buffer_unordered(IN_FLIGHT)
                .collect()
                .await;
            let now = self.clock.now_ms();
            let recorded = self
                .store
                .write(move |c| {
                    for (id, attempt) in &results {
                        notify::record(c, *id, attempt, now)?;
                    }
                    Ok(())
                })
                .await;
            if let Err(e) = recorded {
                // Sent mail not marked as sent would go out again: say so loudly.
                tracing::error!(error = %e, "recording sent email failed");
                if matches!(e, StoreError::Closed) {
                    return;
                }
            }
        }
    }

    fn outcome(&self, email: &Outgoing, result: Result<(), super::SendError>) -> Attempt {
        let now = self.clock.now_ms();
        match result {
            Ok(()) => Attempt::Sent,
            Err(e) if e.permanent => {
                tracing::warn!(to = %email.email.to, error = %e, "email refused");
                Attempt::Failed { error: e.message }
            }
            Err(e) if now - email.created_at > GIVE_UP_AFTER_MS => {
                tracing::warn!(to = %email.email.to, error = %e, "email given up");
                Attempt::Failed { error: format!("gave up after {} attempts: {}", email.attempts + 1, e.message) }
            }
            Err(e) => {
                tracing::info!(to = %email.email.to, error = %e, "email will be retried");
                Attempt::Retry { at: now + backoff(email.attempts), error: e.message }
            }
        }
    }
}

/// One minute, doubling per attempt up to an hour, with ±20% jitter so that a server coming
/// back is not hit by every queued email in the same second.
fn backoff(attempts: i64) -> Millis {
    let base = FIRST_RETRY_MS.saturating_mul(1 << attempts.clamp(0, 20)).min(MAX_RETRY_MS);
    let jitter = rand::thread_rng().gen_range(0.8..1.2);
    (base as f64 * jitter) as Millis
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_grows_to_an_hour_with_jitter() {
        for (attempts, base) in [(0, 60_000), (1, 120_000), (3, 480_000), (10, 3_600_000), (60, 3_600_000)] {
            let got = super::backoff(attempts);
            assert!((base * 8 / 10..=base * 12 / 10).contains(&got), "{attempts}: {got}");
        }
    }
}
