//! The access authority: who may see what, decided here and nowhere else. The SQL predicates
//! below filter every query that returns conversations, items, messages or attachments to
//! someone; `Principal` and `standing` read a long-lived socket's rights afresh from the
//! store; `AgentScope` is the same rule in memory, for the live frames sent to agents' inboxes.

use super::db::{Connection, Row};
use super::{Millis, Result, StoreError};
use crate::domain::Role;
use rusqlite::{params, OptionalExtension};
use std::collections::HashSet;

/// The person a read is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Viewer {
    /// An internal user; `all_projects` for admins and for the "see conversations across
    /// projects" preference.
    Agent { user_id: i64, all_projects: bool },
    /// A customer: only public conversations that are theirs.
    Customer { customer_id: i64 },
}

impl Viewer {
    /// Rapport itself, filing what arrives by email; never the viewer of a request.
    pub const SYSTEM: Viewer = Viewer::Agent { user_id: 0, all_projects: true };

    pub fn agent(user_id: i64, role: Role, see_all_projects: bool) -> Viewer {
        Viewer::Agent { user_id, all_projects: role == Role::Admin || see_all_projects }
    }
}

// The ids below are i64 values of our own types, never user text, so formatting them into SQL
// is safe; it keeps each predicate in one place instead of threading named parameters.

/// Conversation `c` is visible.
pub(super) fn conversation(v: Viewer) -> String {
    match v {
        Viewer::Agent { all_projects: true, .. } => "TRUE".into(),
        Viewer::Agent { user_id, all_projects: false } => format!(
            "(c.project_id IS NULL \
              OR c.project_id IN (SELECT project_id FROM project_members WHERE user_id = {user_id}) \
              OR c.item_id IN (SELECT item_id FROM item_followers WHERE user_id = {user_id}) \
              OR EXISTS (SELECT 1 FROM participants p WHERE p.conversation_id = c.id \
                         AND p.party_kind = 'user' AND p.party_id = {user_id}))"
        ),
        Viewer::Customer { customer_id } => {
            format!("(c.kind = 'public' AND c.customer_id = {customer_id})")
        }
    }
}

/// Item `i` is visible.
pub(super) fn item(v: Viewer) -> String {
    match v {
        Viewer::Agent { all_projects: true, .. } => "TRUE".into(),
        Viewer::Agent { user_id, all_projects: false } => format!(
            "(i.project_id IN (SELECT project_id FROM project_members WHERE user_id = {user_id}) \
              OR i.assignee_id = {user_id} \
              OR EXISTS (SELECT 1 FROM item_followers f WHERE f.item_id = i.id AND f.user_id = {user_id}))"
        ),
        Viewer::Customer { customer_id } => format!("(i.requester_id = {customer_id})"),
    }
}

/// Project `pr` is visible.
pub(super) fn project(v: Viewer) -> String {
    match v {
        Viewer::Agent { all_projects: true, .. } => "TRUE".into(),
        Viewer::Agent { user_id, all_projects: false } => {
            format!("(pr.id IN (SELECT project_id FROM project_members WHERE user_id = {user_id}))")
        }
        Viewer::Customer { .. } => "FALSE".into(),
    }
}

/// Who opened a long-lived connection (a websocket). Kept for the connection's life; what it
/// may see is read from the store whenever that matters (`standing`), never remembered, so a
/// change of rights takes effect at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An agent, by the credential they connected with.
    Agent { user_id: i64, credential: Credential },
    /// A widget visitor, by the hash of their visitor token.
    Customer { customer_id: i64, token_hash: Vec<u8> },
}

/// An agent's credential, by its hash: a cookie session or a personal API token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Session(Vec<u8>),
    Token(Vec<u8>),
}

/// What a principal may do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    Admitted(Viewer),
    /// The credential admits nobody any more: signed out, session expired, password reset,
    /// token revoked, user deactivated, customer erased.
    Revoked,
    /// The visitor token now belongs to another customer (their identity was merged into a
    /// known customer): a new connection gets the new identity.
    Moved,
}

/// An active user's role and "see conversations across projects" preference, by `?1`.
const ACTIVE_USER: &str = "SELECT u.role, coalesce(p.see_all_projects, 0) FROM users u
                           LEFT JOIN user_preferences p ON p.user_id = u.id WHERE u.id = ?1 AND u.active = 1";

/// What an active user may see now, whatever they signed in with (for what Rapport does on
/// their behalf, such as emailing them); `None` when deactivated or gone.
pub fn agent_viewer(conn: &Connection, user_id: i64) -> Result<Option<Viewer>> {
    Ok(conn
        .prepare_cached(ACTIVE_USER)?
        .query_row([user_id], |r| Ok(Viewer::agent(user_id, r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// The principal's standing now.
pub fn standing(conn: &Connection, principal: &Principal, now: Millis) -> Result<Standing> {
    match principal {
        Principal::Agent { user_id, credential } => {
            let row = |r: &Row| Ok((r.get(0)?, r.get(1)?));
            let found: Option<(Role, bool)> = match credential {
                Credential::Session(hash) => conn
                    .prepare_cached(&format!(
                        "{ACTIVE_USER} AND EXISTS (SELECT 1 FROM sessions s
                                            WHERE s.token_hash = ?2 AND s.user_id = u.id AND s.expires_at > ?3)"
                    ))?
                    .query_row(params![user_id, hash, now], row),
                Credential::Token(hash) => conn
                    .prepare_cached(&format!(
                        "{ACTIVE_USER} AND EXISTS (SELECT 1 FROM api_tokens t WHERE t.token_hash = ?2 AND t.user_id = u.id)"
                    ))?
                    .query_row(params![user_id, hash], row),
            }
            .optional()?;
            Ok(match found {
                Some((role, see_all)) => Standing::Admitted(Viewer::agent(*user_id, role, see_all)),
                None => Standing::Revoked,
            })
        }
        Principal::Customer { customer_id, token_hash } => {
            let owner: Option<i64> = conn
                .prepare_cached("SELECT customer_id FROM visitor_tokens WHERE token_hash = ?1")?
                .query_row([token_hash], |r| r.get(0))
                .optional()?;
            Ok(match owner {
                Some(id) if id == *customer_id => Standing::Admitted(Viewer::Customer { customer_id: id }),
                Some(_) => Standing::Moved,
                None => Standing::Revoked,
            })
        }
    }
}

impl Principal {
    /// The viewer this principal reads and writes as now; `access_revoked` when it may not.
    pub fn viewer(&self, conn: &Connection, now: Millis) -> Result<Viewer> {
        match standing(conn, self, now)? {
            Standing::Admitted(viewer) => Ok(viewer),
            Standing::Revoked | Standing::Moved => Err(StoreError::Revoked),
        }
    }
}

/// Whose rights a write runs under: a viewer a request has just checked, or a long-lived
/// connection's principal, whose rights are read in the write's own transaction.
#[derive(Debug, Clone)]
pub enum Acting {
    Checked(Viewer),
    Live(Principal),
}

impl From<Viewer> for Acting {
    fn from(viewer: Viewer) -> Acting {
        Acting::Checked(viewer)
    }
}

impl Acting {
    pub(super) fn viewer(&self, conn: &Connection, now: Millis) -> Result<Viewer> {
        match self {
            Acting::Checked(viewer) => Ok(*viewer),
            Acting::Live(principal) => principal.viewer(conn, now),
        }
    }
}

/// `conversation` and `item` above, in memory: what an agent's inbox hears about without a
/// query per event. Followers and participants are looked up apart (`conversations::watchers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentScope {
    pub user_id: i64,
    pub all_projects: bool,
    pub projects: HashSet<i64>,
}

impl AgentScope {
    /// The scope of an agent viewer now; `None` for customers.
    pub fn of(conn: &Connection, viewer: Viewer) -> Result<Option<AgentScope>> {
        let Viewer::Agent { user_id, all_projects } = viewer else { return Ok(None) };
        let projects = super::projects::member_of(conn, user_id)?.into_iter().collect();
        Ok(Some(AgentScope { user_id, all_projects, projects }))
    }

    /// The scope of an active user now; `None` when deactivated or gone.
    pub fn of_user(conn: &Connection, user_id: i64) -> Result<Option<AgentScope>> {
        let found: Option<(Role, bool)> =
            conn.prepare_cached(ACTIVE_USER)?.query_row([user_id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
        match found {
            Some((role, see_all)) => AgentScope::of(conn, Viewer::agent(user_id, role, see_all)),
            None => Ok(None),
        }
    }

    pub fn viewer(&self) -> Viewer {
        Viewer::Agent { user_id: self.user_id, all_projects: self.all_projects }
    }

    /// Sees every conversation in this project (or standing alone, `None`).
    pub fn sees_project(&self, project_id: Option<i64>) -> bool {
        self.all_projects || project_id.is_none_or(|p| self.projects.contains(&p))
    }

    /// Sees the item: by project, as a follower or as its assignee.
    pub fn sees_item(&self, item: &super::items::Item) -> bool {
        self.sees_project(Some(item.project_id))
            || item.followers.contains(&self.user_id)
            || item.assignee_id == Some(self.user_id)
    }
}
