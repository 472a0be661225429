-- Rapport's schema on PostgreSQL, as SQLite's stands after sql/0017: the same tables, columns
-- and meanings, so that the store's SQL runs on both. Times are milliseconds since the epoch
-- (BIGINT); flags are 0/1 (BIGINT, as on SQLite). Email addresses and project names compare
-- without case (citext, SQLite's COLLATE NOCASE). Search keeps a tsvector per message and item,
-- with a GIN index, instead of SQLite's FTS5 tables.

CREATE EXTENSION IF NOT EXISTS citext;
CREATE EXTENSION IF NOT EXISTS unaccent;

-- The functions are SQL-standard bodies (BEGIN ATOMIC): what they name is resolved once, here,
-- so that they work whatever the search_path of whoever calls them (pg_restore empties it).

-- SQLite's two-argument min and max, which the store's SQL uses.
CREATE FUNCTION max(a BIGINT, b BIGINT) RETURNS BIGINT LANGUAGE sql IMMUTABLE BEGIN ATOMIC SELECT GREATEST(a, b); END;
CREATE FUNCTION min(a BIGINT, b BIGINT) RETURNS BIGINT LANGUAGE sql IMMUTABLE BEGIN ATOMIC SELECT LEAST(a, b); END;

-- Text as search sees it: lower case and without diacritics (SQLite's unicode61 tokenizer with
-- remove_diacritics), whatever the database's locale (ICU's rules, not the locale's).
CREATE FUNCTION rapport_unaccent(body TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT lower(unaccent('unaccent'::regdictionary, body) COLLATE "und-x-icu");
END;

-- The words of a text: its runs of letters and digits (as FTS5's tokenizer and the query's
-- splitting in src/store/search.rs read them), each with its position and `weight`. Made as a
-- tsvector literal rather than with to_tsvector, whose parser reads "5e99f" as a number and a
-- word; words too long for an index entry are left out.
CREATE FUNCTION rapport_words(body TEXT, weight "char" DEFAULT 'D') RETURNS tsvector LANGUAGE sql IMMUTABLE
    PARALLEL SAFE
BEGIN ATOMIC
    SELECT coalesce(string_agg(quote_literal(w) || ':' || least(i, 16383)::text || weight::text, ' '), '')::tsvector
    FROM unnest(regexp_split_to_array(rapport_unaccent(body) COLLATE "und-x-icu", '[^[:alnum:]]+'))
         WITH ORDINALITY AS t(w, i)
    WHERE w <> '' AND octet_length(w) < 2048;
END;

-- What a person typed as a query of the same words: all of them must appear, each of three
-- letters or more as a prefix; at most 12. NULL when no word is left.
CREATE FUNCTION rapport_query(typed TEXT) RETURNS tsquery LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT string_agg(quote_literal(w) || CASE WHEN char_length(w) >= 3 THEN ':*' ELSE '' END, ' & ')::tsquery
    FROM (SELECT w FROM unnest(regexp_split_to_array(rapport_unaccent(typed) COLLATE "und-x-icu", '[^[:alnum:]]+'))
                        WITH ORDINALITY AS t(w, i)
          WHERE w <> '' AND octet_length(w) < 2048 ORDER BY i LIMIT 12) words;
END;

CREATE TABLE users (
    id            BIGINT PRIMARY KEY,
    email         CITEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
    password_hash TEXT,
    active        BIGINT NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at    BIGINT NOT NULL
);

CREATE TABLE user_preferences (
    user_id                 BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    see_all_projects        BIGINT NOT NULL DEFAULT 0,
    hide_from_customers     BIGINT NOT NULL DEFAULT 0,
    notify_customer_replies TEXT NOT NULL DEFAULT 'both'
        CHECK (notify_customer_replies IN ('both', 'customers', 'users', 'none')),
    notify_internal         BIGINT NOT NULL DEFAULT 1,
    sound                   BIGINT NOT NULL DEFAULT 1,
    email_fallback          BIGINT NOT NULL DEFAULT 1
);

CREATE TABLE sessions (
    token_hash BYTEA PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id           BIGSERIAL PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   BYTEA NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE customers (
    id                 BIGINT PRIMARY KEY,
    name               TEXT,
    email              CITEXT UNIQUE,
    external_id        TEXT UNIQUE,
    visitor_token_hash BYTEA UNIQUE,
    created_at         BIGINT NOT NULL,
    contact_email      CITEXT,
    password_hash      TEXT
);

CREATE TABLE projects (
    id         BIGINT PRIMARY KEY,
    name       CITEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE project_members (
    project_id BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_members_user ON project_members(user_id, project_id);

CREATE TABLE items (
    id             BIGINT PRIMARY KEY,
    project_id     BIGINT NOT NULL REFERENCES projects(id),
    kind           TEXT NOT NULL CHECK (kind IN ('ticket', 'task')),
    title          TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    requester_id   BIGINT REFERENCES customers(id),
    channel        TEXT NOT NULL CHECK (channel IN ('chat', 'email', 'portal', 'form', 'app', 'api')),
    created_by     BIGINT REFERENCES users(id),
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    assignee_id    BIGINT REFERENCES users(id) ON DELETE SET NULL,
    priority       TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    public_threads BIGINT NOT NULL DEFAULT 0,
    search         tsvector GENERATED ALWAYS AS
        (rapport_words(title, 'A') || rapport_words(description)) STORED
);
CREATE INDEX items_status_created ON items(status, created_at DESC, id DESC);
CREATE INDEX items_project ON items(project_id);
CREATE INDEX items_requester ON items(requester_id);
CREATE INDEX items_assignee ON items(assignee_id, status, created_at DESC, id DESC);
CREATE INDEX items_unanswered ON items(created_at DESC, id DESC)
    WHERE status = 'open' AND requester_id IS NOT NULL AND public_threads = 0;
CREATE INDEX items_search ON items USING gin (search);

CREATE TABLE item_followers (
    item_id BIGINT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (item_id, user_id)
);
CREATE INDEX item_followers_user ON item_followers(user_id, item_id);

CREATE TABLE conversations (
    id               BIGINT PRIMARY KEY,
    project_id       BIGINT REFERENCES projects(id),
    item_id          BIGINT REFERENCES items(id),
    kind             TEXT NOT NULL CHECK (kind IN ('public', 'internal')),
    status           TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    subject          TEXT NOT NULL DEFAULT '',
    customer_id      BIGINT REFERENCES customers(id),
    channel          TEXT NOT NULL CHECK (channel IN ('chat', 'email', 'portal', 'form', 'app', 'api')),
    last_seq         BIGINT NOT NULL DEFAULT 0,
    last_activity_at BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    page_url         TEXT,
    assignee_id      BIGINT REFERENCES users(id) ON DELETE SET NULL,
    CHECK (kind = 'public' OR customer_id IS NULL)
);
CREATE INDEX conversations_listing ON conversations(kind, status, last_activity_at DESC, id DESC);
CREATE INDEX conversations_item ON conversations(item_id);
CREATE INDEX conversations_customer ON conversations(customer_id);

CREATE TABLE participants (
    conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    party_kind      TEXT NOT NULL CHECK (party_kind IN ('user', 'customer')),
    party_id        BIGINT NOT NULL,
    joined_at       BIGINT NOT NULL,
    project_key     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, party_kind, party_id)
);
CREATE INDEX participants_party_project ON participants(party_kind, party_id, project_key);

CREATE TABLE messages (
    id              BIGINT PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq             BIGINT NOT NULL,
    client_id       TEXT,
    author_kind     TEXT NOT NULL CHECK (author_kind IN ('user', 'customer', 'bot')),
    author_id       BIGINT,
    body            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    search          tsvector GENERATED ALWAYS AS (rapport_words(body)) STORED,
    UNIQUE (conversation_id, seq),
    UNIQUE (conversation_id, client_id)
);
CREATE INDEX messages_search ON messages USING gin (search);

CREATE TABLE attachments (
    id            BIGINT PRIMARY KEY,
    uploader_kind TEXT NOT NULL CHECK (uploader_kind IN ('user', 'customer')),
    uploader_id   BIGINT NOT NULL,
    message_id    BIGINT REFERENCES messages(id) ON DELETE CASCADE,
    filename      TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          BIGINT NOT NULL,
    sha256        BYTEA NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX attachments_message ON attachments(message_id);

CREATE TABLE attachment_chunks (
    attachment_id BIGINT NOT NULL REFERENCES attachments(id) ON DELETE CASCADE,
    idx           BIGINT NOT NULL,
    data          BYTEA NOT NULL,
    PRIMARY KEY (attachment_id, idx)
);

CREATE TABLE seen_marks (
    conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    party_kind      TEXT NOT NULL CHECK (party_kind IN ('user', 'customer')),
    party_id        BIGINT NOT NULL,
    seq             BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, party_kind, party_id)
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE visitor_tokens (
    token_hash  BYTEA PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL
);
CREATE INDEX visitor_tokens_customer ON visitor_tokens(customer_id);

CREATE TABLE pending_notifications (
    conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    party_kind      TEXT NOT NULL CHECK (party_kind IN ('user', 'customer')),
    party_id        BIGINT NOT NULL,
    first_seq       BIGINT NOT NULL,
    last_seq        BIGINT NOT NULL,
    since           BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, party_kind, party_id)
);
CREATE INDEX pending_notifications_since ON pending_notifications(since);

CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    message_id      TEXT NOT NULL UNIQUE,
    to_address      TEXT NOT NULL,
    reply_to        TEXT,
    in_reply_to     TEXT,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL,
    conversation_id BIGINT REFERENCES conversations(id) ON DELETE SET NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_status ON outbox(status, id);

CREATE TABLE inbound_mail (
    id              BIGSERIAL PRIMARY KEY,
    message_id      TEXT UNIQUE,
    from_address    TEXT NOT NULL,
    subject         TEXT NOT NULL,
    outcome         TEXT NOT NULL CHECK (outcome IN ('posted', 'ticket', 'held', 'dropped')),
    reason          TEXT NOT NULL DEFAULT '',
    conversation_id BIGINT REFERENCES conversations(id) ON DELETE SET NULL,
    raw             BYTEA,
    received_at     BIGINT NOT NULL,
    refs            TEXT NOT NULL DEFAULT ''
);
CREATE INDEX inbound_mail_outcome ON inbound_mail(outcome, id);

CREATE TABLE rules (
    id         BIGINT PRIMARY KEY,
    name       TEXT NOT NULL,
    enabled    BIGINT NOT NULL CHECK (enabled IN (0, 1)),
    template   TEXT UNIQUE,
    trigger    TEXT NOT NULL,
    conditions TEXT NOT NULL,
    actions    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE rule_runs (
    id              BIGSERIAL PRIMARY KEY,
    rule_id         BIGINT NOT NULL REFERENCES rules(id) ON DELETE CASCADE,
    event_key       TEXT NOT NULL,
    event           TEXT NOT NULL,
    conversation_id BIGINT REFERENCES conversations(id) ON DELETE SET NULL,
    item_id         BIGINT REFERENCES items(id) ON DELETE SET NULL,
    outcome         TEXT NOT NULL CHECK (outcome IN ('acted', 'skipped')),
    detail          TEXT NOT NULL,
    at              BIGINT NOT NULL,
    UNIQUE (rule_id, event_key)
);
CREATE INDEX rule_runs_acted ON rule_runs(outcome, id);

CREATE TABLE automation_events (
    id              BIGSERIAL PRIMARY KEY,
    kind            TEXT NOT NULL,
    conversation_id BIGINT,
    item_id         BIGINT,
    facts           TEXT NOT NULL,
    at              BIGINT NOT NULL
);

CREATE TABLE notices (
    id              BIGSERIAL PRIMARY KEY,
    party_kind      TEXT NOT NULL CHECK (party_kind IN ('user', 'customer')),
    party_id        BIGINT NOT NULL,
    conversation_id BIGINT REFERENCES conversations(id) ON DELETE SET NULL,
    item_id         BIGINT REFERENCES items(id) ON DELETE SET NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    owed_since      BIGINT
);

CREATE TABLE portal_links (
    token_hash BYTEA PRIMARY KEY,
    email      CITEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE forms (
    id         BIGINT PRIMARY KEY,
    key        TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    item_kind  TEXT NOT NULL CHECK (item_kind IN ('ticket', 'task')),
    intro      TEXT NOT NULL DEFAULT '',
    thank_you  TEXT NOT NULL,
    fields     TEXT NOT NULL DEFAULT '[]',
    enabled    BIGINT NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE user_photos (
    user_id      BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    data         BYTEA NOT NULL,
    updated_at   BIGINT NOT NULL
);

-- Ids never handed out twice (SQLite's sql/0008): the highest id each table ever deleted.
CREATE TABLE retired_ids (
    tbl TEXT PRIMARY KEY,
    id  BIGINT NOT NULL
);

CREATE FUNCTION retire_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO retired_ids (tbl, id) VALUES (TG_TABLE_NAME, OLD.id)
        ON CONFLICT (tbl) DO UPDATE SET id = GREATEST(retired_ids.id, excluded.id);
    RETURN NULL;
END $$;
CREATE TRIGGER customers_retire_id AFTER DELETE ON customers FOR EACH ROW EXECUTE FUNCTION retire_id();
CREATE TRIGGER users_retire_id AFTER DELETE ON users FOR EACH ROW EXECUTE FUNCTION retire_id();
CREATE TRIGGER projects_retire_id AFTER DELETE ON projects FOR EACH ROW EXECUTE FUNCTION retire_id();
CREATE TRIGGER items_retire_id AFTER DELETE ON items FOR EACH ROW EXECUTE FUNCTION retire_id();
CREATE TRIGGER conversations_retire_id AFTER DELETE ON conversations FOR EACH ROW EXECUTE FUNCTION retire_id();
CREATE TRIGGER messages_retire_id AFTER DELETE ON messages FOR EACH ROW EXECUTE FUNCTION retire_id();
CREATE TRIGGER attachments_retire_id AFTER DELETE ON attachments FOR EACH ROW EXECUTE FUNCTION retire_id();

-- The tallies of the messenger's views (SQLite's sql/0013), kept in the same transaction as
-- each change.
CREATE TABLE conversation_tallies (
    project_key BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    total       BIGINT NOT NULL,
    empty       BIGINT NOT NULL,
    PRIMARY KEY (project_key, kind, status)
);

CREATE TABLE caught_up_tallies (
    user_id     BIGINT NOT NULL,
    project_key BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    n           BIGINT NOT NULL,
    PRIMARY KEY (user_id, project_key, kind, status)
);

CREATE TABLE followed_tallies (
    user_id     BIGINT NOT NULL,
    project_key BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    total       BIGINT NOT NULL,
    empty       BIGINT NOT NULL,
    caught_up   BIGINT NOT NULL,
    PRIMARY KEY (user_id, project_key, kind, status)
);

CREATE TABLE followed_conversations (
    user_id          BIGINT NOT NULL,
    conversation_id  BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    kind             TEXT NOT NULL,
    status           TEXT NOT NULL,
    last_activity_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, conversation_id)
);
CREATE INDEX followed_conversations_listing
    ON followed_conversations(user_id, status, last_activity_at DESC, conversation_id DESC);
CREATE INDEX followed_conversations_conversation ON followed_conversations(conversation_id);

CREATE FUNCTION participants_project() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE participants SET project_key =
        (SELECT COALESCE(c.project_id, 0) FROM conversations c WHERE c.id = NEW.conversation_id)
    WHERE conversation_id = NEW.conversation_id AND party_kind = NEW.party_kind AND party_id = NEW.party_id;
    RETURN NULL;
END $$;
CREATE TRIGGER participants_project AFTER INSERT ON participants FOR EACH ROW EXECUTE FUNCTION participants_project();

-- Whether `user_id` has read conversation `c` to its end.
CREATE FUNCTION caught_up(c BIGINT, last_seq BIGINT, user_id BIGINT) RETURNS BIGINT LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT (EXISTS (SELECT 1 FROM seen_marks m WHERE m.conversation_id = caught_up.c AND m.party_kind = 'user'
                    AND m.party_id = caught_up.user_id AND caught_up.last_seq > 0
                    AND m.seq >= caught_up.last_seq))::int;
END;

CREATE FUNCTION conversations_tally_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO conversation_tallies AS t (project_key, kind, status, total, empty)
    VALUES (COALESCE(NEW.project_id, 0), NEW.kind, NEW.status, 1, (NEW.last_seq = 0)::int)
    ON CONFLICT (project_key, kind, status) DO UPDATE SET total = t.total + excluded.total, empty = t.empty + excluded.empty;
    INSERT INTO followed_tallies AS t (user_id, project_key, kind, status, total, empty, caught_up)
    SELECT f.user_id, COALESCE(NEW.project_id, 0), NEW.kind, NEW.status, 1, (NEW.last_seq = 0)::int, 0
    FROM item_followers f WHERE f.item_id = NEW.item_id
    ON CONFLICT (user_id, project_key, kind, status) DO UPDATE SET total = t.total + excluded.total, empty = t.empty + excluded.empty;
    IF NEW.item_id IS NOT NULL THEN
        INSERT INTO followed_conversations (user_id, conversation_id, kind, status, last_activity_at)
        SELECT f.user_id, NEW.id, NEW.kind, NEW.status, NEW.last_activity_at FROM item_followers f
        WHERE f.item_id = NEW.item_id
        ON CONFLICT DO NOTHING;
        IF NEW.kind = 'public' THEN
            UPDATE items SET public_threads = public_threads + 1 WHERE id = NEW.item_id;
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER conversations_tally_insert AFTER INSERT ON conversations
    FOR EACH ROW EXECUTE FUNCTION conversations_tally_insert();

CREATE FUNCTION conversations_tally_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.project_id IS DISTINCT FROM NEW.project_id OR OLD.kind <> NEW.kind OR OLD.status <> NEW.status
       OR OLD.item_id IS DISTINCT FROM NEW.item_id OR OLD.last_seq <> NEW.last_seq THEN
        INSERT INTO conversation_tallies AS t (project_key, kind, status, total, empty)
        SELECT project_key, kind, status, sum(sign), sum(sign * empty) FROM (
            SELECT COALESCE(OLD.project_id, 0) AS project_key, OLD.kind AS kind, OLD.status AS status,
                   -1 AS sign, (OLD.last_seq = 0)::int AS empty
            UNION ALL
            SELECT COALESCE(NEW.project_id, 0), NEW.kind, NEW.status, 1, (NEW.last_seq = 0)::int
        ) d GROUP BY 1, 2, 3 HAVING sum(sign) <> 0 OR sum(sign * empty) <> 0
        ON CONFLICT (project_key, kind, status) DO UPDATE SET total = t.total + excluded.total, empty = t.empty + excluded.empty;

        INSERT INTO caught_up_tallies AS t (user_id, project_key, kind, status, n)
        SELECT user_id, project_key, kind, status, sum(sign) FROM (
            SELECT m.party_id AS user_id, COALESCE(OLD.project_id, 0) AS project_key, OLD.kind AS kind,
                   OLD.status AS status, -1 AS sign
            FROM seen_marks m WHERE m.conversation_id = OLD.id AND m.party_kind = 'user'
                AND OLD.last_seq > 0 AND m.seq >= OLD.last_seq
            UNION ALL
            SELECT m.party_id, COALESCE(NEW.project_id, 0), NEW.kind, NEW.status, 1
            FROM seen_marks m WHERE m.conversation_id = NEW.id AND m.party_kind = 'user'
                AND NEW.last_seq > 0 AND m.seq >= NEW.last_seq
        ) d GROUP BY 1, 2, 3, 4 HAVING sum(sign) <> 0
        ON CONFLICT (user_id, project_key, kind, status) DO UPDATE SET n = t.n + excluded.n;

        INSERT INTO followed_tallies AS t (user_id, project_key, kind, status, total, empty, caught_up)
        SELECT user_id, project_key, kind, status, sum(sign), sum(sign * empty), sum(sign * caught_up) FROM (
            SELECT f.user_id AS user_id, COALESCE(OLD.project_id, 0) AS project_key, OLD.kind AS kind,
                   OLD.status AS status, -1 AS sign, (OLD.last_seq = 0)::int AS empty,
                   caught_up(OLD.id, OLD.last_seq, f.user_id) AS caught_up
            FROM item_followers f WHERE f.item_id = OLD.item_id
            UNION ALL
            SELECT f.user_id, COALESCE(NEW.project_id, 0), NEW.kind, NEW.status, 1, (NEW.last_seq = 0)::int,
                   caught_up(NEW.id, NEW.last_seq, f.user_id)
            FROM item_followers f WHERE f.item_id = NEW.item_id
        ) d GROUP BY 1, 2, 3, 4
        HAVING sum(sign) <> 0 OR sum(sign * empty) <> 0 OR sum(sign * caught_up) <> 0
        ON CONFLICT (user_id, project_key, kind, status) DO UPDATE SET total = t.total + excluded.total,
            empty = t.empty + excluded.empty, caught_up = t.caught_up + excluded.caught_up;
    END IF;
    IF OLD.project_id IS DISTINCT FROM NEW.project_id THEN
        UPDATE participants SET project_key = COALESCE(NEW.project_id, 0) WHERE conversation_id = NEW.id;
    END IF;
    IF OLD.item_id IS DISTINCT FROM NEW.item_id THEN
        DELETE FROM followed_conversations WHERE conversation_id = NEW.id;
        INSERT INTO followed_conversations (user_id, conversation_id, kind, status, last_activity_at)
        SELECT f.user_id, NEW.id, NEW.kind, NEW.status, NEW.last_activity_at FROM item_followers f
        WHERE f.item_id = NEW.item_id
        ON CONFLICT DO NOTHING;
    ELSIF OLD.kind <> NEW.kind OR OLD.status <> NEW.status OR OLD.last_activity_at <> NEW.last_activity_at THEN
        UPDATE followed_conversations SET kind = NEW.kind, status = NEW.status, last_activity_at = NEW.last_activity_at
        WHERE conversation_id = NEW.id;
    END IF;
    IF OLD.kind IS DISTINCT FROM NEW.kind OR OLD.item_id IS DISTINCT FROM NEW.item_id THEN
        UPDATE items SET public_threads = public_threads - 1 WHERE id = OLD.item_id AND OLD.kind = 'public';
        UPDATE items SET public_threads = public_threads + 1 WHERE id = NEW.item_id AND NEW.kind = 'public';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER conversations_tally_update AFTER UPDATE ON conversations
    FOR EACH ROW EXECUTE FUNCTION conversations_tally_update();

CREATE FUNCTION conversations_tally_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conversation_tallies SET total = total - 1, empty = empty - (OLD.last_seq = 0)::int
    WHERE project_key = COALESCE(OLD.project_id, 0) AND kind = OLD.kind AND status = OLD.status;
    UPDATE caught_up_tallies SET n = n - 1
    WHERE project_key = COALESCE(OLD.project_id, 0) AND kind = OLD.kind AND status = OLD.status
      AND user_id IN (SELECT m.party_id FROM seen_marks m WHERE m.conversation_id = OLD.id
                      AND m.party_kind = 'user' AND OLD.last_seq > 0 AND m.seq >= OLD.last_seq);
    UPDATE followed_tallies t SET total = t.total - 1, empty = t.empty - (OLD.last_seq = 0)::int,
        caught_up = t.caught_up - caught_up(OLD.id, OLD.last_seq, t.user_id)
    WHERE project_key = COALESCE(OLD.project_id, 0) AND kind = OLD.kind AND status = OLD.status
      AND user_id IN (SELECT f.user_id FROM item_followers f WHERE f.item_id = OLD.item_id);
    RETURN OLD;
END $$;
CREATE TRIGGER conversations_tally_delete BEFORE DELETE ON conversations
    FOR EACH ROW EXECUTE FUNCTION conversations_tally_delete();

CREATE FUNCTION conversations_threads_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.kind = 'public' AND OLD.item_id IS NOT NULL THEN
        UPDATE items SET public_threads = public_threads - 1 WHERE id = OLD.item_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER conversations_threads_delete AFTER DELETE ON conversations
    FOR EACH ROW EXECUTE FUNCTION conversations_threads_delete();

CREATE FUNCTION seen_marks_tally() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_seq BIGINT := CASE WHEN TG_OP = 'UPDATE' THEN OLD.seq END;
    delta BIGINT;
    c conversations%ROWTYPE;
BEGIN
    IF NEW.party_kind <> 'user' OR old_seq IS NOT DISTINCT FROM NEW.seq THEN
        RETURN NULL;
    END IF;
    SELECT * INTO c FROM conversations WHERE id = NEW.conversation_id;
    IF NOT FOUND OR c.last_seq = 0 THEN
        RETURN NULL;
    END IF;
    delta := (NEW.seq >= c.last_seq)::int - COALESCE((old_seq >= c.last_seq)::int, 0);
    IF delta = 0 THEN
        RETURN NULL;
    END IF;
    INSERT INTO caught_up_tallies AS t (user_id, project_key, kind, status, n)
    VALUES (NEW.party_id, COALESCE(c.project_id, 0), c.kind, c.status, delta)
    ON CONFLICT (user_id, project_key, kind, status) DO UPDATE SET n = t.n + excluded.n;
    UPDATE followed_tallies SET caught_up = caught_up + delta
    WHERE user_id = NEW.party_id AND project_key = COALESCE(c.project_id, 0) AND kind = c.kind AND status = c.status
      AND EXISTS (SELECT 1 FROM item_followers f WHERE f.item_id = c.item_id AND f.user_id = NEW.party_id);
    RETURN NULL;
END $$;
CREATE TRIGGER seen_marks_tally AFTER INSERT OR UPDATE OF seq ON seen_marks
    FOR EACH ROW EXECUTE FUNCTION seen_marks_tally();

CREATE FUNCTION item_followers_tally() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    f item_followers%ROWTYPE;
    sign BIGINT;
BEGIN
    IF TG_OP = 'INSERT' THEN f := NEW; sign := 1; ELSE f := OLD; sign := -1; END IF;
    INSERT INTO followed_tallies AS t (user_id, project_key, kind, status, total, empty, caught_up)
    SELECT f.user_id, COALESCE(c.project_id, 0), c.kind, c.status, sign * count(*),
           sign * sum((c.last_seq = 0)::int), sign * sum(caught_up(c.id, c.last_seq, f.user_id))
    FROM conversations c WHERE c.item_id = f.item_id GROUP BY 2, 3, 4
    ON CONFLICT (user_id, project_key, kind, status) DO UPDATE SET total = t.total + excluded.total,
        empty = t.empty + excluded.empty, caught_up = t.caught_up + excluded.caught_up;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO followed_conversations (user_id, conversation_id, kind, status, last_activity_at)
        SELECT f.user_id, c.id, c.kind, c.status, c.last_activity_at FROM conversations c WHERE c.item_id = f.item_id
        ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM followed_conversations
        WHERE user_id = f.user_id AND conversation_id IN (SELECT id FROM conversations WHERE item_id = f.item_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER item_followers_tally AFTER INSERT OR DELETE ON item_followers
    FOR EACH ROW EXECUTE FUNCTION item_followers_tally();

-- Rules are read from a per-thread cache that a random version invalidates (SQLite's sql/0017).
CREATE TABLE rules_version (
    "only"  BIGINT PRIMARY KEY CHECK ("only" = 1),
    version BIGINT NOT NULL
);
INSERT INTO rules_version ("only", version) VALUES (1, 0);

CREATE FUNCTION rules_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE rules_version SET version = (random() * 9.0e18 - 4.5e18)::bigint;
    RETURN NULL;
END $$;
CREATE TRIGGER rules_version AFTER INSERT OR UPDATE OR DELETE ON rules
    FOR EACH STATEMENT EXECUTE FUNCTION rules_version_bump();

-- The secret web forms are signed with: 244 random bits, in hex, as a JSON string.
INSERT INTO settings (key, value)
VALUES ('form_secret', '"' || replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '') || '"');

-- The built-in rules, as SQLite's migrations left them.
CREATE FUNCTION pg_temp.now_ms() RETURNS BIGINT LANGUAGE sql AS 'SELECT (extract(epoch FROM now()) * 1000)::bigint';
INSERT INTO rules (id, name, enabled, template, trigger, conditions, actions, created_at, updated_at) VALUES
    (1, 'Auto-reply to new conversations', 1, 'auto_reply', '{"kind":"conversation_started"}', '[{"field":"message.author","op":"is","value":"customer"},{"field":"conversation.kind","op":"is","value":"public"},{"field":"business_hours","op":"is","value":"inside"}]', '[{"kind":"bot_reply","text":"Hi {{customer.name | \"there\"}}, thanks for getting in touch! We have your message and will answer here as soon as we can."}]', pg_temp.now_ms(), pg_temp.now_ms()),
    (2, 'Away message outside business hours', 1, 'away_message', '{"kind":"conversation_started"}', '[{"field":"message.author","op":"is","value":"customer"},{"field":"conversation.kind","op":"is","value":"public"},{"field":"business_hours","op":"is","value":"outside"}]', '[{"kind":"bot_reply","text":"Thanks for your message! We are away right now and will be back {{team.back_at}}. We will answer here, and by email if you leave your address."}]', pg_temp.now_ms(), pg_temp.now_ms()),
    (3, 'Notify the team', 1, 'team_notification', '{"kind":"message_posted"}', '[{"field":"message.author","op":"is_not","value":"bot"}]', '[{"kind":"notify","to":"team","user_ids":[],"app":true,"email":true,"text":null}]', pg_temp.now_ms(), pg_temp.now_ms()),
    (4, 'Email customers the replies they did not see', 1, 'customer_email', '{"kind":"message_posted"}', '[{"field":"conversation.kind","op":"is","value":"public"},{"field":"message.author","op":"is_not","value":"customer"}]', '[{"kind":"notify","to":"customer","user_ids":[],"app":false,"email":true,"text":null}]', pg_temp.now_ms(), pg_temp.now_ms()),
    (5, 'Tell the customer their ticket is closed', 0, 'close_notice', '{"kind":"item_closed"}', '[{"field":"item.kind","op":"is","value":"ticket"},{"field":"customer","op":"is","value":"known"}]', '[{"kind":"notify","to":"customer","user_ids":[],"app":false,"email":true,"text":"Your ticket \"{{item.title}}\" is now closed. If anything is still wrong, just reply to this email and it opens again."}]', pg_temp.now_ms(), pg_temp.now_ms()),
    (6, 'Remind followers of unfinished tasks', 0, 'task_reminder', '{"kind":"item_open","after_minutes":4320}', '[{"field":"item.kind","op":"is","value":"task"},{"field":"item.status","op":"is","value":"open"}]', '[{"kind":"notify","to":"followers","user_ids":[],"app":true,"email":true,"text":"The task \"{{item.title}}\" has been open for {{item.age}}."}]', pg_temp.now_ms(), pg_temp.now_ms()),
    (7, 'Notify the team of new tickets', 1, 'ticket_notification', '{"kind":"item_created"}', '[{"field":"channel","op":"is_not","value":"app"},{"field":"channel","op":"is_not","value":"api"},{"field":"channel","op":"is_not","value":"email"},{"field":"channel","op":"is_not","value":"chat"}]', '[{"kind":"notify","to":"team","user_ids":[],"app":true,"email":true,"text":"New {{item.kind}} by {{channel}} from {{customer.email | \"a visitor who left no address\"}}: \"{{item.title}}\"\n\n{{item.description}}"}]', pg_temp.now_ms(), pg_temp.now_ms()),
    (8, 'Auto-reply to new tickets', 1, 'ticket_auto_reply', '{"kind":"item_created"}', '[{"field":"channel","op":"is_not","value":"app"},{"field":"channel","op":"is_not","value":"api"},{"field":"channel","op":"is_not","value":"email"},{"field":"channel","op":"is_not","value":"chat"},{"field":"customer","op":"is_not","value":"none"}]', '[{"kind":"bot_reply","text":"Thanks, we have your request \"{{item.title}}\" and will answer here as soon as we can."}]', pg_temp.now_ms(), pg_temp.now_ms());

