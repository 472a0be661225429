//! Thin handlers: extract, call the store, answer with a DTO. Routes, body limits and the
//! mapping of extractor errors to stable codes live here.

mod assets;
mod attachments;
mod auth;
mod client;
mod conversations;
mod customers;
mod device;
mod email;
mod forms;
mod health;
mod items;
mod login_limits;
mod observe;
pub mod openapi;
mod page;
mod portal;
mod projects;
mod rules;
mod setup;
mod socket;
mod tokens;
pub mod upgrade;
mod users;
mod widget;

pub use auth::{preauthenticate, Admin, Agent, SESSION_COOKIE};
use client::limit_key;
pub use login_limits::LoginLimits;
pub use observe::trace_requests;
pub use setup::SetupLink;

use crate::clock::Clock;
use crate::config::Config;
use crate::error::ApiError;
use crate::limits::{CustomerWrites, RateLimiter};
use crate::store::Store;
use actix_web::http::StatusCode;
use actix_web::{error, web, HttpRequest, HttpResponse};
use std::sync::Arc;

/// Counts one attempt under `keys` in `limiter`, or answers 429 with `code` and when to try again.
pub(crate) fn admit(limiter: &RateLimiter, keys: &[&str], now: i64, code: &'static str) -> Result<(), ApiError> {
    limiter.take(keys, now).map(drop).map_err(|secs| ApiError::too_many(code, secs))
}

/// Everything a handler may need, passed explicitly (no globals).
pub struct AppState {
    pub store: Store,
    pub mailer: Option<Arc<crate::mail::Mailer>>,
    pub hub: crate::realtime::Hub,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    /// Password sign-ins per address, per account and address (or known device), per account.
    pub logins: LoginLimits,
    /// Hashes and checks passwords, a bounded number at once.
    pub passwords: crate::password::Hasher,
    pub setup: SetupLink,
    pub new_visitors: RateLimiter,
    /// Anonymous writes (new conversations, uploads) per IP.
    pub widget_writes: RateLimiter,
    /// Everything customers write (messages, conversations, tickets, uploads), per visitor and
    /// per address, on every path; shared with the live sockets.
    pub customer_writes: Arc<CustomerWrites>,
    /// Portal sign-in links asked for and redeemed, per IP and per address.
    pub portal_attempts: RateLimiter,
    /// Web form submissions per IP.
    pub form_submissions: RateLimiter,
    /// The address customers write to (sign-in emails come from the same letterhead).
    pub support_address: String,
    /// The background jobs, for their figures in `/metrics`.
    pub jobs: crate::jobs::Jobs,
    /// Handles inbound email (and held mail an admin releases).
    pub mailroom: crate::mail::inbound::Mailroom,
    /// Wakes the email sender.
    pub doorbell: crate::mail::postman::Doorbell,
    /// Runs the time-based rules; told when rules change.
    pub timed_rules: crate::timed_rules::TimedRules,
    /// Counts and times every answer, for `/metrics`.
    pub http: observe::HttpStats,
    /// When the app started, for the health page.
    pub started: std::time::Instant,
}

impl AppState {
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }
}

pub type State = web::Data<AppState>;

pub fn configure(cfg: &mut web::ServiceConfig, max_json_bytes: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(max_json_bytes)
            .error_handler(move |e, _| json_error(e, max_json_bytes).into()),
    )
    .app_data(web::PathConfig::default().error_handler(|_, _| ApiError::not_found("resource_not_found").into()))
    .app_data(
        web::QueryConfig::default().error_handler(|e, _| ApiError::bad_request("invalid_query", e.to_string()).into()),
    )
    .app_data(web::FormConfig::default().limit(64 * 1024))
    .route("/healthz", web::get().to(healthz))
    .service(openapi::document)
    .configure(auth::routes)
    .configure(users::routes)
    .configure(tokens::routes)
    .configure(projects::routes)
    .configure(customers::routes)
    .configure(items::routes)
    .configure(conversations::routes)
    .configure(attachments::routes)
    .configure(setup::routes)
    .configure(socket::routes)
    .configure(widget::routes)
    .configure(portal::routes)
    .configure(forms::routes)
    .configure(email::routes)
    .configure(rules::routes)
    .configure(health::routes)
    .configure(assets::routes)
    .default_service(web::to(not_found));
}

fn json_error(e: error::JsonPayloadError, max: usize) -> ApiError {
    match e {
        error::JsonPayloadError::OverflowKnownLength { .. } | error::JsonPayloadError::Overflow { .. } => {
            let max = crate::domain::human_size(max as u64);
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("This is too much to send at once: at most {max} of text."),
            )
        }
        error::JsonPayloadError::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send JSON with Content-Type: application/json",
        ),
        error::JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", e.to_string())
        }
        error::JsonPayloadError::Deserialize(e) => ApiError::bad_request("invalid_json", e.to_string()),
        other => ApiError::bad_request("invalid_body", other.to_string()),
    }
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    let e = ApiError::new(
        StatusCode::NOT_FOUND,
        "route_not_found",
        format!("no route for {} {}", req.method(), req.path()),
    );
    actix_web::ResponseError::error_response(&e)
}

#[utoipa::path(get, path = "/healthz", tag = "meta", security(()), responses((status = 200, description = "the server answers")))]
async fn healthz(state: State) -> Result<HttpResponse, ApiError> {
    state.store.ping().await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ok" })))
}

/// The `{"id": ...}`-free acknowledgement of an action.
pub(crate) fn no_content() -> HttpResponse {
    HttpResponse::NoContent().finish()
}
