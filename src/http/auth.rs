//! Who is calling: a session cookie (with a CSRF token for anything that changes state) or a
//! personal API token. Also login, logout, "who am I" and the caller's preferences.

use super::login_limits::check_password;
use super::{AppState, State};
use crate::domain::{Email, Secret};
use crate::error::ApiError;
use crate::store::users::{self, Session};
use crate::store::{Credential, Viewer};
use crate::token;
use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::{Method, StatusCode};
use actix_web::{dev::Payload, web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use actix_web::{get, post, put};
use futures_util::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const SESSION_COOKIE: &str = "rapport_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// An authenticated internal user.
#[derive(Clone)]
pub struct Agent {
    pub user: users::User,
    pub viewer: Viewer,
    /// Where the caller works: `App` in the agents' app (a cookie session), `Api` with a token.
    pub channel: crate::domain::Channel,
    /// What they signed in with, for a socket to check again later.
    pub credential: Credential,
}

/// An authenticated admin.
pub struct Admin(pub Agent);

impl Agent {
    fn from_session(s: Session, credential: Credential) -> Agent {
        let channel = match credential {
            Credential::Session(_) => crate::domain::Channel::App,
            Credential::Token(_) => crate::domain::Channel::Api,
        };
        Agent { viewer: Viewer::agent(s.user.id, s.user.role, s.see_all_projects), user: s.user, channel, credential }
    }
}

async fn authenticate(req: HttpRequest) -> Result<Agent, ApiError> {
    let state = req.app_data::<State>().ok_or_else(ApiError::internal)?.clone();
    if req.headers().get("authorization").is_none() && req.cookie(SESSION_COOKIE).is_none() {
        return Err(ApiError::unauthenticated());
    }
    if let Some(header) = req.headers().get("authorization") {
        let token =
            header.to_str().ok().and_then(|h| h.strip_prefix("Bearer ")).ok_or_else(ApiError::unauthenticated)?;
        let hash = token::hash(token.trim());
        let (now, lookup) = (state.now(), hash.clone());
        let (session, stale) =
            state.store.users().by_token(lookup, now).await?.ok_or_else(ApiError::unauthenticated)?;
        if let Some(id) = stale {
            // Off the request path: a failure to note the time must not fail the request.
            let store = state.store.clone();
            tokio::spawn(async move { store.users().token_used(id, now).await });
        }
        return Ok(Agent::from_session(session, Credential::Token(hash)));
    }
    let cookie = req.cookie(SESSION_COOKIE).ok_or_else(ApiError::unauthenticated)?;
    let hash = token::hash(cookie.value());
    let (now, lookup) = (state.now(), hash.clone());
    let session = state.store.users().session(lookup, now).await?.ok_or_else(ApiError::unauthenticated)?;
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        let sent = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
        let expected = session.csrf_token.as_deref().unwrap_or("");
        if !token::equal(sent, expected) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf_token_invalid",
                "send the csrf_token from login or /api/v1/me in the X-CSRF-Token header",
            ));
        }
    }
    Ok(Agent::from_session(session, Credential::Session(hash)))
}

/// Who the caller is, settled before any handler reads the body: a caller who will be refused
/// learns nothing from how their body would have been parsed.
#[derive(Clone)]
struct Authenticated(Result<Agent, ApiError>);

/// Middleware for `/api/`: authenticates once, up front, and leaves the outcome for the
/// `Agent` and `Admin` extractors.
pub async fn preauthenticate(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    if req.path().starts_with("/api/") {
        let outcome = authenticate(req.request().clone()).await;
        req.extensions_mut().insert(Authenticated(outcome));
        super::widget::preidentify(req.request()).await;
    }
    next.call(req).await
}

fn settled(req: &HttpRequest) -> Option<Result<Agent, ApiError>> {
    req.extensions().get::<Authenticated>().map(|a| a.0.clone())
}

impl FromRequest for Agent {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Agent, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let settled = settled(req);
        let req = req.clone();
        Box::pin(async move {
            match settled {
                Some(outcome) => outcome,
                None => authenticate(req).await,
            }
        })
    }
}

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Admin, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let agent = Agent::from_request(req, payload);
        Box::pin(async move {
            let agent = agent.await?;
            if agent.user.role != crate::domain::Role::Admin {
                return Err(ApiError::forbidden("only admins may do this"));
            }
            Ok(Admin(agent))
        })
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(login).service(logout).service(me).service(get_preferences).service(put_preferences);
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    #[schema(value_type = String, format = Password)]
    pub password: Secret,
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub user: users::User,
    /// Present for cookie sessions: echo it in `X-CSRF-Token` on every state-changing request.
    pub csrf_token: Option<String>,
    pub preferences: users::Preferences,
}

/// Starts a session; answers with the user, the CSRF token, a session cookie and a known-device
/// cookie. Limits: 20 password checks per client address and 5 failures per account and address
/// in 15 minutes (429 `too_many_login_attempts`); 20 failures per account in an hour from
/// browsers that never signed in to it (429 `account_locked`; a browser with the known-device
/// cookie is exempt). When too many password checks are already waiting: 503 `busy`.
#[utoipa::path(tag = "auth", security(()), request_body = LoginRequest, responses(
    (status = 200, body = Me), (status = 401, body = crate::error::ErrorBody),
    (status = 429, description = "`too_many_login_attempts` or `account_locked`; see Retry-After", body = crate::error::ErrorBody),
    (status = 503, description = "`busy`: too many password checks are waiting; see Retry-After", body = crate::error::ErrorBody)))]
#[post("/api/v1/auth/login")]
async fn login(state: State, req: HttpRequest, body: web::Json<LoginRequest>) -> Result<HttpResponse, ApiError> {
    let account = body.email.trim().to_lowercase();
    let lookup = account.clone();
    let (user, device) =
        check_password(&state, &req, &account, &body.password, state.store.users().for_login(lookup)).await?;
    let (cookie, csrf) = start_session(&state, user.id).await?;
    let uid = user.id;
    let preferences = state.store.users().preferences(uid).await?;
    Ok(HttpResponse::Ok().cookie(cookie).cookie(device).json(Me { user, csrf_token: Some(csrf), preferences }))
}

/// Creates a session row and the cookie that carries it.
pub(super) async fn start_session(state: &AppState, user_id: i64) -> Result<(Cookie<'static>, String), ApiError> {
    let secret = token::generate("");
    let csrf = token::generate("");
    let hash = token::hash(&secret);
    let now = state.now();
    let hours = state.config.session_hours;
    let expires = now + (hours as i64) * 3_600_000;
    let csrf_stored = csrf.clone();
    state.store.users().insert_session(hash, user_id, csrf_stored, now, expires).await?;
    let cookie = Cookie::build(SESSION_COOKIE, secret)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.config.base_url.starts_with("https://"))
        .max_age(CookieDuration::hours(hours as i64))
        .finish();
    Ok((cookie, csrf))
}

/// Ends the current cookie session.
#[utoipa::path(tag = "auth", responses((status = 204), (status = 401, body = crate::error::ErrorBody)))]
#[post("/api/v1/auth/logout")]
async fn logout(state: State, req: HttpRequest, _agent: Agent) -> Result<HttpResponse, ApiError> {
    if let Some(cookie) = req.cookie(SESSION_COOKIE) {
        let hash = token::hash(cookie.value());
        state.store.users().delete_session(hash).await?;
    }
    let mut gone = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    gone.make_removal();
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}

/// The caller, their CSRF token (cookie sessions) and their preferences.
#[utoipa::path(tag = "auth", responses((status = 200, body = Me), (status = 401, body = crate::error::ErrorBody)))]
#[get("/api/v1/me")]
async fn me(state: State, req: HttpRequest, agent: Agent) -> Result<web::Json<Me>, ApiError> {
    let uid = agent.user.id;
    let preferences = state.store.users().preferences(uid).await?;
    let csrf_token = match req.cookie(SESSION_COOKIE) {
        Some(cookie) if req.headers().get("authorization").is_none() => {
            let hash = token::hash(cookie.value());
            let now = state.now();
            state.store.users().session(hash, now).await?.and_then(|s| s.csrf_token)
        }
        _ => None,
    };
    Ok(web::Json(Me { user: agent.user, csrf_token, preferences }))
}

#[utoipa::path(tag = "auth", responses((status = 200, body = users::Preferences)))]
#[get("/api/v1/me/preferences")]
async fn get_preferences(state: State, agent: Agent) -> Result<web::Json<users::Preferences>, ApiError> {
    let uid = agent.user.id;
    Ok(web::Json(state.store.users().preferences(uid).await?))
}

/// Replaces the caller's preferences.
#[utoipa::path(tag = "auth", request_body = users::Preferences, responses((status = 200, body = users::Preferences)))]
#[put("/api/v1/me/preferences")]
async fn put_preferences(
    state: State,
    agent: Agent,
    body: web::Json<users::Preferences>,
) -> Result<web::Json<users::Preferences>, ApiError> {
    let uid = agent.user.id;
    let prefs = body.into_inner();
    let stored = prefs.clone();
    state.store.users().set_preferences(uid, stored).await?;
    Ok(web::Json(prefs))
}

/// Parses an email for lookups and creation; shared by the user and customer endpoints.
pub(super) fn email(text: &str) -> Result<String, ApiError> {
    Ok(Email::parse(text)?.into_string())
}
