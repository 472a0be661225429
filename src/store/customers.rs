//! Customers: known ones (name, email, an external id from the team's site) and anonymous
//! widget visitors.

use super::db::{Connection, Row};
use super::{is_constraint, next_id, Millis, Page, Result, StoreError};
use crate::domain::Party;
use crate::store::Tx;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Customer {
    pub id: i64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub external_id: Option<String>,
    /// An email the customer gave themselves (not verified, so it identifies nobody).
    pub contact_email: Option<String>,
    /// Known customers gave a name or email, or were identified by the team's site.
    pub known: bool,
    pub created_at: Millis,
}

const COLS: &str = "id, name, email, external_id, created_at, contact_email";

fn row(r: &Row) -> rusqlite::Result<Customer> {
    let name: Option<String> = r.get(1)?;
    let email: Option<String> = r.get(2)?;
    let external_id: Option<String> = r.get(3)?;
    let contact_email: Option<String> = r.get(5)?;
    let known = name.is_some() || email.is_some() || external_id.is_some() || contact_email.is_some();
    Ok(Customer { id: r.get(0)?, name, email, external_id, contact_email, known, created_at: r.get(4)? })
}

pub fn insert(conn: &Connection, name: Option<&str>, email: Option<&str>, now: Millis) -> Result<Customer> {
    let id = conn
        .query_row(
            concat!(
                "INSERT INTO customers (id, name, email, created_at) VALUES (",
                next_id!("customers"),
                ", ?1, ?2, ?3) RETURNING id"
            ),
            params![name, email, now],
            |r| r.get(0),
        )
        .map_err(|e| if is_constraint(&e) { StoreError::Conflict("customer_email_taken") } else { e.into() })?;
    get(conn, id)
}

pub fn get(conn: &Connection, id: i64) -> Result<Customer> {
    conn.prepare_cached(&format!("SELECT {COLS} FROM customers WHERE id = ?1"))?
        .query_row([id], row)
        .optional()?
        .ok_or(StoreError::NotFound("customer_not_found"))
}

/// The customer with this (verified) email address, if any.
pub fn by_email(conn: &Connection, email: &str) -> Result<Option<Customer>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLS} FROM customers WHERE email = ?1"))?
        .query_row([email], row)
        .optional()?)
}

/// Newest first; `query` matches the start of a name or email.
pub fn list(conn: &Connection, query: Option<&str>, before_id: Option<i64>, limit: usize) -> Result<Page<Customer>> {
    let pattern = query.map(|q| format!("{}%", q.replace(['%', '_', '\\'], "")));
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLS} FROM customers
         WHERE (CAST(?1 AS TEXT) IS NULL OR name LIKE ?1 OR email LIKE ?1) AND id < ?2
         ORDER BY id DESC LIMIT ?3"
    ))?;
    let rows = stmt
        .query_map(params![pattern, before_id.unwrap_or(i64::MAX), limit as i64 + 1], row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Page::from_overfetch(rows, limit))
}

/// A customer with nothing known yet; their id.
fn insert_bare(conn: &Connection, now: Millis) -> Result<i64> {
    Ok(conn.query_row(
        concat!("INSERT INTO customers (id, created_at) VALUES (", next_id!("customers"), ", ?1) RETURNING id"),
        [now],
        |r| r.get(0),
    )?)
}

/// A new anonymous customer, known only by the hash of their visitor token.
pub fn insert_visitor(conn: &Connection, token_hash: &[u8], now: Millis) -> Result<Customer> {
    let id = insert_bare(conn, now)?;
    add_token(conn, id, token_hash, now)?;
    get(conn, id)
}

/// A visitor token for a customer: a widget visitor's, or a portal session.
pub(super) fn add_token(conn: &Connection, customer_id: i64, token_hash: &[u8], now: Millis) -> Result<()> {
    conn.prepare_cached("INSERT INTO visitor_tokens (token_hash, customer_id, created_at) VALUES (?1, ?2, ?3)")?
        .execute(params![token_hash, customer_id, now])?;
    Ok(())
}

/// Forgets a visitor token; whose it was, if it was known.
pub(super) fn drop_token(conn: &Connection, token_hash: &[u8]) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("DELETE FROM visitor_tokens WHERE token_hash = ?1 RETURNING customer_id")?
        .query_row([token_hash], |r| r.get(0))
        .optional()?)
}

/// Gives a nameless customer a name.
pub(super) fn name_if_missing(conn: &Connection, id: i64, name: Option<&str>) -> Result<()> {
    conn.prepare_cached("UPDATE customers SET name = ?1 WHERE id = ?2 AND name IS NULL")?.execute(params![name, id])?;
    Ok(())
}

/// Records that `email` was proven to be the customer's.
pub(super) fn verify_email(conn: &Connection, id: i64, email: &str) -> Result<()> {
    conn.prepare_cached("UPDATE customers SET email = ?1 WHERE id = ?2")?.execute(params![email, id])?;
    Ok(())
}

/// Sets the password hash of a customer with a verified email; whether there is one.
pub(super) fn set_password_hash(conn: &Connection, id: i64, hash: &str) -> Result<bool> {
    let n = conn
        .prepare_cached("UPDATE customers SET password_hash = ?1 WHERE id = ?2 AND email IS NOT NULL")?
        .execute(params![hash, id])?;
    Ok(n > 0)
}

/// Removes a customer's row; their visitor tokens go with it.
pub(super) fn delete(conn: &Connection, id: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM customers WHERE id = ?1")?.execute([id])?;
    Ok(())
}

pub fn by_visitor_token(conn: &Connection, token_hash: &[u8]) -> Result<Option<Customer>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {} FROM visitor_tokens t JOIN customers c ON c.id = t.customer_id WHERE t.token_hash = ?1",
            COLS.split(", ").map(|c| format!("c.{c}")).collect::<Vec<_>>().join(", ")
        ))?
        .query_row([token_hash], row)
        .optional()?)
}

/// What a visitor says about themselves: a name and a contact email, neither verified.
pub fn set_contact(conn: &Tx, id: i64, name: Option<&str>, contact_email: Option<&str>) -> Result<Customer> {
    conn.execute(
        "UPDATE customers SET name = COALESCE(?1, name), contact_email = COALESCE(?2, contact_email) WHERE id = ?3",
        params![name, contact_email, id],
    )?;
    if name.is_some() || contact_email.is_some() {
        // Agents' lists, headers and banners show the customer's name: tell them it changed.
        for c in super::conversations::of_customer(conn, super::Viewer::SYSTEM, id, 200)? {
            conn.raise(super::Event::Conversation(c));
        }
    }
    get(conn, id)
}

/// A verified identity from the team's site (signed with the widget secret): the customer with
/// that external id (or, failing that, that email) becomes the owner of this visitor token, and
/// what the anonymous visitor had written so far moves over to them.
pub fn identify(
    conn: &Tx,
    token_hash: &[u8],
    external_id: &str,
    email: Option<&str>,
    name: Option<&str>,
    now: Millis,
) -> Result<Customer> {
    let visitor = by_visitor_token(conn, token_hash)?.ok_or(StoreError::NotFound("visitor_not_found"))?;
    let existing: Option<i64> = conn
        .query_row(
            "SELECT id FROM customers WHERE external_id = ?1 OR (CAST(?2 AS TEXT) IS NOT NULL AND email = ?2)
             ORDER BY external_id = ?1 DESC LIMIT 1",
            params![external_id, email],
            |r| r.get(0),
        )
        .optional()?;
    // An address no customer had verified before is proven here: who typed it joins (`contacts`).
    let fresh = match email {
        Some(email) => by_email(conn, email)?.is_none(),
        None => false,
    };
    let target = match existing {
        Some(id) => id,
        None if visitor.external_id.is_none() && visitor.email.is_none() => visitor.id,
        None => insert_bare(conn, now)?,
    };
    conn.execute(
        "UPDATE customers SET external_id = ?1, email = COALESCE(?2, email), name = COALESCE(?3, name) WHERE id = ?4",
        params![external_id, email, name, target],
    )
    .map_err(|e| if is_constraint(&e) { StoreError::Conflict("customer_email_taken") } else { e.into() })?;
    conn.execute("UPDATE visitor_tokens SET customer_id = ?1 WHERE token_hash = ?2", params![target, token_hash])?;
    if let (true, Some(email)) = (fresh, email) {
        super::contacts::join(conn, email, target)?;
    }
    if target != visitor.id {
        // The browser is now someone else: its open sockets must reconnect as them.
        conn.raise(super::Event::Rights(super::RightsChange::Customer(visitor.id)));
        if visitor.external_id.is_none() && visitor.email.is_none() {
            merge(conn, visitor.id, target)?;
        }
    }
    get(conn, target)
}

/// Moves everything of a customer to another (their conversations, items, messages, files,
/// marks and the emails owed to them), and removes the first unless a browser still holds one
/// of its visitor tokens: a session never moves with what it wrote (see `contacts::join`).
pub(super) fn merge(conn: &Connection, from: i64, to: i64) -> Result<()> {
    super::conversations::move_customer(conn, from, to)?;
    super::items::move_requester(conn, from, to)?;
    super::attachments::move_uploader(conn, Party::Customer(from), Party::Customer(to))?;
    super::notify::merge_customer(conn, from, to)?;
    let tokens: i64 =
        conn.query_row("SELECT count(*) FROM visitor_tokens WHERE customer_id = ?1", [from], |r| r.get(0))?;
    if tokens == 0 {
        delete(conn, from)?;
    }
    Ok(())
}
