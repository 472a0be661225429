//! First run: while there is no admin, the server prints a one-time link; the page behind it
//! lets the first admin choose a password in the browser. Once an admin exists, however it was
//! made, the page says so and points to the sign-in instead.

use super::{auth::start_session, State};
use crate::domain::{Email, Name, Password, Secret};
use crate::error::ApiError;
use crate::text::escape;
use crate::token;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use std::sync::Mutex;

/// The one-time setup secret, present only while no admin exists.
#[derive(Default)]
pub struct SetupLink(Mutex<Option<String>>);

impl SetupLink {
    /// Makes a new secret and returns it.
    pub fn issue(&self) -> String {
        let secret = token::generate("");
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(secret.clone());
        secret
    }

    fn matches(&self, candidate: &str) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).as_deref().is_some_and(|s| token::equal(s, candidate))
    }

    fn spend(&self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/setup", web::get().to(form)).route("/setup", web::post().to(submit));
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("Cache-Control", "no-store"))
        .body(format!(
            "<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content='width=device-width'>\
             <title>{title} · Rapport</title><style>body{{font:16px system-ui;max-width:28rem;margin:4rem auto;padding:0 1rem;color:#1f2430}}\
             label{{display:block;margin:.8rem 0 .2rem}}input{{width:100%;padding:.5rem;font:inherit;box-sizing:border-box}}\
             button{{margin-top:1.2rem;padding:.6rem 1.2rem;font:inherit;background:#2b6cb0;color:#fff;border:0;border-radius:6px}}\
             .err{{color:#b00020}}</style><h1>{title}</h1>{body}</html>"
        ))
}

fn form_html(secret: &str, error: Option<&str>, name: &str, email: &str) -> String {
    let error = error.map(|e| format!("<p class=err role=alert>{}</p>", escape(e))).unwrap_or_default();
    format!(
        "<p>Create the first admin account of this Rapport server.</p>{error}\
         <form method=post action=/setup><input type=hidden name=token value='{}'>\
         <label for=name>Your name</label><input id=name name=name required value='{}'>\
         <label for=email>Email</label><input id=email name=email type=email required value='{}'>\
         <label for=password>Password (8 characters or more)</label>\
         <input id=password name=password type=password minlength=8 required>\
         <button type=submit>Create admin</button></form>",
        escape(secret),
        escape(name),
        escape(email)
    )
}

/// The page once an admin exists: no form, a way to sign in.
fn set_up() -> HttpResponse {
    page(
        StatusCode::GONE,
        "Already set up",
        "<p>Setup is done: this Rapport server has an admin.</p><p><a href=/app/>Sign in</a></p>",
    )
}

/// A link that is not the current one, while there is no admin yet.
fn not_valid() -> HttpResponse {
    page(
        StatusCode::GONE,
        "Setup link not valid",
        "<p>This setup link is not valid. Use the one the server printed when it last started.</p>",
    )
}

/// What a link that is not the current one gets, depending on whether setup is done.
async fn refused(state: &State) -> Result<HttpResponse, ApiError> {
    Ok(if state.store.users().any_admin().await? { set_up() } else { not_valid() })
}

async fn form(state: State, q: web::Query<TokenQuery>) -> Result<HttpResponse, ApiError> {
    // The link outlives an admin made on the command line while it was out: asking the store
    // keeps it from offering a form that can only be refused.
    if state.store.users().any_admin().await? {
        state.setup.spend();
        return Ok(set_up());
    }
    match q.token.as_deref() {
        Some(t) if state.setup.matches(t) => {
            Ok(page(StatusCode::OK, "Welcome to Rapport", &form_html(t, None, "", "")))
        }
        _ => Ok(not_valid()),
    }
}

#[derive(Deserialize)]
struct SetupForm {
    token: String,
    name: String,
    email: String,
    password: String,
}

async fn submit(state: State, f: web::Form<SetupForm>) -> Result<HttpResponse, ApiError> {
    if !state.setup.matches(&f.token) || state.store.users().any_admin().await? {
        return refused(&state).await;
    }
    let parsed = (|| {
        Ok::<_, crate::domain::Invalid>((
            Name::parse(&f.name)?,
            Email::parse(&f.email)?,
            Password::parse(Secret::new(f.password.clone()))?,
        ))
    })();
    let (name, email, password) = match parsed {
        Ok(v) => v,
        Err(e) => {
            let html = form_html(&f.token, Some(&e.message), &f.name, &f.email);
            return Ok(page(StatusCode::UNPROCESSABLE_ENTITY, "Welcome to Rapport", &html));
        }
    };
    let hash = state.passwords.hash(&password).await?;
    let now = state.now();
    let created = state.store.users().add_first_admin(email.into_string(), name.into_string(), hash, now).await?;
    state.setup.spend();
    let Some(admin) = created else {
        return Ok(set_up());
    };
    let (cookie, _) = start_session(&state, admin.id).await?;
    let mut res = page(
        StatusCode::OK,
        "You are set up",
        &format!(
            "<p>Welcome, {}. Your admin account is ready and you are logged in.</p>\
             <p><a href=/app/>Open the messenger</a>. The API is described at \
             <a href=/api/openapi.json>/api/openapi.json</a>.</p>",
            escape(&admin.name)
        ),
    );
    res.add_cookie(&cookie).map_err(|_| ApiError::internal())?;
    Ok(res)
}
