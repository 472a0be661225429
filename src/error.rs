//! What clients see when something goes wrong: an HTTP status and a stable snake_case code,
//! mapped from every lower layer in this one place. Internals are logged, never returned.

use crate::domain::Invalid;
use crate::store::StoreError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds, for 429 answers.
    pub retry_after: Option<u64>,
}

/// The body of every error: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable and machine-readable, e.g. `conversation_not_found`.
    pub code: String,
    /// For people; may change.
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), retry_after: None }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn not_found(code: &'static str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            code,
            format!("{} does not exist", code.trim_end_matches("_not_found").replace('_', " ")),
        )
    }
    pub fn unauthenticated() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "log in or send a valid API token")
    }
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "something went wrong on the server; it has been logged",
        )
    }
    pub fn too_many(code: &'static str, retry_after: u64) -> ApiError {
        ApiError::limited(code, retry_after, format!("too many attempts; try again in {retry_after} s"))
    }
    /// A 429 that says in its own words what was limited; `Retry-After` says when to come back.
    pub fn limited(code: &'static str, retry_after: u64, message: impl Into<String>) -> ApiError {
        ApiError { retry_after: Some(retry_after), ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, message) }
    }
    /// A customer writes faster than their limits (`crate::limits::CustomerWrites`).
    pub fn too_fast(refused: crate::limits::TooFast) -> ApiError {
        let secs = refused.retry_after_secs;
        ApiError::limited("too_many_messages", secs, format!("you are sending too fast; try again in {secs} s"))
    }
    /// Too many password checks are waiting: a 503 answered at once, to be tried again soon.
    pub fn busy() -> ApiError {
        ApiError {
            retry_after: Some(1),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the server is busy checking other passwords; try again in a moment",
            )
        }
    }
}

impl From<crate::password::HashError> for ApiError {
    fn from(e: crate::password::HashError) -> ApiError {
        match e {
            crate::password::HashError::Busy => ApiError::busy(),
            crate::password::HashError::Failed(reason) => {
                tracing::error!(error = %reason, "password hashing failed");
                ApiError::internal()
            }
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after {
            res.insert_header(("Retry-After", secs.to_string()));
        }
        res.json(ErrorBody { error: ErrorDetail { code: self.code.into(), message: self.message.clone() } })
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code, e.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound(code) => ApiError::not_found(code),
            StoreError::Conflict(code) => {
                ApiError::new(StatusCode::CONFLICT, code, StoreError::conflict_sentence(code))
            }
            StoreError::Invalid(invalid) => invalid.into(),
            StoreError::Closed => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", "the server is shutting down")
            }
            StoreError::Revoked => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "access_revoked",
                "your access has ended (signed out, revoked or deactivated): sign in again",
            ),
            StoreError::Busy => ApiError {
                retry_after: Some(1),
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "server_busy",
                    "the server is busy answering other requests; try again in a moment",
                )
            },
            StoreError::TooSlow => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "query_too_slow",
                "this took too long to answer; narrow it down (more or longer words) and try again",
            ),
            StoreError::Full => {
                tracing::error!("the disk is full: a write was refused");
                ApiError::new(
                    StatusCode::INSUFFICIENT_STORAGE,
                    "storage_full",
                    "the server's disk is full; nothing was saved, try again later",
                )
            }
            other => {
                tracing::error!(error = %other, "store error");
                ApiError::internal()
            }
        }
    }
}
