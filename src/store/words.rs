//! The domain's closed sets of words are stored as their text (`as_str`), and read back with
//! `parse`: a word this binary does not know is an error, not a default.

use crate::domain::{Channel, ConversationKind, ItemKind, NotifyReplies, PartyKind, Priority, Role, Status};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

macro_rules! stored_as_text {
    ($($name:ident),+ $(,)?) => {$(
        impl FromSql for $name {
            fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
                let text = v.as_str()?;
                $name::parse(text)
                    .ok_or_else(|| FromSqlError::Other(format!("unknown {} {text:?}", stringify!($name)).into()))
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(self.as_str().into())
            }
        }
    )+};
}

stored_as_text!(Role, ConversationKind, Status, ItemKind, Priority, Channel, PartyKind, NotifyReplies);
