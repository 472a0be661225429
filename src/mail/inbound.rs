//! Mail that comes in, by IMAP or the SMTP listener. A reply is posted as the person its reply
//! token names (the token, never From, says who that is); new mail to the support address
//! becomes a ticket; automatic mail and bounces are dropped, so two auto-responders never
//! ping-pong; anything doubtful is held for an admin. Every email is recorded once, by its
//! Message-ID, so a message fetched or delivered twice is handled once.

use super::reply::{authors_text, text_of};
use super::reply_token::{ReplyToken, Thread, TokenError};
use crate::clock::Clock;
use crate::domain::{ContentType, Filename, Party, MAX_ATTACHMENTS, MAX_BODY_CHARS};
use crate::store::attachments::NewAttachment;
use crate::store::inbound::{Outcome, Record};
use crate::store::{EmailReply, EmailTicket, Store, StoreError, Viewer};
use mail_parser::{Message, MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// What became of one email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Posted into conversation `id` (a reply).
    Posted(i64),
    /// Opened a ticket whose conversation is `id`.
    Ticket(i64),
    Held(&'static str),
    Dropped(&'static str),
    /// Handled before.
    Duplicate,
}

#[derive(Clone)]
pub struct Mailroom {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// Addresses Rapport sends from and receives at: mail from them is our own, come back.
    pub own_addresses: Vec<String>,
    pub max_attachment_bytes: usize,
}

impl Mailroom {
    /// Handles one raw email. `envelope_to` are the SMTP recipients when the listener got it
    /// (where a reply address survives even when headers do not). An error means nothing was
    /// recorded and the mail should be offered again later.
    pub async fn receive(&self, raw: Vec<u8>, envelope_to: &[String]) -> Result<Received, StoreError> {
        self.handle(raw, envelope_to, None).await
    }

    /// Posts held mail as the person its token names, or files it as a ticket: an admin looked
    /// at it and vouches for the sender.
    pub async fn release(&self, id: i64) -> Result<Received, StoreError> {
        let raw = self.store.mail().held(id).await?;
        match self.handle(raw, &[], Some(id)).await? {
            Received::Held(reason) | Received::Dropped(reason) => {
                Err(StoreError::Conflict(if reason == "empty" { "held_mail_empty" } else { "held_mail_not_postable" }))
            }
            done => Ok(done),
        }
    }

    async fn handle(
        &self,
        raw: Vec<u8>,
        envelope_to: &[String],
        release_of: Option<i64>,
    ) -> Result<Received, StoreError> {
        let now = self.clock.now_ms();
        let parsed = MessageParser::default().parse(&raw);
        // Without a Message-ID (or with an empty one, `<>`), the bytes themselves name the mail.
        let message_id = parsed
            .as_ref()
            .and_then(|m| m.message_id())
            .map(bare_id)
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| hash_id(&raw));
        if release_of.is_none() {
            let id = message_id.clone();
            if self.store.mail().seen_before(id).await? {
                return Ok(Received::Duplicate);
            }
        }
        let Some(mail) = parsed else {
            let record = self.record(message_id, "", "", Outcome::Dropped, "unparseable", release_of);
            return self.finish(record, Received::Dropped("unparseable")).await;
        };
        let from = mail.from().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or("").trim().to_lowercase();
        let subject = mail.subject().unwrap_or("").trim().to_owned();
        let base = Record {
            references: reference_chain(&mail),
            ..self.record(message_id, &from, &subject, Outcome::Dropped, "", release_of)
        };
        let drop = |reason: &'static str| (Record { reason: reason.into(), ..base.clone() }, Received::Dropped(reason));
        let hold = |reason: &'static str| {
            let record =
                Record { outcome: Outcome::Held, reason: reason.into(), raw: Some(raw.clone()), ..base.clone() };
            (record, Received::Held(reason))
        };

        if from.is_empty() {
            let (r, o) = drop("no_sender");
            return self.finish(r, o).await;
        }
        if let Some(reason) = self.automatic(&mail, &from) {
            let (r, o) = drop(reason);
            return self.finish(r, o).await;
        }
        let released = release_of.is_some();
        match find_token(&mail, envelope_to, &self.secret().await?, now) {
            Found::Token(token) => {
                let party = token.party;
                let Some(recipient) = self.store.mail().recipient(party).await? else {
                    let (r, o) = hold("recipient_unavailable");
                    return self.finish(r, o).await;
                };
                if !released && !recipient.address.eq_ignore_ascii_case(&from) {
                    let (r, o) = hold("sender_mismatch");
                    return self.finish(r, o).await;
                }
                let (body, attachments) = self.content(&mail, true);
                if body.is_empty() && attachments.is_empty() {
                    let (r, o) = drop("empty");
                    return self.finish(r, o).await;
                }
                let reply = EmailReply {
                    viewer: recipient.viewer,
                    author: party,
                    conversation_id: match token.thread {
                        Thread::Conversation(id) => id,
                        Thread::Ticket(_) => 0,
                    },
                    ticket_id: match token.thread {
                        Thread::Ticket(id) => Some(id),
                        Thread::Conversation(_) => None,
                    },
                    body,
                    attachments,
                    record: Record { outcome: Outcome::Posted, ..base.clone() },
                };
                match self.store.post_email_reply(reply, now).await {
                    Ok(posted) => Ok(Received::Posted(posted.conversation.id)),
                    // The token's recipient may no longer see the conversation (it moved to
                    // another requester, or they lost access): nothing is posted.
                    Err(StoreError::NotFound(_)) => {
                        let (r, o) = hold("conversation_unavailable");
                        self.finish(r, o).await
                    }
                    // What the store refuses of any message (see `content`), held for an admin.
                    Err(StoreError::Invalid(invalid)) => {
                        let (r, o) = hold(invalid.code);
                        self.finish(r, o).await
                    }
                    Err(e) => Err(e),
                }
            }
            Found::Forged => {
                let (r, o) = hold("reply_token_forged");
                self.finish(r, o).await
            }
            Found::Nothing => {
                if !self.store.settings().email_flow().await?.inbound {
                    let (r, o) = drop("inbound_off");
                    return self.finish(r, o).await;
                }
                let address = from.clone();
                let is_agent = self.store.users().is_agent(address).await?;
                if is_agent && !released {
                    let (r, o) = hold("agent_without_token");
                    return self.finish(r, o).await;
                }
                // A customer answering their own earlier email (or our answer to it without
                // the token, e.g. through a forward) continues that ticket.
                let (refs, address) = (referenced_ids(&mail), from.clone());
                if let Some((conversation_id, customer)) = self.store.mail().thread_of(refs, address).await? {
                    let (body, attachments) = self.content(&mail, true);
                    let reply = EmailReply {
                        viewer: Viewer::Customer { customer_id: customer },
                        author: Party::Customer(customer),
                        conversation_id,
                        ticket_id: None,
                        body,
                        attachments,
                        record: Record { outcome: Outcome::Posted, ..base.clone() },
                    };
                    return self.store.post_email_reply(reply, now).await.map(|p| Received::Posted(p.conversation.id));
                }
                let (body, attachments) = self.content(&mail, false);
                if body.is_empty() && attachments.is_empty() {
                    let (r, o) = drop("empty");
                    return self.finish(r, o).await;
                }
                let name = mail.from().and_then(|a| a.first()).and_then(|a| a.name()).map(|n| n.trim().to_owned());
                let ticket = EmailTicket {
                    from: from.clone(),
                    name: name.filter(|n| !n.is_empty() && n.chars().count() <= 200),
                    subject: if subject.is_empty() {
                        "(no subject)".into()
                    } else {
                        subject.chars().take(500).collect()
                    },
                    body,
                    attachments,
                    record: Record { outcome: Outcome::Ticket, ..base },
                };
                let started = self.store.open_email_ticket(ticket, now).await?;
                Ok(Received::Ticket(started.conversation.id))
            }
        }
    }

    fn record(
        &self,
        message_id: String,
        from: &str,
        subject: &str,
        outcome: Outcome,
        reason: &str,
        release_of: Option<i64>,
    ) -> Record {
        Record {
            message_id,
            from: from.into(),
            subject: subject.chars().take(500).collect(),
            outcome,
            reason: reason.into(),
            conversation_id: None,
            raw: None,
            release_of,
            references: Vec::new(),
        }
    }

    async fn finish(&self, record: Record, outcome: Received) -> Result<Received, StoreError> {
        let now = self.clock.now_ms();
        tracing::info!(from = %record.from, outcome = ?outcome, "inbound email");
        self.store.mail().record_inbound(record, now).await?;
        Ok(outcome)
    }

    async fn secret(&self) -> Result<String, StoreError> {
        Ok(self.store.mail().signing().await?.reply_secret)
    }

    /// Why this mail is automatic (RFC 3834 and what auto-responders really send), if it is.
    fn automatic(&self, mail: &Message, from: &str) -> Option<&'static str> {
        let header = |name: &str| mail.header_raw(name).map(|v| v.trim().to_ascii_lowercase());
        if header("Auto-Submitted").is_some_and(|v| !v.starts_with("no")) {
            return Some("automatic");
        }
        if header("Precedence").is_some_and(|v| ["bulk", "junk", "list", "auto_reply"].contains(&v.as_str())) {
            return Some("automatic");
        }
        if ["X-Autoreply", "X-Autorespond", "X-Autogenerated", "X-Auto-Reply"].iter().any(|h| header(h).is_some()) {
            return Some("automatic");
        }
        let subject = mail.subject().unwrap_or("").trim_start().to_ascii_lowercase();
        if ["auto:", "automatic reply", "autoreply", "auto-reply", "out of office"]
            .iter()
            .any(|p| subject.starts_with(p))
        {
            return Some("automatic");
        }
        let local = from.split('@').next().unwrap_or("");
        if header("Return-Path").is_some_and(|v| v == "<>")
            || ["mailer-daemon", "postmaster"].contains(&local)
            || header("Content-Type").is_some_and(|v| v.starts_with("multipart/report"))
        {
            return Some("bounce");
        }
        if self.own_addresses.iter().any(|own| own.eq_ignore_ascii_case(from)) {
            return Some("own_mail");
        }
        None
    }

    /// The text to post (without quoted history for replies) and the attachments kept.
    fn content(&self, mail: &Message, reply: bool) -> (String, Vec<NewAttachment>) {
        let text = if reply { authors_text(mail) } else { text_of(mail).trim().to_owned() };
        // A message's body obeys the store's rules (`conversations::post`): no control
        // characters but line breaks and tabs, and room kept for the notes below.
        let text: String = text.chars().filter(|c| !c.is_control() || matches!(c, '\n' | '\t' | '\r')).collect();
        let mut files = Vec::new();
        let mut body: String = text.chars().take(MAX_BODY_CHARS - 200).collect();
        if body.len() < text.len() {
            // Longer than a chat message may be: the message shows the start and says so, and
            // the whole text comes with it as a file, never cut silently.
            if let Some(line_end) = body.rfind('\n').filter(|&at| at > body.len() / 2) {
                body.truncate(line_end);
            }
            if text.len() <= self.max_attachment_bytes {
                body.push_str("\n\n[The email goes on: its whole text is attached as email.txt.]");
                files.push(NewAttachment {
                    uploader: Party::Bot,
                    filename: "email.txt".to_owned(),
                    content_type: "text/plain".to_owned(),
                    sha256: Sha256::digest(text.as_bytes()).to_vec(),
                    data: text.into_bytes(),
                });
            } else {
                body.push_str("\n\n[The email goes on, longer than the largest file kept: only its start is here.]");
            }
        }
        let mut left_out = 0;
        for part in mail.attachments() {
            let data = part.contents();
            if data.is_empty() {
                continue;
            }
            // A message takes at most `MAX_ATTACHMENTS` files (the store refuses more); the rest
            // are dropped, and said so in the message.
            if data.len() > self.max_attachment_bytes || files.len() == MAX_ATTACHMENTS {
                left_out += 1;
                continue;
            }
            let content_type = part.content_type().map(|t| match t.subtype() {
                Some(sub) => format!("{}/{sub}", t.ctype()),
                None => t.ctype().to_owned(),
            });
            files.push(NewAttachment {
                // Set to the author when posted.
                uploader: Party::Bot,
                filename: Filename::sanitize(part.attachment_name().unwrap_or("attachment")).into_string(),
                content_type: ContentType::sanitize(content_type.as_deref()).into_string(),
                sha256: Sha256::digest(data).to_vec(),
                data: data.to_vec(),
            });
        }
        if left_out > 0 {
            body.push_str(&format!("\n[{left_out} attachment(s) too large or too many to keep]"));
        }
        (body.trim().to_owned(), files)
    }
}

enum Found {
    Token(ReplyToken),
    /// A reply address with a token that does not verify: someone made it up.
    Forged,
    Nothing,
}

/// Looks for a reply token in the recipients (envelope, To, Cc, Delivered-To, X-Original-To),
/// then in In-Reply-To and References. An expired token counts as none: the mail opens a new
/// ticket instead.
fn find_token(mail: &Message, envelope_to: &[String], secret: &str, now: i64) -> Found {
    let mut addresses: Vec<String> = envelope_to.to_vec();
    for list in [mail.to(), mail.cc()].into_iter().flatten() {
        addresses.extend(list.iter().filter_map(|a| a.address()).map(str::to_owned));
    }
    for name in ["Delivered-To", "X-Original-To", "Envelope-To"] {
        for value in mail.header_values(name) {
            if let Some(text) = value.as_text() {
                addresses.push(text.trim().trim_matches(['<', '>']).to_owned());
            }
        }
    }
    let mut forged = false;
    for address in &addresses {
        if let Some(tag) = ReplyToken::in_address(address) {
            match ReplyToken::verify(tag, secret, now) {
                Ok(token) => return Found::Token(token),
                Err(TokenError::Expired) => {}
                Err(_) => forged = true,
            }
        }
    }
    // Other systems' Message-IDs fill these headers too: only a token that verifies counts.
    for id in referenced_ids(mail) {
        if let Some(token) = ReplyToken::in_message_id(&id).and_then(|t| ReplyToken::verify(t, secret, now).ok()) {
            return Found::Token(token);
        }
    }
    if forged {
        Found::Forged
    } else {
        Found::Nothing
    }
}

/// The Message-IDs this mail answers, newest first, without angle brackets.
fn referenced_ids(mail: &Message) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for value in [mail.in_reply_to(), mail.references()] {
        for id in value.as_text_list().unwrap_or_default().iter().rev() {
            let id = bare_id(id);
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    ids
}

/// The References chain of this mail, oldest first, ending with what it answers directly; bounded,
/// as the chain of a long thread is, so a crafted header cannot grow every reply.
fn reference_chain(mail: &Message) -> Vec<String> {
    let mut chain: Vec<String> = Vec::new();
    for value in [mail.references(), mail.in_reply_to()] {
        for id in value.as_text_list().unwrap_or_default() {
            let id = bare_id(id);
            let plain =
                !id.is_empty() && id.len() <= 250 && id.chars().all(|c| c.is_ascii_graphic() && c != '<' && c != '>');
            if plain && !chain.contains(&id) {
                chain.push(id);
            }
        }
    }
    let excess = chain.len().saturating_sub(MAX_REFERENCES);
    chain.drain(..excess);
    chain
}

/// How many ids of a customer's References chain are kept (the newest).
const MAX_REFERENCES: usize = 20;

fn bare_id(id: &str) -> String {
    id.trim().trim_matches(['<', '>']).to_owned()
}

fn hash_id(raw: &[u8]) -> String {
    let digest = Sha256::digest(raw);
    format!("sha256:{}", digest.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

#[cfg(test)]
mod proptests;
