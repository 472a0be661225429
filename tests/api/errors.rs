//! Bad input gets a clear 4xx with a stable code, in the one error shape, and writes nothing.
//! Things another agent may not see answer exactly like things that do not exist.

use crate::helpers::*;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// POSTs `body` with `Transfer-Encoding: chunked` over a plain TCP connection (reqwest here
/// cannot stream a body); answers the status and the raw response text.
async fn chunked_post(base: &str, path: &str, bearer: &str, body: &[u8]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {bearer}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // The server may answer and stop reading before the end; that is fine.
    for chunk in body.chunks(16 * 1024) {
        let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
        frame.extend_from_slice(chunk);
        frame.extend_from_slice(b"\r\n");
        if stream.write_all(&frame).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text)
}

/// Every table a request could write to.
const TABLES: &[&str] = &[
    "users",
    "sessions",
    "api_tokens",
    "customers",
    "projects",
    "project_members",
    "items",
    "item_followers",
    "conversations",
    "participants",
    "messages",
    "attachments",
    "attachment_chunks",
    "seen_marks",
];

async fn counts(app: &TestApp) -> Vec<(&'static str, i64)> {
    let mut counts = Vec::new();
    for table in TABLES {
        counts.push((*table, app.count(table).await));
    }
    counts
}

/// Checks status and code, and that the body is exactly `{"error": {"code", "message"}}`.
#[track_caller]
fn refused(answer: Answer, status: u16, code: &str) -> Value {
    let body = answer.expect(status, code);
    let outer = body.as_object().unwrap_or_else(|| panic!("an object: {body}"));
    assert_eq!(outer.len(), 1, "only `error` at the top: {body}");
    let error = body["error"].as_object().unwrap_or_else(|| panic!("an error object: {body}"));
    assert_eq!(error.len(), 2, "only code and message: {body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "a message: {body}");
    body
}

/// A request with a raw body and content type, from a logged-in client.
async fn raw(
    client: &Client,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> Answer {
    let mut req = client.request(method, path).body(body);
    if let Some(ct) = content_type {
        req = req.header(CONTENT_TYPE, ct);
    }
    answer(req.send().await.expect("request sent")).await
}

/// An app with an admin, a project with an item, a customer and a public conversation with one message.
struct World {
    app: TestApp,
    admin: Client,
    project: i64,
    customer: i64,
    item: i64,
    conversation: i64,
}

async fn world() -> World {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let project = admin.project("Support").await;
    let customer = admin.customer("cus@example.com").await;
    let item = admin.item(project, "Printer on fire", Some(customer)).await;
    let conversation = admin
        .conversation(json!({"kind": "public", "item_id": item, "customer_id": customer, "message": {"body": "Hello"}}))
        .await;
    World { app, admin, project, customer, item, conversation }
}

const UNKNOWN: i64 = 987_654;

#[tokio::test]
async fn malformed_json_is_a_400_invalid_json_and_writes_nothing() {
    let w = world().await;
    let before = counts(&w.app).await;
    let c = w.conversation;
    for (path, text) in [
        (format!("/api/v1/conversations/{c}/messages"), r#"{"body": "unterminated"#),
        (format!("/api/v1/conversations/{c}/messages"), "not json at all"),
        ("/api/v1/projects".to_owned(), r#"{"name": "A",}"#),
        ("/api/v1/items".to_owned(), "{"),
        ("/api/v1/conversations".to_owned(), r#"{"kind": "public" "subject": "x"}"#),
        ("/api/v1/customers".to_owned(), ""),
    ] {
        let got = raw(&w.admin, Method::POST, &path, Some("application/json"), text).await;
        assert_eq!(got.status.as_u16(), 400, "{path} {text:?}: {}", got.body);
        refused(got, 400, "invalid_json");
    }
    assert_eq!(counts(&w.app).await, before);
}

#[tokio::test]
async fn fields_of_the_wrong_type_or_unknown_fields_are_a_422_invalid_field() {
    let w = world().await;
    let before = counts(&w.app).await;
    let messages = format!("/api/v1/conversations/{}/messages", w.conversation);
    refused(w.admin.post(&messages, json!({"body": 5})).await, 422, "invalid_field");
    refused(w.admin.post(&messages, json!({"body": "hi", "attachment_ids": "7"})).await, 422, "invalid_field");
    refused(w.admin.post(&messages, json!({"body": "hi", "bdoy": "typo"})).await, 422, "invalid_field");
    refused(w.admin.post(&messages, json!(["hi"])).await, 422, "invalid_field");
    refused(w.admin.post("/api/v1/projects", json!({"name": 5})).await, 422, "invalid_field");
    refused(w.admin.post("/api/v1/projects", json!({})).await, 422, "invalid_field");
    refused(
        w.admin.post("/api/v1/items", json!({"project_id": "one", "kind": "ticket", "title": "T"})).await,
        422,
        "invalid_field",
    );
    refused(
        w.admin.post("/api/v1/items", json!({"project_id": w.project, "kind": "bug", "title": "T"})).await,
        422,
        "invalid_field",
    );
    refused(w.admin.post("/api/v1/conversations", json!({"kind": "secret"})).await, 422, "invalid_field");
    refused(
        w.admin.post(&format!("/api/v1/conversations/{}/seen", w.conversation), json!({"seq": "1"})).await,
        422,
        "invalid_field",
    );
    assert_eq!(counts(&w.app).await, before);
}

#[tokio::test]
async fn a_json_body_over_the_limit_is_a_413_and_writes_nothing() {
    let w = world().await;
    let token =
        w.admin.post("/api/v1/tokens", json!({"name": "raw"})).await.ok()["secret"].as_str().unwrap().to_owned();
    let before = counts(&w.app).await;
    let big = json!({"body": "x".repeat(300 * 1024)}).to_string();
    let path = format!("/api/v1/conversations/{}/messages", w.conversation);
    refused(raw(&w.admin, Method::POST, &path, Some("application/json"), big.clone()).await, 413, "payload_too_large");
    // Also when the length is not announced up front (a chunked body).
    let (status, text) = chunked_post(&w.app.base, &path, &token, big.as_bytes()).await;
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("payload_too_large"), "{text}");
    // Under the byte limit but over the longest message body: a 422.
    refused(w.admin.say(w.conversation, &"y".repeat(20_001)).await, 422, "invalid_body");
    assert_eq!(counts(&w.app).await, before);
    // The connection and the app are fine afterwards.
    assert_eq!(w.admin.say(w.conversation, "still here").await.ok()["seq"], 2);
}

#[tokio::test]
async fn a_body_that_is_not_declared_json_is_a_415() {
    let w = world().await;
    let before = counts(&w.app).await;
    let path = format!("/api/v1/conversations/{}/messages", w.conversation);
    let body = r#"{"body": "hi"}"#;
    for ct in
        [Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("multipart/form-data; boundary=x"), None]
    {
        let got = raw(&w.admin, Method::POST, &path, ct, body).await;
        assert_eq!(got.status.as_u16(), 415, "{ct:?}: {}", got.body);
        refused(got, 415, "unsupported_media_type");
    }
    refused(
        raw(&w.admin, Method::POST, "/api/v1/projects", Some("text/json-ish"), r#"{"name":"P"}"#).await,
        415,
        "unsupported_media_type",
    );
    assert_eq!(counts(&w.app).await, before);
    // A charset parameter is fine.
    let ok = raw(&w.admin, Method::POST, &path, Some("application/json; charset=utf-8"), body).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
}

#[tokio::test]
async fn a_non_numeric_id_in_a_path_is_a_404() {
    let w = world().await;
    let before = counts(&w.app).await;
    for path in [
        "/api/v1/conversations/abc",
        "/api/v1/conversations/1.5/messages",
        "/api/v1/items/abc",
        "/api/v1/projects/abc",
        "/api/v1/projects/abc/members",
        "/api/v1/customers/-",
        "/api/v1/attachments/abc",
        "/api/v1/items/99999999999999999999999",
    ] {
        let got = w.admin.get(path).await;
        assert_eq!(got.status.as_u16(), 404, "{path}: {}", got.body);
        refused(got, 404, "resource_not_found");
    }
    refused(
        w.admin.post("/api/v1/conversations/abc/messages", json!({"body": "hello"})).await,
        404,
        "resource_not_found",
    );
    refused(w.admin.post("/api/v1/conversations/x/close", json!({})).await, 404, "resource_not_found");
    refused(w.admin.put(&format!("/api/v1/projects/{}/members/me", w.project), None).await, 404, "resource_not_found");
    assert_eq!(counts(&w.app).await, before);
}

#[tokio::test]
async fn unknown_ids_are_a_404_naming_what_was_not_found() {
    let w = world().await;
    let before = counts(&w.app).await;
    let a = &w.admin;
    refused(a.get(&format!("/api/v1/conversations/{UNKNOWN}")).await, 404, "conversation_not_found");
    refused(a.get(&format!("/api/v1/conversations/{UNKNOWN}/messages")).await, 404, "conversation_not_found");
    refused(a.get(&format!("/api/v1/items/{UNKNOWN}")).await, 404, "item_not_found");
    refused(a.get(&format!("/api/v1/projects/{UNKNOWN}")).await, 404, "project_not_found");
    refused(a.get(&format!("/api/v1/projects/{UNKNOWN}/members")).await, 404, "project_not_found");
    refused(a.get(&format!("/api/v1/customers/{UNKNOWN}")).await, 404, "customer_not_found");
    refused(a.get(&format!("/api/v1/attachments/{UNKNOWN}")).await, 404, "attachment_not_found");

    // Writes that refer to something unknown.
    refused(a.say(UNKNOWN, "hello").await, 404, "conversation_not_found");
    refused(a.post(&format!("/api/v1/conversations/{UNKNOWN}/close"), json!({})).await, 404, "conversation_not_found");
    refused(
        a.post(&format!("/api/v1/conversations/{UNKNOWN}/seen"), json!({"seq": 1})).await,
        404,
        "conversation_not_found",
    );
    refused(
        a.post(&format!("/api/v1/items/{UNKNOWN}/status"), json!({"status": "closed"})).await,
        404,
        "item_not_found",
    );
    refused(a.put(&format!("/api/v1/items/{UNKNOWN}/follow"), None).await, 404, "item_not_found");
    refused(
        a.post("/api/v1/items", json!({"project_id": UNKNOWN, "kind": "ticket", "title": "T"})).await,
        404,
        "project_not_found",
    );
    refused(
        a.post(
            "/api/v1/items",
            json!({"project_id": w.project, "kind": "ticket", "title": "T", "requester_id": UNKNOWN}),
        )
        .await,
        404,
        "customer_not_found",
    );
    refused(
        a.post("/api/v1/conversations", json!({"kind": "public", "item_id": UNKNOWN, "message": {"body": "hi"}})).await,
        404,
        "item_not_found",
    );
    refused(
        a.post("/api/v1/conversations", json!({"kind": "public", "project_id": UNKNOWN, "message": {"body": "hi"}}))
            .await,
        404,
        "project_not_found",
    );
    refused(
        a.post("/api/v1/conversations", json!({"kind": "public", "customer_id": UNKNOWN, "message": {"body": "hi"}}))
            .await,
        404,
        "customer_not_found",
    );
    refused(a.put(&format!("/api/v1/projects/{UNKNOWN}/members/1"), None).await, 404, "project_not_found");
    refused(
        a.send(Method::PATCH, &format!("/api/v1/users/{UNKNOWN}"), Some(json!({"name": "X"}))).await,
        404,
        "user_not_found",
    );
    refused(a.delete(&format!("/api/v1/tokens/{UNKNOWN}")).await, 404, "token_not_found");
    assert_eq!(counts(&w.app).await, before);
}

#[tokio::test]
async fn a_message_with_an_unknown_attachment_is_refused_whole() {
    let w = world().await;
    let before = counts(&w.app).await;
    refused(
        w.admin
            .post(
                &format!("/api/v1/conversations/{}/messages", w.conversation),
                json!({"body": "see file", "attachment_ids": [UNKNOWN]}),
            )
            .await,
        404,
        "attachment_not_found",
    );
    assert_eq!(counts(&w.app).await, before);
    // The failed send did not use up a sequence number.
    assert_eq!(w.admin.say(w.conversation, "next").await.ok()["seq"], 2);
}

/// Uploads a small file and returns its id.
async fn upload(client: &Client, name: &str) -> i64 {
    let res = client
        .request(Method::POST, &format!("/api/v1/attachments?filename={name}"))
        .header(CONTENT_TYPE, "text/plain")
        .body("secret contents")
        .send()
        .await
        .unwrap();
    let got = answer(res).await;
    assert_eq!(got.status, StatusCode::CREATED, "{}", got.body);
    got.body["id"].as_i64().unwrap()
}

#[tokio::test]
async fn an_agent_outside_a_project_gets_the_same_404_as_for_nothing_at_all() {
    let w = world().await;
    let (agent, agent_id) = w.app.agent(&w.admin, "b@example.com").await;
    // A message in P with a file, and a file the admin uploaded but has not sent yet.
    let sent = upload(&w.admin, "report.txt").await;
    w.admin
        .post(
            &format!("/api/v1/conversations/{}/messages", w.conversation),
            json!({"body": "file", "attachment_ids": [sent]}),
        )
        .await
        .ok();
    let unsent = upload(&w.admin, "draft.txt").await;
    let before = counts(&w.app).await;
    let (c, i, p) = (w.conversation, w.item, w.project);

    let same = |foreign: Answer, missing: Answer, code: &str| {
        let foreign = refused(foreign, 404, code);
        let missing = refused(missing, 404, code);
        assert_eq!(foreign, missing, "a foreign id answers exactly like an unknown one");
    };
    same(
        agent.get(&format!("/api/v1/items/{i}")).await,
        agent.get(&format!("/api/v1/items/{UNKNOWN}")).await,
        "item_not_found",
    );
    same(
        agent.get(&format!("/api/v1/conversations/{c}")).await,
        agent.get(&format!("/api/v1/conversations/{UNKNOWN}")).await,
        "conversation_not_found",
    );
    same(
        agent.get(&format!("/api/v1/conversations/{c}/messages")).await,
        agent.get(&format!("/api/v1/conversations/{UNKNOWN}/messages")).await,
        "conversation_not_found",
    );
    same(
        agent.get(&format!("/api/v1/attachments/{sent}")).await,
        agent.get(&format!("/api/v1/attachments/{UNKNOWN}")).await,
        "attachment_not_found",
    );
    same(
        agent.get(&format!("/api/v1/attachments/{unsent}")).await,
        agent.get(&format!("/api/v1/attachments/{UNKNOWN}")).await,
        "attachment_not_found",
    );
    same(
        agent.get(&format!("/api/v1/projects/{p}")).await,
        agent.get(&format!("/api/v1/projects/{UNKNOWN}")).await,
        "project_not_found",
    );
    same(
        agent.get(&format!("/api/v1/projects/{p}/members")).await,
        agent.get(&format!("/api/v1/projects/{UNKNOWN}/members")).await,
        "project_not_found",
    );
    // Writes into P are refused the same way.
    same(agent.say(c, "let me in").await, agent.say(UNKNOWN, "let me in").await, "conversation_not_found");
    same(
        agent.post(&format!("/api/v1/conversations/{c}/close"), json!({})).await,
        agent.post(&format!("/api/v1/conversations/{UNKNOWN}/close"), json!({})).await,
        "conversation_not_found",
    );
    same(
        agent.post(&format!("/api/v1/conversations/{c}/seen"), json!({"seq": 1})).await,
        agent.post(&format!("/api/v1/conversations/{UNKNOWN}/seen"), json!({"seq": 1})).await,
        "conversation_not_found",
    );
    same(
        agent.post(&format!("/api/v1/items/{i}/status"), json!({"status": "closed"})).await,
        agent.post(&format!("/api/v1/items/{UNKNOWN}/status"), json!({"status": "closed"})).await,
        "item_not_found",
    );
    same(
        agent.put(&format!("/api/v1/items/{i}/follow"), None).await,
        agent.put(&format!("/api/v1/items/{UNKNOWN}/follow"), None).await,
        "item_not_found",
    );
    same(
        agent.post("/api/v1/items", json!({"project_id": p, "kind": "ticket", "title": "T"})).await,
        agent.post("/api/v1/items", json!({"project_id": UNKNOWN, "kind": "ticket", "title": "T"})).await,
        "project_not_found",
    );
    same(
        agent.post("/api/v1/conversations", json!({"kind": "internal", "item_id": i})).await,
        agent.post("/api/v1/conversations", json!({"kind": "internal", "item_id": UNKNOWN})).await,
        "item_not_found",
    );
    same(
        agent.post("/api/v1/conversations", json!({"kind": "internal", "project_id": p})).await,
        agent.post("/api/v1/conversations", json!({"kind": "internal", "project_id": UNKNOWN})).await,
        "project_not_found",
    );
    assert_eq!(counts(&w.app).await, before);

    // The agent's own project-less conversation cannot carry the admin's files either.
    let own = agent.conversation(json!({"kind": "internal", "message": {"body": "mine"}})).await;
    let before = counts(&w.app).await;
    for file in [sent, unsent, UNKNOWN] {
        refused(
            agent
                .post(&format!("/api/v1/conversations/{own}/messages"), json!({"body": "x", "attachment_ids": [file]}))
                .await,
            404,
            "attachment_not_found",
        );
    }
    assert_eq!(counts(&w.app).await, before);

    // Lists do not show P's things either.
    assert!(agent.get("/api/v1/projects").await.ok().as_array().unwrap().is_empty());
    assert!(agent.get("/api/v1/items").await.ok()["entries"].as_array().unwrap().is_empty());
    assert!(agent.get("/api/v1/conversations?view=open").await.ok()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["id"] != c));

    // The admin sees all of it.
    w.admin.get(&format!("/api/v1/items/{i}")).await.ok();
    w.admin.get(&format!("/api/v1/conversations/{c}")).await.ok();
    assert_eq!(w.admin.get(&format!("/api/v1/conversations/{c}/messages")).await.ok().as_array().unwrap().len(), 2);
    let file = w.admin.request(Method::GET, &format!("/api/v1/attachments/{sent}")).send().await.unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    assert_eq!(file.text().await.unwrap(), "secret contents");

    // Once a member, the agent sees P's item, conversation and sent file (the draft stays private).
    let added = w.admin.put(&format!("/api/v1/projects/{p}/members/{agent_id}"), None).await;
    assert_eq!(added.status, StatusCode::NO_CONTENT, "{}", added.body);
    assert_eq!(agent.get(&format!("/api/v1/items/{i}")).await.ok()["id"], i);
    assert_eq!(agent.get(&format!("/api/v1/conversations/{c}")).await.ok()["id"], c);
    assert_eq!(agent.get(&format!("/api/v1/conversations/{c}/messages")).await.ok().as_array().unwrap().len(), 2);
    let file = agent.request(Method::GET, &format!("/api/v1/attachments/{sent}")).send().await.unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    refused(agent.get(&format!("/api/v1/attachments/{unsent}")).await, 404, "attachment_not_found");
}

/// Ways of calling without valid credentials.
fn bad_credentials() -> Vec<(&'static str, Option<(reqwest::header::HeaderName, &'static str)>)> {
    vec![
        ("none", None),
        ("garbage bearer", Some((AUTHORIZATION, "Bearer rpt_not-a-real-token"))),
        ("empty bearer", Some((AUTHORIZATION, "Bearer "))),
        ("basic auth", Some((AUTHORIZATION, "Basic YWRtaW46cGFzcw=="))),
        ("bearer without a space", Some((AUTHORIZATION, "Bearerrpt_x"))),
        ("garbage cookie", Some((COOKIE, "rapport_session=garbage"))),
        ("empty cookie", Some((COOKIE, "rapport_session="))),
        ("other cookie", Some((COOKIE, "session=whatever"))),
    ]
}

async fn assert_all_unauthenticated(w: &World, requests: &[(Method, String, Value)]) {
    let http = reqwest::Client::new();
    let mut wrong = Vec::new();
    for (what, header) in bad_credentials() {
        for (method, path, body) in requests {
            let mut req = http.request(method.clone(), format!("{}{path}", w.app.base));
            if *method != Method::GET {
                req = req.json(body);
            }
            if let Some((name, value)) = &header {
                req = req.header(name.clone(), *value);
            }
            let got = answer(req.send().await.unwrap()).await;
            if got.status.as_u16() != 401 || got.code() != "unauthenticated" {
                wrong.push(format!("{what}: {method} {path} {body} -> {} {}", got.status.as_u16(), got.body));
            } else {
                refused(got, 401, "unauthenticated");
            }
        }
    }
    assert!(wrong.is_empty(), "expected 401 unauthenticated for:\n{}", wrong.join("\n"));
}

#[tokio::test]
async fn missing_or_garbage_credentials_are_a_401_unauthenticated() {
    let w = world().await;
    let before = counts(&w.app).await;
    let c = w.conversation;
    let requests = [
        (Method::GET, "/api/v1/me".to_owned(), Value::Null),
        (Method::GET, format!("/api/v1/conversations/{c}"), Value::Null),
        (Method::GET, "/api/v1/conversations?view=open".to_owned(), Value::Null),
        (Method::GET, format!("/api/v1/attachments/{UNKNOWN}"), Value::Null),
        (Method::POST, format!("/api/v1/conversations/{c}/messages"), json!({"body": "x"})),
        (Method::POST, "/api/v1/projects".to_owned(), json!({"name": "x"})),
        (Method::POST, "/api/v1/tokens".to_owned(), json!({"name": "x"})),
        (Method::POST, "/api/v1/auth/logout".to_owned(), json!({})),
    ];
    assert_all_unauthenticated(&w, &requests).await;
    assert_eq!(counts(&w.app).await, before);
}

/// Who is calling is settled before the body is looked at: an anonymous caller learns nothing
/// about the shape of the API from validation errors.
#[tokio::test]
async fn an_invalid_body_without_valid_credentials_is_still_a_401() {
    let w = world().await;
    let before = counts(&w.app).await;
    let c = w.conversation;
    let requests = [
        (Method::POST, format!("/api/v1/conversations/{c}/messages"), json!({"body": 5})),
        (Method::POST, format!("/api/v1/conversations/{c}/messages"), json!({"body": "x", "name": "x"})),
        (Method::POST, "/api/v1/projects".to_owned(), json!({"nom": "x"})),
        (Method::POST, "/api/v1/tokens".to_owned(), json!({})),
    ];
    assert_all_unauthenticated(&w, &requests).await;
    assert_eq!(counts(&w.app).await, before);
}

#[tokio::test]
async fn an_invalid_query_is_a_400_invalid_query() {
    let w = world().await;
    let a = &w.admin;
    let c = w.conversation;
    for path in [
        "/api/v1/conversations?view=bogus".to_owned(),
        "/api/v1/conversations".to_owned(),
        "/api/v1/conversations?view=open&colour=red".to_owned(),
        "/api/v1/conversations?view=open&limit=ten".to_owned(),
        "/api/v1/conversations?view=open&limit=-1".to_owned(),
        "/api/v1/items?view=bogus".to_owned(),
        "/api/v1/items?status=maybe".to_owned(),
        "/api/v1/items?project_id=abc".to_owned(),
        format!("/api/v1/conversations/{c}/messages?after=x"),
        format!("/api/v1/conversations/{c}/messages?after=1&before=5"),
        "/api/v1/customers?sort=name".to_owned(),
    ] {
        let got = a.get(&path).await;
        assert_eq!(got.status.as_u16(), 400, "{path}: {}", got.body);
        refused(got, 400, "invalid_query");
    }
}

#[tokio::test]
async fn a_cursor_the_server_did_not_give_out_is_a_400_invalid_cursor() {
    let w = world().await;
    for path in [
        "/api/v1/conversations?view=open&cursor=!!!",
        "/api/v1/conversations?view=open&cursor=bm9wZQ", // "nope"
        "/api/v1/conversations?view=open&cursor=MTp4",   // "1:x"
        "/api/v1/items?cursor=%F0%9F%98%80",
        "/api/v1/items?cursor=",
        "/api/v1/customers?cursor=bm9wZQ",
    ] {
        let got = w.admin.get(path).await;
        assert_eq!(got.status.as_u16(), 400, "{path}: {}", got.body);
        refused(got, 400, "invalid_cursor");
    }
}

#[tokio::test]
async fn a_limit_outside_1_to_200_is_a_400_invalid_limit() {
    let w = world().await;
    let c = w.conversation;
    for path in [
        "/api/v1/conversations?view=open&limit=0".to_owned(),
        "/api/v1/conversations?view=open&limit=201".to_owned(),
        "/api/v1/items?limit=0".to_owned(),
        "/api/v1/customers?limit=100000".to_owned(),
        format!("/api/v1/conversations/{c}/messages?limit=0"),
    ] {
        let got = w.admin.get(&path).await;
        assert_eq!(got.status.as_u16(), 400, "{path}: {}", got.body);
        refused(got, 400, "invalid_limit");
    }
    w.admin.get("/api/v1/items?limit=200").await.ok();
    w.admin.get("/api/v1/conversations?view=open&limit=1").await.ok();
}

#[tokio::test]
async fn an_empty_message_is_a_422_invalid_body_and_writes_nothing() {
    let w = world().await;
    let before = counts(&w.app).await;
    let path = format!("/api/v1/conversations/{}/messages", w.conversation);
    refused(w.admin.say(w.conversation, "").await, 422, "invalid_body");
    refused(w.admin.say(w.conversation, "  \n\t ").await, 422, "invalid_body");
    refused(w.admin.post(&path, json!({})).await, 422, "invalid_body");
    refused(w.admin.say(w.conversation, "bell \u{7}").await, 422, "invalid_body");
    // A new conversation with an empty first message is not created at all.
    refused(
        w.admin
            .post("/api/v1/conversations", json!({"kind": "public", "item_id": w.item, "message": {"body": " "}}))
            .await,
        422,
        "invalid_body",
    );
    assert_eq!(counts(&w.app).await, before);
}

#[tokio::test]
async fn an_internal_conversation_with_a_customer_is_a_422() {
    let w = world().await;
    let before = counts(&w.app).await;
    refused(
        w.admin
            .post(
                "/api/v1/conversations",
                json!({"kind": "internal", "item_id": w.item, "customer_id": w.customer,
                "message": {"body": "team only"}}),
            )
            .await,
        422,
        "internal_conversation_has_no_customer",
    );
    refused(
        w.admin.post("/api/v1/conversations", json!({"kind": "internal", "customer_id": w.customer})).await,
        422,
        "internal_conversation_has_no_customer",
    );
    assert_eq!(counts(&w.app).await, before);
}

#[tokio::test]
async fn a_client_id_with_spaces_is_a_422_invalid_client_id() {
    let w = world().await;
    let before = counts(&w.app).await;
    let path = format!("/api/v1/conversations/{}/messages", w.conversation);
    for bad in ["has spaces", "", " x", "x".repeat(65).as_str(), "ünïcode", "semi;colon"] {
        refused(w.admin.post(&path, json!({"body": "hi", "client_id": bad})).await, 422, "invalid_client_id");
    }
    refused(
        w.admin
            .post(
                "/api/v1/conversations",
                json!({"kind": "public", "item_id": w.item, "message": {"body": "hi", "client_id": "a b"}}),
            )
            .await,
        422,
        "invalid_client_id",
    );
    assert_eq!(counts(&w.app).await, before);
    let ok = w.admin.post(&path, json!({"body": "hi", "client_id": "Ok_1.2:3-x"})).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
}

#[tokio::test]
async fn an_unknown_route_is_a_404_route_not_found() {
    let w = world().await;
    let before = counts(&w.app).await;
    for (method, path) in [
        (Method::GET, "/api/v1/nope"),
        (Method::GET, "/api/v2/items"),
        (Method::POST, "/api/v1/conversations/1/delete"),
        (Method::GET, "/nowhere"),
    ] {
        let got = w.admin.send(method.clone(), path, Some(json!({}))).await;
        assert_eq!(got.status.as_u16(), 404, "{method} {path}: {}", got.body);
        refused(got, 404, "route_not_found");
    }
    // Without credentials too: the route is unknown before anyone is asked who they are.
    refused(w.app.client().get("/api/v1/nope").await, 404, "route_not_found");
    assert_eq!(counts(&w.app).await, before);
}
