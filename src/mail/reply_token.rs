//! The token in a notification's reply address: it names one recipient in one conversation,
//! expires, and is signed, so a reply is posted as the person it was sent to and nobody else.
//! Rotating the secret (an admin action) revokes every token at once; a deactivated user's
//! tokens stop working with the account.
//!
//! A new ticket's email to an agent names the ticket instead while it has no conversation with
//! its requester yet: the reply starts that conversation.
//!
//! Shape: `r<conversation>-<u|c><party>-<expiry day>-<mac>` (a ticket's: `r<item>-t-<u|c>...`),
//! numbers in base 36 and the MAC
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
    pub thread: Thread,
    pub party: Party,
    expires_day: i64,
}

/// What a reply answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thread {
    Conversation(i64),
    /// A ticket's conversation with its requester, started by the reply if there is none.
    Ticket(i64),
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
        ReplyToken {
            thread: Thread::Conversation(conversation_id),
            party,
            expires_day: now_ms / DAY_MS + LIFETIME_DAYS,
        }
    }

    pub fn for_ticket(item_id: i64, party: Party, now_ms: i64) -> ReplyToken {
        ReplyToken { thread: Thread::Ticket(item_id), party, expires_day: now_ms / DAY_MS + LIFETIME_DAYS }
    }

    fn payload(&self) -> String {
        let (kind, id) = match self.party {
            Party::User(id) => ('u', id),
            Party::Customer(id) => ('c', id),
            Party::Bot => ('b', 0),
        };
        let (thread, ticket) = match self.thread {
            Thread::Conversation(id) => (id, ""),
            Thread::Ticket(id) => (id, "-t"),
        };
        format!("r{}{ticket}-{kind}{}-{}", base36(thread), base36(id), base36(self.expires_day))
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
        let thread = parts.next().ok_or(TokenError::Malformed)?;
        let mut party = parts.next().ok_or(TokenError::Malformed)?;
        let ticket = party == "t";
        if ticket {
            party = parts.next().ok_or(TokenError::Malformed)?;
        }
        let (Some(expiry), None) = (parts.next(), parts.next()) else {
            return Err(TokenError::Malformed);
        };
        let thread = match (ticket, from_base36(thread)?) {
            (true, id) => Thread::Ticket(id),
            (false, id) => Thread::Conversation(id),
        };
        let party_id = from_base36(party.get(1..).ok_or(TokenError::Malformed)?)?;
        let party = match party.as_bytes().first() {
            Some(b'u') => Party::User(party_id),
            Some(b'c') => Party::Customer(party_id),
            _ => return Err(TokenError::Malformed),
        };
        let token = ReplyToken { thread, party, expires_day: from_base36(expiry)? };
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
    // i64::MAX is 13 base-36 digits; from_str_radix refuses anything larger.
    if text.is_empty() || text.len() > 13 {
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
    fn a_tickets_token_names_the_ticket_not_a_conversation() {
        let token = ReplyToken::for_ticket(1234, Party::User(5), NOW);
        let text = token.sign("secret");
        assert!(text.starts_with("rya-t-u5-"), "{text}");
        assert_eq!(ReplyToken::verify(&text, "secret", NOW).map(|t| t.thread), Ok(Thread::Ticket(1234)));
        let as_conversation = text.replacen("-t-", "-", 1);
        assert_eq!(ReplyToken::verify(&as_conversation, "secret", NOW), Err(TokenError::Forged));
        assert!(ReplyToken::verify(&text.replacen("-t-", "-t-t-", 1), "secret", NOW).is_err());
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

/// Property tests: every token Rapport signs verifies, in any letter case, until it expires; no
/// other text does, whatever it is; finding tokens in addresses and Message-IDs never panics.
/// More cases with `PROPTEST_CASES=...`.
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    fn party() -> impl Strategy<Value = Party> {
        prop_oneof![(0..=i64::MAX).prop_map(Party::User), (0..=i64::MAX).prop_map(Party::Customer)]
    }

    fn id() -> impl Strategy<Value = i64> {
        prop_oneof![0..1_000_000i64, 0..=i64::MAX, Just(i64::MAX)]
    }

    /// Some time from 1970 to the year 2096.
    fn now() -> impl Strategy<Value = i64> {
        0..4_000_000_000_000i64
    }

    fn flip_case(text: &str, flips: &[bool]) -> String {
        text.chars()
            .zip(flips.iter().chain(std::iter::repeat(&false)))
            .map(|(c, &up)| if up { c.to_ascii_uppercase() } else { c })
            .collect()
    }

    proptest! {
        #![proptest_config(crate::proptest_config())]

        #[test]
        fn a_signed_token_verifies_in_any_case_until_it_expires(
            conversation in id(),
            party in party(),
            now in now(),
            secret in ".{0,40}",
            flips in prop::collection::vec(any::<bool>(), 0..80),
        ) {
            let token = ReplyToken::new(conversation, party, now);
            let text = token.sign(&secret);
            prop_assert_eq!(ReplyToken::verify(&text, &secret, now), Ok(token));
            prop_assert_eq!(ReplyToken::verify(&flip_case(&text, &flips), &secret, now), Ok(token));
            let later = now + (LIFETIME_DAYS + 1) * DAY_MS;
            prop_assert_eq!(ReplyToken::verify(&text, &secret, later), Err(TokenError::Expired));
            // Where mail carries it.
            let (address, message_id) = (format!("support+{text}@example.com"), format!("<{text}.n0nce@example.com>"));
            prop_assert_eq!(ReplyToken::in_address(&address), Some(text.as_str()));
            prop_assert_eq!(ReplyToken::in_message_id(&message_id), Some(text.as_str()));
        }

        #[test]
        fn a_changed_token_does_not_verify(
            conversation in id(),
            party in party(),
            now in now(),
            at in any::<prop::sample::Index>(),
            to in any::<char>(),
            how in 0..4u8,
        ) {
            let text = ReplyToken::new(conversation, party, now).sign("secret");
            let mut chars: Vec<char> = text.chars().collect();
            let i = at.index(chars.len());
            match how {
                0 if !chars[i].eq_ignore_ascii_case(&to) => chars[i] = to,
                1 => { chars.remove(i); }
                2 => chars.insert(i, to),
                _ => chars.truncate(i),
            }
            let changed: String = chars.into_iter().collect();
            if !changed.eq_ignore_ascii_case(&text) {
                prop_assert!(ReplyToken::verify(&changed, "secret", now).is_err(), "{} verified", changed);
            }
            prop_assert!(ReplyToken::verify(&text, "another secret", now).is_err());
        }

        #[test]
        fn no_other_text_verifies(
            text in prop_oneof![
                ".{0,80}",
                "[rR][0-9a-z+-]{0,14}-[ucbx][0-9a-z+-]{0,14}-[0-9a-z+-]{0,14}-[a-z2-7]{0,20}",
            ],
            secret in ".{0,20}",
            now in now(),
        ) {
            prop_assert!(ReplyToken::verify(&text, &secret, now).is_err());
        }

        #[test]
        fn finding_tokens_in_any_address_or_message_id_never_panics(text in ".{0,120}") {
            if let Some(tag) = ReplyToken::in_address(&text) {
                prop_assert!(text.contains(tag) && tag.len() > 1 && tag.starts_with(['r', 'R']));
            }
            if let Some(token) = ReplyToken::in_message_id(&text) {
                prop_assert!(text.contains(token) && token.starts_with(['r', 'R']));
            }
        }
    }

    /// Found by the properties above: ids from 36^12 up to i64::MAX signed into tokens that
    /// could never verify (13 base-36 digits were refused as malformed).
    #[test]
    fn the_largest_ids_verify() {
        let token = ReplyToken::new(i64::MAX, Party::Customer(i64::MAX), 0);
        assert_eq!(ReplyToken::verify(&token.sign("s"), "s", 0), Ok(token));
    }
}
