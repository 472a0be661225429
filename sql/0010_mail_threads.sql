-- The References chain of each inbound email (bare Message-IDs, oldest first, space-separated),
-- so the team's replies can continue the customer's own thread in their mail client.
ALTER TABLE inbound_mail ADD COLUMN refs TEXT NOT NULL DEFAULT '';
