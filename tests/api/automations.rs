//! Automations: the notification flow as rules an admin changes at run time, the templates,
//! time-based rules under a moved clock, loops that cannot happen, validation, dry runs, and
//! business hours.

use crate::helpers::*;
use crate::notifications::{advance, customer_chat, mail_config, read, settle};
use crate::smtp::SmtpServer;
use rapport::clock::Clock;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const DAY: i64 = 24 * 3600;

/// Waits (in real time) until the time-based rules have run for the app's current time.
async fn rules_caught_up(app: &TestApp, admin: &Client) {
    let start = Instant::now();
    let now = app.clock.now_ms();
    while admin.get("/api/v1/rules/scheduler").await.ok()["checked_through"].as_i64().unwrap_or(0) < now {
        assert!(start.elapsed() < Duration::from_secs(20), "time-based rules did not run");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn messages(app: &TestApp, token: &str, conversation: i64) -> Vec<Value> {
    let path = format!("/api/v1/widget/conversations/{conversation}/messages");
    as_visitor(app, token, Method::GET, &path, None).await.ok().as_array().unwrap().clone()
}

fn bodies(messages: &[Value]) -> Vec<&str> {
    messages.iter().map(|m| m["body"].as_str().unwrap()).collect()
}

async fn runs(admin: &Client, rule: &Value) -> Vec<Value> {
    let path = format!("/api/v1/rules/runs?rule_id={}", rule["id"]);
    admin.get(&path).await.ok().as_array().unwrap().clone()
}

#[tokio::test]
async fn the_auto_responder_is_a_rule_its_text_and_switch_apply_at_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (token, id) = customer_chat(&app, None, "hello?").await;
    let default_reply = messages(&app, &token, id).await[1]["body"].as_str().unwrap().to_owned();
    assert!(
        default_reply.starts_with("Hi there, thanks for getting in touch"),
        "no name, the fallback: {default_reply}"
    );
    let (token, id) = customer_chat(&app, Some("ann@example.com"), "hello?").await;
    let named = messages(&app, &token, id).await[1]["body"].as_str().unwrap().to_owned();
    assert!(named.starts_with("Hi Ann Customer, thanks for getting in touch"), "{named}");

    let rule = admin
        .change_rule("auto_reply", json!({"actions": [{"kind": "bot_reply", "text": "Hi! {{team.name}} is on it."}]}))
        .await;
    let (token, id) = customer_chat(&app, None, "hello again").await;
    assert_eq!(bodies(&messages(&app, &token, id).await), ["hello again", "Hi! Support is on it."]);
    let log = runs(&admin, &rule).await;
    assert_eq!(log[0]["event"], "conversation_started");
    assert_eq!(log[0]["conversation_id"], id);
    let detail = log[0]["detail"].to_string();
    assert!(detail.contains("message.author is \\\"customer\\\""), "the log says why: {detail}");
    assert!(detail.contains(&format!("replied to the customer in conversation #{id}")), "and what: {detail}");

    admin.change_rule("auto_reply", json!({"enabled": false})).await;
    let (token, id) = customer_chat(&app, None, "anyone?").await;
    assert_eq!(bodies(&messages(&app, &token, id).await), ["anyone?"], "no bot reply once it is off");
}

#[tokio::test]
async fn the_close_notice_template_emails_the_customer_once_when_their_ticket_closes() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    let project = admin.project("Billing").await;
    let customer = admin.customer("carol@example.com").await;
    let ticket = admin.item(project, "Refund for order 42", Some(customer)).await;
    let close = |status: &'static str| {
        let admin = &admin;
        async move { admin.post(&format!("/api/v1/items/{ticket}/status"), json!({"status": status})).await.ok() }
    };
    close("closed").await;
    settle(&app, 60_000).await;
    assert_eq!(app.count("outbox").await, 0, "the template is off by default");

    close("open").await;
    let rule = admin.change_rule("close_notice", json!({"enabled": true})).await;
    close("closed").await;
    settle(&app, 60_000).await;
    let mail = read(&smtp.wait_for(1)[0]);
    assert_eq!(mail.to, "carol@example.com");
    assert_eq!(mail.subject, "Refund for order 42 — Support", "the ticket's title and the team's name");
    assert!(mail.text.contains("Your ticket \"Refund for order 42\" is now closed"), "{}", mail.text);
    assert!(mail.html.contains("Your ticket &quot;Refund for order 42&quot; is now closed"), "{}", mail.html);
    assert_eq!(mail.reply_to, "support@acme.test", "a reply opens a new ticket");

    close("closed").await;
    advance(&app, 3600).await;
    assert_eq!(smtp.messages().len(), 1, "closing a closed ticket is no new event");
    let log = runs(&admin, &rule).await;
    assert_eq!(log.len(), 1);
    assert!(log[0]["detail"].to_string().contains("emailing the customer at carol@example.com"));
}

#[tokio::test]
async fn the_reminder_template_fires_after_n_days_and_never_again_across_a_restart() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    let rule = admin
        .change_rule(
            "task_reminder",
            json!({"enabled": true, "trigger": {"kind": "item_open", "after_minutes": 3 * 24 * 60}}),
        )
        .await;
    let project = admin.project("Ops").await;
    let task = admin
        .post("/api/v1/items", json!({"project_id": project, "kind": "task", "title": "Renew the TLS certificate"}))
        .await
        .ok();
    let ticket = admin.item(project, "Not a task", None).await;
    advance(&app, 2 * DAY).await;
    rules_caught_up(&app, &admin).await;
    assert!(runs(&admin, &rule).await.is_empty(), "not before three days");
    app.stop().await;

    // The pending reminder lives in the data, not in memory: a restarted app still sends it.
    // (Its clock starts again where the first one did.)
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    advance(&app, 4 * DAY).await;
    rules_caught_up(&app, &admin).await;
    settle(&app, 60_000).await;
    let log = runs(&admin, &rule).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["item_id"], task["id"]);
    let mail = read(&smtp.wait_for(1)[0]);
    assert_eq!(mail.to, ADMIN_EMAIL, "the creator follows the task");
    assert!(mail.text.contains("The task \"Renew the TLS certificate\" has been open for 4 days."), "{}", mail.text);
    let skipped = admin.get(&format!("/api/v1/rules/runs?rule_id={}&skipped=true", rule["id"])).await.ok();
    let ticket_run =
        skipped.as_array().unwrap().iter().find(|r| r["item_id"] == ticket).expect("the ticket was looked at");
    assert_eq!(ticket_run["outcome"], "skipped");
    assert!(ticket_run["detail"][0].as_str().unwrap().contains("not: item.kind is \"task\""), "{ticket_run}");

    advance(&app, 10 * DAY).await;
    let admin = app.admin().await; // sessions expire over such spans
    rules_caught_up(&app, &admin).await;
    app.stop().await;
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    advance(&app, 30 * DAY).await;
    let admin = app.admin().await;
    rules_caught_up(&app, &admin).await;
    assert_eq!(runs(&admin, &rule).await.len(), 1, "never twice for the same task");
    assert_eq!(smtp.messages().len(), 1);
}

#[tokio::test]
async fn a_rule_whose_action_would_set_itself_off_fires_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.change_rule("auto_reply", json!({"enabled": false})).await;
    // Every message gets an echo from the bot, which is a message itself.
    let echo = admin
        .post(
            "/api/v1/rules",
            json!({"name": "Echo", "trigger": {"kind": "message_posted"},
                   "actions": [{"kind": "bot_reply", "text": "echo: {{message.body}}"}]}),
        )
        .await
        .ok();
    // Two rules that undo each other's status change.
    for (name, status) in [("Reopen", "open"), ("Close", "closed")] {
        admin
            .post(
                "/api/v1/rules",
                json!({"name": name, "trigger": {"kind": "status_changed"},
                       "actions": [{"kind": "set_status", "of": "conversation", "status": status}]}),
            )
            .await
            .ok();
    }
    let (token, id) = customer_chat(&app, None, "ping").await;
    assert_eq!(bodies(&messages(&app, &token, id).await), ["ping", "echo: ping"]);
    assert_eq!(runs(&admin, &echo).await.len(), 1);

    // Closing sets both off: Close finds nothing to do (not logged), Reopen reopens; that sets
    // Close off, which closes; that would set Reopen off again, but Reopen caused it: the
    // chain ends there.
    admin.post(&format!("/api/v1/conversations/{id}/close"), json!({})).await.ok();
    let all = admin.get("/api/v1/rules/runs").await.ok();
    let names: Vec<&str> = all.as_array().unwrap().iter().map(|r| r["rule_name"].as_str().unwrap()).collect();
    assert_eq!(names.iter().filter(|n| **n == "Reopen").count(), 1, "{names:?}");
    assert_eq!(names.iter().filter(|n| **n == "Close").count(), 1, "{names:?}");
    assert_eq!(admin.get(&format!("/api/v1/conversations/{id}")).await.ok()["status"], "closed");
}

#[tokio::test]
async fn an_invalid_rule_is_refused_with_what_is_wrong_and_nothing_is_stored() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let before = app.count("rules").await;
    let rule = |trigger: Value, conditions: Value, actions: Value| json!({"name": "Test", "trigger": trigger, "conditions": conditions, "actions": actions});
    let started = json!({"kind": "conversation_started"});
    let reply = json!([{"kind": "bot_reply", "text": "hi"}]);
    let cases = [
        (
            rule(started.clone(), json!([]), json!([{"kind": "bot_reply", "text": "Hi {{custmer.name}}"}])),
            "unknown variable {{custmer.name}}",
        ),
        (
            rule(started.clone(), json!([{"field": "colour", "op": "is", "value": "red"}]), reply.clone()),
            "unknown field \"colour\"",
        ),
        (
            rule(started.clone(), json!([{"field": "channel", "op": "is", "value": "fax"}]), reply.clone()),
            "\"fax\" is not a value of channel",
        ),
        (
            rule(started.clone(), json!([{"field": "item.kind", "op": "contains", "value": "t"}]), reply.clone()),
            "can only be compared with is",
        ),
        (
            rule(started.clone(), json!([{"field": "project", "op": "is", "value": "99"}]), reply.clone()),
            "there is no project \"99\"",
        ),
        (rule(started.clone(), json!([]), json!([])), "give 1 to 10 actions"),
        (rule(started.clone(), json!([]), json!([{"kind": "notify", "to": "team"}])), "in the app, by email, or both"),
        (
            rule(started.clone(), json!([]), json!([{"kind": "notify", "to": "users", "app": true}])),
            "name at least one user",
        ),
        (rule(started.clone(), json!([]), json!([{"kind": "assign", "user_id": 777}])), "no active user 777"),
        (
            rule(
                json!({"kind": "item_closed"}),
                json!([]),
                json!([{"kind": "notify", "to": "customer", "email": true}]),
            ),
            "write a text",
        ),
        (
            rule(json!({"kind": "no_reply", "after_minutes": 0}), json!([]), reply.clone()),
            "between 1 minute and 366 days",
        ),
        (
            rule(json!({"kind": "schedule", "days": ["mon"], "at": "9am"}), json!([]), reply.clone()),
            "is not a time like 09:00",
        ),
        (json!({"name": " ", "trigger": started, "actions": reply}), "give the rule a name"),
    ];
    for (body, message) in cases {
        let refused = admin.post("/api/v1/rules", body.clone()).await.expect(422, "invalid_rule");
        let said = refused["error"]["message"].as_str().unwrap();
        assert!(said.contains(message), "{body}: {said}");
        admin.post("/api/v1/rules/dry-run", body).await.expect(422, "invalid_rule");
    }
    // What does not even have the shape of a rule.
    admin
        .post("/api/v1/rules", json!({"name": "x", "trigger": {"kind": "full_moon"}, "actions": []}))
        .await
        .expect(422, "invalid_field");
    admin
        .post("/api/v1/rules", json!({"name": "x", "trigger": {"kind": "item_created"}, "actions": [], "extra": 1}))
        .await
        .expect(422, "invalid_field");
    let id = admin.rule("auto_reply").await["id"].as_i64().unwrap();
    admin
        .put(
            &format!("/api/v1/rules/{id}"),
            Some(json!({"name": "x", "trigger": {"kind": "item_created"}, "actions": []})),
        )
        .await
        .expect(422, "invalid_rule");
    admin.put("/api/v1/rules/9999", Some(json!({"name": "x", "trigger": {"kind": "item_created"}, "actions": [{"kind": "bot_reply", "text": "hi"}]}))).await.expect(404, "rule_not_found");
    assert_eq!(app.count("rules").await, before);
    assert!(admin.rule("auto_reply").await["name"] != "x");
    // Agents may not touch rules.
    let (agent, _) = app.agent(&admin, "agent@example.com").await;
    agent.get("/api/v1/rules").await.expect(403, "forbidden");
}

#[tokio::test]
async fn the_dry_run_reports_what_a_rule_would_do_without_doing_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    customer_chat(&app, None, "Where is my refund?").await;
    let (_, other) = customer_chat(&app, None, "Love the product").await;
    let counts = || async {
        (
            app.count("messages").await,
            app.count("rule_runs").await,
            app.count("notices").await,
            app.count("pending_notifications").await,
        )
    };
    let before = counts().await;
    let rule = json!({
        "name": "Refunds to billing", "trigger": {"kind": "message_posted"},
        "conditions": [{"field": "message.body", "op": "contains", "value": "refund"}],
        "actions": [{"kind": "bot_reply", "text": "Billing will answer about {{message.body}}"},
                    {"kind": "notify", "to": "team", "app": true, "email": true}]});
    let report = admin.post("/api/v1/rules/dry-run", rule).await.ok();
    let entries = report["entries"].as_array().unwrap();
    assert!(entries.len() >= 4, "customer messages and bot replies: {entries:?}");
    let refund =
        entries.iter().find(|e| e["event"]["summary"].as_str().unwrap().contains("Where is my refund?")).unwrap();
    assert_eq!(refund["matched"], true);
    assert!(refund["actions"][0].as_str().unwrap().starts_with("would reply in conversation #"), "{refund}");
    assert_eq!(refund["actions"][1], "would alert Ada Admin in the app and email Ada Admin");
    let love = entries.iter().find(|e| e["event"]["conversation_id"] == other && e["matched"] == false).unwrap();
    assert!(love["reasons"][0].as_str().unwrap().starts_with("not: message.body contains \"refund\""), "{love}");
    assert_eq!(counts().await, before, "a dry run changes nothing");

    // A time-based rule is tried on what is due now.
    app.clock.advance_ms(2 * 3600 * 1000);
    let waiting = json!({"name": "Waiting", "trigger": {"kind": "no_reply", "after_minutes": 60},
                         "actions": [{"kind": "notify", "to": "team", "app": true, "email": false, "text": "{{customer.name}} waits"}]});
    let report = admin.post("/api/v1/rules/dry-run", waiting).await.ok();
    assert_eq!(report["entries"].as_array().unwrap().len(), 2, "both conversations wait: {report}");
    assert_eq!(
        (app.count("messages").await, app.count("rule_runs").await, app.count("notices").await),
        (before.0, before.1, before.2)
    );
}

#[tokio::test]
async fn outside_business_hours_the_bot_says_when_the_team_is_back() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    // The test clock starts on Friday 2027-01-15 at 08:00 UTC.
    let hours = json!({"enabled": true, "timezone": "UTC",
                       "hours": [{"day": "fri", "open": "09:00", "close": "17:00"}, {"day": "mon", "open": "09:00", "close": "12:00"}]});
    admin.put("/api/v1/settings/business-hours", Some(hours.clone())).await.ok();
    assert_eq!(admin.get("/api/v1/settings/business-hours").await.ok(), hours);
    let (token, id) = customer_chat(&app, None, "early bird").await;
    let replies = messages(&app, &token, id).await;
    assert_eq!(replies.len(), 2, "one reply: the away message, not the auto-reply too");
    assert!(replies[1]["body"].as_str().unwrap().contains("will be back today at 09:00 (UTC)"), "{}", replies[1]);

    app.clock.advance_ms(2 * 3600 * 1000);
    let (token, id) = customer_chat(&app, None, "at ten").await;
    assert!(messages(&app, &token, id).await[1]["body"].as_str().unwrap().contains("thanks for getting in touch"));

    app.clock.advance_ms(8 * 3600 * 1000);
    let (token, id) = customer_chat(&app, None, "friday night").await;
    assert!(messages(&app, &token, id).await[1]["body"].as_str().unwrap().contains("back on Monday at 09:00 (UTC)"));

    let bad = json!({"enabled": true, "timezone": "Atlantis/Capital", "hours": []});
    admin.put("/api/v1/settings/business-hours", Some(bad)).await.expect(422, "invalid_business_hours");
}

#[tokio::test]
async fn a_rule_acts_on_items_assigns_follows_notes_and_notifies_named_users() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(mail_config(dir.path(), &smtp)).await;
    let admin = app.admin().await;
    let (_, bob) = app.agent(&admin, "bob@example.com").await;
    let project = admin.project("Hardware").await;
    admin.put(&format!("/api/v1/projects/{project}/members/{bob}"), None).await.ok();
    admin
        .post(
            "/api/v1/rules",
            json!({"name": "Urgent tickets to Bob", "trigger": {"kind": "item_created"},
                   "conditions": [{"field": "item.title", "op": "contains", "value": "urgent"},
                                  {"field": "project", "op": "is", "value": project.to_string()}],
                   "actions": [{"kind": "assign", "user_id": bob}, {"kind": "add_follower", "user_id": bob},
                               {"kind": "internal_note", "text": "Bob has it: {{item.title}}"},
                               {"kind": "notify", "to": "users", "user_ids": [bob], "email": true, "text": "New urgent ticket: {{item.title}}"}]}),
        )
        .await
        .ok();
    let urgent = admin.item(project, "URGENT: the printer is on fire", None).await;
    let calm = admin.item(project, "A question about toner", None).await;
    let item = admin.get(&format!("/api/v1/items/{urgent}")).await.ok();
    assert_eq!(item["assignee_id"], bob);
    assert!(item["followers"].as_array().unwrap().contains(&json!(bob)));
    assert!(admin.get(&format!("/api/v1/items/{calm}")).await.ok()["assignee_id"].is_null());
    let threads = admin.get(&format!("/api/v1/items/{urgent}/conversations")).await.ok();
    let note = &threads[0];
    assert_eq!(note["kind"], "internal");
    let said = admin.get(&format!("/api/v1/conversations/{}/messages", note["id"])).await.ok();
    assert_eq!(said[0]["body"], "Bob has it: URGENT: the printer is on fire");
    assert_eq!(said[0]["author"]["kind"], "bot");
    // Bob did not open the new item within the notification delay: he is emailed.
    crate::notifications::advance(&app, 61).await;
    let mail = read(&smtp.wait_for(1)[0]);
    assert_eq!(mail.to, "bob@example.com");
    assert!(mail.text.contains("New urgent ticket: URGENT: the printer is on fire"));
}

#[tokio::test]
async fn a_scheduled_rule_comes_round_once_per_slot_for_every_open_item() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let project = admin.project("Ops").await;
    let open = admin.item(project, "Still open", None).await;
    let done = admin.item(project, "Done already", None).await;
    admin.post(&format!("/api/v1/items/{done}/status"), json!({"status": "closed"})).await.ok();
    // The test clock starts on Friday 2027-01-15 at 08:00 UTC; business hours are off, in UTC.
    let rule = admin
        .post(
            "/api/v1/rules",
            json!({"name": "Morning round", "trigger": {"kind": "schedule", "days": ["fri", "sat"], "at": "09:00"},
                   "actions": [{"kind": "internal_note", "text": "Still open at the morning round: {{item.title}}"}]}),
        )
        .await
        .ok();
    rules_caught_up(&app, &admin).await;
    assert!(runs(&admin, &rule).await.is_empty(), "not before 09:00");
    app.clock.advance_ms(3600 * 1000);
    rules_caught_up(&app, &admin).await;
    app.clock.advance_ms(3600 * 1000);
    rules_caught_up(&app, &admin).await;
    let log = runs(&admin, &rule).await;
    assert_eq!(log.len(), 1, "once on Friday, for the open item only: {log:?}");
    assert_eq!(log[0]["item_id"], open);
    app.clock.advance_ms(24 * 3600 * 1000);
    rules_caught_up(&app, &admin).await;
    assert_eq!(runs(&admin, &rule).await.len(), 2, "again on Saturday");
    app.clock.advance_ms(24 * 3600 * 1000);
    rules_caught_up(&app, &admin).await;
    assert_eq!(runs(&admin, &rule).await.len(), 2, "not on Sunday");
}
