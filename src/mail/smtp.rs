//! The connections outbound email goes over. lettre speaks SMTP; this module sets up what its
//! pooled transport does not let us choose, so that a burst goes out at wire speed:
//!
//! - sockets with `TCP_NODELAY`: lettre writes a message and its closing "." in two writes,
//!   and without it each email waits out the server's delayed ACK (40 ms on Linux);
//! - MAIL, RCPT and DATA in one write where the server offers PIPELINING (RFC 2920), the body
//!   sent only once DATA was accepted;
//! - open connections kept for the next email, as many as emails in flight (the sender bounds
//!   those), closed after sitting idle.

use super::SendError;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use std::fmt::Write as _;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// One email, from MAIL to the server's answer to the final ".".
const SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// Servers drop idle clients after a minute or more (RFC 5321 asks for five); close ours first.
const KEEP_IDLE: Duration = Duration::from_secs(30);
const MAX_IDLE: usize = 16;

/// How the connection is secured: `smtp://`, `smtp://…?tls=starttls`, `smtps://`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    None,
    StartTls,
    Implicit,
}

impl Security {
    /// As the email settings show it: `none`, `starttls` or `tls` (implicit).
    pub fn name(self) -> &'static str {
        match self {
            Security::None => "none",
            Security::StartTls => "starttls",
            Security::Implicit => "tls",
        }
    }
}

/// One SMTP server, as configured.
pub struct Relay {
    /// A name or an address, without brackets.
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub credentials: Option<Credentials>,
}

impl Relay {
    /// Checks what can be checked without connecting: that TLS can verify a certificate for the host.
    pub fn validate(&self) -> Result<(), String> {
        if self.security != Security::None {
            TlsParameters::new(self.host.clone())
                .map_err(|e| format!("{:?} cannot be used with TLS: {e}", self.host))?;
        }
        Ok(())
    }
}

struct Connection {
    smtp: AsyncSmtpConnection,
    pipelining: bool,
    idle_since: Instant,
}

pub struct Pool {
    relay: Relay,
    hello: ClientId,
    idle: Mutex<Vec<Connection>>,
}

/// How far an email got before it failed: only one the server never took DATA for may be
/// sent again at once.
struct Failed {
    data_accepted: bool,
    error: SendError,
}

impl Pool {
    pub fn new(relay: Relay) -> Pool {
        Pool { relay, hello: ClientId::default(), idle: Mutex::new(Vec::new()) }
    }

    /// Hands one email to the server, over an idle connection when there is one. A connection
    /// the server closed while it sat idle fails before DATA; the email then goes again at
    /// once over a new one.
    pub async fn send(&self, envelope: &Envelope, email: &[u8]) -> Result<(), SendError> {
        if let Some(mut connection) = self.take_idle() {
            match deliver(&mut connection, envelope, email).await {
                Ok(()) => {
                    self.keep(connection);
                    return Ok(());
                }
                Err(Failed { data_accepted: false, error }) if !error.permanent => {
                    tracing::debug!(error = %error, "an idle SMTP connection failed; sending over a new one");
                }
                Err(failed) => return Err(failed.error),
            }
        }
        let mut connection = self.connect().await?;
        deliver(&mut connection, envelope, email).await.map_err(|failed| failed.error)?;
        self.keep(connection);
        Ok(())
    }

    /// Connects, secures and logs in, then says NOOP and QUIT.
    pub async fn check(&self) -> Result<(), String> {
        let mut connection = self.connect().await.map_err(|e| e.message)?;
        let noop = connection.smtp.test_connected().await;
        let _ = connection.smtp.quit().await;
        if noop {
            Ok(())
        } else {
            Err("the SMTP server did not answer NOOP".into())
        }
    }

    fn take_idle(&self) -> Option<Connection> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        // The longest idle are at the front; those past KEEP_IDLE are dropped (closing them).
        idle.retain(|c| c.idle_since.elapsed() < KEEP_IDLE);
        idle.pop()
    }

    fn keep(&self, mut connection: Connection) {
        connection.idle_since = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(connection);
        }
    }

    async fn connect(&self) -> Result<Connection, SendError> {
        let relay = &self.relay;
        let temporary = |message: String| SendError { permanent: false, message };
        let server = super::host_port(&relay.host, relay.port);
        let open = async {
            let tcp = TcpStream::connect((relay.host.as_str(), relay.port))
                .await
                .map_err(|e| format!("could not connect to the SMTP server {server}: {e}"))?;
            tcp.set_nodelay(true).map_err(|e| e.to_string())?;
            let stream: Box<dyn AsyncTokioStream> = if relay.security == Security::Implicit {
                let tls = super::tls::handshake(&relay.host, &format!("the SMTP server {server}"), tcp).await?;
                Box::new(Tls(tls))
            } else {
                Box::new(tcp)
            };
            let said = |e: lettre::transport::smtp::Error| format!("the SMTP server {server}: {e}");
            let mut smtp = AsyncSmtpConnection::connect_with_transport(stream, &self.hello).await.map_err(said)?;
            if relay.security == Security::StartTls {
                let tls = TlsParameters::new(relay.host.clone()).map_err(said)?;
                smtp.starttls(tls, &self.hello).await.map_err(said)?;
            }
            if let Some(credentials) = &relay.credentials {
                smtp.auth(DEFAULT_MECHANISMS, credentials).await.map_err(said)?;
            }
            // lettre keeps no note of PIPELINING; a second EHLO (allowed at any time) shows it.
            let ehlo = smtp.command(Ehlo::new(self.hello.clone())).await.map_err(said)?;
            let pipelining = ehlo.message().any(|line| line.trim().eq_ignore_ascii_case("PIPELINING"));
            Ok::<_, String>(Connection { smtp, pipelining, idle_since: Instant::now() })
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, open).await {
            Ok(connected) => connected.map_err(temporary),
            Err(_) => Err(temporary(format!("the SMTP server {server} did not answer within 20 s"))),
        }
    }
}

/// One email over one connection; on any failure the connection is closed (a pipelined group
/// may have answers still unread).
async fn deliver(connection: &mut Connection, envelope: &Envelope, email: &[u8]) -> Result<(), Failed> {
    let mut data_accepted = false;
    let result = tokio::time::timeout(SEND_TIMEOUT, transaction(connection, envelope, email, &mut data_accepted)).await;
    let error = match result {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(error)) => error,
        Err(_) => SendError { permanent: false, message: "the SMTP server did not answer within 60 s".into() },
    };
    connection.smtp.abort().await;
    Err(Failed { data_accepted, error })
}

async fn transaction(
    connection: &mut Connection,
    envelope: &Envelope,
    email: &[u8],
    data_accepted: &mut bool,
) -> Result<(), SendError> {
    let smtp = &mut connection.smtp;
    let refused = |e: lettre::transport::smtp::Error| SendError { permanent: e.is_permanent(), message: e.to_string() };
    let mut options = Vec::new();
    let non_ascii = |a: &lettre::Address| !AsRef::<str>::as_ref(a).is_ascii();
    if envelope.from().is_some_and(non_ascii) || envelope.to().iter().any(non_ascii) {
        if !smtp.server_info().supports_feature(Extension::SmtpUtfEight) {
            let message = "the address is not ASCII and the SMTP server does not offer SMTPUTF8".into();
            return Err(SendError { permanent: true, message });
        }
        options.push(MailParameter::SmtpUtfEight);
    }
    if !email.is_ascii() {
        if !smtp.server_info().supports_feature(Extension::EightBitMime) {
            let message = "the email is not 7-bit and the SMTP server does not offer 8BITMIME".into();
            return Err(SendError { permanent: true, message });
        }
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    let mail = Mail::new(envelope.from().cloned(), options);
    if connection.pipelining {
        // One write; then one answer per command, in order, each checked before the next.
        let mut group = mail.to_string();
        for to in envelope.to() {
            let _ = write!(group, "{}", Rcpt::new(to.clone(), vec![]));
        }
        let _ = write!(group, "{Data}");
        smtp.command(group).await.map_err(refused)?;
        for _ in 0..envelope.to().len() + 1 {
            smtp.read_response().await.map_err(refused)?;
        }
    } else {
        smtp.command(mail).await.map_err(refused)?;
        for to in envelope.to() {
            smtp.command(Rcpt::new(to.clone(), vec![])).await.map_err(refused)?;
        }
        smtp.command(Data).await.map_err(refused)?;
    }
    *data_accepted = true;
    smtp.message(email).await.map_err(refused)?;
    Ok(())
}

/// A TLS stream as lettre takes streams.
#[derive(Debug)]
struct Tls(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncTokioStream for Tls {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl AsyncRead for Tls {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tls {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::smtpd;
    use futures_util::stream::{self, StreamExt};
    use std::net::SocketAddr;
    use std::sync::Arc;
    use tokio_util::sync::CancellationToken;

    /// Rapport's own SMTP listener, noting the client port of each message it takes; a handler
    /// answering `refuse` refuses every message with that code.
    struct Server {
        port: u16,
        got: Arc<Mutex<Vec<SocketAddr>>>,
        stop: CancellationToken,
        serving: tokio::task::JoinHandle<()>,
    }

    impl Server {
        async fn start(port: u16, refuse: Option<u16>) -> Server {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let got: Arc<Mutex<Vec<SocketAddr>>> = Arc::default();
            let noted = got.clone();
            let handler: smtpd::Handler = Arc::new(move |envelope: smtpd::Envelope, _raw| {
                noted.lock().unwrap().push(envelope.peer);
                Box::pin(async move {
                    match refuse {
                        Some(code) => Err(smtpd::Refusal { code, text: "not here".into() }),
                        None => Ok(()),
                    }
                })
            });
            let stop = CancellationToken::new();
            let limits = smtpd::Limits { max_connections_per_address: 64, ..smtpd::Limits::default() };
            let serving = tokio::spawn(smtpd::serve(listener, limits, handler, stop.clone()));
            Server { port, got, stop, serving }
        }

        async fn stop(self) {
            self.stop.cancel();
            self.serving.await.unwrap();
        }

        fn connections(&self) -> usize {
            let mut peers = self.got.lock().unwrap().clone();
            peers.sort_unstable();
            peers.dedup();
            peers.len()
        }
    }

    fn pool(port: u16) -> Pool {
        Pool::new(Relay { host: "127.0.0.1".into(), port, security: Security::None, credentials: None })
    }

    fn email(n: usize) -> (Envelope, Vec<u8>) {
        let address: lettre::Address = "someone@example.com".parse().unwrap();
        let envelope = Envelope::new(Some(address.clone()), vec![address]).unwrap();
        (envelope, format!("Subject: {n}\r\n\r\nHello {n}.\r\n.starts with a dot\r\n").into_bytes())
    }

    #[tokio::test]
    async fn a_burst_goes_over_a_few_reused_pipelined_connections() {
        let server = Server::start(0, None).await;
        let pool = pool(server.port);
        let sent: Vec<Result<(), SendError>> = stream::iter(0..200)
            .map(|n| {
                let pool = &pool;
                async move {
                    let (envelope, bytes) = email(n);
                    pool.send(&envelope, &bytes).await
                }
            })
            .buffer_unordered(8)
            .collect()
            .await;
        assert!(sent.iter().all(Result::is_ok), "{:?}", sent.iter().find(|r| r.is_err()));
        assert_eq!(server.got.lock().unwrap().len(), 200);
        assert!(server.connections() <= 8, "{} connections for 8 in flight", server.connections());
        let idle = pool.idle.lock().unwrap();
        assert!(!idle.is_empty() && idle.iter().all(|c| c.pipelining), "the listener offers PIPELINING");
    }

    #[tokio::test]
    async fn an_email_after_the_server_closed_the_idle_connection_goes_over_a_new_one() {
        let server = Server::start(0, None).await;
        let pool = pool(server.port);
        let (envelope, bytes) = email(1);
        pool.send(&envelope, &bytes).await.unwrap();
        let port = server.port;
        server.stop().await;
        let server = Server::start(port, None).await;
        pool.send(&envelope, &bytes).await.unwrap();
        assert_eq!(server.got.lock().unwrap().len(), 1, "sent once, over the new connection");
    }

    #[tokio::test]
    async fn a_refused_email_is_a_permanent_failure_and_its_connection_is_not_reused() {
        let server = Server::start(0, Some(554)).await;
        let pool = pool(server.port);
        let (envelope, bytes) = email(1);
        let refused = pool.send(&envelope, &bytes).await.unwrap_err();
        assert!(refused.permanent, "{refused}");
        assert!(pool.idle.lock().unwrap().is_empty());
        let again = pool.send(&envelope, &bytes).await.unwrap_err();
        assert!(again.permanent && server.connections() == 2, "{again}");
    }

    #[tokio::test]
    async fn a_server_that_is_not_there_is_a_temporary_failure() {
        let server = Server::start(0, None).await;
        let port = server.port;
        server.stop().await;
        let (envelope, bytes) = email(1);
        let failed = pool(port).send(&envelope, &bytes).await.unwrap_err();
        assert!(!failed.permanent && failed.message.contains("could not connect"), "{failed}");
    }
}
