//! What the live side (sockets, rooms, inboxes) asks, always with the rights of the moment: a
//! socket's principal is looked up again on every read, so a revoked one reads nothing.

use crate::store::access::{standing, AgentScope, Principal, Standing};
use crate::store::conversations::{self, Conversation, ConversationView, Message, MessagePage};
use crate::store::counts::{self, Counts};
use crate::store::{Millis, Result, Store, StoreError, Viewer};
use std::collections::{HashMap, HashSet};

#[derive(Clone, Copy)]
pub struct Live<'s>(pub(super) &'s Store);

/// A conversation as an agent sees it, with the views it is in for them.
pub type Seen = (Conversation, Vec<ConversationView>);

/// How changes look to agents: each changed conversation as each agent sees it, with the views
/// it is in (`None` when they may not see it), and each agent's counts after all of them.
#[derive(Default)]
pub struct Told {
    pub rows: HashMap<(Viewer, i64), Option<Seen>>,
    pub counts: HashMap<Viewer, Counts>,
}

impl Live<'_> {
    /// The conversation as the principal may see it now.
    pub async fn conversation(self, principal: Principal, id: i64, now: Millis) -> Result<Conversation> {
        self.0.read(move |c| conversations::get(c, principal.viewer(c, now)?, id)).await
    }

    /// A page of the conversation's messages as the principal may see them now.
    pub async fn messages(
        self,
        principal: Principal,
        id: i64,
        page: MessagePage,
        limit: usize,
        now: Millis,
    ) -> Result<Vec<Message>> {
        self.0.read(move |c| conversations::messages(c, principal.viewer(c, now)?, id, page, limit)).await
    }

    /// Whether the principal may still act, and which of `conversations` they may no longer see.
    pub async fn recheck(
        self,
        principal: Principal,
        conversations: Vec<i64>,
        now: Millis,
    ) -> Result<(Standing, Vec<i64>)> {
        self.0
            .read(move |c| {
                let standing = standing(c, &principal, now)?;
                let mut lost = Vec::new();
                if let Standing::Admitted(viewer) = &standing {
                    for id in conversations {
                        if conversations::get(c, *viewer, id).is_err() {
                            lost.push(id);
                        }
                    }
                }
                Ok((standing, lost))
            })
            .await
    }

    /// What an agent's inbox covers, if the principal is an agent who may act.
    pub async fn scope(self, principal: Principal, now: Millis) -> Result<Option<AgentScope>> {
        self.0.read(move |c| AgentScope::of(c, principal.viewer(c, now)?)).await
    }

    /// What the user's inbox covers now, if they are an active agent.
    pub async fn scope_of_user(self, user_id: i64) -> Result<Option<AgentScope>> {
        self.0.read(move |c| AgentScope::of_user(c, user_id)).await
    }

    /// The users who follow the conversation (or its item).
    pub async fn watchers(self, conversation_id: i64) -> Result<Vec<i64>> {
        self.0.read(move |c| conversations::watchers(c, conversation_id)).await
    }

    /// Reads, in one go, each changed conversation as each viewer sees it and their counts.
    pub async fn told(self, viewers: HashSet<Viewer>, changed: Vec<i64>) -> Result<Told> {
        self.0
            .read(move |c| {
                let mut told = Told::default();
                for viewer in viewers {
                    for &id in &changed {
                        let row = match conversations::get(c, viewer, id) {
                            Ok(row) => {
                                let views = counts::views_of(c, viewer, &row)?;
                                Some((row, views))
                            }
                            Err(StoreError::NotFound(_)) => None,
                            Err(e) => return Err(e),
                        };
                        told.rows.insert((viewer, id), row);
                    }
                    told.counts.insert(viewer, counts::of(c, viewer)?);
                }
                Ok(told)
            })
            .await
    }
}
