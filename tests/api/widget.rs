//! The customer widget's server side: visitors, verified identities, isolation between
//! visitors, and the size budget of what a site's visitors download.

use crate::helpers::*;
use rapport::domain::identity::{sign, SiteIdentity};
use reqwest::Method;
use serde_json::{json, Value};

pub fn signed(secret: &str, id: &str, email: &str, expires: i64) -> Value {
    let mut identity = SiteIdentity {
        id: id.into(),
        email: Some(email.into()),
        name: Some("Ann Site".into()),
        expires: Some(expires),
        signature: None,
    };
    identity.signature = Some(sign(secret, &identity));
    serde_json::to_value(json!({"id": identity.id, "email": identity.email, "name": identity.name,
        "expires": identity.expires, "signature": identity.signature}))
    .unwrap()
}

#[tokio::test]
async fn one_visitor_cannot_read_or_write_another_visitors_conversation() {
    let app = spawn_app().await;
    let (ann, _) = visitor(&app).await;
    let (eve, _) = visitor(&app).await;
    let created = as_visitor(
        &app,
        &ann,
        Method::POST,
        "/api/v1/widget/conversations",
        Some(json!({"message": {"body": "private"}})),
    )
    .await
    .ok();
    let id = created["conversation"]["id"].as_i64().unwrap();
    let mine =
        as_visitor(&app, &ann, Method::GET, &format!("/api/v1/widget/conversations/{id}/messages"), None).await.ok();
    assert_eq!(mine[0]["body"], "private");
    as_visitor(&app, &eve, Method::GET, &format!("/api/v1/widget/conversations/{id}/messages"), None)
        .await
        .expect(404, "conversation_not_found");
    as_visitor(
        &app,
        &eve,
        Method::POST,
        &format!("/api/v1/widget/conversations/{id}/messages"),
        Some(json!({"body": "x"})),
    )
    .await
    .expect(404, "conversation_not_found");
    assert!(as_visitor(&app, &eve, Method::GET, "/api/v1/widget/conversations", None)
        .await
        .ok()
        .as_array()
        .unwrap()
        .is_empty());
    as_visitor(&app, "rpv_forged", Method::GET, "/api/v1/widget/conversations", None)
        .await
        .expect(401, "unauthenticated");
}

#[tokio::test]
async fn a_signed_identity_joins_the_visitor_to_the_customer_and_forged_altered_or_expired_ones_are_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let secret = admin.get("/api/v1/settings/widget").await.ok()["identity_secret"].as_str().unwrap().to_owned();
    let now = app.clock.now_secs();
    let (token, anonymous) = visitor(&app).await;
    as_visitor(
        &app,
        &token,
        Method::POST,
        "/api/v1/widget/conversations",
        Some(json!({"message": {"body": "before login"}})),
    )
    .await
    .ok();

    let forged = signed("not-the-secret-at-all", "42", "ann@example.com", now + 600);
    as_visitor(&app, &token, Method::POST, "/api/v1/widget/identify", Some(json!({"user": forged})))
        .await
        .expect(422, "identity_signature_invalid");
    let mut altered = signed(&secret, "42", "ann@example.com", now + 600);
    altered["id"] = json!("43");
    as_visitor(&app, &token, Method::POST, "/api/v1/widget/identify", Some(json!({"user": altered})))
        .await
        .expect(422, "identity_signature_invalid");
    let expired = signed(&secret, "42", "ann@example.com", now - 1);
    as_visitor(&app, &token, Method::POST, "/api/v1/widget/identify", Some(json!({"user": expired})))
        .await
        .expect(422, "identity_expired");
    assert_eq!(app.count("customers WHERE external_id IS NOT NULL").await, 0, "nothing was identified");

    let good = signed(&secret, "42", "ann@example.com", now + 600);
    let customer =
        as_visitor(&app, &token, Method::POST, "/api/v1/widget/identify", Some(json!({"user": good}))).await.ok();
    assert_eq!(customer["external_id"], "42");
    assert_eq!(customer["email"], "ann@example.com");
    // A second browser identified as the same user sees the same history.
    let (other_browser, _) = visitor(&app).await;
    let again = signed(&secret, "42", "ann@example.com", now + 600);
    let same = as_visitor(&app, &other_browser, Method::POST, "/api/v1/widget/identify", Some(json!({"user": again})))
        .await
        .ok();
    assert_eq!(same["id"], customer["id"]);
    let conversations = as_visitor(&app, &other_browser, Method::GET, "/api/v1/widget/conversations", None).await.ok();
    assert_eq!(conversations.as_array().unwrap().len(), 1);
    let _ = anonymous;
}

#[tokio::test]
async fn with_verification_on_an_unsigned_identity_is_refused_but_contact_details_are_kept() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut settings = admin.get("/api/v1/settings/widget").await.ok();
    settings["require_verification"] = json!(true);
    admin.put("/api/v1/settings/widget", Some(settings)).await.ok();
    let (token, _) = visitor(&app).await;
    let unsigned = json!({"id": "42", "email": "ann@example.com", "name": "Ann"});
    as_visitor(&app, &token, Method::POST, "/api/v1/widget/identify", Some(json!({"user": unsigned})))
        .await
        .expect(422, "identity_unsigned");
    // What a visitor types about themselves is contact information, never an identity.
    let me = as_visitor(
        &app,
        &token,
        Method::POST,
        "/api/v1/widget/identify",
        Some(json!({"name": "Ann", "email": "ann@example.com"})),
    )
    .await
    .ok();
    assert_eq!(me["contact_email"], "ann@example.com");
    assert!(me["email"].is_null());
    assert_eq!(me["known"], true);
}

#[tokio::test]
async fn the_widget_stays_within_its_size_budget() {
    let app = spawn_app().await;
    let gz = |path: &'static str| {
        let client = app.client();
        async move {
            let res = client.request(Method::GET, path).header("accept-encoding", "gzip").send().await.unwrap();
            assert_eq!(res.status(), 200, "{path}");
            assert_eq!(res.headers()["content-encoding"], "gzip", "{path} is served compressed");
            res.bytes().await.unwrap().len()
        }
    };
    let loader = gz("/widget.js").await;
    // Every page view of the team's site pays this: the launcher and the preview of a reply.
    assert!(loader <= 4096, "widget.js is {loader} bytes gzipped; the budget is 4 KB");
    let frame_html = app.client().get("/widget/frame").await.body.as_str().unwrap().to_owned();
    let mut panel = loader + gz("/widget/frame").await;
    // Everything the panel's page loads before anyone types: its styles and every module, as
    // the frame names them (each module it imports is preloaded there).
    let assets: Vec<&str> = frame_html
        .match_indices("\"/assets/")
        .map(|(at, _)| frame_html[at + 1..].split(['?', '"']).next().unwrap())
        .collect();
    for asset in ["shared/ui.css", "shared/people.js", "shared/files.js", "widget/panel.js", "widget/chat.js"] {
        assert!(assets.contains(&format!("/assets/{asset}").as_str()), "the frame loads /assets/{asset}: {assets:?}");
    }
    for path in assets {
        let path: &'static str = Box::leak(path.to_owned().into_boxed_str());
        panel += gz(path).await;
    }
    let config =
        app.client().request(Method::GET, "/api/v1/widget/config").send().await.unwrap().bytes().await.unwrap().len();
    panel += config;
    assert!(panel <= 30 * 1024, "the panel loads {panel} bytes gzipped before the customer types; the budget is 30 KB");
}

#[tokio::test]
async fn versioned_assets_are_cached_for_a_year_and_revalidate_by_etag() {
    let app = spawn_app().await;
    let html = app.client().get("/widget/frame").await.body.as_str().unwrap().to_owned();
    let start = html.find("/assets/widget/panel.js?v=").unwrap();
    let url = &html[start..html[start..].find('"').unwrap() + start];
    let res = app.client().request(Method::GET, url).send().await.unwrap();
    assert_eq!(res.headers()["cache-control"], "public, max-age=31536000, immutable");
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let again = app.client().request(Method::GET, "/widget.js").send().await.unwrap();
    assert_eq!(again.headers()["cache-control"], "public, max-age=300");
    let tag = again.headers()["etag"].to_str().unwrap().to_owned();
    let not_modified =
        app.client().request(Method::GET, "/widget.js").header("if-none-match", tag).send().await.unwrap();
    assert_eq!(not_modified.status(), 304);
    assert_ne!(etag, "");
}

/// The relative module specifiers a script imports (`from "./x.js"`, `import("../y.js")`).
fn imports_of(script: &str) -> Vec<String> {
    script
        .lines()
        .filter(|l| l.contains("import") || l.contains("from"))
        .flat_map(|l| l.split(['"', '\'']).skip(1).step_by(2).map(str::to_owned).collect::<Vec<_>>())
        .filter(|s| (s.starts_with("./") || s.starts_with("../")) && s.contains(".js"))
        .collect()
}

/// `spec` relative to the module at `base` (a path, with or without a query).
fn resolve(base: &str, spec: &str) -> String {
    let mut parts: Vec<&str> = base.split('?').next().unwrap().split('/').collect();
    parts.pop();
    for segment in spec.split('/') {
        match segment {
            "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

#[tokio::test]
async fn every_module_a_page_loads_is_cached_for_a_year_with_all_it_imports() {
    let app = spawn_app().await;
    let mut seen = std::collections::HashSet::new();
    for page in ["/app/", "/widget/frame", "/portal/", "/forms/any"] {
        let html = app.client().get(page).await.body.as_str().unwrap().to_owned();
        let mut queue: Vec<String> =
            html.split('"').filter(|s| s.starts_with("/assets/") && s.contains(".js?v=")).map(str::to_owned).collect();
        assert!(!queue.is_empty(), "{page} loads a module");
        let version = queue[0].split("?v=").nth(1).unwrap().to_owned();
        while let Some(url) = queue.pop() {
            if !seen.insert(url.clone()) {
                continue;
            }
            let res = app.client().request(Method::GET, &url).send().await.unwrap();
            assert_eq!(res.status(), 200, "{url}");
            assert_eq!(res.headers()["cache-control"], "public, max-age=31536000, immutable", "{url}");
            let etag = res.headers()["etag"].to_str().unwrap().to_owned();
            let script = res.text().await.unwrap();
            for spec in imports_of(&script) {
                assert!(spec.ends_with(&format!(".js?v={version}")), "{url} imports {spec} at the page's version");
                queue.push(resolve(&url, &spec));
            }
            let again = app.client().request(Method::GET, &url).header("if-none-match", etag).send().await.unwrap();
            assert_eq!(again.status(), 304, "{url} revalidates by its own ETag");
        }
    }
    assert!(seen.iter().any(|u| u.starts_with("/assets/app/api.js?v=")), "the app's modules are followed: {seen:?}");
    // Asked for without the version, a module is the file as it is, revalidated every time.
    let plain = app.client().request(Method::GET, "/assets/app/main.js").send().await.unwrap();
    assert_eq!(plain.headers()["cache-control"], "no-cache");
    assert!(!plain.text().await.unwrap().contains(".js?v="));
}

#[tokio::test]
async fn anonymous_endpoints_are_rate_limited_per_ip() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::helpers::config_for(dir.path());
    config.visitor_limit = 3;
    let app = spawn_with(config).await;
    for _ in 0..3 {
        app.client().post("/api/v1/widget/visitors", json!({})).await.ok();
    }
    app.client().post("/api/v1/widget/visitors", json!({})).await.expect(429, "too_many_visitors");
    app.clock.advance_ms(11 * 60 * 1000);
    app.client().post("/api/v1/widget/visitors", json!({})).await.ok();
}

#[tokio::test]
async fn the_auto_responder_answers_a_new_customer_conversation_and_can_be_changed_or_turned_off() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (token, _) = visitor(&app).await;
    let start = |body: &'static str| {
        let token = token.clone();
        let app = &app;
        async move {
            as_visitor(
                app,
                &token,
                Method::POST,
                "/api/v1/widget/conversations",
                Some(json!({"message": {"body": body}})),
            )
            .await
            .ok()
        }
    };
    let first = start("hello").await;
    assert_eq!(first["auto_reply"]["author"]["kind"], "bot");
    assert_eq!(first["auto_reply"]["seq"], 2);
    let id = first["conversation"]["id"].as_i64().unwrap();
    let seen =
        as_visitor(&app, &token, Method::GET, &format!("/api/v1/widget/conversations/{id}/messages"), None).await.ok();
    assert_eq!(seen.as_array().unwrap().len(), 2, "the customer sees the bot's reply");

    // The auto-responder is a rule: its text and switch apply to the next conversation.
    admin.change_rule("auto_reply", json!({"actions": [{"kind": "bot_reply", "text": "Back in a jiffy"}]})).await;
    assert_eq!(start("again").await["auto_reply"]["body"], "Back in a jiffy");
    admin.change_rule("auto_reply", json!({"enabled": false})).await;
    assert!(start("third").await["auto_reply"].is_null());
    // Agents starting a conversation get no bot reply.
    admin.change_rule("auto_reply", json!({"enabled": true})).await;
    let by_agent = admin.post("/api/v1/conversations", json!({"kind": "public", "message": {"body": "hi"}})).await.ok();
    assert!(by_agent["auto_reply"].is_null());
}

#[tokio::test]
async fn the_widget_frame_revalidates_by_etag_and_changes_with_the_allowed_sites() {
    let app = spawn_app().await;
    let first = app.client().request(Method::GET, "/widget/frame").send().await.unwrap();
    assert_eq!(first.headers()["cache-control"], "no-cache");
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let again = app.client().request(Method::GET, "/widget/frame").header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
    assert!(again.bytes().await.unwrap().is_empty());

    // Allowing sites changes the page's CSP, so the cached copy must not be reused.
    let admin = app.admin().await;
    let mut settings = admin.get("/api/v1/settings/widget").await.ok();
    settings["allowed_origins"] = json!(["https://shop.example.com"]);
    admin.put("/api/v1/settings/widget", Some(settings)).await.ok();
    let changed =
        app.client().request(Method::GET, "/widget/frame").header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);
    assert!(changed.headers()["content-security-policy"].to_str().unwrap().contains("https://shop.example.com"));
}

#[tokio::test]
async fn the_loader_carries_the_admins_launcher_settings_and_allowed_sites() {
    let app = spawn_app().await;
    let first = app.client().request(Method::GET, "/widget.js").send().await.unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let body = first.text().await.unwrap();
    assert!(body.contains(r##"{"allowed":[],"color":"#2b6cb0","position":"right"}"##), "{body}");

    let admin = app.admin().await;
    let mut settings = admin.get("/api/v1/settings/widget").await.ok();
    settings["allowed_origins"] = json!(["https://shop.example.com"]);
    settings["color"] = json!("#d53f8c");
    settings["position"] = json!("left");
    admin.put("/api/v1/settings/widget", Some(settings)).await.ok();
    let changed = app.client().request(Method::GET, "/widget.js").header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(changed.status(), 200, "a loader cached before the change is not reused");
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(changed.headers()["access-control-allow-origin"], "*");
    let body = changed.text().await.unwrap();
    assert!(
        body.contains(r##"{"allowed":["https://shop.example.com"],"color":"#d53f8c","position":"left"}"##),
        "{body}"
    );
}

#[tokio::test]
async fn the_widgets_list_gives_each_conversation_its_preview_face_and_unread_replies_and_never_an_internal_message() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (token, customer) = visitor(&app).await;
    let list = || as_visitor(&app, &token, Method::GET, "/api/v1/widget/conversations", None);
    let started = as_visitor(
        &app,
        &token,
        Method::POST,
        "/api/v1/widget/conversations",
        Some(json!({"message": {"body": "Where is my parcel?"}})),
    )
    .await
    .ok();
    let chat = started["conversation"]["id"].as_i64().unwrap();
    // The bot's auto-reply is the newest: its face has no name of its own here.
    let rows = list().await.ok();
    assert_eq!(rows[0]["face"]["kind"], "bot");
    assert_eq!(rows[0]["preview"]["author_kind"], "bot");
    assert_eq!(rows[0]["replies_unread"], 1);

    app.clock.advance_ms(60_000);
    admin.say(chat, "It left our warehouse today.").await.ok();
    app.clock.advance_ms(60_000);
    // A ticket of this customer with a public conversation and, newer still, an internal one.
    let project = admin.project("Support").await;
    let item = admin.item(project, "Parcel", Some(customer)).await;
    let public = admin
        .conversation(
            json!({"kind": "public", "item_id": item, "customer_id": customer, "message": {"body": "We opened a ticket."}}),
        )
        .await;
    let internal = admin
        .conversation(json!({"kind": "internal", "item_id": item, "message": {"body": "secret: refund them quietly"}}))
        .await;
    admin.say(internal, "secret: and mark them as difficult").await.ok();

    let rows = list().await.ok();
    let text = rows.to_string();
    assert!(!text.contains("secret"), "an internal message reached a customer's list: {text}");
    let ids: Vec<i64> = rows.as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![public, chat], "newest first, and only the customer's own public conversations");
    assert_eq!(rows[0]["preview"]["body"], "We opened a ticket.");
    assert_eq!(rows[1]["preview"]["body"], "It left our warehouse today.");
    assert_eq!(rows[1]["preview"]["author_kind"], "user");
    assert_eq!(rows[1]["face"]["kind"], "user");
    assert_eq!(rows[1]["face"]["name"], "Ada Admin");
    assert_eq!(rows[1]["replies_unread"], 2, "the bot's reply and the agent's");

    // Seen, the replies are no longer unread; the customer's own message never counts.
    as_visitor(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/widget/conversations/{chat}/seen"),
        Some(json!({"seq": 3})),
    )
    .await
    .ok();
    as_visitor(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/widget/conversations/{chat}/messages"),
        Some(json!({"body": "Thanks! Can I follow it somewhere?"})),
    )
    .await
    .ok();
    let rows = list().await.ok();
    let row = rows.as_array().unwrap().iter().find(|r| r["id"] == chat).unwrap();
    assert_eq!(row["replies_unread"], 0);
    assert_eq!(row["preview"]["author_kind"], "customer");
    assert_eq!(row["face"]["kind"], "user", "the face stays the team's");
    // A long message is shortened for the row.
    app.clock.advance_ms(60_000);
    admin.say(chat, &"long ".repeat(100)).await.ok();
    let rows = list().await.ok();
    assert_eq!(rows[0]["id"], chat, "the newest activity comes first");
    assert_eq!(rows[0]["preview"]["body"].as_str().unwrap().chars().count(), 140);
}
