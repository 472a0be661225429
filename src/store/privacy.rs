//! Data protection: everything Rapport holds about one customer, as one document, and the
//! erasure of all of it.
//!
//! The export is the customer's own record: who they are, their conversations with every
//! message and file, the tickets they asked for, the email sent to them and received from them.
//! It is made to be handed to the customer, so it is built from what they may see
//! (`customer_view`): no internal conversation, no agent's description of a ticket. The erasure
//! removes all of that and the internal conversations of their tickets too. Email counts as
//! theirs by their verified address only, never by an address someone typed.

use super::conversations::{self, MessagePage};
use super::customer_view::{self, CustomerConversation, Ticket};
use super::customers::{self, Customer};
use super::db::Connection;
use super::{attachments, inbound, items, json_list, notify, portal, rules, Millis, Result, Viewer};
use crate::domain::{Channel, Party, PartyKind};
use crate::store::Tx;
use base64::Engine;
use rusqlite::params;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct CustomerExport {
    pub exported_at: Millis,
    pub customer: Customer,
    pub has_portal_password: bool,
    /// When each browser or portal session of theirs began.
    pub sessions_started_at: Vec<Millis>,
    pub conversations: Vec<ExportedConversation>,
    /// Their tickets as the portal shows them (an agent's description of one stays inside).
    pub tickets: Vec<Ticket>,
    /// Emails sent to their verified address.
    pub emails_sent: Vec<ExportedEmail>,
    /// Emails received from their verified address.
    pub emails_received: Vec<ReceivedEmail>,
}

/// A conversation as the customer sees it, with where it came from and every message.
#[derive(Serialize, ToSchema)]
pub struct ExportedConversation {
    #[serde(flatten)]
    pub conversation: CustomerConversation,
    pub channel: Channel,
    /// The page they wrote from, when the widget reported it.
    pub page_url: Option<String>,
    pub messages: Vec<ExportedMessage>,
}

#[derive(Serialize, ToSchema)]
pub struct ExportedMessage {
    pub seq: i64,
    /// `customer`, `user` or `bot`.
    pub author_kind: PartyKind,
    /// The author's name (an agent's, or their own), when known.
    pub author_name: Option<String>,
    pub body: String,
    pub created_at: Millis,
    pub attachments: Vec<ExportedFile>,
}

#[derive(Serialize, ToSchema)]
pub struct ExportedFile {
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    /// The file itself, base64.
    pub data_base64: String,
}

#[derive(Serialize, ToSchema)]
pub struct ExportedEmail {
    pub to: String,
    pub subject: String,
    pub text_body: String,
    pub status: String,
    pub created_at: Millis,
    pub sent_at: Option<Millis>,
}

#[derive(Serialize, ToSchema)]
pub struct ReceivedEmail {
    pub from: String,
    pub subject: String,
    pub outcome: String,
    pub received_at: Millis,
}

/// The addresses that are the customer's: the verified one only. A contact email a visitor
/// typed in proves nothing; it may be an agent's or another customer's address, whose mail is
/// not theirs to read or to erase.
fn addresses(customer: &Customer) -> Vec<String> {
    customer.email.iter().map(|a| a.to_lowercase()).collect()
}

/// Conversations and tickets come from the customer's own views, read as the customer: what
/// the export holds is what they could see in the widget and the portal.
pub fn export(conn: &Connection, id: i64, now: Millis) -> Result<CustomerExport> {
    let customer = customers::get(conn, id)?;
    let address_list = addresses(&customer);
    let addresses = json_list(&address_list);
    let has_portal_password =
        conn.query_row("SELECT password_hash IS NOT NULL FROM customers WHERE id = ?1", [id], |r| r.get(0))?;
    let sessions_started_at = conn
        .prepare("SELECT created_at FROM visitor_tokens WHERE customer_id = ?1 ORDER BY created_at")?
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let viewer = Viewer::Customer { customer_id: id };
    let conversations = conversations::of_customer(conn, viewer, id, ALL)?
        .iter()
        .map(|c| {
            Ok(ExportedConversation {
                conversation: CustomerConversation::of(c),
                channel: c.channel,
                page_url: c.page_url.clone(),
                messages: messages_of(conn, viewer, c.id)?,
            })
        })
        .collect::<Result<_>>()?;
    let emails_sent = conn
        .prepare(
            "SELECT to_address, subject, text_body, status, created_at, sent_at FROM outbox
             WHERE lower(to_address) IN (SELECT value FROM json_each(?1)) ORDER BY id",
        )?
        .query_map([&addresses], |r| {
            Ok(ExportedEmail {
                to: r.get(0)?,
                subject: r.get(1)?,
                text_body: r.get(2)?,
                status: r.get(3)?,
                created_at: r.get(4)?,
                sent_at: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let emails_received = conn
        .prepare(
            "SELECT from_address, subject, outcome, received_at FROM inbound_mail
             WHERE lower(from_address) IN (SELECT value FROM json_each(?1)) ORDER BY id",
        )?
        .query_map([&addresses], |r| {
            Ok(ReceivedEmail { from: r.get(0)?, subject: r.get(1)?, outcome: r.get(2)?, received_at: r.get(3)? })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(CustomerExport {
        exported_at: now,
        tickets: customer_view::tickets(conn, id, None)?,
        customer,
        has_portal_password,
        sessions_started_at,
        conversations,
        emails_sent,
        emails_received,
    })
}

/// No limit, for lists the export takes whole.
const ALL: usize = i64::MAX as usize;
const PAGE: usize = 500;

/// Every message of a conversation as `viewer` (its customer) sees it, with the files.
fn messages_of(conn: &Connection, viewer: Viewer, conversation_id: i64) -> Result<Vec<ExportedMessage>> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = conversations::messages(conn, viewer, conversation_id, MessagePage::After(after), PAGE)?;
        for m in &page {
            out.push(ExportedMessage {
                seq: m.seq,
                author_kind: m.author.kind,
                author_name: m.author.name.clone(),
                body: m.body.clone(),
                created_at: m.created_at,
                attachments: files_of(conn, m.id)?,
            });
            after = m.seq;
        }
        if page.len() < PAGE {
            return Ok(out);
        }
    }
}

fn files_of(conn: &Connection, message_id: i64) -> Result<Vec<ExportedFile>> {
    let files: Vec<(i64, String, String, i64)> = conn
        .prepare_cached("SELECT id, filename, content_type, size FROM attachments WHERE message_id = ?1 ORDER BY id")?
        .query_map([message_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut chunks = conn.prepare_cached("SELECT data FROM attachment_chunks WHERE attachment_id = ?1 ORDER BY idx")?;
    files
        .into_iter()
        .map(|(id, filename, content_type, size)| {
            let mut data = Vec::with_capacity(size as usize);
            for chunk in chunks.query_map([id], |r| r.get::<_, Vec<u8>>(0))? {
                data.extend_from_slice(&chunk?);
            }
            let data_base64 = base64::engine::general_purpose::STANDARD.encode(data);
            Ok(ExportedFile { filename, content_type, size, data_base64 })
        })
        .collect()
}

/// What an erasure removed, for the admin who asked and the log.
#[derive(Serialize, ToSchema)]
pub struct Erased {
    pub conversations: usize,
    pub messages: i64,
    pub items: usize,
    pub emails: usize,
}

/// Removes the customer and everything about them: their conversations (messages, files,
/// seen marks and pending emails go with them), the tickets they asked for with all of those
/// tickets' conversations, internal ones included, the email sent to and received from them,
/// their sessions, sign-in links and files never posted, and what automations noted about them.
/// The search index follows by its triggers.
pub fn erase(conn: &Tx, id: i64) -> Result<Erased> {
    let customer = customers::get(conn, id)?;
    let address_list = addresses(&customer);
    let items: Vec<i64> = conn
        .prepare("SELECT id FROM items WHERE requester_id = ?1")?
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let items_json = json_list(&items);
    // Another customer's conversation on one of those tickets (its requester was changed) is
    // theirs: it stays, without the ticket.
    let conversations: Vec<i64> = conn
        .prepare(
            "SELECT id FROM conversations
             WHERE customer_id = ?1
                OR (item_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?2)) AND customer_id IS NULL)",
        )?
        .query_map(params![id, items_json], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let messages: i64 = conn.query_row(
        "SELECT count(*) FROM messages WHERE conversation_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?1))",
        [json_list(&conversations)],
        |r| r.get(0),
    )?;
    // Email and automation records quote what was said: they go before the rows they point at
    // would turn their links to NULL.
    let mut emails = notify::forget_customer(conn, id, &conversations, &items, &address_list)?;
    emails += inbound::forget(conn, &conversations, &address_list)?;
    rules::forget(conn, &conversations, &items)?;
    conversations::erase(conn, &conversations, &items)?;
    items::erase(conn, &items)?;
    conversations::forget_party(conn, Party::Customer(id))?;
    attachments::forget_uploader(conn, Party::Customer(id))?;
    portal::forget_links(conn, &address_list)?;
    // Visitor tokens (widget and portal sessions) go with the customer, and their open sockets
    // close. Its id stays taken (`retired_ids`), so an old reply address or link never names
    // someone new.
    customers::delete(conn, id)?;
    conn.raise(super::Event::Rights(super::RightsChange::Customer(id)));
    conn.raise(super::Event::Rights(super::RightsChange::Conversations(conversations.clone())));
    Ok(Erased { conversations: conversations.len(), messages, items: items.len(), emails })
}
