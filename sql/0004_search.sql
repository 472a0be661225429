-- Full-text search over messages and items (FTS5 external-content tables kept in step by
-- triggers). Visibility is applied when searching, by joining back to the real rows.

CREATE VIRTUAL TABLE messages_fts USING fts5(
    body, content = 'messages', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
END;
INSERT INTO messages_fts (rowid, body) SELECT id, body FROM messages;

CREATE VIRTUAL TABLE items_fts USING fts5(
    title, description, content = 'items', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
    INSERT INTO items_fts (rowid, title, description) VALUES (new.id, new.title, new.description);
END;
CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
    INSERT INTO items_fts (items_fts, rowid, title, description) VALUES ('delete', old.id, old.title, old.description);
END;
CREATE TRIGGER items_fts_update AFTER UPDATE OF title, description ON items BEGIN
    INSERT INTO items_fts (items_fts, rowid, title, description) VALUES ('delete', old.id, old.title, old.description);
    INSERT INTO items_fts (rowid, title, description) VALUES (new.id, new.title, new.description);
END;
INSERT INTO items_fts (rowid, title, description) SELECT id, title, description FROM items;
