//! Conversations and their messages: the lists, search, one conversation, its messages and
//! files, and tickets made of a conversation.

use crate::store::attachments::{self, AttachmentMeta, NewAttachment};
use crate::store::conversations::{self, Conversation, ConversationFilter, Message, MessagePage};
use crate::store::counts::{self, Counts};
use crate::store::items::Item;
use crate::store::search::{self, SearchResults};
use crate::store::{Event, Millis, Page, Result, Store, Viewer};
use std::time::Duration;

#[derive(Clone, Copy)]
pub struct Conversations<'s>(pub(super) &'s Store);

impl Conversations<'_> {
    /// A page of a view's conversations, most recently active first.
    pub async fn list(self, viewer: Viewer, filter: ConversationFilter) -> Result<Page<Conversation>> {
        self.0.read(move |c| conversations::list(c, viewer, &filter)).await
    }

    /// How many conversations each of the viewer's views holds, and how many are unread.
    pub async fn counts(self, viewer: Viewer) -> Result<Counts> {
        self.0.read(move |c| counts::of(c, viewer)).await
    }

    /// Messages and items matching `text` that `viewer` may see, searched within `budget`.
    pub async fn search(self, viewer: Viewer, text: String, limit: usize, budget: Duration) -> Result<SearchResults> {
        self.0.read_heavy(budget, move |c| search::search(c, viewer, &text, limit)).await
    }

    pub async fn get(self, viewer: Viewer, id: i64) -> Result<Conversation> {
        self.0.read(move |c| conversations::get(c, viewer, id)).await
    }

    /// A page of a conversation's messages as `viewer` may see them.
    pub async fn messages(self, viewer: Viewer, id: i64, page: MessagePage, limit: usize) -> Result<Vec<Message>> {
        self.0.read(move |c| conversations::messages(c, viewer, id, page, limit)).await
    }

    /// Makes a ticket of a conversation; everyone watching hears that it now has one.
    pub async fn make_ticket(
        &self,
        viewer: Viewer,
        id: i64,
        project_id: i64,
        title: String,
        creator: i64,
        now: Millis,
    ) -> Result<(Conversation, Item)> {
        self.0
            .write_announcing(
                move |c| conversations::make_ticket(c, viewer, id, project_id, &title, creator, now),
                |(conversation, _)| vec![Event::Conversation(conversation.clone())],
            )
            .await
    }

    /// Stores an uploaded file, not yet part of any message.
    pub async fn upload(self, new: NewAttachment, now: Millis) -> Result<AttachmentMeta> {
        self.0.write(move |c| attachments::insert(c, &new, now)).await
    }

    /// A file `viewer` may see.
    pub async fn attachment(self, viewer: Viewer, id: i64) -> Result<AttachmentMeta> {
        self.0.read(move |c| attachments::get(c, viewer, id)).await
    }

    /// Chunk `idx` of a file whose access was checked; `None` past the last.
    pub async fn attachment_chunk(self, id: i64, idx: i64) -> Result<Option<Vec<u8>>> {
        self.0.read(move |c| attachments::chunk(c, id, idx)).await
    }
}
