-- Every event reads the enabled rules; the store keeps them parsed in memory, tagged with this
-- row's value, and reads them again only when the value changed. Any change to a rule gives it
-- a new value in the same transaction. The value is random rather than counted up: a change
-- that is rolled back must not leave behind a value that a later, different change takes again.
CREATE TABLE rules_version (
    only INTEGER PRIMARY KEY CHECK (only = 1),
    version INTEGER NOT NULL
);
INSERT INTO rules_version (only, version) VALUES (1, random());

CREATE TRIGGER rules_version_insert AFTER INSERT ON rules BEGIN
    UPDATE rules_version SET version = random();
END;
CREATE TRIGGER rules_version_update AFTER UPDATE ON rules BEGIN
    UPDATE rules_version SET version = random();
END;
CREATE TRIGGER rules_version_delete AFTER DELETE ON rules BEGIN
    UPDATE rules_version SET version = random();
END;
