//! The web assets embedded in the binary: the widget's loader (`/widget.js`), its panel page,
//! the customer portal (`/portal/`), web forms (`/forms/KEY`, `/forms/embed.js`) and
//! `/assets/...`. Served gzipped when asked, with ETags; files requested with the current
//! version (`?v=`) are cached for a year.

use super::State;
use crate::store::settings;
use actix_web::http::header::{self, EntityTag};
use actix_web::{middleware::Compress, web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

#[derive(rust_embed::Embed)]
#[folder = "assets/"]
// Email templates are compiled into the mailer, not served.
#[exclude = "email/*"]
struct Assets;

/// One hash over every asset: changes whenever any file does.
pub static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut hasher = Sha256::new();
    let mut names: Vec<_> = Assets::iter().collect();
    names.sort();
    for name in names {
        if let Some(file) = Assets::get(&name) {
            hasher.update(name.as_bytes());
            hasher.update(file.metadata.sha256_hash());
        }
    }
    hasher.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect()
});

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/widget.js").wrap(Compress::default()).route(web::get().to(loader)))
        .service(web::resource("/widget/frame").wrap(Compress::default()).route(web::get().to(frame)))
        .service(web::resource("/assets/{path:.*}").wrap(Compress::default()).route(web::get().to(asset)))
        .service(web::resource("/app/").wrap(Compress::default()).route(web::get().to(agents_app)))
        .service(web::resource("/portal/").wrap(Compress::default()).route(web::get().to(portal)))
        .route("/portal", web::get().to(|| async { redirect("/portal/") }))
        .service(web::resource("/forms/embed.js").wrap(Compress::default()).route(web::get().to(form_embed)))
        .service(web::resource("/forms/{key}").wrap(Compress::default()).route(web::get().to(form_page)))
        .route("/app", web::get().to(|| async { redirect("/app/") }))
        .route("/", web::get().to(|| async { redirect("/app/") }));
}

fn redirect(to: &'static str) -> HttpResponse {
    HttpResponse::Found().insert_header((header::LOCATION, to)).finish()
}

/// One of the HTML pages (the agents' app, the widget's panel, the portal, a web form): versioned asset links, and a
/// CSP that allows only this server's scripts, styles and socket.
fn html_page(state: &State, name: &str, frame_ancestors: &str) -> HttpResponse {
    let Some(file) = Assets::get(name) else { return HttpResponse::NotFound().finish() };
    let html = String::from_utf8_lossy(&file.data).replace("{{version}}", &VERSION);
    let socket = super::socket::origin_of(&state.config.base_url).replacen("http", "ws", 1);
    let mut res = HttpResponse::Ok();
    res.content_type("text/html; charset=utf-8").insert_header(("Cache-Control", "no-cache")).insert_header((
        "Content-Security-Policy",
        format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; \
             connect-src 'self' {socket}; frame-ancestors {frame_ancestors}; base-uri 'none'; form-action 'self'"
        ),
    ));
    if frame_ancestors == "'none'" {
        res.insert_header(("X-Frame-Options", "DENY"));
    }
    res.body(html)
}

/// The agents' app: one page; everything else comes from the API.
async fn agents_app(state: State) -> HttpResponse {
    html_page(&state, "app/index.html", "'none'")
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "mp3" => "audio/mpeg",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn etag(hash: &[u8]) -> EntityTag {
    EntityTag::new_strong(hash.iter().take(12).map(|b| format!("{b:02x}")).collect())
}

/// 304 when the client holds `tag` already.
fn not_modified(req: &HttpRequest, tag: &EntityTag, cache: &str) -> Option<HttpResponse> {
    let quoted = tag.to_string();
    let known = req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).unwrap_or("");
    known.split(',').any(|t| t.trim().trim_start_matches("W/") == quoted).then(|| {
        HttpResponse::NotModified()
            .insert_header(header::ETag(tag.clone()))
            .insert_header(("Cache-Control", cache.to_owned()))
            .finish()
    })
}

/// An embedded file with its ETag; 304 when the client has it already.
fn serve(req: &HttpRequest, path: &str, cache: &str) -> HttpResponse {
    let Some(file) = Assets::get(path) else {
        return actix_web::ResponseError::error_response(&crate::error::ApiError::not_found("asset_not_found"));
    };
    let tag = etag(&file.metadata.sha256_hash());
    if let Some(res) = not_modified(req, &tag, cache) {
        return res;
    }
    HttpResponse::Ok()
        .content_type(content_type(path))
        .insert_header(header::ETag(tag))
        .insert_header(("Cache-Control", cache.to_owned()))
        .body(file.data.into_owned())
}

/// The loader carries what it needs to draw the launcher at once, without a request of its
/// own: the admin's colour and side, and the sites that may embed the widget (public already,
/// in the panel's CSP), so that on any other it draws nothing.
async fn loader(state: State, req: HttpRequest) -> HttpResponse {
    // Sites embed this URL unversioned: cache briefly, revalidate by ETag.
    let cache = "public, max-age=300";
    let Some(file) = Assets::get("widget/loader.js") else { return HttpResponse::NotFound().finish() };
    let s = state.store.read(settings::widget).await.unwrap_or_default();
    let launcher = serde_json::json!({"color": s.color, "position": s.position, "allowed": s.allowed_origins});
    let body = String::from_utf8_lossy(&file.data).replacen("{/*launcher*/}", &launcher.to_string(), 1);
    let tag = etag(&Sha256::digest(&body));
    let mut res = not_modified(&req, &tag, cache).unwrap_or_else(|| {
        HttpResponse::Ok()
            .content_type(content_type("loader.js"))
            .insert_header(header::ETag(tag))
            .insert_header(("Cache-Control", cache))
            .body(body)
    });
    res.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, header::HeaderValue::from_static("*"));
    res
}

async fn asset(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let versioned = web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
        .is_ok_and(|q| q.get("v") == Some(&*VERSION));
    let cache = if versioned { "public, max-age=31536000, immutable" } else { "no-cache" };
    serve(&req, &path, cache)
}

/// The sites that may frame the widget's panel and the web forms: those the admin allowed,
/// or any site until they name some.
async fn embedders(state: &State) -> String {
    let allowed = state.store.read(settings::widget).await.map(|s| s.allowed_origins).unwrap_or_default();
    if allowed.is_empty() {
        "*".to_owned()
    } else {
        allowed.join(" ")
    }
}

/// The panel's page changes only with the assets' version and the sites allowed to frame it,
/// so visitors revalidate it by ETag instead of downloading it on every page view.
async fn frame(state: State, req: HttpRequest) -> HttpResponse {
    let ancestors = embedders(&state).await;
    let tag = etag(&Sha256::digest(format!("{}\n{ancestors}", *VERSION)));
    if let Some(res) = not_modified(&req, &tag, "no-cache") {
        return res;
    }
    let mut res = html_page(&state, "widget/frame.html", &ancestors);
    res.headers_mut()
        .insert(header::ETAG, header::HeaderValue::from_str(&tag.to_string()).expect("hex is a header value"));
    res
}

/// The customer portal: one page, like the agents' app.
async fn portal(state: State) -> HttpResponse {
    html_page(&state, "portal/index.html", "'none'")
}

/// A web form's page (the same page for every form: its script reads the key from the URL).
async fn form_page(state: State) -> HttpResponse {
    html_page(&state, "forms/index.html", &embedders(&state).await)
}

async fn form_embed(req: HttpRequest) -> HttpResponse {
    let mut res = serve(&req, "forms/embed.js", "public, max-age=300");
    res.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, header::HeaderValue::from_static("*"));
    res
}
