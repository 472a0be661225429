//! Customers as agents see them: look one up, add a known one (a requester for an item); and
//! for admins, export everything about one or erase them.

use super::{auth::email, page, Admin, Agent, State};
use crate::domain::Name;
use crate::error::{ApiError, ErrorBody};
use crate::store::people::NamedCustomer;
use crate::store::privacy::{CustomerExport, Erased};
use actix_web::{delete, get, post};
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list).service(create).service(get).service(activity).service(export).service(erase);
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CustomerQuery {
    /// Matches the start of a name or email.
    pub q: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

/// Newest first.
#[utoipa::path(tag = "customers", params(CustomerQuery), responses((status = 200, body = page::Paged<NamedCustomer>)))]
#[get("/api/v1/customers")]
async fn list(
    state: State,
    _agent: Agent,
    q: web::Query<CustomerQuery>,
) -> Result<web::Json<page::Paged<NamedCustomer>>, ApiError> {
    let limit = page::limit(q.limit)?;
    let before = page::decode(q.cursor.as_deref())?.map(|(_, id)| id);
    let query = q.q.clone().filter(|s| !s.trim().is_empty());
    let found = state.store.customers().list(query, before, limit).await?;
    let next_cursor = found.more.then(|| found.rows.last().map(|c| page::encode(0, c.id))).flatten();
    Ok(web::Json(page::Paged { entries: found.rows.into_iter().map(NamedCustomer::from).collect(), next_cursor }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    pub name: Option<String>,
    pub email: Option<String>,
}

#[utoipa::path(tag = "customers", request_body = NewCustomer, responses(
    (status = 201, body = NamedCustomer), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/api/v1/customers")]
async fn create(state: State, _agent: Agent, body: web::Json<NewCustomer>) -> Result<HttpResponse, ApiError> {
    let name = body.name.as_deref().map(Name::parse).transpose()?.map(Name::into_string);
    let email = body.email.as_deref().map(email).transpose()?;
    if name.is_none() && email.is_none() {
        return Err(ApiError::from(crate::domain::Invalid::new("invalid_customer", "give a name, an email or both")));
    }
    let now = state.now();
    let customer = state.store.customers().insert(name, email, now).await?;
    Ok(HttpResponse::Created().json(NamedCustomer::from(customer)))
}

#[utoipa::path(tag = "customers", responses((status = 200, body = NamedCustomer), (status = 404, body = ErrorBody)))]
#[get("/api/v1/customers/{id}")]
async fn get(state: State, _agent: Agent, id: web::Path<i64>) -> Result<web::Json<NamedCustomer>, ApiError> {
    let id = id.into_inner();
    Ok(web::Json(state.store.customers().get(id).await?.into()))
}

/// Who the customer is and what else they wrote about: the details panel of the messenger.
#[derive(Serialize, ToSchema)]
pub struct Activity {
    pub customer: NamedCustomer,
    pub conversations: Vec<crate::store::conversations::Conversation>,
    pub items: Vec<crate::store::items::Item>,
}

#[utoipa::path(tag = "customers", responses((status = 200, body = Activity), (status = 404, body = ErrorBody)))]
#[get("/api/v1/customers/{id}/activity")]
async fn activity(state: State, agent: Agent, id: web::Path<i64>) -> Result<web::Json<Activity>, ApiError> {
    let (viewer, id) = (agent.viewer, id.into_inner());
    let (customer, conversations, items) = state.store.customers().activity(viewer, id, 50).await?;
    Ok(web::Json(Activity { customer: customer.into(), conversations, items }))
}

/// An export reads everything about one customer: the heavy budget, for at most this long.
const EXPORT_BUDGET: std::time::Duration = std::time::Duration::from_secs(60);

/// Everything Rapport holds about the customer, files included, as one JSON document to hand
/// to them (the team's internal conversations are not in it). Admins only.
#[utoipa::path(tag = "customers", responses(
    (status = 200, body = CustomerExport), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/api/v1/customers/{id}/export")]
async fn export(state: State, _admin: Admin, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let (id, now) = (id.into_inner(), state.now());
    let export = state.store.customers().export(id, EXPORT_BUDGET, now).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Content-Disposition", format!("attachment; filename=\"customer-{id}.json\"")))
        .json(export))
}

/// Erases the customer and all their data: their conversations, messages and files, the
/// tickets they asked for (with those tickets' internal conversations), the email to and from
/// them, their sessions. It cannot be undone. Admins only.
#[utoipa::path(tag = "customers", responses(
    (status = 200, body = Erased), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[delete("/api/v1/customers/{id}")]
async fn erase(state: State, admin: Admin, id: web::Path<i64>) -> Result<web::Json<Erased>, ApiError> {
    let id = id.into_inner();
    let erased = state.store.customers().erase(id).await?;
    tracing::info!(
        customer = id,
        by = admin.0.user.id,
        conversations = erased.conversations,
        messages = erased.messages,
        items = erased.items,
        "customer erased"
    );
    Ok(web::Json(erased))
}
