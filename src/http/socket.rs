//! Websocket upgrades. actix-ws checks no Origin, so this does: agents' sockets only from the
//! app's own origin (or without one, with an API token), customers' only from the widget's
//! pages and the sites an admin allowed.

use super::widget::Visitor;
use super::{Agent, State};
use crate::error::ApiError;
use crate::realtime::protocol::MAX_FRAME_BYTES;
use crate::realtime::{self, Peer, WriteLimit};
use crate::store::Principal;
use actix_web::dev;
use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{get, web, FromRequest, HttpRequest, HttpResponse};
use futures_util::Stream;
use std::pin::Pin;
use std::task::{Context, Poll};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(agent_socket).service(customer_socket);
}

/// `scheme://host[:port]` of a URL.
pub(crate) fn origin_of(url: &str) -> &str {
    let start = url.find("://").map_or(0, |i| i + 3);
    url[start..].find('/').map_or(url, |end| &url[..start + end])
}

fn forbidden_origin() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "origin_not_allowed", "this page may not open a Rapport socket")
}

async fn upgrade(req: &HttpRequest, body: web::Payload, state: &State, peer: Peer) -> Result<HttpResponse, ApiError> {
    let limited: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
        Box::pin(FrameLimit::new(body.into_inner()));
    let body =
        web::Payload::from_request(req, &mut dev::Payload::from(limited)).await.map_err(|_| ApiError::internal())?;
    let (response, session, stream) =
        actix_ws::handle(req, body).map_err(|e| ApiError::bad_request("websocket_expected", e.to_string()))?;
    let (hub, store, clock) = (state.hub.clone(), state.store.clone(), state.clock.clone());
    actix_web::rt::spawn(realtime::run_session(peer, hub, store, clock, session, stream));
    Ok(response)
}

/// The agents' live socket (protocol: docs/protocol.md).
#[get("/api/v1/socket")]
async fn agent_socket(
    state: State,
    agent: Agent,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    match req.headers().get("origin").map(|o| o.to_str().unwrap_or("")) {
        Some(origin) if origin == origin_of(&state.config.base_url) => {}
        Some(_) => return Err(forbidden_origin()),
        // No Origin means no browser, so no ambient cookie to abuse; still, insist on a token.
        None if req.headers().get("authorization").is_some() => {}
        None => return Err(forbidden_origin()),
    }
    let principal = Principal::Agent { user_id: agent.user.id, credential: agent.credential.clone() };
    let peer = Peer { principal, name: Some(agent.user.name.clone()), writes: None };
    upgrade(&req, body, &state, peer).await
}

/// A customer's live socket; the visitor token comes as `?token=` (browsers cannot set headers
/// on a websocket).
#[get("/api/v1/widget/socket")]
async fn customer_socket(
    state: State,
    visitor: Visitor,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    if let Some(origin) = req.headers().get("origin") {
        let origin = origin.to_str().unwrap_or("").to_owned();
        let own = origin == origin_of(&state.config.base_url);
        let allowed = own || state.store.settings().widget().await?.allowed_origins.contains(&origin);
        if !allowed {
            return Err(forbidden_origin());
        }
    }
    let principal = Principal::Customer { customer_id: visitor.customer.id, token_hash: visitor.token_hash().to_vec() };
    let writes = WriteLimit { limiter: state.customer_writes.clone(), address: super::limit_key(&req) };
    let peer = Peer { principal, name: Some(visitor.customer.display_name()), writes: Some(writes) };
    upgrade(&req, body, &state, peer).await
}

/// Cuts a client off as soon as it announces a frame over `MAX_FRAME_BYTES`, with the error
/// (`PayloadError::Overflow`) the session closes with 1009. actix-ws checks the size only once the whole frame is in, so
/// without this a client announcing an endless frame (say 2^63 bytes) would have everything it
/// sends buffered until the heartbeat gave up on it. Reads only the frames' headers and passes
/// every byte on as it came.
struct FrameLimit<S> {
    inner: S,
    /// The header being read (at most 14 bytes), or empty inside a payload.
    header: Vec<u8>,
    /// Payload bytes of the current frame still to come.
    skip: u64,
    refused: bool,
}

impl<S> FrameLimit<S> {
    fn new(inner: S) -> FrameLimit<S> {
        FrameLimit { inner, header: Vec::with_capacity(14), skip: 0, refused: false }
    }

    /// Follows the frames through `chunk`; false when one is announced over the limit.
    fn admit(&mut self, mut chunk: &[u8]) -> bool {
        while !chunk.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(chunk.len() as u64);
                self.skip -= n;
                chunk = &chunk[n as usize..];
                continue;
            }
            self.header.push(chunk[0]);
            chunk = &chunk[1..];
            if self.header.len() < 2 {
                continue;
            }
            let extended = match self.header[1] & 0x7f {
                126 => 2,
                127 => 8,
                _ => 0,
            };
            let mask = if self.header[1] & 0x80 != 0 { 4 } else { 0 };
            if self.header.len() < 2 + extended + mask {
                continue;
            }
            let length = match extended {
                0 => u64::from(self.header[1] & 0x7f),
                n => self.header[2..2 + n].iter().fold(0, |length, b| length << 8 | u64::from(*b)),
            };
            if length > MAX_FRAME_BYTES as u64 {
                return false;
            }
            self.skip = length;
            self.header.clear();
        }
        true
    }
}

impl<S: Stream<Item = Result<Bytes, PayloadError>> + Unpin> Stream for FrameLimit<S> {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.refused {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) if !self.admit(&chunk) => {
                self.refused = true;
                Poll::Ready(Some(Err(PayloadError::Overflow)))
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn frames_announced_over_the_limit_are_refused_from_their_header() {
        let limit = super::MAX_FRAME_BYTES as u64;
        let header = |length: u64| -> Vec<u8> {
            let mut h = vec![0x81];
            match length {
                0..=125 => h.push(0x80 | length as u8),
                126..=65535 => h.extend([0x80 | 126].into_iter().chain((length as u16).to_be_bytes())),
                _ => h.extend([0x80 | 127].into_iter().chain(length.to_be_bytes())),
            }
            h.extend([1, 2, 3, 4]); // the mask
            h
        };
        let frame = |length: u64| [header(length), vec![b'x'; length as usize]].concat();
        let mut fine = super::FrameLimit::new(());
        let stream: Vec<u8> = [frame(5), frame(200), frame(limit), frame(0)].concat();
        // However the bytes are cut into chunks.
        for chunk in stream.chunks(7) {
            assert!(fine.admit(chunk));
        }
        for length in [limit + 1, u64::MAX >> 1, u64::MAX] {
            let mut limited = super::FrameLimit::new(());
            assert!(limited.admit(&frame(5)));
            let head = header(length);
            assert!(limited.admit(&head[..3]));
            assert!(!limited.admit(&head[3..]), "{length}");
        }
    }

    #[test]
    fn origins() {
        assert_eq!(super::origin_of("https://a.example.com/support"), "https://a.example.com");
        assert_eq!(super::origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }
}
