//! The customer portal's API: signing in (a password, or a one-time link sent by email), the
//! customer's tickets, opening one and replying on one. A portal session is a visitor token,
//! so the widget's endpoints (messages, seen marks, uploads, the socket) serve the portal too.

use super::auth::email;
use super::conversations::{new_message, NewMessageBody};
use super::widget::{NewVisitor, Visitor};
use super::{limit_key, Admin, State};
use crate::domain::{Invalid, Party, Password, Secret, Title, MAX_BODY_CHARS};
use crate::error::{ApiError, ErrorBody};
use crate::mail::render::{self, Letterhead};
use crate::store::conversations::Message;
use crate::store::customer_view::CustomerConversation;
use crate::store::customers::Customer;
use crate::store::portal::Ticket;
use crate::store::settings::PortalSettings;
use crate::token;
use actix_web::http::StatusCode;
use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(login)
        .service(send_link)
        .service(redeem_link)
        .service(me)
        .service(set_password)
        .service(logout)
        .service(tickets)
        .service(open_ticket)
        .service(ticket)
        .service(reply)
        .service(get_settings)
        .service(put_settings);
}

/// Signing in and opening tickets answer 404 `portal_disabled` while an admin has the portal
/// turned off (each of those operations documents it); a customer already signed in still
/// reads and replies on their tickets.
async fn enabled(state: &State) -> Result<(), ApiError> {
    if !state.store.settings().portal().await?.enabled {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "portal_disabled", "the customer portal is turned off"));
    }
    Ok(())
}

async fn new_session(state: &State, customer_id: i64) -> Result<String, ApiError> {
    let secret = token::generate("rpv_");
    let (hash, now) = (token::hash(&secret), state.now());
    state.store.customers().start_session(customer_id, hash, now).await?;
    Ok(secret)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalLogin {
    pub email: String,
    #[schema(value_type = String, format = Password)]
    pub password: Secret,
}

/// Signs a customer in with their password, and sets a known-device cookie. The limits are the
/// agents' login limits (per address, per address and account, per account with the
/// known-device exemption): 429 `too_many_login_attempts` or `account_locked`; 503 `busy` when
/// too many password checks are waiting.
#[utoipa::path(tag = "portal", security(()), request_body = PortalLogin, responses(
    (status = 200, body = NewVisitor), (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody, description = "the customer portal is turned off (`portal_disabled`)"),
    (status = 429, description = "`too_many_login_attempts` or `account_locked`; see Retry-After", body = ErrorBody),
    (status = 503, description = "`busy`: too many password checks are waiting; see Retry-After", body = ErrorBody)))]
#[post("/api/v1/portal/login")]
async fn login(state: State, req: HttpRequest, body: web::Json<PortalLogin>) -> Result<HttpResponse, ApiError> {
    enabled(&state).await?;
    let account = format!("customer:{}", body.email.trim().to_lowercase());
    let lookup = body.email.trim().to_owned();
    let (customer, device) = super::login_limits::check_password(
        &state,
        &req,
        &account,
        &body.password,
        state.store.customers().for_login(lookup),
    )
    .await?;
    let token = new_session(&state, customer.id).await?;
    Ok(HttpResponse::Ok().cookie(device).json(NewVisitor { token, customer }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    pub email: String,
}

/// Emails a one-time sign-in link (valid 30 minutes) to an address. The answer is the same
/// whether or not the address belongs to a customer: redeeming the link proves it, and makes
/// the customer if there is none. At most 5 per IP and per address in 10 minutes.
#[utoipa::path(tag = "portal", security(()), request_body = LinkRequest, responses(
    (status = 202), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
    (status = 429, body = ErrorBody),
    (status = 404, body = ErrorBody, description = "the customer portal is turned off (`portal_disabled`)")))]
#[post("/api/v1/portal/link")]
async fn send_link(state: State, req: HttpRequest, body: web::Json<LinkRequest>) -> Result<HttpResponse, ApiError> {
    enabled(&state).await?;
    let address = email(&body.email)?;
    if state.mailer.is_none() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "email_not_configured",
            "sign-in links go by email, and this server sends none; sign in with your password",
        ));
    }
    super::admit(
        &state.portal_attempts,
        &[&limit_key(&req), &address.to_lowercase()],
        state.now(),
        "too_many_requests",
    )?;
    let secret = token::generate("");
    let link = format!("{}/portal/#link={secret}", state.config.base_url);
    let (hash, now) = (token::hash(&secret), state.now());
    let head = Letterhead::current(&state.store, &state.support_address, &state.config.base_url).await?;
    let email = render::sign_in(&head, &address, &link);
    state.store.customers().send_link(hash, address, email, now).await?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({})))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Redeem {
    pub token: String,
}

/// Signs in with the token of an emailed link; it works once.
#[utoipa::path(tag = "portal", security(()), request_body = Redeem, responses(
    (status = 200, body = NewVisitor), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody),
    (status = 404, body = ErrorBody, description = "the customer portal is turned off (`portal_disabled`)")))]
#[post("/api/v1/portal/link/redeem")]
async fn redeem_link(
    state: State,
    req: HttpRequest,
    body: web::Json<Redeem>,
) -> Result<web::Json<NewVisitor>, ApiError> {
    enabled(&state).await?;
    super::admit(&state.portal_attempts, &[&format!("redeem:{}", limit_key(&req))], state.now(), "too_many_requests")?;
    let link_hash = token::hash(body.token.trim());
    let secret = token::generate("rpv_");
    let (session_hash, now) = (token::hash(&secret), state.now());
    let customer = state.store.customers().redeem_link(link_hash, session_hash, now).await?;
    let customer = customer.ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "link_invalid",
            "this sign-in link has expired or was used; ask for a new one",
        )
    })?;
    Ok(web::Json(NewVisitor { token: secret, customer }))
}

/// A portal caller: a visitor whose customer has a verified email.
struct PortalCustomer(Visitor);

impl PortalCustomer {
    fn id(&self) -> i64 {
        self.0.customer.id
    }
}

impl actix_web::FromRequest for PortalCustomer {
    type Error = ApiError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<PortalCustomer, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let visitor = Visitor::from_request(req, payload);
        Box::pin(async move {
            let not_signed_in = || ApiError::new(StatusCode::UNAUTHORIZED, "not_signed_in", "sign in to the portal");
            let visitor = visitor.await.map_err(|_| not_signed_in())?;
            if visitor.customer.email.is_none() {
                return Err(not_signed_in());
            }
            Ok(PortalCustomer(visitor))
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct PortalMe {
    pub customer: Customer,
    pub has_password: bool,
}

#[utoipa::path(tag = "portal", security(("visitor" = [])), responses(
    (status = 200, body = PortalMe), (status = 401, body = ErrorBody)))]
#[get("/api/v1/portal/me")]
async fn me(state: State, who: PortalCustomer) -> Result<web::Json<PortalMe>, ApiError> {
    let id = who.id();
    let has_password = state.store.customers().has_password(id).await?;
    Ok(web::Json(PortalMe { customer: who.0.customer, has_password }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    #[schema(value_type = String, format = Password)]
    pub password: Secret,
}

/// Sets or changes the caller's password (signing in by link proved the address).
#[utoipa::path(tag = "portal", security(("visitor" = [])), request_body = NewPassword, responses(
    (status = 204), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody),
    (status = 503, description = "`busy`: too many password checks are waiting; see Retry-After", body = ErrorBody)))]
#[put("/api/v1/portal/password")]
async fn set_password(
    state: State,
    who: PortalCustomer,
    body: web::Json<NewPassword>,
) -> Result<HttpResponse, ApiError> {
    let password = Password::parse(body.into_inner().password)?;
    let hash = state.passwords.hash(&password).await?;
    let id = who.id();
    state.store.customers().set_password(id, hash).await?;
    Ok(super::no_content())
}

/// Ends this portal session (its token stops working).
#[utoipa::path(tag = "portal", security(("visitor" = [])), responses((status = 204), (status = 401, body = ErrorBody)))]
#[post("/api/v1/portal/logout")]
async fn logout(state: State, who: PortalCustomer) -> Result<HttpResponse, ApiError> {
    let hash = who.0.token_hash().to_vec();
    state.store.customers().end_session(hash).await?;
    Ok(super::no_content())
}

/// The caller's tickets, most recently active first.
#[utoipa::path(tag = "portal", security(("visitor" = [])), responses((status = 200, body = Vec<Ticket>)))]
#[get("/api/v1/portal/tickets")]
async fn tickets(state: State, who: PortalCustomer) -> Result<web::Json<Vec<Ticket>>, ApiError> {
    let id = who.id();
    Ok(web::Json(state.store.customers().tickets(id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicket {
    pub title: String,
    pub description: String,
}

/// Opens a ticket; it goes through the team's rules like any new ticket.
#[utoipa::path(tag = "portal", security(("visitor" = [])), request_body = NewTicket, responses(
    (status = 201, body = Ticket), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody, description = "`too_many_messages` (this visitor or their address writes too fast), or `too_many_requests` (too many new conversations or uploads from this address in 10 minutes); see Retry-After"),
    (status = 404, body = ErrorBody, description = "the customer portal is turned off (`portal_disabled`)")))]
#[post("/api/v1/portal/tickets")]
async fn open_ticket(
    state: State,
    who: PortalCustomer,
    req: HttpRequest,
    body: web::Json<NewTicket>,
) -> Result<HttpResponse, ApiError> {
    enabled(&state).await?;
    super::widget::limit_writes(&state, &req)?;
    super::widget::admit_customer(&state, &req, who.id())?;
    let body = body.into_inner();
    let title = Title::parse(&body.title)?.into_string();
    let description = body.description.trim().to_owned();
    if description.is_empty() || description.chars().count() > MAX_BODY_CHARS {
        return Err(Invalid::new("invalid_description", "describe what you need (at most 20,000 characters)").into());
    }
    let (id, now) = (who.id(), state.now());
    let opened = state.store.customers().open_ticket(id, title, description, now).await?;
    Ok(HttpResponse::Created().json(opened))
}

#[utoipa::path(tag = "portal", security(("visitor" = [])), responses(
    (status = 200, body = Ticket), (status = 404, body = ErrorBody)))]
#[get("/api/v1/portal/tickets/{id}")]
async fn ticket(state: State, who: PortalCustomer, id: web::Path<i64>) -> Result<web::Json<Ticket>, ApiError> {
    let (customer, id) = (who.id(), id.into_inner());
    Ok(web::Json(state.store.customers().ticket(customer, id).await?))
}

#[derive(Serialize, ToSchema)]
pub struct TicketReply {
    pub message: Message,
    /// The ticket's conversation with the customer, as they may see it.
    pub conversation: CustomerConversation,
}

/// Replies on a ticket: into its conversation with the customer, started if it has none.
#[utoipa::path(tag = "portal", security(("visitor" = [])), request_body = NewMessageBody, responses(
    (status = 201, body = TicketReply),
    (status = 200, body = TicketReply, description = "a resend with the same client_id: the message it posted"),
    (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
    (status = 429, body = ErrorBody, description = "`too_many_messages`: this visitor or their address writes too fast (see Retry-After)")))]
#[post("/api/v1/portal/tickets/{id}/messages")]
async fn reply(
    state: State,
    who: PortalCustomer,
    req: HttpRequest,
    id: web::Path<i64>,
    body: web::Json<NewMessageBody>,
) -> Result<HttpResponse, ApiError> {
    let customer = who.id();
    super::widget::admit_customer(&state, &req, customer)?;
    let new = new_message(Party::Customer(customer), body.into_inner());
    let posted = state.store.post_to_ticket(customer, id.into_inner(), new, state.now()).await?;
    let conversation = CustomerConversation::of(&posted.conversation);
    let status = if posted.replayed { StatusCode::OK } else { StatusCode::CREATED };
    Ok(HttpResponse::build(status).json(TicketReply { message: posted.message, conversation }))
}

#[utoipa::path(tag = "portal", responses((status = 200, body = PortalSettings)))]
#[get("/api/v1/settings/portal")]
async fn get_settings(state: State, _admin: Admin) -> Result<web::Json<PortalSettings>, ApiError> {
    Ok(web::Json(state.store.settings().portal().await?))
}

#[utoipa::path(tag = "portal", request_body = PortalSettings, responses(
    (status = 200, body = PortalSettings), (status = 404, body = ErrorBody)))]
#[put("/api/v1/settings/portal")]
async fn put_settings(
    state: State,
    _admin: Admin,
    body: web::Json<PortalSettings>,
) -> Result<web::Json<PortalSettings>, ApiError> {
    let value = body.into_inner();
    state.store.settings().set_portal(value.clone()).await?;
    Ok(web::Json(value))
}
