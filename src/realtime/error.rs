//! What a socket answers when it cannot do what a frame asked: an `error` frame with a stable
//! code and a sentence (the socket stays open), or a close when its principal may no longer act.
//! The store's and the rate limits' refusals are mapped here, to the same codes and sentences
//! REST answers with (docs/protocol.md), so the live layer needs nothing of HTTP's error type.

use crate::limits::TooFast;
use crate::store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketError {
    /// Refused: answered with an `error` frame that names the conversation and the `client_id`
    /// it was about.
    Refused { code: &'static str, message: String },
    /// The principal may no longer act (signed out, revoked, deactivated, erased): the socket
    /// closes with `close::ACCESS_REVOKED`.
    Revoked,
}

impl SocketError {
    pub fn refused(code: &'static str, message: impl Into<String>) -> SocketError {
        SocketError::Refused { code, message: message.into() }
    }

    fn internal() -> SocketError {
        SocketError::refused("internal_error", "something went wrong on the server; it has been logged")
    }
}

impl From<StoreError> for SocketError {
    fn from(e: StoreError) -> SocketError {
        match e {
            StoreError::NotFound(code) => SocketError::refused(
                code,
                format!("{} does not exist", code.trim_end_matches("_not_found").replace('_', " ")),
            ),
            StoreError::Conflict(code) => SocketError::refused(code, StoreError::conflict_sentence(code)),
            StoreError::Invalid(invalid) => SocketError::refused(invalid.code, invalid.message),
            StoreError::Closed => SocketError::refused("shutting_down", "the server is shutting down"),
            StoreError::Revoked => SocketError::Revoked,
            StoreError::Busy => SocketError::refused(
                "server_busy",
                "the server is busy answering other requests; try again in a moment",
            ),
            StoreError::TooSlow => SocketError::refused(
                "query_too_slow",
                "this took too long to answer; narrow it down (more or longer words) and try again",
            ),
            StoreError::Full => {
                tracing::error!("the disk is full: a write was refused");
                SocketError::refused("storage_full", "the server's disk is full; nothing was saved, try again later")
            }
            other => {
                tracing::error!(error = %other, "store error");
                SocketError::internal()
            }
        }
    }
}

/// A customer writes faster than their limits (`crate::limits::CustomerWrites`, shared with
/// their REST writes, which answer `429 too_many_messages`).
impl From<TooFast> for SocketError {
    fn from(refused: TooFast) -> SocketError {
        let secs = refused.retry_after_secs;
        SocketError::refused("too_many_messages", format!("you are sending too fast; try again in {secs} s"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(e: impl Into<SocketError>) -> (&'static str, String) {
        match e.into() {
            SocketError::Refused { code, message } => (code, message),
            SocketError::Revoked => panic!("refused, not closed"),
        }
    }

    #[test]
    fn store_and_limit_refusals_keep_their_codes_and_sentences() {
        assert_eq!(
            refused(StoreError::NotFound("conversation_not_found")),
            ("conversation_not_found", "conversation does not exist".to_owned())
        );
        assert_eq!(
            refused(StoreError::Conflict("client_id_conflict")),
            ("client_id_conflict", "this client_id was already used by someone else in this conversation".to_owned())
        );
        let invalid = crate::domain::Invalid::new("invalid_body", "the body is empty");
        assert_eq!(refused(StoreError::Invalid(invalid)), ("invalid_body", "the body is empty".to_owned()));
        assert_eq!(refused(StoreError::Internal("disk on fire".into())).0, "internal_error");
        assert_eq!(
            refused(TooFast { retry_after_secs: 2 }),
            ("too_many_messages", "you are sending too fast; try again in 2 s".to_owned())
        );
        assert_eq!(SocketError::from(StoreError::Revoked), SocketError::Revoked);
    }
}
