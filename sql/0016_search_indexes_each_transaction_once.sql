-- A message used to enter the search index from a trigger as it was inserted. FTS5 writes what
-- it holds to a new segment whenever a savepoint opens, and the writer opens one for every
-- request of a batch, so under load each message became a segment of its own and FTS5's
-- crisis merges took a quarter of the writer's time. Now the trigger only notes the message,
-- and the writer indexes every noted one just before its transaction commits
-- (`search::index_pending`): one segment a batch, in the same transaction as the messages.
-- A noted message deleted or edited before that is indexed as it then is, or not at all.
CREATE TABLE messages_unindexed (id INTEGER PRIMARY KEY);

DROP TRIGGER messages_fts_insert;
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT OR IGNORE INTO messages_unindexed (id) VALUES (new.id);
END;

DROP TRIGGER messages_fts_delete;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body)
        SELECT 'delete', old.id, old.body WHERE NOT EXISTS (SELECT 1 FROM messages_unindexed WHERE id = old.id);
    DELETE FROM messages_unindexed WHERE id = old.id;
END;

DROP TRIGGER messages_fts_update;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body)
        SELECT 'delete', old.id, old.body WHERE NOT EXISTS (SELECT 1 FROM messages_unindexed WHERE id = old.id);
    INSERT OR IGNORE INTO messages_unindexed (id) VALUES (new.id);
END;
