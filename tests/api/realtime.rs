//! The live protocol (docs/protocol.md) over real websockets: agents and widget visitors
//! chatting, resuming after a cut, idempotent sends, the customers' visibility filter, Origin
//! checks, bad frames, slow consumers and heartbeats.

use crate::helpers::*;
use crate::live::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

fn seq_of(frame: &Value) -> i64 {
    frame["message"]["seq"].as_i64().unwrap_or_else(|| panic!("not a message frame: {frame}"))
}

#[tokio::test]
async fn an_agent_and_a_customer_chat_live() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    // Only people in this conversation: the bot's reply has its own test (widget.rs).
    admin.change_rule("auto_reply", json!({"enabled": false})).await;
    let mut agent = connect_agent(&app, &admin.api_token().await).await;
    let (visitor_token, customer_id) = visitor(&app).await;
    let started = Client::visitor(&app.base, &visitor_token)
        .post("/api/v1/widget/conversations", json!({"message": {"body": "Hello?", "client_id": "w-1"}}))
        .await
        .ok();
    let id = started["conversation"]["id"].as_i64().unwrap();
    let mut customer = connect_customer(&app, &visitor_token).await;

    let backlog = customer.subscribe(id, 0).await;
    assert_eq!(backlog.len(), 1);
    assert_eq!(backlog[0]["message"]["body"], "Hello?");
    assert_eq!(agent.subscribe(id, 0).await.len(), 1);

    // The customer writes: the ack comes once the message is stored.
    let ack = customer.post(id, "w-2", "My printer is on fire").await;
    assert_eq!(ack["seq"], 2);
    assert_eq!(ack["replayed"], false);
    assert_eq!(app.count("messages").await, 2, "acked means committed");
    let stored = app.probe(format!("SELECT id FROM messages WHERE conversation_id = {id} AND client_id = 'w-2'")).await;
    assert_eq!(ack["message_id"].as_i64(), stored);
    let heard = agent.expect("message").await;
    assert_eq!(heard["conversation_id"], id);
    assert_eq!(heard["message"]["seq"], 2);
    assert_eq!(heard["message"]["body"], "My printer is on fire");
    assert_eq!(heard["message"]["author"]["kind"], "customer");
    assert_eq!(heard["message"]["author"]["id"], customer_id);

    // The agent answers, under their name.
    let ack = agent.post(id, "a-1", "Step away from the printer").await;
    assert_eq!(ack["seq"], 3);
    let mut answer = customer.expect("message").await;
    while answer["message"]["seq"] != 3 {
        answer = customer.expect("message").await;
    }
    assert_eq!(answer["message"]["body"], "Step away from the printer");
    assert_eq!(answer["message"]["author"]["kind"], "user");
    assert_eq!(answer["message"]["author"]["name"], "Ada Admin");

    // Typing reaches the other side, not the typist.
    agent.send(json!({"type": "typing", "conversation_id": id})).await;
    let typing = customer.expect("typing").await;
    assert_eq!(typing["conversation_id"], id);
    assert_eq!(typing["author"]["kind"], "user");
    assert_eq!(typing["author"]["name"], "Ada Admin");
    let echoed = agent.settle().await;
    assert!(echoed.iter().all(|f| f["type"] != "typing"), "the typist heard their own typing: {echoed:?}");

    // Seen is relayed and stored.
    customer.send(json!({"type": "seen", "conversation_id": id, "seq": 3})).await;
    let seen = agent.expect("seen").await;
    assert_eq!(seen["conversation_id"], id);
    assert_eq!(seen["reader"]["kind"], "customer");
    assert_eq!(seen["reader"]["id"], customer_id);
    assert_eq!(seen["seq"], 3);
    let mark = app.probe(format!(
        "SELECT seq FROM seen_marks WHERE conversation_id = {id} AND party_kind = 'customer' AND party_id = {customer_id}"
    ));
    assert_eq!(mark.await, Some(3));
}

#[tokio::test]
async fn a_message_posted_through_the_rest_api_reaches_socket_subscribers() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (visitor_token, customer_id) = visitor(&app).await;
    let id = admin.conversation(json!({"kind": "public", "customer_id": customer_id})).await;
    let mut agent = connect_agent(&app, &admin.api_token().await).await;
    let mut customer = connect_customer(&app, &visitor_token).await;
    assert!(agent.subscribe(id, 0).await.is_empty());
    assert!(customer.subscribe(id, 0).await.is_empty());

    let from_agent = admin.say(id, "Posted over REST").await.ok();
    let from_customer = Client::visitor(&app.base, &visitor_token)
        .post(&format!("/api/v1/widget/conversations/{id}/messages"), json!({"body": "Me too, over REST"}))
        .await
        .ok();
    for posted in [&from_agent, &from_customer] {
        for socket in [&mut agent, &mut customer] {
            let frame = socket.expect("message").await;
            assert_eq!(frame["conversation_id"], id);
            assert_eq!(&frame["message"], posted, "the socket shows the message as the REST API does");
        }
    }
}

#[tokio::test]
async fn a_reconnect_in_the_middle_of_a_burst_resumes_with_no_gap_and_no_duplicate() {
    const N: i64 = 600;
    const POSTERS: i64 = 3;
    let app = spawn_app().await;
    let admin = app.admin().await;
    let token = admin.api_token().await;
    let id = admin.conversation(json!({"kind": "internal"})).await;

    // A witness stays subscribed throughout; it also tells how far the burst has got.
    let mut witness = connect_agent(&app, &token).await;
    witness.subscribe(id, 0).await;
    let (progress, mut burst_at) = tokio::sync::watch::channel(0);
    let witness = tokio::spawn(async move {
        let mut seqs = Vec::new();
        while (seqs.len() as i64) < N {
            let seq = seq_of(&witness.expect("message").await);
            seqs.push(seq);
            progress.send_replace(seq);
        }
        seqs
    });
    let posters: Vec<_> = (0..POSTERS)
        .map(|p| {
            let sender = admin.with_bearer(&token);
            tokio::spawn(async move {
                for n in (p..N).step_by(POSTERS as usize) {
                    sender.say(id, &format!("burst {n}")).await.ok();
                }
            })
        })
        .collect();

    let mut seqs: Vec<i64> = Vec::new();
    let read = |frame: Value, seqs: &mut Vec<i64>| match frame["type"].as_str() {
        Some("message") => seqs.push(seq_of(&frame)),
        Some("subscribed") => {}
        _ => panic!("unexpected frame {frame}"),
    };
    // Cut the connection after each of these many messages; resume from the last seq once
    // the burst has moved on, so that the resume replays a backlog while the burst goes on.
    for cut_after in [60, 150, 250, 350, 450] {
        let mut socket = connect_agent(&app, &token).await;
        let after = seqs.last().copied().unwrap_or(0);
        socket.send(json!({"type": "subscribe", "conversation_id": id, "after_seq": after})).await;
        while (seqs.len() as i64) < cut_after {
            read(socket.next().await, &mut seqs);
        }
        drop(socket); // no close handshake: the connection is just cut
        let ahead = (*seqs.last().unwrap() + 80).min(N);
        timeout(WAIT, burst_at.wait_for(|seq| *seq >= ahead)).await.expect("the burst goes on").unwrap();
    }
    let mut socket = connect_agent(&app, &token).await;
    let after = *seqs.last().unwrap();
    socket.send(json!({"type": "subscribe", "conversation_id": id, "after_seq": after})).await;
    while *seqs.last().unwrap() < N {
        read(socket.next().await, &mut seqs);
    }
    for poster in posters {
        timeout(WAIT, poster).await.expect("the burst ends").expect("poster");
    }
    let everything: Vec<i64> = (1..=N).collect();
    assert_eq!(seqs, everything, "every seq once, in order, across the reconnects");
    assert_eq!(timeout(WAIT, witness).await.expect("witness").unwrap(), everything, "the witness too");
    assert!(socket.settle().await.iter().all(|f| f["type"] != "message"), "nothing after the last message");
}

#[tokio::test]
async fn a_resend_after_the_connection_is_cut_before_the_ack_creates_exactly_one_message() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let token = admin.api_token().await;
    let id = admin.conversation(json!({"kind": "internal"})).await;
    let mut witness = connect_agent(&app, &token).await;
    witness.subscribe(id, 0).await;
    let frame = |client_id: &str| json!({"type": "send", "conversation_id": id, "client_id": client_id, "body": "Did this arrive?"});

    // The message is committed (the witness hears it), the ack is never read.
    let mut first = connect_agent(&app, &token).await;
    first.send(frame("lost-ack")).await;
    let committed = witness.expect("message").await;
    assert_eq!(committed["message"]["client_id"], "lost-ack");
    drop(first);
    let mut second = connect_agent(&app, &token).await;
    second.send(frame("lost-ack")).await;
    let ack = second.expect("ack").await;
    assert_eq!(ack["client_id"], "lost-ack");
    assert_eq!(ack["replayed"], true);
    assert_eq!(ack["message_id"], committed["message"]["id"]);
    assert_eq!(ack["seq"], 1);

    // Cut right after the send: the first copy may or may not have arrived.
    let mut third = connect_agent(&app, &token).await;
    third.send(frame("cut-early")).await;
    drop(third);
    let mut fourth = connect_agent(&app, &token).await;
    fourth.send(frame("cut-early")).await;
    let ack = fourth.expect("ack").await;
    assert_eq!(ack["seq"], 2);
    // Once more is certainly a replay.
    fourth.send(frame("cut-early")).await;
    let again = fourth.expect("ack").await;
    assert_eq!(again["replayed"], true);
    assert_eq!(again["message_id"], ack["message_id"]);
    assert_eq!(again["seq"], 2);

    for client_id in ["lost-ack", "cut-early"] {
        let copies = app.count(format!("messages WHERE client_id = '{client_id}'")).await;
        assert_eq!(copies, 1, "{client_id}");
    }
    assert_eq!(app.count("messages").await, 2);
    let heard: Vec<i64> = witness.settle().await.iter().filter(|f| f["type"] == "message").map(seq_of).collect();
    assert_eq!(heard, [2], "the witness heard each message once");
}

#[tokio::test]
async fn a_customer_socket_never_receives_a_frame_about_an_internal_conversation_on_the_same_item() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (visitor_token, customer_id) = visitor(&app).await;
    let project = admin.project("Support").await;
    let item = admin.item(project, "Printer on fire", Some(customer_id)).await;
    let canary = format!("canary-{:016x}", rand::random::<u64>());
    let public = admin
        .conversation(json!({"kind": "public", "item_id": item, "customer_id": customer_id,
            "subject": format!("team notes {canary}")}))
        .await;
    let internal =
        admin.conversation(json!({"kind": "internal", "item_id": item, "subject": format!("about {canary}")})).await;

    let mut customer = connect_customer(&app, &visitor_token).await;
    assert!(customer.subscribe(public, 0).await.is_empty());
    customer.send(json!({"type": "subscribe", "conversation_id": internal})).await;
    let refused = customer.next().await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["code"], "conversation_not_found");
    assert_eq!(refused["conversation_id"], internal);
    assert!(!refused.to_string().contains("Printer"), "the refusal leaks nothing: {refused}");

    let mut agent = connect_agent(&app, &admin.api_token().await).await;
    agent.send(json!({"type": "watch_inbox"})).await;
    agent.subscribe(public, 0).await;
    agent.subscribe(internal, 0).await;
    // Everything an agent can do in the internal conversation, over the socket and over REST.
    let ack = agent.post(internal, "secret-1", &format!("socket {canary}")).await;
    admin.say(internal, &format!("rest {canary}")).await.ok();
    admin.post(&format!("/api/v1/conversations/{internal}/close"), json!({})).await.ok();
    admin.post(&format!("/api/v1/conversations/{internal}/reopen"), json!({})).await.ok();
    agent.send(json!({"type": "typing", "conversation_id": internal})).await;
    agent.send(json!({"type": "seen", "conversation_id": internal, "seq": ack["seq"].as_i64().unwrap() + 1})).await;
    admin.post(&format!("/api/v1/conversations/{internal}/seen"), json!({"seq": 2})).await.ok();
    // The customer does hear about their own conversation, in the customers' shape.
    admin.post(&format!("/api/v1/conversations/{public}/close"), json!({})).await.ok();
    admin.post(&format!("/api/v1/conversations/{public}/reopen"), json!({})).await.ok();
    // Then a public message, the last thing the customer should hear.
    let marker = admin.say(public, "public marker").await.ok();

    let mut frames = Vec::new();
    loop {
        let frame = customer.next_any().await;
        frames.push(frame.clone());
        if frame["type"] == "message" && frame["message"]["id"] == marker["id"] {
            break;
        }
    }
    frames.extend(customer.settle().await);
    for frame in &frames {
        let text = frame.to_string();
        assert!(!text.contains(&canary), "the customer received the canary: {text}");
        assert_ne!(frame["conversation_id"], internal, "the customer heard of the internal conversation: {text}");
        assert_ne!(frame["conversation"]["id"], internal, "the customer heard of the internal conversation: {text}");
        if frame["type"] == "conversation" {
            let mut keys: Vec<&str> = frame["conversation"].as_object().unwrap().keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(keys, ["id", "last_seq", "status"], "customers get the short form: {text}");
        }
    }
    let statuses: Vec<&Value> =
        frames.iter().filter(|f| f["type"] == "conversation").map(|f| &f["conversation"]["status"]).collect();
    assert_eq!(statuses, ["closed", "open"], "the customer heard their conversation close and reopen");
    // The agent did hear all of it (the test would prove nothing otherwise).
    let mut heard = Vec::new();
    loop {
        let frame = agent.next().await;
        let done = frame["type"] == "message" && frame["message"]["id"] == marker["id"];
        heard.push(frame);
        if done {
            break;
        }
    }
    let canaries = heard.iter().filter(|f| f["type"] == "message" && f.to_string().contains(&canary)).count();
    assert_eq!(canaries, 2, "the agent hears the internal messages: {heard:?}");
    assert!(heard.iter().any(|f| f["type"] == "conversation" && f["conversation"]["id"] == internal));
}

/// Only websockets leave the HTTP server. A request that asks for another protocol (curl
/// `--http2` sends `Upgrade: h2c` over plain HTTP) is answered as HTTP/1.1, body and all.
#[tokio::test]
async fn a_request_asking_for_another_protocol_is_answered_as_http_1_1_with_its_body() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let admin = app.admin().await;
    let token = admin.api_token().await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let body = json!({"kind": "internal", "subject": "Asked for h2c"}).to_string();
    let head = format!(
        "POST /api/v1/conversations HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\
         HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.unwrap();
    let answer = String::from_utf8_lossy(&out);
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert!(answer.contains("Asked for h2c"), "{answer}");
}

#[tokio::test]
async fn a_foreign_origin_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let token = admin.api_token().await;
    let bearer = ("authorization", format!("Bearer {token}"));
    let evil = "https://evil.example".to_owned();

    // Agents: only the app's own origin.
    let refused = open(&app, "/api/v1/socket", &[bearer.clone(), ("origin", evil.clone())], None).await;
    assert_eq!(refusal(refused), (403, "origin_not_allowed".to_owned()));
    let own = open(&app, "/api/v1/socket", &[bearer.clone(), ("origin", app.base.clone())], None).await;
    let mut own = Live::greeted(own.expect("the app's own origin may connect")).await;
    own.send(json!({"type": "ping"})).await;
    own.expect("pong").await;

    // A session cookie without an Origin is not enough (only a token is).
    let (cookie, _) = cookie_session(&app, ADMIN_EMAIL).await;
    let refused = open(&app, "/api/v1/socket", &[("cookie", cookie.clone())], None).await;
    assert_eq!(refusal(refused), (403, "origin_not_allowed".to_owned()));
    let refused = open(&app, "/api/v1/socket", &[("cookie", cookie.clone()), ("origin", evil.clone())], None).await;
    assert_eq!(refusal(refused), (403, "origin_not_allowed".to_owned()));
    let with_origin = open(&app, "/api/v1/socket", &[("cookie", cookie), ("origin", app.base.clone())], None).await;
    Live::greeted(with_origin.expect("a cookie from the app's own page may connect")).await;

    // Customers: the widget's own origin, or an allowed one.
    let (visitor_token, _) = visitor(&app).await;
    let path = format!("/api/v1/widget/socket?token={visitor_token}");
    let shop = "https://shop.example".to_owned();
    assert_eq!(
        refusal(open(&app, &path, &[("origin", shop.clone())], None).await),
        (403, "origin_not_allowed".to_owned())
    );
    Live::greeted(open(&app, &path, &[("origin", app.base.clone())], None).await.expect("the widget's own origin"))
        .await;
    admin.put("/api/v1/settings/widget", Some(json!({"allowed_origins": [shop.clone()]}))).await.ok();
    let allowed = open(&app, &path, &[("origin", shop)], None).await;
    let mut allowed = Live::greeted(allowed.expect("an allowed origin may connect")).await;
    allowed.send(json!({"type": "ping"})).await;
    allowed.expect("pong").await;
    assert_eq!(refusal(open(&app, &path, &[("origin", evil)], None).await), (403, "origin_not_allowed".to_owned()));
}

#[tokio::test]
async fn bad_frames_close_only_the_socket_that_sent_them() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let token = admin.api_token().await;
    let id = admin.conversation(json!({"kind": "internal"})).await;
    let mut bystander = connect_agent(&app, &token).await;
    bystander.subscribe(id, 0).await;

    let oversized = json!({"type": "send", "conversation_id": id, "client_id": "big", "body": "x".repeat(65 * 1024)});
    let cases: Vec<(&str, Message, u16)> = vec![
        ("a frame over 64 KiB", Message::text(oversized.to_string()), 1009),
        ("not JSON", Message::text("hello there"), 4400),
        ("an unknown frame type", Message::text(r#"{"type":"dance"}"#), 4400),
        ("an unknown field", Message::text(r#"{"type":"ping","extra":1}"#), 4400),
        ("a binary frame", Message::binary(b"{\"type\":\"ping\"}".to_vec()), 4400),
    ];
    for (n, (what, message, code)) in cases.into_iter().enumerate() {
        let mut bad = connect_agent(&app, &token).await;
        bad.ws.send(message).await.expect("frame sent");
        assert_eq!(bad.close_code().await, Some(code), "{what}");
        // The other socket carries on.
        let ack = bystander.post(id, &format!("ok-{n}"), "still here").await;
        assert_eq!(ack["replayed"], false, "{what}");
    }
    assert_eq!(app.count("messages").await, 5, "nothing from the bad frames was stored");
}

#[tokio::test]
async fn a_consumer_that_stops_reading_is_cut_off_while_the_others_get_everything() {
    const N: i64 = 2000;
    const POSTERS: i64 = 6;
    let app = spawn_app().await;
    let admin = app.admin().await;
    let token = admin.api_token().await;
    let (visitor_token, customer_id) = visitor(&app).await;
    let id = admin.conversation(json!({"kind": "public", "customer_id": customer_id})).await;

    // The stalled one: subscribed, a tiny receive buffer, and then never read.
    let stalled = open(&app, "/api/v1/socket", &[("authorization", format!("Bearer {token}"))], Some(4096))
        .await
        .expect("stalled socket opens");
    let mut stalled = Live::greeted(stalled).await;
    stalled.subscribe(id, 0).await;

    let mut customer = connect_customer(&app, &visitor_token).await;
    customer.subscribe(id, 0).await;
    let watcher = tokio::spawn(async move {
        let mut seqs = Vec::new();
        while (seqs.len() as i64) < N {
            let frame = customer.expect("message").await;
            seqs.push(seq_of(&frame));
        }
        seqs
    });

    let run = async {
        let body = "y".repeat(12 * 1024);
        let posters: Vec<_> = (0..POSTERS)
            .map(|p| {
                let client = admin.with_bearer(&token);
                let body = body.clone();
                tokio::spawn(async move {
                    for n in (p..N).step_by(POSTERS as usize) {
                        client.say(id, &format!("{n} {body}")).await.ok();
                    }
                })
            })
            .collect();
        for poster in posters {
            poster.await.expect("poster");
        }
        watcher.await.expect("watcher")
    };
    // A guard against a hang, not a speed target: 2,000 posts of 12 KiB through the HTTP API,
    // on either store, on a machine also running the rest of the suite.
    let seqs = timeout(Duration::from_secs(90), run).await.expect("the burst is delivered");
    assert_eq!(seqs, (1..=N).collect::<Vec<_>>(), "the reading subscriber got every message, in order");

    // Now drain the stalled socket: some frames, then it was cut off.
    let mut delivered = Vec::new();
    let ending = loop {
        match timeout(Duration::from_secs(3), stalled.ws.next()).await {
            Err(_) => panic!("the stalled socket was never cut off ({} messages buffered)", delivered.len()),
            Ok(Some(Ok(Message::Text(text)))) => {
                let frame: Value = serde_json::from_str(&text).unwrap();
                if frame["type"] == "message" {
                    delivered.push(seq_of(&frame));
                }
            }
            Ok(Some(Ok(Message::Close(frame)))) => break frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) => break None, // reset without a close frame: also a cut
        }
    };
    assert!(ending.is_none() || ending == Some(4409), "closed with {ending:?}");
    assert!((delivered.len() as i64) < N, "the stalled socket was not cut off");
    let prefix: Vec<i64> = (1..=delivered.len() as i64).collect();
    assert_eq!(delivered, prefix, "what did reach the stalled socket is a clean prefix to resume from");

    // The server is still fine.
    let mut fresh = connect_agent(&app, &token).await;
    let ack = fresh.post(id, "after-the-storm", "still responsive").await;
    assert_eq!(ack["seq"], N + 1);
}

#[tokio::test]
async fn heartbeat_a_ping_frame_gets_a_pong() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut agent = connect_agent(&app, &admin.api_token().await).await;
    agent.send(json!({"type": "ping"})).await;
    assert_eq!(agent.next_any().await, json!({"type": "pong"}));

    let (visitor_token, _) = visitor(&app).await;
    let mut customer = connect_customer(&app, &visitor_token).await;
    customer.send(json!({"type": "ping"})).await;
    assert_eq!(customer.next_any().await, json!({"type": "pong"}));
    // A websocket-level ping is answered too.
    customer.ws.send(Message::Ping(b"are you there".to_vec().into())).await.unwrap();
    let pong = loop {
        match timeout(WAIT, customer.ws.next()).await.expect("a pong").expect("open").expect("readable") {
            Message::Pong(payload) => break payload,
            other => assert!(!matches!(other, Message::Close(_)), "closed: {other:?}"),
        }
    };
    assert_eq!(&pong[..], b"are you there");
}

#[tokio::test]
async fn unsubscribe_stops_delivery_and_an_invisible_conversation_answers_not_found() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (agent_client, _) = app.agent(&admin, "bob@example.com").await;
    let token = agent_client.api_token().await;
    let project = admin.project("Secret project").await;
    let hidden = admin.conversation(json!({"kind": "internal", "project_id": project})).await;
    let open_one = admin.conversation(json!({"kind": "internal"})).await;

    let mut bob = connect_agent(&app, &token).await;
    for id in [hidden, 999_999] {
        bob.send(json!({"type": "subscribe", "conversation_id": id})).await;
        let error = bob.next().await;
        assert_eq!(error["type"], "error", "{error}");
        assert_eq!(error["code"], "conversation_not_found");
        assert_eq!(error["conversation_id"], id);
    }
    // Still open and usable.
    assert!(bob.subscribe(open_one, 0).await.is_empty());
    admin.say(hidden, "not for bob").await.ok();
    admin.say(open_one, "first").await.ok();
    assert_eq!(bob.expect("message").await["message"]["body"], "first");

    let mut witness = connect_agent(&app, &admin.api_token().await).await;
    witness.subscribe(open_one, 1).await;
    bob.send(json!({"type": "unsubscribe", "conversation_id": open_one})).await;
    assert_eq!(bob.next().await, json!({"type": "unsubscribed", "conversation_id": open_one}));
    admin.say(open_one, "second").await.ok();
    assert_eq!(witness.expect("message").await["message"]["body"], "second");
    let after = bob.settle().await;
    assert!(after.iter().all(|f| f["type"] != "message"), "delivered after unsubscribe: {after:?}");
    // Subscribing again replays what was missed.
    let missed = bob.subscribe(open_one, 1).await;
    assert_eq!(missed.len(), 1);
    assert_eq!(missed[0]["message"]["body"], "second");
}

#[tokio::test]
async fn the_inbox_tells_agents_about_conversations_they_may_see_and_no_others() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let project = admin.project("Billing").await;
    let (bea, bea_id) = app.agent(&admin, "bea@example.com").await;
    let (_cid, cid_id) = app.agent(&admin, "cid@example.com").await;
    admin.put(&format!("/api/v1/projects/{project}/members/{bea_id}"), None).await.ok();
    admin.put(&format!("/api/v1/projects/{project}/members/{cid_id}"), None).await.ok();
    let item = admin.item(project, "Refund", None).await;
    let followed = admin.conversation(json!({"kind": "internal", "item_id": item})).await;
    bea.put(&format!("/api/v1/items/{item}/follow"), None).await.ok();
    // Bea leaves the project but still follows the item; Cid leaves and follows nothing.
    admin.delete(&format!("/api/v1/projects/{project}/members/{bea_id}")).await;
    admin.delete(&format!("/api/v1/projects/{project}/members/{cid_id}")).await;
    let mut bea_socket = connect_agent(&app, &bea.api_token().await).await;
    let cid = app.logged_in("cid@example.com").await;
    let mut cid_socket = connect_agent(&app, &cid.api_token().await).await;
    for socket in [&mut bea_socket, &mut cid_socket] {
        socket.send(json!({"type": "watch_inbox"})).await;
        socket.settle().await;
    }
    admin.say(followed, "about the refund").await.ok();
    let (inbox, _) = bea_socket.until("inbox").await;
    assert_eq!(inbox["conversation"]["id"], followed);
    assert_eq!(inbox["message"]["body"], "about the refund");
    let heard = cid_socket.settle().await;
    assert!(heard.iter().all(|f| f["type"] != "inbox"), "Cid may not see it: {heard:?}");
}

#[tokio::test]
async fn in_app_alerts_follow_the_team_notification_rule_and_each_agents_preferences() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (bea, _) = app.agent(&admin, "bea@example.com").await;
    let (quiet, _) = app.agent(&admin, "quiet@example.com").await;
    let prefs = json!({"see_all_projects": true, "hide_from_customers": false, "notify_customer_replies": "none",
                       "notify_internal": true, "sound": true, "email_fallback": true});
    quiet.put("/api/v1/me/preferences", Some(prefs)).await.ok();
    let mut bea_socket = connect_agent(&app, &bea.api_token().await).await;
    let mut quiet_socket = connect_agent(&app, &quiet.api_token().await).await;
    for socket in [&mut bea_socket, &mut quiet_socket] {
        socket.send(json!({"type": "watch_inbox"})).await;
        socket.settle().await;
    }
    let (token, _) = visitor(&app).await;
    Client::visitor(&app.base, &token)
        .post("/api/v1/widget/conversations", json!({"message": {"body": "Help!"}}))
        .await
        .ok();
    let alert = bea_socket.expect("alert").await;
    assert_eq!(alert["body"], "Help!");
    let heard = quiet_socket.settle().await;
    assert!(heard.iter().any(|f| f["type"] == "inbox"), "the list still updates: {heard:?}");
    assert!(heard.iter().all(|f| f["type"] != "alert"), "no alert for who asked for none: {heard:?}");

    // The app channel of the rule off: lists update, nobody is alerted.
    let email_only = json!([{"kind": "notify", "to": "team", "app": false, "email": true}]);
    admin.change_rule("team_notification", json!({"actions": email_only})).await;
    bea_socket.settle().await;
    Client::visitor(&app.base, &token)
        .post("/api/v1/widget/conversations", json!({"message": {"body": "Again"}}))
        .await
        .ok();
    let heard = bea_socket.settle().await;
    assert!(heard.iter().any(|f| f["type"] == "inbox") && heard.iter().all(|f| f["type"] != "alert"), "{heard:?}");
}

#[tokio::test]
async fn item_frames_search_and_lists_follow_membership_and_the_see_all_preference() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let lab = admin.project("Lab").await;
    let (bea, bea_id) = app.agent(&admin, "bea@example.com").await;
    let (cid, _) = app.agent(&admin, "cid@example.com").await;
    admin.put(&format!("/api/v1/projects/{lab}/members/{bea_id}"), None).await.ok();
    let mut bea_socket = connect_agent(&app, &bea.api_token().await).await;
    let mut cid_socket = connect_agent(&app, &cid.api_token().await).await;
    for socket in [&mut bea_socket, &mut cid_socket] {
        socket.send(json!({"type": "watch_inbox"})).await;
        socket.settle().await;
    }
    let item = admin.item(lab, "Centrifuge wobbles", None).await;
    let (frame, _) = bea_socket.until("item").await;
    assert_eq!(frame["item"]["id"], item);
    assert_eq!(frame["item"]["title"], "Centrifuge wobbles");
    let heard = cid_socket.settle().await;
    assert!(heard.iter().all(|f| f["type"] != "item"), "Cid is not in Lab: {heard:?}");
    assert!(cid.get("/api/v1/items").await.ok()["entries"].as_array().unwrap().is_empty());
    assert!(cid.get("/api/v1/search?q=centrifuge").await.ok()["items"].as_array().unwrap().is_empty());

    // Seeing across projects changes what the open socket hears, at once and without a reconnect.
    let mut prefs = cid.get("/api/v1/me/preferences").await.ok();
    prefs["see_all_projects"] = json!(true);
    cid.put("/api/v1/me/preferences", Some(prefs)).await.ok();
    admin
        .send(reqwest::Method::PATCH, &format!("/api/v1/items/{item}"), Some(json!({"priority": "urgent"})))
        .await
        .ok();
    let (frame, _) = cid_socket.until("item").await;
    assert_eq!(frame["item"]["priority"], "urgent");
    assert_eq!(cid.get("/api/v1/items").await.ok()["entries"][0]["id"], item);
    assert_eq!(cid.get("/api/v1/search?q=centrifuge").await.ok()["items"][0]["id"], item);
}
