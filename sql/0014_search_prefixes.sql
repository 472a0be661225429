-- Search treats every word of three letters or more as a prefix ("pas" finds "password").
-- Without a prefix index FTS5 answers a prefix by merging the lists of every word that starts
-- with it (all of "the", "them", "there"... for "the"): a common one cost a full pass over the
-- history. With `prefix = '3'` the three-letter prefixes have lists of their own, read newest
-- first and stopped at the search's limit; longer prefixes match few enough words already.
-- The tables are made again with the index and rebuilt from their content (the triggers that
-- keep them in step refer to them by name and go on working).
DROP TABLE messages_fts;
CREATE VIRTUAL TABLE messages_fts USING fts5(
    body, content = 'messages', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2', prefix = '3'
);
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');

DROP TABLE items_fts;
CREATE VIRTUAL TABLE items_fts USING fts5(
    title, description, content = 'items', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2',
    prefix = '3'
);
INSERT INTO items_fts (items_fts) VALUES ('rebuild');
