//! Password sign-ins (agents' and customers') and the limits that stop guessing without
//! locking out the account's owner:
//!
//! - per client address, 20 password checks in 15 minutes;
//! - per account and address (or account and known device), 5 failures in 15 minutes;
//! - per account, 20 failures an hour from browsers that never signed in to it; a browser that
//!   did (it holds a known-device cookie) is exempt, so guessing from elsewhere cannot lock the
//!   owner out of their own devices.
//!
//! Each attempt reserves its slots before the password is checked, under each limiter's lock,
//! so N concurrent guesses cost at most the limit in password checks. A right password gives
//! its account slot back and clears its address's failures; an attempt never checked (the
//! password queue was full) gives every slot back.

use super::device::KnownDevices;
use super::State;
use crate::domain::Secret;
use crate::error::ApiError;
use crate::limits::{RateLimiter, Taken};
use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::HttpRequest;

const CHECKS_PER_ADDRESS: u32 = 20;
const FAILURES_PER_SOURCE: u32 = 5;
const SHORT_WINDOW_MS: i64 = 15 * 60 * 1000;
const FAILURES_PER_ACCOUNT: u32 = 20;
const ACCOUNT_WINDOW_MS: i64 = 60 * 60 * 1000;

pub struct LoginLimits {
    by_address: RateLimiter,
    by_source: RateLimiter,
    by_account: RateLimiter,
    devices: KnownDevices,
}

/// The slots one attempt holds until its outcome is known. Dropped as it is, it counts as a
/// failure (also when the client gives up while its password is being checked).
pub(super) struct Attempt<'a> {
    limits: &'a LoginLimits,
    address: Taken,
    source: (Taken, String),
    account: Option<Taken>,
}

impl LoginLimits {
    /// `device_key` signs the known-device cookies.
    pub fn new(device_key: Secret) -> LoginLimits {
        LoginLimits {
            by_address: RateLimiter::new(CHECKS_PER_ADDRESS, SHORT_WINDOW_MS),
            by_source: RateLimiter::new(FAILURES_PER_SOURCE, SHORT_WINDOW_MS),
            by_account: RateLimiter::new(FAILURES_PER_ACCOUNT, ACCOUNT_WINDOW_MS),
            devices: KnownDevices::new(device_key),
        }
    }

    /// Reserves the slots of one attempt on `account` from `address` (the limit key of the
    /// client's address), or from the known device `device`.
    pub(super) fn begin(
        &self,
        account: &str,
        address: &str,
        device: Option<&str>,
        now: i64,
    ) -> Result<Attempt<'_>, ApiError> {
        let source = match device {
            Some(nonce) => format!("{account}\ndevice {nonce}"),
            None => format!("{account}\nfrom {address}"),
        };
        let from_here = |secs| {
            let message = format!("too many sign-in attempts from your address; try again in {secs} s");
            ApiError::limited("too_many_login_attempts", secs, message)
        };
        let address = self.by_address.take_one(address, now).map_err(from_here)?;
        let source_slot = match self.by_source.take_one(&source, now) {
            Ok(slot) => slot,
            Err(secs) => {
                self.by_address.give_back(address);
                return Err(from_here(secs));
            }
        };
        let account = match device {
            Some(_) => None,
            None => match self.by_account.take_one(account, now) {
                Ok(slot) => Some(slot),
                Err(secs) => {
                    self.by_address.give_back(address);
                    self.by_source.give_back(source_slot);
                    return Err(account_locked(secs));
                }
            },
        };
        Ok(Attempt { limits: self, address, source: (source_slot, source), account })
    }
}

fn account_locked(secs: u64) -> ApiError {
    let message = format!(
        "this account has had too many failed sign-ins; sign in from a browser you have signed in \
         with before, or try again in {secs} s"
    );
    ApiError::limited("account_locked", secs, message)
}

impl Attempt<'_> {
    /// The password was never checked: nothing counts.
    fn abandon(self) {
        self.limits.by_address.give_back(self.address);
        self.limits.by_source.give_back(self.source.0);
        if let Some(slot) = self.account {
            self.limits.by_account.give_back(slot);
        }
    }

    /// The password was right: this source's failures are forgiven, and so is this attempt's
    /// share of the account's (not the others': they may be someone else's guesses).
    fn succeeded(self) {
        self.limits.by_source.clear(&self.source.1);
        if let Some(slot) = self.account {
            self.limits.by_account.give_back(slot);
        }
    }
}

/// Checks a password for a sign-in within the login limits: `account` names the account in the
/// limits and the known-device cookie, `lookup` finds who it is and their password hash.
/// Unknown accounts take as long as known ones. Besides who signed in, the answer is a fresh
/// known-device cookie to set.
pub(super) async fn check_password<T>(
    state: &State,
    req: &HttpRequest,
    account: &str,
    password: &Secret,
    lookup: impl std::future::Future<Output = crate::store::Result<Option<(T, Option<String>)>>>,
) -> Result<(T, Cookie<'static>), ApiError> {
    let now = state.now();
    let limits = &state.logins;
    let device = limits.devices.recognise(req, account, now);
    let attempt = limits.begin(account, &super::limit_key(req), device.as_deref(), now)?;
    let found = match lookup.await {
        Ok(found) => found,
        Err(e) => {
            attempt.abandon();
            return Err(e.into());
        }
    };
    let (who, hash) = found.map_or((None, None), |(who, hash)| (Some(who), hash));
    let ok = match state.passwords.verify(password.expose().to_owned(), hash).await {
        Ok(ok) => ok,
        Err(e) => {
            attempt.abandon();
            return Err(e.into());
        }
    };
    let Some(who) = who.filter(|_| ok) else {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", "wrong email or password"));
    };
    attempt.succeeded();
    let secure = state.config.base_url.starts_with("https://");
    Ok((who, limits.devices.issue(req.path(), account, now, secure)))
}
