//! Automations: rules that act on what happens (a message posted, an item closed, a customer
//! waiting too long). This module decides: what a rule is, which facts an event has, whether a
//! rule's conditions hold, and what each action does and says it did. It knows no database:
//! it reads and acts through [`World`], which the store implements inside the write
//! transaction that caused the event, so what a rule does commits (or not) with its cause.

pub mod actions;
pub mod engine;
pub mod facts;
pub mod hours;
pub mod model;
mod notifying;

pub use engine::{act, dispatch, Outcome};
pub use facts::{check, with_hours, Facts};

use crate::domain::{Millis, NotifyReplies, Party, Status};
use hours::BusinessHours;
use model::Rule;

/// What an event is about, when a rule acts on it or names its people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Conversation(i64),
    Item(i64),
}

/// A user's own choices about being notified, as the notify action heeds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choices {
    /// Which new messages from customers (or from the team) notify them.
    pub notify_customer_replies: NotifyReplies,
    /// Whether internal messages notify them.
    pub notify_internal: bool,
    /// Whether a notification they did not see in time is emailed.
    pub email_fallback: bool,
}

/// An alert shown in the app to some users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub users: Vec<i64>,
    pub conversation_id: Option<i64>,
    pub item_id: Option<i64>,
    pub title: String,
    pub body: String,
}

/// An email with a rule's own text, about a conversation and/or an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice<'a> {
    pub to: Party,
    pub conversation_id: Option<i64>,
    pub item_id: Option<i64>,
    pub subject: &'a str,
    pub body: &'a str,
    /// Set when the notice waits the notification delay from then, and is dropped if its
    /// recipient looks first; `None` sends it at once.
    pub unseen_since: Option<Millis>,
}

/// What the engine reads of the world: enough to describe what a rule would do (dry runs read
/// only), and to decide what it does.
pub trait Reads {
    type Error;

    fn business_hours(&self) -> Result<BusinessHours, Self::Error>;
    fn team_name(&self) -> Result<String, Self::Error>;
    /// An item's description as its requester may read it.
    fn description_for_customer(&self, item: i64) -> Result<String, Self::Error>;
    /// The item's conversation with its requester, if there is one.
    fn requester_thread(&self, item: i64) -> Result<Option<i64>, Self::Error>;
    /// Users who follow the conversation's item or take part in it.
    fn watchers(&self, conversation: i64) -> Result<Vec<i64>, Self::Error>;
    /// An item's followers, or the users taking part in a conversation.
    fn followers(&self, of: Subject) -> Result<Vec<i64>, Self::Error>;
    fn assignee(&self, of: Subject) -> Result<Option<i64>, Self::Error>;
    /// Active users who may see a project (every project when `None`).
    fn everyone_who_sees(&self, project: Option<i64>) -> Result<Vec<i64>, Self::Error>;
    /// A user's name, or `None` when there is no such user.
    fn user_name(&self, user: i64) -> Result<Option<String>, Self::Error>;
    /// The notification choices of an active user who may see `about` (anything, when it is
    /// `None`); `None` for a user who may not, or is no longer active.
    fn may_see(&self, user: i64, about: Option<Subject>) -> Result<Option<Choices>, Self::Error>;
}

/// What the engine reads and does. Each action goes through the functions that own the rows,
/// so that its side effects (followers, live frames, the rules a bot's message sets off) happen.
pub trait World: Reads {
    /// The enabled rules an event of this trigger kind sets off, oldest first.
    fn rules_for(&self, event: &str) -> Result<Vec<std::sync::Arc<Rule>>, Self::Error>;
    /// Keeps an event's facts for dry runs; returns its id.
    fn remember(&self, facts: &Facts) -> Result<i64, Self::Error>;
    /// Logs what a rule did (or decided not to) about an event or a timed rule's subject.
    fn record_run(
        &self,
        rule: &Rule,
        key: &str,
        facts: &Facts,
        outcome: Outcome,
        detail: &[String],
        now: Millis,
    ) -> Result<(), Self::Error>;
    /// Posts as the bot and announces it; the new message's rules run with `cause`. Returns
    /// the message's number in its conversation.
    fn post_as_bot(&self, conversation: i64, body: String, cause: &[i64], now: Millis) -> Result<i64, Self::Error>;
    /// The item's conversation with its requester, started when there is none (`None`: no
    /// requester).
    fn customer_thread(&self, item: i64, now: Millis) -> Result<Option<i64>, Self::Error>;
    /// The item's internal conversation for notes, started when there is none.
    fn notes_conversation(&self, item: i64, now: Millis) -> Result<i64, Self::Error>;
    /// Sets a conversation's status, announcing and running the rules of a change; says
    /// whether it changed.
    fn set_conversation_status(
        &self,
        conversation: i64,
        status: Status,
        cause: &[i64],
        now: Millis,
    ) -> Result<bool, Self::Error>;
    /// Sets an item's status, running the rules of a change.
    fn set_item_status(&self, item: i64, status: Status, cause: &[i64], now: Millis) -> Result<(), Self::Error>;
    /// Assigns, so that the assignee follows and the app hears.
    fn assign(&self, what: Subject, user: i64, now: Millis) -> Result<(), Self::Error>;
    /// Makes a user follow an item, or take part in a conversation.
    fn add_follower(&self, to: Subject, user: i64, now: Millis) -> Result<(), Self::Error>;
    /// Owes `party` an email about a message, sent if they have not seen it in time.
    fn owe_email(&self, conversation: i64, party: Party, seq: i64, since: Millis) -> Result<(), Self::Error>;
    /// Queues a notice for the email scheduler.
    fn queue_notice(&self, notice: Notice, now: Millis) -> Result<(), Self::Error>;
    fn alert(&self, alert: Alert);
}
