//! Websocket upgrades. actix-ws checks no Origin, so this does: agents' sockets only from the
//! app's own origin (or without one, with an API token), customers' only from the widget's
//! pages and the sites an admin allowed.

use super::widget::Visitor;
use super::{Agent, State};
use crate::error::ApiError;
use crate::realtime::{self, Peer};
use crate::store::settings;
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

fn upgrade(req: &HttpRequest, body: web::Payload, state: &State, peer: Peer) -> Result<HttpResponse, ApiError> {
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
    let peer = Peer::Agent { user_id: agent.user.id, name: agent.user.name.clone(), viewer: agent.viewer };
    upgrade(&req, body, &state, peer)
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
        let allowed = own || state.store.read(settings::widget).await?.allowed_origins.contains(&origin);
        if !allowed {
            return Err(forbidden_origin());
        }
    }
    let peer = Peer::Customer { customer_id: visitor.customer.id, name: visitor.customer.name.clone() };
    upgrade(&req, body, &state, peer)
}

#[cfg(test)]
mod tests {
    #[test]
    fn origins() {
        assert_eq!(super::origin_of("https://a.example.com/support"), "https://a.example.com");
        assert_eq!(super::origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }
}
