//! Admins manage agents; everyone manages their own API tokens.

use super::{auth::email, no_content, Admin, Agent, State};
use crate::domain::{Name, Password, Role, Secret};
use crate::error::{ApiError, ErrorBody};
use crate::store::users::{self, ApiToken, User};
use crate::{password, token};
use actix_web::{delete, get, patch, post};
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_users)
        .service(create_user)
        .service(update_user)
        .service(list_tokens)
        .service(create_token)
        .service(delete_token);
}

#[utoipa::path(tag = "users", responses((status = 200, body = Vec<User>)))]
#[get("/api/v1/users")]
async fn list_users(state: State, _agent: Agent) -> Result<web::Json<Vec<User>>, ApiError> {
    Ok(web::Json(state.store.read(users::list).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    #[schema(value_type = String, format = Password)]
    pub password: Secret,
}

/// Adds an agent or admin (admins only).
#[utoipa::path(tag = "users", request_body = NewUser, responses(
    (status = 201, body = User), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
    (status = 422, body = ErrorBody)))]
#[post("/api/v1/users")]
async fn create_user(state: State, _admin: Admin, body: web::Json<NewUser>) -> Result<HttpResponse, ApiError> {
    let email = email(&body.email)?;
    let name = Name::parse(&body.name)?.into_string();
    let password = Password::parse(body.password.clone())?;
    let hash = password::hash(&password).await.map_err(|_| ApiError::internal())?;
    let (role, now) = (body.role, state.now());
    let user = state.store.write(move |c| users::insert(c, &email, &name, role, Some(&hash), now)).await?;
    Ok(HttpResponse::Created().json(user))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    pub name: Option<String>,
    pub role: Option<Role>,
    /// false deactivates: the user's sessions and tokens stop working at once.
    pub active: Option<bool>,
}

/// Renames, changes the role of, deactivates or reactivates a user (admins only).
#[utoipa::path(tag = "users", request_body = UserChange, responses(
    (status = 200, body = User), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[patch("/api/v1/users/{id}")]
async fn update_user(
    state: State,
    _admin: Admin,
    id: web::Path<i64>,
    body: web::Json<UserChange>,
) -> Result<web::Json<User>, ApiError> {
    let name = body.name.as_deref().map(Name::parse).transpose()?.map(Name::into_string);
    let (id, role, active) = (id.into_inner(), body.role, body.active);
    let user = state.store.write(move |c| users::update(c, id, name.as_deref(), role, active)).await?;
    state.hub.reconnect_user(id);
    Ok(web::Json(user))
}

#[utoipa::path(tag = "tokens", responses((status = 200, body = Vec<ApiToken>)))]
#[get("/api/v1/tokens")]
async fn list_tokens(state: State, agent: Agent) -> Result<web::Json<Vec<ApiToken>>, ApiError> {
    let uid = agent.user.id;
    Ok(web::Json(state.store.read(move |c| users::tokens(c, uid)).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: ApiToken,
    /// Shown once: send it as `Authorization: Bearer <secret>`.
    pub secret: String,
}

/// Creates a personal API token for the caller.
#[utoipa::path(tag = "tokens", request_body = NewToken, responses((status = 201, body = CreatedToken)))]
#[post("/api/v1/tokens")]
async fn create_token(state: State, agent: Agent, body: web::Json<NewToken>) -> Result<HttpResponse, ApiError> {
    let name = Name::parse(&body.name)?.into_string();
    let secret = token::generate("rpt_");
    let hash = token::hash(&secret);
    let (uid, now) = (agent.user.id, state.now());
    let token = state.store.write(move |c| users::insert_token(c, uid, &name, &hash, now)).await?;
    Ok(HttpResponse::Created().json(CreatedToken { token, secret }))
}

/// Revokes one of the caller's tokens.
#[utoipa::path(tag = "tokens", responses((status = 204), (status = 404, body = ErrorBody)))]
#[delete("/api/v1/tokens/{id}")]
async fn delete_token(state: State, agent: Agent, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let (uid, id) = (agent.user.id, id.into_inner());
    state.store.write(move |c| users::delete_token(c, uid, id)).await?;
    Ok(no_content())
}
