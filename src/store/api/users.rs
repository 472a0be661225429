//! The team: users, their sessions and API tokens, photos and preferences.

use crate::domain::Role;
use crate::store::users::{self, ApiToken, Ended, Photo, Preferences, Session, TeamFace, User};
use crate::store::{projects, Millis, Result, Store};

#[derive(Clone, Copy)]
pub struct Users<'s>(pub(super) &'s Store);

impl Users<'_> {
    pub async fn list(self) -> Result<Vec<User>> {
        self.0.read(users::list).await
    }

    /// Whether the install has an admin yet (until then, the setup link works).
    pub async fn any_admin(self) -> Result<bool> {
        self.0.read(users::any_admin).await
    }

    /// The faces the widget shows: active agents with a photo first.
    pub async fn team(self, limit: usize) -> Result<Vec<TeamFace>> {
        self.0.read(move |c| users::team(c, limit)).await
    }

    /// Whether the address is a user's (mail from it is an agent's).
    pub async fn is_agent(self, email: String) -> Result<bool> {
        self.0.read(move |c| Ok(users::by_email(c, &email).is_ok())).await
    }

    /// The user with this email and their password hash, for a sign-in.
    pub async fn for_login(self, email: String) -> Result<Option<(User, Option<String>)>> {
        self.0.read(move |c| users::for_login(c, &email)).await
    }

    pub async fn insert(
        self,
        email: String,
        name: String,
        role: Role,
        hash: Option<String>,
        now: Millis,
    ) -> Result<User> {
        self.0.write(move |c| users::insert(c, &email, &name, role, hash.as_deref(), now)).await
    }

    /// The first admin of an install and its first project, in one transaction; `None` when
    /// an admin exists already (the setup form lost a race with the command line).
    pub async fn add_first_admin(self, email: String, name: String, hash: String, now: Millis) -> Result<Option<User>> {
        self.0
            .write(move |c| {
                if users::any_admin(c)? {
                    return Ok(None);
                }
                let admin = users::insert(c, &email, &name, Role::Admin, Some(&hash), now)?;
                projects::ensure_default(c, now)?;
                Ok(Some(admin))
            })
            .await
    }

    /// An admin made on the command line; the install's first one also gets its first project.
    pub async fn add_admin(self, email: String, name: String, hash: String, now: Millis) -> Result<User> {
        self.0
            .write(move |c| {
                let first = !users::any_admin(c)?;
                let admin = users::insert(c, &email, &name, Role::Admin, Some(&hash), now)?;
                if first {
                    projects::ensure_default(c, now)?;
                }
                Ok(admin)
            })
            .await
    }

    pub async fn update(self, id: i64, name: Option<String>, role: Option<Role>, active: Option<bool>) -> Result<User> {
        self.0.write(move |c| users::update(c, id, name.as_deref(), role, active)).await
    }

    /// Sets the password of the user with this email and ends their sessions and tokens.
    pub async fn reset_password(self, email: String, hash: String) -> Result<Ended> {
        self.0
            .write(move |c| {
                let user = users::by_email(c, &email)?;
                users::set_password(c, user.id, &hash)
            })
            .await
    }

    pub async fn preferences(self, user_id: i64) -> Result<Preferences> {
        self.0.read(move |c| users::preferences(c, user_id)).await
    }

    pub async fn set_preferences(self, user_id: i64, preferences: Preferences) -> Result<()> {
        self.0.write(move |c| users::set_preferences(c, user_id, &preferences)).await
    }

    pub async fn photo(self, user_id: i64) -> Result<Photo> {
        self.0.read(move |c| users::photo(c, user_id)).await
    }

    pub async fn set_photo(self, user_id: i64, content_type: &'static str, data: Vec<u8>, now: Millis) -> Result<User> {
        self.0.write(move |c| users::set_photo(c, user_id, content_type, &data, now)).await
    }

    pub async fn delete_photo(self, user_id: i64) -> Result<User> {
        self.0.write(move |c| users::delete_photo(c, user_id)).await
    }

    pub async fn session(self, token_hash: Vec<u8>, now: Millis) -> Result<Option<Session>> {
        self.0.read(move |c| users::session(c, &token_hash, now)).await
    }

    pub async fn insert_session(
        &self,
        token_hash: Vec<u8>,
        user_id: i64,
        csrf_token: String,
        now: Millis,
        expires_at: Millis,
    ) -> Result<()> {
        self.0.write(move |c| users::insert_session(c, &token_hash, user_id, &csrf_token, now, expires_at)).await
    }

    pub async fn delete_session(self, token_hash: Vec<u8>) -> Result<()> {
        self.0.write(move |c| users::delete_session(c, &token_hash)).await
    }

    pub async fn delete_expired_sessions(self, now: Millis) -> Result<usize> {
        self.0.write(move |c| users::delete_expired_sessions(c, now)).await
    }

    /// The session an API token stands for, and the token's id when its last use is stale.
    pub async fn by_token(self, hash: Vec<u8>, now: Millis) -> Result<Option<(Session, Option<i64>)>> {
        self.0.read(move |c| users::by_token(c, &hash, now)).await
    }

    pub async fn token_used(self, id: i64, now: Millis) -> Result<()> {
        self.0.write(move |c| users::token_used(c, id, now)).await
    }

    pub async fn tokens(self, user_id: i64) -> Result<Vec<ApiToken>> {
        self.0.read(move |c| users::tokens(c, user_id)).await
    }

    pub async fn insert_token(self, user_id: i64, name: String, hash: Vec<u8>, now: Millis) -> Result<ApiToken> {
        self.0.write(move |c| users::insert_token(c, user_id, &name, &hash, now)).await
    }

    pub async fn delete_token(self, user_id: i64, id: i64) -> Result<()> {
        self.0.write(move |c| users::delete_token(c, user_id, id)).await
    }

    pub async fn delete_tokens(self, user_id: i64) -> Result<usize> {
        self.0.write(move |c| users::delete_tokens(c, user_id)).await
    }
}
