//! Internal users, their preferences, browser sessions and API tokens.
//!
//! Every change that ends a user's session or token, or changes what they may see (role,
//! activity, preferences), raises `Event::Rights(RightsChange::User(id))`: once committed, their
//! open sockets re-check who they are.

use super::db::{Connection, Row};
use super::{is_constraint, Event, Millis, Result, RightsChange, StoreError, Tx};
use crate::domain::{NotifyReplies, Role};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub created_at: Millis,
    /// Their photo (`GET /api/v1/users/{id}/photo?v=...`, cacheable for good); null when they
    /// have none or are deactivated.
    pub photo_url: Option<String>,
}

/// When the photo of active user `$u` last changed (the `?v=` of its URL); NULL when they
/// have none or are deactivated.
macro_rules! photo_version {
    ($u:literal) => {
        concat!(
            "CASE WHEN ",
            $u,
            ".active = 1 THEN (SELECT ph.updated_at FROM user_photos ph WHERE ph.user_id = ",
            $u,
            ".id) END"
        )
    };
}
pub(super) use photo_version;

const USER_COLS: &str = concat!("u.id, u.email, u.name, u.role, u.active, u.created_at, ", photo_version!("u"));

/// The URL of user `id`'s photo of version `updated_at`; each new photo has a new URL.
pub fn photo_url(id: i64, updated_at: Option<Millis>) -> Option<String> {
    updated_at.map(|v| format!("/api/v1/users/{id}/photo?v={v}"))
}

fn user_row(r: &Row) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        role: r.get(3)?,
        active: r.get(4)?,
        created_at: r.get(5)?,
        photo_url: photo_url(r.get(0)?, r.get(6)?),
    })
}

/// The per-user settings of PRODUCT.md.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    /// See conversations of every project, not only those the user is a member of.
    pub see_all_projects: bool,
    /// Hide the "From customers" section of the messenger.
    pub hide_from_customers: bool,
    /// Which new customer replies notify this user.
    pub notify_customer_replies: NotifyReplies,
    /// Notifications of internal messages.
    pub notify_internal: bool,
    pub sound: bool,
    /// Email a notification that was not seen in time.
    pub email_fallback: bool,
}

impl Default for Preferences {
    fn default() -> Self {
        Preferences {
            see_all_projects: false,
            hide_from_customers: false,
            notify_customer_replies: NotifyReplies::Both,
            notify_internal: true,
            sound: true,
            email_fallback: true,
        }
    }
}

/// A user as the auth layer sees them: who, and what they may see.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub see_all_projects: bool,
    /// Present for cookie sessions; state-changing requests must echo it.
    pub csrf_token: Option<String>,
}

/// A personal API token as it is listed: never its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub created_at: Millis,
    /// When it was last used, to the hour; null if never.
    pub last_used_at: Option<Millis>,
}

/// What ending a user's access ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Ended {
    pub sessions: usize,
    pub tokens: usize,
}

fn rights_of(conn: &Tx, user_id: i64) {
    conn.raise(Event::Rights(RightsChange::User(user_id)));
}

pub fn insert(
    conn: &Connection,
    email: &str,
    name: &str,
    role: Role,
    password_hash: Option<&str>,
    now: Millis,
) -> Result<User> {
    let id = conn
        .query_row(
            concat!(
                "INSERT INTO users (id, email, name, role, password_hash, created_at) VALUES (",
                super::next_id!("users"),
                ", ?1, ?2, ?3, ?4, ?5) RETURNING id"
            ),
            params![email, name, role, password_hash, now],
            |r| r.get(0),
        )
        .map_err(|e| if is_constraint(&e) { StoreError::Conflict("email_taken") } else { e.into() })?;
    get(conn, id)
}

pub fn get(conn: &Connection, id: i64) -> Result<User> {
    conn.prepare_cached(&format!("SELECT {USER_COLS} FROM users u WHERE u.id = ?1"))?
        .query_row([id], user_row)
        .optional()?
        .ok_or(StoreError::NotFound("user_not_found"))
}

pub fn list(conn: &Connection) -> Result<Vec<User>> {
    let mut stmt = conn.prepare(&format!("SELECT {USER_COLS} FROM users u ORDER BY u.name, u.id"))?;
    let rows = stmt.query_map([], user_row)?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// The user and password hash for a login attempt; inactive users are not found.
pub fn for_login(conn: &Connection, email: &str) -> Result<Option<(User, Option<String>)>> {
    Ok(conn
        .query_row(
            &format!("SELECT {USER_COLS}, u.password_hash FROM users u WHERE u.email = ?1 AND u.active = 1"),
            [email],
            |r| Ok((user_row(r)?, r.get(7)?)),
        )
        .optional()?)
}

pub fn by_email(conn: &Connection, email: &str) -> Result<User> {
    conn.prepare_cached(&format!("SELECT {USER_COLS} FROM users u WHERE u.email = ?1"))?
        .query_row([email], user_row)
        .optional()?
        .ok_or(StoreError::NotFound("user_not_found"))
}

pub fn any_admin(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row("SELECT EXISTS (SELECT 1 FROM users WHERE role = 'admin' AND active = 1)", [], |r| r.get(0))?)
}

/// Sets a new password and ends every session and API token of the user: whoever knew the old
/// password may have made either.
pub fn set_password(conn: &Tx, user_id: i64, hash: &str) -> Result<Ended> {
    let n = conn.execute("UPDATE users SET password_hash = ?1 WHERE id = ?2", params![hash, user_id])?;
    if n == 0 {
        return Err(StoreError::NotFound("user_not_found"));
    }
    let sessions = conn.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])?;
    let tokens = conn.execute("DELETE FROM api_tokens WHERE user_id = ?1", [user_id])?;
    rights_of(conn, user_id);
    Ok(Ended { sessions, tokens })
}

/// Changes name, role or active flag. The last active admin can be neither demoted nor
/// deactivated; a deactivated user's sessions and tokens stop working at once.
pub fn update(conn: &Tx, id: i64, name: Option<&str>, role: Option<Role>, active: Option<bool>) -> Result<User> {
    let before = get(conn, id)?;
    if let Some(name) = name {
        conn.execute("UPDATE users SET name = ?1 WHERE id = ?2", params![name, id])?;
    }
    if let Some(role) = role {
        conn.execute("UPDATE users SET role = ?1 WHERE id = ?2", params![role, id])?;
    }
    if let Some(active) = active {
        conn.execute("UPDATE users SET active = ?1 WHERE id = ?2", params![active, id])?;
        if !active {
            conn.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?;
        }
    }
    if before.role == Role::Admin && before.active && !any_admin(conn)? {
        return Err(StoreError::Conflict("last_admin"));
    }
    if role.is_some() || active.is_some() {
        rights_of(conn, id);
    }
    get(conn, id)
}

pub fn preferences(conn: &Connection, user_id: i64) -> Result<Preferences> {
    Ok(conn
        .query_row(
            "SELECT see_all_projects, hide_from_customers, notify_customer_replies, notify_internal,
                    sound, email_fallback
             FROM user_preferences WHERE user_id = ?1",
            [user_id],
            |r| {
                Ok(Preferences {
                    see_all_projects: r.get(0)?,
                    hide_from_customers: r.get(1)?,
                    notify_customer_replies: r.get(2)?,
                    notify_internal: r.get(3)?,
                    sound: r.get(4)?,
                    email_fallback: r.get(5)?,
                })
            },
        )
        .optional()?
        .unwrap_or_default())
}

/// Active users who may see a project (admins and "see across projects" included); every
/// active user when there is no project.
pub fn everyone_who_sees(conn: &Connection, project_id: Option<i64>) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT u.id FROM users u LEFT JOIN user_preferences p ON p.user_id = u.id
         WHERE u.active = 1 AND (u.role = 'admin' OR COALESCE(p.see_all_projects, 0) = 1 OR CAST(?1 AS BIGINT) IS NULL
               OR u.id IN (SELECT user_id FROM project_members WHERE project_id = ?1))",
    )?;
    let rows = stmt.query_map([project_id], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub fn set_preferences(conn: &Tx, user_id: i64, p: &Preferences) -> Result<()> {
    conn.execute(
        "INSERT INTO user_preferences (user_id, see_all_projects, hide_from_customers,
             notify_customer_replies, notify_internal, sound, email_fallback)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (user_id) DO UPDATE SET
             see_all_projects = excluded.see_all_projects,
             hide_from_customers = excluded.hide_from_customers,
             notify_customer_replies = excluded.notify_customer_replies,
             notify_internal = excluded.notify_internal,
             sound = excluded.sound,
             email_fallback = excluded.email_fallback",
        params![
            user_id,
            p.see_all_projects,
            p.hide_from_customers,
            p.notify_customer_replies,
            p.notify_internal,
            p.sound,
            p.email_fallback
        ],
    )?;
    rights_of(conn, user_id);
    Ok(())
}

const SESSION_COLS: &str = concat!(
    "u.id, u.email, u.name, u.role, u.active, u.created_at, ",
    photo_version!("u"),
    ", COALESCE(p.see_all_projects, 0)"
);

pub fn insert_session(
    conn: &Connection,
    token_hash: &[u8],
    user_id: i64,
    csrf_token: &str,
    now: Millis,
    expires_at: Millis,
) -> Result<()> {
    conn.execute(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![token_hash, user_id, csrf_token, now, expires_at],
    )?;
    Ok(())
}

/// The live session with this token hash, if any.
pub fn session(conn: &Connection, token_hash: &[u8], now: Millis) -> Result<Option<Session>> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {SESSION_COLS}, s.csrf_token FROM sessions s JOIN users u ON u.id = s.user_id
                 LEFT JOIN user_preferences p ON p.user_id = u.id
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.active = 1"
            ),
            params![token_hash, now],
            |r| Ok(Session { user: user_row(r)?, see_all_projects: r.get(7)?, csrf_token: Some(r.get(8)?) }),
        )
        .optional()?)
}

pub fn delete_session(conn: &Tx, token_hash: &[u8]) -> Result<()> {
    let user: Option<i64> = conn
        .query_row("DELETE FROM sessions WHERE token_hash = ?1 RETURNING user_id", [token_hash], |r| r.get(0))
        .optional()?;
    if let Some(user_id) = user {
        rights_of(conn, user_id);
    }
    Ok(())
}

pub fn delete_expired_sessions(conn: &Connection, now: Millis) -> Result<usize> {
    Ok(conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?)
}

pub fn insert_token(conn: &Connection, user_id: i64, name: &str, hash: &[u8], now: Millis) -> Result<ApiToken> {
    let id = conn.query_row(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES (?1, ?2, ?3, ?4) RETURNING id",
        params![user_id, name, hash, now],
        |r| r.get(0),
    )?;
    Ok(ApiToken { id, name: name.to_owned(), created_at: now, last_used_at: None })
}

/// How long a token's `last_used_at` may lag: it is written at most this often.
pub const TOKEN_USE_PRECISION_MS: Millis = 3_600_000;

/// The session of this token's user, and the token's id if its last use is to be recorded
/// (it never was, or not within `TOKEN_USE_PRECISION_MS` of `now`).
pub fn by_token(conn: &Connection, hash: &[u8], now: Millis) -> Result<Option<(Session, Option<i64>)>> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {SESSION_COLS}, t.id, t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id
                 LEFT JOIN user_preferences p ON p.user_id = u.id
                 WHERE t.token_hash = ?1 AND u.active = 1"
            ),
            [hash],
            |r| {
                let session = Session { user: user_row(r)?, see_all_projects: r.get(7)?, csrf_token: None };
                let last: Option<Millis> = r.get(9)?;
                let stale = last.is_none_or(|t| now - t >= TOKEN_USE_PRECISION_MS);
                Ok((session, stale.then_some(r.get(8)?)))
            },
        )
        .optional()?)
}

pub fn token_used(conn: &Connection, id: i64, now: Millis) -> Result<()> {
    conn.execute("UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1", params![id, now])?;
    Ok(())
}

/// The user's tokens; `user_not_found` when there is no such user.
pub fn tokens(conn: &Connection, user_id: i64) -> Result<Vec<ApiToken>> {
    get(conn, user_id)?;
    let mut stmt =
        conn.prepare("SELECT id, name, created_at, last_used_at FROM api_tokens WHERE user_id = ?1 ORDER BY id")?;
    let rows = stmt
        .query_map([user_id], |r| {
            Ok(ApiToken { id: r.get(0)?, name: r.get(1)?, created_at: r.get(2)?, last_used_at: r.get(3)? })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub fn delete_token(conn: &Tx, user_id: i64, id: i64) -> Result<()> {
    let n = conn.execute("DELETE FROM api_tokens WHERE id = ?1 AND user_id = ?2", params![id, user_id])?;
    if n == 0 {
        return Err(StoreError::NotFound("token_not_found"));
    }
    rights_of(conn, user_id);
    Ok(())
}

/// Revokes every token of the user; how many there were.
pub fn delete_tokens(conn: &Tx, user_id: i64) -> Result<usize> {
    get(conn, user_id)?;
    let n = conn.execute("DELETE FROM api_tokens WHERE user_id = ?1", [user_id])?;
    rights_of(conn, user_id);
    Ok(n)
}

/// A user's photo as stored.
pub struct Photo {
    pub content_type: String,
    pub data: Vec<u8>,
    pub updated_at: Millis,
}

/// Sets the user's photo (`content_type` already checked against the bytes). Its version moves
/// forward even within one millisecond, so the new photo gets a new URL.
pub fn set_photo(conn: &Connection, user_id: i64, content_type: &str, data: &[u8], now: Millis) -> Result<User> {
    get(conn, user_id)?;
    conn.execute(
        "INSERT INTO user_photos (user_id, content_type, data, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (user_id) DO UPDATE SET content_type = excluded.content_type, data = excluded.data,
             updated_at = max(excluded.updated_at, user_photos.updated_at + 1)",
        params![user_id, content_type, data, now],
    )?;
    get(conn, user_id)
}

pub fn delete_photo(conn: &Connection, user_id: i64) -> Result<User> {
    conn.execute("DELETE FROM user_photos WHERE user_id = ?1", [user_id])?;
    get(conn, user_id)
}

/// The photo of an active user; `photo_not_found` when they have none or are deactivated.
pub fn photo(conn: &Connection, user_id: i64) -> Result<Photo> {
    conn.prepare_cached(
        "SELECT ph.content_type, ph.data, ph.updated_at FROM user_photos ph JOIN users u ON u.id = ph.user_id
         WHERE ph.user_id = ?1 AND u.active = 1",
    )?
    .query_row([user_id], |r| Ok(Photo { content_type: r.get(0)?, data: r.get(1)?, updated_at: r.get(2)? }))
    .optional()?
    .ok_or(StoreError::NotFound("photo_not_found"))
}

/// One of the team's faces in the widget's header.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TeamFace {
    pub name: String,
    pub photo_url: Option<String>,
}

/// Up to `limit` active users to show customers: those with a photo first, then those who
/// signed in most recently.
pub fn team(conn: &Connection, limit: usize) -> Result<Vec<TeamFace>> {
    let mut stmt = conn.prepare_cached(concat!(
        "SELECT * FROM (SELECT u.id, u.name, ",
        photo_version!("u"),
        " AS photo, (SELECT max(s.created_at) FROM sessions s WHERE s.user_id = u.id) AS signed_in
                       FROM users u WHERE u.active = 1) team
         ORDER BY photo IS NULL, signed_in DESC NULLS LAST, id
         LIMIT ?1"
    ))?;
    let rows = stmt
        .query_map([limit as i64], |r| Ok(TeamFace { name: r.get(1)?, photo_url: photo_url(r.get(0)?, r.get(2)?) }))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}
