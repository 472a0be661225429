//! The "known device" cookie: a successful sign-in leaves a signed note in the browser that it
//! has signed in to this account before, and the per-account lockout does not apply to its
//! holder (OWASP's "device cookies"). Someone guessing from elsewhere then locks out only
//! browsers the owner has never used, not the owner.
//!
//! The cookie is `nonce.issued.mac`, the MAC an HMAC-SHA256 over the account, the nonce and the
//! time it was issued; it is sent only to the sign-in endpoint that set it.

use crate::domain::Secret;
use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::HttpRequest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const DEVICE_COOKIE: &str = "rapport_device";
/// How long a browser stays known without signing in again.
const KNOWN_FOR_DAYS: i64 = 365;
const DAY_MS: i64 = 24 * 3600 * 1000;

pub struct KnownDevices {
    key: Secret,
}

impl KnownDevices {
    pub fn new(key: Secret) -> KnownDevices {
        KnownDevices { key }
    }

    fn mac(&self, account: &str, nonce: &str, issued: i64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key.expose().as_bytes()).expect("HMAC takes any key length");
        mac.update(format!("rapport-device\n{account}\n{nonce}\n{issued}").as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// A fresh cookie that marks this browser as known to `account`, for the sign-in endpoint
    /// at `path` only.
    pub fn issue(&self, path: &str, account: &str, now: i64, secure: bool) -> Cookie<'static> {
        let nonce = crate::token::generate("");
        let value = format!("{nonce}.{now}.{}", self.mac(account, &nonce, now));
        Cookie::build(DEVICE_COOKIE, value)
            .path(path.to_owned())
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(secure)
            .max_age(CookieDuration::days(KNOWN_FOR_DAYS))
            .finish()
    }

    /// The device's nonce, when the request carries a genuine, unexpired cookie for `account`.
    pub fn recognise(&self, req: &HttpRequest, account: &str, now: i64) -> Option<String> {
        let cookie = req.cookie(DEVICE_COOKIE)?;
        self.verify(cookie.value(), account, now)
    }

    fn verify(&self, value: &str, account: &str, now: i64) -> Option<String> {
        let mut parts = value.splitn(3, '.');
        let (nonce, issued, mac) = (parts.next()?, parts.next()?, parts.next()?);
        let issued: i64 = issued.parse().ok()?;
        let fresh = issued <= now + DAY_MS && now - issued < KNOWN_FOR_DAYS * DAY_MS;
        (fresh && crate::token::equal(mac, &self.mac(account, nonce, issued))).then(|| nonce.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_cookie_is_good_only_for_its_account_unaltered_and_within_a_year() {
        let devices = KnownDevices::new(Secret::new("key"));
        let now = 1_800_000_000_000;
        let cookie = devices.issue("/api/v1/auth/login", "ann@example.com", now, true);
        assert_eq!(cookie.path(), Some("/api/v1/auth/login"));
        assert!(cookie.http_only().unwrap_or(false) && cookie.secure().unwrap_or(false));
        let value = cookie.value();
        let nonce = devices.verify(value, "ann@example.com", now + DAY_MS).expect("recognised");
        assert!(value.starts_with(&nonce));
        assert_eq!(devices.verify(value, "bob@example.com", now), None);
        assert_eq!(devices.verify(value, "ann@example.com", now + KNOWN_FOR_DAYS * DAY_MS), None);
        assert_eq!(KnownDevices::new(Secret::new("other")).verify(value, "ann@example.com", now), None);
        let forged = value.replacen(&now.to_string(), &(now + 1).to_string(), 1);
        assert_eq!(devices.verify(&forged, "ann@example.com", now), None);
        for junk in ["", "a", "a.b", "a.1.", "..", "a.x.y"] {
            assert_eq!(devices.verify(junk, "ann@example.com", now), None, "{junk}");
        }
    }
}
