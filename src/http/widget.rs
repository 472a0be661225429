//! What the customer widget talks to: anonymous visitors (a random token kept in the browser),
//! their conversations and messages, and the widget's settings (admins).

use super::conversations::{new_message, CreateConversationBody, MessageQuery, NewMessageBody};
use super::{client_ip, Admin, State};
use crate::domain::{Channel, ConversationKind, Party};
use crate::error::{ApiError, ErrorBody};
use crate::store::conversations::{self, Conversation, Message, NewConversation};
use crate::store::customers::{self, Customer};
use crate::store::settings::{self, WidgetSettings};
use crate::store::Viewer;
use crate::token;
use actix_web::{dev::Payload, get, post, put, web, FromRequest, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;
use serde::Serialize;
use utoipa::ToSchema;

pub const VISITOR_HEADER: &str = "x-rapport-visitor";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(new_visitor)
        .service(my_conversations)
        .service(start_conversation)
        .service(messages)
        .service(post_message)
        .service(get_settings)
        .service(put_settings);
}

/// A widget visitor, identified by the token in `X-Rapport-Visitor` (or `?token=` on sockets).
pub struct Visitor(pub Customer);

impl Visitor {
    fn viewer(&self) -> Viewer {
        Viewer::Customer { customer_id: self.0.id }
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

impl FromRequest for Visitor {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Visitor, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<State>().cloned();
        let token = visitor_token(req);
        Box::pin(async move {
            let (Some(state), Some(token)) = (state, token) else {
                return Err(ApiError::unauthenticated());
            };
            let hash = token::hash(&token);
            let customer = state.store.read(move |c| customers::by_visitor_token(c, &hash)).await?;
            customer.map(Visitor).ok_or_else(ApiError::unauthenticated)
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
    let (ip, now) = (client_ip(&req), state.now());
    if let Some(secs) = state.new_visitors.blocked(&ip, now) {
        return Err(ApiError::too_many("too_many_visitors", secs));
    }
    state.new_visitors.hit(&ip, now);
    let secret = token::generate("rpv_");
    let hash = token::hash(&secret);
    let customer = state.store.write(move |c| customers::insert_visitor(c, &hash, now)).await?;
    Ok(HttpResponse::Created().json(NewVisitor { token: secret, customer }))
}

/// The visitor's conversations, most recent first.
#[utoipa::path(tag = "widget", security(("visitor" = [])), responses((status = 200, body = Vec<Conversation>)))]
#[get("/api/v1/widget/conversations")]
async fn my_conversations(state: State, visitor: Visitor) -> Result<web::Json<Vec<Conversation>>, ApiError> {
    let id = visitor.0.id;
    Ok(web::Json(state.store.read(move |c| conversations::of_customer(c, id, 100)).await?))
}

/// Starts a conversation with the team.
#[utoipa::path(tag = "widget", security(("visitor" = [])), request_body = CreateConversationBody,
    responses((status = 201, body = super::conversations::CreatedConversation), (status = 422, body = ErrorBody)))]
#[post("/api/v1/widget/conversations")]
async fn start_conversation(
    state: State,
    visitor: Visitor,
    body: web::Json<CreateConversationBody>,
) -> Result<HttpResponse, ApiError> {
    let author = Party::Customer(visitor.0.id);
    let body = body.into_inner();
    let first = body.message.map(|m| new_message(author, m)).transpose()?;
    let new = NewConversation {
        project_id: None,
        item_id: None,
        kind: ConversationKind::Public,
        subject: String::new(),
        customer_id: Some(visitor.0.id),
        channel: Channel::Chat,
        creator: author,
    };
    let (conversation, message) = state.store.create_conversation(visitor.viewer(), new, first, state.now()).await?;
    Ok(HttpResponse::Created().json(super::conversations::CreatedConversation { conversation, message }))
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
    Ok(web::Json(state.store.read(move |c| conversations::messages(c, viewer, id, page, limit)).await?))
}

#[utoipa::path(tag = "widget", security(("visitor" = [])), request_body = NewMessageBody,
    responses((status = 201, body = Message), (status = 200, body = Message), (status = 404, body = ErrorBody)))]
#[post("/api/v1/widget/conversations/{id}/messages")]
async fn post_message(
    state: State,
    visitor: Visitor,
    id: web::Path<i64>,
    body: web::Json<NewMessageBody>,
) -> Result<HttpResponse, ApiError> {
    let new = new_message(Party::Customer(visitor.0.id), body.into_inner())?;
    let posted = state.store.post_message(visitor.viewer(), id.into_inner(), new, state.now()).await?;
    Ok(super::conversations::posted_response(posted))
}

#[utoipa::path(tag = "widget", responses((status = 200, body = WidgetSettings)))]
#[get("/api/v1/settings/widget")]
async fn get_settings(state: State, _admin: Admin) -> Result<web::Json<WidgetSettings>, ApiError> {
    Ok(web::Json(state.store.read(settings::widget).await?))
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
    state.store.write(move |c| settings::set_widget(c, &stored)).await?;
    Ok(web::Json(value))
}
