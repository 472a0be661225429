//! The email settings as admins see them, and a "send test email" button.

use super::{Admin, State};
use crate::error::{ApiError, ErrorBody};
use crate::mail::imap::{ImapSource, ImapSummary};
use crate::mail::inbound::Received;
use crate::mail::SmtpSummary;
use crate::store::inbound::{InboundEntry, Outcome};
use crate::store::outbox::{OutboxCounts, OutboxEntry};
use crate::store::settings::EmailFlow;
use actix_web::http::StatusCode;
use actix_web::{get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(settings)
        .service(test)
        .service(set_flow)
        .service(rotate_reply_secret)
        .service(outbox)
        .service(retry)
        .service(inbound)
        .service(release)
        .service(discard);
}

#[derive(Serialize, ToSchema)]
pub struct EmailSettings {
    /// Absent until `smtp_url` and `smtp_from` are configured (file or RAPPORT_SMTP_URL / RAPPORT_SMTP_FROM).
    pub smtp: Option<SmtpSummary>,
    /// The mailbox polled for inbound mail (`imap_url`), if any.
    pub imap: Option<ImapSummary>,
    /// The address of the inbound SMTP listener (`inbound_smtp_listen`), if any.
    pub inbound_smtp: Option<String>,
    /// The address customers write to; reply addresses are `local+token@domain` of it.
    pub support_address: String,
    /// Seconds a message may stay unseen before it is emailed (`notify_delay_secs`).
    pub notify_delay_secs: u64,
    pub flow: EmailFlow,
    pub counts: OutboxCounts,
}

#[utoipa::path(tag = "email", responses((status = 200, body = EmailSettings)))]
#[get("/api/v1/settings/email")]
async fn settings(state: State, _admin: Admin) -> Result<web::Json<EmailSettings>, ApiError> {
    let (flow, counts) = state.store.mail().flow_and_counts().await?;
    let config = &state.config;
    Ok(web::Json(EmailSettings {
        smtp: state.mailer.as_ref().map(|m| m.summary().clone()),
        imap: config.imap_url.as_ref().and_then(|url| ImapSource::parse(url).ok()).map(|s| s.summary()),
        inbound_smtp: config.inbound_smtp_listen.map(|a| a.to_string()),
        support_address: state.mailroom.own_addresses.first().cloned().unwrap_or_default(),
        notify_delay_secs: config.notify_delay_secs,
        flow,
        counts,
    }))
}

/// Turns the steps of the email flow on or off and picks the project for email tickets.
#[utoipa::path(tag = "email", request_body = EmailFlow, responses(
    (status = 200, body = EmailFlow), (status = 404, body = ErrorBody)))]
#[put("/api/v1/settings/email/flow")]
async fn set_flow(state: State, admin: Admin, body: web::Json<EmailFlow>) -> Result<web::Json<EmailFlow>, ApiError> {
    let flow = body.into_inner();
    let viewer = admin.0.viewer;
    let saved = state.store.settings().set_email_flow(viewer, flow).await?;
    Ok(web::Json(saved))
}

/// Replaces the key that signs reply addresses: every reply address sent so far stops working
/// (replies to old emails then open new tickets or are held).
#[utoipa::path(tag = "email", responses((status = 204)))]
#[post("/api/v1/settings/email/rotate-reply-secret")]
async fn rotate_reply_secret(state: State, _admin: Admin) -> Result<HttpResponse, ApiError> {
    state.store.settings().rotate_reply_secret().await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, IntoParams)]
pub struct OutboxQuery {
    /// `pending`, `sent` or `failed`; all when absent.
    pub status: Option<String>,
}

/// The newest outgoing emails (at most 200): what was sent, what waits for a retry, and what
/// the SMTP server refused for good.
#[utoipa::path(tag = "email", params(OutboxQuery), responses((status = 200, body = Vec<OutboxEntry>)))]
#[get("/api/v1/email/outbox")]
async fn outbox(
    state: State,
    _admin: Admin,
    q: web::Query<OutboxQuery>,
) -> Result<web::Json<Vec<OutboxEntry>>, ApiError> {
    let status = match q.into_inner().status.as_deref() {
        None => None,
        Some(s @ ("pending" | "sent" | "failed")) => Some(s.to_owned()),
        Some(_) => return Err(ApiError::bad_request("invalid_query", "status is pending, sent or failed")),
    };
    Ok(web::Json(state.store.mail().outbox(status, 200).await?))
}

/// Sends a failed email again.
#[utoipa::path(tag = "email", responses((status = 204), (status = 404, body = ErrorBody)))]
#[post("/api/v1/email/outbox/{id}/retry")]
async fn retry(state: State, _admin: Admin, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let (id, now) = (id.into_inner(), state.now());
    state.store.mail().retry(id, now).await?;
    state.doorbell.ring();
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, IntoParams)]
pub struct InboundQuery {
    /// `posted`, `ticket`, `held` or `dropped`; all when absent.
    pub outcome: Option<String>,
}

/// The newest inbound emails (at most 200) and what became of each.
#[utoipa::path(tag = "email", params(InboundQuery), responses((status = 200, body = Vec<InboundEntry>)))]
#[get("/api/v1/email/inbound")]
async fn inbound(
    state: State,
    _admin: Admin,
    q: web::Query<InboundQuery>,
) -> Result<web::Json<Vec<InboundEntry>>, ApiError> {
    let outcome = match q.into_inner().outcome.as_deref() {
        None => None,
        Some(s @ ("posted" | "ticket" | "held" | "dropped")) => Some(s.to_owned()),
        Some(_) => return Err(ApiError::bad_request("invalid_query", "outcome is posted, ticket, held or dropped")),
    };
    Ok(web::Json(state.store.mail().inbound(outcome, 200).await?))
}

#[derive(Serialize, ToSchema)]
pub struct Released {
    /// `posted` or `ticket`.
    pub outcome: Outcome,
    pub conversation_id: i64,
}

/// Posts held mail after all: as the person its reply token names, or as a new ticket from
/// its sender. The admin vouches for the sender.
#[utoipa::path(tag = "email", responses(
    (status = 200, body = Released), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/api/v1/email/inbound/{id}/release")]
async fn release(state: State, _admin: Admin, id: web::Path<i64>) -> Result<web::Json<Released>, ApiError> {
    let released = match state.mailroom.release(id.into_inner()).await? {
        Received::Posted(conversation_id) => Released { outcome: Outcome::Posted, conversation_id },
        Received::Ticket(conversation_id) => Released { outcome: Outcome::Ticket, conversation_id },
        _ => return Err(ApiError::new(StatusCode::CONFLICT, "held_mail_not_postable", "this mail cannot be posted")),
    };
    Ok(web::Json(released))
}

/// Drops held mail for good (its text is deleted).
#[utoipa::path(tag = "email", responses((status = 204), (status = 404, body = ErrorBody)))]
#[post("/api/v1/email/inbound/{id}/discard")]
async fn discard(state: State, _admin: Admin, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state.store.mail().discard(id).await?;
    Ok(HttpResponse::NoContent().finish())
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
    let base = &state.config.base_url;
    let email = crate::store::outbox::NewEmail {
        message_id: format!("<test.{}@{}>", crate::token::generate(""), mailer.domain()),
        to,
        reply_to: None,
        in_reply_to: None,
        subject: "Rapport test email".into(),
        text: format!(
            "This is a test email from Rapport at {base}.\nIf you can read it, email notifications will reach people.\n"
        ),
        html: format!(
            "<p>This is a test email from Rapport at <a href=\"{0}\">{0}</a>.</p><p>If you can read it, email notifications will reach people.</p>",
            crate::text::escape(base)
        ),
        conversation_id: None,
    };
    mailer
        .send(&email)
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, "smtp_failed", format!("the SMTP server refused: {e}")))?;
    Ok(web::Json(Sent { sent: true }))
}
