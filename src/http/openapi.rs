//! The OpenAPI 3 document, generated from the handlers' annotations so it cannot drift from
//! what the server does.

use actix_web::get;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Rapport API", description = "The REST API of Rapport, a self-hosted customer-support messenger. \
        Authenticate with a session cookie (from /api/v1/auth/login; send X-CSRF-Token on state-changing requests) \
        or a personal token (Authorization: Bearer ...). Errors are {\"error\": {\"code\", \"message\"}}; \
        times are Unix milliseconds."),
    paths(
        super::healthz,
        super::auth::login, super::auth::logout, super::auth::me,
        super::auth::get_preferences, super::auth::put_preferences,
        super::users::list_users, super::users::create_user, super::users::update_user,
        super::users::put_photo, super::users::delete_photo, super::users::get_photo,
        super::tokens::list_tokens, super::tokens::create_token, super::tokens::delete_token,
        super::tokens::list_user_tokens, super::tokens::revoke_user_token, super::tokens::revoke_user_tokens,
        super::projects::list, super::projects::create, super::projects::get, super::projects::members,
        super::projects::add_member, super::projects::remove_member,
        super::customers::list, super::customers::create, super::customers::get, super::customers::activity,
        super::customers::export, super::customers::erase,
        super::health::health, super::health::setup_list, super::health::metrics,
        super::items::list, super::items::create, super::items::get, super::items::update, super::items::conversations_of,
        super::items::set_status,
        super::items::follow, super::items::unfollow,
        super::conversations::list, super::conversations::counts, super::conversations::search, super::conversations::create, super::conversations::get,
        super::conversations::close, super::conversations::reopen, super::conversations::make_ticket,
        super::conversations::list_messages, super::conversations::post_message, super::conversations::mark_seen,
        super::attachments::upload, super::attachments::download,
        super::email::settings, super::email::test, super::email::set_flow,
        super::email::rotate_reply_secret, super::email::outbox, super::email::retry, super::email::inbound,
        super::email::release, super::email::discard,
        super::rules::list, super::rules::create, super::rules::get, super::rules::update, super::rules::remove,
        super::rules::vocabulary, super::rules::dry_run, super::rules::runs, super::rules::scheduler,
        super::rules::get_hours, super::rules::put_hours,
        super::widget::new_visitor, super::widget::config, super::widget::identify, super::widget::mark_seen,
        super::widget::upload, super::widget::download, super::widget::rotate_secret, super::widget::my_conversations, super::widget::start_conversation,
        super::widget::messages, super::widget::post_message, super::widget::get_settings, super::widget::put_settings,
        super::portal::login, super::portal::send_link, super::portal::redeem_link, super::portal::me,
        super::portal::set_password, super::portal::logout, super::portal::tickets, super::portal::open_ticket,
        super::portal::ticket, super::portal::reply, super::portal::get_settings, super::portal::put_settings,
        super::forms::list, super::forms::create, super::forms::get, super::forms::update, super::forms::remove,
        super::forms::public, super::forms::submit,
    ),
    // Enums that only query parameters name: nothing else pulls them into the document.
    components(schemas(crate::store::conversations::ConversationView, crate::store::items::ItemView)),
    modifiers(&Security, &CommonErrors),
    security(("cookie" = []), ("bearer" = []))
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(super::SESSION_COOKIE))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        // Widget visitors and portal customers (the token from POST /api/v1/widget/visitors or
        // a portal sign-in).
        components.add_security_scheme(
            "visitor",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new(super::widget::VISITOR_HEADER))),
        );
    }
}

/// The error answers any operation may give besides those it lists, so that the document
/// names every status the server sends: 400 for a query or JSON body that does not parse,
/// 401 where a caller must authenticate, 403 in the agents' API (admins only, or a cookie
/// session without its CSRF token), 413/415/422 for a request body that is too large, not JSON
/// or not the right shape.
struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{path::Operation, ContentBuilder, Ref, RefOr, ResponseBuilder};
        let error = |description: &str| {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
            RefOr::T(ResponseBuilder::new().description(description).content("application/json", content).build())
        };
        let public = |op: &Operation| {
            op.security.as_ref().is_some_and(|requirements| {
                requirements
                    .iter()
                    .any(|r| serde_json::to_value(r).is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty())))
            })
        };
        for item in api.paths.paths.values_mut() {
            let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for op in ops.into_iter().flatten() {
                let (has_query, has_body, public, agents) = (
                    op.parameters.iter().flatten().any(|p| p.parameter_in == utoipa::openapi::path::ParameterIn::Query),
                    op.request_body.is_some(),
                    public(op),
                    // Operations that name no security of their own take the document's: cookie or bearer.
                    op.security.is_none(),
                );
                let mut add = |status: &str, description: &str| {
                    op.responses.responses.entry(status.to_owned()).or_insert_with(|| error(description));
                };
                if has_query || has_body {
                    add("400", "the query or the body does not parse (`invalid_query`, `invalid_json`)");
                }
                if !public {
                    add("401", "not authenticated (`unauthenticated`, `not_signed_in`)");
                }
                if agents {
                    add("403", "not allowed: admins only, or a cookie session without its CSRF token (`forbidden`, `csrf_token_invalid`)");
                }
                if has_body {
                    add("413", "the body is too large");
                    add("415", "the body is not of the documented content type (`unsupported_media_type`)");
                    add("422", "the body does not have the documented shape, or a value is invalid");
                }
            }
        }
    }
}

#[get("/api/openapi.json")]
pub async fn document() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().json(ApiDoc::openapi())
}
