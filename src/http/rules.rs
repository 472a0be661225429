//! Automations for admins: rules (list, add, change, delete, dry run), their run log, the
//! words a rule may use, and business hours.

use super::{Admin, State};
use crate::automation::hours::BusinessHours;
use crate::automation::model::{self, Rule, RuleInput, Vocabulary};
use crate::error::{ApiError, ErrorBody};
use crate::store::rules::{DryRunEntry, Run};
use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn routes(cfg: &mut web::ServiceConfig) {
    // Fixed paths before `{id}`.
    cfg.service(vocabulary)
        .service(runs)
        .service(scheduler)
        .service(dry_run)
        .service(list)
        .service(create)
        .service(get)
        .service(update)
        .service(remove)
        .service(get_hours)
        .service(put_hours);
}

/// Every rule, oldest first: the defaults of the notification flow, the templates, and the
/// team's own.
#[utoipa::path(tag = "automations", responses((status = 200, body = Vec<Rule>)))]
#[get("/api/v1/rules")]
async fn list(state: State, _admin: Admin) -> Result<web::Json<Vec<Rule>>, ApiError> {
    Ok(web::Json(state.store.rules().list().await?))
}

/// Adds a rule; it applies from the next event on. Refused with `invalid_rule` and a sentence
/// naming what is wrong.
#[utoipa::path(tag = "automations", request_body = RuleInput, responses(
    (status = 201, body = Rule), (status = 422, body = ErrorBody)))]
#[post("/api/v1/rules")]
async fn create(state: State, _admin: Admin, body: web::Json<RuleInput>) -> Result<HttpResponse, ApiError> {
    let (input, now) = (body.into_inner(), state.now());
    let rule = state.store.rules().insert(input, now).await?;
    state.timed_rules.poke();
    Ok(HttpResponse::Created().json(rule))
}

#[utoipa::path(tag = "automations", responses((status = 200, body = Rule), (status = 404, body = ErrorBody)))]
#[get("/api/v1/rules/{id}")]
async fn get(state: State, _admin: Admin, id: web::Path<i64>) -> Result<web::Json<Rule>, ApiError> {
    let id = id.into_inner();
    Ok(web::Json(state.store.rules().get(id).await?))
}

/// Replaces a rule (turning it on or off included); it applies from the next event on.
#[utoipa::path(tag = "automations", request_body = RuleInput, responses(
    (status = 200, body = Rule), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[put("/api/v1/rules/{id}")]
async fn update(
    state: State,
    _admin: Admin,
    id: web::Path<i64>,
    body: web::Json<RuleInput>,
) -> Result<web::Json<Rule>, ApiError> {
    let (id, input, now) = (id.into_inner(), body.into_inner(), state.now());
    let rule = state.store.rules().update(id, input, now).await?;
    state.timed_rules.poke();
    Ok(web::Json(rule))
}

#[utoipa::path(tag = "automations", responses((status = 204), (status = 404, body = ErrorBody)))]
#[delete("/api/v1/rules/{id}")]
async fn remove(state: State, _admin: Admin, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state.store.rules().delete(id).await?;
    Ok(super::no_content())
}

/// The triggers, fields, operators, actions, recipients and `{{variables}}` a rule may use.
#[utoipa::path(tag = "automations", responses((status = 200, body = Vocabulary)))]
#[get("/api/v1/rules/vocabulary")]
async fn vocabulary(_admin: Admin) -> web::Json<Vocabulary> {
    web::Json(model::vocabulary())
}

#[derive(Serialize, ToSchema)]
pub struct DryRun {
    pub entries: Vec<DryRunEntry>,
}

/// What a rule (saved or not) would have done to the last 50 events of its trigger, or for a
/// time-based rule, to what is due now. Changes nothing.
#[utoipa::path(tag = "automations", request_body = RuleInput, responses(
    (status = 200, body = DryRun), (status = 422, body = ErrorBody)))]
#[post("/api/v1/rules/dry-run")]
async fn dry_run(state: State, _admin: Admin, body: web::Json<RuleInput>) -> Result<web::Json<DryRun>, ApiError> {
    let (input, now) = (body.into_inner(), state.now());
    let entries = state.store.rules().dry_run(input, now).await?;
    Ok(web::Json(DryRun { entries }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RunQuery {
    pub rule_id: Option<i64>,
    /// Also the subjects of time-based rules whose conditions did not hold.
    #[serde(default)]
    pub skipped: bool,
    /// At most 500; default 50.
    pub limit: Option<usize>,
}

/// The run log, newest first: which rule did what, when, and why.
#[utoipa::path(tag = "automations", params(RunQuery), responses((status = 200, body = Vec<Run>)))]
#[get("/api/v1/rules/runs")]
async fn runs(state: State, _admin: Admin, q: web::Query<RunQuery>) -> Result<web::Json<Vec<Run>>, ApiError> {
    let q = q.into_inner();
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    Ok(web::Json(state.store.rules().runs(q.rule_id, q.skipped, limit).await?))
}

#[derive(Serialize, ToSchema)]
pub struct Scheduler {
    /// Every time-based rule has been run for what was due up to this time.
    pub checked_through: Option<crate::store::Millis>,
}

#[utoipa::path(tag = "automations", responses((status = 200, body = Scheduler)))]
#[get("/api/v1/rules/scheduler")]
async fn scheduler(state: State, _admin: Admin) -> web::Json<Scheduler> {
    web::Json(Scheduler { checked_through: state.timed_rules.checked_through() })
}

#[utoipa::path(tag = "automations", responses((status = 200, body = BusinessHours)))]
#[get("/api/v1/settings/business-hours")]
async fn get_hours(state: State, _admin: Admin) -> Result<web::Json<BusinessHours>, ApiError> {
    Ok(web::Json(state.store.settings().business_hours().await?))
}

/// When the team answers, in its time zone: rules test "inside/outside business hours", and
/// the away message says when the team is back.
#[utoipa::path(tag = "automations", request_body = BusinessHours, responses(
    (status = 200, body = BusinessHours), (status = 422, body = ErrorBody)))]
#[put("/api/v1/settings/business-hours")]
async fn put_hours(
    state: State,
    _admin: Admin,
    body: web::Json<BusinessHours>,
) -> Result<web::Json<BusinessHours>, ApiError> {
    let hours = body.into_inner();
    hours.validate()?;
    let stored = hours.clone();
    state.store.settings().set_business_hours(stored).await?;
    state.timed_rules.poke();
    Ok(web::Json(hours))
}
