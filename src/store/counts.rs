//! The sizes of the messenger's views, for their badges: read from the tallies the writer keeps
//! in the same transaction as each change (sql/0013_view_tallies.sql), so a read costs a few
//! short index ranges however long the history: the tallies of the projects the agent sees,
//! their own seen and followed tallies, and the conversations they may see outside their
//! projects (followed or taken part in), which are few.

use super::conversations::{Conversation, ConversationView};
use super::db::Connection;
use super::{Result, Viewer};
use crate::domain::{ConversationKind, Status};
use rusqlite::params;
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

/// How many conversations a view holds, and how many of them have unread messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct ViewCount {
    pub total: i64,
    pub unread: i64,
}

/// The size of each view of the messenger (PRODUCT.md), for its badges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Counts {
    pub open: ViewCount,
    pub closed: ViewCount,
    pub customer_replies: ViewCount,
    pub internal: ViewCount,
    pub all_closed: ViewCount,
    /// From customers → Unanswered items.
    pub unanswered_items: i64,
}

/// Conversations of one kind and status: how many, how many without a message, and how many
/// the agent has read to the end.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    total: i64,
    empty: i64,
    caught_up: i64,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.total += other.total;
        self.empty += other.empty;
        self.caught_up += other.caught_up;
    }

    fn view(self) -> ViewCount {
        ViewCount { total: self.total, unread: self.total - self.empty - self.caught_up }
    }
}

/// Tallies by (kind, status).
type ByKind = HashMap<(String, String), Tally>;

fn by_kind(conn: &Connection, sql: &str, user_id: i64) -> Result<ByKind> {
    let mut out = ByKind::new();
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query([user_id])?;
    while let Some(r) = rows.next()? {
        let tally = Tally { total: r.get(2)?, empty: r.get(3)?, caught_up: r.get(4)? };
        out.entry((r.get(0)?, r.get(1)?)).or_default().add(tally);
    }
    Ok(out)
}

/// The projects an agent sees by membership (with 0, no project), as SQL, for `?1` = user id;
/// every project for those who see across projects.
fn own_projects(all_projects: bool) -> &'static str {
    if all_projects {
        "TRUE"
    } else {
        "(project_key = 0 OR project_key IN (SELECT project_id FROM project_members WHERE user_id = ?1))"
    }
}

pub fn of(conn: &Connection, viewer: Viewer) -> Result<Counts> {
    let Viewer::Agent { user_id, all_projects } = viewer else {
        // Customers have no messenger views.
        return Ok(Counts::default());
    };
    let own = own_projects(all_projects);
    // Conversations in the agent's projects, with what they have read of them.
    let mut seen = by_kind(
        conn,
        &format!(
            "SELECT kind, status, sum(total), sum(empty), 0 FROM conversation_tallies WHERE {own} GROUP BY 1, 2
             UNION ALL
             SELECT kind, status, 0, 0, sum(n) FROM caught_up_tallies WHERE user_id = ?1 AND {own} GROUP BY 1, 2"
        ),
        user_id,
    )?;
    let followed = by_kind(
        conn,
        "SELECT kind, status, sum(total), sum(empty), sum(caught_up) FROM followed_tallies WHERE user_id = ?1 GROUP BY 1, 2",
        user_id,
    )?;
    if !all_projects {
        // Outside their projects: what they follow, and what they took part in without following.
        let outside = by_kind(
            conn,
            &format!(
                "SELECT kind, status, sum(total), sum(empty), sum(caught_up) FROM followed_tallies
                 WHERE user_id = ?1 AND NOT {own} GROUP BY 1, 2
                 UNION ALL
                 SELECT c.kind, c.status, 1, CASE WHEN c.last_seq = 0 THEN 1 ELSE 0 END,
                     CASE WHEN c.last_seq > 0 AND COALESCE(
                         (SELECT m.seq FROM seen_marks m WHERE m.conversation_id = c.id AND m.party_kind = 'user'
                          AND m.party_id = ?1), 0) >= c.last_seq THEN 1 ELSE 0 END
                 FROM projects pr
                 JOIN participants p ON p.party_kind = 'user' AND p.party_id = ?1 AND p.project_key = pr.id
                 JOIN conversations c ON c.id = p.conversation_id
                 WHERE pr.id NOT IN (SELECT project_id FROM project_members WHERE user_id = ?1)
                   AND (c.item_id IS NULL
                        OR c.item_id NOT IN (SELECT item_id FROM item_followers WHERE user_id = ?1))"
            ),
            user_id,
        )?;
        for (key, tally) in outside {
            seen.entry(key).or_default().add(tally);
        }
    }
    let get = |from: &ByKind, kind: &str, status: &str| {
        from.get(&(kind.to_owned(), status.to_owned())).copied().unwrap_or_default()
    };
    let mut all_closed = get(&followed, "public", "closed");
    all_closed.add(get(&followed, "internal", "closed"));
    Ok(Counts {
        open: get(&seen, "public", "open").view(),
        closed: get(&seen, "public", "closed").view(),
        customer_replies: get(&followed, "public", "open").view(),
        internal: get(&followed, "internal", "open").view(),
        all_closed: all_closed.view(),
        unanswered_items: unanswered_items(conn, viewer)?,
    })
}

/// Open items with no customer conversation yet that the viewer can see: a walk over the
/// `items_unanswered` index, which holds only those.
fn unanswered_items(conn: &Connection, viewer: Viewer) -> Result<i64> {
    let (vis, unanswered) = (super::access::item(viewer), super::items::UNANSWERED);
    Ok(conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM items i INDEXED BY items_unanswered WHERE {unanswered} AND {vis}"
        ))?
        .query_row([], |r| r.get(0))?)
}

/// The views a conversation the viewer may see is in for them (Open, My conversations…), so a
/// live change can move its row without the app asking for the list again.
pub fn views_of(conn: &Connection, viewer: Viewer, c: &Conversation) -> Result<Vec<ConversationView>> {
    let followed = match (viewer, c.item_id) {
        (Viewer::Agent { user_id, .. }, Some(item)) => conn
            .prepare_cached("SELECT 1 FROM item_followers WHERE item_id = ?1 AND user_id = ?2")?
            .exists(params![item, user_id])?,
        _ => false,
    };
    let (public, open) = (c.kind == ConversationKind::Public, c.status == Status::Open);
    let views = [
        (ConversationView::Open, public && open),
        (ConversationView::Closed, public && !open),
        (ConversationView::CustomerReplies, followed && public && open),
        (ConversationView::Internal, followed && !public && open),
        (ConversationView::AllClosed, followed && !open),
    ];
    Ok(views.into_iter().filter(|(_, is)| *is).map(|(view, _)| view).collect())
}
