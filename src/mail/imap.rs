//! Inbound email by polling one IMAP mailbox, configured by a URL
//! (`imaps://user:pass@host[:993][/Mailbox]`, or `imap://...` for a server on the same host).
//!
//! The server's \Seen flag is the only state: a poll takes the unseen messages, reads them with
//! `BODY.PEEK[]` (which leaves them unseen) and flags each one seen only once it was handled, so a
//! message whose handling failed, or whose poll broke off, is handed again at the next poll.
//! Delivery is therefore at least once; the handler deduplicates (by Message-ID).

use crate::domain::Secret;
use async_imap::error::Error as ImapError;
use async_imap::types::{Fetch, Uid};
use async_imap::{Client, Session};
use futures_util::TryStreamExt;
use serde::Serialize;
use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use utoipa::ToSchema;

/// Connecting, the TLS handshake and the greeting: a server that is down answers quickly or never.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// Any one command; longer than connecting because a FETCH may carry a large attachment.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

const FORM: &str = "imaps://user:password@host[:port][/mailbox]";

/// One mailbox to poll. Debug shows no password (it is a [`Secret`]).
#[derive(Debug, Clone)]
pub struct ImapSource {
    host: String,
    port: u16,
    tls: bool,
    username: String,
    password: Secret,
    mailbox: String,
}

/// What an admin may see of the IMAP settings (never the password).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImapSummary {
    pub host: String,
    pub port: u16,
    /// Implicit TLS (imaps); false is a plain connection, for a server on the same host.
    pub tls: bool,
    pub username: String,
    pub mailbox: String,
}

impl ImapSource {
    /// `imaps://user:pass@host[:993][/Mailbox]` (TLS) or `imap://user:pass@host[:143][/Mailbox]`
    /// (plain, for a server on the same host). User, password and mailbox are percent-decoded (an
    /// @ in a username is written %40); the mailbox defaults to INBOX. Errors are sentences naming
    /// what is wrong, and never contain the password.
    pub fn parse(url: &Secret) -> Result<ImapSource, String> {
        let text = url.expose().trim();
        // The scheme is not echoed: a URL without `://` may be nothing but user and password.
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| format!("the IMAP URL must look like {FORM} (or imap:// for a server on the same host)"))?;
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "imaps" => true,
            "imap" => false,
            _ => return Err("the IMAP URL must start with imaps:// (or imap:// for a server on the same host)".into()),
        };
        // The last @ ends the user info, so an unencoded @ or / in a password still works.
        let (userinfo, hostpath) = rest
            .rsplit_once('@')
            .ok_or_else(|| format!("the IMAP URL has no user name and password; it must look like {FORM}"))?;
        if hostpath.contains(['?', '#']) {
            return Err("the IMAP URL takes no ?options or #fragment".into());
        }
        let (hostport, mailbox) = hostpath.split_once('/').unwrap_or((hostpath, ""));
        let default_port = if tls { 993 } else { 143 };
        let (host, port) = split_host_port(hostport, default_port)?;
        if host.is_empty() {
            return Err(format!("the IMAP URL has no host; it must look like {FORM}"));
        }
        if host.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(format!("{host:?} in the IMAP URL is not a host name"));
        }
        let (username, password) = userinfo
            .split_once(':')
            .ok_or_else(|| format!("the IMAP URL has no password; it must look like {FORM}"))?;
        let username = percent_decode(username, "user name")?;
        let password = percent_decode(password, "password")?;
        let mailbox = percent_decode(mailbox.trim_end_matches('/'), "mailbox")?;
        if username.is_empty() {
            return Err(format!("the IMAP URL has no user name; it must look like {FORM}"));
        }
        if password.is_empty() {
            return Err(format!("the IMAP URL has no password; it must look like {FORM}"));
        }
        let mailbox = if mailbox.is_empty() { "INBOX".to_owned() } else { mailbox };
        Ok(ImapSource { host: host.to_owned(), port, tls, username, password: Secret::new(password), mailbox })
    }

    pub fn summary(&self) -> ImapSummary {
        ImapSummary {
            host: self.host.clone(),
            port: self.port,
            tls: self.tls,
            username: self.username.clone(),
            mailbox: self.mailbox.clone(),
        }
    }

    /// Connects, logs in and opens the mailbox, taking nothing.
    pub async fn check(&self) -> Result<(), String> {
        self.fetch_new(0, |_| async { Ok(()) }).await.map(drop)
    }

    /// One poll: connect, LOGIN, SELECT the mailbox, UID SEARCH UNSEEN, and for each such message
    /// (oldest first, at most `limit`) FETCH its raw bytes with BODY.PEEK[] and call `handle`.
    /// When it returns Ok the message is flagged \Seen; when Err it stays unseen, to be handed
    /// again at the next poll, and the next message is taken. Returns how many were handled Ok.
    /// An Err means the poll itself failed; messages handled before that stay flagged.
    pub async fn fetch_new<F, Fut>(&self, limit: usize, handle: F) -> Result<usize, String>
    where
        F: FnMut(Vec<u8>) -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        let server = super::host_port(&self.host, self.port);
        let tcp = timed(CONNECT_TIMEOUT, TcpStream::connect((self.host.as_str(), self.port)))
            .await
            .map_err(|_| format!("connecting to the IMAP server {server} timed out"))?
            .map_err(|e| format!("could not connect to the IMAP server {server}: {e}"))?;
        if self.tls {
            let tls =
                timed(CONNECT_TIMEOUT, super::tls::handshake(&self.host, &format!("the IMAP server {server}"), tcp))
                    .await
                    .map_err(|_| format!("the TLS handshake with the IMAP server {server} timed out"))??;
            self.poll(tls, limit, handle).await
        } else {
            self.poll(tcp, limit, handle).await
        }
    }

    /// Everything after the connection, on either a plain or a TLS stream.
    async fn poll<T, F, Fut>(&self, stream: T, limit: usize, mut handle: F) -> Result<usize, String>
    where
        T: AsyncRead + AsyncWrite + Unpin + Debug + Send,
        F: FnMut(Vec<u8>) -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        let server = super::host_port(&self.host, self.port);
        let mut client = Client::new(stream);
        let greeting = timed(CONNECT_TIMEOUT, client.read_response())
            .await
            .map_err(|_| format!("the IMAP server {server} sent no greeting"))?
            .map_err(|e| format!("reading the IMAP server {server}'s greeting failed: {e}"))?;
        if greeting.is_none() {
            return Err(format!("the IMAP server {server} closed the connection without a greeting"));
        }
        let mut session = timed(COMMAND_TIMEOUT, client.login(&self.username, self.password.expose()))
            .await
            .map_err(|_| format!("logging in to the IMAP server {server} timed out"))?
            .map_err(|(e, _)| {
                format!("could not log in to the IMAP server {server} as {:?}: {}", self.username, describe(&e))
            })?;
        let result = self.take_unseen(&mut session, limit, &mut handle).await;
        // Only a courtesy: whatever was handled is already flagged, and the server ends the
        // session when the connection closes anyway.
        if let Ok(Err(e)) = timed(CONNECT_TIMEOUT, session.logout()).await {
            tracing::debug!(server, error = %e, "IMAP LOGOUT failed");
        }
        result.map_err(|e| format!("polling the IMAP server {server} failed: {e}"))
    }

    async fn take_unseen<T, F, Fut>(
        &self,
        session: &mut Session<T>,
        limit: usize,
        handle: &mut F,
    ) -> Result<usize, String>
    where
        T: AsyncRead + AsyncWrite + Unpin + Debug + Send,
        F: FnMut(Vec<u8>) -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        let mailbox = &self.mailbox;
        match timed(COMMAND_TIMEOUT, session.select(mailbox)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(format!("could not open the mailbox {mailbox:?}: {}", describe(&e))),
            Err(_) => return Err(format!("opening the mailbox {mailbox:?} timed out")),
        }
        let mut uids: Vec<Uid> =
            command("UID SEARCH UNSEEN", session.uid_search("UNSEEN")).await?.into_iter().collect();
        // UIDs grow with arrival, so the oldest messages go first.
        uids.sort_unstable();
        uids.truncate(limit);
        let mut handled = 0;
        for uid in uids {
            let fetched: Vec<Fetch> = command("UID FETCH", async {
                session.uid_fetch(uid.to_string(), "BODY.PEEK[]").await?.try_collect().await
            })
            .await?;
            // The stream may also carry flag updates for other messages.
            let Some(raw) = fetched.iter().find(|f| f.uid == Some(uid)).and_then(Fetch::body).map(<[u8]>::to_vec)
            else {
                tracing::warn!(uid, mailbox, "an unseen IMAP message vanished before it could be read");
                continue;
            };
            match handle(raw).await {
                Ok(()) => {
                    command("UID STORE", async {
                        session.uid_store(uid.to_string(), "+FLAGS (\\Seen)").await?.try_collect::<Vec<_>>().await
                    })
                    .await?;
                    handled += 1;
                }
                Err(e) => {
                    tracing::warn!(uid, mailbox, error = %e, "an IMAP message could not be handled; it stays unseen for the next poll");
                }
            }
        }
        Ok(handled)
    }
}

async fn timed<T>(limit: Duration, fut: impl Future<Output = T>) -> Result<T, tokio::time::error::Elapsed> {
    tokio::time::timeout(limit, fut).await
}

/// One IMAP command under [`COMMAND_TIMEOUT`], its errors as a sentence naming the command.
async fn command<T>(name: &str, fut: impl Future<Output = Result<T, ImapError>>) -> Result<T, String> {
    match timed(COMMAND_TIMEOUT, fut).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(format!("{name} failed: {}", describe(&e))),
        Err(_) => Err(format!("{name} timed out after {} s", COMMAND_TIMEOUT.as_secs())),
    }
}

/// async-imap words the server's NO and BAD answers as Rust debug output; the server's own text
/// inside is what an admin can act on.
fn describe(e: &ImapError) -> String {
    let (answer, detail) = match e {
        ImapError::No(detail) => ("NO", detail),
        ImapError::Bad(detail) => ("BAD", detail),
        other => return other.to_string(),
    };
    let text = detail
        .split_once("Some(\"")
        .and_then(|(_, rest)| rest.rsplit_once("\")"))
        .map_or_else(|| detail.clone(), |(text, _)| text.replace("\\\"", "\"").replace("\\\\", "\\"));
    format!("the server answered {answer}: {text}")
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(hostport: &str, default_port: u16) -> Result<(&str, u16), String> {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("the IMAP URL has a [ without its ] around the host")?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':').ok_or("the IMAP URL has something other than :port after ]")?)),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    let port = match port {
        None => default_port,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => return Err(format!("{p:?} in the IMAP URL is not a port number")),
        },
    };
    Ok((host, port))
}

/// `%XX` escapes to bytes, the result as UTF-8; `what` names the part in the error.
fn percent_decode(text: &str, what: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).filter(|h| h.iter().all(u8::is_ascii_hexdigit));
            let byte = hex
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("the {what} in the IMAP URL has a % that is not followed by two hex digits"))?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let decoded =
        String::from_utf8(out).map_err(|_| format!("the {what} in the IMAP URL is not UTF-8 once %-decoded"))?;
    // IMAP sends these as quoted strings, where line breaks cannot appear.
    if decoded.contains(['\r', '\n', '\0']) {
        return Err(format!("the {what} in the IMAP URL contains a line break or NUL"));
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<ImapSource, String> {
        ImapSource::parse(&Secret::new(url))
    }

    #[test]
    fn imaps_with_defaults() {
        let source = parse("imaps://support:secret@mail.example.com").unwrap();
        let s = source.summary();
        assert_eq!((s.host.as_str(), s.port, s.tls), ("mail.example.com", 993, true));
        assert_eq!((s.username.as_str(), s.mailbox.as_str()), ("support", "INBOX"));
        assert_eq!(source.password.expose(), "secret");
    }

    #[test]
    fn plain_imap_defaults_to_143() {
        let s = parse("imap://support:secret@127.0.0.1").unwrap().summary();
        assert_eq!((s.host.as_str(), s.port, s.tls), ("127.0.0.1", 143, false));
        assert_eq!(parse("IMAP://support:secret@localhost/").unwrap().summary().mailbox, "INBOX");
    }

    #[test]
    fn explicit_port_and_mailbox() {
        let s = parse("imaps://support:secret@mail.example.com:9993/Support").unwrap().summary();
        assert_eq!((s.port, s.mailbox.as_str()), (9993, "Support"));
        let s = parse("imap://u:p@localhost:1143/INBOX/Help%20Desk/").unwrap().summary();
        assert_eq!((s.port, s.mailbox.as_str()), (1143, "INBOX/Help Desk"));
    }

    #[test]
    fn ipv6_host() {
        let s = parse("imap://u:p@[::1]:1143").unwrap().summary();
        assert_eq!((s.host.as_str(), s.port), ("::1", 1143));
        assert_eq!(parse("imaps://u:p@[2001:db8::1]").unwrap().summary().port, 993);
        assert!(parse("imap://u:p@[::1").unwrap_err().contains(']'));
    }

    #[test]
    fn user_and_password_are_percent_decoded() {
        let source = parse("imaps://help%40example.com:p%40ss%3Aw%2Frd%25@mail.example.com").unwrap();
        assert_eq!(source.summary().username, "help@example.com");
        assert_eq!(source.password.expose(), "p@ss:w/rd%");
        // Unencoded, the last @ still ends the password and the first : still ends the user.
        let source = parse("imaps://help@example.com:p@ss:w/rd@mail.example.com/Support").unwrap();
        assert_eq!((source.username.as_str(), source.password.expose()), ("help@example.com", "p@ss:w/rd"));
        assert_eq!((source.host.as_str(), source.mailbox.as_str()), ("mail.example.com", "Support"));
    }

    #[test]
    fn bad_scheme() {
        for url in ["http://u:p@host", "smtp://u:p@host", "u:p@host"] {
            let e = parse(url).unwrap_err();
            assert!(e.contains("imaps://"), "{url}: {e}");
        }
    }

    #[test]
    fn missing_parts() {
        assert!(parse("imaps://u:p@").unwrap_err().contains("no host"));
        assert!(parse("imaps://u:p@:993/INBOX").unwrap_err().contains("no host"));
        assert!(parse("imaps://mail.example.com").unwrap_err().contains("no user name"));
        assert!(parse("imaps://:secret@mail.example.com").unwrap_err().contains("no user name"));
        assert!(parse("imaps://support@mail.example.com").unwrap_err().contains("no password"));
        assert!(parse("imaps://support:@mail.example.com").unwrap_err().contains("no password"));
    }

    #[test]
    fn bad_ports() {
        for port in ["", "0", "65536", "imap", "-1"] {
            let e = parse(&format!("imaps://u:p@host:{port}")).unwrap_err();
            assert!(e.contains("not a port number"), "{port}: {e}");
        }
    }

    #[test]
    fn other_mistakes() {
        assert!(parse("imaps://u:p@host?tls=yes").unwrap_err().contains("?options"));
        assert!(parse("imaps://u%4:p@host").unwrap_err().contains("user name"));
        assert!(parse("imaps://u:p%0Ax@host").unwrap_err().contains("line break"));
        assert!(parse("imaps://u:p%FF@host").unwrap_err().contains("UTF-8"));
        assert!(parse("imaps://u:p@host/%+1").unwrap_err().contains("mailbox"));
    }

    #[test]
    fn server_answers_are_quoted_plainly() {
        let no = ImapError::No(r#"code: None, info: Some("[AUTHENTICATIONFAILED] Authentication \"failed\".")"#.into());
        assert_eq!(describe(&no), r#"the server answered NO: [AUTHENTICATIONFAILED] Authentication "failed"."#);
        let bad =
            ImapError::Bad(r#"outcome: Outcome { code: None, information: Some("Error in IMAP command") }"#.into());
        assert_eq!(describe(&bad), "the server answered BAD: Error in IMAP command");
        assert_eq!(describe(&ImapError::No("odd".into())), "the server answered NO: odd");
        assert_eq!(describe(&ImapError::ConnectionLost), "connection lost");
    }

    #[test]
    fn errors_and_debug_never_show_the_password() {
        let bad = [
            "imaps://u:hunter2@",
            "imaps://u:hunter2@host:x",
            "imaps://u:hunter2%G@host",
            "hunter2://u:hunter2@host",
            "u:hunter2@host",
            "imaps://u:hunter2@host?x",
        ];
        for url in bad {
            let e = parse(url).unwrap_err();
            assert!(!e.contains("hunter2"), "{url}: {e}");
        }
        let source = parse("imaps://u:hunter2@host").unwrap();
        assert!(!format!("{source:?}").contains("hunter2"));
        assert!(!format!("{:?}", source.summary()).contains("hunter2"));
    }
}
