//! `rapport admin create` and `rapport admin reset-password`: they open the database directly,
//! beside a running server if there is one (WAL and a busy timeout make that safe). A running
//! server learns of a reset only through the database (its sockets re-check their rights
//! periodically): this process cannot reach them.

use crate::clock::{Clock, SystemClock};
use crate::domain::{Email, Name, Password, Secret};
use crate::password::Hasher;
use crate::store::{users, Location, Store};
use std::io::BufRead;

/// Reads one line from standard input as the password.
pub fn read_password(input: impl BufRead) -> Result<Password, String> {
    let line = input.lines().next().ok_or("no password on standard input")?.map_err(|e| e.to_string())?;
    Password::parse(Secret::new(line.trim_end_matches(['\r', '\n']))).map_err(|e| e.message)
}

/// Creates an admin, hashing the password with the default memory cost.
pub async fn create(database: &Location, email: &str, name: &str, password: Password) -> Result<users::User, String> {
    create_with(&Hasher::default(), database, email, name, password).await
}

/// Creates an admin, hashing the password with `hasher` (the configured memory cost).
pub async fn create_with(
    hasher: &Hasher,
    database: &Location,
    email: &str,
    name: &str,
    password: Password,
) -> Result<users::User, String> {
    let email = Email::parse(email).map_err(|e| e.message)?.into_string();
    let name = Name::parse(name).map_err(|e| e.message)?.into_string();
    let hash = hasher.hash(&password).await.map_err(|e| e.to_string())?;
    let store = open(database).await?;
    let now = SystemClock.now_ms();
    // The first admin's install also gets its first project, in the same transaction.
    let created = store.users().add_admin(email, name, hash, now).await.map_err(|e| match e {
        crate::store::StoreError::Conflict(_) => "a user with this email already exists".to_owned(),
        other => other.to_string(),
    });
    let _ = store.close().await;
    created
}

/// Sets a new password and ends every session and API token of the user; says how many.
pub async fn reset_password(
    hasher: &Hasher,
    database: &Location,
    email: &str,
    password: Password,
) -> Result<users::Ended, String> {
    let email = Email::parse(email).map_err(|e| e.message)?.into_string();
    let hash = hasher.hash(&password).await.map_err(|e| e.to_string())?;
    let store = open(database).await?;
    let done = store.users().reset_password(email, hash).await.map_err(|e| match e {
        crate::store::StoreError::NotFound(_) => "no user has this email".to_owned(),
        other => other.to_string(),
    });
    let _ = store.close().await;
    done
}

/// Opens the store off the async executor (it may create the file and run migrations).
async fn open(database: &Location) -> Result<Store, String> {
    let at = database.clone();
    tokio::task::spawn_blocking(move || Store::open_at(&at, None, None))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot open the database {database}: {e}"))
}
