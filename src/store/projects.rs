//! Projects and who is a member of them.

use super::db::{Connection, Row};
use super::{access, is_constraint, Millis, Result, StoreError, Viewer};
use crate::store::Tx;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Project {
    pub id: i64,
    pub name: String,
    pub created_at: Millis,
}

fn row(r: &Row) -> rusqlite::Result<Project> {
    Ok(Project { id: r.get(0)?, name: r.get(1)?, created_at: r.get(2)? })
}

pub fn insert(conn: &Connection, name: &str, now: Millis) -> Result<Project> {
    let id = conn
        .query_row(
            concat!(
                "INSERT INTO projects (id, name, created_at) VALUES (",
                super::next_id!("projects"),
                ", ?1, ?2) RETURNING id"
            ),
            params![name, now],
            |r| r.get(0),
        )
        .map_err(|e| if is_constraint(&e) { StoreError::Conflict("project_name_taken") } else { e.into() })?;
    Ok(Project { id, name: name.to_owned(), created_at: now })
}

/// The project a fresh install starts with, so tickets and forms work from the first sign-in.
pub const DEFAULT_NAME: &str = "Support";

/// Makes the default project when the database has none; called as the first admin is made.
pub fn ensure_default(conn: &Connection, now: Millis) -> Result<()> {
    if !any(conn)? {
        insert(conn, DEFAULT_NAME, now)?;
    }
    Ok(())
}

/// Whether any project exists: without one no ticket can be made and web forms are off.
pub fn any(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row("SELECT EXISTS (SELECT 1 FROM projects)", [], |r| r.get(0))?)
}

pub fn get(conn: &Connection, viewer: Viewer, id: i64) -> Result<Project> {
    let vis = access::project(viewer);
    conn.query_row(
        &format!("SELECT pr.id, pr.name, pr.created_at FROM projects pr WHERE pr.id = ?1 AND {vis}"),
        [id],
        row,
    )
    .optional()?
    .ok_or(StoreError::NotFound("project_not_found"))
}

pub fn list(conn: &Connection, viewer: Viewer) -> Result<Vec<Project>> {
    let vis = access::project(viewer);
    let mut stmt = conn.prepare(&format!(
        "SELECT pr.id, pr.name, pr.created_at FROM projects pr WHERE {vis} ORDER BY pr.name, pr.id"
    ))?;
    let rows = stmt.query_map([], row)?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub fn members(conn: &Connection, project_id: i64) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare("SELECT user_id FROM project_members WHERE project_id = ?1 ORDER BY user_id")?;
    let rows = stmt.query_map([project_id], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Adds or removes a member of a project the viewer can see. A change of membership changes
/// what the user may see: it is announced as a change of their rights.
pub fn set_member(conn: &Tx, viewer: Viewer, project_id: i64, user_id: i64, member: bool) -> Result<()> {
    get(conn, viewer, project_id)?;
    let changed = if member {
        super::users::get(conn, user_id)?;
        conn.execute(
            "INSERT INTO project_members (project_id, user_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            params![project_id, user_id],
        )?
    } else {
        conn.execute(
            "DELETE FROM project_members WHERE project_id = ?1 AND user_id = ?2",
            params![project_id, user_id],
        )?
    };
    if changed > 0 {
        conn.raise(super::Event::Rights(super::RightsChange::User(user_id)));
    }
    Ok(())
}

/// The projects a user is a member of.
pub fn member_of(conn: &Connection, user_id: i64) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare("SELECT project_id FROM project_members WHERE user_id = ?1")?;
    let rows = stmt.query_map([user_id], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}
