//! Seeds years of history through the store's own functions (not HTTP), in batched write jobs:
//! the same rows, triggers, search index and automation bookkeeping that real use leaves behind,
//! at thousands of messages a second (each is a real post: visibility check, sequence number,
//! search index, seen mark, automations). Everything is drawn from a seeded PRNG, so a plan
//! always gives the same history (only its dates follow the day it was seeded).

use super::text::{self, Rng, Words};
use crate::server::{ADMIN_EMAIL, PASSWORD};
use rapport::domain::{Channel, ConversationKind, ItemKind, Party, Password, Priority, Role, Secret, Status};
use rapport::store::conversations::{self, NewConversation, NewMessage};
use rapport::store::items::{self, NewItem};
use rapport::store::{customers, projects, users, Millis, Store, Viewer};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

pub const AGENTS: usize = 10;
/// Agent 1 is a member of the first project only.
pub const ONE_PROJECT_AGENT: usize = 1;
const PROJECTS: [&str; 3] = ["Support", "Billing", "Sales"];
const SPAN_MS: Millis = 3 * 365 * 24 * 3600 * 1000;
/// Messages per write job: big enough to amortise a job, small enough to show progress.
const MESSAGES_PER_JOB: usize = 2_000;
/// The writer's page cache while seeding, in KiB.
const SEED_CACHE_KIB: usize = 512 * 1024;
/// Where a seeded data dir records what it holds; written last, so a half-seeded dir has none.
const MARKER: &str = "bench-history.json";

pub fn agent_email(k: usize) -> String {
    format!("agent{k}@example.com")
}

/// The projects (indexes into `PROJECTS`) agent `k` (1-based) is a member of.
fn memberships(k: usize) -> Vec<usize> {
    let first = (k - 1) % PROJECTS.len();
    if k == ONE_PROJECT_AGENT || k < 7 {
        vec![first]
    } else {
        vec![first, (first + 1) % PROJECTS.len()]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub conversations: usize,
    pub messages: usize,
    pub seed: u64,
}

/// What a seeding made, for the report.
#[derive(Debug, Default, Serialize)]
pub struct Seeded {
    pub conversations: usize,
    pub messages: usize,
    pub customers: usize,
    pub items: usize,
    pub closed: usize,
    pub internal: usize,
    /// Messages that contain the rare word.
    pub rare_word_messages: usize,
    pub seconds: f64,
    pub msgs_per_s: f64,
}

/// The plan a data dir was seeded with, if it was seeded to the end.
pub fn seeded(dir: &Path) -> Result<Option<Plan>, String> {
    match std::fs::read(dir.join(MARKER)) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| format!("{MARKER}: {e}")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// One conversation's shape, drawn before any of it is written.
struct Conv {
    kind: ConversationKind,
    project: Option<usize>,
    channel: Channel,
    /// The customer's index; new when it equals the number of customers before it.
    customer: Option<usize>,
    new_customer: bool,
    item: Option<ItemKind>,
    /// User indexes: 0 the admin, 1..=10 the agents.
    agent: usize,
    other: usize,
    closed: bool,
}

#[derive(Clone, Copy)]
enum What {
    Open,
    Post { by_customer: bool, other: bool },
    Close,
}

/// One thing that happens, at its time.
#[derive(Clone, Copy)]
struct Step {
    at: Millis,
    conv: u32,
    what: What,
}

/// How many messages each conversation gets: at least one when there are enough, the rest
/// spread with an exponential weight (most conversations short, a few long).
fn message_counts(rng: &mut Rng, plan: &Plan) -> Vec<usize> {
    let n = plan.conversations;
    let base = usize::from(plan.messages >= n);
    let extra = plan.messages - base * n;
    let weights: Vec<f64> = (0..n).map(|_| rng.exp(1.0)).collect();
    let total: f64 = weights.iter().sum::<f64>().max(f64::MIN_POSITIVE);
    let mut counts: Vec<usize> = weights.iter().map(|w| base + (w / total * extra as f64) as usize).collect();
    let mut left = plan.messages - counts.iter().sum::<usize>();
    let mut i = 0;
    while left > 0 {
        counts[i % n] += 1;
        left -= 1;
        i += 7919; // a prime stride spreads the remainder
    }
    counts
}

/// Draws every conversation and every step, in time order, over the three years before `end`.
fn schedule(plan: &Plan, end: Millis) -> (Vec<Conv>, Vec<Step>) {
    let mut rng = Rng::new(plan.seed);
    let counts = if plan.conversations == 0 { Vec::new() } else { message_counts(&mut rng, plan) };
    let start = end - SPAN_MS;
    let members: Vec<Vec<usize>> =
        (0..PROJECTS.len()).map(|p| (1..=AGENTS).filter(|&k| memberships(k).contains(&p)).collect()).collect();
    let (mut convs, mut steps, mut customers) = (Vec::with_capacity(counts.len()), Vec::new(), 0usize);
    for (i, &k) in counts.iter().enumerate() {
        let at = start + ((i as f64 + rng.unit()) / counts.len() as f64 * SPAN_MS as f64) as Millis;
        let internal = rng.chance(0.06);
        let ticket = !internal && rng.chance(0.3);
        let project = (internal || ticket || rng.chance(0.1)).then(|| rng.below(PROJECTS.len()));
        let team: Vec<usize> = project.map_or_else(|| (1..=AGENTS).collect(), |p| members[p].clone());
        let agent = if rng.chance(0.02) { 0 } else { *rng.pick(&team) };
        let other = *rng.pick(&team);
        let (customer, new_customer) = if internal {
            (None, false)
        } else if customers == 0 || rng.chance(1.0 / 3.0) {
            customers += 1;
            (Some(customers - 1), true)
        } else {
            (Some(rng.below(customers)), false)
        };
        let channel = match (internal, rng.below(10)) {
            (true, _) => Channel::App,
            (false, 0..=5) => Channel::Chat,
            (false, 6..=8) => Channel::Email,
            _ => Channel::Form,
        };
        let item = match (internal, ticket) {
            (true, _) => rng.chance(0.5).then_some(ItemKind::Task),
            (false, true) => Some(ItemKind::Ticket),
            _ => None,
        };
        let closed = rng.chance(0.85);
        let kind = if internal { ConversationKind::Internal } else { ConversationKind::Public };
        convs.push(Conv { kind, project, channel, customer, new_customer, item, agent, other, closed });
        let conv = i as u32;
        steps.push(Step { at, conv, what: What::Open });
        let (mut t, mut by_customer) = (at, !internal);
        for j in 0..k {
            if j > 0 {
                // Replies within minutes, or the next day.
                t += if rng.chance(0.7) { rng.exp(10.0 * 60e3) } else { rng.exp(24.0 * 3600e3) } as Millis;
                by_customer = !internal && if by_customer { rng.chance(0.2) } else { rng.chance(0.75) };
            }
            let other = !by_customer && (internal || rng.chance(0.1)) && rng.chance(0.5);
            steps.push(Step { at: t.min(end), conv, what: What::Post { by_customer, other } });
        }
        if closed {
            steps.push(Step { at: (t + rng.exp(3600e3) as Millis).min(end), conv, what: What::Close });
        }
    }
    // Stable: a conversation's own steps keep their order when times tie.
    steps.sort_by_key(|s| s.at);
    (convs, steps)
}

/// A customer as written with a conversation: new (name, email) or one met before.
#[derive(Debug)]
enum Customer {
    New(String, String),
    Known(usize),
}

/// What a write job does, with every word of text already drawn.
#[derive(Debug)]
enum Op {
    Open {
        conv: usize,
        at: Millis,
        kind: ConversationKind,
        project: Option<usize>,
        channel: Channel,
        subject: String,
        customer: Option<Customer>,
        /// The item's kind, title and description, priority, and a second follower.
        item: Option<(ItemKind, String, String, Priority, Option<usize>)>,
        agent: usize,
    },
    Post {
        conv: usize,
        at: Millis,
        /// A user index, or the conversation's customer when `None`.
        author: Option<usize>,
        body: String,
    },
    Close {
        conv: usize,
        at: Millis,
        /// User indexes who also saw it to the end (besides whoever wrote last).
        seen_by: Vec<usize>,
    },
}

/// Turns steps into ops, drawing the text.
struct Writer {
    rng: Rng,
    words: Words,
}

impl Writer {
    fn op(&mut self, convs: &[Conv], step: Step, seeded: &mut Seeded) -> Op {
        let conv = step.conv as usize;
        let c = &convs[conv];
        let rng = &mut self.rng;
        match step.what {
            What::Open => {
                let customer = c.customer.map(|n| {
                    if c.new_customer {
                        let (name, email) = text::person(rng, n);
                        Customer::New(name, email)
                    } else {
                        Customer::Known(n)
                    }
                });
                let subject = if c.channel == Channel::Chat { String::new() } else { self.words.title(rng) };
                let item = c.item.map(|kind| {
                    let priority = *rng.pick(&[Priority::Normal, Priority::Normal, Priority::Low, Priority::High]);
                    let follower = rng.chance(0.25).then_some(c.other);
                    (kind, self.words.title(rng), self.words.sentence(rng, 5, 15), priority, follower)
                });
                let (kind, project, channel, agent) = (c.kind, c.project, c.channel, c.agent);
                Op::Open { conv, at: step.at, kind, project, channel, subject, customer, item, agent }
            }
            What::Post { by_customer, other } => {
                let body = self.words.message(rng);
                if body.split(|ch: char| !ch.is_alphanumeric()).any(|w| w.eq_ignore_ascii_case(text::RARE)) {
                    seeded.rare_word_messages += 1;
                }
                seeded.messages += 1;
                let author = (!by_customer).then_some(if other { c.other } else { c.agent });
                Op::Post { conv, at: step.at, author, body }
            }
            What::Close => {
                let mut seen_by = Vec::new();
                if rng.chance(0.5) {
                    seen_by.push(c.other);
                }
                if rng.chance(0.3) {
                    seen_by.push(0);
                }
                Op::Close { conv, at: step.at, seen_by }
            }
        }
    }
}

/// Ids of what the writer made, by the plan's indexes.
#[derive(Default)]
struct Ids {
    users: Vec<i64>,
    projects: Vec<i64>,
    customers: Vec<i64>,
    conversations: Vec<i64>,
    customer_of: Vec<Option<i64>>,
    item_of: Vec<Option<i64>>,
}

fn apply(c: &rapport::store::Tx, ids: &mut Ids, op: Op) -> rapport::store::Result<()> {
    let system = Viewer::SYSTEM;
    match op {
        Op::Open { conv, at, kind, project, channel, subject, customer, item, agent } => {
            let customer_id = match customer {
                Some(Customer::New(name, email)) => {
                    let id = customers::insert(c, Some(&name), Some(&email), at)?.id;
                    ids.customers.push(id);
                    Some(id)
                }
                Some(Customer::Known(n)) => Some(ids.customers[n]),
                None => None,
            };
            let user = ids.users[agent];
            let project_id = project.map(|p| ids.projects[p]);
            let item_id = match (item, project_id) {
                (Some((kind, title, description, priority, follower)), Some(project_id)) => {
                    let new = NewItem {
                        project_id,
                        kind,
                        title,
                        description,
                        priority,
                        requester_id: customer_id,
                        assignee_id: Some(user),
                        channel,
                        created_by: Some(user),
                    };
                    let item = items::insert(c, system, new, at)?;
                    if let Some(f) = follower {
                        items::follow(c, item.id, ids.users[f])?;
                    }
                    Some(item.id)
                }
                _ => None,
            };
            let creator = customer_id.map_or(Party::User(user), Party::Customer);
            let new =
                NewConversation { project_id, item_id, kind, subject, customer_id, channel, page_url: None, creator };
            // A form's ticket already has its requester's thread (the store starts it with the
            // ticket): that is this conversation, not a second one.
            let id = match item_id.map(|item| items::requester_thread(c, item)).transpose()?.flatten() {
                Some(thread) => thread,
                None => conversations::insert(c, system, new, at)?.id,
            };
            debug_assert_eq!(ids.conversations.len(), conv);
            ids.conversations.push(id);
            ids.customer_of.push(customer_id);
            ids.item_of.push(item_id);
        }
        Op::Post { conv, at, author, body } => {
            let author = match author {
                Some(u) => Party::User(ids.users[u]),
                None => Party::Customer(ids.customer_of[conv].ok_or(rapport::store::StoreError::Internal(
                    "a customer's message in a conversation without one".into(),
                ))?),
            };
            let new = NewMessage { client_id: None, author, body, attachment_ids: Vec::new() };
            conversations::post(c, system, ids.conversations[conv], new, at)?;
        }
        Op::Close { conv, at, seen_by } => {
            let id = ids.conversations[conv];
            conversations::set_status(c, system, id, Status::Closed)?;
            if let Some(item) = ids.item_of[conv] {
                items::set_status(c, system, item, Status::Closed, at)?;
            }
            let readers = ids.customer_of[conv].map(Party::Customer).into_iter();
            for party in readers.chain(seen_by.into_iter().map(|u| Party::User(ids.users[u]))) {
                conversations::mark_seen(c, id, party, i64::MAX, at)?;
            }
        }
    }
    Ok(())
}

/// The admin, the agents and the projects, all with the password `PASSWORD`.
async fn team(store: &Store, at: Millis) -> Result<Ids, String> {
    // A cheap hash: these accounts exist to be signed in to by the bench, many times.
    let hasher = rapport::password::Hasher::new(1024, 1, 0)?;
    let password = Password::parse(Secret::new(PASSWORD)).map_err(|e| e.message)?;
    let hash = hasher.hash(&password).await.map_err(|e| e.to_string())?;
    store
        .raw_write(move |c| {
            let mut ids = Ids::default();
            ids.users.push(users::insert(c, ADMIN_EMAIL, "Bench Admin", Role::Admin, Some(&hash), at)?.id);
            let mut rng = Rng::new(7);
            for k in 1..=AGENTS {
                let (name, _) = text::person(&mut rng, k);
                ids.users.push(users::insert(c, &agent_email(k), &name, Role::Agent, Some(&hash), at)?.id);
            }
            for name in PROJECTS {
                ids.projects.push(projects::insert(c, name, at)?.id);
            }
            for k in 1..=AGENTS {
                for p in memberships(k) {
                    projects::set_member(c, Viewer::SYSTEM, ids.projects[p], ids.users[k], true)?;
                }
            }
            Ok(ids)
        })
        .await
        .map_err(|e| e.to_string())
}

/// Seeds `plan` into an empty data dir and marks it seeded. `end` is the newest moment of the
/// history (the seeding's own time, in practice).
pub async fn seed(dir: &Path, plan: Plan, end: Millis) -> Result<Seeded, String> {
    let store = Store::open(dir).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let result = fill(&store, plan, end, started).await;
    store.close().await.map_err(|e| e.to_string())?;
    let mut seeded = result?;
    seeded.seconds = started.elapsed().as_secs_f64();
    seeded.msgs_per_s = seeded.messages as f64 / seeded.seconds.max(1e-9);
    let marker = serde_json::to_vec(&plan).map_err(|e| e.to_string())?;
    std::fs::write(dir.join(MARKER), marker).map_err(|e| e.to_string())?;
    Ok(seeded)
}

async fn fill(store: &Store, plan: Plan, end: Millis, started: Instant) -> Result<Seeded, String> {
    // The writer's page cache (SQLite's default is 2 MB) holds the indexes the inserts touch,
    // instead of reading them back from the OS on every insert. It lasts as long as this store.
    let cache = store.raw_write(|c| Ok(c.execute_batch(&format!("PRAGMA cache_size = -{SEED_CACHE_KIB}"))?));
    cache.await.map_err(|e| e.to_string())?;
    let mut ids = team(store, end - SPAN_MS - 24 * 3600 * 1000).await?;
    let (convs, steps) = schedule(&plan, end);
    let mut seeded = Seeded {
        conversations: convs.len(),
        customers: convs.iter().filter(|c| c.new_customer).count(),
        items: convs.iter().filter(|c| c.item.is_some()).count(),
        closed: convs.iter().filter(|c| c.closed).count(),
        internal: convs.iter().filter(|c| c.kind == ConversationKind::Internal).count(),
        ..Seeded::default()
    };
    // One task writes the jobs strictly in order (each refers to what the ones before made),
    // while the next job's text is drawn here.
    let (jobs, mut queued) = tokio::sync::mpsc::channel::<Vec<Op>>(1);
    let job_writer = {
        let store = store.clone();
        tokio::spawn(async move {
            while let Some(ops) = queued.recv().await {
                let write = store.raw_write(move |c| {
                    ops.into_iter().try_for_each(|op| apply(c, &mut ids, op))?;
                    Ok(ids)
                });
                ids = write.await.map_err(|e| format!("seeding failed: {e}"))?;
            }
            Ok::<(), String>(())
        })
    };
    let mut writer = Writer { rng: Rng::new(plan.seed ^ 0x7E47), words: Words::new() };
    let mut steps = steps.into_iter().peekable();
    let mut reported = 0;
    while steps.peek().is_some() {
        let mut ops = Vec::new();
        let first = seeded.messages;
        while seeded.messages - first < MESSAGES_PER_JOB {
            let Some(step) = steps.next() else { break };
            ops.push(writer.op(&convs, step, &mut seeded));
        }
        if jobs.send(ops).await.is_err() {
            break; // the writer stopped on an error, returned below
        }
        if seeded.messages >= reported + 50_000 {
            reported = seeded.messages;
            let rate = reported as f64 / started.elapsed().as_secs_f64();
            eprintln!("  seeded {reported} of {} messages ({rate:.0}/s)", plan.messages);
        }
    }
    drop(jobs);
    job_writer.await.map_err(|e| e.to_string())??;
    Ok(seeded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drawn(plan: &Plan) -> String {
        let (convs, steps) = schedule(plan, 1_800_000_000_000);
        let mut writer = Writer { rng: Rng::new(plan.seed ^ 0x7E47), words: Words::new() };
        let mut seeded = Seeded::default();
        let ops: Vec<Op> = steps.into_iter().map(|s| writer.op(&convs, s, &mut seeded)).collect();
        assert_eq!(seeded.messages, plan.messages);
        format!("{ops:?}")
    }

    #[test]
    fn a_plan_always_draws_the_same_history() {
        let plan = Plan { conversations: 20, messages: 100, seed: 42 };
        assert_eq!(drawn(&plan), drawn(&plan));
        assert_ne!(drawn(&plan), drawn(&Plan { seed: 43, ..plan }));
    }

    #[tokio::test]
    async fn a_small_history_is_written_through_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let plan = Plan { conversations: 30, messages: 100, seed: 1 };
        let seeded = seed(dir.path(), plan, 1_800_000_000_000).await.unwrap();
        assert_eq!((seeded.conversations, seeded.messages), (30, 100));
        assert_eq!(super::seeded(dir.path()).unwrap(), Some(plan));
        let store = Store::open(dir.path()).unwrap();
        let all = Viewer::SYSTEM;
        let (open, closed) = store
            .raw_read(move |c| {
                let counts = rapport::store::counts::of(c, all)?;
                Ok((counts.open.total, counts.closed.total))
            })
            .await
            .unwrap();
        assert_eq!((open + closed) as usize, seeded.conversations - seeded.internal);
        store.close().await.unwrap();
    }
}
