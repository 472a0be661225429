//! API tokens end with the password that made them trustworthy, and admins can see and revoke
//! anyone's.

use crate::helpers::*;
use futures_util::{SinkExt, StreamExt};
use rapport::clock::Clock;
use rapport::domain::{Password, Secret};
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const NEW_PASSWORD: &str = "a brand new passphrase";

/// Opens the agents' socket with a bearer token; the HTTP status if refused.
async fn socket(
    app: &TestApp,
    token: &str,
) -> Result<tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>, u16> {
    let url = app.base.replace("http://", "ws://") + "/api/v1/socket";
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
        Err(e) => panic!("socket failed: {e}"),
    }
}

#[tokio::test]
async fn reset_password_ends_sessions_and_api_tokens() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (agent, agent_id) = app.agent(&admin, "b@example.com").await;
    let bot = agent.with_bearer(&agent.api_token().await);
    let other_bot = agent.with_bearer(&agent.api_token().await);
    bot.get("/api/v1/me").await.ok();
    let admins_bot = admin.with_bearer(&admin.api_token().await);

    let password = Password::parse(Secret::new(NEW_PASSWORD)).unwrap();
    let hasher = rapport::password::Hasher::default();
    let ended = rapport::cli::admin::reset_password(&hasher, &app.database(), "b@example.com", password).await.unwrap();
    assert_eq!((ended.sessions, ended.tokens), (1, 2));

    for client in [&agent, &bot, &other_bot] {
        client.get("/api/v1/me").await.expect(401, "unauthenticated");
    }
    assert!(admin.get(&format!("/api/v1/users/{agent_id}/tokens")).await.ok().as_array().unwrap().is_empty());
    app.client().login("b@example.com", PASSWORD).await.expect(401, "invalid_credentials");
    app.client().login("b@example.com", NEW_PASSWORD).await.ok();
    // Nobody else's access changed.
    admin.get("/api/v1/me").await.ok();
    admins_bot.get("/api/v1/me").await.ok();
}

#[tokio::test]
async fn an_admin_lists_and_revokes_another_users_tokens() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (agent, agent_id) = app.agent(&admin, "b@example.com").await;
    let ci = agent.post("/api/v1/tokens", json!({"name": "CI"})).await.ok();
    let laptop = agent.post("/api/v1/tokens", json!({"name": "laptop"})).await.ok();
    let (ci_secret, laptop_secret) = (ci["secret"].as_str().unwrap(), laptop["secret"].as_str().unwrap());
    agent.with_bearer(ci_secret).get("/api/v1/me").await.ok();

    // Listed with names and times, never secrets; the use is noted (off the request path).
    let path = format!("/api/v1/users/{agent_id}/tokens");
    let mut listed = admin.get(&path).await.ok();
    for _ in 0..50 {
        if !listed[0]["last_used_at"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        listed = admin.get(&path).await.ok();
    }
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    assert_eq!((listed[0]["name"].as_str(), listed[1]["name"].as_str()), (Some("CI"), Some("laptop")));
    assert_eq!(listed[0]["last_used_at"].as_i64(), Some(app.clock.now_ms()), "{listed}");
    assert!(listed[1]["last_used_at"].is_null() && listed[0]["created_at"].is_i64(), "{listed}");
    assert!(!listed.to_string().contains(ci_secret) && !listed.to_string().contains(laptop_secret));

    // Agents may not look at or revoke others' tokens; unknown ids are 404s.
    agent.get(&format!("/api/v1/users/{}/tokens", agent_id - 1)).await.expect(403, "forbidden");
    agent.delete(&format!("/api/v1/users/{agent_id}/tokens")).await.expect(403, "forbidden");
    admin.get("/api/v1/users/999/tokens").await.expect(404, "user_not_found");
    admin.delete("/api/v1/users/999/tokens").await.expect(404, "user_not_found");
    let admin_id = admin.get("/api/v1/me").await.ok()["user"]["id"].as_i64().unwrap();
    let ci_id = ci["id"].as_i64().unwrap();
    admin.delete(&format!("/api/v1/users/{admin_id}/tokens/{ci_id}")).await.expect(404, "token_not_found");

    // One token revoked: it stops working at once, the other goes on.
    let revoked = admin.delete(&format!("/api/v1/users/{agent_id}/tokens/{ci_id}")).await;
    assert_eq!(revoked.status.as_u16(), 204, "{:?}", revoked.body);
    agent.with_bearer(ci_secret).get("/api/v1/me").await.expect(401, "unauthenticated");
    agent.with_bearer(laptop_secret).get("/api/v1/me").await.ok();

    // All revoked: an open socket made with one is closed, and cannot come back.
    let mut live = socket(&app, laptop_secret).await.expect("socket opens");
    live.send(Message::text(json!({"type": "watch_inbox"}).to_string())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(admin.delete(&path).await.ok(), json!({"revoked": 1}));
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(frame)) = live.next().await {
            if let Message::Close(_) = frame {
                return;
            }
        }
    });
    closed.await.expect("the socket is closed");
    assert_eq!(socket(&app, laptop_secret).await.err(), Some(401));
    agent.with_bearer(laptop_secret).get("/api/v1/me").await.expect(401, "unauthenticated");
    // The agent's browser session is not a token: it goes on.
    agent.get("/api/v1/me").await.ok();
}
