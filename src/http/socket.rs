//! Websocket upgrades. The websocket handshake checks no Origin, so this does: agents' sockets only from the
//! app's own origin (or without one, with an API token), customers' only from the widget's
//! pages and the sites an admin allowed.

use super::upgrade::Takeover;
use super::widget::Visitor;
use super::{Agent, State};
use crate::error::ApiError;
use crate::realtime::protocol::MAX_FRAME_BYTES;
use crate::realtime::{self, Peer, WriteLimit};
use crate::store::Principal;
use actix_web::http::StatusCode;
use actix_web::{get, web, HttpRequest, HttpResponse};

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

/// Accepts the upgrade: a 101 answer whose `Takeover` runs the socket's session on the
/// connection once the answer is out (see `http::upgrade`).
fn upgrade(req: &HttpRequest, state: &State, peer: Peer) -> Result<HttpResponse, ApiError> {
    let handshake = actix_http::ws::handshake(req.head())
        .map_err(|e| ApiError::bad_request("websocket_expected", e.to_string()))?
        .finish();
    let mut response = HttpResponse::from(handshake).map_into_boxed_body();
    let (hub, store, clock) = (state.hub.clone(), state.store.clone(), state.clock.clone());
    response.extensions_mut().insert(Takeover::new(move |stream, already| {
        let (reader, writer) = realtime::wire::split(stream, already, MAX_FRAME_BYTES);
        actix_web::rt::spawn(realtime::run_session(peer, hub, store, clock, writer, reader));
    }));
    Ok(response)
}

/// The agents' live socket (protocol: docs/protocol.md).
#[get("/api/v1/socket")]
async fn agent_socket(state: State, agent: Agent, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    match req.headers().get("origin").map(|o| o.to_str().unwrap_or("")) {
        Some(origin) if origin == origin_of(&state.config.base_url) => {}
        Some(_) => return Err(forbidden_origin()),
        // No Origin means no browser, so no ambient cookie to abuse; still, insist on a token.
        None if req.headers().get("authorization").is_some() => {}
        None => return Err(forbidden_origin()),
    }
    let principal = Principal::Agent { user_id: agent.user.id, credential: agent.credential.clone() };
    let peer = Peer { principal, name: Some(agent.user.name.clone()), writes: None };
    upgrade(&req, &state, peer)
}

/// A customer's live socket; the visitor token comes as `?token=` (browsers cannot set headers
/// on a websocket).
#[get("/api/v1/widget/socket")]
async fn customer_socket(state: State, visitor: Visitor, req: HttpRequest) -> Result<HttpResponse, ApiError> {
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
    upgrade(&req, &state, peer)
}

#[cfg(test)]
mod tests {
    #[test]
    fn origins() {
        assert_eq!(super::origin_of("https://a.example.com/support"), "https://a.example.com");
        assert_eq!(super::origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }
}
