//! What happened, as conditions see it: an event turned into facts (a flat map of the fields
//! conditions test), and whether a rule's conditions hold for them.

use super::model::Condition;
use super::Reads;
use crate::domain::{Millis, Party, PartyKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What happened, as conditions see it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Facts {
    /// The trigger kind of the event (`message_posted`, `no_reply`, ...).
    pub event: String,
    pub at: Millis,
    pub conversation_id: Option<i64>,
    pub item_id: Option<i64>,
    pub message_id: Option<i64>,
    pub message_seq: Option<i64>,
    /// The id of the message's author (or of who started the conversation), when a person.
    pub author_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub fields: BTreeMap<String, String>,
    /// The message's text (the field `message.body`), kept apart: the event log for dry runs
    /// stores the message id, not a second copy of every message.
    #[serde(skip)]
    pub body: Option<String>,
    /// The rules whose actions led to this event, oldest first.
    #[serde(skip)]
    pub cause: Vec<i64>,
}

impl Facts {
    pub fn field(&self, name: &str) -> &str {
        match name {
            "message.body" => self.body.as_deref().unwrap_or(""),
            _ => self.fields.get(name).map_or("", String::as_str),
        }
    }

    pub fn set(&mut self, name: &str, value: String) {
        self.fields.insert(name.to_owned(), value);
    }

    /// Who wrote the message (or started the conversation), when the event has one.
    pub fn author(&self) -> Option<Party> {
        Party::from_parts(PartyKind::parse(self.field("message.author"))?, self.author_id)
    }

    /// One line for people: what happened to what.
    pub fn summary(&self) -> String {
        let what = match (self.conversation_id, self.item_id) {
            (Some(c), Some(i)) => format!("conversation #{c} (item #{i})"),
            (Some(c), None) => format!("conversation #{c}"),
            (None, Some(i)) => format!("item #{i}"),
            (None, None) => String::new(),
        };
        let text = [self.field("message.body"), self.field("item.title"), self.field("conversation.subject")]
            .into_iter()
            .find(|t| !t.is_empty())
            .map(|t| format!(": {}", clip(t, 80)))
            .unwrap_or_default();
        format!("{} {what}{text}", self.event.replace('_', " "))
    }
}

/// The first `chars` characters of a text, with an ellipsis when there was more.
pub fn clip(text: &str, chars: usize) -> String {
    let mut out: String = text.chars().take(chars).collect();
    if text.chars().nth(chars).is_some() {
        out.push('…');
    }
    out
}

/// A duration in words, in its largest whole unit (the field `item.age`).
pub fn age(ms: Millis) -> String {
    let minutes = ms.max(0) / 60_000;
    let (n, unit) = match minutes {
        m if m >= 24 * 60 => (m / (24 * 60), "day"),
        m if m >= 60 => (m / 60, "hour"),
        m => (m, "minute"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// Fills in `business_hours` (inside/outside at the event's time) when a condition asks: most
/// events meet no rule that does, and need not read the settings.
pub fn with_hours<R: Reads>(world: &R, facts: &mut Facts, conditions: &[Condition]) -> Result<(), R::Error> {
    if facts.fields.contains_key("business_hours") || !conditions.iter().any(|c| c.field == "business_hours") {
        return Ok(());
    }
    let inside = world.business_hours()?.inside(facts.at);
    facts.set("business_hours", if inside { "inside" } else { "outside" }.into());
    Ok(())
}

/// Whether a rule's conditions hold: the conditions that did (when all do) or those that did
/// not, in words.
pub fn check(rule_conditions: &[Condition], facts: &Facts) -> (bool, Vec<String>) {
    let mut held = Vec::new();
    let mut failed = Vec::new();
    for c in rule_conditions {
        let actual = facts.field(&c.field);
        let op =
            format!("{:?}", c.op).to_lowercase().replace("isnot", "is not").replace("notcontains", "does not contain");
        let line = format!("{} {op} {:?} ({})", c.field, c.value, if actual.is_empty() { "none" } else { actual });
        if c.holds(actual) {
            held.push(line);
        } else {
            failed.push(line);
        }
    }
    if failed.is_empty() {
        if held.is_empty() {
            held.push("no conditions".into());
        }
        (true, held)
    } else {
        (false, failed.into_iter().map(|l| format!("not: {l}")).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::automation::model::Op;

    fn facts(fields: &[(&str, &str)]) -> Facts {
        let mut f = Facts { event: "message_posted".into(), conversation_id: Some(7), ..Facts::default() };
        for (k, v) in fields {
            f.set(k, (*v).to_owned());
        }
        f
    }

    fn condition(field: &str, op: Op, value: &str) -> Condition {
        Condition { field: field.into(), op, value: value.into() }
    }

    #[test]
    fn conditions_say_which_held_or_which_did_not() {
        let f = facts(&[("channel", "email"), ("customer", "known")]);
        let all = [condition("channel", Op::Is, "email"), condition("customer", Op::IsNot, "anonymous")];
        assert_eq!(
            check(&all, &f),
            (true, vec![r#"channel is "email" (email)"#.into(), r#"customer is not "anonymous" (known)"#.into()])
        );
        let some = [condition("channel", Op::Is, "email"), condition("conversation.subject", Op::Contains, "refund")];
        assert_eq!(check(&some, &f), (false, vec![r#"not: conversation.subject contains "refund" (none)"#.into()]));
        assert_eq!(check(&[], &f), (true, vec!["no conditions".into()]));
    }

    #[test]
    fn the_message_body_is_a_field_kept_apart() {
        let mut f = facts(&[]);
        f.body = Some("Where is my REFUND?".into());
        let asks = [condition("message.body", Op::Contains, "refund")];
        assert!(check(&asks, &f).0);
        assert!(!f.fields.contains_key("message.body"), "the event log does not keep a copy of the text");
    }

    #[test]
    fn a_summary_says_what_happened_to_what() {
        let mut f = facts(&[("conversation.subject", "Shipping")]);
        assert_eq!(f.summary(), "message posted conversation #7: Shipping");
        f.item_id = Some(3);
        f.body = Some("x".repeat(81));
        assert_eq!(f.summary(), format!("message posted conversation #7 (item #3): {}…", "x".repeat(80)));
        let nothing = Facts { event: "schedule".into(), ..Facts::default() };
        assert_eq!(nothing.summary(), "schedule ");
    }

    #[test]
    fn ages_are_in_their_largest_unit() {
        assert_eq!(age(59_999), "0 minutes");
        assert_eq!(age(60_000), "1 minute");
        assert_eq!(age(3 * 3_600_000 + 5), "3 hours");
        assert_eq!(age(49 * 3_600_000), "2 days");
        assert_eq!(age(-5), "0 minutes");
    }
}
