//! The OpenAPI document describes the server that really runs.

use crate::helpers::*;
use reqwest::Method;

#[tokio::test]
async fn every_documented_operation_exists_and_demands_authentication() {
    let app = spawn_app().await;
    let anonymous = app.client();
    let doc = anonymous.get("/api/openapi.json").await.ok();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 25, "only {} paths documented", paths.len());
    let public = [
        "/healthz",
        "/api/v1/auth/login",
        "/api/v1/widget/visitors",
        "/api/v1/widget/config",
        "/api/v1/portal/login",
        "/api/v1/portal/link",
        "/api/v1/portal/link/redeem",
        "/api/v1/forms/{key}/public",
        "/api/v1/forms/{key}/submissions",
        "/api/v1/users/{id}/photo",
    ];
    let mut checked = 0;
    for (path, operations) in paths {
        let concrete = path.replace("{id}", "1").replace("{user_id}", "1").replace("{key}", "nope");
        for method in operations.as_object().unwrap().keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let res = anonymous.request(method.clone(), &concrete).send().await.unwrap();
            let status = res.status().as_u16();
            if public.contains(&path.as_str()) {
                let body: serde_json::Value = res.json().await.unwrap_or_default();
                assert_ne!(body["error"]["code"], "route_not_found", "{method} {path} is documented but not routed");
            } else {
                assert_eq!(status, 401, "{method} {path} should exist and demand authentication");
            }
            checked += 1;
        }
    }
    assert!(checked >= 35);
}

#[tokio::test]
async fn documented_schemas_match_real_answers() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let doc = admin.get("/api/openapi.json").await.ok();
    let project = admin.project("P").await;
    let item = admin.get(&format!("/api/v1/items/{}", admin.item(project, "t", None).await)).await.ok();
    // Every property the Item schema lists is present in a real item, and nothing more.
    let schema = &doc["components"]["schemas"]["Item"]["properties"];
    let mut documented: Vec<&String> = schema.as_object().unwrap().keys().collect();
    let mut real: Vec<&String> = item.as_object().unwrap().keys().collect();
    documented.sort();
    real.sort();
    assert_eq!(documented, real);
}

#[tokio::test]
async fn faces_names_and_list_rows_are_documented_as_they_are_answered() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let doc = admin.get("/api/openapi.json").await.ok();
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let req = admin.request(Method::PUT, "/api/v1/me/photo").header("content-type", "image/png").body(png);
    let user = answer(req.send().await.unwrap()).await.ok();
    let (token, _) = visitor(&app).await;
    let body = serde_json::json!({"message": {"body": "hello"}});
    let started = as_visitor(&app, &token, Method::POST, "/api/v1/widget/conversations", Some(body)).await.ok();
    let id = started["conversation"]["id"].as_i64().unwrap();
    let reply = admin.say(id, "hi").await.ok();
    let conversation = admin.get(&format!("/api/v1/conversations/{id}")).await.ok();
    let config = app.client().get("/api/v1/widget/config").await.ok();
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    for (schema, real) in [
        ("User", &user),
        ("Conversation", &conversation),
        ("CustomerSummary", &conversation["customer"]),
        ("Author", &reply["author"]),
        ("WidgetConfig", &config),
        ("TeamFace", &config["team"][0]),
    ] {
        let documented = keys(&doc["components"]["schemas"][schema]["properties"]);
        assert_eq!(documented, keys(real), "{schema}");
    }
    assert!(doc["paths"]["/api/v1/me/photo"]["put"]["requestBody"]["content"]["image/webp"].is_object());
    assert!(doc["paths"]["/api/v1/users/{id}/photo"]["get"]["responses"]["404"].is_object());
}
