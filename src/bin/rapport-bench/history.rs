//! `rapport-bench history`: the screens agents look at all day, on years of history and on an
//! empty database in the same run, side by side.
//!
//! ```text
//! rapport-bench history [--data-dir DIR] [--conversations 100000] [--messages 1000000]
//!                       [--seconds 5] [--seed 1] [--only ENDPOINT]
//! ```
//!
//! It seeds the history through the store (not HTTP; 3 projects, 10 agents and an admin,
//! customers, tickets, follows, seen marks, text with a Zipf-like word distribution over three
//! years) into DIR, or into a temporary dir without `--data-dir`. A DIR seeded to the end before
//! is reused as it is (delete it to seed again). It then starts the real server on that dir and
//! on an empty one (the same team, no conversations) and measures, at concurrency 1 and 32 for
//! `--seconds` each: the counts, every list view (first and 50th page) as the admin and as a
//! one-project agent, search for a common word, a rare word and a three-letter prefix, a cheap
//! list while 16 clients search the common word, and 10 agents' apps told of every change by
//! `inbox` frames while a customer writes a message a second (for 100 s: a p99 needs a hundred
//! posts). One JSON line per measurement, `empty` beside `history`; non-2xx answers are counted
//! under `errors`. `--only` runs the measurements of one endpoint (the names in ENDPOINTS).

mod load;
mod seed;
mod text;

use crate::machine::Limits;
use crate::scenarios::print;
use crate::server::{Server, ADMIN_EMAIL};
use load::closed_loop;
pub use seed::Plan;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub struct Options {
    pub data_dir: Option<PathBuf>,
    pub plan: Plan,
    pub duration: Duration,
    pub only: Option<String>,
}

/// What `--only` may name, in the order they are measured.
const ENDPOINTS: [&str; 6] =
    ["counts", "list", "search", "list_while_searching", "apps_while_customer_writes", "clean_stop_ms"];

/// How long the customer writes while the apps are open: one post a second, a hundred posts
/// for a p99 that is not just the worst one.
const APPS_RUN: Duration = Duration::from_secs(100);

/// Who a request is made as: the admin (sees everything) or agent 1 (one project).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum As {
    Admin,
    Agent,
}

impl As {
    fn name(self) -> &'static str {
        match self {
            As::Admin => "admin",
            As::Agent => "one_project_agent",
        }
    }
}

/// A server under test with the tokens of its admin and agents.
struct Side {
    server: Server,
    /// For the load: a request that takes a minute is counted as a timeout, not waited for.
    http: reqwest::Client,
    admin: (String, i64),
    /// Agents 1..=10, in order: agent 1 is the one-project agent.
    agents: Vec<(String, i64)>,
    /// The cursor of the 50th page (or of the last page there is, with its number), per list.
    cursors: HashMap<(As, String), (usize, Option<String>)>,
}

impl Side {
    async fn start(data: &Path) -> Result<Side, String> {
        let server = Server::serve(data, &[]).await?;
        let admin = Side::sign_in(&server, ADMIN_EMAIL).await?;
        let mut agents = Vec::new();
        for k in 1..=seed::AGENTS {
            agents.push(Side::sign_in(&server, &seed::agent_email(k)).await?);
        }
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().map_err(|e| e.to_string())?;
        Ok(Side { server, http, admin, agents, cursors: HashMap::new() })
    }

    /// An API token made through the API (sign-in, then POST /tokens), and the user's id.
    async fn sign_in(server: &Server, email: &str) -> Result<(String, i64), String> {
        let token = server.token_for(email).await?;
        let me = server.get("/api/v1/me", &token).await?;
        Ok((token, me["user"]["id"].as_i64().ok_or("no user id in /me")?))
    }

    fn user(&self, who: As) -> &(String, i64) {
        match who {
            As::Admin => &self.admin,
            As::Agent => &self.agents[seed::ONE_PROJECT_AGENT - 1],
        }
    }

    /// The path of page `page` of a list (following the cursor there), and the page reached.
    async fn page(&mut self, who: As, list: &str, page: usize) -> Result<(String, usize), String> {
        if page == 1 {
            return Ok((list.to_owned(), 1));
        }
        if !self.cursors.contains_key(&(who, list.to_owned())) {
            let token = self.user(who).0.clone();
            let (mut reached, mut cursor) = (1, None::<String>);
            while reached < page {
                let body = self.server.get(&with_cursor(list, cursor.as_deref()), &token).await?;
                match body["next_cursor"].as_str() {
                    Some(next) => (reached, cursor) = (reached + 1, Some(next.to_owned())),
                    None => break,
                }
            }
            self.cursors.insert((who, list.to_owned()), (reached, cursor));
        }
        let (reached, cursor) = &self.cursors[&(who, list.to_owned())];
        Ok((with_cursor(list, cursor.as_deref()), *reached))
    }

    async fn measure(
        &mut self,
        who: As,
        list: &str,
        page: usize,
        concurrency: usize,
        d: Duration,
    ) -> Result<Value, String> {
        let (path, reached) = self.page(who, list, page).await?;
        let url = format!("{}{path}", self.server.base);
        let mut figures = closed_loop(&self.http, &url, &self.user(who).0, concurrency, d).await;
        if page > 1 {
            figures["page"] = json!(reached);
        }
        Ok(figures)
    }
}

fn with_cursor(list: &str, cursor: Option<&str>) -> String {
    match cursor {
        Some(c) => format!("{list}&cursor={c}"),
        None => list.to_owned(),
    }
}

/// Stands for the user's own id in a list's path.
const ME: &str = "{me}";

/// The lists of the agents' app: the conversation views, then the item views.
fn lists() -> Vec<(&'static str, String)> {
    let mut lists: Vec<(&'static str, String)> = ["open", "closed", "customer_replies", "internal", "all_closed"]
        .into_iter()
        .map(|v| (v, format!("/api/v1/conversations?view={v}")))
        .collect();
    lists.push(("unanswered_items", "/api/v1/items?view=unanswered".into()));
    lists.push(("items_open", "/api/v1/items?status=open".into()));
    lists.push(("items_mine", format!("/api/v1/items?status=open&assignee_id={ME}")));
    lists.push(("items_closed", "/api/v1/items?status=closed".into()));
    lists
}

fn target(endpoint: &str, concurrency: usize) -> Value {
    match (endpoint, concurrency) {
        ("counts", 1) => json!({"p99_ms": "<= 5", "errors": "none"}),
        ("counts", _) => json!({"req_per_s": ">= 2000", "errors": "none"}),
        ("list", 1) => json!({"p99_ms": "<= 10", "errors": "none"}),
        ("list", _) => json!({"req_per_s": ">= 1000", "errors": "none"}),
        ("search", 1) => json!({"p99_ms": "<= 50", "errors": "none"}),
        _ => json!({"errors": "none"}),
    }
}

pub async fn run(opts: Options, scratch: &Path, open_files: u64) -> Result<(), String> {
    if let Some(only) = opts.only.as_deref().filter(|o| !ENDPOINTS.contains(o)) {
        return Err(format!("--only {only}: not one of {}", ENDPOINTS.join(", ")));
    }
    let dir = opts.data_dir.clone().unwrap_or_else(|| scratch.join("history"));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let limits = crate::measure(&dir, open_files, None)?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_err(|e| e.to_string())?;
    let end = now.as_millis() as i64 / 60_000 * 60_000;
    let plan = match seed::seeded(&dir)? {
        Some(found) => {
            if found != opts.plan {
                eprintln!("{} was seeded with {found:?}: measuring that (delete it to seed again)", dir.display());
            }
            found
        }
        None if rapport::store::db_path(&dir).exists() => {
            return Err(format!(
                "{} holds a database that rapport-bench history did not finish seeding: delete it or pick another dir",
                dir.display()
            ));
        }
        None => {
            eprintln!("seeding {} conversations and {} messages ...", opts.plan.conversations, opts.plan.messages);
            let seeded = seed::seed(&dir, opts.plan, end).await?;
            print(json!({"scenario": "history", "part": "seed", "seeded": seeded,
                "raw_insert_per_s": limits.raw_insert_per_s.round()}));
            opts.plan
        }
    };
    let empty_dir = scratch.join("empty");
    seed::seed(&empty_dir, Plan { conversations: 0, messages: 0, ..plan }, end).await?;
    eprintln!("starting the servers ...");
    let mut sides = [Side::start(&empty_dir).await?, Side::start(&dir).await?];
    let wanted = |endpoint: &str| opts.only.as_deref().is_none_or(|o| o == endpoint);
    measure_all(&mut sides, &plan, &limits, opts.duration, wanted).await
}

async fn measure_all(
    sides: &mut [Side; 2],
    plan: &Plan,
    limits: &Limits,
    d: Duration,
    wanted: impl Fn(&str) -> bool,
) -> Result<(), String> {
    let line = |fields: Value, empty: Value, history: Value, target: Value| {
        let mut line = json!({"scenario": "history"});
        if let (Some(line), Value::Object(fields)) = (line.as_object_mut(), fields) {
            line.extend(fields);
        }
        line["empty"] = empty;
        line["history"] = history;
        line["conversations"] = json!(plan.conversations);
        line["messages"] = json!(plan.messages);
        line["target"] = target;
        line["fsync_per_s"] = json!(limits.fsync_per_s.round());
        line["raw_insert_per_s"] = json!(limits.raw_insert_per_s.round());
        print(line);
    };
    let mut each = Vec::new();
    for who in [As::Admin, As::Agent] {
        each.push(("counts", who, "counts".to_owned(), "/api/v1/conversations/counts".to_owned(), 1));
    }
    for who in [As::Admin, As::Agent] {
        for (view, path) in lists() {
            for page in [1, 50] {
                each.push(("list", who, view.to_owned(), path.clone(), page));
            }
        }
    }
    for who in [As::Admin, As::Agent] {
        for (name, q) in [("common", "the"), ("rare", text::RARE), ("prefix", text::PREFIX)] {
            each.push(("search", who, name.to_owned(), format!("/api/v1/search?q={q}"), 1));
        }
    }
    for (endpoint, who, name, path, page) in each.into_iter().filter(|e| wanted(e.0)) {
        for concurrency in [1, 32] {
            let mut figures = Vec::new();
            for side in sides.iter_mut() {
                // "Assigned to me" names the user, whose id may differ between the databases.
                let path = path.replace(ME, &side.user(who).1.to_string());
                figures.push(side.measure(who, &path, page, concurrency, d).await?);
            }
            let [empty, history] = <[Value; 2]>::try_from(figures).map_err(|_| "two sides")?;
            let mut fields = json!({"endpoint": endpoint, "as": who.name(), "concurrency": concurrency});
            fields[if endpoint == "search" { "word" } else { "view" }] = json!(name);
            if endpoint == "search" {
                fields["q"] = json!(path.rsplit('=').next());
            }
            if endpoint == "list" {
                fields["page"] = json!(page);
            }
            line(fields, empty, history, target(endpoint, concurrency));
        }
    }
    if wanted("list_while_searching") {
        let mut starved = Vec::new();
        for side in sides.iter_mut() {
            starved.push(list_while_searching(side, d).await);
        }
        let [empty, history] = <[Value; 2]>::try_from(starved).map_err(|_| "two sides")?;
        line(
            json!({"endpoint": "list_while_searching", "view": "open", "as": "admin", "concurrency": 1, "searchers": 16, "q": "the"}),
            empty,
            history,
            json!({"list_p99_ms": "<= 10", "errors": "none"}),
        );
    }
    if wanted("apps_while_customer_writes") {
        let mut apps = Vec::new();
        for side in sides.iter() {
            let tokens: Vec<String> = side.agents.iter().map(|(t, _)| t.clone()).collect();
            apps.push(load::apps_while_customer_writes(&side.server, &tokens, APPS_RUN.max(d)).await?);
        }
        let [empty, history] = <[Value; 2]>::try_from(apps).map_err(|_| "two sides")?;
        line(
            json!({"endpoint": "apps_while_customer_writes", "apps": seed::AGENTS, "customer_msgs_per_s": 1}),
            empty,
            history,
            json!({"customer_post_p99_ms": "<= 50", "server_cpu_pct_of_one_core": "< 25", "errors": "none"}),
        );
    }
    if !wanted("clean_stop_ms") {
        return Ok(());
    }
    // A clean stop after all that load: SIGTERM to exit.
    let stops: Vec<Value> = sides.iter_mut().map(|side| json!(side.server.stop().map(|d| d.as_millis()))).collect();
    let [empty, history] = <[Value; 2]>::try_from(stops).map_err(|_| "two sides")?;
    line(json!({"endpoint": "clean_stop_ms"}), empty, history, json!("prompt"));
    Ok(())
}

/// The Open list at concurrency 1 while 16 clients search for "the": does search starve it?
async fn list_while_searching(side: &Side, d: Duration) -> Value {
    let (http, base, token) = (&side.http, &side.server.base, &side.admin.0);
    let (search, list) = (format!("{base}/api/v1/search?q=the"), format!("{base}/api/v1/conversations?view=open"));
    let (search, list) = tokio::join!(closed_loop(http, &search, token, 16, d), closed_loop(http, &list, token, 1, d));
    json!({"list": list, "search": search})
}
