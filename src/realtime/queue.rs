//! A socket's queue, and the one way anything is handed to it: offered without waiting, and a
//! socket that falls behind (its queue is full) or is gone is cut off rather than waited for.
//! Rooms, inboxes and the socket registry all deliver through `offer_each`, so none of them can
//! hold up the others for one slow reader; the socket resumes by `seq` when it reconnects.

use super::Outbound;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc;
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
    pub tx: mpsc::Sender<Delivery>,
    pub kick: CancellationToken,
}

impl Queue {
    /// Queues without waiting; a socket whose queue is full or closed is cut off (it resumes
    /// by seq). Whether the socket kept it.
    pub(crate) fn offer(&self, delivery: Delivery) -> bool {
        let kept = self.tx.try_send(delivery).is_ok();
        if !kept {
            self.kick.cancel();
        }
        kept
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

    fn queue(size: usize) -> (Queue, mpsc::Receiver<Delivery>) {
        let (tx, rx) = mpsc::channel(size);
        (Queue { tx, kick: CancellationToken::new() }, rx)
    }

    #[test]
    fn a_socket_that_falls_behind_or_is_gone_is_cut_off_and_forgotten_the_others_are_told() {
        let (behind, _behind_rx) = queue(1);
        let (gone, gone_rx) = queue(4);
        let (keeping, mut keeping_rx) = queue(4);
        let (passed_over, mut passed_over_rx) = queue(4);
        drop(gone_rx);
        behind.offer(Delivery::Recheck(None));
        let mut sockets = HashMap::from([(1, behind.clone()), (2, gone.clone()), (3, keeping), (4, passed_over)]);
        offer_each(&mut sockets, |id, _| (id != 4).then_some(Delivery::Recheck(Some(7))));
        let mut left: Vec<u64> = sockets.keys().copied().collect();
        left.sort();
        assert_eq!(left, [3, 4]);
        assert!(behind.kick.is_cancelled() && gone.kick.is_cancelled());
        assert!(matches!(keeping_rx.try_recv(), Ok(Delivery::Recheck(Some(7)))));
        assert!(passed_over_rx.try_recv().is_err(), "not picked: told nothing");
        assert!(!sockets[&3].kick.is_cancelled() && !sockets[&4].kick.is_cancelled());
    }
}
