//! What people are called where they are shown: a customer's display name (never "Visitor
//! #5"), a friendly generated name for someone who told us nothing, and the bot's one name.

/// The name of every message a rule or the auto-responder writes, in every view (the app, the
/// widget, the portal, emails), so the bot is one recognisable someone.
pub const BOT_NAME: &str = "Assistant";

const ADJECTIVES: [&str; 32] = [
    "Amber", "Azure", "Bold", "Brave", "Bright", "Calm", "Clever", "Coral", "Cosmic", "Crimson", "Daring", "Eager",
    "Gentle", "Golden", "Happy", "Hazel", "Indigo", "Jolly", "Kind", "Lively", "Lucky", "Mellow", "Misty", "Noble",
    "Olive", "Quiet", "Rosy", "Silver", "Sunny", "Swift", "Teal", "Witty",
];

const ANIMALS: [&str; 32] = [
    "Badger", "Beaver", "Bison", "Crane", "Dolphin", "Falcon", "Ferret", "Finch", "Fox", "Gecko", "Heron", "Ibis",
    "Koala", "Lark", "Lemur", "Lynx", "Marten", "Moose", "Newt", "Ocelot", "Otter", "Owl", "Panda", "Puffin", "Quail",
    "Raven", "Robin", "Seal", "Sparrow", "Swan", "Tapir", "Wren",
];

/// A two-word name that is always the same for `id`; neighbouring ids get unrelated names.
pub fn friendly_name(id: i64) -> String {
    // A multiplicative hash spreads consecutive ids over the whole table.
    let h = (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let adjective = ADJECTIVES[(h >> 59) as usize % ADJECTIVES.len()];
    let animal = ANIMALS[((h >> 54) & 31) as usize % ANIMALS.len()];
    format!("{adjective} {animal}")
}

/// What to call a customer: their name, else their verified email, else the email they gave,
/// else their friendly generated name.
pub fn display_name(id: i64, name: Option<&str>, email: Option<&str>, contact_email: Option<&str>) -> String {
    [name, email, contact_email]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|s| !s.is_empty())
        .map_or_else(|| friendly_name(id), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_friendly_name_is_two_words_and_the_same_every_time() {
        assert_eq!(friendly_name(5), friendly_name(5));
        assert_eq!(friendly_name(5).split(' ').count(), 2);
        let distinct: std::collections::HashSet<_> = (1..=40).map(friendly_name).collect();
        assert!(distinct.len() >= 30, "neighbouring ids get different names: {}", distinct.len());
    }

    #[test]
    fn the_display_name_prefers_what_the_customer_told_us() {
        assert_eq!(display_name(1, Some("Ada"), Some("a@x.org"), None), "Ada");
        assert_eq!(display_name(1, None, Some("a@x.org"), Some("b@x.org")), "a@x.org");
        assert_eq!(display_name(1, Some(" "), None, Some("b@x.org")), "b@x.org");
        assert_eq!(display_name(1, None, None, None), friendly_name(1));
        assert!(!display_name(7, None, None, None).contains('#'));
    }
}
