//! Outbound email through one SMTP server, configured by a URL (`smtp://user:pass@host:587?tls=starttls`,
//! `smtps://...`, or plain `smtp://host:25` for a local relay) and a From address.

pub mod imap;
pub mod inbound;
pub mod postman;
pub mod render;
pub mod reply;
pub mod reply_token;
pub mod smtpd;

use crate::domain::Secret;
use crate::store::outbox::NewEmail;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Serialize;
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
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    summary: SmtpSummary,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("summary", &self.summary).finish()
    }
}

/// Checks an SMTP URL and From address without connecting or starting anything.
pub fn validate(url: &str, from: &str) -> Result<(), String> {
    parse(&Secret::new(url), from).map(drop)
}

/// The URL read as lettre wants it, the From mailbox and the summary.
fn parse(url: &Secret, from: &str) -> Result<(String, Mailbox, SmtpSummary), String> {
    let text = url.expose();
    let (scheme, rest) = text.split_once("://").ok_or("the SMTP URL must start with smtp:// or smtps://")?;
    if scheme != "smtp" && scheme != "smtps" {
        return Err("the SMTP URL must start with smtp:// or smtps://".into());
    }
    let (authority, query) = rest.split_once('?').unwrap_or((rest, ""));
    let authority = authority.trim_end_matches('/');
    let tls = match (scheme, query) {
        ("smtps", _) => "tls",
        (_, "") | (_, "tls=none") => "none",
        (_, "tls=starttls") | (_, "tls=required") => "starttls",
        (_, other) => return Err(format!("unknown SMTP option {other:?}; use ?tls=starttls")),
    };
    let (userinfo, hostport) = authority.rsplit_once('@').map_or((None, authority), |(u, h)| (Some(u), h));
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| format!("{p:?} is not a port"))?),
        None => (
            hostport,
            if scheme == "smtps" {
                465
            } else if tls == "starttls" {
                587
            } else {
                25
            },
        ),
    };
    if host.is_empty() {
        return Err("the SMTP URL has no host".into());
    }
    // lettre reads the same URL, with its own word for STARTTLS and an explicit port.
    let userinfo_at = userinfo.map(|u| format!("{u}@")).unwrap_or_default();
    let lettre_query = if tls == "starttls" { "?tls=required" } else { "" };
    let lettre_url = format!("{scheme}://{userinfo_at}{host}:{port}{lettre_query}");
    AsyncSmtpTransport::<Tokio1Executor>::from_url(&lettre_url).map_err(|e| format!("invalid SMTP URL: {e}"))?;
    let from_box: Mailbox = from.parse().map_err(|_| format!("{from:?} is not an email address"))?;
    let username = userinfo.map(|u| u.split(':').next().unwrap_or("").to_owned()).filter(|u| !u.is_empty());
    let summary = SmtpSummary { host: host.to_owned(), port, tls: tls.into(), username, from: from_box.to_string() };
    Ok((lettre_url, from_box, summary))
}

impl Mailer {
    /// Builds the pooled transport; must run inside the Tokio runtime (the pool is a task).
    pub fn new(url: &Secret, from: &str) -> Result<Mailer, String> {
        let (lettre_url, from, summary) = parse(url, from)?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&lettre_url)
            .map_err(|e| format!("invalid SMTP URL: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        Ok(Mailer { transport, from, summary })
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
        self.transport.send(message).await.map(drop).map_err(|e| SendError {
            // A 5xx answer will not change on retry; refused connections and 4xx answers may.
            permanent: e.is_permanent(),
            message: e.to_string(),
        })
    }

    /// Connects and greets the SMTP server (with TLS and login as configured), sending nothing.
    pub async fn check(&self) -> Result<(), String> {
        match tokio::time::timeout(std::time::Duration::from_secs(10), self.transport.test_connection()).await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err("the SMTP server did not answer NOOP".into()),
            Ok(Err(e)) => Err(e.to_string()),
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
