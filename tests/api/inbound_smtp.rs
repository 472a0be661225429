//! The built-in inbound SMTP listener, against real clients (lettre, Python's smtplib) and a raw
//! socket for what well-behaved clients never send.

use futures_util::future::BoxFuture;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rapport::mail::smtpd::{serve, Envelope, Handler, Limits, Refusal};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

type Received = Arc<Mutex<Vec<(Envelope, Vec<u8>)>>>;

pub fn limits() -> Limits {
    Limits {
        max_message_bytes: 10_000,
        max_recipients: 3,
        max_connections: 8,
        command_timeout: Duration::from_secs(10),
        data_timeout: Duration::from_secs(10),
        hostname: "mx.test".into(),
        ..Limits::default()
    }
}

fn recording(received: &Received) -> Handler {
    let received = received.clone();
    Arc::new(move |envelope: Envelope, message: Vec<u8>| -> BoxFuture<'static, Result<(), Refusal>> {
        received.lock().unwrap().push((envelope, message));
        Box::pin(async { Ok(()) })
    })
}

fn refusing(code: u16, text: &'static str, calls: &Received) -> Handler {
    let calls = calls.clone();
    Arc::new(move |envelope: Envelope, message: Vec<u8>| -> BoxFuture<'static, Result<(), Refusal>> {
        calls.lock().unwrap().push((envelope, message));
        Box::pin(async move { Err(Refusal { code, text: text.into() }) })
    })
}

pub struct Server {
    pub addr: SocketAddr,
    received: Received,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

async fn start_with(limits: Limits, handler: impl FnOnce(&Received) -> Handler) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let received = Received::default();
    let stop = CancellationToken::new();
    let task = tokio::spawn(serve(listener, limits, handler(&received), stop.clone()));
    Server { addr, received, stop, task }
}

pub async fn start(limits: Limits) -> Server {
    start_with(limits, recording).await
}

impl Server {
    pub fn received(&self) -> Vec<(Envelope, Vec<u8>)> {
        self.received.lock().unwrap().clone()
    }
}

/// A client that says exactly what the test tells it to.
pub struct Raw {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl Raw {
    pub async fn connect(addr: SocketAddr) -> Raw {
        Raw::from_stream(TcpStream::connect(addr).await.unwrap())
    }

    pub fn from_stream(stream: TcpStream) -> Raw {
        let (reader, writer) = stream.into_split();
        Raw { reader: BufReader::new(reader), writer }
    }

    /// Connects and reads the greeting.
    pub async fn open(addr: SocketAddr) -> Raw {
        let mut raw = Raw::connect(addr).await;
        let (code, text) = raw.reply().await;
        assert_eq!(code, 220, "{text}");
        raw
    }

    /// Connects, greets with EHLO and reads past its reply.
    pub async fn hello(addr: SocketAddr) -> Raw {
        let mut raw = Raw::open(addr).await;
        assert_eq!(raw.cmd("EHLO client.test").await, 250);
        raw
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.unwrap();
    }

    /// One reply, all its lines joined; panics at end of input.
    pub async fn reply(&mut self) -> (u16, String) {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(Duration::from_secs(10), self.reader.read_line(&mut line))
                .await
                .expect("a reply in time")
                .unwrap();
            assert!(n > 0, "connection closed while waiting for a reply; so far {text:?}");
            assert!(line.ends_with("\r\n"), "reply line without CRLF: {line:?}");
            text.push_str(&line);
            if line.as_bytes().get(3) == Some(&b' ') {
                return (line[..3].parse().unwrap(), text);
            }
        }
    }

    pub async fn cmd(&mut self, line: &str) -> u16 {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await.0
    }

    pub async fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), self.reader.read_to_end(&mut rest)).await;
        matches!(read, Ok(Ok(0)))
    }
}

fn letter(to: &str, body: &str) -> Message {
    Message::builder()
        .from("Visitor <visitor@example.org>".parse().unwrap())
        .to(to.parse().unwrap())
        .subject("Where is my order?")
        .body(body.to_owned())
        .unwrap()
}

fn lettre_client(addr: SocketAddr) -> AsyncSmtpTransport<Tokio1Executor> {
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1").port(addr.port()).build()
}

#[tokio::test]
async fn lettre_delivers_a_message_with_its_envelope() {
    let server = start(limits()).await;
    let body = "Hello,\r\n.hidden dot line\r\nThanks";
    lettre_client(server.addr).send(letter("support@team.test", body)).await.unwrap();
    let received = server.received();
    assert_eq!(received.len(), 1);
    let (envelope, message) = &received[0];
    assert_eq!(envelope.mail_from, "visitor@example.org");
    assert_eq!(envelope.rcpt_to, vec!["support@team.test".to_owned()]);
    assert_eq!(envelope.peer.ip(), server.addr.ip());
    assert!(!envelope.helo.is_empty());
    let text = String::from_utf8(message.clone()).unwrap();
    assert!(text.contains("Subject: Where is my order?\r\n"), "{text}");
    assert!(text.contains("\r\n.hidden dot line\r\n"), "the leading dot is unstuffed: {text}");
    assert!(!text.ends_with("\r\n.\r\n"), "the terminator is not part of the message");
}

#[tokio::test]
async fn lettre_sees_the_handlers_refusal() {
    let server = start_with(limits(), |calls| refusing(550, "No such conversation", calls)).await;
    let err = lettre_client(server.addr).send(letter("nobody@team.test", "hi")).await.unwrap_err();
    assert!(err.is_permanent(), "{err}");
    assert_eq!(err.status().map(|c| c.to_string()), Some("550".into()));
    assert!(err.to_string().contains("No such conversation"), "{err}");
    assert_eq!(server.received().len(), 1, "the handler was asked");
}

/// Runs a Python snippet with smtplib; `PORT` in it is replaced by the server's port.
async fn python(script: &str, addr: SocketAddr) -> String {
    let script = script.replace("PORT", &addr.port().to_string());
    // smtplib blocks, and the server runs on this test's runtime.
    let output = tokio::task::spawn_blocking(move || {
        crate::helpers::python().args(["-c", &script]).output().expect("python runs")
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "python failed: {stderr}");
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn python_smtplib_delivers_to_several_recipients_and_a_bounce_too() {
    let server = start(limits()).await;
    let script = r#"
import smtplib
with smtplib.SMTP("127.0.0.1", PORT) as s:
    code, _ = s.ehlo("sender.test")
    assert code == 250
    assert s.has_extn("size") and s.has_extn("8bitmime") and s.has_extn("pipelining") and s.has_extn("smtputf8")
    assert s.esmtp_features["size"] == "10000"
    assert not s.has_extn("starttls")
    s.sendmail("a@sender.test", ["one@team.test", "two@team.test"], "Subject: hi\n\n.dot\nline two\n")
    s.sendmail("", ["one@team.test"], "Subject: bounce\r\n\r\nundeliverable\r\n")
    print(s.vrfy("one@team.test")[0], s.help().decode()[:8], s.noop()[0])
"#;
    let out = python(script, server.addr).await;
    assert_eq!(out.trim(), "252 Commands 250");
    let received = server.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].0.helo, "sender.test");
    assert_eq!(received[0].0.rcpt_to, vec!["one@team.test".to_owned(), "two@team.test".to_owned()]);
    assert_eq!(received[0].1, b"Subject: hi\r\n\r\n.dot\r\nline two\r\n");
    assert_eq!(received[1].0.mail_from, "", "a bounce has the null sender");
    assert_eq!(received[1].1, b"Subject: bounce\r\n\r\nundeliverable\r\n");
}

#[tokio::test]
async fn python_smtplib_sees_a_temporary_refusal_and_an_oversize_declaration() {
    let server = start_with(limits(), |calls| refusing(451, "Database busy", calls)).await;
    let script = r#"
import smtplib
with smtplib.SMTP("127.0.0.1", PORT) as s:
    try:
        s.sendmail("a@sender.test", ["one@team.test"], "Subject: hi\r\n\r\nbody\r\n")
    except smtplib.SMTPDataError as e:
        print(e.smtp_code, e.smtp_error.decode())
    try:
        s.sendmail("a@sender.test", ["one@team.test"], "x" * 20000)
    except smtplib.SMTPSenderRefused as e:
        print(e.smtp_code)
"#;
    let out = python(script, server.addr).await;
    assert_eq!(out, "451 Database busy\n552\n");
    assert_eq!(server.received.lock().unwrap().len(), 1, "the declared oversize message never reached the handler");
}

#[tokio::test]
async fn dot_stuffing_round_trips_and_bare_lf_is_not_an_end() {
    let server = start(limits()).await;
    let mut c = Raw::hello(server.addr).await;
    assert_eq!(c.cmd("MAIL FROM:<a@sender.test>").await, 250);
    assert_eq!(c.cmd("RCPT TO:<b@team.test>").await, 250);
    assert_eq!(c.cmd("DATA").await, 354);
    // "\n.\n" and "\n.\r\n" must not end it (smuggling); only CRLF "." CRLF does.
    c.send(b"Subject: dots\r\n\r\n..line\r\n...\r\nbare\n.\nafter\n.\r\nend\r\n.\r\n").await;
    assert_eq!(c.reply().await.0, 250);
    assert_eq!(c.cmd("QUIT").await, 221);
    assert!(c.closed().await);
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(
        String::from_utf8_lossy(&received[0].1),
        "Subject: dots\r\n\r\n.line\r\n..\r\nbare\r\n\r\nafter\r\n\r\nend\r\n"
    );
}

#[tokio::test]
async fn an_oversize_message_is_read_to_the_end_and_refused_without_the_handler() {
    let server = start(Limits { max_message_bytes: 1000, ..limits() }).await;
    let mut c = Raw::hello(server.addr).await;
    assert_eq!(c.cmd("MAIL FROM:<a@sender.test> SIZE=1001").await, 552);
    assert_eq!(c.cmd("MAIL FROM:<a@sender.test> SIZE=500").await, 250);
    assert_eq!(c.cmd("RCPT TO:<b@team.test>").await, 250);
    assert_eq!(c.cmd("DATA").await, 354);
    // Many short lines, then one long line with no line break for a while.
    let mut big = "0123456789\r\n".repeat(200).into_bytes();
    big.extend(std::iter::repeat_n(b'x', 100_000));
    big.extend_from_slice(b"\r\n.\r\n");
    c.send(&big).await;
    assert_eq!(c.reply().await.0, 552);
    assert!(server.received().is_empty(), "the handler is never called");
    // The session goes on, and a message of exactly the limit fits.
    assert_eq!(c.cmd("MAIL FROM:<a@sender.test>").await, 250);
    assert_eq!(c.cmd("RCPT TO:<b@team.test>").await, 250);
    assert_eq!(c.cmd("DATA").await, 354);
    let exact = format!("{}\r\n", "y".repeat(998));
    c.send(format!("{exact}.\r\n").as_bytes()).await;
    assert_eq!(c.reply().await.0, 250);
    assert_eq!(server.received()[0].1, exact.as_bytes());
}

#[tokio::test]
async fn too_many_recipients_get_452_and_the_rest_are_delivered() {
    let server = start(limits()).await;
    let mut c = Raw::hello(server.addr).await;
    assert_eq!(c.cmd("MAIL FROM:<a@sender.test>").await, 250);
    for n in 0..3 {
        assert_eq!(c.cmd(&format!("RCPT TO:<r{n}@team.test>")).await, 250);
    }
    assert_eq!(c.cmd("RCPT TO:<r3@team.test>").await, 452);
    assert_eq!(c.cmd("DATA").await, 354);
    c.send(b"hi\r\n.\r\n").await;
    assert_eq!(c.reply().await.0, 250);
    assert_eq!(server.received()[0].0.rcpt_to.len(), 3);
}

#[tokio::test]
async fn commands_out_of_order_get_503_and_bad_syntax_501() {
    let server = start(limits()).await;
    let mut c = Raw::open(server.addr).await;
    assert_eq!(c.cmd("MAIL FROM:<a@sender.test>").await, 503, "MAIL before EHLO");
    assert_eq!(c.cmd("HELO client.test").await, 250);
    assert_eq!(c.cmd("RCPT TO:<b@team.test>").await, 503, "RCPT before MAIL");
    assert_eq!(c.cmd("DATA").await, 503, "DATA before MAIL");
    // A fresh session, since ten errors end one.
    let mut c = Raw::hello(server.addr).await;
    assert_eq!(c.cmd("MAIL FROM:a@sender.test").await, 501, "no angle brackets");
    assert_eq!(c.cmd("MAIL TO:<a@sender.test>").await, 501);
    assert_eq!(c.cmd("mail from: <a@sender.test> BODY=8BITMIME").await, 250, "lower case and a space");
    assert_eq!(c.cmd("MAIL FROM:<a@sender.test>").await, 503, "nested MAIL");
    assert_eq!(c.cmd("DATA").await, 503, "DATA before RCPT");
    assert_eq!(c.cmd("RCPT TO:<not an address>").await, 501);
    assert_eq!(c.cmd("RCPT TO:<b@team.test> NOTIFY=NEVER").await, 555);
    assert_eq!(c.cmd("RSET").await, 250);
    assert_eq!(c.cmd("RCPT TO:<b@team.test>").await, 503, "RSET forgot the sender");
}

#[tokio::test]
async fn a_long_line_or_garbage_gets_500_and_the_session_goes_on() {
    let server = start(limits()).await;
    let mut c = Raw::hello(server.addr).await;
    c.send(format!("NOOP {}\r\n", "a".repeat(2000)).as_bytes()).await;
    assert_eq!(c.reply().await.0, 500);
    c.send(b"\xff\xfe\x00\x01garbage\r\n").await;
    assert_eq!(c.reply().await.0, 500);
    assert_eq!(c.cmd("XYZZY").await, 500);
    assert_eq!(c.cmd("STARTTLS").await, 502);
    // Bare LF line ends are fine in commands.
    c.send(b"MAIL FROM:<a@sender.test>\nRCPT TO:<b@team.test>\n").await;
    assert_eq!(c.reply().await.0, 250);
    assert_eq!(c.reply().await.0, 250);
    assert_eq!(c.cmd("DATA").await, 354);
    c.send(b"still here\r\n.\r\n").await;
    assert_eq!(c.reply().await.0, 250);
    assert_eq!(server.received()[0].1, b"still here\r\n");
}

#[tokio::test]
async fn pipelined_commands_are_answered_in_order() {
    let server = start(limits()).await;
    let mut c = Raw::open(server.addr).await;
    c.send(
        b"EHLO client.test\r\nMAIL FROM:<a@sender.test>\r\nRCPT TO:<b@team.test>\r\nRCPT TO:<c@team.test>\r\nDATA\r\n",
    )
    .await;
    let codes = [c.reply().await.0, c.reply().await.0, c.reply().await.0, c.reply().await.0, c.reply().await.0];
    assert_eq!(codes, [250, 250, 250, 250, 354]);
    c.send(b"x\r\n.\r\nQUIT\r\n").await;
    assert_eq!(c.reply().await.0, 250);
    assert_eq!(c.reply().await.0, 221);
    assert!(c.closed().await);
}

#[tokio::test]
async fn too_many_errors_close_the_session() {
    let server = start(limits()).await;
    let mut c = Raw::open(server.addr).await;
    for _ in 0..9 {
        assert_eq!(c.cmd("BOGUS").await, 500);
    }
    assert_eq!(c.cmd("BOGUS").await, 421);
    assert!(c.closed().await);
}

#[tokio::test]
async fn the_handlers_refusal_code_reaches_a_raw_client() {
    let server = start_with(limits(), |calls| refusing(550, "Mailbox unavailable", calls)).await;
    let mut c = Raw::hello(server.addr).await;
    assert_eq!(c.cmd("MAIL FROM:<a@sender.test>").await, 250);
    assert_eq!(c.cmd("RCPT TO:<b@team.test>").await, 250);
    assert_eq!(c.cmd("DATA").await, 354);
    c.send(b"hi\r\n.\r\n").await;
    assert_eq!(c.reply().await, (550, "550 Mailbox unavailable\r\n".into()));
    assert_eq!(c.cmd("QUIT").await, 221);
}

#[tokio::test]
async fn connections_over_the_limit_get_421() {
    let server = start(Limits { max_connections: 1, ..limits() }).await;
    let mut first = Raw::open(server.addr).await;
    let mut second = Raw::connect(server.addr).await;
    let (code, text) = second.reply().await;
    assert_eq!(code, 421, "{text}");
    assert!(second.closed().await);
    assert_eq!(first.cmd("QUIT").await, 221);
    assert!(first.closed().await);
    // The slot is free again once the first session has ended.
    let mut third = Raw::connect(server.addr).await;
    assert_eq!(third.reply().await.0, 220);
}

#[tokio::test]
async fn an_idle_client_gets_421() {
    let server = start(Limits { command_timeout: Duration::from_millis(300), ..limits() }).await;
    let mut c = Raw::open(server.addr).await;
    let (code, text) = c.reply().await;
    assert_eq!(code, 421, "{text}");
    assert!(c.closed().await);
}

#[tokio::test]
async fn stopping_tells_open_sessions_and_returns() {
    let server = start(limits()).await;
    let mut c = Raw::hello(server.addr).await;
    server.stop.cancel();
    assert_eq!(c.reply().await.0, 421);
    assert!(c.closed().await);
    tokio::time::timeout(Duration::from_secs(5), server.task).await.expect("serve returns").unwrap();
}

#[tokio::test]
async fn a_panicking_handler_costs_a_451_not_the_session() {
    let handler = |_: &Received| -> Handler {
        Arc::new(|_: Envelope, _: Vec<u8>| -> BoxFuture<'static, Result<(), Refusal>> {
            Box::pin(async { panic!("the handler broke") })
        })
    };
    let server = start_with(limits(), handler).await;
    let mut c = Raw::hello(server.addr).await;
    assert_eq!(c.cmd("MAIL FROM:<a@sender.test>").await, 250);
    assert_eq!(c.cmd("RCPT TO:<b@team.test>").await, 250);
    assert_eq!(c.cmd("DATA").await, 354);
    c.send(b"hi\r\n.\r\n").await;
    assert_eq!(c.reply().await.0, 451);
    assert_eq!(c.cmd("NOOP").await, 250);
}
