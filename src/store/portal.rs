//! The customer portal: signing in (a password, or a one-time link sent to an address) and the
//! customer's own tickets. A portal session is a visitor token of a customer with a verified
//! email, so the widget's endpoints serve the portal too and a known customer is one identity
//! across the widget, the portal and email.

use super::customers::{self, Customer};
use super::db::Connection;
use super::items::{self, NewItem};
use super::{customer_view, Millis, Result, StoreError, Viewer};
use crate::domain::{Channel, ItemKind, Priority};
use crate::store::Tx;
use rusqlite::{params, OptionalExtension};

/// How long a sign-in link works.
pub const LINK_MS: Millis = 30 * 60 * 1000;

pub use super::customer_view::Ticket;

/// The customer's tickets, most recently active first.
pub fn tickets(conn: &Connection, customer_id: i64) -> Result<Vec<Ticket>> {
    customer_view::tickets(conn, customer_id, Some(200))
}

/// One of the customer's tickets; anybody else's is not found.
pub fn ticket(conn: &Connection, customer_id: i64, id: i64) -> Result<Ticket> {
    customer_view::ticket(conn, customer_id, id)
}

/// The project new portal (and other customer-made) tickets go to: the configured one, else
/// the oldest, else a new "Support" project.
pub fn intake_project(conn: &Connection, configured: Option<i64>, now: Millis) -> Result<i64> {
    let found: Option<i64> = conn.query_row(
        "SELECT COALESCE((SELECT id FROM projects WHERE id = ?1), (SELECT min(id) FROM projects))",
        [configured],
        |r| r.get(0),
    )?;
    match found {
        Some(id) => Ok(id),
        None => Ok(super::projects::insert(conn, "Support", now)?.id),
    }
}

/// A ticket the customer opens in the portal; it runs the rules of a new item.
pub fn open_ticket(conn: &Tx, customer_id: i64, title: String, description: String, now: Millis) -> Result<Ticket> {
    let project_id = intake_project(conn, super::settings::portal(conn)?.project_id, now)?;
    let item = items::insert(
        conn,
        Viewer::SYSTEM,
        NewItem {
            project_id,
            kind: ItemKind::Ticket,
            title,
            description,
            priority: Priority::Normal,
            requester_id: Some(customer_id),
            assignee_id: None,
            channel: Channel::Portal,
            created_by: None,
        },
        now,
    )?;
    ticket(conn, customer_id, item.id)
}

/// The ticket's conversation with the customer, started by them when there is none yet.
pub fn thread(conn: &Tx, customer_id: i64, id: i64, now: Millis) -> Result<i64> {
    ticket(conn, customer_id, id)?;
    let c = items::customer_thread(conn, id, crate::domain::Party::Customer(customer_id), now)?;
    c.map(|c| c.id).ok_or(StoreError::NotFound("ticket_not_found"))
}

/// Forgets the sign-in links sent to these addresses (lowercase).
pub(super) fn forget_links(conn: &Connection, addresses: &[String]) -> Result<()> {
    conn.prepare_cached("DELETE FROM portal_links WHERE lower(email) IN (SELECT value FROM json_each(?1))")?
        .execute([super::json_list(addresses)])?;
    Ok(())
}

/// Remembers a sign-in link (by the hash of its token) for an address; forgets expired ones.
pub fn insert_link(conn: &Connection, token_hash: &[u8], email: &str, now: Millis) -> Result<()> {
    conn.execute("DELETE FROM portal_links WHERE expires_at <= ?1", [now])?;
    conn.execute(
        "INSERT INTO portal_links (token_hash, email, expires_at) VALUES (?1, ?2, ?3)",
        params![token_hash, email, now + LINK_MS],
    )?;
    Ok(())
}

/// Uses up a sign-in link: the customer with its address (created if new) gets a session
/// token (`session_hash`). The link works once; `None` for a link that does not (any more).
pub fn redeem_link(conn: &Tx, token_hash: &[u8], session_hash: &[u8], now: Millis) -> Result<Option<Customer>> {
    let email: Option<String> = conn
        .query_row(
            "DELETE FROM portal_links WHERE token_hash = ?1 AND expires_at > ?2 RETURNING email",
            params![token_hash, now],
            |r| r.get(0),
        )
        .optional()?;
    let Some(email) = email else { return Ok(None) };
    // The link proves the address: the first time, whoever typed it joins its customer.
    let customer = super::contacts::proven(conn, &email, now)?;
    start_session(conn, customer.id, session_hash, now)?;
    Ok(Some(customer))
}

/// A new portal session for a customer: a visitor token of theirs.
pub fn start_session(conn: &Connection, customer_id: i64, session_hash: &[u8], now: Millis) -> Result<()> {
    customers::add_token(conn, customer_id, session_hash, now)
}

/// Signs a portal session out; a socket opened with it closes.
pub fn end_session(conn: &Tx, session_hash: &[u8]) -> Result<()> {
    if let Some(customer) = customers::drop_token(conn, session_hash)? {
        conn.raise(super::Event::Rights(super::RightsChange::Customer(customer)));
    }
    Ok(())
}

/// The customer with this verified address and their password hash, for signing in.
pub fn for_login(conn: &Connection, email: &str) -> Result<Option<(Customer, Option<String>)>> {
    let Some(customer) = customers::by_email(conn, email)? else { return Ok(None) };
    let hash = conn.query_row("SELECT password_hash FROM customers WHERE id = ?1", [customer.id], |r| r.get(0))?;
    Ok(Some((customer, hash)))
}

pub fn has_password(conn: &Connection, customer_id: i64) -> Result<bool> {
    Ok(conn.query_row("SELECT password_hash IS NOT NULL FROM customers WHERE id = ?1", [customer_id], |r| r.get(0))?)
}

/// Sets the password of a customer with a verified email (nobody else can sign in with one).
pub fn set_password(conn: &Connection, customer_id: i64, hash: &str) -> Result<()> {
    if !customers::set_password_hash(conn, customer_id, hash)? {
        return Err(StoreError::Conflict("email_not_verified"));
    }
    Ok(())
}
