//! Run-time settings kept as one JSON document per key.

use super::db::Connection;
use super::Result;
use crate::automation::hours::BusinessHours;
use rusqlite::{params, OptionalExtension};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use utoipa::ToSchema;

/// The customer widget's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WidgetSettings {
    /// Sites that may embed the widget, as origins (`https://www.example.com`). The widget's
    /// own pages are always allowed.
    pub allowed_origins: Vec<String>,
    /// Shown in the panel's header.
    pub team_name: String,
    /// `#rrggbb`.
    pub color: String,
    pub greeting: String,
    /// Shown when no agent is online.
    pub away_message: String,
    /// `right` or `left`.
    pub position: String,
    /// Refuse identities the site did not sign.
    pub require_verification: bool,
    /// The key the site signs identities with. Never shown to visitors.
    pub identity_secret: String,
}

impl Default for WidgetSettings {
    fn default() -> Self {
        WidgetSettings {
            allowed_origins: Vec::new(),
            team_name: "Support".into(),
            color: "#2b6cb0".into(),
            greeting: "Hi! How can we help?".into(),
            away_message: "We are away right now. Leave a message and we will answer as soon as we are back.".into(),
            position: "right".into(),
            require_verification: false,
            identity_secret: String::new(),
        }
    }
}

/// Where new portal tickets go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PortalSettings {
    /// Customers may sign in and open tickets.
    pub enabled: bool,
    /// The project new portal tickets go to; none means the oldest project.
    pub project_id: Option<i64>,
}

impl Default for PortalSettings {
    fn default() -> Self {
        PortalSettings { enabled: true, project_id: None }
    }
}

/// Whether the email channel takes new mail in, and where it files it. Who is emailed, and
/// when, is decided by rules (automations).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EmailFlow {
    /// Turn new email to the support address into tickets (and accept replies by email).
    pub inbound: bool,
    /// The project new email tickets go to; none means the oldest project.
    pub inbound_project_id: Option<i64>,
}

impl Default for EmailFlow {
    fn default() -> Self {
        EmailFlow { inbound: true, inbound_project_id: None }
    }
}

const WIDGET: &str = "widget";
const BUSINESS_HOURS: &str = "business_hours";
const EMAIL_FLOW: &str = "email_flow";
const REPLY_SECRET: &str = "reply_secret";
const DEVICE_SECRET: &str = "device_secret";

pub fn email_flow(conn: &Connection) -> Result<EmailFlow> {
    load(conn, EMAIL_FLOW)
}

pub fn set_email_flow(conn: &Connection, value: &EmailFlow) -> Result<()> {
    save(conn, EMAIL_FLOW, value)
}

/// The key that signs reply addresses, made on first use. Replacing it revokes every reply
/// address sent so far.
pub fn reply_secret(conn: &Connection) -> Result<String> {
    match made_reply_secret(conn)? {
        Some(secret) => Ok(secret),
        None => rotate_reply_secret(conn),
    }
}

/// The reply key if it was made already: what a read can tell (`reply_secret` makes it).
pub fn made_reply_secret(conn: &Connection) -> Result<Option<String>> {
    let secret: String = load(conn, REPLY_SECRET)?;
    Ok(Some(secret).filter(|s| !s.is_empty()))
}

pub fn rotate_reply_secret(conn: &Connection) -> Result<String> {
    let secret = crate::token::generate("");
    save(conn, REPLY_SECRET, &secret)?;
    Ok(secret)
}

/// Signs the known-device cookies of sign-ins, made on first use. Replacing it would make every
/// browser unknown again (to the per-account login limit).
pub fn device_secret(conn: &Connection) -> Result<crate::domain::Secret> {
    let secret: String = load(conn, DEVICE_SECRET)?;
    if !secret.is_empty() {
        return Ok(crate::domain::Secret::new(secret));
    }
    let secret = crate::token::generate("");
    save(conn, DEVICE_SECRET, &secret)?;
    Ok(crate::domain::Secret::new(secret))
}

/// Signs the time a web form was served; made by the migration that added forms.
pub fn form_secret(conn: &Connection) -> Result<String> {
    load(conn, "form_secret")
}

pub fn business_hours(conn: &Connection) -> Result<BusinessHours> {
    load(conn, BUSINESS_HOURS)
}

pub fn set_business_hours(conn: &Connection, value: &BusinessHours) -> Result<()> {
    save(conn, BUSINESS_HOURS, value)
}

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

pub fn portal(conn: &Connection) -> Result<PortalSettings> {
    load(conn, "portal")
}

pub fn set_portal(conn: &Connection, value: &PortalSettings) -> Result<()> {
    save(conn, "portal", value)
}

pub fn widget(conn: &Connection) -> Result<WidgetSettings> {
    load(conn, WIDGET)
}

pub fn set_widget(conn: &Connection, value: &WidgetSettings) -> Result<()> {
    save(conn, WIDGET, value)
}

/// The widget settings, with an identity secret made on first use.
pub fn widget_with_secret(conn: &Connection) -> Result<WidgetSettings> {
    let mut value = widget(conn)?;
    if value.identity_secret.is_empty() {
        value.identity_secret = crate::token::generate("");
        set_widget(conn, &value)?;
    }
    Ok(value)
}
