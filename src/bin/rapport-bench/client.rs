//! Websocket clients, spread over several loopback source addresses so that one address's
//! ~28,000 ephemeral ports do not cap the socket count.

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub type Ws = WebSocketStream<TcpStream>;

/// Sockets opened so far by this process: each gets the next source address in turn, so that
/// a run never reuses the ports a run before it left in TIME_WAIT.
static OPENED: AtomicUsize = AtomicUsize::new(0);

/// The source address of the next socket: 20,000 sockets per address from 127.0.0.3 on.
fn next_source() -> IpAddr {
    let n = OPENED.fetch_add(1, Ordering::Relaxed);
    let k = 2 + n / 20_000;
    IpAddr::V4(Ipv4Addr::new(127, 0, (k / 250) as u8, (k % 250) as u8 + 1))
}

pub async fn connect(url: &str, bearer: Option<&str>) -> Result<Ws, String> {
    let from = next_source();
    let mut request = url.into_client_request().map_err(|e| e.to_string())?;
    if let Some(token) = bearer {
        request.headers_mut().insert("authorization", format!("Bearer {token}").parse().map_err(|_| "bad token")?);
    }
    let host = request.uri().host().ok_or("no host")?.to_owned();
    let port = request.uri().port_u16().unwrap_or(80);
    let target: SocketAddr = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| e.to_string())?
        .find(SocketAddr::is_ipv4)
        .ok_or("no IPv4 address")?;
    let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
    socket.bind(SocketAddr::new(from, 0)).map_err(|e| format!("bind {from}: {e}"))?;
    let stream = socket.connect(target).await.map_err(|e| format!("connect: {e}"))?;
    let (ws, _) = tokio_tungstenite::client_async(request, stream).await.map_err(|e| e.to_string())?;
    Ok(ws)
}

pub async fn send(ws: &mut Ws, frame: &Value) -> Result<(), String> {
    ws.send(Message::text(frame.to_string())).await.map_err(|e| e.to_string())
}

/// The next JSON frame (pings are answered by tungstenite while reading).
pub async fn next(ws: &mut Ws) -> Result<Value, String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(&t).map_err(|e| e.to_string()),
            Some(Ok(Message::Close(c))) => return Err(format!("closed: {c:?}")),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("closed".into()),
        }
    }
}

/// Reads frames until one of `kind` arrives.
pub async fn until(ws: &mut Ws, kind: &str) -> Result<Value, String> {
    loop {
        let frame = next(ws).await?;
        if frame["type"] == kind {
            return Ok(frame);
        }
        if frame["type"] == "error" {
            return Err(format!("error frame: {frame}"));
        }
    }
}
