//! Run-time settings kept as one JSON document per key.

use super::Result;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use utoipa::ToSchema;

/// The customer widget's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WidgetSettings {
    /// Sites that may embed the widget, as origins (`https://www.example.com`). The widget's
    /// own pages are always allowed.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

const WIDGET: &str = "widget";

fn load<T: DeserializeOwned + Default>(conn: &Connection, key: &str) -> Result<T> {
    let text: Option<String> =
        conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0)).optional()?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default())
}

fn save<T: Serialize>(conn: &Connection, key: &str, value: &T) -> Result<()> {
    let text = serde_json::to_string(value).map_err(|e| super::StoreError::Internal(e.to_string()))?;
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, text],
    )?;
    Ok(())
}

pub fn widget(conn: &Connection) -> Result<WidgetSettings> {
    load(conn, WIDGET)
}

pub fn set_widget(conn: &Connection, value: &WidgetSettings) -> Result<()> {
    save(conn, WIDGET, value)
}
