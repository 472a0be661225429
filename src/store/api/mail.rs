//! Email: who is owed what and when, the outbox, and the mail that came in.

use crate::domain::Party;
use crate::store::inbound::{self, InboundEntry, Record};
use crate::store::notify::{self, DueNotice, Owed, Recipient, Settle};
use crate::store::outbox::{self, Attempt, NewEmail, OutboxCounts, OutboxEntry, Outgoing};
use crate::store::settings::{self, EmailFlow};
use crate::store::{Event, Millis, Result, Store};

#[derive(Clone, Copy)]
pub struct Mail<'s>(pub(super) &'s Store);

/// What every email the team sends is signed and named with: the key of its reply addresses and
/// the team's name.
pub struct Signing {
    pub reply_secret: String,
    pub team_name: String,
}

/// What fell due for the scheduler, read at one moment.
pub struct Due {
    /// How the emails are signed; `None` until the reply key is made (`signing` makes it).
    pub signing: Option<Signing>,
    pub notices: Vec<DueNotice>,
    pub owed: Vec<Owed>,
}

impl Mail<'_> {
    /// The reply key (made on first use) and the team's name.
    pub async fn signing(self) -> Result<Signing> {
        self.0
            .write(|c| {
                Ok(Signing { reply_secret: settings::reply_secret(c)?, team_name: settings::widget(c)?.team_name })
            })
            .await
    }

    /// When the earliest waiting notification was first owed, if any waits.
    pub async fn earliest_pending(self) -> Result<Option<Millis>> {
        self.0.read(notify::earliest_pending).await
    }

    /// What fell due by `cutoff` (up to `limit` notices and as many notifications, each with at
    /// most `quote` messages), read in one snapshot with how emails are signed. Nothing is
    /// written: the caller decides, renders, and hands the outcome to `settle`.
    pub async fn due(self, cutoff: Millis, limit: usize, quote: usize, now: Millis) -> Result<Due> {
        self.0
            .read(move |c| {
                let (notices, owed) = notify::due(c, cutoff, limit, quote, now)?;
                let signing = match settings::made_reply_secret(c)? {
                    Some(reply_secret) => Some(Signing { reply_secret, team_name: settings::widget(c)?.team_name }),
                    None => None,
                };
                Ok(Due { signing, notices, owed })
            })
            .await
    }

    /// Removes each row `due` read that is unchanged since, queueing its email if it has one, all
    /// in one transaction; says how many emails were queued.
    pub async fn settle(self, decided: Vec<Settle>, now: Millis) -> Result<usize> {
        self.0.write(move |c| notify::settle(c, &decided, now)).await
    }

    /// Drops what fell due by `cutoff` unsent (there is no SMTP server); says how many.
    pub async fn drop_due(self, cutoff: Millis) -> Result<usize> {
        self.0.write(move |c| notify::drop_due(c, cutoff)).await
    }

    /// Puts an email in the outbox and wakes the sender.
    pub async fn enqueue(self, email: NewEmail, now: Millis) -> Result<i64> {
        self.0
            .write(move |c| {
                let id = outbox::enqueue(c, &email, now)?;
                c.raise(Event::Mail);
                Ok(id)
            })
            .await
    }

    /// Outbox rows due for a first or another attempt.
    pub async fn due_emails(self, now: Millis, limit: usize) -> Result<Vec<Outgoing>> {
        self.0.read(move |c| outbox::due_emails(c, now, limit)).await
    }

    /// When the next retry falls due, if one waits.
    pub async fn next_attempt(self) -> Result<Option<Millis>> {
        self.0.read(outbox::next_attempt).await
    }

    /// Records what the SMTP server said to each email, all in one transaction.
    pub async fn record_attempts(self, attempts: Vec<(i64, Attempt)>, now: Millis) -> Result<()> {
        self.0
            .write(move |c| {
                for (id, attempt) in &attempts {
                    outbox::record(c, *id, attempt, now)?;
                }
                Ok(())
            })
            .await
    }

    pub async fn outbox(self, status: Option<String>, limit: usize) -> Result<Vec<OutboxEntry>> {
        self.0.read(move |c| outbox::list(c, status.as_deref(), limit)).await
    }

    /// How email flows, with how many emails wait, were sent or failed.
    pub async fn flow_and_counts(self) -> Result<(EmailFlow, OutboxCounts)> {
        self.0.read(|c| Ok((settings::email_flow(c)?, outbox::outbox_counts(c)?))).await
    }

    /// Sends a failed email again.
    pub async fn retry(self, id: i64, now: Millis) -> Result<()> {
        self.0.write(move |c| outbox::retry(c, id, now)).await
    }

    /// Where a notification to `party` would go, if they can be emailed.
    pub async fn recipient(self, party: Party) -> Result<Option<Recipient>> {
        self.0.read(move |c| notify::recipient(c, party)).await
    }

    /// Whether mail with this Message-ID came in before.
    pub async fn seen_before(self, message_id: String) -> Result<bool> {
        self.0.read(move |c| inbound::seen_before(c, &message_id)).await
    }

    /// Records what became of a mail that came in.
    pub async fn record_inbound(self, record: Record, now: Millis) -> Result<i64> {
        self.0.write(move |c| inbound::record(c, &record, now)).await
    }

    /// The conversation and customer of an earlier email from `from` that one of `message_ids`
    /// names, if any.
    pub async fn thread_of(self, message_ids: Vec<String>, from: String) -> Result<Option<(i64, i64)>> {
        self.0.read(move |c| inbound::thread_of(c, &message_ids, &from)).await
    }

    pub async fn inbound(self, outcome: Option<String>, limit: usize) -> Result<Vec<InboundEntry>> {
        self.0.read(move |c| inbound::list(c, outcome.as_deref(), limit)).await
    }

    /// The raw mail held for an admin to look at.
    pub async fn held(self, id: i64) -> Result<Vec<u8>> {
        self.0.read(move |c| inbound::held(c, id)).await
    }

    pub async fn discard(self, id: i64) -> Result<()> {
        self.0.write(move |c| inbound::discard(c, id)).await
    }
}
