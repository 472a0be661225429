//! Running Rapport: `/metrics` in Prometheus text format, the admin health page, and request
//! ids on every answer.

use crate::helpers::*;
use crate::notifications::{advance, customer_chat, mail_config};
use crate::smtp::SmtpServer;
use reqwest::Method;
use std::time::Duration;

/// The value of one sample (`name{labels}` exactly as exposed), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' '))?.parse().ok())
}

async fn scrape(client: &Client) -> String {
    let res = client.request(Method::GET, "/metrics").send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    res.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_sockets_messages_email_and_latency_for_admins_only() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    let (agent, _) = app.agent(&admin, "agent@example.com").await;
    let scraper = app.client().with_bearer(&admin.api_token().await);

    app.client().get("/metrics").await.expect(401, "unauthenticated");
    agent.get("/metrics").await.expect(403, "forbidden");

    let before = scrape(&scraper).await;
    for family in [
        "rapport_build_info",
        "rapport_sockets",
        "rapport_messages_total",
        "rapport_http_request_duration_seconds",
        "rapport_write_batch_duration_seconds",
        "rapport_write_queue",
        "rapport_pending_notifications",
        "rapport_outbox_emails",
        "rapport_inbound_emails",
        "rapport_database_bytes",
        "rapport_disk_free_bytes",
    ] {
        assert!(before.contains(&format!("# TYPE {family} ")), "{family} is missing:\n{before}");
    }
    assert!(before.contains(&format!("commit=\"{}\"", rapport::COMMIT)));
    // Every sample line is `name{labels} number`.
    for line in before.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "not a sample: {line}");
    }

    // A customer writes and opens the widget socket; an agent answers; a minute passes unseen.
    let (token, conversation) = customer_chat(&app, Some("cat@example.com"), "hello there").await;
    let port = app.base.rsplit(':').next().unwrap();
    let (socket, _) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/api/v1/widget/socket?token={token}"))
            .await
            .expect("the widget socket opens");
    admin.say(conversation, "first answer").await.ok();
    admin.say(conversation, "second answer").await.ok();

    let during = scrape(&scraper).await;
    assert_eq!(sample(&during, "rapport_sockets{kind=\"customer\"}"), Some(1.0), "{during}");
    let counted =
        |text: &str, author: &str| sample(text, &format!("rapport_messages_total{{author=\"{author}\"}}")).unwrap();
    assert_eq!(counted(&during, "customer") - counted(&before, "customer"), 1.0);
    assert_eq!(counted(&during, "user") - counted(&before, "user"), 2.0);
    assert!(sample(&during, "rapport_pending_notifications").unwrap() >= 1.0, "{during}");
    let requests = |text: &str| sample(text, "rapport_http_request_duration_seconds_count").unwrap();
    assert!(requests(&during) > requests(&before));
    let commits = |text: &str| sample(text, "rapport_write_batch_duration_seconds_count").unwrap();
    assert!(commits(&during) > commits(&before));

    drop(socket);
    advance(&app, 61).await;
    let after = scrape(&scraper).await;
    assert!(sample(&after, "rapport_outbox_emails{status=\"sent\"}").unwrap() >= 1.0, "{after}");
    assert_eq!(sample(&after, "rapport_outbox_emails{status=\"failed\"}"), Some(0.0));
    for _ in 0..100 {
        if sample(&scrape(&scraper).await, "rapport_sockets{kind=\"customer\"}") == Some(0.0) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the closed socket is still counted");
}

#[tokio::test]
async fn the_health_page_checks_email_disk_database_and_queues() {
    let mut smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    let (agent, _) = app.agent(&admin, "agent@example.com").await;
    agent.get("/api/v1/admin/health").await.expect(403, "forbidden");

    let health = admin.get("/api/v1/admin/health").await.ok();
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["problems"], serde_json::json!([]));
    assert_eq!(health["setup"], serde_json::json!([]), "email is set up and the first admin brought a project");
    assert_eq!(health["smtp"]["configured"], true);
    assert_eq!(health["smtp"]["reachable"], true, "{health}");
    assert_eq!(health["imap"]["configured"], false);
    assert!(health["imap"]["reachable"].is_null());
    assert_eq!(health["schema_version"], *rapport::store::SCHEMA_VERSION);
    assert_eq!(health["commit"], rapport::COMMIT);
    assert!(health["database"]["bytes"].as_u64().unwrap() > 0);
    assert!(health["disk"]["free_bytes"].as_u64().unwrap() > 0);
    assert!(health["disk"]["total_bytes"].as_u64().unwrap() >= health["disk"]["free_bytes"].as_u64().unwrap());
    assert_eq!(health["queues"]["pending_notifications"], 0);

    // The SMTP server goes away, and a customer's message waits for its email.
    smtp.stop();
    customer_chat(&app, None, "anyone?").await;
    let health = admin.get("/api/v1/admin/health").await.ok();
    assert_eq!(health["status"], "attention", "{health}");
    assert_eq!(health["smtp"]["reachable"], false);
    assert!(health["smtp"]["error"].as_str().is_some_and(|e| !e.is_empty()));
    let problems = health["problems"].to_string();
    assert!(problems.contains("SMTP server cannot be reached"), "{problems}");
    assert!(health["queues"]["pending_notifications"].as_i64().unwrap() >= 1, "{health}");
}

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let app = spawn_app().await;
    let plain = app.client().request(Method::GET, "/api/v1/me").send().await.unwrap();
    let id = plain.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 16);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");

    // A proxy's id is kept, so one request can be followed through both logs ...
    let given =
        app.client().request(Method::GET, "/healthz").header("x-request-id", "edge-42-abc").send().await.unwrap();
    assert_eq!(given.headers()["x-request-id"], "edge-42-abc");
    // ... unless it is not a plain one.
    for hostile in ["a b", "<script>", &"x".repeat(65)] {
        let res = app.client().request(Method::GET, "/healthz").header("x-request-id", hostile).send().await.unwrap();
        let id = res.headers()["x-request-id"].to_str().unwrap();
        assert_ne!(id, hostile);
        assert_eq!(id.len(), 16);
    }
}

/// Behind the reverse proxy every request comes from 127.0.0.1: the per-IP limits count the
/// address the proxy names, and a client cannot pick one by sending the header itself.
#[tokio::test]
async fn per_ip_limits_count_the_client_a_trusted_proxy_names() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::helpers::config_for(dir.path());
    config.visitor_limit = 2;
    let app = spawn_with(config).await;
    let start = |forwarded: &'static str| {
        app.client()
            .request(Method::POST, "/api/v1/widget/visitors")
            .header("x-forwarded-for", forwarded)
            .json(&serde_json::json!({}))
            .send()
    };
    for _ in 0..2 {
        assert_eq!(start("198.51.100.7").await.unwrap().status().as_u16(), 201);
    }
    assert_eq!(start("198.51.100.7").await.unwrap().status().as_u16(), 429);
    // A forged hop before the real one changes nothing: the proxy appends what it saw.
    assert_eq!(start("203.0.113.50, 198.51.100.7").await.unwrap().status().as_u16(), 429);
    assert_eq!(start("198.51.100.8").await.unwrap().status().as_u16(), 201, "another client has its own count");
}

/// The settings the container image sets: the `ENV` instructions of packaging/Containerfile.
fn container_env() -> std::collections::BTreeMap<String, String> {
    let file = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/Containerfile")).unwrap();
    let joined = file.replace("\\\n", " ");
    joined
        .lines()
        .filter_map(|line| line.strip_prefix("ENV "))
        .flat_map(str::split_whitespace)
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
}

/// In a container behind a published port, every request comes from Docker's bridge gateway
/// (172.17.0.1), where the host's reverse proxy reaches it. The image trusts that address, so
/// each client the proxy names has limits of its own instead of all sharing the gateway's.
#[tokio::test]
async fn in_the_container_each_client_behind_the_published_port_has_its_own_limits() {
    let env = container_env();
    let dir = tempfile::tempdir().unwrap();
    let flags = rapport::config::Flags {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.path().to_string_lossy().into_owned()),
        ..Default::default()
    };
    let mut config = rapport::config::Config::load_from(&flags, |key| env.get(key).cloned())
        .expect("the image's settings are valid");
    let gateway: std::net::IpAddr = "172.17.0.1".parse().unwrap();
    assert!(
        config.trusted_proxies.iter().any(|n| n.contains(gateway)),
        "the image trusts {:?}",
        config.trusted_proxies
    );
    assert_eq!(env.get("RAPPORT_LISTEN").map(String::as_str), Some("0.0.0.0:8080"));

    // The server decides by that list: from a peer on it (the test's 127.0.0.1, which the list
    // also holds) each named client counts apart; from a peer not on it (127.0.0.2) the header
    // is ignored and everyone counts as the peer.
    let trusted = config.trusted_proxies.clone();
    let trusts = |ip: &str| trusted.iter().any(|n| n.contains(ip.parse().unwrap()));
    assert!(trusts("127.0.0.1") && !trusts("127.0.0.2"));
    config.visitor_limit = 2;
    let app = spawn_with(config).await;
    let from =
        |peer: &str| reqwest::Client::builder().local_address(peer.parse::<std::net::IpAddr>().ok()).build().unwrap();
    let (proxy, stranger) = (from("127.0.0.1"), from("127.0.0.2"));
    let start = |client: &reqwest::Client, forwarded: &str| {
        client
            .post(format!("{}/api/v1/widget/visitors", app.base))
            .header("x-forwarded-for", forwarded)
            .json(&serde_json::json!({}))
            .send()
    };
    for client in ["198.51.100.7", "198.51.100.7", "198.51.100.8", "198.51.100.9"] {
        assert_eq!(start(&proxy, client).await.unwrap().status().as_u16(), 201, "{client} via the proxy");
    }
    assert_eq!(start(&proxy, "198.51.100.7").await.unwrap().status().as_u16(), 429);
    for client in ["203.0.113.1", "203.0.113.2"] {
        assert_eq!(start(&stranger, client).await.unwrap().status().as_u16(), 201, "{client} from 127.0.0.2");
    }
    assert_eq!(start(&stranger, "203.0.113.3").await.unwrap().status().as_u16(), 429, "one count for 127.0.0.2");
}
