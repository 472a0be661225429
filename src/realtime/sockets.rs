//! Every open socket and whose it is, so that a change of someone's rights reaches all their
//! sockets (in a room or not) as a `Recheck` ahead of anything committed after it.

use super::lock;
use super::queue::{offer_each, Delivery, Queue};
use crate::store::Principal;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The open sockets, by the id each got when it opened.
pub(super) struct Sockets {
    open: Mutex<HashMap<u64, Socket>>,
    next_id: AtomicU64,
}

/// An open socket, found by whose it is when their rights change.
struct Socket {
    holder: Holder,
    queue: Queue,
}

impl AsRef<Queue> for Socket {
    fn as_ref(&self) -> &Queue {
        &self.queue
    }
}

/// Whose a socket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Holder {
    User(i64),
    Customer(i64),
}

impl Default for Sockets {
    fn default() -> Sockets {
        Sockets { open: Mutex::default(), next_id: AtomicU64::new(1) }
    }
}

impl Sockets {
    /// Registers an open socket until `forget`; its id, which names it to rooms, inboxes and
    /// presence too.
    pub fn register(&self, principal: &Principal, queue: Queue) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let holder = match principal {
            Principal::Agent { user_id, .. } => Holder::User(*user_id),
            Principal::Customer { customer_id, .. } => Holder::Customer(*customer_id),
        };
        lock(&self.open).insert(id, Socket { holder, queue });
        id
    }

    pub fn forget(&self, id: u64) {
        lock(&self.open).remove(&id);
    }

    /// Makes every socket of `holder` re-check its rights before it passes on anything queued
    /// after this.
    pub fn recheck(&self, holder: Holder) {
        offer_each(&mut lock(&self.open), |_, socket| (socket.holder == holder).then_some(Delivery::Recheck(None)));
    }
}
