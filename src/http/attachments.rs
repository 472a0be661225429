//! Uploading a file (before the message that carries it) and downloading one. Downloads never
//! let a browser run what a user uploaded: nosniff, a sandboxing CSP, and `attachment`
//! disposition for anything but a short list of passive types.

use super::{Agent, State};
use crate::domain::{ContentType, Filename, Invalid, Party};
use crate::error::{ApiError, ErrorBody};
use crate::store::attachments::{AttachmentMeta, NewAttachment};
use actix_web::http::header::{Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue};
use actix_web::http::StatusCode;
use actix_web::{get, post};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Deserialize;
use sha2::{Digest, Sha256};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(upload).service(download);
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The file's name; paths are stripped.
    pub filename: String,
}

/// Reads a request body up to `max` bytes; more is a 413, nothing stored.
pub(crate) async fn read_limited(mut body: web::Payload, max: usize) -> Result<Vec<u8>, ApiError> {
    let mut data = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request("invalid_body", e.to_string()))?;
        if data.len() + chunk.len() > max {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "attachment_too_large",
                format!("This file is too large: files may be at most {}.", crate::domain::human_size(max as u64)),
            ));
        }
        data.extend_from_slice(&chunk);
    }
    Ok(data)
}

/// Uploads a file: the raw bytes are the body, `Content-Type` its type. Send its id in a
/// message's `attachment_ids` to attach it.
#[utoipa::path(tag = "attachments", params(UploadQuery), request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = AttachmentMeta), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/api/v1/attachments")]
async fn upload(
    state: State,
    agent: Agent,
    req: HttpRequest,
    q: web::Query<UploadQuery>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    store_upload(&state, &req, &q.filename, body, Party::User(agent.user.id)).await
}

/// Reads, checks and stores one uploaded file for `uploader`; answers 201 with its metadata.
pub(super) async fn store_upload(
    state: &State,
    req: &HttpRequest,
    filename: &str,
    body: web::Payload,
    uploader: Party,
) -> Result<HttpResponse, ApiError> {
    let max = state.config.max_upload_bytes;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "attachment_too_large",
            format!("This file is too large: files may be at most {}.", crate::domain::human_size(max as u64)),
        )
    };
    if req.headers().get("content-length").and_then(|v| v.to_str().ok()?.parse::<usize>().ok()).is_some_and(|n| n > max)
    {
        return Err(too_large());
    }
    let data = read_limited(body, max).await?;
    if data.is_empty() {
        return Err(Invalid::new("empty_attachment", "the file is empty").into());
    }
    let new = NewAttachment {
        uploader,
        filename: Filename::sanitize(filename).into_string(),
        content_type: ContentType::sanitize(req.headers().get("content-type").and_then(|v| v.to_str().ok()))
            .into_string(),
        sha256: Sha256::digest(&data).to_vec(),
        data,
    };
    let now = state.now();
    let meta = state.store.conversations().upload(new, now).await?;
    Ok(HttpResponse::Created().json(meta))
}

/// Downloads a file the caller may see.
#[utoipa::path(tag = "attachments", responses(
    (status = 200, description = "the file, as the type it was uploaded as", content_type = "*/*"),
    (status = 404, body = ErrorBody)))]
#[get("/api/v1/attachments/{id}")]
async fn download(state: State, agent: Agent, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let (viewer, id) = (agent.viewer, id.into_inner());
    let meta = state.store.conversations().attachment(viewer, id).await?;
    Ok(file_response(&state, meta))
}

/// Streams an attachment chunk by chunk with headers that keep the browser from running it.
pub(crate) fn file_response(state: &State, meta: AttachmentMeta) -> HttpResponse {
    let content_type = ContentType::sanitize(Some(&meta.content_type));
    let disposition = ContentDisposition {
        disposition: if content_type.is_inline_safe() { DispositionType::Inline } else { DispositionType::Attachment },
        parameters: vec![
            DispositionParam::Filename(meta.filename.chars().map(|c| if c.is_ascii() { c } else { '_' }).collect()),
            DispositionParam::FilenameExt(ExtendedValue {
                charset: Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: meta.filename.clone().into_bytes(),
            }),
        ],
    };
    let store = state.store.clone();
    let id = meta.id;
    let chunks = futures_util::stream::unfold(0i64, move |idx| {
        let store = store.clone();
        async move {
            match store.conversations().attachment_chunk(id, idx).await {
                Ok(Some(data)) => Some((Ok(web::Bytes::from(data)), idx + 1)),
                Ok(None) => None,
                Err(e) => {
                    tracing::error!(error = %e, attachment = id, "reading an attachment failed");
                    Some((Err(actix_web::error::ErrorInternalServerError("read failed")), i64::MAX))
                }
            }
        }
    });
    HttpResponse::Ok()
        .content_type(content_type.as_str())
        .insert_header(disposition)
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Content-Security-Policy", "sandbox; default-src 'none'"))
        .insert_header(("Cache-Control", "private, max-age=3600"))
        .no_chunking(meta.size as u64)
        .streaming(chunks)
}
