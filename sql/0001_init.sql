-- The ground every later migration builds on. Times are unix milliseconds.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
    password_hash TEXT,
    active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at    INTEGER NOT NULL
);

CREATE TABLE user_preferences (
    user_id                 INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    see_all_projects        INTEGER NOT NULL DEFAULT 0,
    hide_from_customers     INTEGER NOT NULL DEFAULT 0,
    notify_customer_replies TEXT NOT NULL DEFAULT 'both'
        CHECK (notify_customer_replies IN ('both', 'customers', 'users', 'none')),
    notify_internal         INTEGER NOT NULL DEFAULT 1,
    sound                   INTEGER NOT NULL DEFAULT 1,
    email_fallback          INTEGER NOT NULL DEFAULT 1
);

-- Only hashes of session and API tokens are stored: a copy of the database logs nobody in.
CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   BLOB NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

-- A customer is known (name/email/external id) or anonymous (a widget visitor token only).
CREATE TABLE customers (
    id                 INTEGER PRIMARY KEY,
    name               TEXT,
    email              TEXT UNIQUE COLLATE NOCASE,
    external_id        TEXT UNIQUE,
    visitor_token_hash BLOB UNIQUE,
    created_at         INTEGER NOT NULL
);

CREATE TABLE projects (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created_at INTEGER NOT NULL
);

CREATE TABLE project_members (
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, user_id)
) WITHOUT ROWID;
CREATE INDEX project_members_user ON project_members(user_id, project_id);

CREATE TABLE items (
    id           INTEGER PRIMARY KEY,
    project_id   INTEGER NOT NULL REFERENCES projects(id),
    kind         TEXT NOT NULL CHECK (kind IN ('ticket', 'task')),
    title        TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    requester_id INTEGER REFERENCES customers(id),
    channel      TEXT NOT NULL CHECK (channel IN ('chat', 'email', 'portal', 'form', 'app', 'api')),
    created_by   INTEGER REFERENCES users(id),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX items_status_created ON items(status, created_at DESC, id DESC);
CREATE INDEX items_project ON items(project_id);

CREATE TABLE item_followers (
    item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (item_id, user_id)
) WITHOUT ROWID;
CREATE INDEX item_followers_user ON item_followers(user_id, item_id);

-- A conversation hangs off an item or stands alone. `public` ones are customer replies; a
-- customer can never be attached to an `internal` one (the CHECK makes that a schema fact).
CREATE TABLE conversations (
    id               INTEGER PRIMARY KEY,
    project_id       INTEGER REFERENCES projects(id),
    item_id          INTEGER REFERENCES items(id),
    kind             TEXT NOT NULL CHECK (kind IN ('public', 'internal')),
    status           TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    subject          TEXT NOT NULL DEFAULT '',
    customer_id      INTEGER REFERENCES customers(id),
    channel          TEXT NOT NULL CHECK (channel IN ('chat', 'email', 'portal', 'form', 'app', 'api')),
    last_seq         INTEGER NOT NULL DEFAULT 0,
    last_activity_at INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    CHECK (kind = 'public' OR customer_id IS NULL)
);
CREATE INDEX conversations_listing ON conversations(kind, status, last_activity_at DESC, id DESC);
CREATE INDEX conversations_item ON conversations(item_id);
CREATE INDEX conversations_customer ON conversations(customer_id);

CREATE TABLE participants (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    party_kind      TEXT NOT NULL CHECK (party_kind IN ('user', 'customer')),
    party_id        INTEGER NOT NULL,
    joined_at       INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, party_kind, party_id)
) WITHOUT ROWID;
CREATE INDEX participants_party ON participants(party_kind, party_id);

-- `seq` numbers a conversation's messages 1, 2, 3... with no gap: only the writer assigns it,
-- inside the transaction that inserts the message. `client_id` makes a resend idempotent.
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    client_id       TEXT,
    author_kind     TEXT NOT NULL CHECK (author_kind IN ('user', 'customer', 'bot')),
    author_id       INTEGER,
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    UNIQUE (conversation_id, seq),
    UNIQUE (conversation_id, client_id)
);

-- Attachments live in the database too (so a copy of the file is the whole backup), split
-- into chunks so that neither side ever holds one huge blob.
CREATE TABLE attachments (
    id            INTEGER PRIMARY KEY,
    uploader_kind TEXT NOT NULL CHECK (uploader_kind IN ('user', 'customer')),
    uploader_id   INTEGER NOT NULL,
    message_id    INTEGER REFERENCES messages(id) ON DELETE CASCADE,
    filename      TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    sha256        BLOB NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX attachments_message ON attachments(message_id);

CREATE TABLE attachment_chunks (
    attachment_id INTEGER NOT NULL REFERENCES attachments(id) ON DELETE CASCADE,
    idx           INTEGER NOT NULL,
    data          BLOB NOT NULL,
    PRIMARY KEY (attachment_id, idx)
) WITHOUT ROWID;

-- How far each reader has seen each conversation; drives unread counts and the email fallback.
CREATE TABLE seen_marks (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    party_kind      TEXT NOT NULL CHECK (party_kind IN ('user', 'customer')),
    party_id        INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, party_kind, party_id)
) WITHOUT ROWID;
