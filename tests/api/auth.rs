//! Who may call: cookie sessions with CSRF, API tokens, login rate limits, deactivation, roles,
//! the first-run setup page and the caller's preferences.

use crate::helpers::*;
use rapport::app::Application;
use rapport::clock::ManualClock;
use reqwest::header::{CONTENT_TYPE, COOKIE, RETRY_AFTER, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::sync::Arc;

const FIFTEEN_MINUTES_AND_A_BIT: i64 = 16 * 60 * 1000;

/// A login sent without a cookie jar, so the test sees the raw response (headers included).
async fn raw_login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("request sent")
}

/// The value of the session cookie set by a response.
fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers().get_all(SET_COOKIE).iter().find_map(|v| {
        let v = v.to_str().ok()?;
        let first = v.split(';').next()?.trim();
        let value = first.strip_prefix("rapport_session=")?;
        (!value.is_empty()).then(|| value.to_owned())
    })
}

fn assert_too_many(res: &reqwest::Response) {
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let secs: u64 = res
        .headers()
        .get(RETRY_AFTER)
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After is a number of seconds");
    assert!((1..=15 * 60).contains(&secs), "Retry-After {secs} s is within the 15 minute window");
}

async fn admin_without_logging_in(app: &TestApp) {
    let password = rapport::domain::Password::parse(rapport::domain::Secret::new(PASSWORD)).unwrap();
    rapport::cli::admin::create(&app.database(), ADMIN_EMAIL, "Ada Admin", password).await.expect("admin created");
}

async fn my_id(client: &Client) -> i64 {
    client.get("/api/v1/me").await.ok()["user"]["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_user_logs_in_and_me_returns_the_user_and_a_csrf_token() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let client = app.client();
    let login = client.login(ADMIN_EMAIL, PASSWORD).await.ok();
    assert_eq!(login["user"]["email"], ADMIN_EMAIL);
    assert_eq!(login["user"]["role"], "admin");
    assert!(login["csrf_token"].as_str().is_some_and(|t| t.len() >= 32), "{login}");
    assert!(login["preferences"].is_object(), "{login}");
    assert!(login["user"].get("password_hash").is_none(), "no hash leaks: {login}");

    let me = client.get("/api/v1/me").await.ok();
    assert_eq!(me["user"]["email"], ADMIN_EMAIL);
    assert_eq!(me["user"]["name"], "Ada Admin");
    assert_eq!(me["user"]["active"], true);
    assert_eq!(me["csrf_token"], login["csrf_token"], "the token is the session's");
    // Each session has its own CSRF token.
    assert_ne!(me["csrf_token"].as_str(), admin.csrf.as_deref());
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_strict() {
    let app = spawn_app().await;
    app.admin().await;
    let res = raw_login(&app, ADMIN_EMAIL, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    let set = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("rapport_session="))
        .expect("a session cookie");
    let lower = set.to_ascii_lowercase();
    assert!(lower.contains("httponly"), "{set}");
    assert!(lower.contains("samesite=strict"), "{set}");
    assert!(lower.contains("path=/"), "{set}");
}

#[tokio::test]
async fn a_wrong_password_is_refused_with_invalid_credentials() {
    let app = spawn_app().await;
    app.admin().await;
    let client = app.client();
    client.login(ADMIN_EMAIL, "not the password").await.expect(401, "invalid_credentials");
    client.get("/api/v1/me").await.expect(401, "unauthenticated");
}

#[tokio::test]
async fn an_unknown_email_gets_the_same_answer_as_a_wrong_password() {
    let app = spawn_app().await;
    app.admin().await;
    let wrong_password = app.client().login(ADMIN_EMAIL, "not the password").await.expect(401, "invalid_credentials");
    let unknown = app.client().login("nobody@example.com", PASSWORD).await.expect(401, "invalid_credentials");
    assert_eq!(wrong_password, unknown, "the answer does not tell who has an account");
}

#[tokio::test]
async fn logout_ends_the_session_on_the_server() {
    let app = spawn_app().await;
    app.admin().await;
    let res = raw_login(&app, ADMIN_EMAIL, PASSWORD).await;
    let cookie = session_cookie(&res).expect("a session cookie");
    let csrf = answer(res).await.ok()["csrf_token"].as_str().unwrap().to_owned();
    let http = reqwest::Client::new();
    let me = || http.get(format!("{}/api/v1/me", app.base)).header(COOKIE, format!("rapport_session={cookie}"));
    assert_eq!(me().send().await.unwrap().status(), StatusCode::OK);

    let out = http
        .post(format!("{}/api/v1/auth/logout", app.base))
        .header(COOKIE, format!("rapport_session={cookie}"))
        .header("X-CSRF-Token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let removal = out.headers().get_all(SET_COOKIE).iter().any(|v| v.to_str().unwrap().starts_with("rapport_session="));
    assert!(removal && session_cookie(&out).is_none(), "the cookie is removed: {:?}", out.headers());
    // Replaying the old cookie does not work: the session is gone on the server, not only in the jar.
    answer(me().send().await.unwrap()).await.expect(401, "unauthenticated");
}

#[tokio::test]
async fn logout_through_the_client_makes_me_answer_unauthenticated() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let out = admin.send(Method::POST, "/api/v1/auth/logout", None).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    admin.get("/api/v1/me").await.expect(401, "unauthenticated");
    assert_eq!(app.count("sessions").await, 0);
}

#[tokio::test]
async fn a_cookie_session_without_the_csrf_header_cannot_change_anything() {
    let app = spawn_app().await;
    let mut admin = app.admin().await;
    let csrf = admin.csrf.take().unwrap();
    let (projects, customers, tokens) =
        (app.count("projects").await, app.count("customers").await, app.count("api_tokens").await);

    admin.post("/api/v1/projects", json!({"name": "Sneaky"})).await.expect(403, "csrf_token_invalid");
    admin.post("/api/v1/customers", json!({"name": "Sneaky"})).await.expect(403, "csrf_token_invalid");
    admin.post("/api/v1/tokens", json!({"name": "sneaky"})).await.expect(403, "csrf_token_invalid");
    admin
        .send(
            Method::PUT,
            "/api/v1/me/preferences",
            Some(json!({"see_all_projects": true, "hide_from_customers": true,
            "notify_customer_replies": "none", "notify_internal": false, "sound": false, "email_fallback": false})),
        )
        .await
        .expect(403, "csrf_token_invalid");
    // A wrong token is as good as none.
    admin.csrf = Some(format!("{}x", &csrf[..csrf.len() - 1]));
    admin.post("/api/v1/projects", json!({"name": "Sneaky"})).await.expect(403, "csrf_token_invalid");
    // Logging out is a state change too.
    admin.send(Method::POST, "/api/v1/auth/logout", None).await.expect(403, "csrf_token_invalid");

    assert_eq!(app.count("projects").await, projects);
    assert_eq!(app.count("customers").await, customers);
    assert_eq!(app.count("api_tokens").await, tokens);
    // Reading needs no token, and the session is still alive.
    admin.csrf = None;
    assert_eq!(admin.get("/api/v1/me").await.ok()["preferences"]["sound"], true);
    admin.csrf = Some(csrf);
    admin.post("/api/v1/projects", json!({"name": "Fine"})).await.ok();
    assert_eq!(app.count("projects").await, projects + 1);
}

/// A missing CSRF token or a missing role is settled before the body is looked at, so a
/// refused caller gets the same 403 whatever they sent.
#[tokio::test]
async fn a_refused_caller_gets_the_403_even_with_an_invalid_body() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (agent, _) = app.agent(&admin, "b@example.com").await;
    let before = (app.count("projects").await, app.count("users").await);
    let mut no_csrf = app.logged_in(ADMIN_EMAIL).await;
    no_csrf.csrf = None;
    let mut wrong = Vec::new();
    for (who, client, code) in [("no csrf", &no_csrf, "csrf_token_invalid"), ("agent", &agent, "forbidden")] {
        for (path, body) in [
            ("/api/v1/projects", json!({"nom": "x"})),
            ("/api/v1/projects", json!({"name": 5})),
            ("/api/v1/users", json!({"email": "c@example.com"})),
        ] {
            let got = client.post(path, body.clone()).await;
            if got.status != StatusCode::FORBIDDEN || got.code() != code {
                wrong.push(format!("{who}: POST {path} {body} -> {} {}", got.status.as_u16(), got.body));
            }
        }
    }
    assert!(wrong.is_empty(), "expected 403 for:\n{}", wrong.join("\n"));
    assert_eq!((app.count("projects").await, app.count("users").await), before);
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_from_that_address_until_the_window_passes() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_agent, _) = app.agent(&admin, "b@example.com").await;
    for _ in 0..5 {
        app.client().login(ADMIN_EMAIL, "not the password").await.expect(401, "invalid_credentials");
    }
    // Even the right password is refused now from this address, with a hint when to come back.
    let res = raw_login(&app, ADMIN_EMAIL, PASSWORD).await;
    assert_too_many(&res);
    assert!(session_cookie(&res).is_none(), "no session while locked");
    answer(res).await.expect(429, "too_many_login_attempts");
    // Changing the case of the email does not get around it.
    app.client().login("Admin@Example.COM", PASSWORD).await.expect(429, "too_many_login_attempts");
    // The lock is per account: another user on the same address logs in fine.
    app.client().login("b@example.com", PASSWORD).await.ok();
    // Sessions that already existed keep working.
    admin.get("/api/v1/me").await.ok();
    // So does the owner from elsewhere (see login_limits.rs for the whole design).
    let elsewhere = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", app.base))
        .header("x-forwarded-for", "192.0.2.10")
        .json(&json!({"email": ADMIN_EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::OK);

    app.clock.advance_ms(FIFTEEN_MINUTES_AND_A_BIT);
    let client = app.client();
    client.login(ADMIN_EMAIL, PASSWORD).await.ok();
    client.get("/api/v1/me").await.ok();
}

#[tokio::test]
async fn a_successful_login_resets_the_failure_count_of_the_account() {
    let app = spawn_app().await;
    app.admin().await;
    for _ in 0..4 {
        app.client().login(ADMIN_EMAIL, "not the password").await.expect(401, "invalid_credentials");
    }
    app.client().login(ADMIN_EMAIL, PASSWORD).await.ok();
    for _ in 0..4 {
        app.client().login(ADMIN_EMAIL, "not the password").await.expect(401, "invalid_credentials");
    }
    app.client().login(ADMIN_EMAIL, PASSWORD).await.ok();
}

#[tokio::test]
async fn twenty_attempts_from_one_ip_block_further_logins_from_it() {
    let app = spawn_app().await;
    admin_without_logging_in(&app).await;
    // Twenty attempts spread over different accounts, so no single account is locked.
    let attempts = (0..20).map(|i| {
        let client = app.client();
        async move { client.login(&format!("guess{i}@example.com"), "not the password").await }
    });
    for answer in futures_util::future::join_all(attempts).await {
        answer.expect(401, "invalid_credentials");
    }
    let res = raw_login(&app, ADMIN_EMAIL, PASSWORD).await;
    assert_too_many(&res);
    answer(res).await.expect(429, "too_many_login_attempts");
    app.client().login("guess0@example.com", "not the password").await.expect(429, "too_many_login_attempts");

    app.clock.advance_ms(FIFTEEN_MINUTES_AND_A_BIT);
    let client = app.client();
    client.login(ADMIN_EMAIL, PASSWORD).await.ok();
    assert_eq!(client.get("/api/v1/me").await.ok()["user"]["email"], ADMIN_EMAIL);
}

#[tokio::test]
async fn an_api_token_works_without_csrf_until_it_is_revoked() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let created = admin.post("/api/v1/tokens", json!({"name": "CI"})).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let created = created.body;
    let secret = created["secret"].as_str().expect("the secret is shown once").to_owned();
    let id = created["id"].as_i64().unwrap();
    assert!(secret.starts_with("rpt_"), "{secret}");
    assert_eq!(created["name"], "CI");

    // Listing shows the token but never its secret again.
    let listed = admin.get("/api/v1/tokens").await.ok();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], id);
    assert!(!listed.to_string().contains(&secret), "{listed}");

    let bot = admin.with_bearer(&secret);
    let me = bot.get("/api/v1/me").await.ok();
    assert_eq!(me["user"]["email"], ADMIN_EMAIL);
    assert!(me["csrf_token"].is_null(), "a token caller has no CSRF token: {me}");
    // A state change with a bearer token needs no CSRF header.
    let project = bot.post("/api/v1/projects", json!({"name": "Via token"})).await;
    assert_eq!(project.status, StatusCode::CREATED, "{}", project.body);
    assert_eq!(app.count("projects").await, 2, "the fresh install's Support and this one");

    let revoked = admin.delete(&format!("/api/v1/tokens/{id}")).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    bot.get("/api/v1/me").await.expect(401, "unauthenticated");
    bot.post("/api/v1/projects", json!({"name": "After revoke"})).await.expect(401, "unauthenticated");
    assert_eq!(app.count("projects").await, 2);
    // Revoking twice, or someone else's token, is a 404.
    admin.delete(&format!("/api/v1/tokens/{id}")).await.expect(404, "token_not_found");
}

#[tokio::test]
async fn an_agent_cannot_revoke_someone_elses_token() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (agent, _) = app.agent(&admin, "b@example.com").await;
    let created = admin.post("/api/v1/tokens", json!({"name": "CI"})).await.ok();
    let id = created["id"].as_i64().unwrap();
    agent.delete(&format!("/api/v1/tokens/{id}")).await.expect(404, "token_not_found");
    assert!(agent.get("/api/v1/tokens").await.ok().as_array().unwrap().is_empty());
    admin.with_bearer(created["secret"].as_str().unwrap()).get("/api/v1/me").await.ok();
}

#[tokio::test]
async fn a_deactivated_agent_is_locked_out_of_cookie_and_token_access() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (agent, agent_id) = app.agent(&admin, "b@example.com").await;
    let secret =
        agent.post("/api/v1/tokens", json!({"name": "laptop"})).await.ok()["secret"].as_str().unwrap().to_owned();
    let bot = agent.with_bearer(&secret);
    agent.get("/api/v1/me").await.ok();
    bot.get("/api/v1/me").await.ok();

    let changed =
        admin.send(Method::PATCH, &format!("/api/v1/users/{agent_id}"), Some(json!({"active": false}))).await.ok();
    assert_eq!(changed["active"], false);

    agent.get("/api/v1/me").await.expect(401, "unauthenticated");
    bot.get("/api/v1/me").await.expect(401, "unauthenticated");
    bot.post("/api/v1/customers", json!({"name": "Late"})).await.expect(401, "unauthenticated");
    assert_eq!(app.count("customers").await, 0);
    app.client().login("b@example.com", PASSWORD).await.expect(401, "invalid_credentials");

    // Reactivated, the agent can log in again (old sessions stay ended).
    admin.send(Method::PATCH, &format!("/api/v1/users/{agent_id}"), Some(json!({"active": true}))).await.ok();
    agent.get("/api/v1/me").await.expect(401, "unauthenticated");
    app.logged_in("b@example.com").await.get("/api/v1/me").await.ok();
}

#[tokio::test]
async fn an_agent_cannot_create_users_or_projects_or_change_users() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (agent, agent_id) = app.agent(&admin, "b@example.com").await;
    let admin_id = my_id(&admin).await;
    let (users, projects) = (app.count("users").await, app.count("projects").await);

    agent
        .post("/api/v1/users", json!({"email": "c@example.com", "name": "C", "role": "admin", "password": PASSWORD}))
        .await
        .expect(403, "forbidden");
    agent.post("/api/v1/projects", json!({"name": "Mine"})).await.expect(403, "forbidden");
    agent
        .send(Method::PATCH, &format!("/api/v1/users/{agent_id}"), Some(json!({"role": "admin"})))
        .await
        .expect(403, "forbidden");
    agent
        .send(Method::PATCH, &format!("/api/v1/users/{admin_id}"), Some(json!({"active": false})))
        .await
        .expect(403, "forbidden");
    let project = admin.project("Billing").await;
    agent.put(&format!("/api/v1/projects/{project}/members/{agent_id}"), None).await.expect(403, "forbidden");

    assert_eq!(app.count("users").await, users);
    assert_eq!(app.count("projects").await, projects + 1);
    assert_eq!(app.count("project_members").await, 0);
    assert_eq!(agent.get("/api/v1/me").await.ok()["user"]["role"], "agent");
    // Agents may still do agent things.
    agent.post("/api/v1/customers", json!({"name": "Cus Tomer"})).await.ok();
}

#[tokio::test]
async fn the_last_admin_cannot_deactivate_or_demote_themselves() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let id = my_id(&admin).await;
    admin
        .send(Method::PATCH, &format!("/api/v1/users/{id}"), Some(json!({"active": false})))
        .await
        .expect(409, "last_admin");
    admin
        .send(Method::PATCH, &format!("/api/v1/users/{id}"), Some(json!({"role": "agent"})))
        .await
        .expect(409, "last_admin");
    // Nothing changed, and the admin is still logged in.
    let me = admin.get("/api/v1/me").await.ok();
    assert_eq!(me["user"]["role"], "admin");
    assert_eq!(me["user"]["active"], true);
    assert_eq!(app.count("sessions").await, 1);

    // With a second admin, the first may step down.
    admin
        .post(
            "/api/v1/users",
            json!({"email": "second@example.com", "name": "Second", "role": "admin", "password": PASSWORD}),
        )
        .await
        .ok();
    let changed = admin.send(Method::PATCH, &format!("/api/v1/users/{id}"), Some(json!({"role": "agent"}))).await.ok();
    assert_eq!(changed["role"], "agent");
}

/// The first-run app, built by hand to read its setup link.
struct FirstRun {
    base: String,
    token: String,
    store: rapport::store::Store,
    handle: actix_web::dev::ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn first_run(dir: &std::path::Path) -> (FirstRun, Option<String>) {
    let app = Application::build(crate::helpers::config_for(dir), Arc::new(ManualClock::new(1_800_000_000_000)))
        .await
        .expect("app starts");
    let setup_url = app.setup_url().map(str::to_owned);
    let token =
        setup_url.as_deref().and_then(|u| u.split_once("/setup?token=")).map(|(_, t)| t.to_owned()).unwrap_or_default();
    let base = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    let store = app.store();
    let task = tokio::spawn(app.run_until_stopped());
    (FirstRun { base, token, store, handle, task }, setup_url)
}

impl FirstRun {
    async fn users(&self) -> i64 {
        self.store.probe("SELECT count(*) FROM users".into()).await.unwrap().unwrap()
    }

    fn database(&self) -> rapport::store::Location {
        self.store.location().clone()
    }

    async fn stop(self) {
        self.handle.stop(true).await;
        self.task.await.expect("server task").expect("server ran");
    }
}

async fn text(res: reqwest::Response) -> (StatusCode, String, String) {
    let status = res.status();
    let ctype = res.headers().get(CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, ctype, res.text().await.unwrap())
}

#[tokio::test]
async fn the_first_run_setup_link_creates_the_first_admin_once() {
    let dir = tempfile::tempdir().unwrap();
    let (app, setup_url) = first_run(dir.path()).await;
    let setup_url = setup_url.expect("a fresh server offers a setup link");
    assert!(setup_url.contains("/setup?token="), "{setup_url}");
    assert!(app.token.len() >= 32, "{setup_url}");
    let browser = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let setup = format!("{}/setup", app.base);

    // The link shows a form that carries the token.
    let (status, ctype, html) = text(browser.get(&setup).query(&[("token", &app.token)]).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert!(html.contains("<form") && html.contains("name=password") && html.contains(&app.token), "{html}");

    // A wrong or missing token shows nothing useful.
    let (status, _, html) = text(browser.get(&setup).query(&[("token", "wrong")]).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(!html.contains("<form"), "{html}");
    assert_eq!(browser.get(&setup).send().await.unwrap().status(), StatusCode::GONE);
    let (status, _, _) = text(
        browser
            .post(&setup)
            .form(&[
                ("token", "wrong"),
                ("name", "Eve"),
                ("email", "eve@example.com"),
                ("password", "long enough pass"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(app.users().await, 0);

    // A weak password re-shows the form, keeps what was typed (escaped), and creates nothing.
    let (status, ctype, html) = text(
        browser
            .post(&setup)
            .form(&[
                ("token", app.token.as_str()),
                ("name", "Ada <b>Admin</b>"),
                ("email", "ada@example.com"),
                ("password", "short"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert!(html.contains("<form") && html.contains("8 characters"), "{html}");
    assert!(html.contains("ada@example.com") && html.contains("Ada &lt;b&gt;Admin&lt;/b&gt;"), "{html}");
    assert!(!html.contains("<b>Admin"), "user text is never markup: {html}");
    assert_eq!(app.users().await, 0);

    // The real thing: an admin, and a logged-in browser.
    let res = browser
        .post(&setup)
        .form(&[
            ("token", app.token.as_str()),
            ("name", "Ada Admin"),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert!(session_cookie(&res).is_some(), "a session cookie is set");
    let (status, ctype, html) = text(res).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert!(html.contains("Ada Admin"), "{html}");
    assert_eq!(app.users().await, 1);
    let me = answer(browser.get(format!("{}/api/v1/me", app.base)).send().await.unwrap()).await.ok();
    assert_eq!(me["user"]["email"], "ada@example.com");
    assert_eq!(me["user"]["role"], "admin");
    assert!(me["csrf_token"].is_string(), "{me}");

    // The link is spent.
    assert_eq!(browser.get(&setup).query(&[("token", &app.token)]).send().await.unwrap().status(), StatusCode::GONE);
    let again = browser
        .post(&setup)
        .form(&[("token", app.token.as_str()), ("name", "Eve"), ("email", "eve@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::GONE);
    assert!(session_cookie(&again).is_none());
    assert_eq!(app.users().await, 1);

    // After a restart there is an admin, so no link at all.
    app.stop().await;
    let (app, setup_url) = first_run(dir.path()).await;
    assert_eq!(setup_url, None);
    assert_eq!(
        reqwest::get(format!("{}/setup?token={}", app.base, app.token)).await.unwrap().status(),
        StatusCode::GONE
    );
    app.stop().await;
}

#[tokio::test]
async fn setup_page_after_the_first_admin_offers_sign_in_not_the_form() {
    let dir = tempfile::tempdir().unwrap();
    let (app, setup_url) = first_run(dir.path()).await;
    assert!(setup_url.is_some(), "a fresh server offers a setup link");
    let setup = format!("{}/setup", app.base);
    // A wrong link, while there is no admin yet, says so and offers nothing.
    let (status, _, html) = text(reqwest::get(format!("{setup}?token=wrong")).await.unwrap()).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("not valid") && !html.contains("<form") && !html.contains("Sign in"), "{html}");

    // The admin is made on the command line while the link is out.
    let password = rapport::domain::Password::parse(rapport::domain::Secret::new(PASSWORD)).unwrap();
    rapport::cli::admin::create(&app.database(), "cli@example.com", "Cli Admin", password).await.unwrap();
    for url in [format!("{setup}?token={}", app.token), setup.clone(), format!("{setup}?token=wrong")] {
        let (status, ctype, html) = text(reqwest::get(&url).await.unwrap()).await;
        assert_eq!(status, StatusCode::GONE, "{url}");
        assert!(ctype.starts_with("text/html"), "{ctype}");
        assert!(html.contains("Setup is done") && html.contains("<a href=/app/>Sign in</a>"), "{url}: {html}");
        assert!(!html.contains("<form") && !html.contains("password") && !html.contains(&app.token), "{url}: {html}");
    }
    // Posting the link's form (kept open in a browser tab) is refused the same way.
    let posted = reqwest::Client::new()
        .post(&setup)
        .form(&[("token", app.token.as_str()), ("name", "Eve"), ("email", "eve@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(session_cookie(&posted).is_none());
    let (status, _, html) = text(posted).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("Setup is done") && html.contains("<a href=/app/>Sign in</a>"), "{html}");
    assert_eq!(app.users().await, 1);
    app.stop().await;
}

#[tokio::test]
async fn an_app_with_an_admin_offers_no_setup_link() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_at(dir.path()).await;
    admin_without_logging_in(&app).await;
    app.stop().await;
    let (again, setup_url) = first_run(dir.path()).await;
    assert_eq!(setup_url, None);
    again.stop().await;
}

#[tokio::test]
async fn preferences_round_trip_and_unknown_fields_are_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let defaults = admin.get("/api/v1/me/preferences").await.ok();
    assert_eq!(
        defaults,
        json!({"see_all_projects": false, "hide_from_customers": false, "notify_customer_replies": "both",
               "notify_internal": true, "sound": true, "email_fallback": true})
    );
    let wanted = json!({"see_all_projects": true, "hide_from_customers": true, "notify_customer_replies": "customers",
                        "notify_internal": false, "sound": false, "email_fallback": false});
    assert_eq!(admin.put("/api/v1/me/preferences", Some(wanted.clone())).await.ok(), wanted);
    assert_eq!(admin.get("/api/v1/me/preferences").await.ok(), wanted);
    assert_eq!(admin.get("/api/v1/me").await.ok()["preferences"], wanted);

    let mut unknown = wanted.clone();
    unknown["dark_mode"] = json!(true);
    unknown["sound"] = json!(true);
    let refused = admin.put("/api/v1/me/preferences", Some(unknown)).await.expect(422, "invalid_field");
    assert!(refused["error"]["message"].as_str().unwrap().contains("dark_mode"), "{refused}");
    admin.put("/api/v1/me/preferences", Some(json!({"sound": true}))).await.expect(422, "invalid_field");
    let mut bad_word = wanted.clone();
    bad_word["notify_customer_replies"] = json!("sometimes");
    admin.put("/api/v1/me/preferences", Some(bad_word)).await.expect(422, "invalid_field");
    assert_eq!(admin.get("/api/v1/me/preferences").await.ok(), wanted, "failed updates change nothing");

    // Preferences are per user.
    let (agent, _) = app.agent(&admin, "b@example.com").await;
    assert_eq!(agent.get("/api/v1/me/preferences").await.ok(), defaults);
}
