//! Web forms: admins design them; anybody may fill one in. Spam is kept out without third
//! parties: a honeypot field, a signed time the form was served (too fast is a robot, a day
//! old is stale), and a limit per IP.

use super::{limit_key, Admin, State};
use crate::domain::Email;
use crate::error::{ApiError, ErrorBody};
use crate::store::forms::{self, Form, FormInput, Submission};
use crate::token;
use actix_web::http::StatusCode;
use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use utoipa::ToSchema;

/// Faster than this after the form was served, nobody typed it.
const MIN_FILL_MS: i64 = 3_000;
/// A form page older than this is stale (and its token might have been harvested).
const MAX_FILL_MS: i64 = 24 * 3_600_000;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list).service(create).service(get).service(update).service(remove).service(public).service(submit);
}

/// A form with where it lives and how to embed it.
#[derive(Serialize, ToSchema)]
pub struct FormView {
    #[serde(flatten)]
    pub form: Form,
    /// The form's own page.
    pub url: String,
    /// HTML to paste into a site.
    pub snippet: String,
}

fn view(state: &State, form: Form) -> FormView {
    let base = &state.config.base_url;
    FormView {
        url: format!("{base}/forms/{}", form.key),
        snippet: format!("<script async src=\"{base}/forms/embed.js\" data-rapport-form=\"{}\"></script>", form.key),
        form,
    }
}

#[utoipa::path(tag = "forms", responses((status = 200, body = Vec<FormView>)))]
#[get("/api/v1/forms")]
async fn list(state: State, _admin: Admin) -> Result<web::Json<Vec<FormView>>, ApiError> {
    let all = state.store.settings().forms().await?;
    Ok(web::Json(all.into_iter().map(|f| view(&state, f)).collect()))
}

#[utoipa::path(tag = "forms", request_body = FormInput, responses(
    (status = 201, body = FormView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/api/v1/forms")]
async fn create(state: State, _admin: Admin, body: web::Json<FormInput>) -> Result<HttpResponse, ApiError> {
    let (input, now) = (body.into_inner(), state.now());
    let key = token::generate("").chars().filter(char::is_ascii_alphanumeric).take(16).collect::<String>();
    let form = state.store.settings().save_form(None, key, input, now).await?;
    Ok(HttpResponse::Created().json(view(&state, form)))
}

#[utoipa::path(tag = "forms", responses((status = 200, body = FormView), (status = 404, body = ErrorBody)))]
#[get("/api/v1/forms/{id}")]
async fn get(state: State, _admin: Admin, id: web::Path<i64>) -> Result<web::Json<FormView>, ApiError> {
    let id = id.into_inner();
    let form = state.store.settings().form(id).await?;
    Ok(web::Json(view(&state, form)))
}

#[utoipa::path(tag = "forms", request_body = FormInput, responses(
    (status = 200, body = FormView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[put("/api/v1/forms/{id}")]
async fn update(
    state: State,
    _admin: Admin,
    id: web::Path<i64>,
    body: web::Json<FormInput>,
) -> Result<web::Json<FormView>, ApiError> {
    let (id, input, now) = (id.into_inner(), body.into_inner(), state.now());
    let form = state.store.settings().save_form(Some(id), String::new(), input, now).await?;
    Ok(web::Json(view(&state, form)))
}

#[utoipa::path(tag = "forms", responses((status = 204), (status = 404, body = ErrorBody)))]
#[delete("/api/v1/forms/{id}")]
async fn remove(state: State, _admin: Admin, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state.store.settings().delete_form(id).await?;
    Ok(super::no_content())
}

fn signature(secret: &str, key: &str, at: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("form:{key}:{at}").as_bytes());
    data_encoding::HEXLOWER.encode(&mac.finalize().into_bytes()[..16])
}

/// The token of when a form was served: the time and its signature.
fn started_token(secret: &str, key: &str, at: i64) -> String {
    format!("{at}.{}", signature(secret, key, at))
}

/// Why a submission is refused, if it is, judged by its honeypot and its token's age.
fn check_human(secret: &str, key: &str, s: &Submission, now: i64) -> Result<(), ApiError> {
    let refuse = |code, message: &str| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message);
    if !s.website.is_empty() {
        return Err(refuse(
            "spam_detected",
            "This looks like an automated submission, so it was not sent. If you are a person, reload the page and try again.",
        ));
    }
    let expired = || refuse("form_expired", "This form is out of date. Reload the page and send it again.");
    let (at, sig) = s.started.split_once('.').ok_or_else(expired)?;
    let at: i64 = at.parse().map_err(|_| expired())?;
    if !token::equal(sig, &signature(secret, key, at)) || now - at > MAX_FILL_MS || at > now + 60_000 {
        return Err(expired());
    }
    if now - at < MIN_FILL_MS {
        return Err(refuse(
            "submitted_too_fast",
            "That was faster than anyone types, so it looks automated. Wait a few seconds and send it again.",
        ));
    }
    Ok(())
}

/// What the form's page shows.
#[derive(Serialize, ToSchema)]
pub struct PublicForm {
    pub key: String,
    pub name: String,
    pub intro: String,
    pub thank_you: String,
    pub fields: Vec<forms::FormField>,
    pub team_name: String,
    pub color: String,
    /// Send it back with the submission.
    pub started: String,
}

#[utoipa::path(tag = "forms", security(()), responses((status = 200, body = PublicForm), (status = 404, body = ErrorBody)))]
#[get("/api/v1/forms/{key}/public")]
async fn public(state: State, key: web::Path<String>) -> Result<web::Json<PublicForm>, ApiError> {
    let key = key.into_inner();
    let now = state.now();
    let (form, widget, secret) = state.store.settings().public_form(key).await?;
    Ok(web::Json(PublicForm {
        started: started_token(&secret, &form.key, now),
        key: form.key,
        name: form.name,
        intro: form.intro,
        thank_you: form.thank_you,
        fields: form.fields,
        team_name: widget.team_name,
        color: widget.color,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct Submitted {
    pub thank_you: String,
}

/// Files a submission as an item with its requester. Refused: a filled honeypot
/// (`spam_detected`), under 3 seconds after the form was served (`submitted_too_fast`), a stale
/// or forged token (`form_expired`), more than 5 submissions per IP in 10 minutes.
#[utoipa::path(tag = "forms", security(()), request_body = Submission, responses(
    (status = 201, body = Submitted), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
    (status = 429, body = ErrorBody)))]
#[post("/api/v1/forms/{key}/submissions")]
async fn submit(
    state: State,
    req: HttpRequest,
    key: web::Path<String>,
    body: web::Json<Submission>,
) -> Result<HttpResponse, ApiError> {
    let now = state.now();
    super::admit(&state.form_submissions, &[&limit_key(&req)], now, "too_many_requests")?;
    let (key, submission) = (key.into_inner(), body.into_inner());
    let lookup = key.clone();
    let secret = state.store.settings().form_secret(lookup).await?;
    check_human(&secret, &key, &submission, now)?;
    let email = Email::parse(&submission.email)?.into_string();
    let thank_you = state.store.settings().submit_form(key, submission, email, now).await?;
    Ok(HttpResponse::Created().json(Submitted { thank_you }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submission(website: &str, started: String) -> Submission {
        Submission {
            name: String::new(),
            email: "a@example.com".into(),
            subject: "s".into(),
            message: "m".into(),
            values: Vec::new(),
            website: website.into(),
            started,
        }
    }

    fn code(r: Result<(), ApiError>) -> &'static str {
        r.err().map_or("ok", |e| e.code)
    }

    #[test]
    fn robots_are_told_apart_from_people() {
        let at = 1_000_000;
        let token = started_token("secret", "k", at);
        assert_eq!(code(check_human("secret", "k", &submission("", token.clone()), at + 5_000)), "ok");
        assert_eq!(
            code(check_human("secret", "k", &submission("http://x", token.clone()), at + 5_000)),
            "spam_detected"
        );
        assert_eq!(code(check_human("secret", "k", &submission("", token.clone()), at + 1_000)), "submitted_too_fast");
        assert_eq!(
            code(check_human("secret", "k", &submission("", token.clone()), at + MAX_FILL_MS + 1)),
            "form_expired"
        );
        assert_eq!(code(check_human("secret", "other", &submission("", token.clone()), at + 5_000)), "form_expired");
        assert_eq!(code(check_human("other", "k", &submission("", token), at + 5_000)), "form_expired");
        let forged = format!("{}.{}", at - 10_000, signature("secret", "k", at));
        assert_eq!(code(check_human("secret", "k", &submission("", forged), at + 5_000)), "form_expired");
        assert_eq!(code(check_human("secret", "k", &submission("", "garbage".into()), at)), "form_expired");
    }
}
