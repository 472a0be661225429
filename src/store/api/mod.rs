//! The store as the rest of the program sees it: async functions grouped by aggregate, taking
//! and returning domain types. `store.users().by_email(..)`, `store.conversations().list(..)`:
//! nothing outside `store/` names a connection, builds SQL or opens a transaction. Everything
//! else in `store/` is the SQLite implementation behind these (a writer thread that
//! group-commits, pools of read connections); another database would implement the same set.

mod conversations;
mod customers;
mod items;
mod live;
mod mail;
mod rules;
mod settings;
mod users;

pub use conversations::Conversations;
pub use customers::{Customers, Vouched};
pub use items::Items;
pub use live::{Live, Told};
pub use mail::{Due, Mail, Signing};
pub use rules::Rules;
pub use settings::Settings;
pub use users::Users;

use super::Store;

impl Store {
    /// Conversations and their messages: lists, search, one conversation, tickets made of them.
    pub fn conversations(&self) -> Conversations<'_> {
        Conversations(self)
    }

    /// Items (tickets and tasks) and the projects they belong to.
    pub fn items(&self) -> Items<'_> {
        Items(self)
    }

    /// Customers: visitors, contacts, the portal's accounts, their data.
    pub fn customers(&self) -> Customers<'_> {
        Customers(self)
    }

    /// The team: users, their sessions, tokens, photos and preferences.
    pub fn users(&self) -> Users<'_> {
        Users(self)
    }

    /// What sockets, rooms and inboxes read, with the rights of the moment.
    pub fn live(&self) -> Live<'_> {
        Live(self)
    }

    /// The rules (automations) and their runs.
    pub fn rules(&self) -> Rules<'_> {
        Rules(self)
    }

    /// Email: who is owed what, the outbox, mail that came in.
    pub fn mail(&self) -> Mail<'_> {
        Mail(self)
    }

    /// The team's settings, secrets, forms and the health figures.
    pub fn settings(&self) -> Settings<'_> {
        Settings(self)
    }
}
