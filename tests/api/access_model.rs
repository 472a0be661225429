//! Model-based: random sequences of what changes rights (membership, role, deactivation, the
//! see-all preference, following, signing out, token revocation, moving items, changing
//! requesters, merging and erasing customers) interleaved with messages, while agents and
//! customers hold sockets open. After every step each socket must have received exactly the
//! messages its principal may read over REST at that moment: nothing more (no leak), nothing
//! less (no silent loss); it must be subscribed to exactly what it may read, and a socket
//! whose credential no longer admits it must be closed. REST is the oracle, not a second copy
//! of the rules. 2,000 steps with a fixed seed; `RAPPORT_LONG=1` runs 20,000 from a random one.

use crate::helpers::*;
use crate::live::*;
use crate::widget::signed;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// How a party signs in.
enum Login {
    /// An agent on an API token (revocable).
    Token { email: String, token: Option<String> },
    /// An agent on a cookie session (signs out).
    Cookie { email: String, session: Option<(String, String)> },
    /// A widget visitor, and the customer their token belongs to now.
    Visitor { token: String, customer: i64 },
}

/// Someone with (at most) one socket open, and what that socket has told them.
struct Party {
    login: Login,
    user_id: Option<i64>,
    socket: Option<Live>,
    /// Whose the open socket is (its `hello`).
    socket_of: Option<i64>,
    subscribed: BTreeSet<i64>,
    /// Message seqs received per conversation, over every socket this party has had.
    received: HashMap<i64, BTreeSet<i64>>,
    /// What it could read when it last settled, the step before.
    was_readable: BTreeSet<i64>,
}

/// What a party may read now, by REST: conversation → last seq; `None` when its credential
/// admits nobody.
type Readable = Option<BTreeMap<i64, i64>>;

/// Agents are the first three parties (the admin, Bea on a token, Cid on a cookie session);
/// widget visitors follow.
const AGENTS: [usize; 2] = [1, 2];
const FIRST_VISITOR: usize = 3;

struct World {
    app: TestApp,
    admin: Client,
    rng: StdRng,
    parties: Vec<Party>,
    projects: Vec<i64>,
    items: Vec<i64>,
    customers: BTreeSet<i64>,
    conversations: BTreeSet<i64>,
    secret: String,
    sites: u32,
    /// What the run saw happen, so that a run that tested nothing fails.
    seen: Seen,
}

#[derive(Default, Debug)]
struct Seen {
    closed: usize,
    unsubscribed: usize,
    messages: usize,
}

fn steps_and_seed() -> (usize, u64) {
    if std::env::var("RAPPORT_LONG").is_ok_and(|v| v == "1") {
        let seed = rand::random();
        eprintln!("access model: seed {seed}");
        (20_000, seed)
    } else {
        (2_000, 0x5eed_a11c)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_socket_gets_exactly_what_its_principal_may_read_through_random_rights_changes() {
    let (steps, seed) = steps_and_seed();
    let mut world = World::new(seed).await;
    for step in 0..steps {
        // Time passes (30 s a step), so per-address limits behave as for real people.
        world.app.clock.advance_ms(30_000);
        let op = world.step().await;
        world.check(&format!("step {step}: {op}")).await;
    }
    let seen = &world.seen;
    eprintln!("access model: {steps} steps, {seen:?}");
    assert!(seen.closed > 20 && seen.unsubscribed > 20 && seen.messages > 500, "{seen:?}");
}

impl World {
    async fn new(seed: u64) -> World {
        let app = spawn_app().await;
        let admin = app.admin().await;
        admin.change_rule("auto_reply", json!({"enabled": false})).await;
        let secret = admin.get("/api/v1/settings/widget").await.ok()["identity_secret"].as_str().unwrap().to_owned();
        let projects = vec![admin.project("Lab").await, admin.project("Vault").await];
        let mut world = World {
            app,
            admin,
            rng: StdRng::seed_from_u64(seed),
            parties: Vec::new(),
            projects,
            items: Vec::new(),
            customers: BTreeSet::new(),
            conversations: BTreeSet::new(),
            secret,
            sites: 0,
            seen: Seen::default(),
        };
        let token = world.admin.api_token().await;
        world.add_party(Login::Token { email: ADMIN_EMAIL.into(), token: Some(token) }, None);
        for (name, cookie) in [("bea", false), ("cid", true)] {
            let email = format!("{name}@example.com");
            let (_, id) = world.app.agent(&world.admin, &email).await;
            let login =
                if cookie { Login::Cookie { email, session: None } } else { Login::Token { email, token: None } };
            world.add_party(login, Some(id));
        }
        for _ in 0..3 {
            world.new_visitor().await;
        }
        for (i, project) in world.projects.clone().into_iter().enumerate() {
            let requester = *world.customers.iter().nth(i).unwrap();
            let item = world.admin.item(project, &format!("Ticket {i}"), Some(requester)).await;
            world.items.push(item);
            for (kind, customer) in [("public", Some(requester)), ("internal", None)] {
                let body =
                    json!({"kind": kind, "item_id": item, "customer_id": customer, "message": {"body": "first"}});
                world.conversations.insert(world.admin.conversation(body).await);
            }
        }
        world.check("setup").await;
        world
    }

    fn add_party(&mut self, login: Login, user_id: Option<i64>) {
        let party = Party {
            login,
            user_id,
            socket: None,
            socket_of: None,
            subscribed: BTreeSet::new(),
            received: HashMap::new(),
            was_readable: BTreeSet::new(),
        };
        self.parties.push(party);
    }

    /// A new widget visitor with a conversation of their own.
    async fn new_visitor(&mut self) -> String {
        let (token, customer) = visitor(&self.app).await;
        let path = "/api/v1/widget/conversations";
        let body = Some(json!({"message": {"body": "hello"}}));
        let started = as_visitor(&self.app, &token, Method::POST, path, body).await.ok();
        self.conversations.insert(started["conversation"]["id"].as_i64().unwrap());
        self.customers.insert(customer);
        self.add_party(Login::Visitor { token, customer }, None);
        format!("visitor {customer} arrives")
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.rng.gen_range(0..from.len())]
    }

    fn visitors(&self) -> Vec<usize> {
        (FIRST_VISITOR..self.parties.len()).collect()
    }

    /// One random operation; what it was, for failure messages.
    async fn step(&mut self) -> String {
        let (agent, project) = (self.pick(&AGENTS), self.pick(&self.projects.clone()));
        let item = self.pick(&self.items.clone());
        match self.rng.gen_range(0..100) {
            0..=29 => self.post().await,
            30..=37 => {
                let user = self.parties[agent].user_id.unwrap();
                let path = format!("/api/v1/projects/{project}/members/{user}");
                let method = if self.rng.gen_bool(0.5) { Method::PUT } else { Method::DELETE };
                self.admin.send(method.clone(), &path, None).await;
                format!("{method} agent {agent} in project {project}")
            }
            38..=43 => {
                let role = if self.rng.gen_bool(0.5) { "admin" } else { "agent" };
                self.patch_user(agent, json!({ "role": role })).await
            }
            44..=49 => {
                let active = self.rng.gen_bool(0.6);
                self.patch_user(agent, json!({ "active": active })).await
            }
            50..=55 => self.see_all(agent).await,
            56..=61 => {
                let method = if self.rng.gen_bool(0.5) { Method::PUT } else { Method::DELETE };
                let path = format!("/api/v1/items/{item}/follow");
                let answer = self.as_party(agent, method.clone(), &path, None).await;
                format!("agent {agent} {method} follow item {item}: {}", answer.status)
            }
            62..=66 => self.sign_out(agent).await,
            67..=73 => {
                let change = json!({ "project_id": project });
                let answer = self.admin.send(Method::PATCH, &format!("/api/v1/items/{item}"), Some(change)).await;
                format!("item {item} moves to project {project}: {}", answer.status)
            }
            74..=80 => {
                let customer = self.pick(&self.customers.iter().copied().collect::<Vec<_>>());
                let change = json!({ "requester_id": customer });
                let answer = self.admin.send(Method::PATCH, &format!("/api/v1/items/{item}"), Some(change)).await;
                format!("item {item} now requested by customer {customer}: {}", answer.status)
            }
            81..=87 => self.merge().await,
            88..=93 if self.visitors().len() > 3 => self.erase().await,
            // A handful of visitors at a time keeps every step's REST oracle cheap.
            _ if self.visitors().len() < 7 => self.new_visitor().await,
            _ => self.merge().await,
        }
    }

    async fn patch_user(&mut self, agent: usize, change: Value) -> String {
        let id = self.parties[agent].user_id.unwrap();
        let answer = self.admin.send(Method::PATCH, &format!("/api/v1/users/{id}"), Some(change.clone())).await;
        assert!(answer.status.is_success(), "{}", answer.body);
        format!("agent {agent} changed: {change}")
    }

    /// A message from the team (public or internal), or from a visitor in their own.
    async fn post(&mut self) -> String {
        let conversation = self.pick(&self.conversations.iter().copied().collect::<Vec<_>>());
        let readers: Vec<usize> =
            self.visitors().into_iter().filter(|p| self.parties[*p].subscribed.contains(&conversation)).collect();
        if !readers.is_empty() && self.rng.gen_bool(0.5) {
            let p = self.pick(&readers);
            let path = format!("/api/v1/widget/conversations/{conversation}/messages");
            let answer = self.as_party(p, Method::POST, &path, Some(json!({"body": "from the customer"}))).await;
            assert!(answer.status.is_success(), "{}", answer.body);
            return format!("posted in {conversation} by visitor party {p}");
        }
        self.admin.say(conversation, "from the team").await.ok();
        format!("posted in {conversation} by the team")
    }

    async fn see_all(&mut self, agent: usize) -> String {
        let prefs = self.as_party(agent, Method::GET, "/api/v1/me/preferences", None).await;
        if !prefs.status.is_success() {
            return format!("agent {agent} cannot change preferences now");
        }
        let mut prefs = prefs.body;
        let on = self.rng.gen_bool(0.5);
        prefs["see_all_projects"] = json!(on);
        self.as_party(agent, Method::PUT, "/api/v1/me/preferences", Some(prefs)).await.ok();
        format!("agent {agent} sees all projects: {on}")
    }

    /// Bea's token is revoked, or Cid signs out.
    async fn sign_out(&mut self, agent: usize) -> String {
        let answer = match &self.parties[agent].login {
            Login::Token { token: None, .. } | Login::Cookie { session: None, .. } => {
                return format!("agent {agent} is signed out already");
            }
            Login::Token { .. } => {
                let tokens = self.as_party(agent, Method::GET, "/api/v1/tokens", None).await;
                match tokens.body.as_array().and_then(|t| t.last()).and_then(|t| t["id"].as_i64()) {
                    Some(id) => self.as_party(agent, Method::DELETE, &format!("/api/v1/tokens/{id}"), None).await,
                    None => return format!("agent {agent} has no token to revoke"),
                }
            }
            Login::Cookie { .. } => self.as_party(agent, Method::POST, "/api/v1/auth/logout", None).await,
            Login::Visitor { .. } => unreachable!("agents only"),
        };
        format!("agent {agent} signs out: {}", answer.status)
    }

    /// A visitor signs in on the site: as a site user seen before (their customer takes the
    /// visitor over, with what they wrote) or as a new one.
    async fn merge(&mut self) -> String {
        let p = self.pick(&self.visitors());
        self.sites += 1;
        let site =
            if self.sites > 2 && self.rng.gen_bool(0.7) { self.rng.gen_range(1..self.sites) } else { self.sites };
        let expires = self.app.clock.now_secs() + 3600;
        let identity = signed(&self.secret, &format!("site-{site}"), &format!("s{site}@example.com"), expires);
        let body = Some(json!({ "user": identity }));
        let answer = self.as_party(p, Method::POST, "/api/v1/widget/identify", body).await;
        let now = answer.body["id"].as_i64();
        if let (Some(now), Login::Visitor { customer, .. }) = (now, &mut self.parties[p].login) {
            *customer = now;
            self.customers.insert(now);
        }
        self.forget_missing_customers().await;
        format!("visitor party {p} signs in as site user {site}: {} {:?}", answer.status, now)
    }

    async fn erase(&mut self) -> String {
        let customer = self.pick(&self.customers.iter().copied().collect::<Vec<_>>());
        let answer = self.admin.delete(&format!("/api/v1/customers/{customer}")).await;
        self.forget_missing_customers().await;
        let conversations = self.conversations.clone();
        for id in conversations {
            if self.admin.get(&format!("/api/v1/conversations/{id}")).await.status == 404 {
                self.conversations.remove(&id);
            }
        }
        format!("customer {customer} erased: {}", answer.status)
    }

    /// Drops customers merged away or erased from those the next steps pick.
    async fn forget_missing_customers(&mut self) {
        for id in self.customers.clone() {
            if self.admin.get(&format!("/api/v1/customers/{id}")).await.status == 404 {
                self.customers.remove(&id);
            }
        }
    }

    /// A REST call as this party, with its current credential.
    async fn as_party(&self, p: usize, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut req = self.app.client().request(method, path);
        match &self.parties[p].login {
            Login::Visitor { token, .. } => req = req.header("x-rapport-visitor", token),
            Login::Token { token, .. } => req = req.bearer_auth(token.as_deref().unwrap_or("signed-out")),
            Login::Cookie { session: Some((cookie, csrf)), .. } => {
                req = req.header("cookie", cookie).header("x-csrf-token", csrf)
            }
            Login::Cookie { session: None, .. } => {}
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        answer(req.send().await.unwrap()).await
    }

    /// What party `p` may read now, over REST.
    async fn readable(&self, p: usize) -> Readable {
        if let Login::Visitor { .. } = self.parties[p].login {
            let listed = self.as_party(p, Method::GET, "/api/v1/widget/conversations", None).await;
            if listed.status == 401 {
                return None;
            }
            let listed = listed.ok();
            let entries = listed.as_array().expect("a list of conversations");
            return Some(
                entries.iter().map(|c| (c["id"].as_i64().unwrap(), c["last_seq"].as_i64().unwrap())).collect(),
            );
        }
        if !self.as_party(p, Method::GET, "/api/v1/me", None).await.status.is_success() {
            return None;
        }
        let mut readable = BTreeMap::new();
        for id in &self.conversations {
            let answer = self.as_party(p, Method::GET, &format!("/api/v1/conversations/{id}"), None).await;
            if answer.status.is_success() {
                readable.insert(*id, answer.body["last_seq"].as_i64().unwrap());
            }
        }
        Some(readable)
    }
}

/// What a socket said next.
enum Heard {
    Frame(Value),
    Closed(Option<u16>),
}

async fn hear(socket: &mut Live, deadline: tokio::time::Instant, context: &str) -> Heard {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let next = tokio::time::timeout_at(deadline, socket.ws.next()).await;
        match next.unwrap_or_else(|_| panic!("{context}: the socket did not settle in time")) {
            Some(Ok(Message::Text(text))) => return Heard::Frame(serde_json::from_str(&text).expect("JSON")),
            Some(Ok(Message::Close(frame))) => return Heard::Closed(frame.map(|f| f.code.into())),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return Heard::Closed(None),
        }
    }
}

impl Party {
    /// Checks one frame against what the principal may read now and records what it carried.
    fn absorb(&mut self, frame: &Value, readable: &BTreeMap<i64, i64>, pending: &mut BTreeSet<i64>, context: &str) {
        let conversation = frame["conversation_id"].as_i64().or(frame["conversation"]["id"].as_i64());
        let may_read = conversation.is_some_and(|c| readable.contains_key(&c));
        match frame["type"].as_str().unwrap_or("") {
            "message" => {
                let (c, seq) = (conversation.unwrap(), frame["message"]["seq"].as_i64().unwrap());
                assert!(may_read, "{context}: leaked message {c}#{seq}: {frame}");
                assert!(self.subscribed.contains(&c), "{context}: message of an unsubscribed conversation: {frame}");
                assert!(self.received.entry(c).or_default().insert(seq), "{context}: {c}#{seq} twice");
            }
            "subscribed" => {
                pending.remove(&conversation.unwrap());
            }
            "unsubscribed" => {
                assert_eq!(frame["reason"], "access_revoked", "{context}: {frame}");
                assert!(!may_read, "{context}: ended a subscription it may still read: {frame}");
                self.subscribed.remove(&conversation.unwrap());
            }
            "inbox" | "conversation" | "typing" | "seen" => {
                // The hub tells of changes in commit order, after the commit: a change made
                // while the party could still read the conversation may reach it just after
                // the step that took the conversation away has been answered (the ping that
                // settles a step goes around the hub). Nothing it never could read, ever.
                let before = conversation.is_some_and(|c| self.was_readable.contains(&c));
                assert!(may_read || before, "{context}: leaked {frame}");
            }
            "error" => panic!("{context}: {frame}"),
            _ => {}
        }
    }

    /// Whether the socket has everything it may read, and nothing else subscribed.
    fn complete(&self, readable: &BTreeMap<i64, i64>) -> bool {
        self.subscribed.iter().eq(readable.keys())
            && readable.iter().all(|(c, last)| {
                let got = self.received.get(c).map_or(0, |s| s.len() as i64);
                got == *last && self.received.get(c).is_none_or(|s| s.last().copied().unwrap_or(0) == *last)
            })
    }
}

impl World {
    /// After a step: every socket agrees with what REST lets its principal read; sockets whose
    /// principal ended are closed with the right code; those who may sign in again do.
    /// The admin goes first: their socket reads everything, so once it has a step's message,
    /// every room has handed it to every listener, and the pings of the others come after it.
    async fn check(&mut self, op: &str) {
        let mut p = 0;
        while p < self.parties.len() {
            if self.check_party(p, op).await {
                p += 1;
            } else {
                self.parties.remove(p); // an erased visitor: their token admits nobody, for good
            }
        }
    }

    /// False when the party can never connect again.
    async fn check_party(&mut self, p: usize, op: &str) -> bool {
        let context = format!("{op}; party {p}");
        if self.parties[p].socket.is_some() {
            let readable = self.readable(p).await;
            let party = &self.parties[p];
            let closing = match (&readable, &party.login) {
                (None, _) => Some(4401),
                (Some(_), Login::Visitor { customer, .. }) if party.socket_of != Some(*customer) => Some(4409),
                _ => None,
            };
            match (closing, readable) {
                (Some(code), _) => self.expect_close(p, code, &context).await,
                (None, Some(readable)) => return self.settle(p, &readable, &context).await,
                (None, None) => unreachable!(),
            }
        }
        if !self.sign_in(p).await {
            return !matches!(self.parties[p].login, Login::Visitor { .. });
        }
        let Some(readable) = self.readable(p).await else {
            // Signed out for good (a deactivation ends cookie sessions): sign in afresh later.
            match &mut self.parties[p].login {
                Login::Visitor { .. } => return false,
                Login::Token { token, .. } => *token = None,
                Login::Cookie { session, .. } => *session = None,
            }
            return true;
        };
        self.connect(p).await;
        self.settle(p, &readable, &context).await
    }

    async fn expect_close(&mut self, p: usize, code: u16, context: &str) {
        let party = &mut self.parties[p];
        let socket = party.socket.as_mut().unwrap();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match hear(socket, deadline, context).await {
                Heard::Closed(got) => {
                    assert_eq!(got, Some(code), "{context}: closed with the wrong code");
                    self.seen.closed += 1;
                    break;
                }
                Heard::Frame(frame) => {
                    let t = frame["type"].as_str().unwrap_or("");
                    // An agent's inbox hears of a change after the hub has read how it looks to
                    // them, so the inbox frame of the step before may come after that step's
                    // pong: about a conversation they could read then, it is no leak.
                    let earlier = t == "inbox"
                        && frame["conversation"]["id"].as_i64().is_some_and(|c| party.subscribed.contains(&c));
                    assert!(
                        earlier || !matches!(t, "message" | "inbox" | "error"),
                        "{context}: before the close: {frame}"
                    );
                }
            }
        }
        party.socket = None;
        party.socket_of = None;
        party.subscribed.clear();
    }

    /// Makes sure the party has a credential; false if it cannot get one now.
    async fn sign_in(&mut self, p: usize) -> bool {
        let app = &self.app;
        match &mut self.parties[p].login {
            Login::Visitor { .. } => true,
            Login::Cookie { session: Some(_), .. } | Login::Token { token: Some(_), .. } => true,
            Login::Cookie { email, session } => {
                *session = try_cookie_session(app, email).await;
                session.is_some()
            }
            Login::Token { email, token } => {
                let Some(session) = try_cookie_session(app, email).await else { return false };
                let req = app.client().request(Method::POST, "/api/v1/tokens");
                let req = req.header("cookie", &session.0).header("x-csrf-token", &session.1);
                let created = answer(req.json(&json!({"name": "model"})).send().await.unwrap()).await.ok();
                *token = created["secret"].as_str().map(str::to_owned);
                true
            }
        }
    }

    async fn connect(&mut self, p: usize) {
        let app = &self.app;
        let party = &mut self.parties[p];
        let (path, headers) = match &party.login {
            Login::Visitor { token, .. } => (format!("/api/v1/widget/socket?token={token}"), vec![]),
            Login::Token { token, .. } => {
                ("/api/v1/socket".to_owned(), vec![("authorization", format!("Bearer {}", token.as_deref().unwrap()))])
            }
            Login::Cookie { session, .. } => (
                "/api/v1/socket".to_owned(),
                vec![("cookie", session.as_ref().unwrap().0.clone()), ("origin", app.base.clone())],
            ),
        };
        let ws = open(app, &path, &headers, None).await.expect("the socket opens");
        let mut socket = Live { ws };
        let hello = socket.next_any().await;
        assert_eq!(hello["type"], "hello");
        party.socket_of = hello["you"]["id"].as_i64();
        if party.user_id.is_some() {
            socket.send(json!({"type": "watch_inbox"})).await;
        }
        party.socket = Some(socket);
    }

    /// Subscribes to what became readable, then reads until the socket has exactly what it
    /// may read (a ping's pong closes the reading, so nothing queued before it is missed).
    async fn settle(&mut self, p: usize, readable: &BTreeMap<i64, i64>, context: &str) -> bool {
        let party = &mut self.parties[p];
        let mut pending = BTreeSet::new();
        for c in readable.keys() {
            if party.subscribed.insert(*c) {
                let after = party.received.get(c).and_then(|s| s.last().copied()).unwrap_or(0);
                let socket = party.socket.as_mut().unwrap();
                socket.send(json!({"type": "subscribe", "conversation_id": c, "after_seq": after})).await;
                pending.insert(*c);
            }
        }
        let deadline = tokio::time::Instant::now() + WAIT * 2;
        let mut pinged = false;
        loop {
            let done = pending.is_empty() && party.complete(readable);
            if done && !pinged {
                party.socket.as_mut().unwrap().send(json!({"type": "ping"})).await;
                pinged = true;
            }
            let heard = hear(party.socket.as_mut().unwrap(), deadline, context).await;
            match heard {
                Heard::Closed(code) => panic!("{context}: closed ({code:?}) though it may still read"),
                Heard::Frame(frame) if frame["type"] == "pong" => {
                    assert!(party.complete(readable), "{context}: changed after settling");
                    party.was_readable = readable.keys().copied().collect();
                    return true;
                }
                Heard::Frame(frame) => {
                    match frame["type"].as_str() {
                        Some("message") => self.seen.messages += 1,
                        Some("unsubscribed") => self.seen.unsubscribed += 1,
                        _ => {}
                    }
                    party.absorb(&frame, readable, &mut pending, context)
                }
            }
        }
    }
}

async fn try_cookie_session(app: &TestApp, email: &str) -> Option<(String, String)> {
    let login = app.client().login(email, PASSWORD).await;
    if !login.status.is_success() {
        return None;
    }
    Some(cookie_session(app, email).await)
}
