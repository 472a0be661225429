//! Items (tickets and tasks): create, list (including From customers → Unanswered items),
//! get, edit and assign, change status, follow and unfollow.

use super::{page, Agent, State};
use crate::domain::{Invalid, ItemKind, Priority, Status, Title, MAX_BODY_CHARS};
use crate::error::{ApiError, ErrorBody};
use crate::store::items::{Item, ItemChange, ItemFilter, ItemView, NewItem};
use actix_web::{delete, get, patch, post, put};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(get)
        .service(update)
        .service(conversations_of)
        .service(set_status)
        .service(follow)
        .service(unfollow);
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ItemQuery {
    /// `unanswered`: open items with no customer conversation yet. Default `all`.
    pub view: Option<ItemView>,
    pub status: Option<Status>,
    pub project_id: Option<i64>,
    pub kind: Option<ItemKind>,
    /// Items assigned to this user.
    pub assignee_id: Option<i64>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

/// Visible items, newest first.
#[utoipa::path(tag = "items", params(ItemQuery), responses((status = 200, body = page::Paged<Item>)))]
#[get("/api/v1/items")]
async fn list(state: State, agent: Agent, q: web::Query<ItemQuery>) -> Result<web::Json<page::Paged<Item>>, ApiError> {
    let filter = ItemFilter {
        view: q.view.unwrap_or(ItemView::All),
        status: q.status,
        project_id: q.project_id,
        kind: q.kind,
        assignee_id: q.assignee_id,
        after: page::decode(q.cursor.as_deref())?,
        limit: page::limit(q.limit)?,
    };
    let viewer = agent.viewer;
    let found = state.store.items().list(viewer, filter).await?;
    let next_cursor = found.more.then(|| found.rows.last().map(|i| page::encode(i.created_at, i.id))).flatten();
    Ok(web::Json(page::Paged { entries: found.rows, next_cursor }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateItem {
    pub project_id: i64,
    pub kind: ItemKind,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Default `normal`.
    pub priority: Option<Priority>,
    /// The customer who asked; optional for tasks.
    pub requester_id: Option<i64>,
    /// The user it is assigned to (who then follows it).
    pub assignee_id: Option<i64>,
}

fn description(text: String) -> Result<String, ApiError> {
    if text.chars().count() > MAX_BODY_CHARS {
        return Err(Invalid::new("invalid_description", "description is too long").into());
    }
    Ok(text)
}

/// Creates an item; the creator follows it.
#[utoipa::path(tag = "items", request_body = CreateItem, responses(
    (status = 201, body = Item), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/api/v1/items")]
async fn create(state: State, agent: Agent, body: web::Json<CreateItem>) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let new = NewItem {
        project_id: body.project_id,
        kind: body.kind,
        title: Title::parse(&body.title)?.into_string(),
        description: description(body.description)?,
        priority: body.priority.unwrap_or(Priority::Normal),
        requester_id: body.requester_id,
        assignee_id: body.assignee_id,
        channel: agent.channel,
        created_by: Some(agent.user.id),
    };
    let (viewer, now) = (agent.viewer, state.now());
    let item = state.store.items().insert(viewer, new, now).await?;
    Ok(HttpResponse::Created().json(item))
}

#[utoipa::path(tag = "items", responses((status = 200, body = Item), (status = 404, body = ErrorBody)))]
#[get("/api/v1/items/{id}")]
async fn get(state: State, agent: Agent, id: web::Path<i64>) -> Result<web::Json<Item>, ApiError> {
    let (viewer, id) = (agent.viewer, id.into_inner());
    let item = state.store.items().get(viewer, id).await?;
    // Opening an item is seeing it: its new-item email, if still waiting, is not sent.
    let user = agent.user.id;
    state.store.items().opened(id, user).await?;
    Ok(web::Json(item))
}

/// Present fields change; `null` clears the assignee or the requester.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditItem {
    pub title: Option<String>,
    pub description: Option<String>,
    pub priority: Option<Priority>,
    #[serde(default, deserialize_with = "super::page::present")]
    #[schema(value_type = Option<i64>)]
    pub assignee_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "super::page::present")]
    #[schema(value_type = Option<i64>)]
    pub requester_id: Option<Option<i64>>,
    /// Moves the item (and its conversations) to another project.
    pub project_id: Option<i64>,
}

#[utoipa::path(tag = "items", request_body = EditItem, responses(
    (status = 200, body = Item), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[patch("/api/v1/items/{id}")]
async fn update(
    state: State,
    agent: Agent,
    id: web::Path<i64>,
    body: web::Json<EditItem>,
) -> Result<web::Json<Item>, ApiError> {
    let body = body.into_inner();
    let change = ItemChange {
        title: body.title.as_deref().map(Title::parse).transpose()?.map(Title::into_string),
        description: body.description.map(description).transpose()?,
        priority: body.priority,
        assignee_id: body.assignee_id,
        requester_id: body.requester_id,
        project_id: body.project_id,
    };
    let (viewer, id, now) = (agent.viewer, id.into_inner(), state.now());
    Ok(web::Json(state.store.items().update(viewer, id, change, now).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    pub status: Status,
}

#[utoipa::path(tag = "items", request_body = StatusChange, responses(
    (status = 200, body = Item), (status = 404, body = ErrorBody)))]
#[post("/api/v1/items/{id}/status")]
async fn set_status(
    state: State,
    agent: Agent,
    id: web::Path<i64>,
    body: web::Json<StatusChange>,
) -> Result<web::Json<Item>, ApiError> {
    let (viewer, id, status, now) = (agent.viewer, id.into_inner(), body.status, state.now());
    Ok(web::Json(state.store.items().set_status(viewer, id, status, now).await?))
}

/// The caller follows the item (My conversations shows its conversations).
#[utoipa::path(tag = "items", responses((status = 200, body = Item), (status = 404, body = ErrorBody)))]
#[put("/api/v1/items/{id}/follow")]
async fn follow(state: State, agent: Agent, id: web::Path<i64>) -> Result<web::Json<Item>, ApiError> {
    set_following(state, agent, id.into_inner(), true).await
}

#[utoipa::path(tag = "items", responses((status = 200, body = Item), (status = 404, body = ErrorBody)))]
#[delete("/api/v1/items/{id}/follow")]
async fn unfollow(state: State, agent: Agent, id: web::Path<i64>) -> Result<web::Json<Item>, ApiError> {
    set_following(state, agent, id.into_inner(), false).await
}

async fn set_following(state: State, agent: Agent, id: i64, following: bool) -> Result<web::Json<Item>, ApiError> {
    let (viewer, uid) = (agent.viewer, agent.user.id);
    Ok(web::Json(state.store.items().set_following(viewer, id, uid, following).await?))
}

/// The item's conversations: its customer replies and its internal messages.
#[utoipa::path(tag = "items", responses((status = 200, body = Vec<crate::store::conversations::Conversation>), (status = 404, body = ErrorBody)))]
#[get("/api/v1/items/{id}/conversations")]
async fn conversations_of(
    state: State,
    agent: Agent,
    id: web::Path<i64>,
) -> Result<web::Json<Vec<crate::store::conversations::Conversation>>, ApiError> {
    let (viewer, id) = (agent.viewer, id.into_inner());
    let found = state.store.items().conversations(viewer, id).await?;
    Ok(web::Json(found))
}
