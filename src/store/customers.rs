//! Customers: known ones (name, email, an external id from the team's site) and anonymous
//! widget visitors.

use super::{is_constraint, Millis, Page, Result, StoreError};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Customer {
    pub id: i64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub external_id: Option<String>,
    /// Known customers gave a name or email, or were identified by the team's site.
    pub known: bool,
    pub created_at: Millis,
}

const COLS: &str = "id, name, email, external_id, created_at";

fn row(r: &Row) -> rusqlite::Result<Customer> {
    let name: Option<String> = r.get(1)?;
    let email: Option<String> = r.get(2)?;
    let external_id: Option<String> = r.get(3)?;
    let known = name.is_some() || email.is_some() || external_id.is_some();
    Ok(Customer { id: r.get(0)?, name, email, external_id, known, created_at: r.get(4)? })
}

pub fn insert(conn: &Connection, name: Option<&str>, email: Option<&str>, now: Millis) -> Result<Customer> {
    conn.execute("INSERT INTO customers (name, email, created_at) VALUES (?1, ?2, ?3)", params![name, email, now])
        .map_err(|e| if is_constraint(&e) { StoreError::Conflict("customer_email_taken") } else { e.into() })?;
    get(conn, conn.last_insert_rowid())
}

pub fn get(conn: &Connection, id: i64) -> Result<Customer> {
    conn.prepare_cached(&format!("SELECT {COLS} FROM customers WHERE id = ?1"))?
        .query_row([id], row)
        .optional()?
        .ok_or(StoreError::NotFound("customer_not_found"))
}

/// Newest first; `query` matches the start of a name or email.
pub fn list(conn: &Connection, query: Option<&str>, before_id: Option<i64>, limit: usize) -> Result<Page<Customer>> {
    let pattern = query.map(|q| format!("{}%", q.replace(['%', '_', '\\'], "")));
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLS} FROM customers
         WHERE (?1 IS NULL OR name LIKE ?1 OR email LIKE ?1) AND id < ?2
         ORDER BY id DESC LIMIT ?3"
    ))?;
    let rows = stmt
        .query_map(params![pattern, before_id.unwrap_or(i64::MAX), limit as i64 + 1], row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Page::from_overfetch(rows, limit))
}

/// A new anonymous customer, known only by the hash of their visitor token.
pub fn insert_visitor(conn: &Connection, token_hash: &[u8], now: Millis) -> Result<Customer> {
    conn.execute("INSERT INTO customers (visitor_token_hash, created_at) VALUES (?1, ?2)", params![token_hash, now])?;
    get(conn, conn.last_insert_rowid())
}

pub fn by_visitor_token(conn: &Connection, token_hash: &[u8]) -> Result<Option<Customer>> {
    Ok(conn
        .query_row(&format!("SELECT {COLS} FROM customers WHERE visitor_token_hash = ?1"), [token_hash], row)
        .optional()?)
}
