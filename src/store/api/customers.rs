//! Customers: widget visitors, contacts, the portal's accounts, and their data (export, erase).

use crate::store::conversations::{self, Conversation};
use crate::store::customer_view::{self, CustomerConversation, Ticket};
use crate::store::customers::{self, Customer};
use crate::store::items::{self, Item};
use crate::store::outbox::{self, NewEmail};
use crate::store::privacy::{self, CustomerExport, Erased};
use crate::store::{contacts, portal, Event, Millis, Page, Result, Store, Viewer};
use std::time::Duration;

#[derive(Clone, Copy)]
pub struct Customers<'s>(pub(super) &'s Store);

/// A verified identity from the team's site, for a visitor token (see `customers::identify`).
pub struct Vouched {
    pub external_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
}

impl Customers<'_> {
    pub async fn list(self, query: Option<String>, before_id: Option<i64>, limit: usize) -> Result<Page<Customer>> {
        self.0.read(move |c| customers::list(c, query.as_deref(), before_id, limit)).await
    }

    pub async fn get(self, id: i64) -> Result<Customer> {
        self.0.read(move |c| customers::get(c, id)).await
    }

    /// The customer whose verified address this is, if any.
    pub async fn by_email(self, email: String) -> Result<Option<Customer>> {
        self.0.read(move |c| customers::by_email(c, &email)).await
    }

    pub async fn insert(self, name: Option<String>, email: Option<String>, now: Millis) -> Result<Customer> {
        self.0.write(move |c| customers::insert(c, name.as_deref(), email.as_deref(), now)).await
    }

    /// The customer, and what else they wrote about as `viewer` may see it: the details panel.
    pub async fn activity(
        &self,
        viewer: Viewer,
        id: i64,
        limit: usize,
    ) -> Result<(Customer, Vec<Conversation>, Vec<Item>)> {
        self.0
            .read(move |c| {
                let customer = customers::get(c, id)?;
                Ok((
                    customer,
                    conversations::of_customer(c, viewer, id, limit)?,
                    items::of_requester(c, viewer, id, limit)?,
                ))
            })
            .await
    }

    /// Everything held about the customer, read within `budget`.
    pub async fn export(self, id: i64, budget: Duration, now: Millis) -> Result<CustomerExport> {
        self.0.read_heavy(budget, move |c| privacy::export(c, id, now)).await
    }

    pub async fn erase(self, id: i64) -> Result<Erased> {
        self.0.write(move |c| privacy::erase(c, id)).await
    }

    /// A new widget visitor, known by the hash of their token.
    pub async fn insert_visitor(self, token_hash: Vec<u8>, now: Millis) -> Result<Customer> {
        self.0.write(move |c| customers::insert_visitor(c, &token_hash, now)).await
    }

    pub async fn by_visitor_token(self, token_hash: Vec<u8>) -> Result<Option<Customer>> {
        self.0.read(move |c| customers::by_visitor_token(c, &token_hash)).await
    }

    /// The name and contact address a visitor typed.
    pub async fn set_contact(self, id: i64, name: Option<String>, email: Option<String>) -> Result<Customer> {
        self.0.write(move |c| customers::set_contact(c, id, name.as_deref(), email.as_deref())).await
    }

    /// The visitor becomes the customer the team's site vouches for, with the name they typed.
    pub async fn identify(
        &self,
        token_hash: Vec<u8>,
        site: Vouched,
        typed_name: Option<String>,
        now: Millis,
    ) -> Result<Customer> {
        self.0
            .write(move |c| {
                if let Some(email) = site.email.as_deref() {
                    // The site vouches for the address: a fresh one's form contact is theirs.
                    contacts::promote(c, email, Some(&site.external_id))?;
                }
                let customer = customers::identify(
                    c,
                    &token_hash,
                    &site.external_id,
                    site.email.as_deref(),
                    site.name.as_deref(),
                    now,
                )?;
                customers::set_contact(c, customer.id, typed_name.as_deref(), None)
            })
            .await
    }

    /// The visitor's conversations as they may see them, most recent first.
    pub async fn conversations(self, id: i64, limit: usize) -> Result<Vec<CustomerConversation>> {
        self.0.read(move |c| customer_view::conversations(c, id, limit)).await
    }

    /// The customer with this email and their portal password hash, for a sign-in.
    pub async fn for_login(self, email: String) -> Result<Option<(Customer, Option<String>)>> {
        self.0.read(move |c| portal::for_login(c, &email)).await
    }

    pub async fn start_session(self, customer_id: i64, session_hash: Vec<u8>, now: Millis) -> Result<()> {
        self.0.write(move |c| portal::start_session(c, customer_id, &session_hash, now)).await
    }

    pub async fn end_session(self, session_hash: Vec<u8>) -> Result<()> {
        self.0.write(move |c| portal::end_session(c, &session_hash)).await
    }

    /// Stores a sign-in link for `address` and queues the email that carries it.
    pub async fn send_link(self, link_hash: Vec<u8>, address: String, email: NewEmail, now: Millis) -> Result<()> {
        self.0
            .write(move |c| {
                portal::insert_link(c, &link_hash, &address, now)?;
                outbox::enqueue(c, &email, now)?;
                c.raise(Event::Mail);
                Ok(())
            })
            .await
    }

    /// Spends a sign-in link for a portal session; `None` when it expired or was used.
    pub async fn redeem_link(self, link_hash: Vec<u8>, session_hash: Vec<u8>, now: Millis) -> Result<Option<Customer>> {
        self.0.write(move |c| portal::redeem_link(c, &link_hash, &session_hash, now)).await
    }

    pub async fn has_password(self, customer_id: i64) -> Result<bool> {
        self.0.read(move |c| portal::has_password(c, customer_id)).await
    }

    pub async fn set_password(self, customer_id: i64, hash: String) -> Result<()> {
        self.0.write(move |c| portal::set_password(c, customer_id, &hash)).await
    }

    /// The customer's tickets, most recently active first.
    pub async fn tickets(self, customer_id: i64) -> Result<Vec<Ticket>> {
        self.0.read(move |c| portal::tickets(c, customer_id)).await
    }

    pub async fn ticket(self, customer_id: i64, id: i64) -> Result<Ticket> {
        self.0.read(move |c| portal::ticket(c, customer_id, id)).await
    }

    /// A ticket the customer opens in the portal; it runs the rules of a new item.
    pub async fn open_ticket(
        self,
        customer_id: i64,
        title: String,
        description: String,
        now: Millis,
    ) -> Result<Ticket> {
        self.0.write(move |c| portal::open_ticket(c, customer_id, title, description, now)).await
    }
}
