//! Files: uploaded whole or not at all, downloadable only by whoever may see the message,
//! and never executed by a browser.

use crate::helpers::*;
use reqwest::Method;
use serde_json::json;

async fn upload(client: &Client, name: &str, content_type: &str, bytes: Vec<u8>) -> Answer {
    let req = client
        .request(Method::POST, &format!("/api/v1/attachments?filename={name}"))
        .header("content-type", content_type)
        .body(bytes);
    answer(req.send().await.unwrap()).await
}

#[tokio::test]
async fn a_file_attached_to_a_message_downloads_byte_for_byte() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    // Larger than one stored chunk, so the download is reassembled from several.
    let bytes: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    let meta = upload(&admin, "photo.png", "image/png", bytes.clone()).await.ok();
    assert_eq!(meta["size"], 700_000);
    let id = meta["id"].as_i64().unwrap();
    let conv = admin.conversation(json!({"kind": "internal"})).await;
    let msg = admin.post(&format!("/api/v1/conversations/{conv}/messages"), json!({"attachment_ids": [id]})).await.ok();
    assert_eq!(msg["attachments"][0]["filename"], "photo.png");
    assert_eq!(msg["body"], "");
    let res = admin.request(Method::GET, &format!("/api/v1/attachments/{id}")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("inline"));
    assert_eq!(res.bytes().await.unwrap().to_vec(), bytes);
    // An attachment belongs to one message only.
    admin
        .post(&format!("/api/v1/conversations/{conv}/messages"), json!({"body": "again", "attachment_ids": [id]}))
        .await
        .expect(404, "attachment_not_found");
    assert_eq!(app.count("messages").await, 1, "the failed post left nothing behind");
}

#[tokio::test]
async fn html_and_svg_are_served_as_downloads_that_cannot_run() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for (name, ty) in [("x.html", "text/html"), ("x.svg", "image/svg+xml")] {
        let id = upload(&admin, name, ty, b"<script>alert(1)</script>".to_vec()).await.ok()["id"].as_i64().unwrap();
        let res = admin.request(Method::GET, &format!("/api/v1/attachments/{id}")).send().await.unwrap();
        let disposition = res.headers()["content-disposition"].to_str().unwrap().to_owned();
        assert!(disposition.starts_with("attachment"), "{disposition}");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert!(res.headers()["content-security-policy"].to_str().unwrap().contains("sandbox"));
    }
}

#[tokio::test]
async fn oversized_and_empty_uploads_are_refused_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::helpers::config_for(dir.path());
    config.max_upload_bytes = 1000;
    let app = spawn_with(config).await;
    let admin = app.admin().await;
    upload(&admin, "big.bin", "application/octet-stream", vec![0; 1001]).await.expect(413, "attachment_too_large");
    upload(&admin, "empty.bin", "application/octet-stream", vec![]).await.expect(422, "empty_attachment");
    assert_eq!(app.count("attachments").await, 0);
    assert_eq!(app.count("attachment_chunks").await, 0);
    let ok = upload(&admin, "../../etc/passwd", "text/plain", vec![1; 1000]).await.ok();
    assert_eq!(ok["filename"], "passwd");
}

#[tokio::test]
async fn nobody_else_can_fetch_or_send_an_unsent_upload_or_a_hidden_one() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let project = admin.project("Secret").await;
    let (agent, _) = app.agent(&admin, "b@example.com").await;
    let unsent = upload(&admin, "a.txt", "text/plain", b"draft".to_vec()).await.ok()["id"].as_i64().unwrap();
    agent.get(&format!("/api/v1/attachments/{unsent}")).await.expect(404, "attachment_not_found");
    let open_conv = agent.conversation(json!({"kind": "internal"})).await;
    agent
        .post(&format!("/api/v1/conversations/{open_conv}/messages"), json!({"attachment_ids": [unsent]}))
        .await
        .expect(404, "attachment_not_found");
    // Sent in a project the agent is not in: still invisible to them.
    let item = admin.item(project, "t", None).await;
    let conv = admin.conversation(json!({"kind": "internal", "item_id": item})).await;
    admin.post(&format!("/api/v1/conversations/{conv}/messages"), json!({"attachment_ids": [unsent]})).await.ok();
    agent.get(&format!("/api/v1/attachments/{unsent}")).await.expect(404, "attachment_not_found");
    assert_eq!(
        admin.request(Method::GET, &format!("/api/v1/attachments/{unsent}")).send().await.unwrap().status(),
        200
    );
}
