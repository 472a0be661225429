//! One access authority, checked live: a change of rights takes effect on every open socket
//! at once, ids are never handed out twice, and a model-based run of random rights changes
//! checks that each socket gets exactly what its principal may read over REST at that moment.

use crate::helpers::*;
use crate::live::*;
use crate::widget::signed;
use reqwest::Method;
use serde_json::json;

/// The agents' app socket on a cookie session (from the app's own origin).
pub async fn connect_with_cookie(app: &TestApp, cookie: &str) -> Live {
    let ws = open(app, "/api/v1/socket", &[("cookie", cookie.to_owned()), ("origin", app.base.clone())], None)
        .await
        .expect("agent socket opens");
    Live::greeted(ws).await
}

/// A request on a cookie session.
pub async fn with_cookie(app: &TestApp, (cookie, csrf): &(String, String), method: Method, path: &str) -> Answer {
    let res = reqwest::Client::new()
        .request(method, format!("{}{path}", app.base))
        .header("cookie", cookie)
        .header("x-csrf-token", csrf)
        .send()
        .await
        .unwrap();
    answer(res).await
}

async fn widget_secret(admin: &Client) -> String {
    admin.get("/api/v1/settings/widget").await.ok()["identity_secret"].as_str().unwrap().to_owned()
}

/// A visitor's new conversation with one message; its id.
async fn visitor_conversation(app: &TestApp, token: &str, body: &str) -> i64 {
    as_visitor(app, token, Method::POST, "/api/v1/widget/conversations", Some(json!({"message": {"body": body}})))
        .await
        .ok()["conversation"]["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn a_visitor_merged_into_a_known_customer_leaves_its_old_id_and_that_id_is_never_handed_out_again() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let secret = widget_secret(&admin).await;
    let expires = app.clock.now_secs() + 3600;
    let identity = signed(&secret, "site-7", "mia@example.com", expires);
    let (known_token, _) = visitor(&app).await;
    let identify = json!({"user": identity});
    let known = as_visitor(&app, &known_token, Method::POST, "/api/v1/widget/identify", Some(identify.clone()))
        .await
        .ok()["id"]
        .as_i64()
        .unwrap();

    // The newest customer: a visitor with an open socket, who then signs in as the known one.
    let (token, merged_away) = visitor(&app).await;
    assert!(merged_away > known);
    let mut socket = connect_customer(&app, &token).await;
    let me = as_visitor(&app, &token, Method::POST, "/api/v1/widget/identify", Some(identify)).await.ok();
    assert_eq!(me["id"], known);
    assert_eq!(socket.close_code().await, Some(4409), "the socket was the old identity: it must reconnect");

    // A stranger arrives next and never gets the merged-away id.
    let (stranger, stranger_id) = visitor(&app).await;
    assert!(stranger_id > merged_away, "id {merged_away} was handed out again");
    let theirs = visitor_conversation(&app, &stranger, "my card number is ...").await;
    let mut again = connect_customer(&app, &token).await;
    again.send(json!({"type": "subscribe", "conversation_id": theirs})).await;
    let refused = again.expect("error").await;
    assert_eq!(refused["code"], "conversation_not_found");
    again.send(json!({"type": "send", "conversation_id": theirs, "client_id": "x-1", "body": "hi"})).await;
    assert_eq!(again.expect("error").await["code"], "conversation_not_found");
}

#[tokio::test]
async fn ids_of_erased_rows_are_never_handed_out_again() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (token, customer) = visitor(&app).await;
    let conversation = visitor_conversation(&app, &token, "erase me").await;
    let message: i64 = app.probe("SELECT max(id) FROM messages").await.unwrap();
    admin.delete(&format!("/api/v1/customers/{customer}")).await.ok();
    let (next_token, next_customer) = visitor(&app).await;
    let next_conversation = visitor_conversation(&app, &next_token, "hello").await;
    let next_message: i64 = app.probe("SELECT max(id) FROM messages").await.unwrap();
    assert!(next_customer > customer);
    assert!(next_conversation > conversation);
    assert!(next_message > message);
}

#[tokio::test]
async fn a_deactivated_agents_socket_closes_at_once_and_shows_them_offline() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (bea, bea_id) = app.agent(&admin, "bea@example.com").await;
    let mut watching = connect_agent(&app, &admin.api_token().await).await;
    watching.send(json!({"type": "watch_inbox"})).await;
    watching.settle().await;
    let mut socket = connect_agent(&app, &bea.api_token().await).await;
    let online = watching.expect("presence").await;
    assert_eq!((online["user_id"].as_i64(), online["status"].as_str()), (Some(bea_id), Some("online")));

    admin.send(Method::PATCH, &format!("/api/v1/users/{bea_id}"), Some(json!({"active": false}))).await.ok();
    assert_eq!(socket.close_code().await, Some(4401));
    let offline = watching.expect("presence").await;
    assert_eq!((offline["user_id"].as_i64(), offline["status"].as_str()), (Some(bea_id), Some("offline")));
}

#[tokio::test]
async fn a_demoted_admin_stops_hearing_another_projects_internal_conversation_on_the_open_socket() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let lab = admin.project("Lab").await;
    let item = admin.item(lab, "Budget", None).await;
    let internal =
        admin.conversation(json!({"kind": "internal", "item_id": item, "message": {"body": "salaries"}})).await;
    let (dan, dan_id) = app.agent(&admin, "dan@example.com").await;
    admin.send(Method::PATCH, &format!("/api/v1/users/{dan_id}"), Some(json!({"role": "admin"}))).await.ok();
    let mut socket = connect_agent(&app, &dan.api_token().await).await;
    assert_eq!(socket.subscribe(internal, 0).await.len(), 1);

    admin.send(Method::PATCH, &format!("/api/v1/users/{dan_id}"), Some(json!({"role": "agent"}))).await.ok();
    let ended = socket.expect("unsubscribed").await;
    assert_eq!((ended["conversation_id"].as_i64(), ended["reason"].as_str()), (Some(internal), Some("access_revoked")));
    admin.say(internal, "bonuses").await.ok();
    let heard = socket.settle().await;
    assert!(heard.iter().all(|f| f["type"] != "message"), "{heard:?}");
    dan.get(&format!("/api/v1/conversations/{internal}")).await.expect(404, "conversation_not_found");
    socket.send(json!({"type": "subscribe", "conversation_id": internal})).await;
    assert_eq!(socket.expect("error").await["code"], "conversation_not_found");
}

#[tokio::test]
async fn an_item_moved_to_another_project_stops_streaming_its_internal_messages_to_those_who_may_no_longer_see_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (lab, vault) = (admin.project("Lab").await, admin.project("Vault").await);
    let (bea, bea_id) = app.agent(&admin, "bea@example.com").await;
    admin.put(&format!("/api/v1/projects/{lab}/members/{bea_id}"), None).await.ok();
    let item = admin.item(lab, "Merger", None).await;
    let internal = admin.conversation(json!({"kind": "internal", "item_id": item, "message": {"body": "draft"}})).await;
    let mut socket = connect_agent(&app, &bea.api_token().await).await;
    socket.send(json!({"type": "watch_inbox"})).await;
    assert_eq!(socket.subscribe(internal, 0).await.len(), 1);

    admin.send(Method::PATCH, &format!("/api/v1/items/{item}"), Some(json!({"project_id": vault}))).await.ok();
    let ended = socket.expect("unsubscribed").await;
    assert_eq!((ended["conversation_id"].as_i64(), ended["reason"].as_str()), (Some(internal), Some("access_revoked")));
    admin.say(internal, "the price is ...").await.ok();
    let heard = socket.settle().await;
    assert!(heard.iter().all(|f| !matches!(f["type"].as_str(), Some("message" | "inbox"))), "{heard:?}");
}

#[tokio::test]
async fn signing_out_closes_that_sessions_sockets_and_only_those() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, _) = app.agent(&admin, "bea@example.com").await;
    let first = cookie_session(&app, "bea@example.com").await;
    let second = cookie_session(&app, "bea@example.com").await;
    let mut leaving = connect_with_cookie(&app, &first.0).await;
    let mut staying = connect_with_cookie(&app, &second.0).await;
    with_cookie(&app, &first, Method::POST, "/api/v1/auth/logout").await;
    assert_eq!(leaving.close_code().await, Some(4401));
    staying.settle().await;
}

#[tokio::test]
async fn an_erased_customers_socket_closes() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (token, customer) = visitor(&app).await;
    visitor_conversation(&app, &token, "hello").await;
    let mut socket = connect_customer(&app, &token).await;
    admin.delete(&format!("/api/v1/customers/{customer}")).await.ok();
    assert_eq!(socket.close_code().await, Some(4401));
}

#[tokio::test]
async fn signing_out_of_the_portal_closes_the_sockets_of_that_session() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let customer = admin.customer("ann@example.com").await;
    // A portal session is a visitor token of the customer's (as a sign-in link makes one).
    let session = "portal-session-token-for-this-test";
    app.portal_session(customer, session).await;
    let (widget, _) = visitor(&app).await;
    let mut signed_in = connect_customer(&app, session).await;
    let mut elsewhere = connect_customer(&app, &widget).await;
    as_visitor(&app, session, Method::POST, "/api/v1/portal/logout", None).await.expect(204, "");
    assert_eq!(signed_in.close_code().await, Some(4401));
    elsewhere.settle().await;
}
