-- Ids are never handed out twice. SQLite alone gives a new row the highest id plus one, so
-- deleting the newest customer (a merge, an erasure) would hand its id to the next stranger,
-- and a socket, link or client still holding the old id would then name someone else.
-- `retired_ids` keeps, per table, the highest id ever deleted; inserts take ids above it
-- (`store::next_id`).
CREATE TABLE retired_ids (
    tbl TEXT PRIMARY KEY,
    id  INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO retired_ids (tbl, id)
    SELECT 'customers', CAST(value AS INTEGER) FROM settings WHERE key = 'erased_customer_id';
DELETE FROM settings WHERE key = 'erased_customer_id';

CREATE TRIGGER customers_retire_id AFTER DELETE ON customers BEGIN
    INSERT INTO retired_ids (tbl, id) VALUES ('customers', OLD.id)
        ON CONFLICT (tbl) DO UPDATE SET id = max(id, excluded.id);
END;
CREATE TRIGGER users_retire_id AFTER DELETE ON users BEGIN
    INSERT INTO retired_ids (tbl, id) VALUES ('users', OLD.id)
        ON CONFLICT (tbl) DO UPDATE SET id = max(id, excluded.id);
END;
CREATE TRIGGER projects_retire_id AFTER DELETE ON projects BEGIN
    INSERT INTO retired_ids (tbl, id) VALUES ('projects', OLD.id)
        ON CONFLICT (tbl) DO UPDATE SET id = max(id, excluded.id);
END;
CREATE TRIGGER items_retire_id AFTER DELETE ON items BEGIN
    INSERT INTO retired_ids (tbl, id) VALUES ('items', OLD.id)
        ON CONFLICT (tbl) DO UPDATE SET id = max(id, excluded.id);
END;
CREATE TRIGGER conversations_retire_id AFTER DELETE ON conversations BEGIN
    INSERT INTO retired_ids (tbl, id) VALUES ('conversations', OLD.id)
        ON CONFLICT (tbl) DO UPDATE SET id = max(id, excluded.id);
END;
CREATE TRIGGER messages_retire_id AFTER DELETE ON messages BEGIN
    INSERT INTO retired_ids (tbl, id) VALUES ('messages', OLD.id)
        ON CONFLICT (tbl) DO UPDATE SET id = max(id, excluded.id);
END;
CREATE TRIGGER attachments_retire_id AFTER DELETE ON attachments BEGIN
    INSERT INTO retired_ids (tbl, id) VALUES ('attachments', OLD.id)
        ON CONFLICT (tbl) DO UPDATE SET id = max(id, excluded.id);
END;
