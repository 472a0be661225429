//! Admins manage agents (their API tokens are in `tokens`); every agent sets their own photo,
//! which anyone may fetch (customers see the team's faces in the widget).

use super::{auth::email, Admin, Agent, State};
use crate::domain::photo::{photo_type, PhotoError, MAX_PHOTO_BYTES};
use crate::domain::{Name, Password, Role, Secret};
use crate::error::{ApiError, ErrorBody};
use crate::store::users::User;
use actix_web::http::header::{self, EntityTag};
use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, put};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_users)
        .service(create_user)
        .service(update_user)
        .service(put_photo)
        .service(delete_photo)
        .service(get_photo);
}

#[utoipa::path(tag = "users", responses((status = 200, body = Vec<User>)))]
#[get("/api/v1/users")]
async fn list_users(state: State, _agent: Agent) -> Result<web::Json<Vec<User>>, ApiError> {
    Ok(web::Json(state.store.users().list().await?))
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
    let user = state.store.users().insert(email, name, role, Some(hash), now).await?;
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
    let user = state.store.users().update(id, name, role, active).await?;
    Ok(web::Json(user))
}

fn photo_error(e: PhotoError) -> ApiError {
    let status = match e {
        PhotoError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        PhotoError::Unsupported => StatusCode::UNSUPPORTED_MEDIA_TYPE,
    };
    ApiError::new(status, e.code(), e.sentence())
}

/// The body, refused as soon as it grows past the largest photo.
async fn read_photo(req: &HttpRequest, mut body: web::Payload) -> Result<Vec<u8>, ApiError> {
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_PHOTO_BYTES) {
        return Err(photo_error(PhotoError::TooLarge));
    }
    let mut data = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk
            .map_err(|_| ApiError::bad_request("invalid_body", "The photo did not arrive whole; please try again."))?;
        if data.len() + chunk.len() > MAX_PHOTO_BYTES {
            return Err(photo_error(PhotoError::TooLarge));
        }
        data.extend_from_slice(&chunk);
    }
    Ok(data)
}

/// Sets the caller's photo: the raw image is the body (PNG, JPEG, WebP or GIF, at most 2 MB),
/// `Content-Type` its type, which must match its bytes. Answers with the user and their new
/// `photo_url`.
#[utoipa::path(tag = "users",
    request_body(content((Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/webp"), (Vec<u8> = "image/gif"))),
    responses((status = 200, body = User),
        (status = 413, description = "`photo_too_large`: more than 2 MB", body = ErrorBody),
        (status = 415, description = "`photo_type_unsupported`: not a PNG, JPEG, WebP or GIF image, or not the type sent", body = ErrorBody)))]
#[put("/api/v1/me/photo")]
async fn put_photo(
    state: State,
    agent: Agent,
    req: HttpRequest,
    body: web::Payload,
) -> Result<web::Json<User>, ApiError> {
    let data = read_photo(&req, body).await?;
    let declared = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let content_type = photo_type(declared, &data).map_err(photo_error)?;
    let (id, now) = (agent.user.id, state.now());
    let user = state.store.users().set_photo(id, content_type, data, now).await?;
    Ok(web::Json(user))
}

/// Removes the caller's photo.
#[utoipa::path(tag = "users", responses((status = 200, body = User)))]
#[delete("/api/v1/me/photo")]
async fn delete_photo(state: State, agent: Agent) -> Result<web::Json<User>, ApiError> {
    let id = agent.user.id;
    Ok(web::Json(state.store.users().delete_photo(id).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PhotoQuery {
    /// The version from a `photo_url`: with the current one the photo is cached for a year.
    pub v: Option<String>,
}

/// An agent's photo, for anyone (the widget shows the team's faces to customers). Requested
/// with its current version (`?v=`, as in `photo_url`) it may be cached for good.
#[utoipa::path(tag = "users", security(()), params(PhotoQuery), responses(
    (status = 200, description = "the image", content_type = "image/*"),
    (status = 304, description = "the caller has this version already"),
    (status = 404, description = "`photo_not_found`: no photo, or the user is deactivated", body = ErrorBody)))]
#[get("/api/v1/users/{id}/photo")]
async fn get_photo(state: State, req: HttpRequest, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let photo = state.store.users().photo(id).await.map_err(|e| match e {
        crate::store::StoreError::NotFound(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "photo_not_found", "This person has no photo.")
        }
        e => e.into(),
    })?;
    // Not the web::Query extractor: a bad query must not turn a photo into an error.
    let asked = web::Query::<PhotoQuery>::from_query(req.query_string()).ok().and_then(|q| q.0.v);
    let current = asked.as_deref() == Some(photo.updated_at.to_string().as_str());
    let cache = if current { "public, max-age=31536000, immutable" } else { "no-cache" };
    let tag = EntityTag::new_strong(format!("{id}-{}", photo.updated_at));
    let held = if_none_match(&req, &tag);
    let mut res = if held { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    res.insert_header(header::ETag(tag))
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Content-Security-Policy", "default-src 'none'; sandbox"));
    Ok(if held { res.finish() } else { res.content_type(photo.content_type).body(photo.data) })
}

fn if_none_match(req: &HttpRequest, tag: &EntityTag) -> bool {
    let quoted = tag.to_string();
    let known = req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).unwrap_or("");
    known.split(',').any(|t| t.trim().trim_start_matches("W/") == quoted || t.trim() == "*")
}
