//! Addresses nobody verified: what a visitor typed into the widget and what a stranger typed
//! into a web form. Such an address may belong to someone else (an agent, another customer), so
//! it never grants anything: a form's ticket goes to an unverified contact of its own, never to
//! the customer who owns the address; the team sees that the address is unverified; and what is
//! emailed to it is neutral and limited (see `notify`). The first person to prove a fresh
//! address (a portal sign-in link, or the team's site vouching for it) becomes the customer of
//! everyone who typed it, with what they wrote (`join`); an address that already has its
//! customer never takes a contact in.

use super::customers::{self, Customer};
use super::db::Connection;
use super::{Millis, Result, Viewer};
use crate::store::Tx;
use rusqlite::{params, OptionalExtension};

/// The neutral notices to an unverified address are counted over this window (how many it may
/// get is the notification policy's to decide).
pub const NOTICE_WINDOW_MS: Millis = 3_600_000;

/// The Message-ID prefix of a neutral notice, by which the outbox counts them.
pub const NOTICE_ID_PREFIX: &str = "<unverified.";

/// SQL: whether the customer in column `customer` has only an address someone typed (a
/// contact email and no verified one).
pub(super) fn unverified_email(customer: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM customers cu WHERE cu.id = {customer}
                 AND cu.email IS NULL AND cu.contact_email IS NOT NULL)"
    )
}

/// The requester of a web form's ticket: the unverified contact with that address, made if
/// there is none. A contact is a customer with only a contact email and no session (no widget
/// visitor who typed the address, no portal account): whoever owns the address sees none of
/// its tickets, and what the form says never renames anyone who has a name.
pub fn form_contact(conn: &Tx, name: Option<&str>, email: &str, now: Millis) -> Result<i64> {
    match contact_of(conn, email)? {
        Some(id) => {
            customers::name_if_missing(conn, id, name)?;
            Ok(id)
        }
        None => {
            let contact = customers::insert(conn, name, None, now)?;
            Ok(customers::set_contact(conn, contact.id, None, Some(email))?.id)
        }
    }
}

/// The form contact of `email` (see `form_contact`), if there is one.
fn contact_of(conn: &Connection, email: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT cu.id FROM customers cu
             WHERE cu.contact_email = ?1 COLLATE NOCASE AND cu.email IS NULL AND cu.external_id IS NULL
               AND NOT EXISTS (SELECT 1 FROM visitor_tokens t WHERE t.customer_id = cu.id)
             ORDER BY cu.id LIMIT 1",
        )?
        .query_row([email], |r| r.get(0))
        .optional()?)
}

/// `email` was just proven and belongs to no customer yet (nor does the site's `external_id`,
/// when the team's site vouches): its oldest form contact, if any, becomes the verified customer
/// of that address — the same customer, with its tickets, now in their portal and widget — and
/// the other holders of the address join it (`join`).
pub fn promote(conn: &Tx, email: &str, external_id: Option<&str>) -> Result<Option<Customer>> {
    let taken: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM customers WHERE email = ?1 OR (CAST(?2 AS TEXT) IS NOT NULL AND external_id = ?2))",
        params![email, external_id],
        |r| r.get(0),
    )?;
    let Some(id) = (if taken { None } else { contact_of(conn, email)? }) else { return Ok(None) };
    customers::verify_email(conn, id, email)?;
    // Their items are no longer marked unverified: the agents' lists hear it.
    let items: Vec<i64> = conn
        .prepare_cached("SELECT id FROM items WHERE requester_id = ?1")?
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for item in items {
        super::items::announce(conn, item)?;
    }
    join(conn, email, id)?;
    Ok(Some(customers::get(conn, id)?))
}

/// The customer a proven address signs in as (a portal sign-in link was used): the one who
/// has it verified, else (the address is proven for the first time) its form contact or a new
/// customer, joined by everyone who typed it.
pub fn proven(conn: &Tx, email: &str, now: Millis) -> Result<Customer> {
    if let Some(customer) = customers::by_email(conn, email)? {
        return Ok(customer);
    }
    if let Some(customer) = promote(conn, email, None)? {
        return Ok(customer);
    }
    let customer = customers::insert(conn, None, Some(email), now)?;
    join(conn, email, customer.id)?;
    customers::get(conn, customer.id)
}

/// `email` has just been proven for the first time and is now `target`'s: every other customer
/// who holds it only as a contact email (widget visitors who typed it, form contacts) joins
/// `target` with their conversations and tickets, so the portal shows what the emails about
/// them pointed to.
///
/// What stays private: only proof of the address (a sign-in link used, the team's site
/// vouching) calls this, never typing it. The holders' visitor tokens stay with their old,
/// emptied customer: a browser that merely typed the address never sees the verified customer,
/// and its open sockets re-check and lose the moved conversations. All holders join, not only
/// the newest, because each of them asked to be answered at this address and its owner has
/// now shown it is theirs. Only a first proof joins: an address that already has its customer
/// never takes in what strangers typed later (see the module comment).
pub(super) fn join(conn: &Tx, email: &str, target: i64) -> Result<()> {
    let holders: Vec<(i64, Option<String>)> = conn
        .prepare_cached(
            "SELECT id, name FROM customers
             WHERE contact_email = ?1 COLLATE NOCASE AND email IS NULL AND external_id IS NULL AND id != ?2
             ORDER BY id",
        )?
        .query_map(params![email, target], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (holder, name) in holders {
        let conversations: Vec<i64> = conn
            .prepare_cached("SELECT id FROM conversations WHERE customer_id = ?1")?
            .query_map([holder], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let items: Vec<i64> = conn
            .prepare_cached("SELECT id FROM items WHERE requester_id = ?1")?
            .query_map([holder], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        customers::name_if_missing(conn, target, name.as_deref())?;
        customers::merge(conn, holder, target)?;
        // The holder's sockets re-check (and lose what moved); agents' lists show the new owner.
        conn.raise(super::Event::Rights(super::RightsChange::Customer(holder)));
        conn.raise(super::Event::Rights(super::RightsChange::Conversations(conversations.clone())));
        for id in conversations {
            conn.raise(super::Event::Conversation(super::conversations::get(conn, Viewer::SYSTEM, id)?));
        }
        for item in items {
            super::items::announce(conn, item)?;
        }
    }
    Ok(())
}
