//! Polling a mailbox with `ImapSource` against a real dovecot.

use super::imap_server::ImapServer;
use rapport::domain::Secret;
use rapport::mail::imap::ImapSource;
use std::sync::{Arc, Mutex};

fn message(n: usize) -> Vec<u8> {
    format!(
        "From: Customer {n} <customer{n}@example.com>\r\nTo: support@example.com\r\nSubject: Question {n}\r\n\
         Message-ID: <q{n}@example.com>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nHello, this is question {n}.\r\n"
    )
    .into_bytes()
}

fn source(url: &str) -> ImapSource {
    ImapSource::parse(&Secret::new(url)).unwrap()
}

/// Runs one poll and returns how many it reported handled and the subjects it was handed.
async fn poll(source: &ImapSource, limit: usize, fail_on: Option<&str>) -> (usize, Vec<String>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let handled = source
        .fetch_new(limit, |raw| {
            let seen = seen.clone();
            let fail = fail_on.is_some_and(|s| String::from_utf8_lossy(&raw).contains(s));
            async move {
                let text = String::from_utf8(raw).unwrap();
                let subject = text.lines().find_map(|l| l.strip_prefix("Subject: ")).unwrap().to_owned();
                seen.lock().unwrap().push(subject);
                if fail {
                    Err("the handler failed on purpose".to_owned())
                } else {
                    Ok(())
                }
            }
        })
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    (handled, seen)
}

#[tokio::test]
async fn each_message_is_handed_once_whole_and_then_marked_seen() {
    let server = ImapServer::start();
    for n in 1..=3 {
        server.deliver(&message(n));
    }
    assert_eq!(server.unseen(), 3);
    let source = source(&server.url());

    let raw = Arc::new(Mutex::new(Vec::new()));
    let handled = source
        .fetch_new(10, |bytes| {
            raw.lock().unwrap().push(bytes);
            async { Ok(()) }
        })
        .await
        .unwrap();
    assert_eq!(handled, 3);
    let raw = raw.lock().unwrap().clone();
    // Oldest first, byte for byte as delivered.
    assert_eq!(raw, (1..=3).map(message).collect::<Vec<_>>());
    assert_eq!(server.unseen(), 0);

    assert_eq!(poll(&source, 10, None).await, (0, vec![]));
}

#[tokio::test]
async fn a_message_the_handler_fails_on_stays_unseen_and_is_handed_again() {
    let server = ImapServer::start();
    for n in 1..=3 {
        server.deliver(&message(n));
    }
    let source = source(&server.url());

    let (handled, subjects) = poll(&source, 10, Some("Question 2")).await;
    assert_eq!(handled, 2);
    assert_eq!(subjects, ["Question 1", "Question 2", "Question 3"]);
    assert_eq!(server.unseen(), 1);

    assert_eq!(poll(&source, 10, None).await, (1, vec!["Question 2".to_owned()]));
    assert_eq!(server.unseen(), 0);
}

#[tokio::test]
async fn at_most_limit_messages_per_poll_oldest_first() {
    let server = ImapServer::start();
    for n in 1..=3 {
        server.deliver(&message(n));
    }
    let source = source(&server.url());

    assert_eq!(poll(&source, 2, None).await, (2, vec!["Question 1".to_owned(), "Question 2".to_owned()]));
    assert_eq!(server.unseen(), 1);
    server.deliver(&message(4));
    assert_eq!(poll(&source, 2, None).await, (2, vec!["Question 3".to_owned(), "Question 4".to_owned()]));
    assert_eq!(poll(&source, 2, None).await, (0, vec![]));
    assert_eq!(server.unseen(), 0);
}

#[tokio::test]
async fn a_wrong_password_is_a_clear_error() {
    let server = ImapServer::start();
    server.deliver(&message(1));
    let url = server.url().replace(":secret@", ":not-the-password@");
    let mut called = false;
    let e = source(&url)
        .fetch_new(10, |_| {
            called = true;
            async { Ok(()) }
        })
        .await
        .unwrap_err();
    assert!(e.contains("could not log in") && e.contains("support"), "{e}");
    assert!(!e.contains("not-the-password"), "{e}");
    assert!(!called);
    assert_eq!(server.unseen(), 1);
}

#[tokio::test]
async fn a_missing_mailbox_or_server_is_a_clear_error() {
    let server = ImapServer::start();
    let e = source(&server.url().replace("/INBOX", "/Nowhere")).fetch_new(10, |_| async { Ok(()) }).await.unwrap_err();
    assert!(e.contains("\"Nowhere\""), "{e}");

    let port = super::smtp::free_port();
    let e = source(&format!("imap://support:secret@127.0.0.1:{port}"))
        .fetch_new(10, |_| async { Ok(()) })
        .await
        .unwrap_err();
    assert!(e.contains("could not connect"), "{e}");
}

/// The app polls from a spawned task, so the future has to be Send.
#[tokio::test]
async fn polling_runs_in_a_spawned_task() {
    let server = ImapServer::start();
    server.deliver(&message(1));
    let source = source(&server.url());
    let task = tokio::spawn(async move { source.fetch_new(10, |_| async { Ok(()) }).await });
    assert_eq!(task.await.unwrap(), Ok(1));
    assert_eq!(server.unseen(), 0);
}
