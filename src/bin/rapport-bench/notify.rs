//! The `notify` scenario: emails falling due, handed to an SMTP sink of this tool's own.

use crate::machine::{percentiles, round, Limits};
use crate::scenarios::print;
use crate::server::Server;
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One email as the sink got it: when, and about which conversation.
struct Arrival {
    at_ms: i64,
    conversation: i64,
    message_id: String,
}

/// A local SMTP server for Rapport to send to: Rapport's own listener code with a handler
/// that only notes what arrived (so the sink costs the machine as little as possible).
pub struct SmtpSink {
    port: u16,
    got: Arc<Mutex<Vec<Arrival>>>,
    _stop: tokio_util::sync::DropGuard,
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl SmtpSink {
    pub async fn start() -> Result<SmtpSink, String> {
        use rapport::mail::smtpd;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let got: Arc<Mutex<Vec<Arrival>>> = Arc::default();
        let sink = got.clone();
        let handler: smtpd::Handler = Arc::new(move |_envelope, raw: Vec<u8>| {
            let at_ms = wall_ms();
            let text = String::from_utf8_lossy(&raw);
            let header = |name: &str| {
                text.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_owned()).unwrap_or_default()
            };
            let arrival = Arrival {
                at_ms,
                conversation: header("X-Rapport-Conversation:").parse().unwrap_or(0),
                message_id: header("Message-ID:"),
            };
            sink.lock().unwrap_or_else(|p| p.into_inner()).push(arrival);
            Box::pin(async { Ok(()) })
        });
        let limits = smtpd::Limits {
            max_message_bytes: 1 << 20,
            max_recipients: 10,
            max_connections: 64,
            max_connections_per_address: 64,
            command_timeout: Duration::from_secs(60),
            max_idle_commands: usize::MAX,
            max_session: Duration::from_secs(24 * 3600),
            hostname: "sink.bench".into(),
            ..smtpd::Limits::default()
        };
        let stop = tokio_util::sync::CancellationToken::new();
        tokio::spawn(smtpd::serve(listener, limits, handler, stop.clone()));
        Ok(SmtpSink { port, got, _stop: stop.drop_guard() })
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("RAPPORT_SMTP_URL", format!("smtp://127.0.0.1:{}", self.port)),
            ("RAPPORT_SMTP_FROM", "Bench Support <support@bench.test>".into()),
        ]
    }

    fn count(&self) -> usize {
        self.got.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn take(&self) -> Vec<Arrival> {
        std::mem::take(&mut *self.got.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// A new widget conversation with one customer message; its id and the message's time.
async fn customer_message(server: &Server) -> Result<(i64, i64), String> {
    let visitor = server.post("/api/v1/widget/visitors", json!({}), None).await?;
    let token = visitor["token"].as_str().ok_or("no visitor token")?.to_owned();
    let created = server
        .post("/api/v1/widget/conversations", json!({"message": {"body": "where is my order?"}}), Some(&token))
        .await?;
    let id = created["conversation"]["id"].as_i64().ok_or("no conversation")?;
    let at = created["message"]["created_at"].as_i64().ok_or_else(|| format!("no message: {created}"))?;
    Ok((id, at))
}

/// Notifications falling due: `n` at once after a restart (all to be handed to SMTP in ≤ 5 s,
/// none twice, none for messages seen), then a steady stream over a minute (each to reach SMTP
/// ≤ 250 ms p99 after its deadline).
pub async fn notify(mut server: Server, sink: SmtpSink, limits: &Limits, n: usize) -> Result<(), String> {
    let mut env = sink.env();
    env.push(("RAPPORT_NOTIFY_DELAY_SECS", "3600".into()));
    server.restart(&env).await?;
    let seen_every = 10;
    eprintln!("posting {} customer messages, every {seen_every}th seen by the agent ...", n + n / (seen_every - 1));
    let server = Arc::new(server);
    let total = n + n / (seen_every - 1);
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (server, next) = (server.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut unseen = Vec::new();
            while (next.fetch_add(1, Ordering::Relaxed) as usize) < total {
                let (id, _) = customer_message(&server).await?;
                if (id as usize).is_multiple_of(seen_every) {
                    server.post(&format!("/api/v1/conversations/{id}/seen"), json!({"seq": 2}), None).await?;
                    seen.push(id);
                } else {
                    unseen.push(id);
                }
            }
            Ok::<_, String>((seen, unseen))
        }));
    }
    let (mut seen, mut unseen) = (std::collections::HashSet::new(), std::collections::HashSet::new());
    for task in tasks {
        let (s, u) = task.await.map_err(|e| e.to_string())??;
        seen.extend(s);
        unseen.extend(u);
    }
    let mut server = Arc::try_unwrap(server).map_err(|_| "server still shared")?;
    // All of them fall due the moment the server comes back with a one-second delay.
    env.pop();
    env.push(("RAPPORT_NOTIFY_DELAY_SECS", "1".into()));
    let started = Instant::now();
    server.restart(&env).await?;
    while sink.count() < unseen.len() && started.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let all_in = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let got = sink.take();
    let mut ids: Vec<&str> = got.iter().map(|a| a.message_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let for_seen = got.iter().filter(|a| seen.contains(&a.conversation)).count();
    print(json!({
        "scenario": "notify", "part": "due_at_once", "due": unseen.len(), "seen_skipped": seen.len(),
        "delivered": got.len(), "twice": got.len() - ids.len(), "for_seen_messages": for_seen,
        "seconds_to_hand_all_to_smtp": round(all_in), "emails_per_s": (got.len() as f64 / all_in).round(),
        "fsync_per_s": limits.fsync_per_s.round(), "raw_insert_per_s": limits.raw_insert_per_s.round(),
        "emails_per_s_vs_fsync": round(got.len() as f64 / all_in / limits.fsync_per_s),
        "target": {"seconds_to_hand_all_to_smtp": "<= 5", "twice": 0, "for_seen_messages": 0},
    }));

    // A steady stream: 20 messages a second for a minute, each due a minute after it was posted.
    env.pop();
    env.push(("RAPPORT_NOTIFY_DELAY_SECS", "60".into()));
    server.restart(&env).await?;
    let mut deadlines = std::collections::HashMap::new();
    let begin = Instant::now();
    for i in 0..1200u32 {
        let at = begin + Duration::from_millis(50 * i as u64);
        tokio::time::sleep_until(at.into()).await;
        let (id, created) = customer_message(&server).await?;
        deadlines.insert(id, created + 60_000);
    }
    while sink.count() < deadlines.len() && begin.elapsed() < Duration::from_secs(200) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let lateness: Vec<f64> =
        sink.take().iter().filter_map(|a| deadlines.get(&a.conversation).map(|d| (a.at_ms - d) as f64)).collect();
    let on_time = lateness.len();
    let (p50, p99) = percentiles(lateness);
    print(json!({
        "scenario": "notify", "part": "spread_over_a_minute", "due": deadlines.len(), "delivered": on_time,
        "late_p50_ms": round(p50), "late_p99_ms": round(p99),
        "target": {"late_p99_ms": "<= 250"},
    }));
    Ok(())
}
