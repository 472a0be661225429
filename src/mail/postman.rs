//! The two background jobs of outbound email, run by `jobs`. The scheduler turns notifications
//! whose delay ran out into outbox rows: it reads what fell due, has `notify` decide and
//! `render` write each email, and settles the lot in one write. The sender hands outbox rows to
//! the SMTP server, retrying each temporary failure with backoff and jitter. Both wait on the
//! app's clock, so tests move time instead of sleeping, and both keep all their state in the
//! database, so a restart picks up exactly where the last run stopped.

use super::render::Letterhead;
use super::Mailer;
use crate::clock::Clock;
use crate::jobs::{self, Failure, Job, Jobs, Next, Wake};
use crate::notify;
use crate::store::outbox::{Attempt, Outgoing};
use crate::store::{Millis, Store, StoreError};
use futures_util::stream::{self, StreamExt};
use std::sync::Arc;
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
    send: Wake,
    queue: Wake,
}

impl Doorbell {
    pub fn ring(&self) {
        self.send.wake();
    }

    pub fn ring_scheduler(&self) {
        self.queue.wake();
    }
}

impl Postman {
    /// Starts the scheduler and (with an SMTP server) the sender as jobs of `jobs`; `bell`
    /// wakes them early.
    pub fn start(self, bell: Doorbell, jobs: &Jobs, stop: CancellationToken) {
        let (clock, postman) = (self.clock.clone(), Arc::new(self));
        jobs.spawn(Scheduler(postman.clone(), bell.clone()), clock.clone(), bell.queue.clone(), stop.clone());
        if postman.mailer.is_some() {
            jobs.spawn(Sender(postman), clock, bell.send.clone(), stop);
        }
    }

    async fn queue_due(&self, now: Millis) -> Result<(usize, usize), StoreError> {
        let cutoff = now - self.delay_ms;
        if self.mailer.is_none() {
            // No SMTP server: nothing can be sent, and mail queued now would go out stale once
            // one is configured.
            return Ok((self.store.mail().drop_due(cutoff).await?, 0));
        }
        // One read of what fell due, the decisions and the rendering outside any transaction,
        // then one write that settles each row still as it was read (see `store::notify`).
        let due = self.store.mail().due(cutoff, QUEUE_BATCH, notify::MESSAGES_PER_EMAIL, now).await?;
        let looked = due.owed.len();
        if due.notices.is_empty() && due.owed.is_empty() {
            return Ok((0, 0));
        }
        let signing = match due.signing {
            Some(signing) => signing,
            // The reply key is made on first use, which takes a write: once in a database's life.
            None => self.store.mail().signing().await?,
        };
        let head = Letterhead::signed(signing, &self.support_address, &self.base_url);
        let decided = notify::decide(due.notices, due.owed, &head, now);
        Ok((looked, self.store.mail().settle(decided, now).await?))
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

/// Turns notifications whose delay ran out into outbox rows.
struct Scheduler(Arc<Postman>, Doorbell);

impl Job for Scheduler {
    const NAME: &'static str = "email_scheduler";

    async fn round(&mut self, now: Millis) -> Result<Next, Failure> {
        let (looked, queued) = self.0.queue_due(now).await?;
        if queued > 0 {
            self.1.ring();
        }
        if looked == QUEUE_BATCH {
            return Ok(Next::Now);
        }
        // Anything posted from now on falls due `delay` from now at the earliest.
        let delay = self.0.delay_ms;
        let earliest = self.0.store.mail().earliest_pending().await?;
        Ok(Next::At(earliest.map_or(now + delay, |since| (since + delay).min(now + delay))))
    }
}

/// Hands due outbox rows to the SMTP server, a few at a time, and records what it said.
struct Sender(Arc<Postman>);

impl Job for Sender {
    const NAME: &'static str = "email_sender";

    async fn round(&mut self, now: Millis) -> Result<Next, Failure> {
        let postman = &self.0;
        let Some(mailer) = postman.mailer.clone() else { return Ok(Next::Woken) };
        let due = postman.store.mail().due_emails(now, SEND_BATCH).await?;
        if due.is_empty() {
            // Nothing due: wait for the next retry, a new email, or a minute.
            let next = postman.store.mail().next_attempt().await?;
            return Ok(Next::At(next.unwrap_or(now + 60_000).min(now + 60_000)));
        }
        let results: Vec<(i64, Attempt)> = stream::iter(due)
            .map(|email| {
                let mailer = mailer.clone();
                async move {
                    let result = mailer.send(&email.email).await;
                    (email.id, postman.outcome(&email, result))
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        let now = postman.clock.now_ms();
        if let Err(e) = postman.store.mail().record_attempts(results, now).await {
            // Sent mail not marked as sent would go out again: say so loudly.
            tracing::error!(error = %e, "recording sent email failed");
            return Err(e.into());
        }
        Ok(Next::Now)
    }
}

/// One minute, doubling per attempt up to an hour, with jitter so that a server coming back is
/// not hit by every queued email in the same second.
fn backoff(attempts: i64) -> Millis {
    jobs::backoff(FIRST_RETRY_MS, MAX_RETRY_MS, attempts.clamp(0, 32) as u32)
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
