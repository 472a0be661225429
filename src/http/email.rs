//! The email settings as admins see them, and a "send test email" button.

use super::{Admin, State};
use crate::error::{ApiError, ErrorBody};
use crate::mail::SmtpSummary;
use actix_web::http::StatusCode;
use actix_web::{get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(settings).service(test);
}

#[derive(Serialize, ToSchema)]
pub struct EmailSettings {
    /// Absent until `smtp_url` and `smtp_from` are configured (file or RAPPORT_SMTP_URL / RAPPORT_SMTP_FROM).
    pub smtp: Option<SmtpSummary>,
}

#[utoipa::path(tag = "email", responses((status = 200, body = EmailSettings)))]
#[get("/api/v1/settings/email")]
async fn settings(state: State, _admin: Admin) -> web::Json<EmailSettings> {
    web::Json(EmailSettings { smtp: state.mailer.as_ref().map(|m| m.summary().clone()) })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestEmail {
    pub to: String,
}

#[derive(Serialize, ToSchema)]
pub struct Sent {
    pub sent: bool,
}

/// Sends a test email now and says what the SMTP server answered. This one request waits for
/// SMTP on purpose: its whole point is the server's answer. Everything else goes through the
/// outbox.
#[utoipa::path(tag = "email", request_body = TestEmail, responses(
    (status = 200, body = Sent), (status = 409, body = ErrorBody), (status = 502, body = ErrorBody)))]
#[post("/api/v1/settings/email/test")]
async fn test(state: State, _admin: Admin, body: web::Json<TestEmail>) -> Result<web::Json<Sent>, ApiError> {
    let to = crate::domain::Email::parse(&body.to)?.into_string();
    let Some(mailer) = state.mailer.as_ref() else {
        return Err(ApiError::new(StatusCode::CONFLICT, "smtp_not_configured", "set smtp_url and smtp_from first"));
    };
    let id = format!("<test.{}@{}>", crate::token::generate(""), mailer.domain());
    let base = &state.config.base_url;
    let text = format!(
        "This is a test email from Rapport at {base}.\nIf you can read it, email notifications will reach people.\n"
    );
    let html = format!(
        "<p>This is a test email from Rapport at <a href=\"{0}\">{0}</a>.</p><p>If you can read it, email notifications will reach people.</p>",
        super::setup::escape(base)
    );
    mailer
        .send(&to, "Rapport test email", text, html, &id)
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, "smtp_failed", format!("the SMTP server refused: {e}")))?;
    Ok(web::Json(Sent { sent: true }))
}
