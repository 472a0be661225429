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
    fn tell_each(&self, mut frames: HashMap<u64, Arc<str>>) {
        offer_each(&mut lock(&self.0), |id, _| {
            let json = frames.remove(&id)?;
            let frame = Outbound { json, audience: Audience::Agents, conversation_id: 0, seq: None };
            Some(Delivery::Frame(Arc::new(frame)))
        });
    }

    /// Tells the inboxes what a run of events changed, in their order: every agent who may see a
    /// changed conversation gets its row as they see it, the views it is in for them and their
    /// counts; alerts go to the agents they name. The rows and counts of the whole run are read
    /// in one go, so that a burst of messages costs the store one read, not one a message.
    /// Agents outside a conversation's project are looked up (followers, participants) only when
    /// such an agent is watching.
    pub async fn tell(&self, store: &Store, run: Vec<Telling>) {
        if run.is_empty() || lock(&self.0).is_empty() {
            return;
        }
        let mut recipients = Vec::with_capacity(run.len());
        for telling in &run {
            let Telling::Changed(conversation, _) = telling else {
                recipients.push(Vec::new());
                continue;
            };
            let outside_scope = lock(&self.0).values().any(|i| !i.scope.sees_project(conversation.project_id));
            let id = conversation.id;
            let watchers = if outside_scope { store.live().watchers(id).await.unwrap_or_default() } else { Vec::new() };
            let project = conversation.project_id;
            recipients.push(self.watching(|scope| scope.sees_project(project) || watchers.contains(&scope.user_id)));
        }
        let viewers: HashSet<Viewer> = recipients.iter().flatten().map(|(_, v)| *v).collect();
        let mut changed: Vec<i64> =
            run.iter().filter_map(|t| if let Telling::Changed(c, _) = t { Some(c.id) } else { None }).collect();
        changed.sort_unstable();
        changed.dedup();
        let told = if viewers.is_empty() {
            Told::default()
        } else {
            store.live().told(viewers, changed).await.unwrap_or_default()
        };
        for (telling, recipients) in run.into_iter().zip(recipients) {
            match telling {
                Telling::Alert { json, users } => self.tell_that(json, |scope| users.contains(&scope.user_id)),
                Telling::Changed(conversation, message) => {
                    let frames = once_per_viewer(recipients, |viewer| {
                        let (conversation, views) = told.rows.get(&(viewer, conversation.id))?.as_ref()?;
                        let counts = told.counts.get(&viewer)?;
                        Some(ServerFrame::Inbox { conversation, message: message.as_deref(), views, counts }.to_json())
                    });
                    self.tell_each(frames);
                }
            }
        }
    }

    /// Something changed what the agents whose scope `sees` count (a seen mark, an item, their
    /// rights): each gets their counts, and `resync` when their lists may hold other rows now.
    pub async fn recount(&self, store: &Store, resync: bool, sees: impl Fn(&AgentScope) -> bool) {
        let recipients = self.watching(sees);
        if recipients.is_empty() {
            return;
        }
        let told = told(store, &recipients).await;
        let frames = once_per_viewer(recipients, |viewer| {
            Some(ServerFrame::Counts { counts: told.counts.get(&viewer)?, resync }.to_json())
        });
        self.tell_each(frames);
    }
}

/// Each recipient's frame, made once per viewer and shared by every socket of theirs (an agent
/// with the app open in several tabs, or many supervisors signed in as one account).
fn once_per_viewer(recipients: Vec<(u64, Viewer)>, make: impl Fn(Viewer) -> Option<String>) -> HashMap<u64, Arc<str>> {
    let mut made: HashMap<Viewer, Option<Arc<str>>> = HashMap::new();
    recipients
        .into_iter()
        .filter_map(|(inbox, viewer)| {
            let json = made.entry(viewer).or_insert_with(|| make(viewer).map(Arc::from)).clone()?;
            Some((inbox, json))
        })
        .collect()
}

/// Reads, once per agent among `recipients`, their counts; nothing when the store cannot answer
/// now (the app resynchronises on its next frame or reconnection).
async fn told(store: &Store, recipients: &[(u64, Viewer)]) -> Told {
    let viewers: HashSet<Viewer> = recipients.iter().map(|(_, v)| *v).collect();
    store.live().told(viewers, Vec::new()).await.unwrap_or_default()
}

/// What an event tells the inboxes, kept until the run of events it came in is told.
pub(super) enum Telling {
    /// A conversation changed, with a message or not.
    Changed(Box<Conversation>, Option<Box<Message>>),
    Alert {
        json: Arc<str>,
        users: Vec<i64>,
    },
}
