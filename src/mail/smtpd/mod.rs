//! The built-in inbound SMTP listener: a team points a domain's MX (or a forward from its own
//! MTA) at Rapport, and Rapport receives the mail itself.
//!
//! This is the subset of RFC 5321 a final-destination MX needs: EHLO/HELO, MAIL, RCPT, DATA,
//! RSET, NOOP, QUIT, VRFY and HELP, with SIZE, 8BITMIME, PIPELINING and SMTPUTF8 advertised.
//! STARTTLS is deliberately not offered: mail arrives in clear text, so either run it behind a
//! relay that terminates TLS or use it for a forward from the team's own MTA over a trusted
//! network. There is no AUTH either, since it only receives mail for the team, never relays.
//!
//! Every recipient is accepted at RCPT time; the handler sees the whole envelope after DATA and
//! decides for the message as a whole. The final 250 is sent only after the handler returned
//! `Ok`, so it is the promise that the message is stored.
//!
//! Idle clients cost a connection each, so no client keeps one long: each command must come
//! within `command_timeout` (30 s by default; only a message's lines get `data_timeout`), at
//! most `max_idle_commands` commands that move no mail (NOOP, RSET, ...) may come between two
//! messages, and a session lasts at most `max_session`. No address may hold more than
//! `max_connections_per_address` of the `max_connections` sessions, so one address hogging
//! connections leaves room for everyone else.

use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

mod session;
use session::Session;

/// Who sent a message and to whom, as the client declared it.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub peer: SocketAddr,
    /// The name the client gave in HELO/EHLO.
    pub helo: String,
    /// The reverse path without angle brackets; empty for a bounce (`MAIL FROM:<>`).
    pub mail_from: String,
    /// The forward paths without angle brackets, in the order given.
    pub rcpt_to: Vec<String>,
}

/// Why a message is refused: an SMTP code (4xx temporary, 5xx permanent) and a short text.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub code: u16,
    pub text: String,
}

/// Stores one message; `Ok` means it is durable, since the client is then told 250.
pub type Handler = Arc<dyn Fn(Envelope, Vec<u8>) -> BoxFuture<'static, Result<(), Refusal>> + Send + Sync>;

#[derive(Debug, Clone)]
pub struct Limits {
    /// The message after dot-unstuffing, with CRLF line ends.
    pub max_message_bytes: usize,
    pub max_recipients: usize,
    /// Concurrent sessions; further connections are told 421 and closed.
    pub max_connections: usize,
    /// Concurrent sessions from one client address; further ones from it are told 421.
    pub max_connections_per_address: usize,
    /// IPv6 clients count as one address per network of this many bits (IPv4 ones by address).
    pub ipv6_prefix: u8,
    /// How long the client may take to send each command (also how long a reply may take to be
    /// written).
    pub command_timeout: Duration,
    /// How long the client may take to send each line of a message.
    pub data_timeout: Duration,
    /// Commands that move no mail (NOOP, RSET, VRFY, HELP, a repeated HELO/EHLO) allowed between
    /// two messages; one more ends the session.
    pub max_idle_commands: usize,
    /// How long a session may last. Checked while waiting for a command, so a message already
    /// under way is received in full.
    pub max_session: Duration,
    /// The name in the greeting and in EHLO/HELO replies.
    pub hostname: String,
}

impl Default for Limits {
    /// A final-destination MX's: short waits where an idle client is the threat, RFC 5321's 3
    /// minutes for each block of a message (4.5.3.2.5).
    fn default() -> Limits {
        Limits {
            max_message_bytes: 10 << 20,
            max_recipients: 100,
            max_connections: 64,
            max_connections_per_address: 8,
            ipv6_prefix: 64,
            command_timeout: Duration::from_secs(30),
            data_timeout: Duration::from_secs(180),
            max_idle_commands: 20,
            max_session: Duration::from_secs(10 * 60),
            hostname: "localhost".into(),
        }
    }
}

/// Who holds how many sessions: the listener as a whole, and each client address.
struct Gate {
    slots: Arc<Semaphore>,
    per_address: Mutex<HashMap<String, usize>>,
    max_per_address: usize,
    ipv6_prefix: u8,
}

/// A session's place at the gate, given up when it is dropped.
struct Admitted {
    gate: Arc<Gate>,
    address: String,
    _slot: OwnedSemaphorePermit,
}

impl Gate {
    fn admit(self: &Arc<Gate>, peer: IpAddr) -> Result<Admitted, &'static str> {
        let address = crate::domain::client_network(peer, self.ipv6_prefix);
        let mut counts = self.per_address.lock().unwrap_or_else(|p| p.into_inner());
        let held = counts.entry(address.clone()).or_default();
        if *held >= self.max_per_address {
            return Err("Too many connections from your address, try again later");
        }
        let slot = self.slots.clone().try_acquire_owned().map_err(|_| "Too many connections, try again later")?;
        *held += 1;
        Ok(Admitted { gate: self.clone(), address, _slot: slot })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut counts = self.gate.per_address.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(held) = counts.get_mut(&self.address) {
            *held -= 1;
            if *held == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

/// Serves until `stop` is cancelled; each connection in its own task.
///
/// Returns once every open session has ended: each is told 421 at its next command or data line,
/// and a handler that is already running completes first, so no accepted message is lost.
pub async fn serve(listener: TcpListener, limits: Limits, handler: Handler, stop: CancellationToken) {
    // acquire_many takes a u32; no real deployment needs more sessions than that.
    let slots = limits.max_connections.min(Semaphore::MAX_PERMITS).min(u32::MAX as usize);
    let gate = Arc::new(Gate {
        slots: Arc::new(Semaphore::new(slots)),
        per_address: Mutex::default(),
        max_per_address: limits.max_connections_per_address.max(1),
        ipv6_prefix: limits.ipv6_prefix,
    });
    let limits = Arc::new(limits);
    loop {
        let (stream, peer) = tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Usually out of file descriptors: back off rather than spin.
                    tracing::warn!("inbound SMTP accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // Replies are small writes answering small writes: without this, Nagle's algorithm and
        // delayed ACKs add tens of milliseconds to every command.
        let _ = stream.set_nodelay(true);
        let admitted = match gate.admit(peer.ip()) {
            Ok(admitted) => admitted,
            Err(why) => {
                tracing::warn!(%peer, "inbound SMTP: {why}; refusing");
                // A fresh socket's send buffer is empty, so this never waits; no task per refusal.
                let _ = stream.try_write(format!("421 {} {why}\r\n", clean(&limits.hostname)).as_bytes());
                continue;
            }
        };
        let (limits, handler, stop) = (limits.clone(), handler.clone(), stop.clone());
        tokio::spawn(async move {
            tracing::debug!(%peer, "inbound SMTP session starts");
            let mut session = Session::new(stream, peer, limits, handler, stop);
            if let Err(e) = session.run().await {
                tracing::debug!(%peer, "inbound SMTP session ends with an I/O error: {e}");
            }
            // The slot goes before the socket closes, so a client that saw the close can reconnect.
            drop(admitted);
        });
    }
    // Every slot back means every session has ended.
    let _ = gate.slots.acquire_many(slots as u32).await;
}

/// Strips line breaks so that no text can forge an extra reply line.
fn clean(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}
