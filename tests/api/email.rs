//! Email settings and the "send test email" button, against a real SMTP server.

use crate::helpers::*;
use crate::smtp::{free_port, SmtpServer, Tls};
use serde_json::json;

fn with_smtp(url: &str) -> (tempfile::TempDir, rapport::config::Config) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::helpers::config_for(dir.path());
    config.smtp_url = Some(rapport::domain::Secret::new(url));
    config.smtp_from = Some("Support <support@example.com>".into());
    (dir, config)
}

#[tokio::test]
async fn an_admin_sees_the_smtp_settings_without_the_password_and_a_test_email_arrives() {
    let smtp = SmtpServer::start();
    let url = format!("smtp://rapport:s3cret-pass@127.0.0.1:{}", smtp.port);
    let (_dir, mut config) = with_smtp(&url);
    // The summary comes from a URL with a password; the sending app uses the test server's
    // plain URL, since aiosmtpd offers no AUTH without TLS.
    let summary_config = config.clone();
    config.smtp_url = Some(rapport::domain::Secret::new(smtp.url()));
    let shown = spawn_with(summary_config).await;
    let settings = shown.admin().await.get("/api/v1/settings/email").await.ok();
    assert_eq!(settings["smtp"]["host"], "127.0.0.1");
    assert_eq!(settings["smtp"]["username"], "rapport");
    assert_eq!(settings["smtp"]["tls"], "none");
    assert!(!settings.to_string().contains("s3cret-pass"));
    // One server per data dir.
    shown.stop().await;

    let app = spawn_with(config).await;
    let admin = app.admin().await;
    admin.post("/api/v1/settings/email/test", json!({"to": "ops@example.com"})).await.ok();
    let mail = smtp.wait_for(1);
    assert_eq!(mail.len(), 1);
    let m = &mail[0];
    assert!(m.contains("Subject: Rapport test email"), "{m}");
    assert!(m.contains("Auto-Submitted: auto-generated"), "{m}");
    assert!(m.contains("Message-ID: <test."), "{m}");
    assert!(m.contains("multipart/alternative"), "{m}");
    assert!(m.contains("To: ops@example.com"), "{m}");
}

#[tokio::test]
async fn a_test_email_reports_a_dead_smtp_server_and_a_missing_configuration() {
    let (_dir, config) = with_smtp(&format!("smtp://127.0.0.1:{}", free_port()));
    let app = spawn_with(config).await;
    let admin = app.admin().await;
    admin.post("/api/v1/settings/email/test", json!({"to": "ops@example.com"})).await.expect(502, "smtp_failed");
    let plain = spawn_app().await;
    let admin = plain.admin().await;
    assert!(admin.get("/api/v1/settings/email").await.ok()["smtp"].is_null());
    admin
        .post("/api/v1/settings/email/test", json!({"to": "ops@example.com"}))
        .await
        .expect(409, "smtp_not_configured");
    let (agent, _) = plain.agent(&admin, "b@example.com").await;
    agent.get("/api/v1/settings/email").await.expect(403, "forbidden");
}

/// Mail goes only to a server that proves who it is: over smtps:// and over STARTTLS, a
/// certificate no authority vouches for ends the connection before anything is sent.
#[tokio::test]
async fn an_smtp_server_whose_certificate_nobody_vouches_for_is_sent_nothing() {
    for (tls, url) in
        [(Tls::Implicit, "smtps://127.0.0.1:{port}"), (Tls::StartTls, "smtp://127.0.0.1:{port}?tls=starttls")]
    {
        let smtp = SmtpServer::start_self_signed(tls);
        let url = url.replace("{port}", &smtp.port.to_string());
        let mailer = rapport::mail::Mailer::new(&rapport::domain::Secret::new(&url), "support@example.com").unwrap();
        let refused = mailer.check().await.unwrap_err();
        assert!(refused.to_lowercase().contains("certificate"), "{url}: {refused}");
        assert!(smtp.messages().is_empty());
    }
}
