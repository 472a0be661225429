//! Items (tickets and tasks) and the projects they belong to.

use crate::domain::Status;
use crate::store::conversations::{self, Conversation};
use crate::store::items::{self, Item, ItemChange, ItemFilter, NewItem};
use crate::store::projects::{self, Project};
use crate::store::rules::triggers;
use crate::store::{notify, Millis, Page, Result, Store, Viewer};

#[derive(Clone, Copy)]
pub struct Items<'s>(pub(super) &'s Store);

impl Items<'_> {
    pub async fn list(self, viewer: Viewer, filter: ItemFilter) -> Result<Page<Item>> {
        self.0.read(move |c| items::list(c, viewer, &filter)).await
    }

    pub async fn get(self, viewer: Viewer, id: i64) -> Result<Item> {
        self.0.read(move |c| items::get(c, viewer, id)).await
    }

    pub async fn insert(self, viewer: Viewer, new: NewItem, now: Millis) -> Result<Item> {
        self.0.write(move |c| items::insert(c, viewer, new, now)).await
    }

    pub async fn update(self, viewer: Viewer, id: i64, change: ItemChange, now: Millis) -> Result<Item> {
        self.0.write(move |c| items::update(c, viewer, id, change, now)).await
    }

    /// Opens or closes an item; its rules run.
    pub async fn set_status(self, viewer: Viewer, id: i64, status: Status, now: Millis) -> Result<Item> {
        self.0.write(move |c| triggers::set_item_status(c, viewer, id, status, &[], now)).await
    }

    pub async fn set_following(self, viewer: Viewer, id: i64, user_id: i64, following: bool) -> Result<Item> {
        self.0.write(move |c| items::set_following(c, viewer, id, user_id, following)).await
    }

    /// An agent opened the item: the new-item email still waiting for them is not sent.
    pub async fn opened(self, id: i64, user_id: i64) -> Result<()> {
        self.0.write(move |c| notify::item_opened(c, id, user_id)).await
    }

    /// The item's conversations as `viewer` may see them.
    pub async fn conversations(self, viewer: Viewer, id: i64) -> Result<Vec<Conversation>> {
        self.0
            .read(move |c| {
                items::get(c, viewer, id)?;
                conversations::of_item(c, viewer, id)
            })
            .await
    }

    pub async fn projects(self, viewer: Viewer) -> Result<Vec<Project>> {
        self.0.read(move |c| projects::list(c, viewer)).await
    }

    pub async fn project(self, viewer: Viewer, id: i64) -> Result<Project> {
        self.0.read(move |c| projects::get(c, viewer, id)).await
    }

    /// Whether the install has a project yet (the first-run checklist asks).
    pub async fn any_project(self) -> Result<bool> {
        self.0.read(projects::any).await
    }

    pub async fn insert_project(self, name: String, now: Millis) -> Result<Project> {
        self.0.write(move |c| projects::insert(c, &name, now)).await
    }

    /// User ids of a project's members, for a viewer who may see the project.
    pub async fn members(self, viewer: Viewer, project_id: i64) -> Result<Vec<i64>> {
        self.0
            .read(move |c| {
                projects::get(c, viewer, project_id)?;
                projects::members(c, project_id)
            })
            .await
    }

    pub async fn set_member(self, viewer: Viewer, project_id: i64, user_id: i64, member: bool) -> Result<()> {
        self.0.write(move |c| projects::set_member(c, viewer, project_id, user_id, member)).await
    }
}
