//! Running rules. Each enabled rule of an event's trigger whose conditions hold acts, through
//! the [`World`] of the event's transaction. What an action does can be an event in turn (a
//! bot reply is a message posted); each event carries the chain of rules that led to it, and a
//! rule never acts on an event its own actions caused, so rules cannot loop.

use super::facts::{check, with_hours, Facts};
use super::model::Rule;
use super::World;
use crate::domain::Millis;

/// How many rules deep a chain of events may go, whatever the rules.
const MAX_CHAIN: usize = 8;

/// How a rule's run ended, as the run log keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Acted,
    /// A timed rule's subject whose conditions did not hold, or whose actions found nothing to do.
    Skipped,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Acted => "acted",
            Outcome::Skipped => "skipped",
        }
    }
}

/// Runs the enabled rules of an event's trigger.
pub fn dispatch<W: World>(world: &W, mut facts: Facts, now: Millis) -> Result<(), W::Error> {
    if facts.cause.len() >= MAX_CHAIN {
        return Ok(());
    }
    let rules = world.rules_for(&facts.event)?;
    for rule in &rules {
        with_hours(world, &mut facts, &rule.conditions)?;
    }
    let event_id = world.remember(&facts)?;
    for rule in &rules {
        if facts.cause.contains(&rule.id) {
            continue;
        }
        let (holds, why) = check(&rule.conditions, &facts);
        if holds {
            act(world, rule, &facts, &format!("event:{event_id}"), why, now)?;
        }
    }
    Ok(())
}

/// Does what a rule says and records that it did, with why and what.
/// A run whose actions all found nothing to do (the author is the only one watching, say) is
/// not logged for an event, only for a timed rule's subject, which must be decided once.
pub fn act<W: World>(
    world: &W,
    rule: &Rule,
    facts: &Facts,
    key: &str,
    why: Vec<String>,
    now: Millis,
) -> Result<(), W::Error> {
    let mut detail = why;
    let mut acted = false;
    for action in &rule.actions {
        let (line, did) = super::actions::perform(world, rule, action, facts, now)?;
        acted |= did;
        detail.push(line);
    }
    match (acted, rule.trigger.timed()) {
        (true, _) => world.record_run(rule, key, facts, Outcome::Acted, &detail, now),
        (false, true) => world.record_run(rule, key, facts, Outcome::Skipped, &detail, now),
        (false, false) => Ok(()),
    }
}

/// What an action did, in words, and whether it did anything.
pub(super) type Done = (String, bool);

pub(super) fn did(line: String) -> Done {
    (line, true)
}

pub(super) fn idle(line: &str) -> Done {
    (line.to_owned(), false)
}

/// The chain of rules behind what a rule's action causes: the event's, and the rule.
pub(super) fn chain(rule: &Rule, facts: &Facts) -> Vec<i64> {
    let mut cause = facts.cause.clone();
    cause.push(rule.id);
    cause
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::automation::hours::BusinessHours;
    use crate::automation::model::{Action, Trigger};
    use crate::automation::{Alert, Choices, Notice, Reads, Subject};
    use crate::domain::{Party, Status};
    use std::cell::RefCell;
    use std::convert::Infallible;

    /// A world of one public conversation (#1) where every bot message is posted as an event
    /// of its own, so that rules can set each other off; it keeps what happened.
    #[derive(Default)]
    pub struct Scene {
        pub rules: Vec<Rule>,
        pub posted: RefCell<Vec<(i64, String, Vec<i64>)>>,
        pub runs: RefCell<Vec<(i64, String, Outcome)>>,
    }

    pub fn rule(id: i64, trigger: Trigger, actions: Vec<Action>) -> Rule {
        Rule {
            id,
            name: format!("rule {id}"),
            enabled: true,
            template: None,
            trigger,
            conditions: Vec::new(),
            actions,
            created_at: 0,
            updated_at: 0,
        }
    }

    pub fn message(body: &str, cause: Vec<i64>) -> Facts {
        let mut f = Facts { event: "message_posted".into(), conversation_id: Some(1), cause, ..Facts::default() };
        f.set("conversation.kind", "public".into());
        f.body = Some(body.into());
        f
    }

    impl Reads for Scene {
        type Error = Infallible;
        fn business_hours(&self) -> Result<BusinessHours, Infallible> {
            Ok(BusinessHours::default())
        }
        fn team_name(&self) -> Result<String, Infallible> {
            Ok("Acme".into())
        }
        fn description_for_customer(&self, _: i64) -> Result<String, Infallible> {
            Ok(String::new())
        }
        fn requester_thread(&self, _: i64) -> Result<Option<i64>, Infallible> {
            Ok(None)
        }
        fn watchers(&self, _: i64) -> Result<Vec<i64>, Infallible> {
            Ok(Vec::new())
        }
        fn followers(&self, _: Subject) -> Result<Vec<i64>, Infallible> {
            Ok(Vec::new())
        }
        fn assignee(&self, _: Subject) -> Result<Option<i64>, Infallible> {
            Ok(None)
        }
        fn everyone_who_sees(&self, _: Option<i64>) -> Result<Vec<i64>, Infallible> {
            Ok(Vec::new())
        }
        fn user_name(&self, _: i64) -> Result<Option<String>, Infallible> {
            Ok(None)
        }
        fn may_see(&self, _: i64, _: Option<Subject>) -> Result<Option<Choices>, Infallible> {
            Ok(None)
        }
    }

    impl World for Scene {
        fn rules_for(&self, event: &str) -> Result<Vec<std::sync::Arc<Rule>>, Infallible> {
            Ok(self.rules.iter().filter(|r| r.trigger.kind() == event).cloned().map(std::sync::Arc::new).collect())
        }
        fn remember(&self, _: &Facts) -> Result<i64, Infallible> {
            Ok(self.posted.borrow().len() as i64)
        }
        fn record_run(
            &self,
            rule: &Rule,
            key: &str,
            _: &Facts,
            outcome: Outcome,
            _: &[String],
            _: Millis,
        ) -> Result<(), Infallible> {
            self.runs.borrow_mut().push((rule.id, key.to_owned(), outcome));
            Ok(())
        }
        fn post_as_bot(&self, conversation: i64, body: String, cause: &[i64], now: Millis) -> Result<i64, Infallible> {
            self.posted.borrow_mut().push((conversation, body.clone(), cause.to_vec()));
            let seq = self.posted.borrow().len() as i64;
            dispatch(self, message(&body, cause.to_vec()), now)?;
            Ok(seq)
        }
        fn customer_thread(&self, _: i64, _: Millis) -> Result<Option<i64>, Infallible> {
            Ok(None)
        }
        fn notes_conversation(&self, _: i64, _: Millis) -> Result<i64, Infallible> {
            Ok(2)
        }
        fn set_conversation_status(&self, _: i64, _: Status, _: &[i64], _: Millis) -> Result<bool, Infallible> {
            Ok(true)
        }
        fn set_item_status(&self, _: i64, _: Status, _: &[i64], _: Millis) -> Result<(), Infallible> {
            Ok(())
        }
        fn assign(&self, _: Subject, _: i64, _: Millis) -> Result<(), Infallible> {
            Ok(())
        }
        fn add_follower(&self, _: Subject, _: i64, _: Millis) -> Result<(), Infallible> {
            Ok(())
        }
        fn owe_email(&self, _: i64, _: Party, _: i64, _: Millis) -> Result<(), Infallible> {
            Ok(())
        }
        fn queue_notice(&self, _: Notice, _: Millis) -> Result<(), Infallible> {
            Ok(())
        }
        fn alert(&self, _: Alert) {}
    }

    fn replies(id: i64, text: &str) -> Rule {
        rule(id, Trigger::MessagePosted, vec![Action::BotReply { text: text.into() }])
    }

    #[test]
    fn a_rule_never_acts_on_what_its_own_actions_caused() {
        let scene = Scene { rules: vec![replies(1, "one"), replies(2, "two")], ..Scene::default() };
        dispatch(&scene, message("hello", Vec::new()), 0).unwrap();
        let posted: Vec<(String, Vec<i64>)> = scene.posted.take().into_iter().map(|(_, b, c)| (b, c)).collect();
        // Each rule answers the customer and the other rule's reply, never its own.
        assert_eq!(
            posted,
            [
                ("one".to_owned(), vec![1]),
                ("two".to_owned(), vec![1, 2]),
                ("two".to_owned(), vec![2]),
                ("one".to_owned(), vec![2, 1]),
            ]
        );
        assert_eq!(scene.runs.borrow().len(), 4, "every run that acted is logged");
    }

    #[test]
    fn a_chain_of_events_stops_at_its_depth_limit() {
        let scene = Scene { rules: (1..=20).map(|id| replies(id, "again")).collect(), ..Scene::default() };
        dispatch(&scene, message("hello", (101..101 + MAX_CHAIN as i64 - 1).collect()), 0).unwrap();
        // One level is left: each rule answers once, and their answers set off nothing.
        assert_eq!(scene.posted.borrow().len(), 20);
        assert!(scene.posted.borrow().iter().all(|(_, _, cause)| cause.len() == MAX_CHAIN));
        scene.posted.borrow_mut().clear();
        dispatch(&scene, message("hello", (101..101 + MAX_CHAIN as i64).collect()), 0).unwrap();
        assert!(scene.posted.borrow().is_empty());
    }
}
