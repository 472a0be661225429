//! The leak canary. A random string is planted in everything the team keeps to itself about one
//! customer's ticket: internal messages (one mentioning the customer by name and address), the
//! internal conversation's subject, an internal file's name and bytes, the description an agent
//! wrote of the ticket, and the text of a rule the team added. Then every path that customer can
//! reach is walked and every byte kept: HTTP answers (status, headers, body) of the widget, the
//! portal, uploads, downloads, the public pages and every refusal; every frame of the customer's
//! sockets, open before anything internal happened; every email sent to them, decoded part by
//! part. The canary must be in none of it, while the scene demonstrably happened: the agents see
//! the canary, they were emailed it, and the customer got every public answer by every path.

use crate::helpers::*;
use crate::notifications::{deliver, fixture, mail_config, read, settle, Mail, SUPPORT};
use crate::smtp::SmtpServer;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use mail_parser::{MessageParser, MimeHeaders};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const ANN: &str = "ann@example.com";
const BOB: &str = "bob@example.com";
/// How long anything asynchronous (a frame, an email) may take to arrive.
const WAIT: Duration = Duration::from_secs(10);

/// How a request proves who sends it.
#[derive(Clone, Copy)]
enum Auth<'a> {
    Nobody,
    /// The widget's and the portal's header.
    Visitor(&'a str),
    /// The same token where the agents' API reads one.
    Bearer(&'a str),
}

/// What a request carries.
enum Payload {
    Empty,
    Json(Value),
    Bytes(&'static str, Vec<u8>),
}

/// Everything the customer was answered over HTTP, byte for byte: status, headers and body.
struct Answers {
    base: String,
    http: reqwest::Client,
    kept: Vec<(String, Vec<u8>)>,
}

impl Answers {
    fn new(app: &TestApp) -> Answers {
        Answers { base: app.base.clone(), http: reqwest::Client::new(), kept: Vec::new() }
    }

    async fn call(&mut self, auth: Auth<'_>, method: Method, path: &str, payload: Payload) -> (u16, Value) {
        let mut req = self.http.request(method.clone(), format!("{}{path}", self.base));
        req = match auth {
            Auth::Nobody => req,
            Auth::Visitor(token) => req.header("x-rapport-visitor", token),
            Auth::Bearer(token) => req.bearer_auth(token),
        };
        req = match payload {
            Payload::Empty => req,
            Payload::Json(body) => req.json(&body),
            Payload::Bytes(content_type, bytes) => req.header("content-type", content_type).body(bytes),
        };
        let res = req.send().await.expect("request sent");
        let status = res.status().as_u16();
        // Only what came back is kept: a path she typed the canary into is not a leak.
        let mut kept = format!("{status}\n").into_bytes();
        for (name, value) in res.headers() {
            kept.extend_from_slice(format!("{name}: ").as_bytes());
            kept.extend_from_slice(value.as_bytes());
            kept.push(b'\n');
        }
        kept.push(b'\n');
        let body = res.bytes().await.expect("body read").to_vec();
        kept.extend_from_slice(&body);
        self.kept.push((format!("{method} {path}"), kept));
        (status, serde_json::from_slice(&body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into())))
    }

    async fn get(&mut self, auth: Auth<'_>, path: &str) -> (u16, Value) {
        self.call(auth, Method::GET, path, Payload::Empty).await
    }

    /// A request that must succeed; its JSON.
    async fn ok(&mut self, auth: Auth<'_>, method: Method, path: &str, payload: Payload) -> Value {
        let (status, body) = self.call(auth, method, path, payload).await;
        assert!((200..300).contains(&status), "{path}: {status} {body}");
        body
    }

    /// A request that must be refused with this status and error code.
    async fn refused(&mut self, auth: Auth<'_>, method: Method, path: &str, payload: Payload, want: (u16, &str)) {
        let (status, body) = self.call(auth, method.clone(), path, payload).await;
        assert_eq!((status, body["error"]["code"].as_str().unwrap_or("")), want, "{method} {path}: {body}");
    }
}

type WsStream = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A websocket whose every incoming frame is kept, read by a task of its own.
struct Tap {
    sink: SplitSink<WsStream, WsMessage>,
    frames: Arc<Mutex<Vec<String>>>,
    reader: tokio::task::JoinHandle<()>,
}

impl Tap {
    async fn open(app: &TestApp, path: &str, bearer: Option<&str>) -> Tap {
        let url = format!("ws{}{path}", app.base.strip_prefix("http").expect("an http base"));
        let mut request = url.into_client_request().expect("a websocket url");
        if let Some(token) = bearer {
            request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        let (ws, _) = tokio_tungstenite::connect_async(request).await.expect("the socket opens");
        let (sink, mut stream) = ws.split();
        let frames = Arc::new(Mutex::new(Vec::new()));
        let log = frames.clone();
        let reader = tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let text = match message {
                    WsMessage::Text(text) => text.to_string(),
                    WsMessage::Binary(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                    WsMessage::Close(frame) => format!("close {frame:?}"),
                    _ => continue,
                };
                log.lock().unwrap().push(text);
            }
        });
        let tap = Tap { sink, frames, reader };
        tap.wait_for("hello", |f| f["type"] == "hello").await;
        tap
    }

    async fn send(&mut self, frame: Value) {
        self.sink.send(WsMessage::text(frame.to_string())).await.expect("frame sent");
    }

    fn frames(&self) -> Vec<String> {
        self.frames.lock().unwrap().clone()
    }

    /// The first frame (of all so far) that `wanted` picks, waiting for it if need be.
    async fn wait_for(&self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let found = self.frames().iter().filter_map(|f| serde_json::from_str::<Value>(f).ok()).find(|f| wanted(f));
            if let Some(frame) = found {
                return frame;
            }
            assert!(start.elapsed() < WAIT, "no {what} frame; got {:#?}", self.frames());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Sends a frame and waits for the answer `wanted` picks among the frames after it.
    async fn ask(&mut self, frame: Value, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let before = self.frames().len();
        self.send(frame).await;
        let start = Instant::now();
        loop {
            let found = self.frames()[before..]
                .iter()
                .filter_map(|f| serde_json::from_str::<Value>(f).ok())
                .find(|f| wanted(f));
            if let Some(frame) = found {
                return frame;
            }
            assert!(start.elapsed() < WAIT, "no {what} frame; got {:#?}", &self.frames()[before..]);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Waits (in real time) until the SMTP sink holds an email that `wanted` picks.
fn wait_for_mail(smtp: &SmtpServer, what: &str, wanted: impl Fn(&Mail) -> bool) -> Mail {
    let start = Instant::now();
    loop {
        if let Some(mail) = smtp.messages().iter().map(|m| read(m)).find(|m| wanted(m)) {
            return mail;
        }
        assert!(start.elapsed() < WAIT, "no email {what}; got {:#?}", smtp.messages());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Who an email went to: its To header and the envelope recipients the sink recorded.
fn addressed_to(raw: &str, address: &str) -> bool {
    let parsed = MessageParser::default().parse(raw.as_bytes()).expect("a parsable email");
    let to = parsed.to().map(|to| to.iter().any(|a| a.address().is_some_and(|a| a.eq_ignore_ascii_case(address))));
    let envelope = parsed.header_raw("X-RcptTo").is_some_and(|r| r.to_lowercase().contains(address));
    to.unwrap_or(false) || envelope
}

/// An email as bytes to search: the raw text, then every part decoded (base64 and
/// quoted-printable undone), the decoded subject and every attachment's name.
fn email_bytes(raw: &str) -> Vec<u8> {
    let parsed = MessageParser::default().parse(raw.as_bytes()).expect("a parsable email");
    let mut out = raw.as_bytes().to_vec();
    out.extend_from_slice(parsed.subject().unwrap_or("").as_bytes());
    for part in &parsed.parts {
        out.push(b'\n');
        out.extend_from_slice(part.contents());
        if let Some(name) = part.attachment_name() {
            out.extend_from_slice(name.as_bytes());
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    let haystack = String::from_utf8_lossy(haystack).to_lowercase();
    haystack.contains(&needle.to_lowercase())
}

/// The `/assets/...` files an HTML page or script loads.
fn asset_paths(page: &str) -> Vec<String> {
    let mut paths: Vec<String> = page
        .match_indices("/assets/")
        .map(|(at, _)| page[at..].chars().take_while(|c| !"\"' )<>`".contains(*c)).collect())
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// A portal session for `email`: asks for a sign-in link and redeems the one emailed.
async fn portal_session(app: &TestApp, smtp: &SmtpServer, answers: &mut Answers, email: &str) -> (String, i64) {
    answers.ok(Auth::Nobody, Method::POST, "/api/v1/portal/link", Payload::Json(json!({"email": email}))).await;
    settle(app, 60_000).await;
    let mail = wait_for_mail(smtp, "with a sign-in link", |m| m.to == email && m.text.contains("/portal/#link="));
    let at = mail.text.find("/portal/#link=").unwrap() + "/portal/#link=".len();
    let token: String =
        mail.text[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    let session = answers
        .ok(Auth::Nobody, Method::POST, "/api/v1/portal/link/redeem", Payload::Json(json!({"token": token})))
        .await;
    (session["token"].as_str().unwrap().to_owned(), session["customer"]["id"].as_i64().unwrap())
}

async fn upload(client: &Client, name: &str, content_type: &str, bytes: Vec<u8>) -> i64 {
    let req = client
        .request(Method::POST, &format!("/api/v1/attachments?filename={name}"))
        .header("content-type", content_type)
        .body(bytes);
    answer(req.send().await.unwrap()).await.ok()["id"].as_i64().unwrap()
}

#[tokio::test]
async fn leak_canary_nothing_internal_reaches_the_customer_by_any_path() {
    let canary: String =
        format!("canary-{}", (0..12).map(|_| format!("{:02x}", rand::random::<u8>())).collect::<String>());
    // What is searched for: the random part alone, so a changed prefix or case still counts.
    let needle = canary["canary-".len()..].to_owned();
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    let (bob, bob_id) = app.agent(&admin, BOB).await;
    let project = admin.project("Billing").await;
    admin.put(&format!("/api/v1/projects/{project}/members/{bob_id}"), None).await.ok();
    let mut seen = Answers::new(&app);

    // The team's automations: the built-in flow; the closing notice, on, recalling what the
    // ticket was about; and two rules of its own written with customers' messages in mind:
    // tell the customer at once whenever the team writes, and answer questions about refunds.
    let closing = "Your ticket \"{{item.title}}\" ({{item.description}}) is now closed.";
    let closing = json!([{"kind": "notify", "to": "customer", "email": true, "text": closing}]);
    admin.change_rule("close_notice", json!({"enabled": true, "actions": closing})).await;
    for rule in [
        json!({"name": "Tell the customer the team wrote", "trigger": {"kind": "message_posted"},
               "conditions": [{"field": "message.author", "op": "is", "value": "user"}],
               "actions": [{"kind": "notify", "to": "customer", "email": true,
                            "text": "{{team.name}} wrote about \"{{item.title}}\" ({{conversation.subject}}):\n\n{{message.body}}"}]}),
        json!({"name": "Refund questions", "trigger": {"kind": "message_posted"},
               "conditions": [{"field": "message.body", "op": "contains", "value": "refund"}],
               "actions": [{"kind": "bot_reply", "text": "Billing will answer your question about \"{{message.body}}\" ({{conversation.subject}}) here."}]}),
    ] {
        admin.post("/api/v1/rules", rule).await.expect(201, "");
    }
    let form = admin
        .post("/api/v1/forms", json!({"name": "Contact", "project_id": project, "item_kind": "ticket"}))
        .await
        .expect(201, "");
    let form_key = form["key"].as_str().unwrap().to_owned();

    // Ann is known to the widget (signed by the team's site) and to the portal (by link).
    let secret = admin.get("/api/v1/settings/widget").await.ok()["identity_secret"].as_str().unwrap().to_owned();
    let visitor = seen.ok(Auth::Nobody, Method::POST, "/api/v1/widget/visitors", Payload::Json(json!({}))).await;
    let widget_token = visitor["token"].as_str().unwrap().to_owned();
    let user = crate::widget::signed(&secret, "site-ann-42", ANN, app.clock.now_secs() + 600);
    let ann = seen
        .ok(Auth::Visitor(&widget_token), Method::POST, "/api/v1/widget/identify", Payload::Json(json!({"user": user})))
        .await["id"]
        .as_i64()
        .unwrap();
    let (portal_token, portal_customer) = portal_session(&app, &smtp, &mut seen, ANN).await;
    assert_eq!(portal_customer, ann, "one customer in the widget and the portal");
    let tokens = [widget_token.clone(), portal_token.clone()];

    // Her ticket, opened by an agent who described it in the team's own words.
    let item = admin
        .post(
            "/api/v1/items",
            json!({"project_id": project, "kind": "ticket", "title": "Invoice shows 12 seats",
                   "description": format!("{canary}: Ann is on the fraud watch list"),
                   "requester_id": ann, "assignee_id": bob_id, "priority": "urgent"}),
        )
        .await
        .expect(201, "")["id"]
        .as_i64()
        .unwrap();
    let public = admin
        .conversation(json!({"kind": "public", "item_id": item, "customer_id": ann, "subject": "Your invoice",
                             "message": {"body": "Hi Ann, we are looking into your invoice."}}))
        .await;

    // Her sockets (the widget's and the portal's) listen before anything internal happens.
    let mut sockets = Vec::new();
    for token in &tokens {
        let mut tap = Tap::open(&app, &format!("/api/v1/widget/socket?token={token}"), None).await;
        tap.ask(json!({"type": "subscribe", "conversation_id": public}), "subscribed", |f| f["type"] == "subscribed")
            .await;
        sockets.push(tap);
    }
    let api_token =
        admin.post("/api/v1/tokens", json!({"name": "t"})).await.ok()["secret"].as_str().unwrap().to_owned();
    let mut team = Tap::open(&app, "/api/v1/socket", Some(&api_token)).await;
    team.send(json!({"type": "watch_inbox"})).await;
    team.ask(json!({"type": "subscribe", "conversation_id": public}), "subscribed", |f| f["type"] == "subscribed")
        .await;

    // The team talks it over internally: a subject, notes, a mention of Ann, a file.
    let internal = admin
        .conversation(json!({"kind": "internal", "item_id": item, "subject": format!("{canary} fraud check"),
                             "message": {"body": format!("{canary}: do not refund yet")}}))
        .await;
    team.ask(json!({"type": "subscribe", "conversation_id": internal}), "subscribed", |f| {
        f["type"] == "subscribed" && f["conversation_id"] == internal
    })
    .await;
    bob.say(internal, &format!("@Ann Site ({ANN}) asked twice; {canary} her card was flagged")).await.ok();
    let report =
        upload(&admin, &format!("{canary}-report.txt"), "text/plain", format!("report {canary}").into_bytes()).await;
    let scan =
        upload(&admin, &format!("{canary}-scan.png"), "image/png", format!("\u{89}PNG {canary}").into_bytes()).await;
    admin
        .post(
            &format!("/api/v1/conversations/{internal}/messages"),
            json!({"body": format!("see the report, {canary}"), "attachment_ids": [report, scan]}),
        )
        .await
        .ok();
    team.send(json!({"type": "typing", "conversation_id": internal})).await;

    // Meanwhile, the public thread goes on: a file, answers, Ann's questions.
    let invoice = upload(&admin, "invoice.pdf", "application/pdf", b"%PDF-1.4 corrected invoice".to_vec()).await;
    admin
        .post(
            &format!("/api/v1/conversations/{public}/messages"),
            json!({"body": "Here is your corrected invoice.", "attachment_ids": [invoice]}),
        )
        .await
        .ok();
    team.send(json!({"type": "typing", "conversation_id": public})).await;
    bob.say(public, "We fixed the seat count: you now pay for 10.").await.ok();
    seen.ok(
        Auth::Visitor(&widget_token),
        Method::POST,
        &format!("/api/v1/widget/conversations/{public}/messages"),
        Payload::Json(json!({"body": "Thanks! Will the refund come this week?", "client_id": "w-1"})),
    )
    .await;
    sockets[1]
        .ask(
            json!({"type": "send", "conversation_id": public, "client_id": "p-1", "body": "And for last month?"}),
            "ack",
            |f| f["type"] == "ack" && f["client_id"] == "p-1",
        )
        .await;

    // More internal notes, over HTTP and over the team's socket, read by the team.
    admin.say(internal, &format!("{canary}: refund only after the chargeback clears")).await.ok();
    team.ask(
        json!({"type": "send", "conversation_id": internal, "client_id": "a-1", "body": format!("{canary} via the socket")}),
        "ack",
        |f| f["type"] == "ack" && f["client_id"] == "a-1",
    )
    .await;
    let last = admin.get(&format!("/api/v1/conversations/{internal}")).await.ok()["last_seq"].as_i64().unwrap();
    bob.post(&format!("/api/v1/conversations/{internal}/seen"), json!({"seq": last})).await.ok();
    // Bob has the last internal word, which the admin does not see in time.
    bob.say(internal, &format!("{canary}: the chargeback was opened today")).await.ok();
    admin.say(public, "The refund is on its way.").await.ok();
    // The hub delivers in commit order: once this reached both of Ann's sockets, so did (or
    // would have) everything before it.
    for tap in &sockets {
        tap.wait_for("the last public answer", |f| f["message"]["body"] == "The refund is on its way.").await;
    }
    team.wait_for("an internal message", |f| f["type"] == "message" && f["conversation_id"] == internal).await;
    assert!(team.frames().iter().any(|f| f.contains(&needle)), "the team's socket carries the internal notes");

    // A minute passes unseen: the emails go out.
    app.clock.advance_ms(61_000);
    settle(&app, 60_000).await;
    let to_ann = wait_for_mail(&smtp, "to Ann with the team's answers", |m| {
        m.to == ANN && m.text.contains("The refund is on its way.")
    });
    let internal_mail = wait_for_mail(&smtp, "to the team about the internal notes", |m| {
        m.to == ADMIN_EMAIL && m.subject.starts_with("[Internal]") && m.text.contains(&canary)
    });

    // Ann answers the email; the same answer sent with the team's internal reply address (a
    // forward gone wrong) posts nothing.
    let from = format!("Ann Site <{ANN}>");
    let fill = |mail: &Mail, n: &str| {
        fixture(
            "gmail_reply.eml",
            &[
                ("FROM", &from),
                ("REPLY_ADDRESS", &mail.reply_to),
                ("SUPPORT_ADDRESS", SUPPORT),
                ("MESSAGE_ID", &mail.message_id),
                ("SUBJECT", &mail.subject),
                ("QUOTED", "The refund is on its way."),
            ],
        )
        .replace(
            "<CAH7pRqX3vLm9Jd0Q2wYk8sTnB5cZr1fUeV4gHa6oPjKxLqW5g@mail.gmail.com>",
            &format!("<leak-{n}@mail.test>"),
        )
    };
    deliver(&app, ANN, &to_ann.reply_to, &fill(&to_ann, "1")).await;
    deliver(&app, ANN, &internal_mail.reply_to, &fill(&internal_mail, "2")).await;
    let thread = admin.get(&format!("/api/v1/conversations/{public}/messages")).await.ok();
    assert!(
        thread.as_array().unwrap().iter().any(|m| m["author"]["kind"] == "customer"
            && m["body"].as_str().unwrap().starts_with("Thanks, the export works now.")),
        "Ann's emailed answer is in her conversation: {thread}"
    );
    let notes = admin.get(&format!("/api/v1/conversations/{internal}/messages")).await.ok();
    assert!(notes.as_array().unwrap().iter().all(|m| m["author"]["kind"] != "customer"), "{notes}");

    // The team closes its notes and the ticket: the closing notice goes to Ann.
    admin.post(&format!("/api/v1/conversations/{internal}/close"), json!({})).await.ok();
    admin.post(&format!("/api/v1/items/{item}/status"), json!({"status": "closed"})).await.ok();
    app.clock.advance_ms(61_000);
    settle(&app, 60_000).await;
    // The team's rules did their work on what Ann may see, and only with words she may read.
    let closed =
        wait_for_mail(&smtp, "to Ann saying her ticket is closed", |m| m.to == ANN && m.text.contains("is now closed"));
    wait_for_mail(&smtp, "to Ann from the team's own rule", |m| {
        m.to == ANN && m.text.contains("wrote about \"Invoice shows 12 seats\" (Your invoice)")
    });

    // ---- The scene happened: the team sees the canary everywhere it put it. ----
    let notes = admin.get(&format!("/api/v1/conversations/{internal}/messages")).await.ok();
    let with_canary = notes.as_array().unwrap().iter().filter(|m| m["body"].as_str().unwrap().contains(&canary));
    assert_eq!(with_canary.count(), 6, "{notes}");
    assert!(admin.get(&format!("/api/v1/conversations/{internal}")).await.ok()["subject"]
        .as_str()
        .unwrap()
        .contains(&canary));
    assert!(admin.get(&format!("/api/v1/items/{item}")).await.ok()["description"].as_str().unwrap().contains(&canary));
    let file = admin.request(Method::GET, &format!("/api/v1/attachments/{report}")).send().await.unwrap();
    assert!(String::from_utf8_lossy(&file.bytes().await.unwrap()).contains(&canary));
    let found = admin.get(&format!("/api/v1/search?q={needle}")).await.ok();
    assert!(!found["messages"].as_array().unwrap().is_empty(), "the team finds its notes: {found}");

    // ---- Ann walks every path she can reach. ----
    // The public pages and what they load.
    let mut pages = vec![
        "/".to_owned(),
        "/app".into(),
        "/app/".into(),
        "/portal".into(),
        "/portal/".into(),
        "/widget.js".into(),
        "/widget/frame".into(),
        "/forms/embed.js".into(),
        format!("/forms/{form_key}"),
        format!("/api/v1/forms/{form_key}/public"),
        "/api/v1/widget/config".into(),
        "/api/openapi.json".into(),
        "/healthz".into(),
    ];
    let mut assets = Vec::new();
    for path in pages.clone() {
        let (_, body) = seen.get(Auth::Nobody, &path).await;
        assets.extend(asset_paths(body.as_str().unwrap_or("")));
    }
    assets.sort();
    assets.dedup();
    assert!(assets.len() >= 3, "the pages load their scripts and styles: {assets:?}");
    for path in &assets {
        let (status, _) = seen.get(Auth::Nobody, path).await;
        assert_eq!(status, 200, "{path}");
    }
    pages.extend(assets);

    let mut customer_saw_public = 0;
    let mut public_files = std::collections::HashSet::new();
    for token in &tokens {
        let me = Auth::Visitor(token);
        seen.ok(me, Method::GET, "/api/v1/widget/config", Payload::Empty).await;
        // Her conversations, their messages whole and page by page, forwards and back.
        let list = seen.ok(me, Method::GET, "/api/v1/widget/conversations", Payload::Empty).await;
        let ids: Vec<i64> = list.as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, [public], "only her conversation with the team: {list}");
        let messages =
            seen.ok(me, Method::GET, &format!("/api/v1/widget/conversations/{public}/messages"), Payload::Empty).await;
        let messages = messages.as_array().unwrap().clone();
        let bodies: Vec<&str> = messages.iter().map(|m| m["body"].as_str().unwrap()).collect();
        for said in [
            "Hi Ann, we are looking into your invoice.",
            "Here is your corrected invoice.",
            "The refund is on its way.",
            "Billing will answer your question about \"Thanks! Will the refund come this week?\" (Your invoice) here.",
        ] {
            assert!(bodies.contains(&said), "Ann sees {said:?}: {bodies:?}");
        }
        customer_saw_public = customer_saw_public.max(messages.len());
        let last = messages.last().unwrap()["seq"].as_i64().unwrap();
        for seq in 0..=last + 1 {
            for page in [format!("after={seq}&limit=1"), format!("before={seq}&limit=2")] {
                let path = format!("/api/v1/widget/conversations/{public}/messages?{page}");
                seen.ok(me, Method::GET, &path, Payload::Empty).await;
            }
        }
        for m in &messages {
            for file in m["attachments"].as_array().unwrap() {
                let id = file["id"].as_i64().unwrap();
                public_files.insert(id);
                seen.ok(me, Method::GET, &format!("/api/v1/widget/attachments/{id}"), Payload::Empty).await;
            }
        }
        // The portal: who she is, her tickets, the one ticket, a reply on it.
        seen.ok(me, Method::GET, "/api/v1/portal/me", Payload::Empty).await;
        let tickets = seen.ok(me, Method::GET, "/api/v1/portal/tickets", Payload::Empty).await;
        assert_eq!(tickets[0]["id"], item, "{tickets}");
        let ticket = seen.ok(me, Method::GET, &format!("/api/v1/portal/tickets/{item}"), Payload::Empty).await;
        assert_eq!(ticket["conversation_id"], public);
        assert_eq!(ticket["description"], "", "the team's description stays inside: {ticket}");
        let reply = seen
            .ok(
                me,
                Method::POST,
                &format!("/api/v1/portal/tickets/{item}/messages"),
                Payload::Json(json!({"body": "One more question."})),
            )
            .await;
        assert_eq!(reply["conversation"]["id"], public, "a reply joins the public thread");
        // Her own upload, sent in her conversation, and her seen mark.
        let own = seen
            .ok(
                me,
                Method::POST,
                "/api/v1/widget/attachments?filename=receipt.txt",
                Payload::Bytes("text/plain", b"my receipt".to_vec()),
            )
            .await["id"]
            .as_i64()
            .unwrap();
        public_files.insert(own);
        seen.ok(
            me,
            Method::POST,
            &format!("/api/v1/widget/conversations/{public}/messages"),
            Payload::Json(json!({"body": "My receipt.", "attachment_ids": [own]})),
        )
        .await;
        seen.ok(me, Method::GET, &format!("/api/v1/widget/attachments/{own}"), Payload::Empty).await;
        seen.ok(
            me,
            Method::POST,
            &format!("/api/v1/widget/conversations/{public}/seen"),
            Payload::Json(json!({"seq": 1000})),
        )
        .await;

        // The internal conversation by its id: not found, whatever she tries.
        let gone = (404, "conversation_not_found");
        let notes = format!("/api/v1/widget/conversations/{internal}/messages");
        seen.refused(me, Method::GET, &notes, Payload::Empty, gone).await;
        seen.refused(me, Method::GET, &format!("{notes}?before=1000&limit=200"), Payload::Empty, gone).await;
        seen.refused(me, Method::GET, &format!("{notes}?after=0"), Payload::Empty, gone).await;
        seen.refused(me, Method::POST, &notes, Payload::Json(json!({"body": "let me in"})), gone).await;
        let mark = format!("/api/v1/widget/conversations/{internal}/seen");
        seen.refused(me, Method::POST, &mark, Payload::Json(json!({"seq": 1})), gone).await;
        // The internal files: not found, nor attachable to her own message.
        for id in [report, scan] {
            let path = format!("/api/v1/widget/attachments/{id}");
            seen.refused(me, Method::GET, &path, Payload::Empty, (404, "attachment_not_found")).await;
            let post = format!("/api/v1/widget/conversations/{public}/messages");
            let steal = Payload::Json(json!({"body": "mine now", "attachment_ids": [id]}));
            seen.refused(me, Method::POST, &post, steal, (404, "attachment_not_found")).await;
        }
        // The agents' API does not take her token, in either header.
        for auth in [me, Auth::Bearer(token)] {
            for path in [
                format!("/api/v1/conversations/{internal}"),
                format!("/api/v1/conversations/{internal}/messages"),
                format!("/api/v1/items/{item}"),
                format!("/api/v1/items/{item}/conversations"),
                format!("/api/v1/customers/{ann}/activity"),
                "/api/v1/conversations?view=internal".into(),
                format!("/api/v1/search?q={needle}"),
                format!("/api/v1/search?q={canary}"),
                format!("/api/v1/attachments/{report}"),
                "/api/v1/email/outbox".into(),
            ] {
                seen.refused(auth, Method::GET, &path, Payload::Empty, (401, "unauthenticated")).await;
            }
            let post = format!("/api/v1/conversations/{internal}/messages");
            let body = Payload::Json(json!({"body": "hi"}));
            seen.refused(auth, Method::POST, &post, body, (401, "unauthenticated")).await;
        }
    }
    // Every file id near the internal ones, by both of her tokens and by nobody.
    let highest = *[report, scan, invoice].iter().chain(public_files.iter()).max().unwrap();
    for id in 1..=highest + 3 {
        let path = format!("/api/v1/widget/attachments/{id}");
        for token in &tokens {
            let (status, body) = seen.get(Auth::Visitor(token), &path).await;
            if public_files.contains(&id) {
                assert_eq!(status, 200, "{path}");
            } else {
                assert_eq!((status, body["error"]["code"].as_str().unwrap_or("")), (404, "attachment_not_found"));
            }
        }
        seen.refused(Auth::Nobody, Method::GET, &path, Payload::Empty, (401, "unauthenticated")).await;
        let agents = format!("/api/v1/attachments/{id}");
        seen.refused(Auth::Nobody, Method::GET, &agents, Payload::Empty, (401, "unauthenticated")).await;
    }

    // Her sockets ask for the internal conversation every way the protocol has.
    for tap in &mut sockets {
        let error_about = |code: &'static str| {
            move |f: &Value| f["type"] == "error" && f["conversation_id"] == internal && f["code"] == code
        };
        let frame = json!({"type": "subscribe", "conversation_id": internal, "after_seq": 0});
        tap.ask(frame, "subscribe refused", error_about("conversation_not_found")).await;
        let frame = json!({"type": "send", "conversation_id": internal, "client_id": "x-1", "body": "let me in"});
        tap.ask(frame, "send refused", error_about("conversation_not_found")).await;
        let frame = json!({"type": "seen", "conversation_id": internal, "seq": 1});
        tap.ask(frame, "seen refused", error_about("conversation_not_found")).await;
        let frame = json!({"type": "typing", "conversation_id": internal});
        tap.ask(frame, "typing refused", error_about("not_subscribed")).await;
        let frame = json!({"type": "watch_inbox"});
        tap.ask(frame, "no inbox", |f| f["type"] == "error" && f["code"] == "forbidden").await;
        // Resubscribing replays her conversation from the start.
        let frame = json!({"type": "subscribe", "conversation_id": public, "after_seq": 0});
        tap.ask(frame, "subscribed again", |f| f["type"] == "subscribed" && f["conversation_id"] == public).await;
        tap.ask(json!({"type": "ping"}), "pong", |f| f["type"] == "pong").await;
    }
    // A fresh socket tries every conversation id there is.
    let mut prober = Tap::open(&app, &format!("/api/v1/widget/socket?token={widget_token}"), None).await;
    let highest = internal.max(public) + 2;
    for id in 1..=highest {
        let frame = json!({"type": "subscribe", "conversation_id": id});
        prober
            .ask(frame, "an answer", |f| {
                f["conversation_id"] == id && (f["type"] == "subscribed" || f["type"] == "error")
            })
            .await;
    }
    sockets.push(prober);
    // Live frames of what came after, and the customer's own seen marks, reach her sockets.
    admin.say(public, "Anything else?").await.ok();
    for tap in &sockets {
        tap.wait_for("the very last answer", |f| f["message"]["body"] == "Anything else?").await;
    }

    // Every email that went to her address.
    app.clock.advance_ms(61_000);
    settle(&app, 60_000).await;
    let all_mail = smtp.messages();
    let hers: Vec<&String> = all_mail.iter().filter(|raw| addressed_to(raw, ANN)).collect();
    assert!(hers.len() >= 3, "a sign-in link, the team's answers and the closing notice: {hers:#?}");
    let team_mail =
        all_mail.iter().filter(|raw| !addressed_to(raw, ANN)).filter(|raw| contains(raw.as_bytes(), &needle));
    assert!(team_mail.count() >= 1, "the team was emailed its internal notes");

    // ---- Nothing of it holds the canary. ----
    let frames: Vec<String> = sockets.iter().flat_map(Tap::frames).collect();
    let public_frames = frames
        .iter()
        .filter(|f| f.contains("\"type\":\"message\"") && f.contains(&format!("\"conversation_id\":{public}")));
    assert!(public_frames.count() >= 6, "her sockets got the public messages live: {frames:#?}");
    let mut leaks = Vec::new();
    for (what, bytes) in &seen.kept {
        if contains(bytes, &needle) {
            leaks.push(format!("HTTP {what}: {}", String::from_utf8_lossy(bytes)));
        }
    }
    for frame in &frames {
        if contains(frame.as_bytes(), &needle) {
            leaks.push(format!("socket frame: {frame}"));
        }
    }
    for raw in &hers {
        if contains(&email_bytes(raw), &needle) {
            leaks.push(format!("email: {raw}"));
        }
    }
    assert!(leaks.is_empty(), "the canary {canary} reached the customer:\n{}", leaks.join("\n---\n"));
    assert!(closed.text.contains("Your ticket \"Invoice shows 12 seats\" () is now closed."), "{}", closed.text);
    println!(
        "leak canary: {} HTTP answers ({} public pages and assets), {} socket frames on {} sockets, {} emails to the customer, \
         {} public messages seen, none with the canary",
        seen.kept.len(),
        pages.len(),
        frames.len(),
        sockets.len(),
        hers.len(),
        customer_saw_public
    );
}
