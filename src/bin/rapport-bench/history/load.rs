//! Load against one server: closed-loop GETs at a given concurrency, and agents' apps told of
//! every change by `inbox` frames while a customer writes. Every answer is counted: a non-2xx
//! status (or a failed request) shows up in `errors` and its latency still counts.

use crate::client;
use crate::machine::{percentiles, round};
use crate::server::Server;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Latencies (ms) and errors by status ("500", "503", ...; "timeout" or "io" without one).
#[derive(Default)]
pub struct Tally {
    latencies: Vec<f64>,
    errors: BTreeMap<String, u64>,
}

impl Tally {
    fn record(&mut self, started: Instant, outcome: Result<reqwest::StatusCode, reqwest::Error>) {
        self.latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        let error = match outcome {
            Ok(status) if status.is_success() => return,
            Ok(status) => status.as_u16().to_string(),
            Err(e) if e.is_timeout() => "timeout".into(),
            Err(_) => "io".into(),
        };
        *self.errors.entry(error).or_default() += 1;
    }

    fn merge(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
    }

    /// The figures as JSON; `seconds` turns the count into a rate.
    pub fn json(self, seconds: f64) -> Value {
        let requests = self.latencies.len();
        let (p50, p99) = percentiles(self.latencies);
        json!({
            "requests": requests, "req_per_s": (requests as f64 / seconds.max(1e-9)).round(),
            "p50_ms": round(p50), "p99_ms": round(p99), "errors": self.errors,
        })
    }
}

/// A GET with the token; the whole body is read, as a client would.
async fn get(http: &reqwest::Client, url: &str, token: &str) -> Result<reqwest::StatusCode, reqwest::Error> {
    let res = http.get(url).bearer_auth(token).send().await?;
    let status = res.status();
    res.bytes().await?;
    Ok(status)
}

/// `concurrency` clients, each sending its next request as soon as the last is answered, for
/// `duration`.
pub async fn closed_loop(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    concurrency: usize,
    duration: Duration,
) -> Value {
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, url, token) = (http.clone(), url.to_owned(), token.to_owned());
            tokio::spawn(async move {
                let mut tally = Tally::default();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    tally.record(t, get(&http, &url, &token).await);
                }
                tally
            })
        })
        .collect();
    let mut all = Tally::default();
    for task in tasks {
        if let Ok(t) = task.await {
            all.merge(t);
        }
    }
    all.json(started.elapsed().as_secs_f64())
}

/// The server's CPU time so far (user + system), in seconds, from /proc.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces): state is the first, utime the 12th.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / clock_ticks())
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

type Shared = Arc<Mutex<Tally>>;

/// When the customer's latest post was sent.
type LastPost = Arc<Mutex<Option<Instant>>>;

/// One agent's app (assets/app/shell.js): each `inbox` frame carries the row, the views it is in
/// and the agent's counts, which the app applies without asking the server again. Recorded:
/// how long after the customer's post the frame reached the app.
async fn app(
    server: &Server,
    token: &str,
    told: Shared,
    last_post: LastPost,
    stop: CancellationToken,
) -> Result<(), String> {
    let mut ws = client::connect(&server.ws_url("/api/v1/socket"), Some(token)).await?;
    client::send(&mut ws, &json!({"type": "watch_inbox"})).await?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                frame = client::next(&mut ws) => match frame {
                    Ok(f) if f["type"] == "inbox" && f["counts"].is_object() => {
                        let posted = *last_post.lock().unwrap_or_else(|p| p.into_inner());
                        if let Some(posted) = posted {
                            told.lock().unwrap_or_else(|p| p.into_inner()).record(posted, Ok(reqwest::StatusCode::OK));
                        }
                    }
                    Ok(_) => {}
                    Err(_) => return,
                },
                () = stop.cancelled() => return,
            }
        }
    });
    Ok(())
}

/// Customers writing in the apps scenario.
const CUSTOMERS: usize = 10;

/// Ten agents' apps open while customers write a message a second between them (ten customers,
/// each every ten seconds, as people chat; one alone would be held back by the customers' rate
/// limit): the posts' latency, how soon each app is told, and the server's CPU over the run.
pub async fn apps_while_customer_writes(
    server: &Server,
    agents: &[String],
    duration: Duration,
) -> Result<Value, String> {
    let pid = server.pid().ok_or("the apps scenario reads the server's CPU: it needs a server started here")?;
    let (told, last_post): (Shared, LastPost) = (Arc::default(), Arc::default());
    let stop = CancellationToken::new();
    let _stop_apps = stop.clone().drop_guard();
    for token in agents {
        app(server, token, told.clone(), last_post.clone(), stop.clone()).await?;
    }
    let mut customers = Vec::new();
    for _ in 0..CUSTOMERS {
        let visitor = server.post("/api/v1/widget/visitors", json!({}), None).await?;
        let visitor = visitor["token"].as_str().ok_or("no visitor token")?.to_owned();
        let created = server
            .post(
                "/api/v1/widget/conversations",
                json!({"message": {"body": "Hello, is anyone there?"}}),
                Some(&visitor),
            )
            .await?;
        let id = created["conversation"]["id"].as_i64().ok_or("no conversation")?;
        customers.push((visitor, format!("{}/api/v1/widget/conversations/{id}/messages", server.base)));
    }
    tokio::time::sleep(Duration::from_millis(500)).await; // the first message's frames settle
    told.lock().unwrap_or_else(|p| p.into_inner()).latencies.clear();
    let (cpu_before, started) = (cpu_seconds(pid), Instant::now());
    let mut posts = Tally::default();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut n = 0;
    while started.elapsed() < duration {
        tick.tick().await;
        n += 1;
        let body = json!({"body": format!("Message {n}: the order still has not arrived, can you check?")});
        let (visitor, url) = &customers[n % CUSTOMERS];
        let t = Instant::now();
        *last_post.lock().unwrap_or_else(|p| p.into_inner()) = Some(t);
        let outcome = server.http.post(url).header("X-Rapport-Visitor", visitor).json(&body).send().await;
        posts.record(t, outcome.map(|r| r.status()));
    }
    tokio::time::sleep(Duration::from_millis(400)).await; // the last message's frames
    let seconds = started.elapsed().as_secs_f64();
    let cpu = match (cpu_before, cpu_seconds(pid)) {
        (Some(a), Some(b)) => json!(round((b - a) / seconds * 100.0)),
        _ => Value::Null,
    };
    let take = |t: &Shared| std::mem::take(&mut *t.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(json!({
        "customer_post": posts.json(seconds), "apps_told": take(&told).json(seconds),
        "server_cpu_pct_of_one_core": cpu,
    }))
}
