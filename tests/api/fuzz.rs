//! Fuzzing: no input may get a 5xx answer, a panic or a dead server.
//!
//! - The HTTP API, from its own OpenAPI document, with schemathesis (PyPI, 4.x; tests/run.sh
//!   installs it into tests/.venv): as a widget visitor and portal customer, as an admin, and without
//!   credentials. Every answer must be documented (status, content type, schema), never a 5xx;
//!   without credentials every non-public operation answers 401.
//! - The live sockets, with a few hundred random and hostile frames: each is answered (an error
//!   frame, or a close with a code docs/protocol.md documents), nobody reads what is not theirs,
//!   and afterwards the server serves requests and fresh sockets as before.
//!
//! Both run derandomized: the same requests and frames every time, so that whether a run passes
//! does not depend on what a random generator happened to try first (schemathesis in its
//! deterministic mode, the frames from a fixed seed). `RAPPORT_LONG=1` explores instead: many
//! more examples and frames, from a new seed each run; `RAPPORT_FUZZ_SEED=N` (with
//! `RAPPORT_LONG=1` for a long run) replays a run, whose seed is printed.

use crate::helpers::*;
use futures_util::{SinkExt, StreamExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// What tests/run.sh installs (tests/requirements.txt); the configuration below needs 4.32 or later.
const SCHEMATHESIS: &str = "schemathesis>=4.32,<5";

/// The seed of the derandomized runs.
const FIXED_SEED: u64 = 16;

fn long() -> bool {
    std::env::var("RAPPORT_LONG").is_ok_and(|v| v == "1")
}

/// The seed given in `RAPPORT_FUZZ_SEED`, if any.
fn given_seed() -> Option<u64> {
    std::env::var("RAPPORT_FUZZ_SEED").ok().and_then(|s| s.parse().ok())
}

// ---------------------------------------------------------------------------------------------
// The HTTP API, with schemathesis.

/// Whether schemathesis (4.32 or a later 4.x) can run. Without it the test fails in CI and is
/// skipped, with a notice, elsewhere.
fn schemathesis_ready() -> bool {
    let probe = python()
        .args(["-c", "import schemathesis; print(schemathesis.__version__)"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    let usable = |version: &str| {
        let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        matches!((parts.next(), parts.next()), (Some(4), Some(minor)) if minor >= 32)
    };
    let problem = match probe {
        Some(version) if usable(&version) => return true,
        Some(version) => format!("schemathesis {version} is installed, but the fuzz test needs {SCHEMATHESIS:?}"),
        None => "schemathesis is not installed".to_owned(),
    };
    let fix = format!(
        "tests/run.sh installs it into tests/.venv (RAPPORT_TEST_PYTHON names that Python): \
         tests/.venv/bin/python -m pip install '{SCHEMATHESIS}'"
    );
    if std::env::var_os("CI").is_some() {
        panic!("{problem}; {fix}");
    }
    eprintln!("notice: skipping the HTTP fuzz test: {problem}; {fix}");
    false
}

/// Rows that the fuzzed requests can find, and the credentials to send.
struct Seeded {
    admin_token: String,
    /// A widget visitor who is also a portal customer (the customer has an email).
    visitor_token: String,
    form_key: String,
}

/// A little of everything, so that path ids (1, 2, 3) hit real rows: projects, customers,
/// items, conversations with messages and an attachment, a form, users, rules.
async fn seed(app: &TestApp) -> Seeded {
    let admin = app.admin().await;
    app.agent(&admin, "agent@example.com").await;
    let project = admin.project("Support").await;
    admin.project("Sales").await;
    let customer = admin.customer("cus@example.com").await;
    let item = admin.item(project, "Cannot log in", Some(customer)).await;
    let conversation = admin
        .conversation(json!({"kind": "public", "item_id": item, "customer_id": customer, "message": {"body": "Hello"}}))
        .await;
    admin.conversation(json!({"kind": "internal", "item_id": item, "message": {"body": "Note"}})).await;
    let upload = admin
        .request(Method::POST, "/api/v1/attachments?filename=a.txt")
        .header("content-type", "text/plain")
        .body("some text")
        .send()
        .await
        .unwrap();
    let attachment = answer(upload).await.ok()["id"].as_i64().unwrap();
    admin
        .post(
            &format!("/api/v1/conversations/{conversation}/messages"),
            json!({"body": "a file", "attachment_ids": [attachment]}),
        )
        .await
        .ok();
    let form = admin
        .post("/api/v1/forms", json!({"name": "Contact", "project_id": project, "item_kind": "ticket"}))
        .await
        .ok();

    // The customer signs in to the portal (what redeeming an emailed link does), and is then a
    // widget visitor too, with a conversation of their own.
    let visitor_token = "rpv_fuzzing-portal-customer".to_owned();
    app.portal_session(customer, &visitor_token).await;
    as_visitor(
        app,
        &visitor_token,
        Method::POST,
        "/api/v1/widget/conversations",
        Some(json!({"message": {"body": "Hi"}})),
    )
    .await
    .ok();

    // The fuzzer tries ids such as 1 and 2 on every path, DELETE /api/v1/tokens/{id} included:
    // the token it authenticates with is kept out of its reach.
    let admin_token = admin.post("/api/v1/tokens", json!({"name": "fuzz"})).await.ok();
    let id = admin_token["id"].as_i64().unwrap();
    app.store
        .raw_write(move |c| Ok(c.execute("UPDATE api_tokens SET id = 7340031457 WHERE id = ?1", [id])?))
        .await
        .unwrap();
    Seeded {
        admin_token: admin_token["secret"].as_str().unwrap().to_owned(),
        visitor_token,
        form_key: form["key"].as_str().unwrap().to_owned(),
    }
}

/// How schemathesis generates: deterministically (the same requests every run), or from a seed
/// (a new one each run under `RAPPORT_LONG=1`, or `RAPPORT_FUZZ_SEED`).
fn generation() -> Vec<String> {
    let mut args = vec!["--max-examples".to_owned(), if long() { "500" } else { "50" }.to_owned()];
    let seed = match given_seed() {
        Some(seed) => seed,
        None if long() => rand::random::<u32>().into(),
        None => {
            args.push("--generation-deterministic".to_owned());
            return args;
        }
    };
    eprintln!("schemathesis with RAPPORT_FUZZ_SEED={seed}");
    args.extend(["--seed".to_owned(), seed.to_string(), "--generation-database".to_owned(), "none".to_owned()]);
    args
}

/// One schemathesis run against the app; returns whether it passed, and its output. `extra`
/// are further arguments.
///
/// Only a real problem fails it: no check measures time, a request may take long on a busy
/// machine (two minutes, where an answer takes milliseconds), and Hypothesis' health check of
/// its own generation speed is off.
async fn schemathesis(
    app: &TestApp,
    dir: &Path,
    generation: &[String],
    headers: &[String],
    extra: &[&str],
) -> (bool, String) {
    let mut args: Vec<String> = ["-m", "schemathesis.cli", "--config-file", "schemathesis.toml", "run"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    args.push(format!("{}/api/openapi.json", app.base));
    args.extend(
        [
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            // One worker: the engine is not thread-safe everywhere on every Python, and one
            // worker sends the requests in the same order every run.
            "--workers",
            "1",
            "--suppress-health-check",
            "too_slow",
            "--no-color",
            "--request-timeout",
            "120",
        ]
        .map(str::to_owned),
    );
    args.extend(generation.iter().cloned());
    for header in headers {
        args.extend(["-H".to_owned(), header.clone()]);
    }
    args.extend(extra.iter().map(|a| a.to_string()));
    let dir = dir.to_owned();
    // A fixed hash seed: no set or dict of strings is ordered differently from one run to the next.
    let output =
        tokio::task::spawn_blocking(move || python().args(&args).env("PYTHONHASHSEED", "0").current_dir(&dir).output())
            .await
            .unwrap()
            .expect("python runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// Schemathesis' count of its test cases ("8832 generated, 8832 passed"), for the log.
fn cases(output: &str) -> &str {
    output.lines().skip_while(|l| !l.starts_with("Test cases:")).nth(1).map_or("no summary", str::trim)
}

/// The documented operations: method, path template, and whether anyone may call it.
fn operations(doc: &Value) -> Vec<(String, Vec<String>, bool)> {
    let mut out = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let public = op["security"].as_array().is_some_and(|r| r.iter().any(|r| r == &json!({})));
            out.push((method.to_uppercase(), path.split('/').map(str::to_owned).collect(), public));
        }
    }
    out
}

/// The operation a request went to: the one whose template matches with the fewest parameters.
fn operation_of<'a>(
    ops: &'a [(String, Vec<String>, bool)],
    method: &str,
    path: &str,
) -> Option<&'a (String, Vec<String>, bool)> {
    let segments: Vec<&str> = path.split('/').collect();
    ops.iter()
        .filter(|(m, template, _)| {
            m == method
                && template.len() == segments.len()
                && template.iter().zip(&segments).all(|(t, s)| t.starts_with('{') || t == s)
        })
        .min_by_key(|(_, template, _)| template.iter().filter(|t| t.starts_with('{')).count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_the_http_api_from_its_openapi_document() {
    if !schemathesis_ready() {
        return;
    }
    let started = Instant::now();
    let app = spawn_app().await;
    let seeded = seed(&app).await;
    let dir = tempfile::tempdir().unwrap();
    // Path parameters are real rows half of the time, anything at all otherwise.
    let config = format!(
        "[dictionaries.ids]\nvalues = [1, 2, 3]\n[dictionaries.keys]\nvalues = [{key:?}]\n\n[parameters]\n\
         \"path.id\" = {{ dictionary = \"ids\", probability = 0.5 }}\n\
         \"path.user_id\" = {{ dictionary = \"ids\", probability = 0.5 }}\n\
         \"path.key\" = {{ dictionary = \"keys\", probability = 0.5 }}\n",
        key = seeded.form_key
    );
    std::fs::write(dir.path().join("schemathesis.toml"), config).unwrap();

    // First as the visitor and portal customer (the admin run could erase them), leaving their
    // session alone; then as an admin; then as nobody, recording every exchange.
    let visitor = format!("X-Rapport-Visitor: {}", seeded.visitor_token);
    let runs: [(&str, Vec<String>, Vec<&str>); 3] = [
        (
            "as a widget visitor and portal customer",
            vec![visitor],
            vec!["--include-tag", "widget", "--include-tag", "portal", "--exclude-path", "/api/v1/portal/logout"],
        ),
        ("as an admin", vec![format!("Authorization: Bearer {}", seeded.admin_token)], vec![]),
        ("without credentials", vec![], vec!["--report", "har", "--report-har-path", "anonymous.har"]),
    ];
    let generation = generation();
    for (who, headers, extra) in runs {
        let run_started = Instant::now();
        let (passed, output) = schemathesis(&app, dir.path(), &generation, &headers, &extra).await;
        let still = app.client().with_bearer(&seeded.admin_token).get("/api/v1/me").await.status.is_success();
        eprintln!(
            "schemathesis {who}: {} ({}) in {:.0?} (the fuzzed admin {} signed in)",
            if passed { "passed" } else { "FAILED" },
            cases(&output),
            run_started.elapsed(),
            if still { "is still" } else { "is no longer" }
        );
        assert!(passed, "schemathesis found problems {who}:\n{output}");
    }

    // Without credentials, every operation that is not public answered 401, whatever was sent.
    let doc = app.client().get("/api/openapi.json").await.ok();
    let ops = operations(&doc);
    let har: Value = serde_json::from_slice(&std::fs::read(dir.path().join("anonymous.har")).unwrap()).unwrap();
    let entries = har["log"]["entries"].as_array().unwrap();
    assert!(entries.len() > 500, "only {} requests were recorded", entries.len());
    let mut wrong = Vec::new();
    for entry in entries {
        let (method, url) = (entry["request"]["method"].as_str().unwrap(), entry["request"]["url"].as_str().unwrap());
        let path = url.strip_prefix(&app.base).unwrap_or(url).split('?').next().unwrap();
        let status = entry["response"]["status"].as_u64().unwrap_or(0);
        assert!(status > 0 && status < 500, "{method} {url} answered {status}");
        if let Some((_, template, false)) = operation_of(&ops, method, path) {
            if status != 401 {
                wrong.push(format!(
                    "{method} {} ({url}): {status} {}",
                    template.join("/"),
                    entry["response"]["content"]["text"]
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "answered without credentials, not 401:\n{}", wrong.join("\n"));

    // The server is as good as new: it answers, and a new admin can sign in and work. (The
    // fuzzed admin may well have been demoted or deactivated by the fuzzer itself.)
    app.client().get("/healthz").await.ok();
    let password = rapport::domain::Password::parse(rapport::domain::Secret::new(PASSWORD)).unwrap();
    rapport::cli::admin::create(&app.database(), "after@example.com", "After", password).await.unwrap();
    app.clock.advance_ms(60 * 60 * 1000); // past the login rate limit the fuzzer ran into
    let after = app.logged_in("after@example.com").await;
    after.get("/api/v1/me").await.ok();
    after.project("After the fuzzing").await;
    eprintln!("the HTTP fuzz test took {:.0?}", started.elapsed());
}

// ---------------------------------------------------------------------------------------------
// The live sockets, with hostile frames.

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long any single answer may take.
const WAIT: Duration = Duration::from_secs(10);
/// The close codes docs/protocol.md documents for what a client sends.
const DOCUMENTED_CLOSES: [u16; 3] = [1009, 4400, 4429];
/// Every frame type the server sends.
const SERVER_FRAMES: [&str; 15] = [
    "hello",
    "message",
    "ack",
    "subscribed",
    "unsubscribed",
    "typing",
    "seen",
    "conversation",
    "presence",
    "inbox",
    "counts",
    "item",
    "alert",
    "error",
    "pong",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Who {
    Agent,
    Customer,
}

async fn open(app: &TestApp, who: Who, credential: &str) -> Ws {
    let port = app.base.rsplit(':').next().unwrap();
    let url = match who {
        Who::Agent => format!("ws://127.0.0.1:{port}/api/v1/socket"),
        Who::Customer => format!("ws://127.0.0.1:{port}/api/v1/widget/socket?token={credential}"),
    };
    let mut request = url.into_client_request().unwrap();
    if who == Who::Agent {
        request.headers_mut().insert("authorization", HeaderValue::from_str(&format!("Bearer {credential}")).unwrap());
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.expect("the socket opens");
    let hello = next_frame(&mut ws).await.expect("a hello");
    assert_eq!(hello["type"], "hello", "{hello}");
    ws
}

/// What the server did next: a text frame, or a close (its code, 1005 for none, 1006 for a
/// connection that ended without a close frame).
enum Next {
    Frame(Value),
    Closed(u16),
    /// Nothing within the wait.
    Silent,
}

async fn next(ws: &mut Ws) -> Next {
    loop {
        let Ok(message) = timeout(WAIT, ws.next()).await else { return Next::Silent };
        match message {
            Some(Ok(Message::Text(text))) => {
                let frame: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
                let kind = frame["type"].as_str().unwrap_or("");
                assert!(SERVER_FRAMES.contains(&kind), "an unknown frame from the server: {frame}");
                if kind == "error" {
                    let code = frame["code"].as_str().unwrap_or("");
                    assert!(
                        !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                        "an error frame without a snake_case code: {frame}"
                    );
                }
                return Next::Frame(frame);
            }
            Some(Ok(Message::Close(Some(close)))) => return Next::Closed(close.code.into()),
            Some(Ok(Message::Close(None))) => return Next::Closed(1005),
            Some(Ok(Message::Binary(_))) => panic!("the server sent a binary frame"),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return Next::Closed(1006),
        }
    }
}

async fn next_frame(ws: &mut Ws) -> Option<Value> {
    match next(ws).await {
        Next::Frame(frame) => Some(frame),
        Next::Closed(_) => None,
        Next::Silent => panic!("the server did not answer within {WAIT:?}"),
    }
}

/// Conversations the sockets aim at.
struct Targets {
    own: i64,
    theirs: i64,
    internal: i64,
    /// An attachment of another visitor's.
    their_file: i64,
}

fn any_id(rng: &mut StdRng, t: &Targets) -> i64 {
    match rng.gen_range(0..10) {
        0 => t.own,
        1 => t.theirs,
        2 => t.internal,
        3 => 0,
        4 => -1,
        5 => i64::MIN,
        6 => i64::MAX,
        7 => rng.gen_range(1..20),
        _ => rng.gen(),
    }
}

fn any_text(rng: &mut StdRng) -> String {
    match rng.gen_range(0..8) {
        0 => String::new(),
        1 => "x".repeat(rng.gen_range(1..30_000)),
        2 => "\u{202e}é🎉\u{0}\u{feff}<script>alert(1)</script>".to_owned(),
        3 => " \n\t ".to_owned(),
        4 => (0..rng.gen_range(1..200)).map(|_| rng.gen::<char>()).collect(),
        _ => format!("c-{}", rng.gen::<u32>()),
    }
}

fn any_value(rng: &mut StdRng, t: &Targets) -> Value {
    match rng.gen_range(0..9) {
        0 => Value::Null,
        1 => json!(rng.gen::<bool>()),
        2 => json!(any_id(rng, t)),
        3 => json!(u64::MAX),
        4 => json!(rng.gen::<f64>() * 1e300),
        5 => json!(any_text(rng)),
        6 => json!([any_id(rng, t), "x", null]),
        7 => json!({"conversation_id": any_id(rng, t)}),
        _ => json!(-0.5),
    }
}

/// A frame of a known type whose values are hostile but well-typed: the server answers it
/// (often with an error frame) and keeps the socket open.
fn well_typed(rng: &mut StdRng, t: &Targets) -> Value {
    let id = any_id(rng, t);
    match rng.gen_range(0..9) {
        0 => json!({"type": "subscribe", "conversation_id": id, "after_seq": any_id(rng, t)}),
        1 => json!({"type": "unsubscribe", "conversation_id": id}),
        2 | 3 => {
            let files = match rng.gen_range(0..5) {
                0 => json!([]),
                1 => json!([t.their_file]),
                2 => json!([-1, i64::MAX, i64::MIN]),
                3 => json!((0..1000).map(|n| n % 7).collect::<Vec<i64>>()),
                _ => json!([any_id(rng, t)]),
            };
            json!({"type": "send", "conversation_id": id, "client_id": any_text(rng), "body": any_text(rng),
                   "attachment_ids": files})
        }
        4 => json!({"type": "typing", "conversation_id": id}),
        5 => json!({"type": "seen", "conversation_id": id, "seq": any_id(rng, t)}),
        6 => {
            let status = ["online", "away", "offline"][rng.gen_range(0..3)];
            json!({"type": "presence", "status": status})
        }
        7 => json!({"type": "watch_inbox"}),
        _ => json!({"type": "ping"}),
    }
}

/// What to send.
enum Hostile {
    Json(Value),
    Text(String),
    Raw(Message),
    /// Bytes written straight to the TCP stream, under the websocket framing.
    Wire(Vec<u8>),
}

/// What the server may do with a frame (besides closing a customer's socket for sending too
/// many, 4429).
#[derive(Clone, Copy)]
enum Expect {
    /// Answer it and keep the socket open.
    Open,
    /// Either, or close with one of these codes.
    OpenOr(&'static [u16]),
    /// Close with one of these codes.
    Close(&'static [u16]),
}

fn hostile(rng: &mut StdRng, t: &Targets) -> (Hostile, Expect) {
    const INVALID: Expect = Expect::Close(&[4400]);
    match rng.gen_range(0..20) {
        // Mostly well-typed frames with hostile values: the interesting answers.
        0..=9 => (Hostile::Json(well_typed(rng, t)), Expect::Open),
        // A known frame with a field of another type, or an unknown field: still a frame when
        // the new value happens to fit.
        10 | 11 => {
            let mut frame = well_typed(rng, t);
            let fields =
                ["conversation_id", "after_seq", "client_id", "body", "attachment_ids", "seq", "status", "type"];
            let field = fields[rng.gen_range(0..fields.len())];
            frame[field] = any_value(rng, t);
            (Hostile::Json(frame), Expect::OpenOr(&[4400]))
        }
        12 => {
            let kind = ["dance", "", "SUBSCRIBE", "send ", "hello", "error", "pong"][rng.gen_range(0..7)];
            (Hostile::Json(json!({"type": kind, "conversation_id": t.own})), INVALID)
        }
        13 => {
            let text =
                ["", "null", "[]", "42", "\"ping\"", "{", "{\"type\":\"ping\"", "{\"type\":\"ping\"}{}", "not json"]
                    [rng.gen_range(0..9)];
            (Hostile::Text(text.to_owned()), INVALID)
        }
        14 => {
            let depth = rng.gen_range(100..30_000);
            (Hostile::Text(format!("{{\"type\":\"ping\",\"x\":{}{}}}", "[".repeat(depth), "]".repeat(depth))), INVALID)
        }
        15 => {
            let body = "x".repeat(rng.gen_range(64 * 1024..200 * 1024));
            (
                Hostile::Json(json!({"type": "send", "conversation_id": t.own, "client_id": "big", "body": body})),
                Expect::Close(&[1009]),
            )
        }
        16 => (Hostile::Raw(Message::binary(b"{\"type\":\"ping\"}".to_vec())), INVALID),
        17 => {
            // A text frame that is not UTF-8.
            let frame = Frame::message(vec![b'{', 0xff, 0xfe, b'}'], OpCode::Data(Data::Text), true);
            (Hostile::Raw(Message::Frame(frame)), INVALID)
        }
        18 => {
            // The first part of a fragmented message.
            let frame = Frame::message(b"{\"type\":".to_vec(), OpCode::Data(Data::Text), false);
            (Hostile::Raw(Message::Frame(frame)), INVALID)
        }
        _ => {
            // Garbage under the framing: unmasked, reserved bits and opcodes, lying lengths.
            let bytes = match rng.gen_range(0..4) {
                0 => b"\x81\x04ping".to_vec(),
                1 => vec![0xf3, 0x80, 0, 0, 0, 0],
                2 => vec![0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4],
                _ => {
                    // Random, but unmasked (as no client may send), so that the server cannot
                    // take it for the start of a frame and wait for the rest.
                    let mut bytes: Vec<u8> = (0..rng.gen_range(2..64)).map(|_| rng.gen()).collect();
                    bytes[1] &= 0x7f;
                    bytes
                }
            };
            (Hostile::Wire(bytes), Expect::Close(&[1009, 4400]))
        }
    }
}

#[tokio::test]
async fn fuzz_the_live_sockets_with_hostile_frames() {
    let seed = given_seed().unwrap_or_else(|| if long() { rand::random() } else { FIXED_SEED });
    eprintln!("socket fuzzing with RAPPORT_FUZZ_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let app = spawn_app().await;
    let admin = app.admin().await;
    let agent_token =
        admin.post("/api/v1/tokens", json!({"name": "fuzz"})).await.ok()["secret"].as_str().unwrap().to_owned();
    let start = |token: String| {
        let app = &app;
        async move {
            let started = as_visitor(
                app,
                &token,
                Method::POST,
                "/api/v1/widget/conversations",
                Some(json!({"message": {"body": "Hello"}})),
            )
            .await
            .ok();
            started["conversation"]["id"].as_i64().unwrap()
        }
    };
    let (visitor_token, attacker) = visitor(&app).await;
    let (other_token, _) = visitor(&app).await;
    let own = start(visitor_token.clone()).await;
    let theirs = start(other_token.clone()).await;
    let upload = app
        .client()
        .request(Method::POST, "/api/v1/widget/attachments?filename=a.txt")
        .header("x-rapport-visitor", &other_token)
        .header("content-type", "text/plain")
        .body("theirs")
        .send()
        .await
        .unwrap();
    let their_file = answer(upload).await.ok()["id"].as_i64().unwrap();
    let internal = admin.conversation(json!({"kind": "internal", "message": {"body": "Note"}})).await;
    let targets = Targets { own, theirs, internal, their_file };

    let frames = if long() { 3000 } else { 300 };
    let mut sockets: [Option<Ws>; 2] = [None, None];
    // What each socket was sent since it opened, for the messages.
    let mut sent_on: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    let mut closes = std::collections::BTreeMap::<u16, usize>::new();
    for n in 0..frames {
        let who = if n % 2 == 0 { Who::Agent } else { Who::Customer };
        let credential = if who == Who::Agent { &agent_token } else { &visitor_token };
        let slot = &mut sockets[n % 2];
        if slot.is_none() {
            *slot = Some(open(&app, who, credential).await);
            sent_on[n % 2].clear();
        }
        let ws = slot.as_mut().unwrap();
        let (frame, expect) = hostile(&mut rng, &targets);
        let shown: String = match &frame {
            Hostile::Json(v) => v.to_string().chars().take(200).collect(),
            Hostile::Text(t) => t.chars().take(200).collect(),
            Hostile::Raw(m) => format!("{m:?}").chars().take(200).collect(),
            Hostile::Wire(b) => format!("raw bytes {b:?}"),
        };
        sent_on[n % 2].push(format!("frame {n}: {shown}"));
        let sent = match frame {
            Hostile::Json(v) => ws.send(Message::text(v.to_string())).await,
            Hostile::Text(t) => ws.send(Message::text(t)).await,
            Hostile::Raw(m) => ws.send(m).await,
            Hostile::Wire(bytes) => {
                let MaybeTlsStream::Plain(tcp) = ws.get_mut() else { unreachable!("a plain socket") };
                tcp.write_all(&bytes).await.map_err(Into::into)
            }
        };
        // A large frame may be cut off by the server's close before it is all out.
        if let Err(e) = sent {
            assert!(matches!(expect, Expect::Close(_)), "frame {n} ({who:?}, {shown}) not sent: {e}");
        }
        // Then a marker: everything up to its answer is the answer to the frame. (Not a ping:
        // the frame may have been one, and its pong would be taken for the marker's.)
        let open_after = !matches!(expect, Expect::Close(_));
        let marker = 9_000_000_000 + n as i64;
        if open_after {
            let _ = ws.send(Message::text(json!({"type": "unsubscribe", "conversation_id": marker}).to_string())).await;
        }
        let closed = loop {
            match next(ws).await {
                Next::Frame(answer) => {
                    let about = answer["conversation_id"].as_i64().or(answer["conversation"]["id"].as_i64());
                    // Errors and `unsubscribed` only repeat the id the visitor sent.
                    let echo = answer["type"] == "error" || answer["type"] == "unsubscribed";
                    assert!(
                        who == Who::Agent || echo || (about != Some(theirs) && about != Some(internal)),
                        "frame {n} ({shown}): the visitor heard about a conversation not theirs: {answer}"
                    );
                    if answer["type"] == "unsubscribed" && answer["conversation_id"] == marker {
                        break None;
                    }
                }
                Next::Closed(code) => break Some(code),
                Next::Silent => panic!("frame {n} ({who:?}, {shown}): no answer within {WAIT:?}"),
            }
        };
        if let Some(code) = closed {
            *closes.entry(code).or_default() += 1;
            let allowed: &[u16] = match expect {
                Expect::Open => &[],
                Expect::OpenOr(codes) | Expect::Close(codes) => codes,
            };
            let rate_limited = code == 4429 && who == Who::Customer;
            assert!(
                (allowed.contains(&code) || rate_limited) && DOCUMENTED_CLOSES.contains(&code),
                "frame {n} ({who:?}, {shown}): closed with {code}, expected {}; the socket was sent:\n{}",
                if allowed.is_empty() { "the socket to stay open".to_owned() } else { format!("one of {allowed:?}") },
                sent_on[n % 2].join("\n")
            );
            sockets[n % 2] = None;
        }
    }
    eprintln!("{frames} frames sent; closes by code: {closes:?}");

    // The visitor wrote nowhere but in their own conversation, and took no one else's file.
    let elsewhere = app
        .count(format!(
            "messages WHERE author_kind = 'customer' AND author_id = {attacker} AND conversation_id != {own}"
        ))
        .await;
    assert_eq!(elsewhere, 0, "the visitor posted into a conversation not theirs");
    let taken = app
        .count(format!(
            "attachments a JOIN messages m ON m.id = a.message_id
             WHERE a.id = {their_file} AND m.author_kind = 'customer' AND m.author_id = {attacker}"
        ))
        .await;
    assert_eq!(taken, 0, "the visitor attached another visitor's file");

    // A flood from a customer is cut off with the documented code; an agent is not limited.
    let mut flood = open(&app, Who::Customer, &visitor_token).await;
    let mut flood_code = None;
    for _ in 0..400 {
        if flood.send(Message::text(r#"{"type":"ping"}"#)).await.is_err() {
            break;
        }
    }
    while flood_code.is_none() {
        match next(&mut flood).await {
            Next::Closed(code) => flood_code = Some(code),
            Next::Silent => panic!("a flood was neither answered nor cut off"),
            Next::Frame(_) => {}
        }
    }
    assert_eq!(flood_code, Some(4429));

    // The server lives on: it answers requests, and fresh sockets work.
    app.client().get("/healthz").await.ok();
    let mut agent = open(&app, Who::Agent, &agent_token).await;
    let mut customer = open(&app, Who::Customer, &visitor_token).await;
    for (ws, client_id) in [(&mut agent, "agent-after"), (&mut customer, "visitor-after")] {
        ws.send(Message::text(json!({"type": "subscribe", "conversation_id": own}).to_string())).await.unwrap();
        let send = json!({"type": "send", "conversation_id": own, "client_id": client_id, "body": "still here"});
        ws.send(Message::text(send.to_string())).await.unwrap();
        let mut acked = false;
        while !acked {
            let frame = next_frame(ws).await.expect("the socket stays open");
            assert_ne!(frame["type"], "error", "{frame}");
            acked = frame["type"] == "ack";
        }
    }
}
