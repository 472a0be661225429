-- An agent's photo, shown in the app, on their replies in the widget and among the team's
-- faces in the widget's header. One per user; `updated_at` versions its URL, so a new photo
-- is fetched at once while an unchanged one is cached for good.
CREATE TABLE user_photos (
    user_id      INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    data         BLOB NOT NULL,
    updated_at   INTEGER NOT NULL
);
