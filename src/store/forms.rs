//! Web forms an admin designs: where a submission goes (a project, an item type) and which
//! fields it asks for beyond the built-in name, email, subject and message. A submission
//! becomes an item whose requester is an unverified contact, and runs the rules of a new item.

use super::db::{Connection, Row};
use super::items::{self, NewItem};
use super::{is_constraint, Millis, Result, StoreError, Viewer};
use crate::domain::{Channel, Invalid, ItemKind, Priority};
use crate::store::Tx;
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

const MAX_FIELDS: usize = 20;
const MAX_OPTIONS: usize = 50;
const MAX_LABEL: usize = 200;
const MAX_TEXT: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    LongText,
    Choice,
    Checkbox,
}

/// An extra field of a form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormField {
    pub label: String,
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    /// The choices of a `choice` field.
    #[serde(default)]
    pub options: Vec<String>,
}

/// What an admin writes.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormInput {
    pub name: String,
    pub project_id: i64,
    pub item_kind: ItemKind,
    #[serde(default)]
    pub intro: String,
    /// Shown after a submission.
    #[serde(default = "default_thank_you")]
    pub thank_you: String,
    #[serde(default)]
    pub fields: Vec<FormField>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn default_thank_you() -> String {
    "Thank you! We have your message and will answer by email.".into()
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Form {
    pub id: i64,
    /// The form's public name, in its URL.
    pub key: String,
    pub name: String,
    pub project_id: i64,
    pub item_kind: ItemKind,
    pub intro: String,
    pub thank_you: String,
    pub fields: Vec<FormField>,
    pub enabled: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// What a person filled in.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    #[serde(default)]
    pub name: String,
    pub email: String,
    pub subject: String,
    pub message: String,
    /// One per extra field, in order; a checkbox is `"true"` when ticked.
    #[serde(default)]
    pub values: Vec<String>,
    /// The honeypot: people leave it empty.
    #[serde(default)]
    pub website: String,
    /// The signed time the form was served at.
    #[serde(default)]
    pub started: String,
}

fn invalid(message: impl Into<String>) -> StoreError {
    Invalid::new("invalid_form", message).into()
}

fn check_len(what: &str, text: &str, min: usize, max: usize) -> Result<()> {
    let n = text.trim().chars().count();
    if n < min || n > max {
        return Err(invalid(format!("{what} must be {min} to {max} characters")));
    }
    Ok(())
}

impl FormInput {
    fn validate(&self, conn: &Connection) -> Result<()> {
        check_len("the name", &self.name, 1, MAX_LABEL)?;
        check_len("the introduction", &self.intro, 0, MAX_TEXT)?;
        check_len("the thank-you text", &self.thank_you, 1, MAX_TEXT)?;
        if self.fields.len() > MAX_FIELDS {
            return Err(invalid(format!("a form has at most {MAX_FIELDS} extra fields")));
        }
        for (i, f) in self.fields.iter().enumerate() {
            check_len(&format!("field {}'s label", i + 1), &f.label, 1, MAX_LABEL)?;
            match (f.kind, f.options.len()) {
                (FieldKind::Choice, 1..=MAX_OPTIONS) => {
                    for option in &f.options {
                        check_len(&format!("an option of field {}", i + 1), option, 1, MAX_LABEL)?;
                    }
                }
                (FieldKind::Choice, _) => {
                    return Err(invalid(format!("field {} needs 1 to {MAX_OPTIONS} options", i + 1)));
                }
                (_, 0) => {}
                (_, _) => return Err(invalid(format!("only a choice field has options (field {})", i + 1))),
            }
        }
        super::projects::get(conn, Viewer::SYSTEM, self.project_id)?;
        Ok(())
    }
}

const COLS: &str = "id, key, name, project_id, item_kind, intro, thank_you, fields, enabled, created_at, updated_at";

fn row(r: &Row) -> rusqlite::Result<Form> {
    let fields: String = r.get(7)?;
    Ok(Form {
        id: r.get(0)?,
        key: r.get(1)?,
        name: r.get(2)?,
        project_id: r.get(3)?,
        item_kind: r.get(4)?,
        intro: r.get(5)?,
        thank_you: r.get(6)?,
        fields: serde_json::from_str(&fields).unwrap_or_default(),
        enabled: r.get(8)?,
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
    })
}

pub fn list(conn: &Connection) -> Result<Vec<Form>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLS} FROM forms ORDER BY name, id"))?;
    let rows = stmt.query_map([], row)?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub fn get(conn: &Connection, id: i64) -> Result<Form> {
    conn.query_row(&format!("SELECT {COLS} FROM forms WHERE id = ?1"), [id], row)
        .optional()?
        .ok_or(StoreError::NotFound("form_not_found"))
}

/// An enabled form by its public key; a disabled one is not found.
pub fn by_key(conn: &Connection, key: &str) -> Result<Form> {
    conn.query_row(&format!("SELECT {COLS} FROM forms WHERE key = ?1 AND enabled = 1"), [key], row)
        .optional()?
        .ok_or(StoreError::NotFound("form_not_found"))
}

/// Creates a form (`key`: its new random public name) or, with `id`, replaces one (which keeps
/// its key and creation time).
pub fn save(conn: &Connection, id: Option<i64>, key: &str, input: &FormInput, now: Millis) -> Result<Form> {
    input.validate(conn)?;
    if let Some(id) = id {
        get(conn, id)?;
    }
    let fields = serde_json::to_string(&input.fields).map_err(|e| StoreError::Internal(e.to_string()))?;
    let id: i64 = conn
        .query_row(
            "INSERT INTO forms (id, key, name, project_id, item_kind, intro, thank_you, fields, enabled, created_at,
                                updated_at)
             VALUES (coalesce(?1, (SELECT coalesce(max(id), 0) + 1 FROM forms)), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, project_id = excluded.project_id,
                 item_kind = excluded.item_kind, intro = excluded.intro, thank_you = excluded.thank_you,
                 fields = excluded.fields, enabled = excluded.enabled, updated_at = excluded.updated_at
             RETURNING id",
            params![
                id,
                key,
                input.name.trim(),
                input.project_id,
                input.item_kind,
                input.intro.trim(),
                input.thank_you.trim(),
                fields,
                input.enabled,
                now
            ],
            |r| r.get(0),
        )
        .map_err(|e| if is_constraint(&e) { StoreError::Conflict("form_key_taken") } else { e.into() })?;
    get(conn, id)
}

pub fn delete(conn: &Connection, id: i64) -> Result<()> {
    if conn.execute("DELETE FROM forms WHERE id = ?1", [id])? == 0 {
        return Err(StoreError::NotFound("form_not_found"));
    }
    Ok(())
}

fn missing(what: &str) -> StoreError {
    Invalid::new("missing_field", format!("please fill in {what}")).into()
}

/// The item's description: the message, then each extra field as "Label: value".
fn describe(form: &Form, s: &Submission) -> Result<String> {
    if s.values.len() > form.fields.len() {
        return Err(Invalid::new("invalid_field", "more values than the form has fields").into());
    }
    let mut text = s.message.trim().to_owned();
    for (i, field) in form.fields.iter().enumerate() {
        let value = s.values.get(i).map(|v| v.trim()).unwrap_or("");
        let value = match field.kind {
            FieldKind::Checkbox if value == "true" => "yes",
            FieldKind::Checkbox if field.required => return Err(missing(&format!("\"{}\"", field.label))),
            FieldKind::Checkbox => "no",
            _ if value.is_empty() && field.required => return Err(missing(&format!("\"{}\"", field.label))),
            _ if value.is_empty() => continue,
            FieldKind::Choice if !field.options.iter().any(|o| o == value) => {
                return Err(Invalid::new(
                    "invalid_field",
                    format!("\"{value}\" is not a choice of \"{}\"", field.label),
                )
                .into());
            }
            _ if value.chars().count() > MAX_TEXT => {
                return Err(Invalid::new("invalid_field", format!("\"{}\" is too long", field.label)).into());
            }
            _ => value,
        };
        text.push_str(&format!("\n\n{}: {value}", field.label));
    }
    Ok(text)
}

/// Files a submission (its spam checks done by the caller): the requester is the unverified
/// contact with that email (see `contacts`), created if new; the item runs the rules of a new
/// item.
pub fn submit(conn: &Tx, key: &str, s: &Submission, email: &str, now: Millis) -> Result<items::Item> {
    let form = by_key(conn, key)?;
    if s.subject.trim().is_empty() {
        return Err(missing("the subject"));
    }
    let subject = crate::domain::Title::parse(&s.subject)?.into_string();
    if s.message.trim().is_empty() {
        return Err(missing("the message"));
    }
    if s.message.chars().count() > crate::domain::MAX_BODY_CHARS {
        return Err(Invalid::new("invalid_field", "the message is too long").into());
    }
    let description = describe(&form, s)?;
    let name = Some(s.name.trim()).filter(|n| !n.is_empty());
    if name.is_some_and(|n| n.chars().count() > MAX_LABEL) {
        return Err(Invalid::new("invalid_field", "the name is too long").into());
    }
    // Nobody verified the address: the ticket's requester is an unverified contact, never the
    // customer who owns the address (their portal would show a stranger's ticket).
    let requester = super::contacts::form_contact(conn, name, email, now)?;
    items::insert(
        conn,
        Viewer::SYSTEM,
        NewItem {
            project_id: form.project_id,
            kind: form.item_kind,
            title: subject,
            description,
            priority: Priority::Normal,
            requester_id: Some(requester),
            assignee_id: None,
            channel: Channel::Form,
            created_by: None,
        },
        now,
    )
}
