//! Which agents are connected, and whether they are online or away: an agent is online when any
//! of their sockets says so, away when all their sockets are away, offline with none open.

use super::lock;
use super::protocol::PresenceStatus;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub(super) struct Presences(Mutex<HashMap<i64, Presence>>);

struct Presence {
    name: String,
    sockets: HashMap<u64, PresenceStatus>,
}

impl Presence {
    fn status(&self) -> PresenceStatus {
        let mut statuses = self.sockets.values();
        if statuses.clone().any(|s| *s == PresenceStatus::Online) {
            PresenceStatus::Online
        } else if statuses.next().is_some() {
            PresenceStatus::Away
        } else {
            PresenceStatus::Offline
        }
    }
}

impl Presences {
    /// Records one agent socket's status (`None`: the socket closed); returns the agent's
    /// overall status when that changed.
    pub(super) fn set(
        &self,
        user_id: i64,
        name: &str,
        socket: u64,
        status: Option<PresenceStatus>,
    ) -> Option<PresenceStatus> {
        let mut presence = lock(&self.0);
        let entry =
            presence.entry(user_id).or_insert_with(|| Presence { name: name.to_owned(), sockets: HashMap::new() });
        let before = entry.status();
        match status {
            Some(s) => entry.sockets.insert(socket, s),
            None => entry.sockets.remove(&socket),
        };
        let after = entry.status();
        if entry.sockets.is_empty() {
            presence.remove(&user_id);
        }
        (before != after).then_some(after)
    }

    /// Whether any agent is connected and not away.
    pub(super) fn anyone_online(&self) -> bool {
        lock(&self.0).values().any(|p| p.status() == PresenceStatus::Online)
    }

    /// Every connected agent: id, name and status.
    pub(super) fn all(&self) -> Vec<(i64, String, PresenceStatus)> {
        lock(&self.0).iter().map(|(id, p)| (*id, p.name.clone(), p.status())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PresenceStatus::{Away, Offline, Online};

    #[test]
    fn an_agent_is_online_while_any_socket_is_away_when_all_are_and_gone_with_the_last() {
        let p = Presences::default();
        assert_eq!(p.set(7, "Ann", 1, Some(Online)), Some(Online));
        assert_eq!(p.set(7, "Ann", 2, Some(Away)), None, "one socket away: still online");
        assert!(p.anyone_online());
        assert_eq!(p.set(7, "Ann", 1, Some(Away)), Some(Away));
        assert!(!p.anyone_online());
        assert_eq!(p.all(), vec![(7, "Ann".to_owned(), Away)]);
        assert_eq!(p.set(7, "Ann", 1, None), None, "one away socket left");
        assert_eq!(p.set(7, "Ann", 2, None), Some(Offline));
        assert!(p.all().is_empty());
    }
}
