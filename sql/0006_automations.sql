-- Automations: rules with a trigger, conditions and actions (JSON, checked by the binary before
-- it stores them), what they did, and the recent events a dry run replays.

CREATE TABLE rules (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    enabled    INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    -- Which built-in rule this started as (`auto_reply`, `team_notification`, ...), if any.
    template   TEXT UNIQUE,
    trigger    TEXT NOT NULL,
    conditions TEXT NOT NULL,
    actions    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- One row per rule and event it looked at. The UNIQUE key is what makes a rule fire at most
-- once per event: time-based rules record the subjects they skipped too, so each is decided
-- once and the scheduler never looks at it again.
CREATE TABLE rule_runs (
    id              INTEGER PRIMARY KEY,
    rule_id         INTEGER NOT NULL REFERENCES rules(id) ON DELETE CASCADE,
    event_key       TEXT NOT NULL,
    event           TEXT NOT NULL,
    conversation_id INTEGER REFERENCES conversations(id) ON DELETE SET NULL,
    item_id         INTEGER REFERENCES items(id) ON DELETE SET NULL,
    outcome         TEXT NOT NULL CHECK (outcome IN ('acted', 'skipped')),
    detail          TEXT NOT NULL,
    at              INTEGER NOT NULL,
    UNIQUE (rule_id, event_key)
);
CREATE INDEX rule_runs_acted ON rule_runs(outcome, id);

-- The newest events (a bounded window), as the facts rules saw, for dry runs.
CREATE TABLE automation_events (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    conversation_id INTEGER,
    item_id         INTEGER,
    facts           TEXT NOT NULL,
    at              INTEGER NOT NULL
);

-- Items and conversations can be assigned to one user.
ALTER TABLE items ADD COLUMN assignee_id INTEGER REFERENCES users(id) ON DELETE SET NULL;
ALTER TABLE conversations ADD COLUMN assignee_id INTEGER REFERENCES users(id) ON DELETE SET NULL;

-- The defaults of the notification flow, as rules. An installation that had turned steps off
-- or changed the auto-reply keeps its choices.
INSERT INTO rules (name, enabled, template, trigger, conditions, actions, created_at, updated_at)
WITH old AS (
    SELECT
        COALESCE((SELECT value FROM settings WHERE key = 'auto_reply'), '{}') AS auto,
        COALESCE((SELECT value FROM settings WHERE key = 'email_flow'), '{}') AS flow,
        CAST(strftime('%s', 'now') AS INTEGER) * 1000 AS now
)
SELECT 'Auto-reply to new conversations', COALESCE(json_extract(auto, '$.enabled'), 1), 'auto_reply',
       '{"kind":"conversation_started"}',
       '[{"field":"message.author","op":"is","value":"customer"},{"field":"conversation.kind","op":"is","value":"public"},{"field":"business_hours","op":"is","value":"inside"}]',
       json_array(json_object('kind', 'bot_reply', 'text', COALESCE(json_extract(auto, '$.text'),
           'Thanks for getting in touch! We have your message and will answer here as soon as we can.'))),
       now, now FROM old
UNION ALL
SELECT 'Away message outside business hours', 1, 'away_message',
       '{"kind":"conversation_started"}',
       '[{"field":"message.author","op":"is","value":"customer"},{"field":"conversation.kind","op":"is","value":"public"},{"field":"business_hours","op":"is","value":"outside"}]',
       '[{"kind":"bot_reply","text":"Thanks for your message! We are away right now and will be back {{team.back_at}}. We will answer here, and by email if you leave your address."}]',
       now, now FROM old
UNION ALL
SELECT 'Notify the team', 1, 'team_notification',
       '{"kind":"message_posted"}',
       '[{"field":"message.author","op":"is_not","value":"bot"}]',
       json_array(json_object('kind', 'notify', 'to', 'team', 'user_ids', json('[]'), 'app', json('true'),
           'email', json(CASE WHEN json_extract(flow, '$.email_agents') = 0 THEN 'false' ELSE 'true' END), 'text', NULL)),
       now, now FROM old
UNION ALL
SELECT 'Email customers the replies they did not see', COALESCE(json_extract(flow, '$.email_customers'), 1),
       'customer_email',
       '{"kind":"message_posted"}',
       '[{"field":"conversation.kind","op":"is","value":"public"},{"field":"message.author","op":"is_not","value":"customer"}]',
       '[{"kind":"notify","to":"customer","user_ids":[],"app":false,"email":true,"text":null}]',
       now, now FROM old
UNION ALL
SELECT 'Tell the customer their ticket is closed', 0, 'close_notice',
       '{"kind":"item_closed"}',
       '[{"field":"item.kind","op":"is","value":"ticket"},{"field":"customer","op":"is","value":"known"}]',
       '[{"kind":"notify","to":"customer","user_ids":[],"app":false,"email":true,"text":"Your ticket \"{{item.title}}\" is now closed. If anything is still wrong, just reply to this email and it opens again."}]',
       now, now FROM old
UNION ALL
SELECT 'Remind followers of unfinished tasks', 0, 'task_reminder',
       '{"kind":"item_open","after_minutes":4320}',
       '[{"field":"item.kind","op":"is","value":"task"},{"field":"item.status","op":"is","value":"open"}]',
       '[{"kind":"notify","to":"followers","user_ids":[],"app":true,"email":true,"text":"The task \"{{item.title}}\" has been open for {{item.age}}."}]',
       now, now FROM old;

DELETE FROM settings WHERE key = 'auto_reply';
UPDATE settings SET value = json_remove(value, '$.email_agents', '$.email_customers') WHERE key = 'email_flow';

-- Notifications a rule sends now, with its own text (a ticket closed, a task waiting): the
-- email scheduler renders each into an outbox row, in the transaction that deletes it.
CREATE TABLE notices (
    id              INTEGER PRIMARY KEY,
    party_kind      TEXT NOT NULL CHECK (party_kind IN ('user', 'customer')),
    party_id        INTEGER NOT NULL,
    conversation_id INTEGER REFERENCES conversations(id) ON DELETE SET NULL,
    item_id         INTEGER REFERENCES items(id) ON DELETE SET NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
