//! Values that can only exist valid: each `parse` is the one place its rule is written.

use super::Invalid;
use std::fmt;

/// A string that never shows itself in Debug or Display output (passwords, tokens).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

macro_rules! text_value {
    ($name:ident) => {
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_string(self) -> String {
                self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_value!(Email);
text_value!(Name);
text_value!(Title);
text_value!(Body);
text_value!(ClientId);
text_value!(Filename);
text_value!(ContentType);

/// `text` trimmed, if it is between 1 and `max` characters of printable text; otherwise a
/// sentence about `what` ("The message") for the person who typed it.
fn bounded(text: &str, max: usize, what: &'static str, code: &'static str) -> Result<String, Invalid> {
    let t = text.trim();
    if t.is_empty() {
        return Err(Invalid::new(code, format!("{what} is empty.")));
    }
    let length = t.chars().count();
    if length > max {
        let (max, length) = (thousands(max as u64), thousands(length as u64));
        return Err(Invalid::new(
            code,
            format!("{what} is too long: at most {max} characters, and this has {length}."),
        ));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err(Invalid::new(code, format!("{what} contains invisible control characters; remove them.")));
    }
    Ok(t.to_owned())
}

/// `20000` as `20,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// A size as people say it: `25 MB`, `64 KB`, `900 bytes` (binary units, as file managers count).
pub fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b.is_multiple_of(1 << 30) => format!("{} GB", b >> 30),
        b if b >= 1 << 20 => format!("{} MB", (b as f64 / f64::from(1 << 20)).round()),
        b if b >= 1 << 10 => format!("{} KB", (b as f64 / 1024.0).round()),
        b => format!("{b} bytes"),
    }
}

impl Email {
    pub fn parse(text: &str) -> Result<Email, Invalid> {
        let t = text.trim();
        let bad = || Invalid::new("invalid_email", "email must look like name@example.com");
        if t.len() > 254 || t.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>') {
            return Err(bad());
        }
        let (local, domain) = t.rsplit_once('@').ok_or_else(bad)?;
        if local.is_empty() || domain.is_empty() || domain.starts_with('.') || domain.ends_with('.') {
            return Err(bad());
        }
        if local.contains('@') {
            return Err(bad());
        }
        Ok(Email(t.to_owned()))
    }
}

impl Name {
    pub fn parse(text: &str) -> Result<Name, Invalid> {
        let t = bounded(text, 200, "The name", "invalid_name")?;
        if t.contains('\n') {
            return Err(Invalid::new("invalid_name", "The name must be on one line."));
        }
        Ok(Name(t))
    }
}

impl Title {
    pub fn parse(text: &str) -> Result<Title, Invalid> {
        bounded(text, 500, "The title", "invalid_title").map(Title)
    }
}

/// The longest message body, in characters.
pub const MAX_BODY_CHARS: usize = 20_000;

/// The most files one message may carry.
pub const MAX_ATTACHMENTS: usize = 10;

impl Body {
    /// A message body; it may be empty only when the message carries attachments.
    pub fn parse(text: &str, has_attachments: bool) -> Result<Body, Invalid> {
        if text.trim().is_empty() && has_attachments {
            return Ok(Body(String::new()));
        }
        bounded(text, MAX_BODY_CHARS, "The message", "invalid_body").map(Body)
    }
}

impl ClientId {
    /// A client-chosen id for idempotent sends: 1-64 characters of `[A-Za-z0-9_.:-]`.
    pub fn parse(text: &str) -> Result<ClientId, Invalid> {
        let ok = !text.is_empty()
            && text.len() <= 64
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b));
        if ok {
            Ok(ClientId(text.to_owned()))
        } else {
            Err(Invalid::new("invalid_client_id", "client_id must be 1-64 characters of A-Z a-z 0-9 _ . : -"))
        }
    }
}

impl Filename {
    /// Keeps only the last path component, without control characters; never empty.
    pub fn sanitize(text: &str) -> Filename {
        let last = text.rsplit(['/', '\\']).next().unwrap_or("");
        let clean: String = last.chars().filter(|c| !c.is_control()).take(200).collect();
        let clean = clean.trim().trim_start_matches('.').to_owned();
        Filename(if clean.is_empty() { "file".to_owned() } else { clean })
    }
}

impl ContentType {
    /// `type/subtype` in lower case, parameters dropped; anything else is octet-stream.
    pub fn sanitize(header: Option<&str>) -> ContentType {
        let essence = header.unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let token =
            |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b));
        match essence.split_once('/') {
            Some((t, s)) if token(t) && token(s) && essence.len() <= 100 => ContentType(essence),
            _ => ContentType("application/octet-stream".to_owned()),
        }
    }

    /// Types a browser may show in place without running anything.
    pub fn is_inline_safe(&self) -> bool {
        matches!(
            self.0.as_str(),
            "image/png"
                | "image/jpeg"
                | "image/gif"
                | "image/webp"
                | "image/avif"
                | "text/plain"
                | "application/pdf"
                | "audio/mpeg"
                | "audio/ogg"
                | "video/mp4"
                | "video/webm"
        )
    }
}

/// A password as typed; never printed.
#[derive(Debug, Clone)]
pub struct Password(Secret);

impl Password {
    pub fn parse(secret: Secret) -> Result<Password, Invalid> {
        let n = secret.expose().chars().count();
        if n < 8 {
            return Err(Invalid::new("weak_password", "password must be at least 8 characters"));
        }
        if secret.expose().len() > 1024 {
            return Err(Invalid::new("invalid_password", "password must be at most 1024 bytes"));
        }
        Ok(Password(secret))
    }
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(Email::parse("a@b.c").is_ok());
        assert!(Email::parse(" ann@example.com ").is_ok());
        for bad in ["", "a", "@b", "a@", "a b@c.d", "a@b@c", "a@.b", "<a@b>"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn filenames_lose_paths_and_dots() {
        assert_eq!(Filename::sanitize("../../etc/passwd").as_str(), "passwd");
        assert_eq!(Filename::sanitize("C:\\x\\a.png").as_str(), "a.png");
        assert_eq!(Filename::sanitize("..").as_str(), "file");
        assert_eq!(Filename::sanitize(".hidden").as_str(), "hidden");
    }

    #[test]
    fn content_types() {
        assert_eq!(ContentType::sanitize(Some("Image/PNG; x=y")).as_str(), "image/png");
        assert_eq!(ContentType::sanitize(Some("nonsense")).as_str(), "application/octet-stream");
        assert!(!ContentType::sanitize(Some("text/html")).is_inline_safe());
        assert!(!ContentType::sanitize(Some("image/svg+xml")).is_inline_safe());
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret::new("hunter22")), "Secret(***)");
    }

    #[test]
    fn bodies() {
        assert!(Body::parse("  ", false).is_err());
        assert!(Body::parse("", true).is_ok());
        assert!(Body::parse(&"x".repeat(MAX_BODY_CHARS + 1), false).is_err());
    }
}

#[cfg(test)]
mod sentence_tests {
    use super::*;

    #[test]
    fn limits_are_said_in_words_and_units_people_use() {
        assert_eq!(human_size(25 << 20), "25 MB");
        assert_eq!(human_size(64 << 10), "64 KB");
        assert_eq!(human_size(900), "900 bytes");
        assert_eq!(thousands(20_000), "20,000");
        assert_eq!(thousands(999), "999");
        let long = "x".repeat(MAX_BODY_CHARS + 5);
        let refused = Body::parse(&long, false).unwrap_err();
        assert_eq!(refused.message, "The message is too long: at most 20,000 characters, and this has 20,005.");
        assert_eq!(Name::parse("  ").unwrap_err().message, "The name is empty.");
    }
}
