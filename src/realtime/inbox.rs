//! The agents watching their inbox: each is told, as they see it, what changed in any
//! conversation they may see (the row for their list, the views it is now in for them) and
//! their views' counts afterwards, so the app moves a row and sets its badges without asking
//! again. Who sees what is decided in memory with the access authority's `AgentScope`, and
//! every row is read as the agent (the store's access rule) before it is sent.

use super::protocol::ServerFrame;
use super::queue::{offer_each, Delivery, Queue};
use super::{lock, Audience, Outbound};
use crate::store::conversations::{Conversation, Message};
use crate::store::{AgentScope, Store, Told, Viewer};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// An agent socket that watches every conversation it may see.
struct Inbox {
    queue: Queue,
    scope: AgentScope,
}

impl AsRef<Queue> for Inbox {
    fn as_ref(&self) -> &Queue {
        &self.queue
    }
}

#[derive(Default)]
pub(super) struct Inboxes(Mutex<HashMap<u64, Inbox>>);

impl Inboxes {
    pub fn watch(&self, id: u64, queue: Queue, scope: AgentScope) {
        lock(&self.0).insert(id, Inbox { queue, scope });
    }

    pub fn unwatch(&self, id: u64) {
        lock(&self.0).remove(&id);
    }

    pub fn is_watching(&self, user_id: i64) -> bool {
        lock(&self.0).values().any(|i| i.scope.user_id == user_id)
    }

    /// The user's rights changed: their inboxes take the new scope, or (`None`: deactivated,
    /// unreadable) are told nothing more; the socket's own re-check closes it or starts over.
    pub fn rescope(&self, user_id: i64, scope: Option<AgentScope>) {
        lock(&self.0).retain(|_, inbox| match (&scope, inbox.scope.user_id == user_id) {
            (_, false) => true,
            (Some(scope), true) => {
                inbox.scope = scope.clone();
                true
            }
            (None, true) => false,
        });
    }

    /// Queues the same frame for every inbox whose scope `sees`; an inbox whose queue is full
    /// is dropped (its socket closes and the app starts over).
    pub fn tell_that(&self, json: Arc<str>, sees: impl Fn(&AgentScope) -> bool) {
        let frame =
            Delivery::Frame(Arc::new(Outbound { json, audience: Audience::Agents, conversation_id: 0, seq: None }));
        offer_each(&mut lock(&self.0), |_, inbox| sees(&inbox.scope).then(|| frame.clone()));
    }

    /// The inboxes whose scope `sees`, with who they are.
    fn watching(&self, sees: impl Fn(&AgentScope) -> bool) -> Vec<(u64, Viewer)> {
        lock(&self.0).iter().filter(|(_, i)| sees(&i.scope)).map(|(id, i)| (*id, i.scope.viewer())).collect()
    }

    /// Queues each inbox its own frame; as in `tell_that`, an inbox whose queue is full is dropped.
    fn tell_each(&self, mut frames: HashMap<u64, String>) {
        offer_each(&mut lock(&self.0), |id, _| {
            let json = frames.remove(&id)?;
            let frame = Outbound { json: json.into(), audience: Audience::Agents, conversation_id: 0, seq: None };
            Some(Delivery::Frame(Arc::new(frame)))
        });
    }

    /// A conversation changed (a message, when there is one): every agent who may see it gets
    /// its row as they see it, the views it is in for them, and their counts. Agents outside
    /// its project are looked up (followers, participants) only when such an agent is watching.
    pub async fn conversation_changed(&self, store: &Store, conversation: &Conversation, message: Option<&Message>) {
        let outside_scope = {
            let inboxes = lock(&self.0);
            if inboxes.is_empty() {
                return;
            }
            inboxes.values().any(|i| !i.scope.sees_project(conversation.project_id))
        };
        let id = conversation.id;
        let watchers = if outside_scope { store.live().watchers(id).await.unwrap_or_default() } else { Vec::new() };
        let project = conversation.project_id;
        let recipients = self.watching(|scope| scope.sees_project(project) || watchers.contains(&scope.user_id));
        let told = told(store, &recipients, Some(id)).await;
        let frames = recipients
            .into_iter()
            .filter_map(|(inbox, viewer)| {
                let (row, counts) = told.get(&viewer)?;
                let (conversation, views) = row.as_ref()?;
                Some((inbox, ServerFrame::Inbox { conversation, message, views, counts }.to_json()))
            })
            .collect();
        self.tell_each(frames);
    }

    /// Something changed what the agents whose scope `sees` count (a seen mark, an item, their
    /// rights): each gets their counts, and `resync` when their lists may hold other rows now.
    pub async fn recount(&self, store: &Store, resync: bool, sees: impl Fn(&AgentScope) -> bool) {
        let recipients = self.watching(sees);
        if recipients.is_empty() {
            return;
        }
        let told = told(store, &recipients, None).await;
        let frames = recipients
            .into_iter()
            .filter_map(|(inbox, viewer)| {
                Some((inbox, ServerFrame::Counts { counts: &told.get(&viewer)?.1, resync }.to_json()))
            })
            .collect();
        self.tell_each(frames);
    }
}

/// Reads, once per agent among `recipients`, the conversation as they see it (when given) and
/// their counts; nothing when the store cannot answer now (the app resynchronises on its next
/// frame or reconnection).
async fn told(store: &Store, recipients: &[(u64, Viewer)], conversation: Option<i64>) -> Told {
    let viewers: HashSet<Viewer> = recipients.iter().map(|(_, v)| *v).collect();
    store.live().told(viewers, conversation).await.unwrap_or_default()
}
