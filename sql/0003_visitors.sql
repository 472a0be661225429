-- A customer may chat from several browsers: visitor tokens get their own table. Customers
-- may also state an email themselves (the widget's "who are you" form): it is kept apart from
-- the verified, unique `email`, so that claiming an address never grants its conversations.

CREATE TABLE visitor_tokens (
    token_hash  BLOB PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX visitor_tokens_customer ON visitor_tokens(customer_id);

INSERT INTO visitor_tokens (token_hash, customer_id, created_at)
    SELECT visitor_token_hash, id, created_at FROM customers WHERE visitor_token_hash IS NOT NULL;

ALTER TABLE customers ADD COLUMN contact_email TEXT;
-- The page the customer wrote from, as the widget reported it.
ALTER TABLE conversations ADD COLUMN page_url TEXT;
