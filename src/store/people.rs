//! How people appear where they are listed: a customer in a list row (with the name to show,
//! `domain::display_name`), so that a list needs no read per row.

use super::customers::Customer;
use super::db::Row;
use crate::domain::display_name;
use serde::Serialize;
use utoipa::ToSchema;

/// A customer as a list row shows them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerSummary {
    pub id: i64,
    /// What to call them: their name, else their verified email, else the email they gave,
    /// else a friendly generated name ("Amber Otter") that stays the same.
    pub display_name: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// An email the customer gave themselves (not verified).
    pub contact_email: Option<String>,
    /// They gave a name or email, or were identified by the team's site.
    pub known: bool,
}

/// The columns `summary` reads, of customer `alias` (LEFT JOINed: all NULL when there is none).
pub(super) fn summary_cols(alias: &str) -> String {
    format!("{alias}.id, {alias}.name, {alias}.email, {alias}.contact_email, {alias}.external_id IS NOT NULL")
}

/// The customer whose `summary_cols` start at column `at`, if there is one.
pub(super) fn summary(r: &Row, at: usize) -> rusqlite::Result<Option<CustomerSummary>> {
    let Some(id) = r.get::<_, Option<i64>>(at)? else { return Ok(None) };
    let name: Option<String> = r.get(at + 1)?;
    let email: Option<String> = r.get(at + 2)?;
    let contact_email: Option<String> = r.get(at + 3)?;
    let external: bool = r.get(at + 4)?;
    Ok(Some(CustomerSummary {
        id,
        display_name: display_name(id, name.as_deref(), email.as_deref(), contact_email.as_deref()),
        known: external || name.is_some() || email.is_some() || contact_email.is_some(),
        name,
        email,
        contact_email,
    }))
}

impl Customer {
    /// What to call this customer wherever they are shown (`domain::display_name`).
    pub fn display_name(&self) -> String {
        display_name(self.id, self.name.as_deref(), self.email.as_deref(), self.contact_email.as_deref())
    }
}

impl From<&Customer> for CustomerSummary {
    fn from(c: &Customer) -> CustomerSummary {
        CustomerSummary {
            id: c.id,
            display_name: c.display_name(),
            name: c.name.clone(),
            email: c.email.clone(),
            contact_email: c.contact_email.clone(),
            known: c.known,
        }
    }
}

/// A customer as the agents' API answers with one: every field of `Customer`, and the name to
/// show.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NamedCustomer {
    #[serde(flatten)]
    pub customer: Customer,
    /// What to call them (`domain::display_name`): never "Visitor #5".
    pub display_name: String,
}

impl From<Customer> for NamedCustomer {
    fn from(customer: Customer) -> NamedCustomer {
        NamedCustomer { display_name: customer.display_name(), customer }
    }
}
