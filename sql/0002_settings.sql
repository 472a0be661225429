-- Settings an admin changes at run time (the widget's allowed sites, ...), as JSON per key.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
