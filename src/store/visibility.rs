//! Who may see what, written once as SQL predicates. Every query that returns conversations,
//! items, messages or attachments to someone goes through these.

use crate::domain::Role;

/// The person a read is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
        Viewer::Agent { all_projects: true, .. } => "1".into(),
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
        Viewer::Agent { all_projects: true, .. } => "1".into(),
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
        Viewer::Agent { all_projects: true, .. } => "1".into(),
        Viewer::Agent { user_id, all_projects: false } => {
            format!("(pr.id IN (SELECT project_id FROM project_members WHERE user_id = {user_id}))")
        }
        Viewer::Customer { .. } => "0".into(),
    }
}
