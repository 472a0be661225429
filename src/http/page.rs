//! Keyset cursors: opaque to clients, two integers (a time and an id) inside.

use crate::error::ApiError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use utoipa::ToSchema;

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 200;

/// For `Option<Option<T>>` fields: a field that is present (even as `null`) is `Some`, so an
/// absent field leaves a value alone and `null` clears it.
pub fn present<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

pub fn encode(at: i64, id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{at}:{id}"))
}

pub fn decode(cursor: Option<&str>) -> Result<Option<(i64, i64)>, ApiError> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    let bad = || ApiError::bad_request("invalid_cursor", "cursor is not one this server gave out");
    let text = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(text).map_err(|_| bad())?;
    let (a, b) = text.split_once(':').ok_or_else(bad)?;
    Ok(Some((a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?)))
}

pub fn limit(requested: Option<usize>) -> Result<usize, ApiError> {
    match requested.unwrap_or(DEFAULT_LIMIT) {
        n @ 1..=MAX_LIMIT => Ok(n),
        _ => Err(ApiError::bad_request("invalid_limit", format!("limit must be from 1 to {MAX_LIMIT}"))),
    }
}

/// A page of a list. `next_cursor` is absent on the last page.
#[derive(Serialize, ToSchema)]
pub struct Paged<T: ToSchema> {
    pub entries: Vec<T>,
    pub next_cursor: Option<String>,
}
