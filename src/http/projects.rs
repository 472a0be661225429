//! Projects and their members. Agents see the projects they belong to; admins manage them.

use super::{no_content, Admin, Agent, State};
use crate::domain::Name;
use crate::error::{ApiError, ErrorBody};
use crate::store::projects::Project;
use actix_web::{delete, get, post, put};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list).service(create).service(get).service(members).service(add_member).service(remove_member);
}

#[utoipa::path(tag = "projects", responses((status = 200, body = Vec<Project>)))]
#[get("/api/v1/projects")]
async fn list(state: State, agent: Agent) -> Result<web::Json<Vec<Project>>, ApiError> {
    let viewer = agent.viewer;
    Ok(web::Json(state.store.items().projects(viewer).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    pub name: String,
}

#[utoipa::path(tag = "projects", request_body = NewProject, responses(
    (status = 201, body = Project), (status = 409, body = ErrorBody)))]
#[post("/api/v1/projects")]
async fn create(state: State, _admin: Admin, body: web::Json<NewProject>) -> Result<HttpResponse, ApiError> {
    let name = Name::parse(&body.name)?.into_string();
    let now = state.now();
    let project = state.store.items().insert_project(name, now).await?;
    Ok(HttpResponse::Created().json(project))
}

#[utoipa::path(tag = "projects", responses((status = 200, body = Project), (status = 404, body = ErrorBody)))]
#[get("/api/v1/projects/{id}")]
async fn get(state: State, agent: Agent, id: web::Path<i64>) -> Result<web::Json<Project>, ApiError> {
    let (viewer, id) = (agent.viewer, id.into_inner());
    Ok(web::Json(state.store.items().project(viewer, id).await?))
}

/// User ids of the project's members.
#[utoipa::path(tag = "projects", responses((status = 200, body = Vec<i64>), (status = 404, body = ErrorBody)))]
#[get("/api/v1/projects/{id}/members")]
async fn members(state: State, agent: Agent, id: web::Path<i64>) -> Result<web::Json<Vec<i64>>, ApiError> {
    let (viewer, id) = (agent.viewer, id.into_inner());
    let members = state.store.items().members(viewer, id).await?;
    Ok(web::Json(members))
}

#[utoipa::path(tag = "projects", responses((status = 204), (status = 404, body = ErrorBody)))]
#[put("/api/v1/projects/{id}/members/{user_id}")]
async fn add_member(state: State, admin: Admin, path: web::Path<(i64, i64)>) -> Result<HttpResponse, ApiError> {
    set_member(state, admin, path.into_inner(), true).await
}

#[utoipa::path(tag = "projects", responses((status = 204), (status = 404, body = ErrorBody)))]
#[delete("/api/v1/projects/{id}/members/{user_id}")]
async fn remove_member(state: State, admin: Admin, path: web::Path<(i64, i64)>) -> Result<HttpResponse, ApiError> {
    set_member(state, admin, path.into_inner(), false).await
}

async fn set_member(
    state: State,
    admin: Admin,
    (id, user): (i64, i64),
    member: bool,
) -> Result<HttpResponse, ApiError> {
    let viewer = admin.0.viewer;
    state.store.items().set_member(viewer, id, user, member).await?;
    Ok(no_content())
}
