//! Admins manage agents (their API tokens are in `tokens`).

use super::{auth::email, Admin, Agent, State};
use crate::domain::{Name, Password, Role, Secret};
use crate::error::{ApiError, ErrorBody};
use crate::store::users::{self, User};
use actix_web::{get, patch, post};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_users).service(create_user).service(update_user);
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
    (status = 422, body = ErrorBody),
    (status = 503, description = "`busy`: too many password checks are waiting; see Retry-After", body = ErrorBody)))]
#[post("/api/v1/users")]
async fn create_user(state: State, _admin: Admin, body: web::Json<NewUser>) -> Result<HttpResponse, ApiError> {
    let email = email(&body.email)?;
    let name = Name::parse(&body.name)?.into_string();
    let password = Password::parse(body.password.clone())?;
    let hash = state.passwords.hash(&password).await?;
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
    Ok(web::Json(user))
}
