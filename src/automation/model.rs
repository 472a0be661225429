//! What a rule is made of, the words an admin may use in one (the vocabulary), and the checks
//! that refuse an invalid rule with a sentence saying what is wrong.

use crate::domain::{Invalid, Millis, Status};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What sets a rule off: something that happened, or time passing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    ItemCreated,
    ConversationStarted,
    MessagePosted,
    /// A conversation or an item was closed or reopened.
    StatusChanged,
    ItemClosed,
    /// A customer's message waited this long with no answer from the team.
    NoReply {
        after_minutes: i64,
    },
    /// An item stayed open this long.
    ItemOpen {
        after_minutes: i64,
    },
    /// On these days at this time (business hours' time zone), for every open item the
    /// conditions select.
    Schedule {
        days: Vec<Weekday>,
        /// `HH:MM`.
        at: String,
    },
}

impl Trigger {
    pub fn kind(&self) -> &'static str {
        match self {
            Trigger::ItemCreated => "item_created",
            Trigger::ConversationStarted => "conversation_started",
            Trigger::MessagePosted => "message_posted",
            Trigger::StatusChanged => "status_changed",
            Trigger::ItemClosed => "item_closed",
            Trigger::NoReply { .. } => "no_reply",
            Trigger::ItemOpen { .. } => "item_open",
            Trigger::Schedule { .. } => "schedule",
        }
    }

    /// Whether the scheduler, not an event, sets the rule off.
    pub fn timed(&self) -> bool {
        matches!(self, Trigger::NoReply { .. } | Trigger::ItemOpen { .. } | Trigger::Schedule { .. })
    }

    /// Whether the events of this trigger carry a message.
    fn has_message(&self) -> bool {
        matches!(self, Trigger::MessagePosted | Trigger::ConversationStarted)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    pub const ALL: [Weekday; 7] =
        [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];

    pub fn as_str(self) -> &'static str {
        ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][self as usize]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Is,
    IsNot,
    Contains,
    NotContains,
}

/// `field op value`, e.g. `message.author is customer`. Text comparisons ignore case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub field: String,
    pub op: Op,
    pub value: String,
}

impl Condition {
    /// Whether `actual` (the field's value, empty when the event has none) satisfies this.
    pub fn holds(&self, actual: &str) -> bool {
        let (a, v) = (actual.to_lowercase(), self.value.to_lowercase());
        match self.op {
            Op::Is => a == v,
            Op::IsNot => a != v,
            Op::Contains => a.contains(&v),
            Op::NotContains => !a.contains(&v),
        }
    }
}

/// Who a `notify` action tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Recipients {
    /// Those watching the conversation (followers of its item, users taking part), or when
    /// nobody watches yet, everyone who can see it.
    Team,
    /// The item's followers and assignee (or the users taking part in a standalone conversation).
    Followers,
    Assignee,
    /// The customer, by email (when their address is known).
    Customer,
    /// The users named in `user_ids`.
    Users,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Conversation,
    Item,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// The bot writes to the customer in the conversation (seen in the widget; emailed by the
    /// customer email rule when not seen in time).
    BotReply {
        text: String,
    },
    /// Tells people, in the app and/or by email. Without `text`, about a new message: the
    /// email then waits until the message has gone unseen for the notification delay.
    Notify {
        to: Recipients,
        #[serde(default)]
        user_ids: Vec<i64>,
        #[serde(default)]
        app: bool,
        #[serde(default)]
        email: bool,
        #[serde(default)]
        text: Option<String>,
    },
    SetStatus {
        of: Target,
        status: Status,
    },
    /// Assigns the item (or a standalone conversation) to a user.
    Assign {
        user_id: i64,
    },
    /// Makes a user follow the item (or take part in a standalone conversation).
    AddFollower {
        user_id: i64,
    },
    /// The bot writes in the item's internal conversation (made if there is none).
    InternalNote {
        text: String,
    },
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::BotReply { .. } => "bot_reply",
            Action::Notify { .. } => "notify",
            Action::SetStatus { .. } => "set_status",
            Action::Assign { .. } => "assign",
            Action::AddFollower { .. } => "add_follower",
            Action::InternalNote { .. } => "internal_note",
        }
    }
}

/// A rule as an admin writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub trigger: Trigger,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    pub actions: Vec<Action>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Rule {
    pub id: i64,
    pub name: String,
    pub enabled: bool,
    /// The built-in rule this started as (`auto_reply`, `away_message`, `team_notification`,
    /// `customer_email`, `close_notice`, `task_reminder`), if any.
    pub template: Option<String>,
    pub trigger: Trigger,
    pub conditions: Vec<Condition>,
    pub actions: Vec<Action>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

// ---- the vocabulary ------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Enum,
    Text,
    Project,
    User,
}

pub struct FieldDef {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: FieldType,
    pub values: &'static [&'static str],
}

const fn field(name: &'static str, label: &'static str, kind: FieldType, values: &'static [&'static str]) -> FieldDef {
    FieldDef { name, label, kind, values }
}

const OPEN_CLOSED: &[&str] = &["open", "closed"];

/// Every field a condition may test. Facts hold these names; an event without the thing
/// (no item, no message) has the field empty.
pub const FIELDS: &[FieldDef] = &[
    field("message.author", "Message author", FieldType::Enum, &["customer", "user", "bot"]),
    field("message.body", "Message text", FieldType::Text, &[]),
    field("conversation.kind", "Conversation kind", FieldType::Enum, &["public", "internal"]),
    field("conversation.status", "Conversation status", FieldType::Enum, OPEN_CLOSED),
    field("conversation.subject", "Conversation subject", FieldType::Text, &[]),
    field("conversation.page_url", "Page the customer wrote from", FieldType::Text, &[]),
    field("conversation.assignee", "Conversation assignee", FieldType::User, &[]),
    field("channel", "Channel", FieldType::Enum, &["chat", "email", "portal", "form", "app", "api"]),
    field("project", "Project", FieldType::Project, &[]),
    field("item.kind", "Item type", FieldType::Enum, &["ticket", "task"]),
    field("item.status", "Item status", FieldType::Enum, OPEN_CLOSED),
    field("item.title", "Item title", FieldType::Text, &[]),
    field("item.description", "Item description", FieldType::Text, &[]),
    field("item.assignee", "Item assignee", FieldType::User, &[]),
    field("changed", "What changed status", FieldType::Enum, &["conversation", "item"]),
    field("customer", "Customer", FieldType::Enum, &["known", "anonymous", "none"]),
    field("customer.name", "Customer name", FieldType::Text, &[]),
    field("customer.email", "Customer email", FieldType::Text, &[]),
    field("business_hours", "Business hours", FieldType::Enum, &["inside", "outside"]),
];

/// What `{{...}}` may name in a text.
pub const VARIABLES: &[&str] = &[
    "customer.name",
    "customer.email",
    "item.id",
    "item.title",
    "item.kind",
    "item.age",
    "item.description",
    "channel",
    "conversation.id",
    "conversation.subject",
    "message.body",
    "team.name",
    "team.back_at",
];

pub fn field_def(name: &str) -> Option<&'static FieldDef> {
    FIELDS.iter().find(|f| f.name == name)
}

impl FieldType {
    pub fn ops(self) -> &'static [Op] {
        match self {
            FieldType::Text => &[Op::Is, Op::IsNot, Op::Contains, Op::NotContains],
            _ => &[Op::Is, Op::IsNot],
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Vocabulary {
    pub triggers: Vec<Labelled>,
    pub fields: Vec<FieldInfo>,
    pub actions: Vec<Labelled>,
    pub recipients: Vec<Choice>,
    pub variables: Vec<&'static str>,
    pub days: Vec<&'static str>,
}

#[derive(Serialize, ToSchema)]
pub struct Labelled {
    pub kind: &'static str,
    pub label: &'static str,
    pub timed: bool,
}

#[derive(Serialize, ToSchema)]
pub struct FieldInfo {
    pub name: &'static str,
    pub label: &'static str,
    #[serde(rename = "type")]
    pub kind: FieldType,
    pub values: Option<Vec<&'static str>>,
    pub ops: Vec<Op>,
}

#[derive(Serialize, ToSchema)]
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
}

pub fn vocabulary() -> Vocabulary {
    let t = |kind, label, timed| Labelled { kind, label, timed };
    Vocabulary {
        triggers: vec![
            t("conversation_started", "A conversation is started", false),
            t("message_posted", "A message is posted", false),
            t("item_created", "An item is created", false),
            t("status_changed", "A conversation or item is closed or reopened", false),
            t("item_closed", "An item is closed", false),
            t("no_reply", "A customer waits for a reply", true),
            t("item_open", "An item stays open", true),
            t("schedule", "On a schedule", true),
        ],
        fields: FIELDS
            .iter()
            .map(|f| FieldInfo {
                name: f.name,
                label: f.label,
                kind: f.kind,
                values: (f.kind == FieldType::Enum).then(|| f.values.to_vec()),
                ops: f.kind.ops().to_vec(),
            })
            .collect(),
        actions: vec![
            t("bot_reply", "Reply to the customer as the bot", false),
            t("notify", "Notify", false),
            t("set_status", "Change the status", false),
            t("assign", "Assign to", false),
            t("add_follower", "Add a follower", false),
            t("internal_note", "Add an internal note", false),
        ],
        recipients: vec![
            Choice { value: "team", label: "the team watching it" },
            Choice { value: "followers", label: "the followers" },
            Choice { value: "assignee", label: "the assignee" },
            Choice { value: "customer", label: "the customer" },
            Choice { value: "users", label: "these users" },
        ],
        variables: VARIABLES.to_vec(),
        days: Weekday::ALL.iter().map(|d| d.as_str()).collect(),
    }
}

// ---- validation ----------------------------------------------------------------------------

const MAX_NAME: usize = 200;
const MAX_TEXT: usize = 5000;
const MAX_CONDITIONS: usize = 20;
const MAX_ACTIONS: usize = 10;
const MAX_MINUTES: i64 = 366 * 24 * 60;

fn invalid(at: &str, message: impl std::fmt::Display) -> Invalid {
    Invalid::new("invalid_rule", format!("{at}: {message}"))
}

/// Parses `HH:MM` into minutes after midnight.
pub fn parse_time(text: &str) -> Option<u32> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// What one `{{...}}` says: a variable, and the text to use when it has no value
/// (`{{customer.name | "there"}}`).
pub(super) fn variable(inside: &str) -> Result<(&str, Option<&str>), String> {
    let Some((name, fallback)) = inside.split_once('|') else { return Ok((inside.trim(), None)) };
    let fallback = fallback.trim();
    match fallback.strip_prefix('"').and_then(|f| f.strip_suffix('"')) {
        Some(text) if !text.contains('"') => Ok((name.trim(), Some(text))),
        _ => Err(format!("the fallback of {{{{{}}}}} must be a \"quoted text\"", name.trim())),
    }
}

/// The `{{names}}` a text uses, or the first malformed or unknown one.
fn check_text(at: &str, text: &str) -> Result<(), Invalid> {
    if text.trim().is_empty() {
        return Err(invalid(at, "the text is empty"));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(invalid(at, format!("the text is longer than {MAX_TEXT} characters")));
    }
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            return Err(invalid(at, "a {{ is never closed by }}"));
        };
        let (name, _) = variable(&rest[start + 2..start + len]).map_err(|e| invalid(at, e))?;
        if !VARIABLES.contains(&name) {
            return Err(invalid(at, format!("unknown variable {{{{{name}}}}}; known: {}", VARIABLES.join(", "))));
        }
        rest = &rest[start + len + 2..];
    }
    Ok(())
}

/// The rows a rule may name by id, which only the store can tell exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    Project,
    User,
    /// A user who may still act (deactivated users are not).
    ActiveUser,
}

fn check_user<E: From<Invalid>>(exists: &impl Fn(Named, i64) -> Result<bool, E>, at: &str, id: i64) -> Result<(), E> {
    if !exists(Named::ActiveUser, id)? {
        return Err(invalid(at, format!("there is no active user {id}")).into());
    }
    Ok(())
}

impl RuleInput {
    /// Checks everything an admin could get wrong; `exists` tells whether a named row is there.
    pub fn validate<E: From<Invalid>>(&self, exists: impl Fn(Named, i64) -> Result<bool, E>) -> Result<(), E> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return Err(invalid("name", format!("give the rule a name of 1 to {MAX_NAME} characters")).into());
        }
        match &self.trigger {
            Trigger::NoReply { after_minutes } | Trigger::ItemOpen { after_minutes }
                if !(1..=MAX_MINUTES).contains(after_minutes) =>
            {
                return Err(invalid("trigger.after_minutes", "must be between 1 minute and 366 days").into());
            }
            Trigger::Schedule { days, at } => {
                if days.is_empty() {
                    return Err(invalid("trigger.days", "pick at least one day").into());
                }
                if parse_time(at).is_none() {
                    return Err(invalid("trigger.at", format!("{at:?} is not a time like 09:00")).into());
                }
            }
            _ => {}
        }
        if self.conditions.len() > MAX_CONDITIONS {
            return Err(invalid("conditions", format!("at most {MAX_CONDITIONS}")).into());
        }
        for (i, c) in self.conditions.iter().enumerate() {
            let at = format!("conditions[{i}]");
            let Some(def) = field_def(&c.field) else {
                let known: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
                return Err(invalid(&at, format!("unknown field {:?}; known: {}", c.field, known.join(", "))).into());
            };
            if !def.kind.ops().contains(&c.op) {
                return Err(invalid(&at, format!("{} can only be compared with is / is_not", c.field)).into());
            }
            if c.value.chars().count() > 1000 {
                return Err(invalid(&at, "the value is too long").into());
            }
            match def.kind {
                FieldType::Enum if !def.values.contains(&c.value.as_str()) => {
                    let msg =
                        format!("{:?} is not a value of {}; use one of {}", c.value, c.field, def.values.join(", "));
                    return Err(invalid(&at, msg).into());
                }
                FieldType::Project | FieldType::User => {
                    let (named, what) = if def.kind == FieldType::Project {
                        (Named::Project, "project")
                    } else {
                        (Named::User, "user")
                    };
                    let found = match c.value.parse::<i64>() {
                        Ok(id) => exists(named, id)?,
                        Err(_) => false,
                    };
                    if !found {
                        return Err(invalid(&at, format!("there is no {what} {:?}", c.value)).into());
                    }
                }
                _ => {}
            }
        }
        if self.actions.is_empty() || self.actions.len() > MAX_ACTIONS {
            return Err(invalid("actions", format!("give 1 to {MAX_ACTIONS} actions")).into());
        }
        for (i, a) in self.actions.iter().enumerate() {
            let at = format!("actions[{i}]");
            match a {
                Action::BotReply { text } | Action::InternalNote { text } => check_text(&format!("{at}.text"), text)?,
                Action::Notify { to, user_ids, app, email, text } => {
                    if !app && !email {
                        return Err(invalid(&at, "notify in the app, by email, or both").into());
                    }
                    if *to == Recipients::Customer && *app {
                        return Err(invalid(
                            &at,
                            "customers are notified by email; to write to them in the messenger, use a bot reply",
                        )
                        .into());
                    }
                    match (to, user_ids.is_empty()) {
                        (Recipients::Users, true) => return Err(invalid(&at, "name at least one user").into()),
                        (Recipients::Users, false) => {
                            for id in user_ids {
                                check_user(&exists, &format!("{at}.user_ids"), *id)?;
                            }
                        }
                        (_, false) => return Err(invalid(&at, "user_ids are only for \"to\": \"users\"").into()),
                        (_, true) => {}
                    }
                    match text {
                        Some(text) => check_text(&format!("{at}.text"), text)?,
                        None if !self.trigger.has_message() => {
                            return Err(invalid(&at, "this trigger has no message to pass on: write a text").into());
                        }
                        None => {}
                    }
                }
                Action::SetStatus { .. } => {}
                Action::Assign { user_id } | Action::AddFollower { user_id } => {
                    check_user(&exists, &format!("{at}.user_id"), *user_id)?
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_may_only_name_known_variables() {
        assert!(check_text("t", "Hi {{customer.name}}, back {{ team.back_at }}").is_ok());
        let err = check_text("actions[0].text", "Hi {{customer.nmae}}").unwrap_err();
        assert!(err.message.starts_with("actions[0].text: unknown variable {{customer.nmae}}"), "{}", err.message);
        assert!(check_text("t", "Hi {{customer.name").is_err());
        assert!(check_text("t", "Hi {{customer.name | \"there\"}}!").is_ok());
        assert!(check_text("t", "Hi {{customer.name | there}}!").is_err(), "a fallback is quoted");
        assert!(check_text("t", "Hi {{customer.nmae | \"there\"}}!").is_err());
        assert!(check_text("t", "   ").is_err());
    }

    #[test]
    fn times_are_hours_and_minutes() {
        assert_eq!(parse_time("09:30"), Some(570));
        assert_eq!(parse_time("23:59"), Some(1439));
        for bad in ["24:00", "9:30", "09:60", "0930", "aa:bb", ""] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_rule_may_only_name_rows_that_exist() {
        let input = RuleInput {
            name: "Escalate".into(),
            enabled: true,
            trigger: Trigger::MessagePosted,
            conditions: vec![Condition { field: "project".into(), op: Op::Is, value: "3".into() }],
            actions: vec![Action::Assign { user_id: 9 }],
        };
        let asked = std::cell::RefCell::new(Vec::new());
        let only_project_3 = |named, id| -> Result<bool, Invalid> {
            asked.borrow_mut().push((named, id));
            Ok(named == Named::Project && id == 3)
        };
        let err = input.validate(only_project_3).unwrap_err();
        assert_eq!(err.message, "actions[0].user_id: there is no active user 9");
        assert_eq!(asked.take(), [(Named::Project, 3), (Named::ActiveUser, 9)]);
        assert!(input.validate(|_, _| Ok::<_, Invalid>(true)).is_ok());
    }

    #[test]
    fn text_conditions_ignore_case() {
        let c = |op, value: &str| Condition { field: "message.body".into(), op, value: value.into() };
        assert!(c(Op::Contains, "REFUND").holds("I want a refund"));
        assert!(c(Op::NotContains, "invoice").holds("I want a refund"));
        assert!(c(Op::Is, "customer").holds("Customer"));
        assert!(c(Op::IsNot, "bot").holds(""));
    }
}
