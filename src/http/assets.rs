//! The web assets embedded in the binary: the widget's loader (`/widget.js`), its panel page,
//! the customer portal (`/portal/`), web forms (`/forms/KEY`, `/forms/embed.js`) and
//! `/assets/...`. Served gzipped when asked, with ETags; files requested with the current
//! version (`?v=`) are cached for a year, and so are the modules they import: a versioned
//! module's relative imports carry the version too.

use super::State;
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
    let s = state.store.settings().widget().await.unwrap_or_default();
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
    if !versioned {
        return serve(&req, &path, "no-cache");
    }
    let cache = "public, max-age=31536000, immutable";
    match VERSIONED_MODULES.get(path.as_str()) {
        Some((body, tag)) => not_modified(&req, tag, cache).unwrap_or_else(|| {
            HttpResponse::Ok()
                .content_type(content_type(&path))
                .insert_header(header::ETag(tag.clone()))
                .insert_header(("Cache-Control", cache))
                .body(body.clone())
        }),
        None => serve(&req, &path, cache),
    }
}

/// Every script module as served at the current version: its relative imports carry
/// `?v=VERSION`, so that a page loaded at one version loads all its modules at that version
/// from the cache, without a request per module. Made once, on first use.
static VERSIONED_MODULES: LazyLock<std::collections::HashMap<String, (web::Bytes, EntityTag)>> = LazyLock::new(|| {
    Assets::iter()
        .filter(|name| name.ends_with(".js") || name.ends_with(".mjs"))
        .filter_map(|name| {
            let file = Assets::get(&name)?;
            let body = version_imports(&String::from_utf8_lossy(&file.data), &VERSION);
            let tag = etag(&Sha256::digest(&body));
            Some((name.into_owned(), (web::Bytes::from(body), tag)))
        })
        .collect()
});

/// `src` with each relative module specifier (`from "./x.js"`, `import "../x.js"`,
/// `import("./x.js")`) carrying `?v=version`. A scan of string literals, not a parser: a
/// literal ends at its quote or its line, so a stray quote in a comment can mislead no more than
/// its own line.
fn version_imports(src: &str, version: &str) -> String {
    let mut out = String::with_capacity(src.len() + 256);
    let mut rest = src;
    while let Some(at) = rest.find(['"', '\'', '`']) {
        let quote = rest.as_bytes()[at] as char;
        out.push_str(&rest[..at]);
        let body = &rest[at + 1..];
        let end = literal_end(body, quote);
        let spec = &body[..end];
        let relative = (spec.starts_with("./") || spec.starts_with("../")) && spec.ends_with(".js");
        out.push(quote);
        out.push_str(spec);
        if quote != '`'
            && relative
            && body[end..].starts_with(quote)
            && follows_import(&out[..out.len() - 1 - spec.len()])
        {
            out.push_str("?v=");
            out.push_str(version);
        }
        // The closing quote (or the newline that ended an unclosed literal).
        let close = body[end..].chars().next().map_or(0, char::len_utf8);
        out.push_str(&body[end..end + close]);
        rest = &body[end + close..];
    }
    out.push_str(rest);
    out
}

/// Where the literal that starts `body` ends: at its closing quote, past escapes (template
/// literals may span lines; other literals end at a newline).
fn literal_end(body: &str, quote: char) -> usize {
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            c if c == quote => return i,
            '\n' if quote != '`' => return i,
            _ => {}
        }
    }
    body.len()
}

/// Whether the code before a string literal makes it a module specifier: `from`, `import`
/// or `import(` as a word.
fn follows_import(before: &str) -> bool {
    let before = before.trim_end();
    let before = before.strip_suffix('(').map_or(before, str::trim_end);
    ["from", "import"].iter().any(|word| {
        before
            .strip_suffix(word)
            .is_some_and(|head| !head.ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$' || c == '.'))
    })
}

/// The sites that may frame the widget's panel and the web forms: those the admin allowed,
/// or any site until they name some.
async fn embedders(state: &State) -> String {
    let allowed = state.store.settings().widget().await.map(|s| s.allowed_origins).unwrap_or_default();
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

#[cfg(test)]
mod tests {
    use super::version_imports;

    #[test]
    fn relative_imports_carry_the_version_and_nothing_else_changes() {
        let src = r#"import { a } from "./api.js";
import './side.js';
export { b } from "../app/dom.js";
const m = await import("./lazy.js");
const n = import ( './spaced.js' );
const text = "./not-an-import.js", from = 'x';
// the visitor's "./comment.js"
const url = `./template.js`;
import x from "https://cdn.example/x.js";
fetch("./data.js");
const s = "a \" from './tricky.js'";
"#;
        let out = version_imports(src, "v1");
        for imported in ["./api.js", "./side.js", "../app/dom.js", "./lazy.js", "./spaced.js"] {
            assert!(out.contains(&format!("{imported}?v=v1")), "{imported} in {out}");
        }
        for untouched in
            ["./not-an-import.js\"", "./comment.js\"", "./template.js`", "cdn.example/x.js\"", "./data.js\""]
        {
            assert!(out.contains(untouched), "{untouched} in {out}");
        }
        assert!(!out.contains("tricky.js?v"), "inside a string: {out}");
        assert_eq!(out.matches("?v=v1").count(), 5);
    }
}
