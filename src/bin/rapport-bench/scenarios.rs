//! The scenarios. Each prints JSON lines: its figures beside the machine's limits and targets.

use crate::client::{self, Ws};
use crate::machine::{cpu_seconds, percentiles, round, rss_kib, Limits};
use crate::server::Server;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// Senders over sockets, each waiting for the ack (sent only after the commit) before sending
/// again: throughput and ack latency at 1, 16 and 256 concurrent senders, and the server's CPU
/// time per 1,000 messages when its process is known.
pub async fn durable(server: &Server, limits: &Limits, duration: Duration) -> Result<Vec<Value>, String> {
    let mut lines = Vec::new();
    for senders in [1usize, 16, 256] {
        let mut sockets = Vec::new();
        for _ in 0..senders {
            let created = server.post("/api/v1/conversations", json!({"kind": "internal"}), None).await?;
            let conversation = created["conversation"]["id"].as_i64().ok_or("no conversation id")?;
            let ws = client::connect(&server.ws_url("/api/v1/socket"), Some(&server.token)).await?;
            sockets.push((conversation, ws));
        }
        let cpu_before = server.pid().and_then(cpu_seconds);
        let started = Instant::now();
        let deadline = started + duration;
        let mut tasks = Vec::new();
        for (i, (conversation, mut ws)) in sockets.into_iter().enumerate() {
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut n = 0u64;
                while Instant::now() < deadline {
                    n += 1;
                    let client_id = format!("s{i}-{n}");
                    let frame = json!({"type": "send", "conversation_id": conversation, "client_id": client_id,
                        "body": "a benchmark message of about this length"});
                    let sent = Instant::now();
                    client::send(&mut ws, &frame).await?;
                    loop {
                        let f = client::until(&mut ws, "ack").await?;
                        if f["client_id"] == client_id.as_str() {
                            break;
                        }
                    }
                    latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                }
                Ok::<_, String>(latencies)
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.map_err(|e| e.to_string())??);
        }
        let elapsed = started.elapsed().as_secs_f64().max(duration.as_secs_f64());
        let cpu = cpu_before.zip(server.pid().and_then(cpu_seconds)).map(|(before, after)| after - before);
        let cpu_per_1k = cpu.filter(|_| !all.is_empty()).map(|cpu| round(cpu * 1000.0 / (all.len() as f64 / 1000.0)));
        let rate = all.len() as f64 / elapsed;
        let (p50, p99) = percentiles(all);
        let target = if senders == 1 {
            json!({"msgs_per_s_vs_fsync": ">= 0.9"})
        } else if senders == 256 {
            json!({"msgs_per_s": ">= 50000", "p99_ms": "<= 5"})
        } else {
            json!(null)
        };
        let mut line = json!({
            "scenario": "durable", "senders": senders, "msgs_per_s": rate.round(), "p50_ms": round(p50), "p99_ms": round(p99),
            "server_cpu_ms_per_1k_msgs": cpu_per_1k,
            "fsync_per_s": limits.fsync_per_s.round(), "raw_insert_per_s": limits.raw_insert_per_s.round(),
            "msgs_per_s_vs_fsync": round(rate / limits.fsync_per_s), "msgs_per_s_vs_raw_insert": round(rate / limits.raw_insert_per_s),
            "target": target,
        });
        with_store(&mut line, limits, |p| round(rate / if senders == 1 { p.one } else { p.sixteen }));
        lines.push(line);
    }
    Ok(lines)
}

/// Adds the store's fields to a line: which store, PostgreSQL's own rates and `ratio` of the
/// line's rate to them.
fn with_store(line: &mut Value, limits: &Limits, ratio: impl Fn(crate::machine::Pgbench) -> f64) {
    if let (Some(fields), Some(map)) = (limits.store_fields().as_object(), line.as_object_mut()) {
        map.extend(fields.clone());
        if let Some(p) = limits.pgbench {
            map.insert("msgs_per_s_vs_pgbench".into(), json!(ratio(p)));
        }
    }
}

/// One JSON line of figures on stdout.
pub fn print(line: Value) {
    println!("{line}");
}

type Samples = Arc<Mutex<Vec<f64>>>;

/// Reads a socket until told to stop, recording send→receive latency of every message frame
/// (the send time is in the body) while `recording` is on.
fn receive(
    mut stream: SplitStream<Ws>,
    epoch: Instant,
    samples: Samples,
    recording: Arc<AtomicBool>,
    received: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(Ok(msg)) = stream.next().await {
            let Message::Text(text) = msg else { continue };
            if !recording.load(Ordering::Relaxed) {
                continue;
            }
            // A delivery is a message frame (the conversation's subscribers) or an inbox frame (the
            // supervisors); alerts carry the body too but are not what is measured. Both found
            // without parsing the whole frame (the client shares the machine with the server).
            if !(text.starts_with("{\"type\":\"message\"") || text.starts_with("{\"type\":\"inbox\"")) {
                continue;
            }
            let Some(at) = text.find("\"body\":\"t=") else { continue };
            let body = &text[at + 8..];
            let body = &body[..body.find('"').unwrap_or(body.len())];
            if let Some(sent) = body.strip_prefix("t=").and_then(|t| t.parse::<u64>().ok()) {
                let now = epoch.elapsed().as_micros() as u64;
                samples.lock().unwrap_or_else(|p| p.into_inner()).push(now.saturating_sub(sent) as f64 / 1000.0);
                received.fetch_add(1, Ordering::Relaxed);
            }
        }
    })
}

/// Conversations × (1 customer + 2 agents) and supervisors watching every conversation;
/// customers send at a fixed rate; every subscriber's delivery latency is measured.
pub async fn delivery(
    server: &Server,
    limits: &Limits,
    duration: Duration,
    conversations: usize,
    rate: u64,
    ladder: bool,
) -> Result<Vec<Value>, String> {
    let mut lines = Vec::new();
    // Agents of this run's own (a server measured again keeps those of the runs before).
    let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let agents = [
        server.agent(&format!("agent-a-{run}@example.com")).await?,
        server.agent(&format!("agent-b-{run}@example.com")).await?,
    ];
    let epoch = Instant::now();
    let samples: Samples = Arc::default();
    let recording = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicU64::new(0));
    let mut senders: Vec<(i64, SplitSink<Ws, Message>)> = Vec::with_capacity(conversations);
    // Every socket is closed when the run ends (its halves dropped), so that runs can follow
    // each other against the same server.
    let mut listeners: Vec<SplitSink<Ws, Message>> = Vec::new();
    let mut readers = CloseAll(Vec::new());
    eprintln!("opening {} sockets ...", conversations * 3 + 20);
    let mut socket_no = 0;
    for i in 0..conversations {
        let visitor = server.post("/api/v1/widget/visitors", json!({}), None).await?;
        let token = visitor["token"].as_str().ok_or("no visitor token")?.to_owned();
        let created = server.post("/api/v1/widget/conversations", json!({}), Some(&token)).await?;
        let conversation = created["conversation"]["id"].as_i64().ok_or("no conversation")?;
        let subscribe = json!({"type": "subscribe", "conversation_id": conversation});
        let customer_url = server.ws_url(&format!("/api/v1/widget/socket?token={token}"));
        let mut ws = client::connect(&customer_url, None).await?;
        socket_no += 1;
        client::send(&mut ws, &subscribe).await?;
        client::until(&mut ws, "subscribed").await?;
        let (sink, stream) = ws.split();
        readers.0.push(receive(stream, epoch, samples.clone(), recording.clone(), received.clone()));
        senders.push((conversation, sink));
        for agent in &agents {
            let mut ws = client::connect(&server.ws_url("/api/v1/socket"), Some(agent)).await?;
            socket_no += 1;
            client::send(&mut ws, &subscribe).await?;
            client::until(&mut ws, "subscribed").await?;
            let (sink, stream) = ws.split();
            listeners.push(sink); // kept open for the run
            readers.0.push(receive(stream, epoch, samples.clone(), recording.clone(), received.clone()));
        }
        if i % 1000 == 999 {
            eprintln!("  {} conversations ready", i + 1);
        }
    }
    const SUPERVISORS: usize = 20;
    for _ in 0..SUPERVISORS {
        let mut ws = client::connect(&server.ws_url("/api/v1/socket"), Some(&server.token)).await?;
        socket_no += 1;
        client::send(&mut ws, &json!({"type": "watch_inbox"})).await?;
        let (sink, stream) = ws.split();
        listeners.push(sink);
        readers.0.push(receive(stream, epoch, samples.clone(), recording.clone(), received.clone()));
    }
    // Each message reaches the sender's own socket, the 2 agents' and, as an inbox frame, every
    // supervisor's.
    let per_message = 3 + SUPERVISORS as u64;
    let mut max_rate = 0;
    let mut step = rate;
    loop {
        samples.lock().unwrap_or_else(|p| p.into_inner()).clear();
        received.store(0, Ordering::Relaxed);
        recording.store(true, Ordering::Relaxed);
        let sent = send_at(&mut senders, step, duration, epoch).await?;
        let expected = sent * per_message;
        // Late frames count (in the percentiles); frames still missing after 10 s are lost.
        let drained = Instant::now();
        while received.load(Ordering::Relaxed) < expected && drained.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        recording.store(false, Ordering::Relaxed);
        let all = std::mem::take(&mut *samples.lock().unwrap_or_else(|p| p.into_inner()));
        let delivered = all.len() as u64;
        let (p50, p99) = percentiles(all);
        let mut line = json!({
            "scenario": "delivery", "conversations": conversations, "sockets": socket_no, "rate": step,
            "msgs_sent": sent, "deliveries": delivered, "deliveries_expected": expected,
            "lost": expected.saturating_sub(delivered), "p50_ms": round(p50), "p99_ms": round(p99),
            "fsync_per_s": limits.fsync_per_s.round(), "raw_insert_per_s": limits.raw_insert_per_s.round(),
            "target": {"p99_ms": "<= 10 at 2000 msgs/s", "lost": 0},
        });
        with_store(&mut line, limits, |p| round(step as f64 / p.sixteen));
        lines.push(line);
        if !ladder {
            return Ok(lines); // the caller judges the line, lost frames included
        }
        // A step that lost frames (still missing after 10 s: the server fell behind) or went
        // over 50 ms at p99 ends the ladder; its line says which.
        if delivered < expected || p99 > 50.0 || step >= 64_000 {
            break;
        }
        max_rate = step;
        step *= 2;
    }
    lines.push(
        json!({"scenario": "delivery", "max_rate": max_rate, "max_rate_rule": "highest rate tried that lost no frame and whose p99 stayed under 50 ms"}),
    );
    Ok(lines)
}

/// Stops the readers of a run (and so closes their sockets) however the run ends.
struct CloseAll(Vec<tokio::task::JoinHandle<()>>);

impl Drop for CloseAll {
    fn drop(&mut self) {
        for reader in self.0.drain(..) {
            reader.abort();
        }
    }
}

/// Sends `rate` messages a second for `duration`, round-robin over the customers' sockets.
async fn send_at(
    senders: &mut [(i64, SplitSink<Ws, Message>)],
    rate: u64,
    duration: Duration,
    epoch: Instant,
) -> Result<u64, String> {
    let tick = Duration::from_millis(10);
    let mut interval = tokio::time::interval(tick);
    let start = Instant::now();
    let (mut sent, mut next) = (0u64, 0usize);
    while start.elapsed() < duration {
        interval.tick().await;
        let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
        while sent < due {
            let (conversation, sink) = &mut senders[next % senders.len()];
            next += 1;
            sent += 1;
            // Unique across the steps of a run: a client_id seen before is an idempotent replay.
            let frame = json!({"type": "send", "conversation_id": *conversation, "client_id": format!("d{rate}-{sent}"),
                "body": format!("t={}", epoch.elapsed().as_micros())});
            sink.send(Message::text(frame.to_string())).await.map_err(|e| e.to_string())?;
        }
    }
    Ok(sent)
}

/// Idle authenticated sockets, each subscribed to a conversation and answering pings: how
/// many, and the server's memory per socket at each count of `checkpoints` (ascending).
pub async fn connections(server: &Server, limits: &Limits, checkpoints: &[usize]) -> Result<Vec<Value>, String> {
    let pid = server.pid().ok_or("connections measures the server's memory: start it here, or give its --pid")?;
    let mut conversations = Vec::new();
    for _ in 0..100 {
        let created = server.post("/api/v1/conversations", json!({"kind": "internal"}), None).await?;
        conversations.push(created["conversation"]["id"].as_i64().ok_or("no id")?);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(pid).ok_or("cannot read the server's memory")?;
    let open = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(Mutex::new(None::<String>));
    let gate = Arc::new(tokio::sync::Semaphore::new(256));
    let url = server.ws_url("/api/v1/socket");
    let start = Instant::now();
    let mut tasks = Vec::new();
    let mut lines = Vec::new();
    for &count in checkpoints {
        for n in tasks.len()..count {
            let (gate, counter, failed, url, token) =
                (gate.clone(), open.clone(), failed.clone(), url.clone(), server.token.clone());
            let conversation = conversations[n % conversations.len()];
            tasks.push(tokio::spawn(async move {
                let permit = gate.acquire_owned().await;
                let connected = async {
                    let mut ws = client::connect(&url, Some(&token)).await?;
                    client::send(&mut ws, &json!({"type": "subscribe", "conversation_id": conversation})).await?;
                    client::until(&mut ws, "subscribed").await?;
                    Ok::<_, String>(ws)
                }
                .await;
                drop(permit);
                match connected {
                    Ok(mut ws) => {
                        counter.fetch_add(1, Ordering::Relaxed);
                        // Idle, but reading: tungstenite answers the server's pings.
                        while let Some(Ok(_)) = ws.next().await {}
                        counter.fetch_sub(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        failed.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
                    }
                }
            }));
        }
        // Wait until every socket is open or one has failed.
        while (open.load(Ordering::Relaxed) as usize) < count
            && failed.lock().unwrap_or_else(|p| p.into_inner()).is_none()
            && start.elapsed() < Duration::from_secs(600)
        {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let reached = open.load(Ordering::Relaxed);
        let after = rss_kib(pid).unwrap_or(before);
        let per_socket = if reached > 0 { (after.saturating_sub(before)) as f64 / reached as f64 } else { 0.0 };
        eprintln!("  {reached} of {count} sockets open: {} KiB a socket", round(per_socket));
        lines.push(json!({
            "scenario": "connections", "sockets": reached, "requested": count,
            "server_kib_per_socket": round(per_socket), "server_rss_kib_before": before, "server_rss_kib_after": after,
            "seconds_to_open": round(start.elapsed().as_secs_f64()),
            "first_error": *failed.lock().unwrap_or_else(|p| p.into_inner()),
            "fsync_per_s": limits.fsync_per_s.round(), "raw_insert_per_s": limits.raw_insert_per_s.round(),
            "target": {"sockets": ">= 100000", "server_kib_per_socket": "<= 6 at 18000"},
        }));
        if (reached as usize) < count {
            break;
        }
    }
    for task in tasks {
        task.abort();
    }
    Ok(lines)
}
