//! Outbound email through one SMTP server, configured by a URL (`smtp://user:pass@host:587?tls=starttls`,
//! `smtps://...`, or plain `smtp://host:25` for a local relay) and a From address.

pub mod imap;
pub mod inbound;
pub mod postman;
pub mod render;
pub mod reply;
pub mod reply_token;
pub mod smtp;
pub mod smtpd;
mod tls;

use crate::domain::Secret;
use crate::store::outbox::NewEmail;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::Message;
use serde::Serialize;
use smtp::{Relay, Security};
use utoipa::ToSchema;

/// What an admin may see of the email settings (never the password).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SmtpSummary {
    pub host: String,
    pub port: u16,
    /// `starttls`, `tls` (implicit, smtps) or `none`.
    pub tls: String,
    pub username: Option<String>,
    pub from: String,
}

/// Why an email was not handed over; `permanent` failures are not retried.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    pub permanent: bool,
    pub message: String,
}

pub struct Mailer {
    pool: smtp::Pool,
    from: Mailbox,
    summary: SmtpSummary,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("summary", &self.summary).finish()
    }
}

/// A server as a person reads it: `host:port`, an IPv6 address in brackets.
fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Checks an SMTP URL and From address without connecting or starting anything.
pub fn validate(url: &str, from: &str) -> Result<(), String> {
    parse(&Secret::new(url), from).map(drop)
}

/// The server, the From mailbox and the summary.
fn parse(url: &Secret, from: &str) -> Result<(Relay, Mailbox, SmtpSummary), String> {
    let text = url.expose();
    let (scheme, rest) = text.split_once("://").ok_or("the SMTP URL must start with smtp:// or smtps://")?;
    if scheme != "smtp" && scheme != "smtps" {
        return Err("the SMTP URL must start with smtp:// or smtps://".into());
    }
    let (authority, query) = rest.split_once('?').unwrap_or((rest, ""));
    let authority = authority.trim_end_matches('/');
    let security = match (scheme, query) {
        ("smtps", _) => Security::Implicit,
        (_, "") | (_, "tls=none") => Security::None,
        (_, "tls=starttls") | (_, "tls=required") => Security::StartTls,
        (_, other) => return Err(format!("unknown SMTP option {other:?}; use ?tls=starttls")),
    };
    let (userinfo, hostport) = authority.rsplit_once('@').map_or((None, authority), |(u, h)| (Some(u), h));
    let (host, port) = match hostport.rsplit_once(':') {
        // `[::1]` alone is an address without a port, `[::1]:25` one with.
        Some((h, p)) if !p.contains(']') => (h, p.parse::<u16>().map_err(|_| format!("{p:?} is not a port"))?),
        _ => (
            hostport,
            match security {
                Security::Implicit => 465,
                Security::StartTls => 587,
                Security::None => 25,
            },
        ),
    };
    let bare_host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if bare_host.is_empty() || bare_host.contains(|c: char| c.is_whitespace() || "/@[]".contains(c)) {
        return Err(format!("{host:?} is not a host name"));
    }
    let decode = |part: &str| {
        percent_encoding::percent_decode_str(part)
            .decode_utf8()
            .map(|text| text.into_owned())
            .map_err(|_| "the SMTP user name and password must be UTF-8 once %-decoded".to_owned())
    };
    let (username, credentials) = match userinfo {
        None => (None, None),
        Some(userinfo) => {
            let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            let user = decode(user)?;
            let credentials = Credentials::new(user.clone(), decode(password)?);
            (Some(user).filter(|u| !u.is_empty()), Some(credentials))
        }
    };
    let relay = Relay { host: bare_host.to_owned(), port, security, credentials };
    relay.validate()?;
    let from_box: Mailbox = from.parse().map_err(|_| format!("{from:?} is not an email address"))?;
    let summary =
        SmtpSummary { host: host.to_owned(), port, tls: security.name().into(), username, from: from_box.to_string() };
    Ok((relay, from_box, summary))
}

impl Mailer {
    pub fn new(url: &Secret, from: &str) -> Result<Mailer, String> {
        let (relay, from, summary) = parse(url, from)?;
        Ok(Mailer { pool: smtp::Pool::new(relay), from, summary })
    }

    pub fn summary(&self) -> &SmtpSummary {
        &self.summary
    }

    /// Sends a multipart text + HTML email with its stable Message-ID, threading headers and
    /// `Auto-Submitted`, so that other robots do not answer it.
    pub async fn send(&self, email: &NewEmail) -> Result<(), SendError> {
        let mailbox = |text: &str| -> Result<Mailbox, SendError> {
            text.parse()
                .map_err(|_| SendError { permanent: true, message: format!("{text:?} is not an email address") })
        };
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(mailbox(&email.to)?)
            .subject(&email.subject)
            .message_id(Some(email.message_id.clone()));
        if let Some(reply_to) = &email.reply_to {
            builder = builder.reply_to(mailbox(reply_to)?);
        }
        if let Some(thread) = &email.in_reply_to {
            let answers = thread.split_whitespace().next_back().unwrap_or(thread);
            builder = builder.in_reply_to(answers.to_owned()).references(thread.clone());
        }
        let mut message = builder
            .multipart(MultiPart::alternative_plain_html(email.text.clone(), email.html.clone()))
            .map_err(|e| SendError { permanent: true, message: e.to_string() })?;
        let headers = message.headers_mut();
        headers.insert_raw(HeaderValue::new(HeaderName::new_from_ascii_str("Auto-Submitted"), "auto-generated".into()));
        if let Some(id) = email.conversation_id {
            let name = HeaderName::new_from_ascii_str("X-Rapport-Conversation");
            headers.insert_raw(HeaderValue::new(name, id.to_string()));
        }
        self.pool.send(message.envelope(), &message.formatted()).await
    }

    /// Connects and greets the SMTP server (with TLS and login as configured), sending nothing.
    pub async fn check(&self) -> Result<(), String> {
        match tokio::time::timeout(std::time::Duration::from_secs(10), self.pool.check()).await {
            Ok(checked) => checked,
            Err(_) => Err("no answer within 10 s".into()),
        }
    }

    /// The bare From address, `support@example.com`.
    pub fn from_address(&self) -> String {
        self.from.email.to_string()
    }

    /// The domain Message-IDs are made in: the From address's.
    pub fn domain(&self) -> &str {
        self.from.email.domain()
    }
}

#[cfg(test)]
mod tests {
    use super::{parse, Secret, Security};

    fn relay(url: &str) -> Result<super::Relay, String> {
        parse(&Secret::new(url), "Support <support@example.com>").map(|(relay, _, _)| relay)
    }

    #[test]
    fn an_smtp_url_reads_as_host_port_security_and_login() {
        let r = relay("smtp://me%40example.com:p%3Ass@mail.example.com?tls=starttls").unwrap();
        assert_eq!((r.host.as_str(), r.port, r.security), ("mail.example.com", 587, Security::StartTls));
        let login = r.credentials.expect("credentials");
        let expected =
            lettre::transport::smtp::authentication::Credentials::new("me@example.com".into(), "p:ss".into());
        assert!(login == expected, "user and password are %-decoded");
        let r = relay("smtps://mail.example.com").unwrap();
        assert_eq!((r.port, r.security), (465, Security::Implicit));
        let r = relay("smtp://[::1]:2525").unwrap();
        assert_eq!((r.host.as_str(), r.port, r.security), ("::1", 2525, Security::None));
        assert_eq!(relay("smtp://[::1]").unwrap().port, 25);
    }

    #[test]
    fn a_wrong_smtp_url_says_what_is_wrong() {
        for (url, says) in [
            ("imap://x", "must start with smtp://"),
            ("smtp://host:port", "is not a port"),
            ("smtp://:25", "is not a host name"),
            ("smtp://a b:25", "is not a host name"),
            ("smtp://host?tls=maybe", "unknown SMTP option"),
        ] {
            let err = relay(url).err().unwrap_or_else(|| panic!("{url} was taken"));
            assert!(err.contains(says), "{url}: {err}");
        }
    }
}
