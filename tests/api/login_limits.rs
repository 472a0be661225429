//! Password guessing is throttled without locking out the account's owner, costs at most the
//! limits in password checks however concurrent, and cannot pile up memory; per-address limits
//! count an IPv6 client by its /64.

use crate::helpers::*;
use reqwest::header::RETRY_AFTER;
use serde_json::json;
use std::time::{Duration, Instant};

const AN_HOUR_AND_A_BIT: i64 = 61 * 60 * 1000;

/// A browser: its own cookie jar (so it keeps the known-device cookie), at the address `from`
/// (the tests' server trusts its loopback peer's X-Forwarded-For).
struct Browser {
    http: reqwest::Client,
    base: String,
}

impl Browser {
    fn new(app: &TestApp) -> Browser {
        Browser { http: reqwest::Client::builder().cookie_store(true).build().unwrap(), base: app.base.clone() }
    }

    async fn login(&self, from: &str, email: &str, password: &str) -> Answer {
        let res = self
            .http
            .post(format!("{}/api/v1/auth/login", self.base))
            .header("x-forwarded-for", from)
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("request sent");
        if res.status().as_u16() == 429 || res.status().as_u16() == 503 {
            assert!(res.headers().get(RETRY_AFTER).is_some(), "{} without Retry-After", res.status());
        }
        answer(res).await
    }
}

async fn login_from(app: &TestApp, from: &str, email: &str, password: &str) -> Answer {
    Browser::new(app).login(from, email, password).await
}

async fn create_admin(app: &TestApp) {
    let password = rapport::domain::Password::parse(rapport::domain::Secret::new(PASSWORD)).unwrap();
    rapport::cli::admin::create(&app.database(), ADMIN_EMAIL, "Ada Admin", password).await.expect("admin created");
}

/// Passwords checked so far, as `/metrics` tells an admin (read with a token: no check itself).
async fn password_checks(scraper: &Client) -> u64 {
    let text = scraper.get("/metrics").await.ok();
    let text = text.as_str().expect("metrics are text");
    let line = text.lines().find(|l| l.starts_with("rapport_password_checks_total ")).expect("the counter");
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn concurrent_wrong_guesses_cost_at_most_the_limit_in_password_checks() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.agent(&admin, "b@example.com").await;
    let scraper = app.client().with_bearer(&admin.api_token().await);
    let before = password_checks(&scraper).await;

    // 100 at once from one address: 5 are checked (and wrong), 95 refused unchecked.
    let guesses = (0..100).map(|_| login_from(&app, "198.51.100.7", ADMIN_EMAIL, "not the password"));
    let answers = futures_util::future::join_all(guesses).await;
    let codes: Vec<&str> = answers.iter().map(Answer::code).collect();
    assert_eq!(codes.iter().filter(|c| **c == "invalid_credentials").count(), 5, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == "too_many_login_attempts").count(), 95, "{codes:?}");
    assert_eq!(password_checks(&scraper).await - before, 5);

    // 100 at once from 100 addresses: the account's own limit, 20 checks.
    let app = &app;
    let guesses = (0..100)
        .map(|i| async move { login_from(app, &format!("203.0.113.{i}"), "b@example.com", "not the password").await });
    let answers = futures_util::future::join_all(guesses).await;
    let codes: Vec<&str> = answers.iter().map(Answer::code).collect();
    assert_eq!(codes.iter().filter(|c| **c == "invalid_credentials").count(), 20, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == "account_locked").count(), 80, "{codes:?}");
    assert_eq!(password_checks(&scraper).await - before, 25);
}

#[tokio::test]
async fn wrong_guesses_from_one_address_do_not_lock_out_the_owner_elsewhere() {
    let app = spawn_app().await;
    create_admin(&app).await;
    for _ in 0..5 {
        login_from(&app, "198.51.100.7", ADMIN_EMAIL, "not the password").await.expect(401, "invalid_credentials");
    }
    // The guesser's address is stopped, even with the right password ...
    login_from(&app, "198.51.100.7", ADMIN_EMAIL, PASSWORD).await.expect(429, "too_many_login_attempts");
    // ... and the owner, anywhere else, is not, even in a browser that never signed in.
    login_from(&app, "192.0.2.10", ADMIN_EMAIL, PASSWORD).await.ok();
}

#[tokio::test]
async fn the_owner_with_a_known_device_signs_in_while_their_account_is_under_attack() {
    let app = spawn_app().await;
    create_admin(&app).await;
    let laptop = Browser::new(&app);
    laptop.login("192.0.2.10", ADMIN_EMAIL, PASSWORD).await.ok();

    // Guessing from twenty addresses, each under its own limit, locks the account for browsers
    // that never signed in to it ...
    for i in 0..20 {
        login_from(&app, &format!("203.0.113.{i}"), ADMIN_EMAIL, "not the password")
            .await
            .expect(401, "invalid_credentials");
    }
    let locked = login_from(&app, "192.0.2.99", ADMIN_EMAIL, PASSWORD).await.expect(429, "account_locked");
    assert!(locked["error"]["message"].as_str().unwrap().contains("signed in with before"), "{locked}");

    // ... but not for the browser the owner signed in with, wherever it is now.
    let me = laptop.login("198.51.100.200", ADMIN_EMAIL, PASSWORD).await.ok();
    assert_eq!(me["user"]["email"], ADMIN_EMAIL);
    // The known browser still has its own limit: five wrong passwords stop it too.
    for _ in 0..5 {
        laptop.login("198.51.100.200", ADMIN_EMAIL, "not the password").await.expect(401, "invalid_credentials");
    }
    laptop.login("198.51.100.200", ADMIN_EMAIL, PASSWORD).await.expect(429, "too_many_login_attempts");

    // The lock passes with its window.
    app.clock.advance_ms(AN_HOUR_AND_A_BIT);
    login_from(&app, "192.0.2.99", ADMIN_EMAIL, PASSWORD).await.ok();
}

#[tokio::test]
async fn password_checks_beyond_the_queue_answer_503_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::helpers::config_for(dir.path());
    // One check at a time, one waiting, each slow enough to be still running when the rest come.
    (config.password_workers, config.password_queue, config.password_memory_kib) = (1, 1, 64 * 1024);
    let app = spawn_with(config).await;
    create_admin(&app).await;

    let app = &app;
    let attempts = (0..8).map(|i| async move {
        let started = Instant::now();
        let answer = login_from(app, "198.51.100.7", &format!("nobody{i}@example.com"), "not the password").await;
        (answer, started.elapsed())
    });
    let answers = futures_util::future::join_all(attempts).await;
    let busy: Vec<Duration> = answers.iter().filter(|(a, _)| a.code() == "busy").map(|(_, t)| *t).collect();
    let checked: Vec<Duration> =
        answers.iter().filter(|(a, _)| a.code() == "invalid_credentials").map(|(_, t)| *t).collect();
    assert_eq!(busy.len() + checked.len(), 8, "{answers:?}");
    assert!(!busy.is_empty() && checked.len() >= 2, "busy {busy:?}, checked {checked:?}");
    for (answer, _) in answers.iter().filter(|(a, _)| a.code() == "busy") {
        assert_eq!(answer.status.as_u16(), 503);
        assert!(answer.body["error"]["message"].as_str().unwrap().contains("busy"), "{:?}", answer.body);
    }
    // Refused at once, not after waiting in line behind the checks.
    let slowest_check = checked.iter().max().unwrap();
    assert!(busy.iter().all(|t| t < slowest_check), "busy {busy:?} vs checks {checked:?}");

    // An attempt that was never checked does not count against anyone: the server recovers.
    login_from(app, "198.51.100.7", ADMIN_EMAIL, PASSWORD).await.ok();
}

#[tokio::test]
async fn ipv6_visitors_from_one_64_share_a_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::helpers::config_for(dir.path());
    config.visitor_limit = 3;
    let app = spawn_with(config).await;
    let new_visitor = |from: String| {
        let http = reqwest::Client::new();
        let url = format!("{}/api/v1/widget/visitors", app.base);
        async move { answer(http.post(url).header("x-forwarded-for", from).json(&json!({})).send().await.unwrap()).await }
    };
    for i in 1..=3 {
        new_visitor(format!("2001:db8:1:2::{i}")).await.ok();
    }
    // Another address of the same /64 is the same client.
    new_visitor("2001:db8:1:2:ffff:ffff:ffff:ffff".into()).await.expect(429, "too_many_visitors");
    // The next /64 is another client; IPv4 clients still count by address.
    new_visitor("2001:db8:1:3::1".into()).await.ok();
    for i in 1..=3 {
        new_visitor("198.51.100.1".into()).await.ok();
        new_visitor(format!("198.51.100.{}", 10 + i)).await.ok();
    }
    new_visitor("198.51.100.1".into()).await.expect(429, "too_many_visitors");
    new_visitor("198.51.100.2".into()).await.ok();
}

#[tokio::test]
async fn ipv6_sign_in_attempts_from_one_64_share_a_limit_and_the_prefix_is_a_setting() {
    let app = spawn_app().await;
    create_admin(&app).await;
    for i in 0..20 {
        let from = format!("2001:db8:7:7::{i:x}");
        login_from(&app, &from, &format!("guess{i}@example.com"), "not the password")
            .await
            .expect(401, "invalid_credentials");
    }
    login_from(&app, "2001:db8:7:7:1::1", ADMIN_EMAIL, PASSWORD).await.expect(429, "too_many_login_attempts");
    login_from(&app, "2001:db8:7:8::1", ADMIN_EMAIL, PASSWORD).await.ok();

    // With ipv6_limit_prefix = 128 each address counts alone.
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::helpers::config_for(dir.path());
    (config.visitor_limit, config.ipv6_limit_prefix) = (1, 128);
    let app = spawn_with(config).await;
    for from in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2::3"] {
        let http = reqwest::Client::new();
        let res = http.post(format!("{}/api/v1/widget/visitors", app.base)).header("x-forwarded-for", from);
        answer(res.json(&json!({})).send().await.unwrap()).await.ok();
    }
}
