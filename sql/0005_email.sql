-- Email: who is owed a notification, what is waiting to be sent, and what came in.

-- One row per recipient and conversation with messages that recipient has not seen yet. It is
-- written in the transaction that posts the message, so a restart loses nothing. The email is
-- due at `since + delay` (the delay is configuration, so changing it applies to rows already
-- waiting); several unseen messages of one conversation become one email.
CREATE TABLE pending_notifications (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    party_kind      TEXT NOT NULL CHECK (party_kind IN ('user', 'customer')),
    party_id        INTEGER NOT NULL,
    first_seq       INTEGER NOT NULL,
    last_seq        INTEGER NOT NULL,
    since           INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, party_kind, party_id)
) WITHOUT ROWID;
CREATE INDEX pending_notifications_since ON pending_notifications(since);

-- Email waiting to be handed to the SMTP server, and a record of what was sent or refused.
-- `message_id` is made when the row is, so every retry sends the same Message-ID.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    message_id      TEXT NOT NULL UNIQUE,
    to_address      TEXT NOT NULL,
    reply_to        TEXT,
    in_reply_to     TEXT,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL,
    conversation_id INTEGER REFERENCES conversations(id) ON DELETE SET NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_status ON outbox(status, id);

-- Every email that came in and what became of it. The Message-ID makes a message fetched or
-- delivered twice count once. Held mail keeps its raw text until an admin decides.
CREATE TABLE inbound_mail (
    id              INTEGER PRIMARY KEY,
    message_id      TEXT UNIQUE,
    from_address    TEXT NOT NULL,
    subject         TEXT NOT NULL,
    outcome         TEXT NOT NULL CHECK (outcome IN ('posted', 'ticket', 'held', 'dropped')),
    reason          TEXT NOT NULL DEFAULT '',
    conversation_id INTEGER REFERENCES conversations(id) ON DELETE SET NULL,
    raw             BLOB,
    received_at     INTEGER NOT NULL
);
CREATE INDEX inbound_mail_outcome ON inbound_mail(outcome, id);
