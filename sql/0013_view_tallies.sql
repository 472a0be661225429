-- The messenger's view counts, kept by the writer in the same transaction as each change
-- (these triggers), so that reading them costs a few rows however long the history.
-- `project_key` is the conversation's project, 0 for none. A conversation is "empty" before
-- its first message, and a user is "caught up" on it when their seen mark reaches its newest
-- message: unread = total - empty - caught up.

-- Conversations per project, kind and status.
CREATE TABLE conversation_tallies (
    project_key INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    total       INTEGER NOT NULL,
    empty       INTEGER NOT NULL,
    PRIMARY KEY (project_key, kind, status)
) WITHOUT ROWID;

-- Per user: the conversations they are caught up on.
CREATE TABLE caught_up_tallies (
    user_id     INTEGER NOT NULL,
    project_key INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (user_id, project_key, kind, status)
) WITHOUT ROWID;

-- Per user: the conversations on items they follow (My conversations).
CREATE TABLE followed_tallies (
    user_id     INTEGER NOT NULL,
    project_key INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    total       INTEGER NOT NULL,
    empty       INTEGER NOT NULL,
    caught_up   INTEGER NOT NULL,
    PRIMARY KEY (user_id, project_key, kind, status)
) WITHOUT ROWID;

-- A participant's conversation's project, so that an agent's part in conversations outside
-- their projects is an index range, not a walk over everything they ever answered.
ALTER TABLE participants ADD COLUMN project_key INTEGER NOT NULL DEFAULT 0;
UPDATE participants SET project_key =
    (SELECT COALESCE(c.project_id, 0) FROM conversations c WHERE c.id = participants.conversation_id);
CREATE INDEX participants_party_project ON participants(party_kind, party_id, project_key);
DROP INDEX participants_party;

CREATE TRIGGER participants_project AFTER INSERT ON participants BEGIN
    UPDATE participants SET project_key =
        (SELECT COALESCE(c.project_id, 0) FROM conversations c WHERE c.id = NEW.conversation_id)
    WHERE conversation_id = NEW.conversation_id AND party_kind = NEW.party_kind AND party_id = NEW.party_id;
END;

-- What each conversation adds to the tallies, for the backfill.
CREATE VIEW conversation_contributions AS
SELECT c.id AS conversation_id, COALESCE(c.project_id, 0) AS project_key, c.kind, c.status, c.item_id,
       c.last_seq = 0 AS empty, c.last_seq
FROM conversations c;

-- Backfill from what is there.
INSERT INTO conversation_tallies (project_key, kind, status, total, empty)
SELECT project_key, kind, status, count(*), sum(empty) FROM conversation_contributions GROUP BY 1, 2, 3;

INSERT INTO caught_up_tallies (user_id, project_key, kind, status, n)
SELECT m.party_id, c.project_key, c.kind, c.status, count(*)
FROM seen_marks m JOIN conversation_contributions c ON c.conversation_id = m.conversation_id
WHERE m.party_kind = 'user' AND c.last_seq > 0 AND m.seq >= c.last_seq
GROUP BY 1, 2, 3, 4;

INSERT INTO followed_tallies (user_id, project_key, kind, status, total, empty, caught_up)
SELECT f.user_id, c.project_key, c.kind, c.status, count(*), sum(c.empty),
       sum(EXISTS (SELECT 1 FROM seen_marks m WHERE m.conversation_id = c.conversation_id AND m.party_kind = 'user'
                   AND m.party_id = f.user_id AND c.last_seq > 0 AND m.seq >= c.last_seq))
FROM item_followers f JOIN conversation_contributions c ON c.item_id = f.item_id
GROUP BY 1, 2, 3, 4;
DROP VIEW conversation_contributions;

-- Every change of a conversation that moves it between tallies: its project, kind, status,
-- item, or its first message (and every message, for who is caught up). OLD is taken away,
-- NEW added; rows that net to zero are not written.
CREATE TRIGGER conversations_tally_insert AFTER INSERT ON conversations BEGIN
    INSERT INTO conversation_tallies (project_key, kind, status, total, empty)
    VALUES (COALESCE(NEW.project_id, 0), NEW.kind, NEW.status, 1, NEW.last_seq = 0)
    ON CONFLICT DO UPDATE SET total = total + excluded.total, empty = empty + excluded.empty;
    INSERT INTO followed_tallies (user_id, project_key, kind, status, total, empty, caught_up)
    SELECT f.user_id, COALESCE(NEW.project_id, 0), NEW.kind, NEW.status, 1, NEW.last_seq = 0, 0
    FROM item_followers f WHERE f.item_id = NEW.item_id
    ON CONFLICT DO UPDATE SET total = total + excluded.total, empty = empty + excluded.empty;
END;

CREATE TRIGGER conversations_tally_update
AFTER UPDATE OF project_id, kind, status, item_id, last_seq ON conversations
WHEN OLD.project_id IS NOT NEW.project_id OR OLD.kind <> NEW.kind OR OLD.status <> NEW.status
  OR OLD.item_id IS NOT NEW.item_id OR OLD.last_seq <> NEW.last_seq
BEGIN
    INSERT INTO conversation_tallies (project_key, kind, status, total, empty)
    SELECT project_key, kind, status, sum(sign), sum(sign * empty) FROM (
        SELECT COALESCE(OLD.project_id, 0) AS project_key, OLD.kind AS kind, OLD.status AS status,
               -1 AS sign, OLD.last_seq = 0 AS empty
        UNION ALL
        SELECT COALESCE(NEW.project_id, 0), NEW.kind, NEW.status, 1, NEW.last_seq = 0
    ) WHERE true GROUP BY 1, 2, 3 HAVING sum(sign) <> 0 OR sum(sign * empty) <> 0
    ON CONFLICT DO UPDATE SET total = total + excluded.total, empty = empty + excluded.empty;

    INSERT INTO caught_up_tallies (user_id, project_key, kind, status, n)
    SELECT user_id, project_key, kind, status, sum(sign) FROM (
        SELECT m.party_id AS user_id, COALESCE(OLD.project_id, 0) AS project_key, OLD.kind AS kind,
               OLD.status AS status, -1 AS sign
        FROM seen_marks m WHERE m.conversation_id = OLD.id AND m.party_kind = 'user'
            AND OLD.last_seq > 0 AND m.seq >= OLD.last_seq
        UNION ALL
        SELECT m.party_id, COALESCE(NEW.project_id, 0), NEW.kind, NEW.status, 1
        FROM seen_marks m WHERE m.conversation_id = NEW.id AND m.party_kind = 'user'
            AND NEW.last_seq > 0 AND m.seq >= NEW.last_seq
    ) WHERE true GROUP BY 1, 2, 3, 4 HAVING sum(sign) <> 0
    ON CONFLICT DO UPDATE SET n = n + excluded.n;

    INSERT INTO followed_tallies (user_id, project_key, kind, status, total, empty, caught_up)
    SELECT user_id, project_key, kind, status, sum(sign), sum(sign * empty), sum(sign * caught_up) FROM (
        SELECT f.user_id AS user_id, COALESCE(OLD.project_id, 0) AS project_key, OLD.kind AS kind,
               OLD.status AS status, -1 AS sign, OLD.last_seq = 0 AS empty,
               EXISTS (SELECT 1 FROM seen_marks m WHERE m.conversation_id = OLD.id AND m.party_kind = 'user'
                       AND m.party_id = f.user_id AND OLD.last_seq > 0 AND m.seq >= OLD.last_seq) AS caught_up
        FROM item_followers f WHERE f.item_id = OLD.item_id
        UNION ALL
        SELECT f.user_id, COALESCE(NEW.project_id, 0), NEW.kind, NEW.status, 1, NEW.last_seq = 0,
               EXISTS (SELECT 1 FROM seen_marks m WHERE m.conversation_id = NEW.id AND m.party_kind = 'user'
                       AND m.party_id = f.user_id AND NEW.last_seq > 0 AND m.seq >= NEW.last_seq)
        FROM item_followers f WHERE f.item_id = NEW.item_id
    ) WHERE true GROUP BY 1, 2, 3, 4 HAVING sum(sign) <> 0 OR sum(sign * empty) <> 0 OR sum(sign * caught_up) <> 0
    ON CONFLICT DO UPDATE SET total = total + excluded.total, empty = empty + excluded.empty,
                              caught_up = caught_up + excluded.caught_up;
END;

CREATE TRIGGER conversations_project_participants AFTER UPDATE OF project_id ON conversations
WHEN OLD.project_id IS NOT NEW.project_id BEGIN
    UPDATE participants SET project_key = COALESCE(NEW.project_id, 0) WHERE conversation_id = NEW.id;
END;

-- Before the row goes: its seen marks and its item's followers are still there to read.
CREATE TRIGGER conversations_tally_delete BEFORE DELETE ON conversations BEGIN
    UPDATE conversation_tallies SET total = total - 1, empty = empty - (OLD.last_seq = 0)
    WHERE project_key = COALESCE(OLD.project_id, 0) AND kind = OLD.kind AND status = OLD.status;
    UPDATE caught_up_tallies SET n = n - 1
    WHERE project_key = COALESCE(OLD.project_id, 0) AND kind = OLD.kind AND status = OLD.status
      AND user_id IN (SELECT m.party_id FROM seen_marks m WHERE m.conversation_id = OLD.id
                      AND m.party_kind = 'user' AND OLD.last_seq > 0 AND m.seq >= OLD.last_seq);
    UPDATE followed_tallies SET total = total - 1, empty = empty - (OLD.last_seq = 0),
        caught_up = caught_up - EXISTS (SELECT 1 FROM seen_marks m WHERE m.conversation_id = OLD.id
            AND m.party_kind = 'user' AND m.party_id = followed_tallies.user_id
            AND OLD.last_seq > 0 AND m.seq >= OLD.last_seq)
    WHERE project_key = COALESCE(OLD.project_id, 0) AND kind = OLD.kind AND status = OLD.status
      AND user_id IN (SELECT f.user_id FROM item_followers f WHERE f.item_id = OLD.item_id);
END;

-- A user's seen mark reaching (or leaving) a conversation's newest message. A mark is never
-- deleted but with its conversation (whose delete trigger has counted it).
CREATE TRIGGER seen_marks_tally_insert AFTER INSERT ON seen_marks WHEN NEW.party_kind = 'user' BEGIN
    INSERT INTO caught_up_tallies (user_id, project_key, kind, status, n)
    SELECT NEW.party_id, COALESCE(c.project_id, 0), c.kind, c.status, 1
    FROM conversations c WHERE c.id = NEW.conversation_id AND c.last_seq > 0 AND NEW.seq >= c.last_seq
    ON CONFLICT DO UPDATE SET n = n + excluded.n;
    UPDATE followed_tallies SET caught_up = caught_up + 1
    WHERE (user_id, project_key, kind, status) IN (
        SELECT NEW.party_id, COALESCE(c.project_id, 0), c.kind, c.status
        FROM conversations c JOIN item_followers f ON f.item_id = c.item_id AND f.user_id = NEW.party_id
        WHERE c.id = NEW.conversation_id AND c.last_seq > 0 AND NEW.seq >= c.last_seq);
END;

CREATE TRIGGER seen_marks_tally_update AFTER UPDATE OF seq ON seen_marks
WHEN NEW.party_kind = 'user' AND OLD.seq <> NEW.seq BEGIN
    INSERT INTO caught_up_tallies (user_id, project_key, kind, status, n)
    SELECT NEW.party_id, COALESCE(c.project_id, 0), c.kind, c.status,
           (NEW.seq >= c.last_seq) - (OLD.seq >= c.last_seq)
    FROM conversations c WHERE c.id = NEW.conversation_id AND c.last_seq > 0
        AND (NEW.seq >= c.last_seq) <> (OLD.seq >= c.last_seq)
    ON CONFLICT DO UPDATE SET n = n + excluded.n;
    UPDATE followed_tallies SET caught_up = caught_up +
        (SELECT (NEW.seq >= c.last_seq) - (OLD.seq >= c.last_seq) FROM conversations c WHERE c.id = NEW.conversation_id)
    WHERE (user_id, project_key, kind, status) IN (
        SELECT NEW.party_id, COALESCE(c.project_id, 0), c.kind, c.status
        FROM conversations c JOIN item_followers f ON f.item_id = c.item_id AND f.user_id = NEW.party_id
        WHERE c.id = NEW.conversation_id AND c.last_seq > 0 AND (NEW.seq >= c.last_seq) <> (OLD.seq >= c.last_seq));
END;

-- Following or unfollowing an item brings its conversations into or out of My conversations.
CREATE TRIGGER item_followers_tally_insert AFTER INSERT ON item_followers BEGIN
    INSERT INTO followed_tallies (user_id, project_key, kind, status, total, empty, caught_up)
    SELECT NEW.user_id, COALESCE(c.project_id, 0), c.kind, c.status, count(*), sum(c.last_seq = 0),
           sum(EXISTS (SELECT 1 FROM seen_marks m WHERE m.conversation_id = c.id AND m.party_kind = 'user'
                       AND m.party_id = NEW.user_id AND c.last_seq > 0 AND m.seq >= c.last_seq))
    FROM conversations c WHERE c.item_id = NEW.item_id GROUP BY 2, 3, 4
    ON CONFLICT DO UPDATE SET total = total + excluded.total, empty = empty + excluded.empty,
                              caught_up = caught_up + excluded.caught_up;
END;

CREATE TRIGGER item_followers_tally_delete AFTER DELETE ON item_followers BEGIN
    INSERT INTO followed_tallies (user_id, project_key, kind, status, total, empty, caught_up)
    SELECT OLD.user_id, COALESCE(c.project_id, 0), c.kind, c.status, -count(*), -sum(c.last_seq = 0),
           -sum(EXISTS (SELECT 1 FROM seen_marks m WHERE m.conversation_id = c.id AND m.party_kind = 'user'
                        AND m.party_id = OLD.user_id AND c.last_seq > 0 AND m.seq >= c.last_seq))
    FROM conversations c WHERE c.item_id = OLD.item_id GROUP BY 2, 3, 4
    ON CONFLICT DO UPDATE SET total = total + excluded.total, empty = empty + excluded.empty,
                              caught_up = caught_up + excluded.caught_up;
END;

-- My conversations, per user, in the order the lists show them: the conversations on items
-- they follow, so that a page of My conversations is a walk over the user's own rows however
-- many conversations the team has.
CREATE TABLE followed_conversations (
    user_id          INTEGER NOT NULL,
    conversation_id  INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    kind             TEXT NOT NULL,
    status           TEXT NOT NULL,
    last_activity_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, conversation_id)
) WITHOUT ROWID;
CREATE INDEX followed_conversations_listing
    ON followed_conversations(user_id, status, last_activity_at DESC, conversation_id DESC);
CREATE INDEX followed_conversations_conversation ON followed_conversations(conversation_id);

INSERT INTO followed_conversations (user_id, conversation_id, kind, status, last_activity_at)
SELECT f.user_id, c.id, c.kind, c.status, c.last_activity_at
FROM item_followers f JOIN conversations c ON c.item_id = f.item_id;

CREATE TRIGGER item_followers_listing_insert AFTER INSERT ON item_followers BEGIN
    INSERT OR IGNORE INTO followed_conversations (user_id, conversation_id, kind, status, last_activity_at)
    SELECT NEW.user_id, c.id, c.kind, c.status, c.last_activity_at FROM conversations c WHERE c.item_id = NEW.item_id;
END;
CREATE TRIGGER item_followers_listing_delete AFTER DELETE ON item_followers BEGIN
    DELETE FROM followed_conversations
    WHERE user_id = OLD.user_id AND conversation_id IN (SELECT id FROM conversations WHERE item_id = OLD.item_id);
END;
CREATE TRIGGER conversations_listing_insert AFTER INSERT ON conversations WHEN NEW.item_id IS NOT NULL BEGIN
    INSERT OR IGNORE INTO followed_conversations (user_id, conversation_id, kind, status, last_activity_at)
    SELECT f.user_id, NEW.id, NEW.kind, NEW.status, NEW.last_activity_at FROM item_followers f WHERE f.item_id = NEW.item_id;
END;
CREATE TRIGGER conversations_listing_item AFTER UPDATE OF item_id ON conversations
WHEN OLD.item_id IS NOT NEW.item_id BEGIN
    DELETE FROM followed_conversations WHERE conversation_id = NEW.id;
    INSERT OR IGNORE INTO followed_conversations (user_id, conversation_id, kind, status, last_activity_at)
    SELECT f.user_id, NEW.id, NEW.kind, NEW.status, NEW.last_activity_at FROM item_followers f WHERE f.item_id = NEW.item_id;
END;
CREATE TRIGGER conversations_listing_update AFTER UPDATE OF kind, status, last_activity_at ON conversations
WHEN OLD.kind <> NEW.kind OR OLD.status <> NEW.status OR OLD.last_activity_at <> NEW.last_activity_at BEGIN
    UPDATE followed_conversations SET kind = NEW.kind, status = NEW.status, last_activity_at = NEW.last_activity_at
    WHERE conversation_id = NEW.id;
END;

-- Assigned to me: an agent's open items in the order the list shows them.
DROP INDEX items_assignee;
CREATE INDEX items_assignee ON items(assignee_id, status, created_at DESC, id DESC);

-- Unanswered items (open, asked by a customer, no customer conversation yet) as a short index:
-- each item counts its public conversations.
ALTER TABLE items ADD COLUMN public_threads INTEGER NOT NULL DEFAULT 0;
UPDATE items SET public_threads =
    (SELECT count(*) FROM conversations c WHERE c.item_id = items.id AND c.kind = 'public');
CREATE INDEX items_unanswered ON items(created_at DESC, id DESC)
    WHERE status = 'open' AND requester_id IS NOT NULL AND public_threads = 0;

CREATE TRIGGER conversations_threads_insert AFTER INSERT ON conversations
WHEN NEW.kind = 'public' AND NEW.item_id IS NOT NULL BEGIN
    UPDATE items SET public_threads = public_threads + 1 WHERE id = NEW.item_id;
END;
CREATE TRIGGER conversations_threads_update AFTER UPDATE OF kind, item_id ON conversations
WHEN OLD.kind IS NOT NEW.kind OR OLD.item_id IS NOT NEW.item_id BEGIN
    UPDATE items SET public_threads = public_threads - 1 WHERE id = OLD.item_id AND OLD.kind = 'public';
    UPDATE items SET public_threads = public_threads + 1 WHERE id = NEW.item_id AND NEW.kind = 'public';
END;
CREATE TRIGGER conversations_threads_delete AFTER DELETE ON conversations
WHEN OLD.kind = 'public' AND OLD.item_id IS NOT NULL BEGIN
    UPDATE items SET public_threads = public_threads - 1 WHERE id = OLD.item_id;
END;
