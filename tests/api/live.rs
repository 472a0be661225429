//! A websocket client for the live protocol (docs/protocol.md), shared by the tests that
//! hold sockets open: frames read with a deadline, barriers by ping, close codes.

use crate::helpers::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

/// How long any single expected frame may take.
pub const WAIT: Duration = Duration::from_secs(5);
/// How long "nothing more arrives" is watched for.
pub const QUIET: Duration = Duration::from_millis(150);

pub type Ws = WebSocketStream<TcpStream>;

pub fn port(app: &TestApp) -> u16 {
    app.base.rsplit(':').next().and_then(|p| p.parse().ok()).expect("base url has a port")
}

/// Opens a websocket to `path` with extra request headers; `recv_buffer` shrinks the client's
/// kernel receive buffer (set before connecting, so the window stays small).
pub async fn open(
    app: &TestApp,
    path: &str,
    headers: &[(&'static str, String)],
    recv_buffer: Option<u32>,
) -> Result<Ws, WsError> {
    let port = port(app);
    let mut request = format!("ws://127.0.0.1:{port}{path}").into_client_request().expect("valid url");
    for (name, value) in headers {
        request.headers_mut().insert(*name, HeaderValue::from_str(value).expect("valid header"));
    }
    let socket = TcpSocket::new_v4().expect("socket");
    if let Some(size) = recv_buffer {
        socket.set_recv_buffer_size(size).expect("recv buffer size");
    }
    let stream = socket.connect(([127, 0, 0, 1], port).into()).await.expect("tcp connect");
    tokio_tungstenite::client_async(request, stream).await.map(|(ws, _)| ws)
}

/// The status of a refused upgrade, and the error code in its body.
pub fn refusal(result: Result<Ws, WsError>) -> (u16, String) {
    match result {
        Err(WsError::Http(response)) => {
            let body: Value =
                response.body().as_deref().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or_default();
            (response.status().as_u16(), body["error"]["code"].as_str().unwrap_or("").to_owned())
        }
        Err(e) => panic!("expected an HTTP refusal, got {e}"),
        Ok(_) => panic!("expected an HTTP refusal, the socket opened"),
    }
}

pub async fn connect_agent(app: &TestApp, token: &str) -> Live {
    let ws = open(app, "/api/v1/socket", &[("authorization", format!("Bearer {token}"))], None)
        .await
        .expect("agent socket opens");
    Live::greeted(ws).await
}

pub async fn connect_customer(app: &TestApp, token: &str) -> Live {
    let ws =
        open(app, &format!("/api/v1/widget/socket?token={token}"), &[], None).await.expect("customer socket opens");
    Live::greeted(ws).await
}

/// One client socket.
pub struct Live {
    pub ws: Ws,
}

impl Live {
    /// Wraps a fresh socket and checks the server's first frame.
    pub async fn greeted(ws: Ws) -> Live {
        let mut live = Live { ws };
        let hello = live.next_any().await;
        assert_eq!(hello["type"], "hello", "first frame: {hello}");
        assert_eq!(hello["protocol"], 1);
        live
    }

    pub async fn send(&mut self, frame: Value) {
        self.ws.send(Message::text(frame.to_string())).await.expect("frame sent");
    }

    /// The next text frame, whatever it is.
    pub async fn next_any(&mut self) -> Value {
        loop {
            let message = timeout(WAIT, self.ws.next())
                .await
                .expect("a frame within the wait")
                .expect("socket still open")
                .expect("socket readable");
            match message {
                Message::Text(text) => return serde_json::from_str(&text).expect("a JSON frame"),
                Message::Close(frame) => panic!("socket closed: {frame:?}"),
                Message::Binary(_) => panic!("the server sent a binary frame"),
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
        }
    }

    /// The next frame that is not noise (hello, presence, pong).
    pub async fn next(&mut self) -> Value {
        loop {
            let frame = self.next_any().await;
            if !matches!(frame["type"].as_str(), Some("hello" | "presence" | "pong")) {
                return frame;
            }
        }
    }

    /// Reads until a frame of type `kind`; returns it and the frames before it. An unexpected
    /// `error` frame fails the test at once.
    pub async fn until(&mut self, kind: &str) -> (Value, Vec<Value>) {
        let mut before = Vec::new();
        loop {
            let frame = self.next_any().await;
            if frame["type"] == kind {
                return (frame, before);
            }
            assert_ne!(frame["type"], "error", "while waiting for {kind}");
            before.push(frame);
        }
    }

    pub async fn expect(&mut self, kind: &str) -> Value {
        self.until(kind).await.0
    }

    /// Subscribes and returns the replayed messages (the backlog), checking `subscribed`.
    pub async fn subscribe(&mut self, conversation: i64, after_seq: i64) -> Vec<Value> {
        self.send(json!({"type": "subscribe", "conversation_id": conversation, "after_seq": after_seq})).await;
        let (subscribed, before) = self.until("subscribed").await;
        assert_eq!(subscribed["conversation_id"], conversation);
        let backlog: Vec<Value> = before.into_iter().filter(|f| f["type"] == "message").collect();
        let expected_last = backlog.last().map_or(after_seq, |f| f["message"]["seq"].as_i64().unwrap());
        assert_eq!(subscribed["last_seq"], expected_last, "subscribed after the backlog");
        backlog
    }

    /// A `send`, answered by its `ack`; returns the ack.
    pub async fn post(&mut self, conversation: i64, client_id: &str, body: &str) -> Value {
        self.send(json!({"type": "send", "conversation_id": conversation, "client_id": client_id, "body": body})).await;
        loop {
            let (ack, _) = self.until("ack").await;
            if ack["client_id"] == client_id {
                assert_eq!(ack["conversation_id"], conversation);
                return ack;
            }
        }
    }

    /// Everything that arrives until the answer to a `ping`, and for a short while after.
    pub async fn settle(&mut self) -> Vec<Value> {
        self.send(json!({"type": "ping"})).await;
        let (_, mut frames) = self.until("pong").await;
        frames.extend(self.quiet().await);
        frames
    }

    /// The frames that arrive within `QUIET` (expected: none that matter).
    pub async fn quiet(&mut self) -> Vec<Value> {
        let mut frames = Vec::new();
        let deadline = tokio::time::Instant::now() + QUIET;
        while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, self.ws.next()).await {
            match message {
                Message::Text(text) => frames.push(serde_json::from_str(&text).expect("a JSON frame")),
                Message::Close(frame) => panic!("socket closed: {frame:?}"),
                _ => {}
            }
        }
        frames
    }

    /// Reads until the server closes: the close code, or `None` if the connection ended
    /// without a close frame.
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            match timeout(WAIT, self.ws.next()).await.expect("the server closes within the wait") {
                Some(Ok(Message::Close(Some(frame)))) => return Some(frame.code.into()),
                Some(Ok(Message::Close(None))) => return Some(1005),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
    }
}

/// A cookie session for `email`, as the agents' app has it: the cookie header and the CSRF token.
pub async fn cookie_session(app: &TestApp, email: &str) -> (String, String) {
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "login {email}");
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("rapport_session="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let body: Value = res.json().await.unwrap();
    (cookie, body["csrf_token"].as_str().unwrap().to_owned())
}
