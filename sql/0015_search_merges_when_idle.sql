-- Search's index is written as small segments that FTS5 merges as they pile up. By itself it
-- merges inside whichever commit makes a merge due: with years of history, every 64th post
-- waited 15-35 ms (sometimes 120) for pages that had nothing to do with it. The writer now
-- merges in steps when nobody is waiting (`search::merge_step`), so automatic merging is off.
-- FTS5's crisis merge (16 segments on one level) still bounds the index if the writer is
-- never idle.
INSERT INTO messages_fts (messages_fts, rank) VALUES ('automerge', 0);
INSERT INTO items_fts (items_fts, rank) VALUES ('automerge', 0);
