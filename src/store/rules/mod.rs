//! Rules (automations) in the store: rules an admin can see, turn off, change and add, stored
//! as rows (kept parsed in memory until one changes, so a change applies at once), a log of
//! what each did, the events kept for dry runs, and the [`World`](crate::automation::World) the engine of
//! `crate::automation` reads and acts through.

pub mod timed;
pub mod triggers;
mod world;

use super::{Millis, Result, StoreError};
use crate::automation::model::{Named, Rule, RuleInput};
use crate::automation::{actions, check, with_hours, Facts, Outcome};
use crate::store::db::{Connection, Row};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use std::cell::RefCell;
use std::sync::Arc;
use utoipa::ToSchema;

/// The events kept for dry runs.
const EVENTS_KEPT: i64 = 1000;
/// Runs on events kept in the log.
const EVENT_RUNS_KEPT: i64 = 10_000;
/// Events a dry run replays.
const DRY_RUN_EVENTS: usize = 50;

fn json<T: serde::de::DeserializeOwned>(text: String, i: usize) -> rusqlite::Result<T> {
    serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into()))
}

const COLS: &str = "id, name, enabled, template, trigger, conditions, actions, created_at, updated_at";

fn row(r: &Row) -> rusqlite::Result<Rule> {
    Ok(Rule {
        id: r.get(0)?,
        name: r.get(1)?,
        enabled: r.get(2)?,
        template: r.get(3)?,
        trigger: json(r.get(4)?, 4)?,
        conditions: json(r.get(5)?, 5)?,
        actions: json(r.get(6)?, 6)?,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
    })
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Internal(e.to_string()))
}

pub fn list(conn: &Connection) -> Result<Vec<Rule>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLS} FROM rules ORDER BY id"))?;
    let rows = stmt.query_map([], row)?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub fn get(conn: &Connection, id: i64) -> Result<Rule> {
    conn.prepare_cached(&format!("SELECT {COLS} FROM rules WHERE id = ?1"))?
        .query_row([id], row)
        .optional()?
        .ok_or(StoreError::NotFound("rule_not_found"))
}

thread_local! {
    /// The enabled rules, parsed, as of a value of `rules_version` (sql/0017). Each thread that
    /// runs events (the writer) keeps its own: while no rule changes, reading them is one row.
    static ENABLED: RefCell<Option<(i64, Vec<Arc<Rule>>)>> = const { RefCell::new(None) };
}

/// The enabled rules, oldest first; parsed again only after a rule changed.
fn enabled(conn: &Connection) -> Result<Vec<Arc<Rule>>> {
    let version: i64 = conn.prepare_cached("SELECT version FROM rules_version")?.query_row([], |r| r.get(0))?;
    let kept = ENABLED.with_borrow(|kept| kept.as_ref().filter(|(v, _)| *v == version).map(|(_, rules)| rules.clone()));
    if let Some(rules) = kept {
        return Ok(rules);
    }
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLS} FROM rules WHERE enabled = 1 ORDER BY id"))?;
    let rules: Vec<Arc<Rule>> = stmt.query_map([], |r| row(r).map(Arc::new))?.collect::<rusqlite::Result<_>>()?;
    ENABLED.set(Some((version, rules.clone())));
    Ok(rules)
}

/// The enabled rules an event of this trigger kind sets off, oldest first.
fn enabled_rules(conn: &Connection, event: &str) -> Result<Vec<Arc<Rule>>> {
    Ok(enabled(conn)?.into_iter().filter(|rule| rule.trigger.kind() == event).collect())
}

fn timed_rules(conn: &Connection) -> Result<Vec<Arc<Rule>>> {
    Ok(enabled(conn)?.into_iter().filter(|rule| rule.trigger.timed()).collect())
}

pub fn insert(conn: &Connection, input: &RuleInput, now: Millis) -> Result<Rule> {
    save(conn, None, input, now)
}

pub fn update(conn: &Connection, id: i64, input: &RuleInput, now: Millis) -> Result<Rule> {
    get(conn, id)?;
    save(conn, Some(id), input, now)
}

/// Checks a rule, the rows it names by id included.
fn validate(conn: &Connection, input: &RuleInput) -> Result<()> {
    input.validate(|named, id| {
        let sql = match named {
            Named::Project => "SELECT 1 FROM projects WHERE id = ?1",
            Named::User => "SELECT 1 FROM users WHERE id = ?1",
            Named::ActiveUser => "SELECT 1 FROM users WHERE id = ?1 AND active = 1",
        };
        Ok(conn.query_row(sql, [id], |_| Ok(())).optional()?.is_some())
    })
}

/// Stores a valid rule: a new one without an id, or over the one with it.
fn save(conn: &Connection, id: Option<i64>, input: &RuleInput, now: Millis) -> Result<Rule> {
    validate(conn, input)?;
    let id: i64 = conn.query_row(
        "INSERT INTO rules (id, name, enabled, trigger, conditions, actions, created_at, updated_at)
         VALUES (coalesce(?1, (SELECT coalesce(max(id), 0) + 1 FROM rules)), ?2, ?3, ?4, ?5, ?6, ?7, ?7)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, enabled = excluded.enabled, trigger = excluded.trigger,
             conditions = excluded.conditions, actions = excluded.actions, updated_at = excluded.updated_at
         RETURNING id",
        params![
            id,
            input.name.trim(),
            input.enabled,
            to_json(&input.trigger)?,
            to_json(&input.conditions)?,
            to_json(&input.actions)?,
            now
        ],
        |r| r.get(0),
    )?;
    get(conn, id)
}

pub fn delete(conn: &Connection, id: i64) -> Result<()> {
    if conn.execute("DELETE FROM rules WHERE id = ?1", [id])? == 0 {
        return Err(StoreError::NotFound("rule_not_found"));
    }
    Ok(())
}

/// Keeps an event's facts for dry runs; returns its id (the key of the runs it causes).
fn remember(conn: &Connection, facts: &Facts) -> Result<i64> {
    let id: i64 = conn
        .prepare_cached(
            "INSERT INTO automation_events (kind, conversation_id, item_id, facts, at) VALUES (?1, ?2, ?3, ?4, ?5)
             RETURNING id",
        )?
        .query_row(params![facts.event, facts.conversation_id, facts.item_id, to_json(facts)?, facts.at], |r| {
            r.get(0)
        })?;
    if id % 100 == 0 {
        conn.prepare_cached("DELETE FROM automation_events WHERE id <= ?1")?.execute([id - EVENTS_KEPT])?;
    }
    Ok(id)
}

fn record_run(
    conn: &Connection,
    rule: &Rule,
    key: &str,
    facts: &Facts,
    outcome: Outcome,
    detail: &[String],
    now: Millis,
) -> Result<()> {
    let id: i64 = conn
        .prepare_cached(
            "INSERT INTO rule_runs (rule_id, event_key, event, conversation_id, item_id, outcome, detail, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
        )?
        .query_row(
            params![
                rule.id,
                key,
                facts.event,
                facts.conversation_id,
                facts.item_id,
                outcome.as_str(),
                to_json(&detail)?,
                now
            ],
            |r| r.get(0),
        )?;
    // The log of runs on events is bounded; a timed rule's runs are kept, as its memory of what
    // it decided.
    if id % 100 == 0 {
        conn.prepare_cached("DELETE FROM rule_runs WHERE id <= ?1 AND event_key LIKE 'event:%'")?
            .execute([id - EVENT_RUNS_KEPT])?;
    }
    Ok(())
}

/// One entry of the run log: which rule did what, when, and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Run {
    pub id: i64,
    pub rule_id: i64,
    pub rule_name: String,
    pub event: String,
    pub conversation_id: Option<i64>,
    pub item_id: Option<i64>,
    /// `acted`, or `skipped` (a timed rule's subject whose conditions did not hold).
    pub outcome: String,
    /// Why (the conditions that held, or did not) and what (one line per action).
    pub detail: Vec<String>,
    pub at: Millis,
}

/// The newest runs, of one rule or all; skipped ones only when asked.
/// Forgets what rules noted about these conversations and items (the events they saw, what
/// they did): the conversations and items are being erased.
pub(crate) fn forget(conn: &Connection, conversations: &[i64], items: &[i64]) -> Result<()> {
    for table in ["automation_events", "rule_runs"] {
        conn.execute(
            &format!(
                "DELETE FROM {table} WHERE conversation_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?1))
                 OR item_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?2))"
            ),
            params![super::json_list(conversations), super::json_list(items)],
        )?;
    }
    Ok(())
}

pub fn runs(conn: &Connection, rule_id: Option<i64>, skipped: bool, limit: usize) -> Result<Vec<Run>> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.id, r.rule_id, u.name, r.event, r.conversation_id, r.item_id, r.outcome, r.detail, r.at
         FROM rule_runs r JOIN rules u ON u.id = r.rule_id
         WHERE (CAST(?1 AS BIGINT) IS NULL OR r.rule_id = ?1) AND (?2 = 1 OR r.outcome = 'acted')
         ORDER BY r.id DESC LIMIT ?3",
    )?;
    let rows = stmt
        .query_map(params![rule_id, skipped, limit as i64], |r| {
            Ok(Run {
                id: r.get(0)?,
                rule_id: r.get(1)?,
                rule_name: r.get(2)?,
                event: r.get(3)?,
                conversation_id: r.get(4)?,
                item_id: r.get(5)?,
                outcome: r.get(6)?,
                detail: json(r.get(7)?, 7)?,
                at: r.get(8)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DryRunEvent {
    pub kind: String,
    pub at: Millis,
    pub conversation_id: Option<i64>,
    pub item_id: Option<i64>,
    pub summary: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DryRunEntry {
    pub event: DryRunEvent,
    pub matched: bool,
    /// The conditions that held, or those that did not.
    pub reasons: Vec<String>,
    /// What the actions would have done.
    pub actions: Vec<String>,
}

/// What a rule (saved or not) would have done to the last events of its trigger, or for a
/// timed rule, to what is due now. Reads only.
pub fn dry_run(conn: &Connection, input: &RuleInput, now: Millis) -> Result<Vec<DryRunEntry>> {
    validate(conn, input)?;
    let facts: Vec<Facts> = if input.trigger.timed() {
        timed::due_subjects(conn, None, &input.trigger, Millis::MIN, now, DRY_RUN_EVENTS)?
            .into_iter()
            .map(|(_, c, i, m)| timed::subject_facts(conn, &input.trigger, c, i, m, now))
            .collect::<Result<_>>()?
    } else {
        let mut stmt =
            conn.prepare_cached("SELECT facts FROM automation_events WHERE kind = ?1 ORDER BY id DESC LIMIT ?2")?;
        let mut rows = stmt
            .query_map(params![input.trigger.kind(), DRY_RUN_EVENTS as i64], |r| json::<Facts>(r.get(0)?, 0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut body = conn.prepare_cached("SELECT body FROM messages WHERE id = ?1")?;
        for f in &mut rows {
            if let Some(id) = f.message_id {
                f.body = body.query_row([id], |r| r.get(0)).optional()?;
            }
        }
        rows
    };
    let world = world::StoreWorld(&conn);
    facts
        .into_iter()
        .map(|mut f| {
            with_hours(&world, &mut f, &input.conditions)?;
            let (matched, reasons) = check(&input.conditions, &f);
            let actions = if matched {
                input.actions.iter().map(|a| actions::describe(&world, a, &f)).collect::<Result<_>>()?
            } else {
                Vec::new()
            };
            let event = DryRunEvent {
                kind: f.event.clone(),
                at: f.at,
                conversation_id: f.conversation_id,
                item_id: f.item_id,
                summary: f.summary(),
            };
            Ok(DryRunEntry { event, matched, reasons, actions })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::automation::model::{Action, Recipients, Trigger};

    fn as_input(rule: &Rule) -> RuleInput {
        RuleInput {
            name: rule.name.clone(),
            enabled: rule.enabled,
            trigger: rule.trigger.clone(),
            conditions: rule.conditions.clone(),
            actions: rule.actions.clone(),
        }
    }

    #[test]
    fn the_rules_kept_in_memory_follow_every_change_and_forget_one_rolled_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(crate::store::db_path(dir.path())).unwrap();
        crate::store::migrate::run(&mut conn).unwrap();
        let on_message = |conn: &Connection| -> Vec<String> {
            enabled_rules(conn, "message_posted").unwrap().iter().map(|r| r.name.clone()).collect()
        };
        let before = on_message(&conn);
        let rules = list(&conn).unwrap();
        let first = rules.iter().find(|r| r.enabled && r.trigger == Trigger::MessagePosted).unwrap();
        let mut off = as_input(first);
        off.enabled = false;

        // Turned off inside a transaction that is then rolled back: seen inside, gone after.
        conn.execute_batch("BEGIN").unwrap();
        update(&conn, first.id, &off, 1).unwrap();
        assert!(!on_message(&conn).contains(&first.name));
        conn.execute_batch("ROLLBACK").unwrap();
        assert_eq!(on_message(&conn), before);
        // A different change after it must not find the rolled-back rules still kept.
        let other = rules.iter().find(|r| r.id != first.id).unwrap();
        let mut renamed = as_input(other);
        renamed.name = format!("{} (renamed)", other.name);
        update(&conn, other.id, &renamed, 2).unwrap();
        assert!(on_message(&conn).contains(&first.name));

        // Turned off for good: the very next event goes without it.
        update(&conn, first.id, &off, 3).unwrap();
        assert!(!on_message(&conn).contains(&first.name));
        delete(&conn, first.id).unwrap();
        assert!(!on_message(&conn).contains(&first.name));
    }

    #[test]
    fn a_new_installation_has_the_notification_flow_as_valid_rules() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(crate::store::db_path(dir.path())).unwrap();
        crate::store::migrate::run(&mut conn).unwrap();
        let rules = list(&conn).unwrap();
        let templates: Vec<(&str, bool)> =
            rules.iter().map(|r| (r.template.as_deref().unwrap_or(""), r.enabled)).collect();
        assert_eq!(
            templates,
            [
                ("auto_reply", true),
                ("away_message", true),
                ("team_notification", true),
                ("customer_email", true),
                ("close_notice", false),
                ("task_reminder", false),
                ("ticket_notification", true),
                ("ticket_auto_reply", true)
            ]
        );
        for rule in &rules {
            validate(&conn, &as_input(rule)).unwrap_or_else(|e| panic!("{}: {e}", rule.name));
        }
    }

    #[test]
    fn an_upgraded_installation_keeps_its_auto_reply_and_email_choices() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(crate::store::db_path(dir.path())).unwrap();
        for (version, sql) in crate::store::migrate::migrations().into_iter().filter(|(v, _)| *v <= 5) {
            conn.execute_batch(&sql).unwrap();
            conn.lite().unwrap().pragma_update(None, "user_version", version).unwrap();
        }
        conn.execute_batch(
            r#"INSERT INTO settings (key, value) VALUES
                   ('auto_reply', '{"enabled":false,"text":"Back soon, {{not a variable}}"}'),
                   ('email_flow', '{"email_agents":false,"email_customers":true,"inbound":false,"inbound_project_id":null}');"#,
        )
        .unwrap();
        drop(conn);
        let mut conn = Connection::open(crate::store::db_path(dir.path())).unwrap();
        crate::store::migrate::run(&mut conn).unwrap();
        let rules = list(&conn).unwrap();
        let auto = &rules[0];
        assert!(!auto.enabled);
        assert_eq!(auto.actions, [Action::BotReply { text: "Back soon, {{not a variable}}".into() }]);
        let team = &rules[2];
        assert!(matches!(team.actions[0], Action::Notify { to: Recipients::Team, app: true, email: false, .. }));
        assert!(rules[3].enabled, "customer emails stay on");
        let flow = crate::store::settings::email_flow(&conn).unwrap();
        assert!(!flow.inbound, "the rest of the email settings survive: {flow:?}");
    }
}
