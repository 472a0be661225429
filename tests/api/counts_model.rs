//! The view counts are tallies the writer keeps in the same transaction as each change; this
//! holds them to what the lists show. Random sequences of new conversations and items, posts
//! (a customer's reopens), seen marks, closes, reopens, follows and unfollows, moves between
//! projects, tickets made from conversations, membership changes and erasures; after every
//! step, for the admin, agents of one and two projects and an agent who sees across projects,
//! every count must equal what paging through its view finds (rows, and rows with unread
//! messages), and the views a live frame says a row is in must be the lists it is in. The
//! lists are the oracle: they read the conversations themselves. 600 steps with a fixed seed;
//! `RAPPORT_LONG=1` runs 6,000 from a random one.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rapport::domain::{Channel, ConversationKind, ItemKind, Party, Priority, Role, Status};
use rapport::store::conversations::{self, ConversationFilter, ConversationView, NewConversation, NewMessage};
use rapport::store::counts::{self, Counts, ViewCount};
use rapport::store::items::{self, ItemChange, ItemFilter, ItemView, NewItem};
use rapport::store::{customers, privacy, projects, users, Store, Viewer};
use rusqlite::Connection;
use std::collections::BTreeMap;

const VIEWS: [ConversationView; 5] = [
    ConversationView::Open,
    ConversationView::Closed,
    ConversationView::CustomerReplies,
    ConversationView::Internal,
    ConversationView::AllClosed,
];

/// What the lists show: every page of each view, counted; and which views each row is in.
fn listed(c: &Connection, viewer: Viewer) -> rapport::store::Result<(Counts, BTreeMap<i64, Vec<ConversationView>>)> {
    let mut views = [ViewCount::default(); 5];
    let mut rows: BTreeMap<i64, Vec<ConversationView>> = BTreeMap::new();
    for (view, count) in VIEWS.into_iter().zip(views.iter_mut()) {
        let mut after = None;
        loop {
            let page = conversations::list(c, viewer, &ConversationFilter { view, after, limit: 50 })?;
            count.total += page.rows.len() as i64;
            count.unread += page.rows.iter().filter(|r| r.unread > 0).count() as i64;
            for row in &page.rows {
                rows.entry(row.id).or_default().push(view);
            }
            match page.rows.last() {
                Some(last) if page.more => after = Some((last.last_activity_at, last.id)),
                _ => break,
            }
        }
    }
    let mut unanswered_items = 0;
    let mut after = None;
    loop {
        let f = ItemFilter {
            view: ItemView::Unanswered,
            status: None,
            project_id: None,
            kind: None,
            assignee_id: None,
            after,
            limit: 50,
        };
        let page = items::list(c, viewer, &f)?;
        unanswered_items += page.rows.len() as i64;
        match page.rows.last() {
            Some(last) if page.more => after = Some((last.created_at, last.id)),
            _ => break,
        }
    }
    let [open, closed, customer_replies, internal, all_closed] = views;
    Ok((Counts { open, closed, customer_replies, internal, all_closed, unanswered_items }, rows))
}

struct World {
    rng: StdRng,
    admin: i64,
    agents: Vec<i64>,
    projects: Vec<i64>,
    customers: Vec<i64>,
    items: Vec<i64>,
    conversations: Vec<i64>,
    now: i64,
}

impl World {
    fn pick(&mut self, from: &[i64]) -> Option<i64> {
        (!from.is_empty()).then(|| from[self.rng.gen_range(0..from.len())])
    }

    /// One random change; a refusal (a conversation gone with an erased customer, say) is fine.
    fn step(&mut self, c: &Connection) -> rapport::store::Result<String> {
        self.now += 1_000;
        let now = self.now;
        let system = Viewer::SYSTEM;
        let agent = self.pick(&self.agents.clone()).unwrap();
        let conversation = self.pick(&self.conversations.clone());
        let item = self.pick(&self.items.clone());
        let project = self.pick(&self.projects.clone()).unwrap();
        let customer = self.pick(&self.customers.clone());
        Ok(match self.rng.gen_range(0..100) {
            0..=14 => {
                let kind = if self.rng.gen_bool(0.7) { ConversationKind::Public } else { ConversationKind::Internal };
                let on_item = self.rng.gen_bool(0.4).then_some(item).flatten();
                let project_id = self.rng.gen_bool(0.8).then_some(project);
                let customer_id = (kind == ConversationKind::Public).then_some(customer).flatten();
                let new = NewConversation {
                    project_id,
                    item_id: on_item,
                    kind,
                    subject: "a subject".into(),
                    customer_id,
                    channel: Channel::Chat,
                    page_url: None,
                    creator: customer_id.map_or(Party::User(agent), Party::Customer),
                };
                let id = conversations::insert(c, system, new, now)?.id;
                self.conversations.push(id);
                format!("conversation {id} ({kind:?}) on item {on_item:?} in {project_id:?}")
            }
            15..=22 => {
                let new = NewItem {
                    project_id: project,
                    kind: ItemKind::Ticket,
                    title: "an item".into(),
                    description: String::new(),
                    priority: Priority::Normal,
                    requester_id: self.rng.gen_bool(0.7).then_some(customer).flatten(),
                    assignee_id: None,
                    channel: Channel::App,
                    created_by: self.rng.gen_bool(0.5).then_some(agent),
                };
                let id = items::insert(c, system, new, now)?.id;
                self.items.push(id);
                format!("item {id} in {project}")
            }
            23..=47 => {
                let Some(id) = conversation else { return Ok("nothing to post in".into()) };
                let target = conversations::get(c, system, id)?;
                let author = match target.customer_id {
                    Some(customer) if self.rng.gen_bool(0.6) => Party::Customer(customer),
                    _ => Party::User(agent),
                };
                let new = NewMessage { client_id: None, author, body: "hello".into(), attachment_ids: Vec::new() };
                conversations::post(c, system, id, new, now)?;
                format!("post in {id} by {author:?}")
            }
            48..=62 => {
                let Some(id) = conversation else { return Ok("nothing to read".into()) };
                let last = conversations::get(c, system, id)?.last_seq;
                let seq = self.rng.gen_range(0..=last + 1);
                conversations::mark_seen(c, id, Party::User(agent), seq, now)?;
                format!("{agent} saw {id} to {seq}")
            }
            63..=72 => {
                let Some(id) = conversation else { return Ok("nothing to close".into()) };
                let status = if self.rng.gen_bool(0.6) { Status::Closed } else { Status::Open };
                conversations::set_status(c, system, id, status)?;
                format!("{id} {status:?}")
            }
            73..=81 => {
                let Some(item) = item else { return Ok("nothing to follow".into()) };
                let following = self.rng.gen_bool(0.6);
                items::set_following(c, system, item, agent, following)?;
                format!("{agent} follows {item}: {following}")
            }
            82..=86 => {
                let Some(item) = item else { return Ok("nothing to move".into()) };
                items::update(c, system, item, ItemChange { project_id: Some(project), ..Default::default() }, now)?;
                format!("item {item} to {project}")
            }
            87..=90 => {
                let standalone: Vec<i64> = c
                    .prepare("SELECT id FROM conversations WHERE item_id IS NULL AND kind = 'public' ORDER BY id")?
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                let Some(id) = self.pick(&standalone) else { return Ok("nothing to make a ticket of".into()) };
                let (_, item) = conversations::make_ticket(c, system, id, project, "a ticket", agent, now)?;
                self.items.push(item.id);
                format!("{id} became ticket {} in {project}", item.id)
            }
            91..=96 => {
                let member = self.rng.gen_bool(0.5);
                projects::set_member(c, system, project, agent, member)?;
                format!("{agent} member of {project}: {member}")
            }
            97 => {
                let Some(customer) = customer else { return Ok("nobody to erase".into()) };
                let erased = privacy::erase(c, customer)?;
                self.customers.retain(|id| *id != customer);
                let gone: Vec<i64> = c
                    .prepare("SELECT id FROM conversations")?
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                self.conversations.retain(|id| gone.contains(id));
                let left: Vec<i64> =
                    c.prepare("SELECT id FROM items")?.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
                self.items.retain(|id| left.contains(id));
                format!("erased customer {customer}: {} conversations", erased.conversations)
            }
            _ => {
                let name = format!("customer {}", self.customers.len());
                let id = customers::insert(c, Some(&name), None, now)?.id;
                self.customers.push(id);
                format!("customer {id}")
            }
        })
    }
}

fn steps_and_seed() -> (usize, u64) {
    if std::env::var("RAPPORT_LONG").is_ok_and(|v| v == "1") {
        let seed = rand::random();
        eprintln!("counts model: seed {seed}");
        (6_000, seed)
    } else {
        (600, 0xc0_5eed)
    }
}

#[tokio::test]
async fn every_view_count_equals_what_its_list_shows_after_any_sequence_of_changes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (steps, seed) = steps_and_seed();
    let mut world = store
        .write(move |c| {
            let now = 1_800_000_000_000;
            let admin = users::insert(c, "admin@example.com", "Admin", Role::Admin, None, now)?.id;
            let agents = (0..3)
                .map(|k| {
                    users::insert(c, &format!("agent{k}@example.com"), "Agent", Role::Agent, None, now).map(|u| u.id)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let projects = (0..3)
                .map(|k| projects::insert(c, &format!("Project {k}"), now).map(|p| p.id))
                .collect::<Result<Vec<_>, _>>()?;
            // One project, two projects, none.
            projects::set_member(c, Viewer::SYSTEM, projects[0], agents[0], true)?;
            projects::set_member(c, Viewer::SYSTEM, projects[0], agents[1], true)?;
            projects::set_member(c, Viewer::SYSTEM, projects[1], agents[1], true)?;
            let customers = (0..3)
                .map(|k| customers::insert(c, Some(&format!("Customer {k}")), None, now).map(|x| x.id))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(World {
                rng: StdRng::seed_from_u64(seed),
                admin,
                agents,
                projects,
                customers,
                items: Vec::new(),
                conversations: Vec::new(),
                now,
            })
        })
        .await
        .unwrap();
    let viewers: Vec<Viewer> = std::iter::once(Viewer::agent(world.admin, Role::Admin, false))
        .chain(world.agents.iter().map(|a| Viewer::agent(*a, Role::Agent, false)))
        .chain(std::iter::once(Viewer::agent(world.agents[0], Role::Agent, true)))
        .collect();
    for step in 0..steps {
        let (back, what) = store
            .write(move |c| {
                let what = match world.step(c) {
                    Ok(what) => what,
                    Err(e) => format!("refused: {e}"),
                };
                Ok((world, what))
            })
            .await
            .unwrap();
        world = back;
        let viewers = viewers.clone();
        let mismatch = store
            .read(move |c| {
                let threads: i64 = c.query_row(
                    "SELECT count(*) FROM items i WHERE public_threads <>
                     (SELECT count(*) FROM conversations c WHERE c.item_id = i.id AND c.kind = 'public')",
                    [],
                    |r| r.get(0),
                )?;
                assert_eq!(threads, 0, "items count their customer conversations");
                for viewer in viewers {
                    let (tallied, (shown, rows)) = (counts::of(c, viewer)?, listed(c, viewer)?);
                    if tallied != shown {
                        return Ok(Some(format!("{viewer:?}: counted {tallied:?}, listed {shown:?}")));
                    }
                    // What a live frame tells the app about a row: the views it is in.
                    for (id, in_views) in rows {
                        let told = counts::views_of(c, viewer, &conversations::get(c, viewer, id)?)?;
                        if told != in_views {
                            return Ok(Some(format!("{viewer:?}: {id} is listed in {in_views:?}, told {told:?}")));
                        }
                    }
                }
                Ok(None)
            })
            .await
            .unwrap();
        if let Some(mismatch) = mismatch {
            panic!("after step {step} ({what}), seed {seed}: {mismatch}");
        }
    }
    store.close().await.unwrap();
}
