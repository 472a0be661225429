//! Every request gets an id (the caller's `X-Request-Id` when it is a sane one, else a new
//! one), echoed in the answer; everything logged while handling it carries the id; one line
//! per request says what it was and how long it took, and `/metrics` counts it.

use super::AppState;
use crate::metrics::Histogram;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tracing::Instrument;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Default)]
pub struct HttpStats {
    pub latency: Histogram,
    /// Answers by status class: 1xx .. 5xx.
    pub answers: [AtomicU64; 5],
}

/// The caller's id if it is short and plain (a proxy's, to follow a request across both logs),
/// else a fresh one.
fn request_id(req: &ServiceRequest) -> String {
    let given = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok());
    match given {
        Some(id) if (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') => {
            id.to_owned()
        }
        _ => format!("{:016x}", rand::random::<u64>()),
    }
}

pub async fn trace_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = request_id(&req);
    let started = Instant::now();
    let stats = req.app_data::<web::Data<AppState>>().cloned();
    // The path only: query strings may carry visitor tokens.
    let (method, path) = (req.method().clone(), req.path().to_owned());
    let peer = super::client::client_ip(req.request());
    let span = tracing::info_span!("request", id = %id);
    let result = next.call(req).instrument(span.clone()).await;
    let status = match &result {
        Ok(res) => res.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    let took = started.elapsed();
    if let Some(state) = stats {
        state.http.latency.observe(took);
        let class = (status.as_u16() / 100).clamp(1, 5) as usize - 1;
        state.http.answers[class].fetch_add(1, Ordering::Relaxed);
    }
    let ms = took.as_secs_f64() * 1000.0;
    let _entered = span.enter();
    if path == "/healthz" || path == "/metrics" {
        tracing::debug!(%method, path, status = status.as_u16(), ms, peer, "request");
    } else if status.is_server_error() {
        tracing::warn!(%method, path, status = status.as_u16(), ms, peer, "request");
    } else {
        tracing::info!(%method, path, status = status.as_u16(), ms, peer, "request");
    }
    result.map(|mut res| {
        if let Ok(value) = HeaderValue::from_str(&id) {
            res.headers_mut().insert(REQUEST_ID, value);
        }
        res
    })
}
