//! Personal API tokens: everyone manages their own; admins list and revoke anyone's. Revoking
//! takes effect at once, for requests and (through the rights event the store raises) sockets.

use super::{no_content, Admin, Agent, State};
use crate::domain::Name;
use crate::error::{ApiError, ErrorBody};
use crate::store::users::ApiToken;
use crate::token;
use actix_web::{delete, get, post};
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_tokens)
        .service(create_token)
        .service(delete_token)
        .service(list_user_tokens)
        .service(revoke_user_token)
        .service(revoke_user_tokens);
}

#[utoipa::path(tag = "tokens", responses((status = 200, body = Vec<ApiToken>)))]
#[get("/api/v1/tokens")]
async fn list_tokens(state: State, agent: Agent) -> Result<web::Json<Vec<ApiToken>>, ApiError> {
    let uid = agent.user.id;
    Ok(web::Json(state.store.users().tokens(uid).await?))
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
    let token = state.store.users().insert_token(uid, name, hash, now).await?;
    Ok(HttpResponse::Created().json(CreatedToken { token, secret }))
}

/// Revokes one of the caller's tokens.
#[utoipa::path(tag = "tokens", responses((status = 204), (status = 404, body = ErrorBody)))]
#[delete("/api/v1/tokens/{id}")]
async fn delete_token(state: State, agent: Agent, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let (uid, id) = (agent.user.id, id.into_inner());
    state.store.users().delete_token(uid, id).await?;
    Ok(no_content())
}

/// A user's API tokens, without their secrets (admins only).
#[utoipa::path(tag = "tokens", responses(
    (status = 200, body = Vec<ApiToken>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/api/v1/users/{user_id}/tokens")]
async fn list_user_tokens(
    state: State,
    _admin: Admin,
    user_id: web::Path<i64>,
) -> Result<web::Json<Vec<ApiToken>>, ApiError> {
    let uid = user_id.into_inner();
    Ok(web::Json(state.store.users().tokens(uid).await?))
}

/// Revokes one of a user's API tokens (admins only).
#[utoipa::path(tag = "tokens", responses(
    (status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[delete("/api/v1/users/{user_id}/tokens/{id}")]
async fn revoke_user_token(state: State, _admin: Admin, path: web::Path<(i64, i64)>) -> Result<HttpResponse, ApiError> {
    let (uid, id) = path.into_inner();
    state.store.users().delete_token(uid, id).await?;
    Ok(no_content())
}

#[derive(Serialize, ToSchema)]
pub struct Revoked {
    /// How many tokens were revoked.
    pub revoked: usize,
}

/// Revokes every API token of a user (admins only).
#[utoipa::path(tag = "tokens", responses(
    (status = 200, body = Revoked), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[delete("/api/v1/users/{user_id}/tokens")]
async fn revoke_user_tokens(
    state: State,
    _admin: Admin,
    user_id: web::Path<i64>,
) -> Result<web::Json<Revoked>, ApiError> {
    let uid = user_id.into_inner();
    let revoked = state.store.users().delete_tokens(uid).await?;
    Ok(web::Json(Revoked { revoked }))
}
