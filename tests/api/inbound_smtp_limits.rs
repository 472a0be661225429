//! The inbound SMTP listener's caps: one address cannot take every connection, idle or chatty
//! clients do not keep one for long, and a message under way is still received.

use crate::inbound_smtp::{limits, start, Raw};
use rapport::mail::smtpd::Limits;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpSocket;

/// A raw client connecting from another loopback address (all of 127/8 is this host).
async fn connect_from(from: [u8; 4], to: SocketAddr) -> Raw {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind((from, 0).into()).unwrap();
    Raw::from_stream(socket.connect(to).await.unwrap())
}

/// Sends one short message and expects it accepted.
async fn deliver(c: &mut Raw) {
    assert_eq!(c.cmd("MAIL FROM:<a@sender.test>").await, 250);
    assert_eq!(c.cmd("RCPT TO:<b@team.test>").await, 250);
    assert_eq!(c.cmd("DATA").await, 354);
    c.send(b"Subject: hi\r\n\r\nhello\r\n.\r\n").await;
    assert_eq!(c.reply().await.0, 250);
}

#[tokio::test]
async fn idle_smtp_connections_from_one_address_do_not_block_others() {
    // As in the finding: 64 sessions in all, and one address opening every one of them.
    let server = start(Limits { max_connections: 64, max_connections_per_address: 8, ..limits() }).await;
    let mut hogs = Vec::new();
    let mut refused = 0;
    for _ in 0..64 {
        let mut c = connect_from([127, 0, 0, 1], server.addr).await;
        let (code, text) = c.reply().await;
        match code {
            220 => hogs.push(c),
            421 => {
                assert!(text.contains("Too many connections from your address"), "{text}");
                assert!(c.closed().await);
                refused += 1;
            }
            other => panic!("unexpected greeting {other}: {text}"),
        }
    }
    assert_eq!((hogs.len(), refused), (8, 56));

    // Everyone else is still served.
    let mut other = connect_from([127, 0, 0, 2], server.addr).await;
    assert_eq!(other.reply().await.0, 220);
    assert_eq!(other.cmd("EHLO other.test").await, 250);
    deliver(&mut other).await;
    assert_eq!(other.cmd("QUIT").await, 221);
    assert_eq!(server.received().len(), 1);

    // A hog that leaves gives its place back to its address.
    let mut leaving = hogs.pop().unwrap();
    assert_eq!(leaving.cmd("QUIT").await, 221);
    assert!(leaving.closed().await);
    let mut back = connect_from([127, 0, 0, 1], server.addr).await;
    assert_eq!(back.reply().await.0, 220);
}

#[tokio::test]
async fn noop_and_rset_do_not_keep_an_smtp_session_alive_forever() {
    let server = start(Limits { max_idle_commands: 3, ..limits() }).await;
    let mut c = Raw::hello(server.addr).await;
    for command in ["NOOP", "RSET", "NOOP"] {
        assert_eq!(c.cmd(command).await, 250);
    }
    // A message moves mail: the count starts over.
    deliver(&mut c).await;
    for command in ["RSET", "NOOP", "EHLO again.test"] {
        assert_eq!(c.cmd(command).await, 250, "{command}");
    }
    c.send(b"NOOP\r\n").await;
    let (code, text) = c.reply().await;
    assert_eq!(code, 421, "{text}");
    assert!(text.contains("Too many commands without mail"), "{text}");
    assert!(c.closed().await);
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn an_smtp_session_ends_at_its_time_limit_but_a_message_under_way_is_received() {
    let server = start(Limits { max_session: Duration::from_millis(700), ..limits() }).await;
    let mut c = Raw::hello(server.addr).await;
    assert_eq!(c.cmd("MAIL FROM:<a@sender.test>").await, 250);
    assert_eq!(c.cmd("RCPT TO:<b@team.test>").await, 250);
    assert_eq!(c.cmd("DATA").await, 354);
    c.send(b"Subject: slow\r\n\r\nfirst half\r\n").await;
    tokio::time::sleep(Duration::from_millis(900)).await;
    c.send(b"second half\r\n.\r\n").await;
    assert_eq!(c.reply().await.0, 250, "the message under way is received");
    let (code, text) = c.reply().await;
    assert_eq!(code, 421, "{text}");
    assert!(text.contains("Session time limit"), "{text}");
    assert!(c.closed().await);
    assert_eq!(server.received().len(), 1);

    // An idle session is cut at the limit, well before its command timeout.
    let mut idle = Raw::hello(server.addr).await;
    let started = std::time::Instant::now();
    assert_eq!(idle.reply().await.0, 421);
    assert!(started.elapsed() < Duration::from_secs(2), "cut after {:?}", started.elapsed());
}

#[tokio::test]
async fn a_message_line_may_not_take_longer_than_the_data_timeout() {
    let server = start(Limits { data_timeout: Duration::from_millis(300), ..limits() }).await;
    let mut c = Raw::hello(server.addr).await;
    assert_eq!(c.cmd("MAIL FROM:<a@sender.test>").await, 250);
    assert_eq!(c.cmd("RCPT TO:<b@team.test>").await, 250);
    assert_eq!(c.cmd("DATA").await, 354);
    c.send(b"Subject: stalled\r\n\r\nno end").await;
    let (code, text) = c.reply().await;
    assert_eq!(code, 421, "{text}");
    assert!(text.contains("Timeout"), "{text}");
    assert!(c.closed().await);
    assert!(server.received().is_empty());
}
