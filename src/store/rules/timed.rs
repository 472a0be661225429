//! Time-based rules: which subjects are due (a customer waiting, an item left open, a schedule
//! come round), and deciding each once. The job in `timed_rules.rs` runs them every minute.

use super::triggers::facts;
use super::world::StoreWorld;
use super::{record_run, timed_rules};
use crate::automation::model::{parse_time, Trigger};
use crate::automation::{act, check, hours, with_hours, Facts, Outcome};
use crate::store::db::Connection;
use crate::store::{conversations, settings, Millis, Result, Tx};
use rusqlite::params;

/// A timed rule's subject: (event key, conversation, item, the message waiting for a reply).
pub type Subject = (String, Option<i64>, Option<i64>, Option<i64>);

/// The subjects of a timed rule that are due at `now` and not yet decided (or, for a dry run,
/// decided or not).
pub fn due_subjects(
    conn: &Connection,
    rule_id: Option<i64>,
    trigger: &Trigger,
    since: Millis,
    now: Millis,
    limit: usize,
) -> Result<Vec<Subject>> {
    let rule = rule_id.unwrap_or(-1);
    let undecided = "NOT EXISTS (SELECT 1 FROM rule_runs r WHERE r.rule_id = ?2 AND r.event_key = key)";
    let (sql, cutoff) = match trigger {
        Trigger::NoReply { after_minutes } => (
            format!(
                "SELECT * FROM (
                    SELECT 'no_reply:' || c.id || ':' || m.seq AS key, c.id, c.item_id, m.id
                    FROM conversations c JOIN messages m ON m.conversation_id = c.id
                    WHERE c.kind = 'public' AND c.status = 'open' AND m.author_kind = 'customer'
                      AND m.created_at <= ?1
                      AND m.seq = (SELECT max(seq) FROM messages x WHERE x.conversation_id = c.id AND x.author_kind <> 'bot')) due
                 WHERE {undecided} LIMIT ?3"
            ),
            now - after_minutes * 60_000,
        ),
        Trigger::ItemOpen { after_minutes } => (
            format!(
                "SELECT * FROM (SELECT 'item_open:' || i.id AS key, NULL, i.id, NULL FROM items i
                    WHERE i.status = 'open' AND i.created_at <= ?1) due
                 WHERE {undecided} LIMIT ?3"
            ),
            now - after_minutes * 60_000,
        ),
        Trigger::Schedule { days, at } => {
            let tz = hours::zone(&settings::business_hours(conn)?.timezone);
            let minutes = parse_time(at).unwrap_or(0);
            match hours::last_slot(days, minutes, &tz, now) {
                // A slot from before the rule was saved does not count.
                Some(slot) if slot >= since => (
                    format!(
                        "SELECT * FROM (SELECT 'schedule:' || ?1 || ':' || i.id AS key, NULL, i.id, NULL FROM items i
                            WHERE i.status = 'open') due
                         WHERE {undecided} LIMIT ?3"
                    ),
                    slot,
                ),
                _ => return Ok(Vec::new()),
            }
        }
        _ => return Ok(Vec::new()),
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params![cutoff, rule, limit as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// The facts of a timed rule's subject.
pub fn subject_facts(
    conn: &Connection,
    trigger: &Trigger,
    conversation: Option<i64>,
    item: Option<i64>,
    message: Option<i64>,
    now: Millis,
) -> Result<Facts> {
    let message = match message {
        Some(id) => Some(conversations::message(conn, id)?),
        None => None,
    };
    facts(conn, trigger.kind(), conversation, item, message.as_ref(), now)
}

/// Decides every due subject of every enabled timed rule, at most `limit` per rule; returns
/// how many were decided.
pub fn run_due(conn: &Tx, now: Millis, limit: usize) -> Result<usize> {
    let world = StoreWorld(conn);
    let mut decided = 0;
    for rule in timed_rules(conn)? {
        for (key, conversation, item, message) in
            due_subjects(conn, Some(rule.id), &rule.trigger, rule.updated_at, now, limit)?
        {
            let mut facts = subject_facts(conn, &rule.trigger, conversation, item, message, now)?;
            with_hours(&world, &mut facts, &rule.conditions)?;
            let (holds, why) = check(&rule.conditions, &facts);
            if holds {
                act(&world, &rule, &facts, &key, why, now)?;
            } else {
                record_run(conn, &rule, &key, &facts, Outcome::Skipped, &why, now)?;
            }
            decided += 1;
        }
    }
    Ok(decided)
}
