-- A notice about a new item waits, like a message notification, for the notification delay from
-- `owed_since`, and is dropped if its agent opened the item meanwhile. NULL: sent at once.
ALTER TABLE notices ADD COLUMN owed_since INTEGER;
