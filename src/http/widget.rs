//! What the customer widget talks to: anonymous visitors (a random token kept in the browser),
//! their conversations and messages, and the widget's settings (admins).

use super::conversations::{new_message, CreateConversationBody, MessageQuery, NewMessageBody};
use super::{limit_key, Admin, State};
use crate::domain::identity::SiteIdentity;
use crate::domain::{Channel, ConversationKind, Email, Invalid, Name, Party};
use crate::error::{ApiError, ErrorBody};
use crate::store::conversations::{Message, NewConversation};
use crate::store::customer_view::CustomerConversation;
use crate::store::customers::Customer;
use crate::store::settings::WidgetSettings;
use crate::store::Viewer;
use crate::token;
use actix_web::{dev::Payload, get, post, put, web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const VISITOR_HEADER: &str = "x-rapport-visitor";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(new_visitor)
        .service(config)
        .service(identify)
        .service(my_conversations)
        .service(start_conversation)
        .service(messages)
        .service(post_message)
        .service(mark_seen)
        .service(upload)
        .service(download)
        .service(get_settings)
        .service(put_settings)
        .service(rotate_secret);
}

/// Counts one anonymous write (a conversation, an upload) against the caller's IP.
pub(super) fn limit_writes(state: &State, req: &HttpRequest) -> Result<(), ApiError> {
    super::admit(&state.widget_writes, &[&limit_key(req)], state.now(), "too_many_requests")
}

/// Counts one write of a customer (a message, a conversation, a ticket, an upload) against
/// their limits, per visitor and per address: `429 too_many_messages` beyond them.
pub(super) fn admit_customer(state: &State, req: &HttpRequest, customer_id: i64) -> Result<(), ApiError> {
    state.customer_writes.admit_customer(customer_id, &limit_key(req), state.now()).map_err(ApiError::too_fast)
}

/// What the widget shows before anyone types: public settings and whether the team is online.
#[derive(Serialize, ToSchema)]
pub struct WidgetConfig {
    pub team_name: String,
    pub color: String,
    pub greeting: String,
    pub away_message: String,
    pub position: String,
    pub team_online: bool,
    pub require_verification: bool,
    pub max_upload_bytes: usize,
    /// Up to three of the team's faces for the header: those with a photo first.
    pub team: Vec<crate::store::users::TeamFace>,
}

/// How many of the team's faces the widget shows.
const TEAM_FACES: usize = 3;

#[utoipa::path(tag = "widget", security(()), responses((status = 200, body = WidgetConfig)))]
#[get("/api/v1/widget/config")]
async fn config(state: State) -> Result<web::Json<WidgetConfig>, ApiError> {
    let (s, team) = futures_util::try_join!(state.store.settings().widget(), state.store.users().team(TEAM_FACES))?;
    Ok(web::Json(WidgetConfig {
        team_name: s.team_name,
        color: s.color,
        greeting: s.greeting,
        away_message: s.away_message,
        position: s.position,
        team_online: state.hub.team_online(),
        require_verification: s.require_verification,
        max_upload_bytes: state.config.max_upload_bytes,
        team,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Identify {
    /// What the visitor typed about themselves; not verified.
    pub name: Option<String>,
    pub email: Option<String>,
    /// What the team's site knows about its logged-in user, signed on its server.
    pub user: Option<SiteIdentity>,
}

/// The visitor says who they are, or the site vouches for them with a signed identity. A
/// verified identity joins this browser to that customer (with what it wrote so far); an
/// unverified name or email is only contact information.
#[utoipa::path(tag = "widget", security(("visitor" = [])), request_body = Identify,
    responses((status = 200, body = Customer), (status = 422, body = ErrorBody)))]
#[post("/api/v1/widget/identify")]
async fn identify(state: State, visitor: Visitor, body: web::Json<Identify>) -> Result<web::Json<Customer>, ApiError> {
    let body = body.into_inner();
    let parse_name = |n: Option<&str>| n.map(Name::parse).transpose().map(|n| n.map(Name::into_string));
    let parse_email = |e: Option<&str>| e.map(Email::parse).transpose().map(|e| e.map(Email::into_string));
    let (name, email) = (parse_name(body.name.as_deref())?, parse_email(body.email.as_deref())?);
    let now = state.now();
    let widget = state.store.settings().widget().await?;
    let customer = match body.user {
        Some(user) if user.signature.is_some() || widget.require_verification => {
            // No secret yet means nobody can have signed anything (an empty HMAC key is no key).
            if widget.identity_secret.is_empty() {
                return Err(Invalid::new("identity_signature_invalid", "the signature does not match").into());
            }
            user.verify(&widget.identity_secret, now / 1000)?;
            let (site_email, site_name) = (parse_email(user.email.as_deref())?, parse_name(user.name.as_deref())?);
            let hash = visitor.token_hash;
            let site = crate::store::Vouched { external_id: user.id, email: site_email, name: site_name };
            state.store.customers().identify(hash, site, name, now).await?
        }
        unsigned => {
            // Without verification, what the site passes is contact information like any other.
            let name = name.or(parse_name(unsigned.as_ref().and_then(|u| u.name.as_deref()))?);
            let email = email.or(parse_email(unsigned.as_ref().and_then(|u| u.email.as_deref()))?);
            let id = visitor.customer.id;
            state.store.customers().set_contact(id, name, email).await?
        }
    };
    Ok(web::Json(customer))
}

/// A widget visitor, identified by the token in `X-Rapport-Visitor` (or `?token=` on sockets).
#[derive(Clone)]
pub struct Visitor {
    pub customer: Customer,
    token_hash: Vec<u8>,
}

impl Visitor {
    fn viewer(&self) -> Viewer {
        Viewer::Customer { customer_id: self.customer.id }
    }

    pub(super) fn token_hash(&self) -> &[u8] {
        &self.token_hash
    }
}

fn visitor_token(req: &HttpRequest) -> Option<String> {
    if let Some(h) = req.headers().get(VISITOR_HEADER) {
        return h.to_str().ok().map(str::to_owned);
    }
    web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.get("token").cloned())
}

/// Who the visitor is, settled before any handler reads the body (as agents are, by
/// `preauthenticate`): a caller who will be refused learns nothing from how their body or path
/// would have been parsed.
#[derive(Clone)]
struct Identified(Result<Visitor, ApiError>);

/// Identifies the visitor of a widget or portal request up front, for the `Visitor` extractor.
pub(super) async fn preidentify(req: &HttpRequest) {
    let path = req.path();
    if path.starts_with("/api/v1/widget/") || path.starts_with("/api/v1/portal/") {
        let outcome = identify_visitor(req.app_data::<State>().cloned(), visitor_token(req)).await;
        req.extensions_mut().insert(Identified(outcome));
    }
}

async fn identify_visitor(state: Option<State>, token: Option<String>) -> Result<Visitor, ApiError> {
    let (Some(state), Some(token)) = (state, token) else {
        return Err(ApiError::unauthenticated());
    };
    let token_hash = token::hash(&token);
    let hash = token_hash.clone();
    let customer = state.store.customers().by_visitor_token(hash).await?;
    customer.map(|customer| Visitor { customer, token_hash }).ok_or_else(ApiError::unauthenticated)
}

impl FromRequest for Visitor {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Visitor, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let settled = req.extensions().get::<Identified>().map(|i| i.0.clone());
        let (state, token) = (req.app_data::<State>().cloned(), visitor_token(req));
        Box::pin(async move {
            match settled {
                Some(outcome) => outcome,
                None => identify_visitor(state, token).await,
            }
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct NewVisitor {
    /// Keep it in the browser and send it as `X-Rapport-Visitor`.
    pub token: String,
    pub customer: Customer,
}

/// Starts an anonymous visitor. Limited to 30 per IP in 10 minutes.
#[utoipa::path(tag = "widget", security(()), responses((status = 201, body = NewVisitor), (status = 429, body = ErrorBody)))]
#[post("/api/v1/widget/visitors")]
async fn new_visitor(state: State, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let now = state.now();
    super::admit(&state.new_visitors, &[&limit_key(&req)], now, "too_many_visitors")?;
    let secret = token::generate("rpv_");
    let hash = token::hash(&secret);
    let customer = state.store.customers().insert_visitor(hash, now).await?;
    Ok(HttpResponse::Created().json(NewVisitor { token: secret, customer }))
}

/// The visitor's conversations as they may see them, most recent first.
#[utoipa::path(tag = "widget", security(("visitor" = [])), responses((status = 200, body = Vec<CustomerConversation>)))]
#[get("/api/v1/widget/conversations")]
async fn my_conversations(state: State, visitor: Visitor) -> Result<web::Json<Vec<CustomerConversation>>, ApiError> {
    let id = visitor.customer.id;
    Ok(web::Json(state.store.customers().conversations(id, 100).await?))
}

/// A conversation the visitor started, as they may see it, with its first message and the
/// bot's reply.
#[derive(Serialize, ToSchema)]
pub struct StartedConversation {
    pub conversation: CustomerConversation,
    pub message: Option<Message>,
    /// The bot's reply, when the auto-responder is on.
    pub auto_reply: Option<Message>,
}

/// Starts a conversation with the team.
#[utoipa::path(tag = "widget", security(("visitor" = [])), request_body = CreateConversationBody,
    responses((status = 201, body = StartedConversation), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody, description = "`too_many_messages` (this visitor or their address writes too fast), or `too_many_requests` (too many new conversations or uploads from this address in 10 minutes); see Retry-After")))]
#[post("/api/v1/widget/conversations")]
async fn start_conversation(
    state: State,
    visitor: Visitor,
    req: HttpRequest,
    body: web::Json<CreateConversationBody>,
) -> Result<HttpResponse, ApiError> {
    limit_writes(&state, &req)?;
    admit_customer(&state, &req, visitor.customer.id)?;
    let author = Party::Customer(visitor.customer.id);
    let body = body.into_inner();
    let page_url = body.page_url.filter(|u| (u.starts_with("https://") || u.starts_with("http://")) && u.len() <= 2000);
    let first = body.message.map(|m| new_message(author, m));
    let new = NewConversation {
        project_id: None,
        item_id: None,
        kind: ConversationKind::Public,
        subject: String::new(),
        customer_id: Some(visitor.customer.id),
        channel: Channel::Chat,
        page_url,
        creator: author,
    };
    let started = state.store.create_conversation(visitor.viewer(), new, first, state.now()).await?;
    Ok(HttpResponse::Created().json(StartedConversation {
        conversation: CustomerConversation::of(&started.conversation),
        message: started.message,
        auto_reply: started.auto_reply,
    }))
}

#[utoipa::path(tag = "widget", security(("visitor" = [])), params(MessageQuery),
    responses((status = 200, body = Vec<Message>), (status = 404, body = ErrorBody)))]
#[get("/api/v1/widget/conversations/{id}/messages")]
async fn messages(
    state: State,
    visitor: Visitor,
    id: web::Path<i64>,
    q: web::Query<MessageQuery>,
) -> Result<web::Json<Vec<Message>>, ApiError> {
    let (page, limit) = q.page()?;
    let (viewer, id) = (visitor.viewer(), id.into_inner());
    Ok(web::Json(state.store.conversations().messages(viewer, id, page, limit).await?))
}

#[utoipa::path(tag = "widget", security(("visitor" = [])), request_body = NewMessageBody,
    responses((status = 201, body = Message), (status = 200, body = Message), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody, description = "`too_many_messages`: this visitor or their address writes too fast (see Retry-After)")))]
#[post("/api/v1/widget/conversations/{id}/messages")]
async fn post_message(
    state: State,
    visitor: Visitor,
    req: HttpRequest,
    id: web::Path<i64>,
    body: web::Json<NewMessageBody>,
) -> Result<HttpResponse, ApiError> {
    admit_customer(&state, &req, visitor.customer.id)?;
    let new = new_message(Party::Customer(visitor.customer.id), body.into_inner());
    let posted = state.store.post_message(visitor.viewer(), id.into_inner(), new, state.now()).await?;
    Ok(super::conversations::posted_response(posted))
}

/// Records what the visitor has seen; agents see it as a seen mark.
#[utoipa::path(tag = "widget", security(("visitor" = [])), request_body = super::conversations::Seen,
    responses((status = 200, body = super::conversations::Seen), (status = 404, body = ErrorBody)))]
#[post("/api/v1/widget/conversations/{id}/seen")]
async fn mark_seen(
    state: State,
    visitor: Visitor,
    id: web::Path<i64>,
    body: web::Json<super::conversations::Seen>,
) -> Result<web::Json<super::conversations::Seen>, ApiError> {
    let party = Party::Customer(visitor.customer.id);
    let seq = state.store.mark_seen(visitor.viewer(), party, id.into_inner(), body.seq.max(0), state.now()).await?;
    Ok(web::Json(super::conversations::Seen { seq }))
}

/// Uploads a file for the visitor's next message (limited per IP).
#[utoipa::path(tag = "widget", security(("visitor" = [])), params(super::attachments::UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = crate::store::attachments::AttachmentMeta), (status = 413, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "`too_many_messages` (this visitor or their address writes too fast), or `too_many_requests` (too many new conversations or uploads from this address in 10 minutes); see Retry-After")))]
#[post("/api/v1/widget/attachments")]
async fn upload(
    state: State,
    visitor: Visitor,
    req: HttpRequest,
    q: web::Query<super::attachments::UploadQuery>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    limit_writes(&state, &req)?;
    admit_customer(&state, &req, visitor.customer.id)?;
    super::attachments::store_upload(&state, &req, &q.filename, body, Party::Customer(visitor.customer.id)).await
}

/// Downloads a file of the visitor's own conversations.
#[utoipa::path(tag = "widget", security(("visitor" = [])), responses(
    (status = 200, description = "the file, as the type it was uploaded as", content_type = "*/*"), (status = 404, body = ErrorBody)))]
#[get("/api/v1/widget/attachments/{id}")]
async fn download(state: State, visitor: Visitor, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let (viewer, id) = (visitor.viewer(), id.into_inner());
    let meta = state.store.conversations().attachment(viewer, id).await?;
    Ok(super::attachments::file_response(&state, meta))
}

/// The widget settings, with the identity secret the team's site signs with.
#[utoipa::path(tag = "widget", responses((status = 200, body = WidgetSettings)))]
#[get("/api/v1/settings/widget")]
async fn get_settings(state: State, _admin: Admin) -> Result<web::Json<WidgetSettings>, ApiError> {
    Ok(web::Json(state.store.settings().widget_with_secret().await?))
}

/// Makes a new identity secret: identities signed with the old one stop working.
#[utoipa::path(tag = "widget", responses((status = 200, body = WidgetSettings)))]
#[post("/api/v1/settings/widget/rotate-secret")]
async fn rotate_secret(state: State, _admin: Admin) -> Result<web::Json<WidgetSettings>, ApiError> {
    let settings = state.store.settings().rotate_identity_secret(token::generate("")).await?;
    Ok(web::Json(settings))
}

/// Replaces the widget settings (admins only).
#[utoipa::path(tag = "widget", request_body = WidgetSettings, responses((status = 200, body = WidgetSettings), (status = 422, body = ErrorBody)))]
#[put("/api/v1/settings/widget")]
async fn put_settings(
    state: State,
    _admin: Admin,
    body: web::Json<WidgetSettings>,
) -> Result<web::Json<WidgetSettings>, ApiError> {
    let mut value = body.into_inner();
    let invalid = |code, message: &str| -> ApiError { crate::domain::Invalid::new(code, message).into() };
    let hex = value.color.len() == 7
        && value.color.starts_with('#')
        && value.color[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if !hex {
        return Err(invalid("invalid_color", "color must look like #2b6cb0"));
    }
    if value.position != "right" && value.position != "left" {
        return Err(invalid("invalid_position", "position must be right or left"));
    }
    value.team_name = Name::parse(&value.team_name)?.into_string();
    for text in [&value.greeting, &value.away_message] {
        if text.chars().count() > 500 {
            return Err(invalid("invalid_text", "greeting and away message must be at most 500 characters"));
        }
    }
    let current = state.store.settings().widget_with_secret().await?;
    if value.identity_secret.is_empty() {
        value.identity_secret = current.identity_secret;
    } else if value.identity_secret.len() < 16 {
        return Err(invalid("invalid_secret", "an identity secret must be at least 16 characters"));
    }
    for origin in &mut value.allowed_origins {
        let trimmed = origin.trim().trim_end_matches('/').to_owned();
        let valid = (trimmed.starts_with("https://") || trimmed.starts_with("http://"))
            && super::socket::origin_of(&trimmed) == trimmed
            && !trimmed.contains(char::is_whitespace);
        if !valid {
            return Err(crate::domain::Invalid::new(
                "invalid_origin",
                format!("{origin:?} is not an origin such as https://www.example.com"),
            )
            .into());
        }
        *origin = trimmed;
    }
    let stored = value.clone();
    state.store.settings().set_widget(stored).await?;
    Ok(web::Json(value))
}
