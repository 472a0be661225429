//! Conversations and their messages: create, list by the messenger's views, get, close,
//! reopen; list messages after (or before) a sequence number, post idempotently, mark seen.

use super::{page, Agent, State};
use crate::domain::{ConversationKind, Invalid, Party, Status};
use crate::error::{ApiError, ErrorBody};
use crate::store::conversations::{
    self, Conversation, ConversationFilter, ConversationView, Message, MessagePage, NewConversation, NewMessage,
};
use crate::store::counts::Counts;
use crate::store::search as fts;
use actix_web::{get, post};
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    // `counts` before `{id}`: a path that does not parse as an id is otherwise a 404.
    cfg.service(list)
        .service(counts)
        .service(search)
        .service(create)
        .service(get)
        .service(close)
        .service(reopen)
        .service(make_ticket)
        .service(list_messages)
        .service(post_message)
        .service(mark_seen);
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// One of the messenger's views.
    pub view: ConversationView,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

/// A view of the agents' messenger, most recently active first.
#[utoipa::path(tag = "conversations", params(ListQuery), responses(
    (status = 200, body = page::Paged<Conversation>), (status = 400, body = ErrorBody)))]
#[get("/api/v1/conversations")]
async fn list(
    state: State,
    agent: Agent,
    q: web::Query<ListQuery>,
) -> Result<web::Json<page::Paged<Conversation>>, ApiError> {
    let filter =
        ConversationFilter { view: q.view, after: page::decode(q.cursor.as_deref())?, limit: page::limit(q.limit)? };
    let viewer = agent.viewer;
    let found = state.store.conversations().list(viewer, filter).await?;
    let next_cursor = found.more.then(|| found.rows.last().map(|c| page::encode(c.last_activity_at, c.id))).flatten();
    Ok(web::Json(page::Paged { entries: found.rows, next_cursor }))
}

#[utoipa::path(tag = "conversations", responses((status = 200, body = Counts)))]
#[get("/api/v1/conversations/counts")]
async fn counts(state: State, agent: Agent) -> Result<web::Json<Counts>, ApiError> {
    let viewer = agent.viewer;
    Ok(web::Json(state.store.conversations().counts(viewer).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Words to find (each as a prefix) in messages and in items' titles and descriptions.
    pub q: String,
    pub limit: Option<usize>,
}

/// How long a search may run before it is stopped and answered `query_too_slow`.
const SEARCH_BUDGET: std::time::Duration = std::time::Duration::from_secs(5);

/// Searches what the caller may see: messages of visible conversations (internal ones only
/// for those who may see them) and visible items.
#[utoipa::path(tag = "conversations", params(SearchQuery), responses((status = 200, body = fts::SearchResults)))]
#[get("/api/v1/search")]
async fn search(
    state: State,
    agent: Agent,
    q: web::Query<SearchQuery>,
) -> Result<web::Json<fts::SearchResults>, ApiError> {
    let (viewer, limit, text) = (agent.viewer, page::limit(q.limit)?, q.q.clone());
    let found = state.store.conversations().search(viewer, text, limit, SEARCH_BUDGET).await?;
    Ok(web::Json(found))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessageBody {
    #[serde(default)]
    pub body: String,
    /// Chosen by the client; a resend with the same id returns the first message.
    pub client_id: Option<String>,
    /// Uploaded with `POST /api/v1/attachments` and not yet sent.
    #[serde(default)]
    pub attachment_ids: Vec<i64>,
}

/// What a customer sends to start a conversation.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConversationBody {
    pub message: Option<NewMessageBody>,
    /// The page the customer is on (shown to agents).
    pub page_url: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConversation {
    pub kind: ConversationKind,
    /// Attach to an item (the conversation takes its project) ...
    pub item_id: Option<i64>,
    /// ... or stand alone, optionally in a project.
    pub project_id: Option<i64>,
    #[serde(default)]
    pub subject: String,
    /// The customer of a public conversation. Internal conversations have none.
    pub customer_id: Option<i64>,
    /// An optional first message.
    pub message: Option<NewMessageBody>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedConversation {
    pub conversation: Conversation,
    pub message: Option<Message>,
    /// The bot's reply, when a customer started the conversation and the auto-responder is on.
    pub auto_reply: Option<Message>,
}

impl From<crate::store::Started> for CreatedConversation {
    fn from(s: crate::store::Started) -> Self {
        CreatedConversation { conversation: s.conversation, message: s.message, auto_reply: s.auto_reply }
    }
}

/// The message a client sent; the store checks it (`conversations::post`), alike on every path.
pub(super) fn new_message(author: Party, m: NewMessageBody) -> NewMessage {
    NewMessage { client_id: m.client_id, body: m.body, author, attachment_ids: m.attachment_ids }
}

/// Starts a conversation, standalone or on an item, public or internal.
#[utoipa::path(tag = "conversations", request_body = CreateConversation, responses(
    (status = 201, body = CreatedConversation), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/api/v1/conversations")]
async fn create(state: State, agent: Agent, body: web::Json<CreateConversation>) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    if body.subject.chars().count() > 500 {
        return Err(Invalid::new("invalid_subject", "The subject is too long: at most 500 characters.").into());
    }
    let author = Party::User(agent.user.id);
    let first = body.message.map(|m| new_message(author, m));
    let new = NewConversation {
        project_id: body.project_id,
        item_id: body.item_id,
        kind: body.kind,
        subject: body.subject.trim().to_owned(),
        customer_id: body.customer_id,
        channel: agent.channel,
        page_url: None,
        creator: author,
    };
    let started = state.store.create_conversation(agent.viewer, new, first, state.now()).await?;
    Ok(HttpResponse::Created().json(CreatedConversation::from(started)))
}

#[utoipa::path(tag = "conversations", responses((status = 200, body = Conversation), (status = 404, body = ErrorBody)))]
#[get("/api/v1/conversations/{id}")]
async fn get(state: State, agent: Agent, id: web::Path<i64>) -> Result<web::Json<Conversation>, ApiError> {
    let (viewer, id) = (agent.viewer, id.into_inner());
    Ok(web::Json(state.store.conversations().get(viewer, id).await?))
}

async fn set_status(state: State, agent: Agent, id: i64, status: Status) -> Result<web::Json<Conversation>, ApiError> {
    Ok(web::Json(state.store.set_conversation_status(agent.viewer, id, status, state.now()).await?))
}

#[utoipa::path(tag = "conversations", responses((status = 200, body = Conversation), (status = 404, body = ErrorBody)))]
#[post("/api/v1/conversations/{id}/close")]
async fn close(state: State, agent: Agent, id: web::Path<i64>) -> Result<web::Json<Conversation>, ApiError> {
    set_status(state, agent, id.into_inner(), Status::Closed).await
}

#[utoipa::path(tag = "conversations", responses((status = 200, body = Conversation), (status = 404, body = ErrorBody)))]
#[post("/api/v1/conversations/{id}/reopen")]
async fn reopen(state: State, agent: Agent, id: web::Path<i64>) -> Result<web::Json<Conversation>, ApiError> {
    set_status(state, agent, id.into_inner(), Status::Open).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicket {
    pub project_id: i64,
    pub title: String,
}

#[derive(Serialize, ToSchema)]
pub struct Ticketed {
    pub conversation: Conversation,
    pub item: crate::store::items::Item,
}

/// Makes a ticket of a standalone conversation; the conversation moves onto it.
#[utoipa::path(tag = "conversations", request_body = NewTicket, responses(
    (status = 201, body = Ticketed), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/api/v1/conversations/{id}/ticket")]
async fn make_ticket(
    state: State,
    agent: Agent,
    id: web::Path<i64>,
    body: web::Json<NewTicket>,
) -> Result<HttpResponse, ApiError> {
    let title = crate::domain::Title::parse(&body.title)?.into_string();
    let (viewer, creator, id, project, now) =
        (agent.viewer, agent.user.id, id.into_inner(), body.project_id, state.now());
    let (conversation, item) =
        state.store.conversations().make_ticket(viewer, id, project, title, creator, now).await?;
    Ok(HttpResponse::Created().json(Ticketed { conversation, item }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MessageQuery {
    /// Messages with a sequence number above this (default 0: from the start).
    pub after: Option<i64>,
    /// Or: the last `limit` messages below this sequence number (scrolling back).
    pub before: Option<i64>,
    /// 1-200, default 50.
    pub limit: Option<usize>,
}

impl MessageQuery {
    pub(super) fn page(&self) -> Result<(MessagePage, usize), ApiError> {
        let which = match (self.after, self.before) {
            (Some(_), Some(_)) => return Err(ApiError::bad_request("invalid_query", "give after or before, not both")),
            (_, Some(before)) => MessagePage::Before(before),
            (after, None) => MessagePage::After(after.unwrap_or(0)),
        };
        Ok((which, page::limit(self.limit)?))
    }
}

/// Messages in sequence order.
#[utoipa::path(tag = "messages", params(MessageQuery), responses(
    (status = 200, body = Vec<Message>), (status = 404, body = ErrorBody)))]
#[get("/api/v1/conversations/{id}/messages")]
async fn list_messages(
    state: State,
    agent: Agent,
    id: web::Path<i64>,
    q: web::Query<MessageQuery>,
) -> Result<web::Json<Vec<Message>>, ApiError> {
    let (which, limit) = q.page()?;
    let (viewer, id) = (agent.viewer, id.into_inner());
    Ok(web::Json(state.store.conversations().messages(viewer, id, which, limit).await?))
}

/// Posts a message. Answers 201 once it is committed; a resend with the same `client_id`
/// answers 200 with the original message and creates nothing.
#[utoipa::path(tag = "messages", request_body = NewMessageBody, responses(
    (status = 201, body = Message), (status = 200, body = Message, description = "replayed resend"),
    (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/api/v1/conversations/{id}/messages")]
async fn post_message(
    state: State,
    agent: Agent,
    id: web::Path<i64>,
    body: web::Json<NewMessageBody>,
) -> Result<HttpResponse, ApiError> {
    let new = new_message(Party::User(agent.user.id), body.into_inner());
    let posted = state.store.post_message(agent.viewer, id.into_inner(), new, state.now()).await?;
    Ok(posted_response(posted))
}

/// 201 with a new message; 200 with the original one for a replayed resend.
pub(super) fn posted_response(posted: conversations::Posted) -> HttpResponse {
    if posted.replayed {
        HttpResponse::Ok().insert_header(("Idempotent-Replayed", "true")).json(posted.message)
    } else {
        HttpResponse::Created().json(posted.message)
    }
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Seen {
    /// The highest sequence number shown to the caller.
    pub seq: i64,
}

/// Records that the caller has seen the conversation up to `seq`. Marks only move forward.
#[utoipa::path(tag = "messages", request_body = Seen, responses((status = 200, body = Seen), (status = 404, body = ErrorBody)))]
#[post("/api/v1/conversations/{id}/seen")]
async fn mark_seen(
    state: State,
    agent: Agent,
    id: web::Path<i64>,
    body: web::Json<Seen>,
) -> Result<web::Json<Seen>, ApiError> {
    if body.seq < 0 {
        return Err(Invalid::new("invalid_seq", "seq must not be negative").into());
    }
    let party = Party::User(agent.user.id);
    let seq = state.store.mark_seen(agent.viewer, party, id.into_inner(), body.seq, state.now()).await?;
    Ok(web::Json(Seen { seq }))
}
