//! Counts for the health page and `/metrics`: what is waiting and what became of email.

use super::db::Connection;
use super::Result;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Queues {
    /// Recipients owed an email for messages they have not seen (each waits out the delay).
    pub pending_notifications: i64,
    /// Rule notifications about to be written as email.
    pub notices: i64,
    /// Emails by outbox status: `pending` (waiting or retrying), `sent`, `failed`.
    pub outbox: Vec<(String, i64)>,
    /// Emails received, by outcome: `posted`, `ticket`, `held`, `dropped`.
    pub inbound: Vec<(String, i64)>,
}

impl Queues {
    pub fn outbox(&self, status: &str) -> i64 {
        self.outbox.iter().find(|(s, _)| s == status).map_or(0, |(_, n)| *n)
    }
}

pub fn queues(conn: &Connection) -> Result<Queues> {
    let count = |sql: &str| -> Result<i64> { Ok(conn.query_row(sql, [], |r| r.get(0))?) };
    let grouped = |known: &[&str], sql: &str| -> Result<Vec<(String, i64)>> {
        let found: Vec<(String, i64)> =
            conn.prepare(sql)?.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
        Ok(known.iter().map(|k| ((*k).to_owned(), found.iter().find(|(s, _)| s == k).map_or(0, |(_, n)| *n))).collect())
    };
    Ok(Queues {
        pending_notifications: count("SELECT count(*) FROM pending_notifications")?,
        notices: count("SELECT count(*) FROM notices")?,
        outbox: grouped(&["pending", "sent", "failed"], "SELECT status, count(*) FROM outbox GROUP BY status")?,
        inbound: grouped(
            &["posted", "ticket", "held", "dropped"],
            "SELECT outcome, count(*) FROM inbound_mail GROUP BY outcome",
        )?,
    })
}

/// The facts behind the first-run checklist, each one read from what has happened.
#[derive(Debug)]
pub struct FirstRun {
    pub has_project: bool,
    pub active_users: i64,
    /// A visitor started a chat through the widget: proof it is installed on a page.
    pub widget_chat: bool,
    /// Some customer has written, through any channel.
    pub customer_message: bool,
}

pub fn first_run(conn: &Connection) -> Result<FirstRun> {
    let yes = |sql: &str| -> Result<bool> { Ok(conn.query_row(sql, [], |r| r.get(0))?) };
    Ok(FirstRun {
        has_project: yes("SELECT EXISTS (SELECT 1 FROM projects)")?,
        active_users: conn.query_row("SELECT count(*) FROM users WHERE active = 1", [], |r| r.get(0))?,
        widget_chat: yes("SELECT EXISTS (SELECT 1 FROM conversations WHERE channel = 'chat')")?,
        customer_message: yes("SELECT EXISTS (SELECT 1 FROM messages WHERE author_kind = 'customer')")?,
    })
}
