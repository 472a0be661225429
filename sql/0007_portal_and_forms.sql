-- Items get a priority; customers a portal password and one-time sign-in links; admins design
-- web forms. New tickets from the portal and forms run through two default rules.

ALTER TABLE items ADD COLUMN priority TEXT NOT NULL DEFAULT 'normal'
    CHECK (priority IN ('low', 'normal', 'high', 'urgent'));
CREATE INDEX items_assignee ON items(assignee_id, status);
CREATE INDEX items_requester ON items(requester_id);

-- An argon2 hash; only for customers with a verified email (the portal signs them in by it).
ALTER TABLE customers ADD COLUMN password_hash TEXT;

-- One-time sign-in links for the portal: only the hash of the token is kept, for an email
-- address that need not belong to a customer yet (redeeming it proves the address).
CREATE TABLE portal_links (
    token_hash BLOB PRIMARY KEY,
    email      TEXT NOT NULL COLLATE NOCASE,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE forms (
    id         INTEGER PRIMARY KEY,
    -- The public name in the form's URL: random, so forms cannot be enumerated.
    key        TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    project_id INTEGER NOT NULL REFERENCES projects(id),
    item_kind  TEXT NOT NULL CHECK (item_kind IN ('ticket', 'task')),
    intro      TEXT NOT NULL DEFAULT '',
    thank_you  TEXT NOT NULL,
    -- The extra fields, as validated JSON (`[{label, kind, required, options}]`).
    fields     TEXT NOT NULL DEFAULT '[]',
    enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Signs the time a form page was served (a submission within seconds of it is a robot's).
INSERT INTO settings (key, value) VALUES ('form_secret', json_quote(lower(hex(randomblob(32)))));

-- The notification flow for tickets that arrive without a conversation (portal, web forms).
INSERT INTO rules (name, enabled, template, trigger, conditions, actions, created_at, updated_at)
SELECT 'Notify the team of new tickets', 1, 'ticket_notification', '{"kind":"item_created"}',
       '[{"field":"channel","op":"is_not","value":"app"},{"field":"channel","op":"is_not","value":"api"},{"field":"channel","op":"is_not","value":"email"},{"field":"channel","op":"is_not","value":"chat"}]',
       '[{"kind":"notify","to":"team","user_ids":[],"app":true,"email":true,"text":"New {{item.kind}} by {{channel}} from {{customer.email}}: \"{{item.title}}\"\n\n{{item.description}}"}]',
       now, now FROM (SELECT CAST(strftime('%s', 'now') AS INTEGER) * 1000 AS now)
UNION ALL
SELECT 'Auto-reply to new tickets', 1, 'ticket_auto_reply', '{"kind":"item_created"}',
       '[{"field":"channel","op":"is_not","value":"app"},{"field":"channel","op":"is_not","value":"api"},{"field":"channel","op":"is_not","value":"email"},{"field":"channel","op":"is_not","value":"chat"},{"field":"customer","op":"is_not","value":"none"}]',
       '[{"kind":"bot_reply","text":"Thanks, we have your request \"{{item.title}}\" and will answer here as soon as we can."}]',
       now, now FROM (SELECT CAST(strftime('%s', 'now') AS INTEGER) * 1000 AS now);
