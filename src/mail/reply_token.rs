//! The token in a notification's reply address: it names one recipient in one conversation,
//! expires, and is signed, so a reply is posted as the person it was sent to and nobody else.
//! Rotating the secret (an admin action) revokes every token at once; a deactivated user's
//! tokens stop working with the account.
//!
//! Shape: `r<conversation>-<u|c><party>-<expiry day>-<mac>`, numbers in base 36 and the MAC
//! (80 bits of HMAC-SHA256) in lower-case base32: mail systems may change the case of a local
//! part, so the token reads the same in any case.

use crate::domain::Party;
use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const DAY_MS: i64 = 24 * 3600 * 1000;
/// How long a reply address works: long enough for a customer to come back to an old thread.
pub const LIFETIME_DAYS: i64 = 180;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyToken {
    pub conversation_id: i64,
    pub party: Party,
    expires_day: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    Forged,
    Expired,
}

impl TokenError {
    pub fn code(self) -> &'static str {
        match self {
            TokenError::Malformed => "reply_token_malformed",
            TokenError::Forged => "reply_token_forged",
            TokenError::Expired => "reply_token_expired",
        }
    }
}

impl ReplyToken {
    pub fn new(conversation_id: i64, party: Party, now_ms: i64) -> ReplyToken {
        ReplyToken { conversation_id, party, expires_day: now_ms / DAY_MS + LIFETIME_DAYS }
    }

    fn payload(&self) -> String {
        let (kind, id) = match self.party {
            Party::User(id) => ('u', id),
            Party::Customer(id) => ('c', id),
            Party::Bot => ('b', 0),
        };
        format!("r{}-{kind}{}-{}", base36(self.conversation_id), base36(id), base36(self.expires_day))
    }

    pub fn sign(&self, secret: &str) -> String {
        let payload = self.payload();
        format!("{payload}-{}", mac(secret, &payload).to_ascii_lowercase())
    }

    /// Reads and checks a token (in any letter case).
    pub fn verify(text: &str, secret: &str, now_ms: i64) -> Result<ReplyToken, TokenError> {
        let text = text.to_ascii_lowercase();
        let (payload, given) = text.rsplit_once('-').ok_or(TokenError::Malformed)?;
        let mut parts = payload.strip_prefix('r').ok_or(TokenError::Malformed)?.split('-');
        let (Some(conversation), Some(party), Some(expiry), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let conversation_id = from_base36(conversation)?;
        let party_id = from_base36(party.get(1..).ok_or(TokenError::Malformed)?)?;
        let party = match party.as_bytes().first() {
            Some(b'u') => Party::User(party_id),
            Some(b'c') => Party::Customer(party_id),
            _ => return Err(TokenError::Malformed),
        };
        let token = ReplyToken { conversation_id, party, expires_day: from_base36(expiry)? };
        // Rebuilt from the parsed numbers, so only the canonical spelling verifies.
        let expected = mac(secret, &token.payload()).to_ascii_lowercase();
        if token.payload() != payload || !crate::token::equal(&expected, given) {
            return Err(TokenError::Forged);
        }
        if token.expires_day < now_ms / DAY_MS {
            return Err(TokenError::Expired);
        }
        Ok(token)
    }

    /// Finds a token in an address such as `support+r1-u2-k3-abc@example.com`.
    pub fn in_address(address: &str) -> Option<&str> {
        let local = address.rsplit_once('@').map_or(address, |(l, _)| l);
        let (_, tag) = local.split_once('+')?;
        (tag.len() > 1 && tag.as_bytes()[0].eq_ignore_ascii_case(&b'r')).then_some(tag)
    }

    /// Finds a token in a Message-ID that Rapport made: `<TOKEN.nonce@domain>`.
    pub fn in_message_id(id: &str) -> Option<&str> {
        let local = id.trim_matches(['<', '>', ' ']).split('@').next()?;
        let (token, _nonce) = local.rsplit_once('.')?;
        token.starts_with(['r', 'R']).then_some(token)
    }
}

fn mac(secret: &str, payload: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(payload.as_bytes());
    BASE32_NOPAD.encode(&mac.finalize().into_bytes()[..10])
}

fn base36(mut n: i64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    if n <= 0 {
        return "0".into();
    }
    let mut out = Vec::new();
    while n > 0 {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn from_base36(text: &str) -> Result<i64, TokenError> {
    if text.is_empty() || text.len() > 12 {
        return Err(TokenError::Malformed);
    }
    i64::from_str_radix(text, 36).map_err(|_| TokenError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_790_000_000_000;

    #[test]
    fn a_signed_token_verifies_in_any_case() {
        let token = ReplyToken::new(1234, Party::Customer(56), NOW);
        let text = token.sign("secret");
        assert_eq!(ReplyToken::verify(&text, "secret", NOW), Ok(token));
        assert_eq!(ReplyToken::verify(&text.to_ascii_uppercase(), "secret", NOW), Ok(token));
    }

    #[test]
    fn changed_forged_or_expired_tokens_fail() {
        let text = ReplyToken::new(7, Party::User(3), NOW).sign("secret");
        assert_eq!(ReplyToken::verify(&text, "other", NOW), Err(TokenError::Forged));
        let other_user = text.replacen("-u3-", "-u4-", 1);
        assert_eq!(ReplyToken::verify(&other_user, "secret", NOW), Err(TokenError::Forged));
        let padded = text.replacen("r7-", "r07-", 1);
        assert_eq!(ReplyToken::verify(&padded, "secret", NOW), Err(TokenError::Forged));
        let later = NOW + (LIFETIME_DAYS + 1) * DAY_MS;
        assert_eq!(ReplyToken::verify(&text, "secret", later), Err(TokenError::Expired));
        for bad in ["", "r", "x7-u3-1-abc", "r7-x3-1-abc", "r7-u3-abc", "r7-u3-1-2-abc", "r-u-1-a"] {
            assert!(ReplyToken::verify(bad, "secret", NOW).is_err(), "{bad}");
        }
    }

    #[test]
    fn tokens_are_found_in_addresses_and_message_ids() {
        assert_eq!(ReplyToken::in_address("support+r1-u2-3-abc@example.com"), Some("r1-u2-3-abc"));
        assert_eq!(ReplyToken::in_address("support@example.com"), None);
        assert_eq!(ReplyToken::in_address("support+sales@example.com"), None);
        assert_eq!(ReplyToken::in_message_id("<r1-u2-3-abc.x9f@example.com>"), Some("r1-u2-3-abc"));
        assert_eq!(ReplyToken::in_message_id("<CAF=abc.def@mail.gmail.com>"), None);
    }
}
