//! A socket's queue, and the one way anything is handed to it: offered without waiting, and a
//! socket that falls behind (its queue is full) or is gone is cut off rather than waited for.
//! Rooms, inboxes and the socket registry all deliver through `offer_each`, so none of them can
//! hold up the others for one slow reader; the socket resumes by `seq` when it reconnects.

use super::Outbound;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// What a socket's queue carries, in the order the changes committed.
#[derive(Debug, Clone)]
pub(crate) enum Delivery {
    Frame(Arc<Outbound>),
    /// Rights changed: the socket re-checks them before it passes on anything queued after
    /// this. `Some(id)`: only who may see that conversation changed.
    Recheck(Option<i64>),
}

/// A socket's queue and the token that cuts it off.
#[derive(Clone)]
pub(crate) struct Queue {
    pub tx: Sender,
    pub kick: CancellationToken,
}

impl Queue {
    /// Queues without waiting; a socket whose queue is full or closed is cut off (it resumes
    /// by seq). Whether the socket kept it.
    pub(crate) fn offer(&self, delivery: Delivery) -> bool {
        let kept = self.tx.try_send(delivery);
        if !kept {
            self.kick.cancel();
        }
        kept
    }
}

/// A bounded queue of deliveries for one socket. Unlike a channel it holds no memory while
/// empty: most sockets are idle most of the time, and there may be a hundred thousand of them.
struct Mailbox {
    /// What waits, and whether the receiving socket is gone (`None`).
    waiting: Mutex<Option<VecDeque<Delivery>>>,
    bound: usize,
    ring: Notify,
}

/// Where the hub hands a socket its deliveries.
#[derive(Clone)]
pub(crate) struct Sender(Arc<Mailbox>);

/// The socket's end; dropping it closes the mailbox.
pub(crate) struct Receiver(Arc<Mailbox>);

/// A mailbox that holds at most `bound` deliveries.
pub(crate) fn mailbox(bound: usize) -> (Sender, Receiver) {
    let mailbox = Arc::new(Mailbox { waiting: Mutex::new(Some(VecDeque::new())), bound, ring: Notify::new() });
    (Sender(mailbox.clone()), Receiver(mailbox))
}

impl Sender {
    /// Whether the delivery was queued: false when the mailbox is full or its socket gone.
    pub(crate) fn try_send(&self, delivery: Delivery) -> bool {
        let mut waiting = self.0.waiting.lock().unwrap_or_else(|p| p.into_inner());
        match waiting.as_mut() {
            Some(queue) if queue.len() < self.0.bound => queue.push_back(delivery),
            _ => return false,
        }
        drop(waiting);
        self.0.ring.notify_one();
        true
    }
}

impl Receiver {
    /// The next delivery, in the order they were queued. Cancel-safe.
    pub(crate) async fn recv(&mut self) -> Delivery {
        loop {
            if let Some(delivery) = self.try_recv() {
                return delivery;
            }
            // A ring while nobody waited is kept for the next wait: none is lost.
            self.0.ring.notified().await;
        }
    }

    fn try_recv(&self) -> Option<Delivery> {
        let mut waiting = self.0.waiting.lock().unwrap_or_else(|p| p.into_inner());
        let queue = waiting.as_mut()?;
        let delivery = queue.pop_front();
        if queue.is_empty() && queue.capacity() > 16 {
            *queue = VecDeque::new(); // a burst's room is given back
        }
        delivery
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        *self.0.waiting.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

impl AsRef<Queue> for Queue {
    fn as_ref(&self) -> &Queue {
        self
    }
}

/// Offers each socket held in `sockets` (by socket id) what `pick` gives it, if anything, and
/// forgets every socket that was cut off: the registry stops telling a socket that is closing.
pub(crate) fn offer_each<T: AsRef<Queue>>(
    sockets: &mut HashMap<u64, T>,
    mut pick: impl FnMut(u64, &T) -> Option<Delivery>,
) {
    sockets.retain(|id, socket| match pick(*id, socket) {
        Some(delivery) => socket.as_ref().offer(delivery),
        None => true,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(size: usize) -> (Queue, Receiver) {
        let (tx, rx) = mailbox(size);
        (Queue { tx, kick: CancellationToken::new() }, rx)
    }

    #[test]
    fn a_socket_that_falls_behind_or_is_gone_is_cut_off_and_forgotten_the_others_are_told() {
        let (behind, _behind_rx) = queue(1);
        let (gone, gone_rx) = queue(4);
        let (keeping, keeping_rx) = queue(4);
        let (passed_over, passed_over_rx) = queue(4);
        drop(gone_rx);
        behind.offer(Delivery::Recheck(None));
        let mut sockets = HashMap::from([(1, behind.clone()), (2, gone.clone()), (3, keeping), (4, passed_over)]);
        offer_each(&mut sockets, |id, _| (id != 4).then_some(Delivery::Recheck(Some(7))));
        let mut left: Vec<u64> = sockets.keys().copied().collect();
        left.sort();
        assert_eq!(left, [3, 4]);
        assert!(behind.kick.is_cancelled() && gone.kick.is_cancelled());
        assert!(matches!(keeping_rx.try_recv(), Some(Delivery::Recheck(Some(7)))));
        assert!(passed_over_rx.try_recv().is_none(), "not picked: told nothing");
        assert!(!sockets[&3].kick.is_cancelled() && !sockets[&4].kick.is_cancelled());
    }

    #[tokio::test]
    async fn a_mailbox_keeps_the_order_and_its_bound_wakes_its_socket_and_refuses_once_it_is_gone() {
        let seq = |d: Delivery| match d {
            Delivery::Recheck(Some(n)) => n,
            other => panic!("{other:?}"),
        };
        let (tx, mut rx) = mailbox(2);
        assert!(tx.try_send(Delivery::Recheck(Some(1))) && tx.try_send(Delivery::Recheck(Some(2))));
        assert!(!tx.try_send(Delivery::Recheck(Some(3))), "full");
        assert_eq!(seq(rx.recv().await), 1);
        let waiting = tokio::spawn(async move { (seq(rx.recv().await), seq(rx.recv().await), rx) });
        tokio::task::yield_now().await;
        assert!(tx.try_send(Delivery::Recheck(Some(4))));
        let (second, third, rx) = waiting.await.unwrap();
        assert_eq!((second, third), (2, 4));
        drop(rx);
        assert!(!tx.try_send(Delivery::Recheck(Some(5))), "its socket is gone");
    }
}
