//! The view counts and My conversations are kept by the writer in the same transaction as each
//! change (tallies, each agent's followed conversations); this holds them to a recount. Random
//! sequences of new conversations and items, posts (a customer's reopens), seen marks, closes,
//! reopens, follows and unfollows, moves between projects, tickets made from conversations,
//! membership changes and erasures; after every step, for the admin, agents of one and two
//! projects and an agent who sees across projects, every count, every list (rows and order)
//! and the views a live frame says a row is in must match the oracle: each conversation the
//! agent may open, asked one by one, sorted into the views by their definitions. 600 steps with
//! a fixed seed; `RAPPORT_LONG=1` runs 6,000 from a random one.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rapport::domain::{Channel, ConversationKind, ItemKind, Party, Priority, Role, Status};
use rapport::store::conversations::{
    self, Conversation, ConversationFilter, ConversationView, NewConversation, NewMessage,
};
use rapport::store::counts::{self, ViewCount};
use rapport::store::db::Connection;
use rapport::store::items::{self, ItemChange, ItemFilter, ItemView, NewItem};
use rapport::store::Tx;
use rapport::store::{customers, privacy, projects, users, Store, Viewer};

/// Every page of a view, in order.
fn listed(c: &Connection, viewer: Viewer, view: ConversationView) -> rapport::store::Result<Vec<Conversation>> {
    let (mut rows, mut after) = (Vec::new(), None);
    loop {
        let page = conversations::list(c, viewer, &ConversationFilter { view, after, limit: 7 })?;
        after = page.rows.last().map(|last| (last.last_activity_at, last.id));
        rows.extend(page.rows);
        if !page.more {
            return Ok(rows);
        }
    }
}

/// The oracle: every conversation the viewer may open (the access rule, asked one by one), and
/// the views each is in by the messenger's definitions (PRODUCT.md), with follows read here.
fn expected(c: &Connection, viewer: Viewer) -> rapport::store::Result<Vec<(Conversation, Vec<ConversationView>)>> {
    let Viewer::Agent { user_id, .. } = viewer else { unreachable!("agents only") };
    let ids: Vec<i64> =
        c.prepare("SELECT id FROM conversations")?.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for id in ids {
        let Ok(row) = conversations::get(c, viewer, id) else { continue };
        let followed: bool = c.query_row(
            "SELECT count(*) > 0 FROM item_followers WHERE item_id = ?1 AND user_id = ?2",
            rusqlite::params![row.item_id, user_id],
            |r| r.get(0),
        )?;
        let (public, open) = (row.kind == ConversationKind::Public, row.status == Status::Open);
        let views = [
            (ConversationView::Open, public && open),
            (ConversationView::Closed, public && !open),
            (ConversationView::CustomerReplies, followed && public && open),
            (ConversationView::Internal, followed && !public && open),
            (ConversationView::AllClosed, followed && !open),
        ];
        out.push((row, views.into_iter().filter(|(_, is)| *is).map(|(v, _)| v).collect()));
    }
    out.sort_by_key(|(row, _)| std::cmp::Reverse((row.last_activity_at, row.id)));
    Ok(out)
}

/// Where the store disagrees with the oracle, if anywhere: a count, a list (its rows and their
/// order), the views a live frame says a row is in, or Unanswered items.
fn mismatch(c: &Connection, viewer: Viewer) -> rapport::store::Result<Option<String>> {
    let expected = expected(c, viewer)?;
    let tallied = counts::of(c, viewer)?;
    let by_view = [
        (ConversationView::Open, tallied.open),
        (ConversationView::Closed, tallied.closed),
        (ConversationView::CustomerReplies, tallied.customer_replies),
        (ConversationView::Internal, tallied.internal),
        (ConversationView::AllClosed, tallied.all_closed),
    ];
    for (view, count) in by_view {
        let rows: Vec<&Conversation> =
            expected.iter().filter(|(_, views)| views.contains(&view)).map(|(row, _)| row).collect();
        let want = ViewCount { total: rows.len() as i64, unread: rows.iter().filter(|r| r.unread > 0).count() as i64 };
        if count != want {
            return Ok(Some(format!("{view:?} counted {count:?}, expected {want:?}")));
        }
        let listed: Vec<i64> = listed(c, viewer, view)?.iter().map(|r| r.id).collect();
        let want: Vec<i64> = rows.iter().map(|r| r.id).collect();
        if listed != want {
            return Ok(Some(format!("{view:?} listed {listed:?}, expected {want:?}")));
        }
    }
    for (row, views) in &expected {
        let told = counts::views_of(c, viewer, row)?;
        if &told != views {
            return Ok(Some(format!("{} is in {views:?}, told {told:?}", row.id)));
        }
    }
    let mut unanswered = 0;
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
        unanswered += page.rows.len() as i64;
        after = page.rows.last().map(|last| (last.created_at, last.id));
        if !page.more {
            break;
        }
    }
    Ok((tallied.unanswered_items != unanswered)
        .then(|| format!("unanswered items counted {}, listed {unanswered}", tallied.unanswered_items)))
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
    fn step(&mut self, c: &Tx) -> rapport::store::Result<String> {
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
        .raw_write(move |c| {
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
            .raw_write(move |c| {
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
            .raw_read(move |c| {
                let threads: i64 = c.query_row(
                    "SELECT count(*) FROM items i WHERE public_threads <>
                     (SELECT count(*) FROM conversations c WHERE c.item_id = i.id AND c.kind = 'public')",
                    [],
                    |r| r.get(0),
                )?;
                assert_eq!(threads, 0, "items count their customer conversations");
                for viewer in viewers {
                    if let Some(found) = mismatch(c, viewer)? {
                        return Ok(Some(format!("{viewer:?}: {found}")));
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
