//! Reliability under the two failures a one-host server meets: the process killed in the middle
//! of a write load (`kill -9`), and the disk filling up.
//!
//! - kill -9 under a load of 50 sockets (agents and widget visitors), again and again: after
//!   each restart every acknowledged message is there exactly once, a resent unacknowledged one
//!   at most once, every conversation is numbered 1..n without a gap, the database passes
//!   `PRAGMA integrity_check`, and the emails that were pending when the process died go out.
//! - A full disk (a small tmpfs): every refused write is a 507 `storage_full`, nothing is
//!   acknowledged that was not committed, no attachment is half-written, reads go on, and writes
//!   work again as soon as there is room, without a restart.
//!
//! The short forms run with every `cargo test` (3 kill rounds, a 24 MiB disk). Set
//! `RAPPORT_LONG=1` for the long forms: 25 kill rounds over 100 sockets with longer loads, and a
//! 64 MiB disk kept full for 10 seconds of load. Each run prints its seed; `RAPPORT_SEED=N`
//! repeats its random choices. Mounting the tmpfs needs root: where that fails the full-disk
//! test prints a notice and passes, unless `CI` is set, when it fails.

use crate::helpers::*;
use crate::notifications::read as read_mail;
use crate::smtp::SmtpServer;
use futures_util::{SinkExt, StreamExt};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, RngCore, SeedableRng};
use rapport::store::db::Connection;
use rapport::store::Location;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::time::{sleep, timeout};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// How long any one answer may take before the test calls the server stuck.
const WAIT: Duration = Duration::from_secs(30);

fn long_form() -> bool {
    std::env::var("RAPPORT_LONG").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// A random generator whose seed is printed, or taken from `RAPPORT_SEED` to repeat a run.
fn seeded(test: &str) -> StdRng {
    let seed = std::env::var("RAPPORT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random::<u64>);
    println!("{test}: seed {seed} (RAPPORT_SEED={seed} repeats this run)");
    StdRng::seed_from_u64(seed)
}

// ---- What was acknowledged, and what the database holds ----

/// Where a message was stored, as its acknowledgement (or the database) says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stored {
    id: i64,
    conversation: i64,
    seq: i64,
}

impl Stored {
    /// From an `ack` frame.
    fn of_ack(frame: &Value) -> Stored {
        let field = |key: &str| frame[key].as_i64().unwrap_or_else(|| panic!("{key} in {frame}"));
        Stored { id: field("message_id"), conversation: field("conversation_id"), seq: field("seq") }
    }

    /// From a message as the REST API answers it.
    fn of_message(message: &Value) -> Stored {
        let field = |key: &str| message[key].as_i64().unwrap_or_else(|| panic!("{key} in {message}"));
        Stored { id: field("id"), conversation: field("conversation_id"), seq: field("seq") }
    }
}

/// Runs `f`, which reads the database, where blocking is allowed (PostgreSQL's client runs a
/// runtime of its own, which may not start on the test's async threads).
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// The data of `data_dir`, read-only: its SQLite file, or its database on the suite's
/// PostgreSQL server.
fn open_read_only(data_dir: &Path) -> Connection {
    match crate::helpers::config_for(data_dir).database() {
        Location::Sqlite(path) => Connection::Lite(
            rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .expect("the database opens"),
        ),
        Location::Postgres(config) => {
            rapport::store::db::connect_pg(&config, true).expect("the PostgreSQL database opens")
        }
    }
}

/// Every message sent with a client id, by client id (the tests make them unique).
fn stored_messages(db: &Connection) -> BTreeMap<String, Vec<Stored>> {
    let mut stored: BTreeMap<String, Vec<Stored>> = BTreeMap::new();
    let mut stmt =
        db.prepare("SELECT client_id, id, conversation_id, seq FROM messages WHERE client_id IS NOT NULL").unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, Stored { id: r.get(1)?, conversation: r.get(2)?, seq: r.get(3)? }))
        })
        .unwrap();
    for row in rows {
        let (client_id, at) = row.unwrap();
        stored.entry(client_id).or_default().push(at);
    }
    stored
}

/// Every acknowledged message is stored exactly once, where its acknowledgement said; each of
/// the others (sent, never acknowledged) at most once.
#[track_caller]
fn assert_acked_once<'a>(
    stored: &BTreeMap<String, Vec<Stored>>,
    acked: &BTreeMap<String, Stored>,
    unacked: impl IntoIterator<Item = &'a String>,
    when: &str,
) {
    let wrong: Vec<_> = acked
        .iter()
        .filter(|(client_id, ack)| stored.get(*client_id).map(Vec::as_slice) != Some(std::slice::from_ref(*ack)))
        .map(|(client_id, ack)| format!("{client_id}: acknowledged as {ack:?}, stored as {:?}", stored.get(client_id)))
        .collect();
    assert!(
        wrong.is_empty(),
        "{when}: {} of {} acknowledged messages are not stored exactly once as acknowledged: {:?}",
        wrong.len(),
        acked.len(),
        &wrong[..wrong.len().min(5)]
    );
    let doubled: Vec<_> =
        unacked.into_iter().filter(|client_id| stored.get(*client_id).is_some_and(|s| s.len() > 1)).collect();
    assert!(doubled.is_empty(), "{when}: stored more than once: {doubled:?}");
}

/// The database passes its integrity check, and every conversation holds the messages
/// 1..=last_seq, each seq once.
#[track_caller]
fn assert_sound(db: &Connection, when: &str) {
    if !db.is_postgres() {
        let integrity: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(integrity, "ok", "{when}: integrity_check");
    }
    let conversations: Vec<[i64; 6]> = db
        .prepare(
            "SELECT c.id, c.last_seq, count(m.id), count(DISTINCT m.seq), coalesce(min(m.seq), 1), coalesce(max(m.seq), 0)
             FROM conversations c LEFT JOIN messages m ON m.conversation_id = c.id GROUP BY c.id",
        )
        .unwrap()
        .query_map([], |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?]))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for [id, last_seq, count, distinct, min, max] in conversations {
        assert!(
            count == last_seq && distinct == count && min == 1 && max == last_seq,
            "{when}: conversation {id} has {count} messages with {distinct} distinct seqs {min}..={max}, last_seq {last_seq}"
        );
    }
}

// ---- Sockets ----

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Who writes over a socket: an agent with an API token, or a widget visitor with theirs.
#[derive(Clone, Debug)]
enum Author {
    Agent(String),
    Visitor(String),
}

impl Author {
    async fn socket(&self, base: &str) -> Ws {
        let ws = base.replacen("http://", "ws://", 1);
        let request = match self {
            Author::Agent(token) => {
                let mut request = format!("{ws}/api/v1/socket").into_client_request().unwrap();
                request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
                request
            }
            Author::Visitor(token) => format!("{ws}/api/v1/widget/socket?token={token}").into_client_request().unwrap(),
        };
        let connected =
            timeout(WAIT, tokio_tungstenite::connect_async(request)).await.expect("the socket opens in time");
        connected.expect("the socket opens").0
    }
}

/// Sends a message and returns the server's answer: its `ack` or an `error` frame; `None` when
/// the connection ends first. Other frames (hello, backlogs, live messages) are skipped.
async fn send(ws: &mut Ws, conversation: i64, client_id: &str) -> Option<Value> {
    let frame = json!({"type": "send", "conversation_id": conversation, "client_id": client_id,
        "body": format!("message {client_id}")});
    ws.send(Message::text(frame.to_string())).await.ok()?;
    loop {
        let next = timeout(WAIT, ws.next()).await.unwrap_or_else(|_| panic!("no answer to {client_id} in {WAIT:?}"));
        match next? {
            Ok(Message::Text(text)) => {
                let frame: Value = serde_json::from_str(&text).expect("a JSON frame");
                if frame["type"] == "error" || (frame["type"] == "ack" && frame["client_id"] == client_id) {
                    return Some(frame);
                }
            }
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// Customers may send 50 frames a second: a visitor's socket stays below that.
const VISITOR_PACE: Duration = Duration::from_millis(25);

// ---- kill -9 under load ----

/// How long notifications wait to be seen before they are emailed, in the kill test: short,
/// so that the emails pending at a kill fall due soon after the restart.
const NOTIFY_DELAY_SECS: u64 = 2;

/// The real `rapport serve` on port 0, with no `RAPPORT_*` setting but the given ones. It is
/// killed if the test ends without stopping it.
struct Binary {
    child: Child,
    base: String,
    log: Arc<Mutex<String>>,
}

impl Binary {
    /// Starts the server and waits until it serves (it logs the port it bound).
    async fn start(data_dir: &Path, settings: &[(&str, String)]) -> Binary {
        let mut cmd = clean_command(env!("CARGO_BIN_EXE_rapport"));
        // The port bound is read from the text log.
        cmd.env("RAPPORT_LOG_FORMAT", "text")
            .envs(settings.iter().map(|(k, v)| (k, v)))
            .envs(crate::helpers::postgres_database(data_dir).map(|url| ("RAPPORT_DATABASE_URL", url)))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("rapport serve starts");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut server = Binary { child, base: String::new(), log };
        let start = Instant::now();
        loop {
            let port = serving_port(&server.log.lock().unwrap());
            if let Some(port) = port {
                server.base = format!("http://127.0.0.1:{port}");
                return server;
            }
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("rapport serve exited with {status}: {}", server.tail());
            }
            assert!(start.elapsed() < WAIT, "rapport serve did not start: {}", server.tail());
            sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL: the process dies where it stands.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL sent");
        self.child.wait().expect("the killed process is reaped");
    }

    /// SIGTERM, and a clean exit.
    async fn terminate(mut self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs").success());
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "exit after SIGTERM: {status}: {}", self.tail());
                return;
            }
            assert!(start.elapsed() < WAIT, "no exit after SIGTERM: {}", self.tail());
            sleep(Duration::from_millis(50)).await;
        }
    }

    /// The end of the server's log, for failure messages.
    fn tail(&self) -> String {
        let log = self.log.lock().unwrap();
        let from = (log.len().saturating_sub(4000)..log.len()).find(|&i| log.is_char_boundary(i)).unwrap_or(0);
        log[from..].to_owned()
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The port in the server's `rapport is serving ... port=N` log line.
fn serving_port(log: &str) -> Option<u16> {
    let line = log.lines().find(|l| l.contains("rapport is serving"))?;
    let rest = &line[line.find(" port=")? + " port=".len()..];
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// One socket of the load: who writes, and into which conversation.
#[derive(Clone)]
struct Writer {
    author: Author,
    conversation: i64,
}

/// The people and conversations of the kill test, made once.
struct Cast {
    writers: Vec<Writer>,
    /// A visitor who starts a new conversation just before each kill.
    canary: String,
    /// Who a new customer conversation is emailed to: the whole team.
    team: Vec<String>,
}

async fn new_visitor(base: &str) -> String {
    Client::anonymous(base).post("/api/v1/widget/visitors", json!({})).await.ok()["token"].as_str().unwrap().to_owned()
}

/// An admin and two agents with API tokens, and `per_side` visitors each in their own
/// conversation: one socket per visitor, and as many agent sockets, half of them answering a
/// visitor and half sharing one busy internal conversation.
async fn cast(server: &Binary, data_dir: &Path, per_side: usize) -> Cast {
    let password = rapport::domain::Password::parse(rapport::domain::Secret::new(PASSWORD)).unwrap();
    rapport::cli::admin::create(&crate::helpers::config_for(data_dir).database(), ADMIN_EMAIL, "Ada Admin", password)
        .await
        .expect("admin created");
    let admin = Client::logged_in(&server.base, ADMIN_EMAIL).await;
    let mut team = vec![ADMIN_EMAIL.to_owned()];
    let mut tokens = vec![admin.api_token().await];
    for name in ["bea", "cid"] {
        let email = format!("{name}@example.com");
        let user = json!({"email": email, "name": name, "role": "agent", "password": PASSWORD});
        admin.post("/api/v1/users", user).await.ok();
        tokens.push(Client::logged_in(&server.base, &email).await.api_token().await);
        team.push(email);
    }
    team.sort();
    let busy = admin.conversation(json!({"kind": "internal", "subject": "Busy"})).await;
    let mut writers = Vec::new();
    for i in 0..per_side {
        let visitor = new_visitor(&server.base).await;
        let started = Client::visitor(&server.base, &visitor)
            .post("/api/v1/widget/conversations", json!({"message": {"body": format!("visitor {i} here")}}))
            .await
            .ok();
        let conversation = started["conversation"]["id"].as_i64().unwrap();
        writers.push(Writer { author: Author::Visitor(visitor), conversation });
        let author = Author::Agent(tokens[i % tokens.len()].clone());
        writers.push(Writer { author, conversation: if i % 2 == 0 { conversation } else { busy } });
    }
    Cast { writers, canary: new_visitor(&server.base).await, team }
}

/// What one socket sent and what it was told.
#[derive(Default)]
struct Sent {
    acked: Vec<(String, Stored)>,
    /// Sent when the connection ended (or refused): stored or not, nobody was told.
    unacked: Vec<String>,
    errors: Vec<Value>,
}

/// Subscribes to the writer's conversation (after `after_seq`) and sends one message after
/// another, each once the last is acknowledged, until the connection ends.
async fn write_until_cut(mut ws: Ws, writer: Writer, after_seq: i64, prefix: String, acks: Arc<AtomicUsize>) -> Sent {
    let subscribe = json!({"type": "subscribe", "conversation_id": writer.conversation, "after_seq": after_seq});
    let mut sent = Sent::default();
    if ws.send(Message::text(subscribe.to_string())).await.is_err() {
        return sent;
    }
    for n in 1.. {
        let client_id = format!("{prefix}-{n}");
        match send(&mut ws, writer.conversation, &client_id).await {
            Some(frame) if frame["type"] == "ack" => {
                sent.acked.push((client_id, Stored::of_ack(&frame)));
                acks.fetch_add(1, Ordering::Relaxed);
            }
            // A visitor faster than a person is refused (nothing stored) and waits its turn.
            Some(refused) if refused["code"] == "too_many_messages" => {
                sent.unacked.push(client_id);
                sleep(Duration::from_millis(500)).await;
            }
            Some(error) => {
                sent.unacked.push(client_id);
                sent.errors.push(error);
            }
            None => {
                sent.unacked.push(client_id);
                break;
            }
        }
        if matches!(writer.author, Author::Visitor(_)) {
            sleep(VISITOR_PACE).await;
        }
    }
    sent
}

/// Everything the kill test was told, over all rounds.
#[derive(Default)]
struct Ledger {
    acked: BTreeMap<String, Stored>,
    /// Sent but never acknowledged, with the index of the writer that sent it.
    unacked: BTreeMap<String, usize>,
    errors: Vec<Value>,
    /// Each round's canary message.
    canaries: Vec<String>,
    /// Emails queued but not yet sent when a kill came.
    queued_at_kills: usize,
}

struct KillTest {
    data: PathBuf,
    settings: Vec<(&'static str, String)>,
    smtp: SmtpServer,
    cast: Cast,
    ledger: Ledger,
    rng: StdRng,
    /// The load runs up to this long before the kill, once every socket has had an ack.
    max_load_ms: u64,
}

impl KillTest {
    /// One round: the load, a customer message nobody sees, SIGKILL at a random moment; then
    /// the checks on what the crash left, a restart, resends and the pending emails. Returns
    /// the restarted server.
    async fn round(&mut self, round: usize, server: Binary) -> Binary {
        let last_seqs: BTreeMap<i64, i64> = blocking(|| {
            open_read_only(&self.data)
                .prepare("SELECT id, last_seq FROM conversations")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        });
        let acks = Arc::new(AtomicUsize::new(0));
        let mut load = Vec::new();
        for (i, writer) in self.cast.writers.iter().enumerate() {
            let ws = writer.author.socket(&server.base).await;
            let after_seq = last_seqs[&writer.conversation];
            load.push(tokio::spawn(write_until_cut(
                ws,
                writer.clone(),
                after_seq,
                format!("r{round}-w{i}"),
                acks.clone(),
            )));
        }
        let start = Instant::now();
        while acks.load(Ordering::Relaxed) < self.cast.writers.len() {
            assert!(start.elapsed() < WAIT, "round {round}: the load does not get going: {}", server.tail());
            sleep(Duration::from_millis(10)).await;
        }
        sleep(Duration::from_millis(self.rng.gen_range(0..self.max_load_ms))).await;

        // A customer writes in and nobody sees it: the team is owed an email, due only after the
        // notification delay, so still pending when the process dies a moment later.
        let canary = format!("canary-{round}-{:08x}", self.rng.gen::<u32>());
        let started = Client::visitor(&server.base, &self.cast.canary)
            .post("/api/v1/widget/conversations", json!({"message": {"body": canary}}))
            .await
            .ok();
        let canary_conversation = started["conversation"]["id"].as_i64().unwrap();
        sleep(Duration::from_millis(self.rng.gen_range(0..150))).await;
        server.kill();

        for (writer, task) in load.into_iter().enumerate() {
            let sent = timeout(WAIT, task).await.expect("the sockets notice the kill").expect("a load task");
            self.ledger.acked.extend(sent.acked);
            self.ledger.unacked.extend(sent.unacked.into_iter().map(|client_id| (client_id, writer)));
            self.ledger.errors.extend(sent.errors);
        }
        assert!(self.ledger.errors.is_empty(), "round {round}: error frames: {:?}", &self.ledger.errors);

        let (stored, queued_mail) = blocking(|| self.check_crash(round, canary_conversation));
        let server = Binary::start(&self.data, &self.settings).await;
        self.resend_some(round, &server, &stored).await;
        self.wait_for_mail(round, canary_conversation, &queued_mail).await;
        self.ledger.queued_at_kills += queued_mail.len();
        self.ledger.canaries.push(canary);
        server
    }

    /// Checks a copy of the files as the kill left them (opening the copy recovers its WAL as
    /// the restart will): sound, every ack kept, the canary's emails still owed. Returns the
    /// stored messages and the emails that were queued but not sent.
    fn check_crash(&self, round: usize, canary_conversation: i64) -> (BTreeMap<String, Vec<Stored>>, Vec<String>) {
        // On SQLite, a copy of the files (opening it recovers its WAL as the restart will); on
        // PostgreSQL, the database itself (the kill stopped Rapport, not the server).
        let copy = tempfile::tempdir().unwrap();
        let db = if crate::helpers::test_postgres().is_some() {
            open_read_only(&self.data)
        } else {
            let live = rapport::store::db_path(&self.data);
            let file = copy.path().join("rapport.db");
            std::fs::copy(&live, &file).unwrap();
            let wal = PathBuf::from(format!("{}-wal", live.display()));
            if wal.exists() {
                std::fs::copy(&wal, copy.path().join("rapport.db-wal")).unwrap();
            }
            Connection::open(&file).unwrap()
        };
        let when = format!("round {round}, as the kill left it");
        assert_sound(&db, &when);
        let stored = stored_messages(&db);
        assert_acked_once(&stored, &self.ledger.acked, self.ledger.unacked.keys(), &when);
        let count = |sql: &str| -> i64 { db.query_row(sql, [canary_conversation], |r| r.get(0)).unwrap() };
        let owed =
            count("SELECT count(*) FROM pending_notifications WHERE conversation_id = ?1 AND party_kind = 'user'");
        let queued = count("SELECT count(*) FROM outbox WHERE conversation_id = ?1");
        assert_eq!(
            (owed, queued),
            (self.cast.team.len() as i64, 0),
            "{when}: the canary's emails should be owed to the team and not yet queued"
        );
        let queued_mail = db
            .prepare("SELECT message_id FROM outbox WHERE status = 'pending'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        (stored, queued_mail)
    }

    /// Sends a few unacknowledged messages again, as a client that reconnects does: each is
    /// acknowledged, as the message the crash kept if it kept one.
    async fn resend_some(&mut self, round: usize, server: &Binary, stored: &BTreeMap<String, Vec<Stored>>) {
        let prefix = format!("r{round}-");
        let this_round: Vec<(String, usize)> = self
            .ledger
            .unacked
            .iter()
            .filter(|(id, _)| id.starts_with(&prefix))
            .map(|(id, w)| (id.clone(), *w))
            .collect();
        for (client_id, writer) in this_round.choose_multiple(&mut self.rng, 5) {
            let writer = &self.cast.writers[*writer];
            let mut ws = writer.author.socket(&server.base).await;
            let answer = send(&mut ws, writer.conversation, client_id).await.expect("an answer to the resend");
            assert_eq!(answer["type"], "ack", "round {round}: resending {client_id}: {answer}");
            let ack = Stored::of_ack(&answer);
            match stored.get(client_id) {
                Some(kept) => {
                    assert_eq!(answer["replayed"], true, "round {round}: {client_id} was stored: {answer}");
                    assert_eq!(ack, kept[0], "round {round}: the resend of {client_id} names another message");
                }
                None => assert_eq!(answer["replayed"], false, "round {round}: {client_id} was not stored: {answer}"),
            }
            self.ledger.unacked.remove(client_id);
            self.ledger.acked.insert(client_id.clone(), ack);
        }
    }

    /// Waits until the restarted server has sent the canary's emails and every email that was
    /// queued but unsent when it was killed, and checks that the SMTP server got them.
    async fn wait_for_mail(&self, round: usize, canary_conversation: i64, queued: &[String]) {
        let start = Instant::now();
        loop {
            let (canary_sent, unsent) = blocking(|| {
                let db = open_read_only(&self.data);
                let canary_sent: i64 = db
                    .query_row(
                        "SELECT count(*) FROM outbox WHERE conversation_id = ?1 AND status = 'sent'",
                        [canary_conversation],
                        |r| r.get(0),
                    )
                    .unwrap();
                let mut status = db.prepare("SELECT status FROM outbox WHERE message_id = ?1").unwrap();
                let unsent = queued
                    .iter()
                    .filter(|id| status.query_row([id], |r| r.get::<_, String>(0)).unwrap() != "sent")
                    .count();
                (canary_sent, unsent)
            });
            if canary_sent == self.cast.team.len() as i64 && unsent == 0 {
                break;
            }
            assert!(
                start.elapsed() < WAIT,
                "round {round}: after the restart, {canary_sent} of the canary's emails were sent, and {unsent} of \
                 the {} emails queued at the kill are still unsent",
                queued.len()
            );
            sleep(Duration::from_millis(100)).await;
        }
        let delivered: BTreeSet<String> = self.smtp.messages().iter().map(|m| read_mail(m).message_id).collect();
        let missing: Vec<_> = queued.iter().filter(|id| !delivered.contains(*id)).collect();
        assert!(missing.is_empty(), "round {round}: marked sent, never delivered: {missing:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_under_a_socket_write_load_loses_and_repeats_nothing() {
    let (rounds, per_side, max_load_ms) = if long_form() { (25, 50, 5000) } else { (3, 25, 1500) };
    let rng = seeded("kill -9 under load");
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let settings = vec![
        ("RAPPORT_SMTP_URL", smtp.url()),
        ("RAPPORT_SMTP_FROM", format!("Acme Support <{}>", crate::notifications::SUPPORT)),
        ("RAPPORT_NOTIFY_DELAY_SECS", NOTIFY_DELAY_SECS.to_string()),
        ("RAPPORT_VISITOR_LIMIT", "100000".to_owned()),
    ];
    let mut server = Binary::start(&data, &settings).await;
    let cast = cast(&server, &data, per_side).await;
    let mut test = KillTest { data, settings, smtp, cast, ledger: Ledger::default(), rng, max_load_ms };
    for round in 0..rounds {
        server = test.round(round, server).await;
    }
    server.terminate().await;

    let stored = blocking(|| {
        let db = open_read_only(&test.data);
        assert_sound(&db, "after the last round");
        stored_messages(&db)
    });
    assert_acked_once(&stored, &test.ledger.acked, test.ledger.unacked.keys(), "after the last round");
    let mail: Vec<_> = test.smtp.messages().iter().map(|m| read_mail(m)).collect();
    for canary in &test.ledger.canaries {
        let mut to: Vec<&str> =
            mail.iter().filter(|m| m.text.contains(canary.as_str())).map(|m| m.to.as_str()).collect();
        to.sort_unstable();
        assert_eq!(to, test.cast.team, "{canary}: one email to each member of the team, once");
    }
    println!(
        "{rounds} kills under {} sockets: {} messages acknowledged, {} sent without an ack; {} emails, {} of \
         them queued and unsent at a kill",
        test.cast.writers.len(),
        test.ledger.acked.len(),
        test.ledger.unacked.len(),
        mail.len(),
        test.ledger.queued_at_kills
    );
}

// ---- A full disk ----

/// A tmpfs mounted on a fresh directory, unmounted when dropped, also when the test fails.
struct SmallDisk {
    mount: PathBuf,
    _parent: tempfile::TempDir,
}

impl SmallDisk {
    /// `None`, after a notice, where mounting is not possible (not root); with `CI` set, that
    /// fails the test instead.
    fn mount(mib: u64) -> Option<SmallDisk> {
        let parent = tempfile::tempdir().unwrap();
        let mount = parent.path().join("disk");
        std::fs::create_dir(&mount).unwrap();
        let out =
            Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"]).arg(&mount).output();
        let why = match out {
            Ok(out) if out.status.success() => return Some(SmallDisk { mount, _parent: parent }),
            Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            Err(e) => e.to_string(),
        };
        assert!(std::env::var_os("CI").is_none(), "cannot mount a tmpfs for the full-disk test (it needs root): {why}");
        eprintln!("notice: the full-disk test did not run: cannot mount a tmpfs (it needs root): {why}");
        None
    }

    /// Fills the disk with one file, leaving about `free` bytes; returns the file.
    fn fill(&self, free: u64) -> PathBuf {
        let path = self.mount.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0x5a_u8; 1 << 20];
        loop {
            match file.write_all(&chunk) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
                Err(e) => panic!("filling the disk: {e}"),
            }
        }
        let len = file.metadata().unwrap().len();
        file.set_len(len.saturating_sub(free)).unwrap();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let unmounted = Command::new("umount").arg(&self.mount).status().is_ok_and(|s| s.success());
        if !unmounted {
            // Still busy (a failed test left a server running): detach it all the same.
            let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
        }
    }
}

const UPLOAD_BYTES: usize = 1 << 20;

/// The content of upload `n`: 1 MiB unlike any other upload's.
fn file_bytes(n: u64) -> Vec<u8> {
    let mut bytes = vec![0; UPLOAD_BYTES];
    StdRng::seed_from_u64(n).fill_bytes(&mut bytes);
    bytes
}

async fn upload(client: &Client, n: u64) -> Answer {
    let sent = client
        .request(Method::POST, &format!("/api/v1/attachments?filename=file-{n}.bin"))
        .header("content-type", "application/octet-stream")
        .body(file_bytes(n))
        .send()
        .await
        .expect("upload sent");
    answer(sent).await
}

async fn download(client: &Client, id: i64) -> (u16, Vec<u8>) {
    let got = client.request(Method::GET, &format!("/api/v1/attachments/{id}")).send().await.expect("download sent");
    (got.status().as_u16(), got.bytes().await.map(|b| b.to_vec()).unwrap_or_default())
}

/// Where the full-disk test writes and reads.
struct Targets {
    base: String,
    agent_token: String,
    visitor_token: String,
    internal: i64,
    public: i64,
    /// Uploaded (as upload 0) before the disk was filled; read throughout.
    kept_file: i64,
    /// The app's clock: the visitor writes as fast as the customer write limit lets them, and
    /// the test moves time on when it says to wait.
    clock: rapport::clock::ManualClock,
}

/// The ways in of the full-disk test's writes.
const ROUTES: [&str; 5] = ["http-agent", "http-visitor", "socket-agent", "socket-visitor", "upload"];

/// What the full-disk test's load was told.
#[derive(Default)]
struct Tally {
    acked: BTreeMap<String, Stored>,
    /// Client ids of messages refused with 507 `storage_full`.
    refused: BTreeSet<String>,
    accepted: BTreeMap<&'static str, usize>,
    refusals: BTreeMap<&'static str, usize>,
    /// Uploaded attachments: id → upload number.
    files: BTreeMap<i64, u64>,
    /// Reads served after the first refusal.
    reads_while_full: usize,
    /// Anything else: a 500, a closed socket, a failed read.
    wrong: Vec<String>,
}

/// An answer to a write.
enum Outcome {
    Done,
    Full,
    Wrong(String),
}

impl Tally {
    fn count(&mut self, route: &'static str, outcome: Outcome) {
        match outcome {
            Outcome::Done => *self.accepted.entry(route).or_default() += 1,
            Outcome::Full => *self.refusals.entry(route).or_default() += 1,
            Outcome::Wrong(what) => self.wrong.push(format!("{route}: {what}")),
        }
    }

    fn message(&mut self, route: &'static str, client_id: String, answer: Result<Stored, Outcome>) {
        match answer {
            Ok(stored) => {
                self.acked.insert(client_id, stored);
                self.count(route, Outcome::Done);
            }
            Err(outcome) => {
                if matches!(outcome, Outcome::Full) {
                    self.refused.insert(client_id);
                }
                self.count(route, outcome);
            }
        }
    }

    fn summary(&self) -> String {
        format!(
            "accepted {:?}, refused {:?}, {} reads while full, wrong answers: {:?}",
            self.accepted,
            self.refusals,
            self.reads_while_full,
            &self.wrong[..self.wrong.len().min(5)]
        )
    }
}

/// A refusal must be a 507 `storage_full`; anything else is wrong.
fn refusal(answer: &Answer) -> Outcome {
    if answer.status.as_u16() == 507 && answer.code() == "storage_full" {
        Outcome::Full
    } else {
        Outcome::Wrong(format!("{} {}", answer.status, answer.body))
    }
}

type Shared = (Arc<Mutex<Tally>>, Arc<AtomicBool>);

async fn http_messages(
    client: Client,
    path: String,
    route: &'static str,
    phase: &'static str,
    clock: rapport::clock::ManualClock,
    (tally, stop): Shared,
) {
    for n in 1.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let client_id = format!("{phase}-{route}-{n}");
        let posted = client.post(&path, json!({"body": format!("message {client_id}"), "client_id": client_id}));
        let answer = timeout(WAIT, posted).await.expect("an answer in time (is the writer stuck?)");
        if answer.status == 429 && answer.code() == "too_many_messages" {
            // Refused before the store, stored nowhere: wait (in the app's time) and go on.
            clock.advance_ms(2_000);
            continue;
        }
        let outcome =
            if answer.status.is_success() { Ok(Stored::of_message(&answer.body)) } else { Err(refusal(&answer)) };
        let full = matches!(outcome, Err(Outcome::Full));
        tally.lock().unwrap().message(route, client_id, outcome);
        if full {
            sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn socket_messages(
    author: Author,
    base: String,
    conversation: i64,
    route: &'static str,
    phase: &'static str,
    clock: rapport::clock::ManualClock,
    (tally, stop): Shared,
) {
    let mut ws = author.socket(&base).await;
    for n in 1.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let client_id = format!("{phase}-{route}-{n}");
        let outcome = match send(&mut ws, conversation, &client_id).await {
            Some(frame) if frame["type"] == "ack" => Ok(Stored::of_ack(&frame)),
            Some(frame) if frame["code"] == "storage_full" && frame["client_id"] == client_id.as_str() => {
                Err(Outcome::Full)
            }
            Some(frame) if frame["code"] == "too_many_messages" => {
                // As over HTTP: refused before the store; wait (in the app's time) and go on.
                clock.advance_ms(2_000);
                continue;
            }
            Some(frame) => Err(Outcome::Wrong(frame.to_string())),
            None => Err(Outcome::Wrong("the socket closed".into())),
        };
        let closed = matches!(&outcome, Err(Outcome::Wrong(w)) if w == "the socket closed");
        tally.lock().unwrap().message(route, client_id, outcome);
        if closed {
            break;
        }
        sleep(if matches!(author, Author::Visitor(_)) { VISITOR_PACE } else { Duration::from_millis(2) }).await;
    }
}

/// Uploads 1 MiB files until stopped, or until `most` are accepted (so that the load after the
/// disk has room again does not fill it once more).
async fn uploads(client: Client, first: u64, most: usize, (tally, stop): Shared) {
    for n in first.. {
        if stop.load(Ordering::Relaxed) || tally.lock().unwrap().accepted.get("upload").copied().unwrap_or(0) >= most {
            break;
        }
        let answer = timeout(WAIT, upload(&client, n)).await.expect("an answer in time (is the writer stuck?)");
        let mut tally = tally.lock().unwrap();
        if answer.status.as_u16() == 201 {
            tally.files.insert(answer.body["id"].as_i64().unwrap(), n);
            tally.count("upload", Outcome::Done);
        } else {
            tally.count("upload", refusal(&answer));
        }
    }
}

/// Reads beside the writes: a page of messages, the caller, and a whole attachment.
async fn reads(client: Client, conversation: i64, file: i64, (tally, stop): Shared) {
    let expected = file_bytes(0);
    while !stop.load(Ordering::Relaxed) {
        let page = client.get(&format!("/api/v1/conversations/{conversation}/messages?limit=50")).await;
        let me = client.get("/api/v1/me").await;
        let (status, bytes) = download(&client, file).await;
        {
            let mut tally = tally.lock().unwrap();
            if !page.status.is_success() || !me.status.is_success() || status != 200 || bytes != expected {
                let what = format!(
                    "messages {} {}, me {}, download {status} ({} bytes)",
                    page.status,
                    page.body,
                    me.status,
                    bytes.len()
                );
                tally.wrong.push(format!("read: {what}"));
            } else if !tally.refusals.is_empty() {
                tally.reads_while_full += 1;
            }
        }
        sleep(Duration::from_millis(20)).await;
    }
}

/// Runs the load — messages over HTTP and sockets as an agent and as a visitor, 1 MiB uploads,
/// and reads beside them — for at least `min_time` and until `enough` says so.
async fn load_until(t: &Targets, phase: &'static str, min_time: Duration, enough: impl Fn(&Tally) -> bool) -> Tally {
    let shared: Shared = (Arc::new(Mutex::new(Tally::default())), Arc::new(AtomicBool::new(false)));
    let agent = || Client::anonymous(&t.base).with_bearer(&t.agent_token);
    let (internal, public) = (
        format!("/api/v1/conversations/{}/messages", t.internal),
        format!("/api/v1/widget/conversations/{}/messages", t.public),
    );
    let visitor = Client::visitor(&t.base, &t.visitor_token);
    let (first_upload, most_uploads) = if phase == "full" { (1, usize::MAX) } else { (1_000_000, 3) };
    let tasks = vec![
        tokio::spawn(http_messages(agent(), internal, "http-agent", phase, t.clock.clone(), shared.clone())),
        tokio::spawn(http_messages(visitor, public, "http-visitor", phase, t.clock.clone(), shared.clone())),
        tokio::spawn(socket_messages(
            Author::Agent(t.agent_token.clone()),
            t.base.clone(),
            t.internal,
            "socket-agent",
            phase,
            t.clock.clone(),
            shared.clone(),
        )),
        tokio::spawn(socket_messages(
            Author::Visitor(t.visitor_token.clone()),
            t.base.clone(),
            t.public,
            "socket-visitor",
            phase,
            t.clock.clone(),
            shared.clone(),
        )),
        tokio::spawn(uploads(agent(), first_upload, most_uploads, shared.clone())),
        tokio::spawn(reads(agent(), t.internal, t.kept_file, shared.clone())),
    ];
    let (tally, stop) = shared;
    let start = Instant::now();
    loop {
        let done = start.elapsed() >= min_time && enough(&tally.lock().unwrap());
        if done {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(90), "{phase}: {}", tally.lock().unwrap().summary());
        sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        timeout(WAIT, task).await.expect("the load stops").expect("a load task");
    }
    Arc::try_unwrap(tally).ok().unwrap().into_inner().unwrap()
}

/// Every acknowledged message is stored once as acknowledged and no refused one at all; the
/// attachments are exactly the acknowledged uploads, each whole and downloading as uploaded;
/// the database is sound.
async fn check_full_disk_outcome(app: &TestApp, agent: &Client, tally: &Tally, kept_file: i64, when: &str) {
    let db = open_read_only(&app.data_dir);
    assert_sound(&db, when);
    let stored = stored_messages(&db);
    assert_acked_once(&stored, &tally.acked, [], when);
    let kept: Vec<_> = tally.refused.iter().filter(|id| stored.contains_key(*id)).collect();
    assert!(kept.is_empty(), "{when}: refused with 507 and stored all the same: {kept:?}");

    let files: Vec<(i64, i64, i64)> = db
        .prepare(
            "SELECT a.id, a.size, coalesce(sum(length(c.data)), 0) FROM attachments a
             LEFT JOIN attachment_chunks c ON c.attachment_id = a.id GROUP BY a.id ORDER BY a.id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let ids: Vec<i64> = files.iter().map(|f| f.0).collect();
    let mut expected: Vec<i64> = tally.files.keys().copied().chain([kept_file]).collect();
    expected.sort_unstable();
    assert_eq!(ids, expected, "{when}: the attachments stored are not exactly the acknowledged uploads");
    for (id, size, chunks) in files {
        assert_eq!((size, chunks), (UPLOAD_BYTES as i64, UPLOAD_BYTES as i64), "{when}: attachment {id} is not whole");
    }
    for (&id, &n) in tally.files.iter().chain([(&kept_file, &0)]) {
        let (status, bytes) = download(agent, id).await;
        assert_eq!(status, 200, "{when}: attachment {id}");
        assert!(bytes == file_bytes(n), "{when}: attachment {id} downloads {} bytes unlike the upload", bytes.len());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_disk_refuses_writes_with_507_loses_nothing_and_recovers_without_a_restart() {
    if crate::helpers::sqlite_only("the disk that fills is the one of the SQLite file") {
        return;
    }
    let long = long_form();
    let Some(disk) = SmallDisk::mount(if long { 64 } else { 24 }) else { return };
    let data = disk.mount.join("data");
    let app = spawn_app_at(&data).await;
    let admin = app.admin().await;
    let agent_token = admin.api_token().await;
    let agent = admin.with_bearer(&agent_token);
    let (visitor_token, _) = visitor(&app).await;
    let public = Client::visitor(&app.base, &visitor_token)
        .post("/api/v1/widget/conversations", json!({"message": {"body": "hello"}}))
        .await
        .ok()["conversation"]["id"]
        .as_i64()
        .unwrap();
    let internal = admin.conversation(json!({"kind": "internal", "subject": "Full"})).await;
    let kept_file = upload(&agent, 0).await.ok()["id"].as_i64().unwrap();
    let targets = Targets {
        base: app.base.clone(),
        agent_token,
        visitor_token,
        internal,
        public,
        kept_file,
        clock: app.clock.clone(),
    };

    // Fill the disk but for a few MiB, then write until every way in is refused, reading beside.
    let filler = disk.fill(if long { 16 << 20 } else { 6 << 20 });
    let held = Duration::from_secs(if long { 10 } else { 0 });
    let full = load_until(&targets, "full", held, |t| {
        ROUTES.iter().all(|r| t.refusals.get(r).copied().unwrap_or(0) >= 3) && t.reads_while_full >= 3
    })
    .await;
    assert!(full.wrong.is_empty(), "while the disk filled: {}", full.summary());
    println!("with the disk full: {}", full.summary());
    check_full_disk_outcome(&app, &agent, &full, kept_file, "with the disk full").await;

    // Room again: every way in works at once, with no restart.
    std::fs::remove_file(&filler).unwrap();
    let free = load_until(&targets, "free", Duration::ZERO, |t| {
        ROUTES.iter().all(|r| t.accepted.get(r).copied().unwrap_or(0) >= 3)
    })
    .await;
    assert!(free.wrong.is_empty() && free.refusals.is_empty(), "once there is room again: {}", free.summary());

    // Everything acknowledged in both phases, and after a restart.
    let mut all = full;
    all.acked.extend(free.acked);
    all.files.extend(free.files);
    check_full_disk_outcome(&app, &agent, &all, kept_file, "once there is room again").await;
    app.stop().await;
    let app = spawn_app_at(&data).await;
    let agent = Client::anonymous(&app.base).with_bearer(&targets.agent_token);
    check_full_disk_outcome(&app, &agent, &all, kept_file, "after a restart").await;
    app.stop().await;
    drop(disk);
}
