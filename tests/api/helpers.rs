//! Starts the real app in-process on port 0 with its own temporary data dir, and talks to it
//! over HTTP like any client would.

use rapport::app::Application;
use rapport::clock::ManualClock;
use rapport::config::Config;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub base: String,
    pub clock: ManualClock,
    pub data_dir: PathBuf,
    /// The port of the inbound SMTP listener, when the config asks for one.
    pub inbound_smtp: Option<u16>,
    /// The app's store: for arranging what no API makes, through the store's interface.
    pub store: rapport::store::Store,
    handle: actix_web::dev::ServerHandle,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _dir: Option<tempfile::TempDir>,
}

/// A logged-in (or anonymous) HTTP client with its own cookie jar.
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
}

/// A JSON answer: status and body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Answer {
    /// The stable error code, if this is an error.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    #[track_caller]
    pub fn ok(self) -> Value {
        assert!(self.status.is_success(), "expected success, got {} {}", self.status, self.body);
        self.body
    }

    #[track_caller]
    pub fn expect(self, status: u16, code: &str) -> Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.code(), code, "body: {}", self.body);
        self.body
    }
}

/// `program` (the `rapport` binary, or one unpacked from a release) with no `RAPPORT_*`
/// setting inherited from whoever runs the tests, and nothing on standard input.
pub fn clean_command(program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
    let mut cmd = std::process::Command::new(program);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("RAPPORT_") {
            cmd.env_remove(key);
        }
    }
    cmd.stdin(std::process::Stdio::null());
    cmd
}

/// The Python of the tests' tools (aiosmtpd, schemathesis): the virtual environment that
/// tests/run.sh makes and names in `RAPPORT_TEST_PYTHON`, else `python3`.
pub fn python() -> std::process::Command {
    std::process::Command::new(std::env::var_os("RAPPORT_TEST_PYTHON").unwrap_or_else(|| "python3".into()))
}

impl TestApp {
    /// Where this app keeps its data.
    pub fn database(&self) -> rapport::store::Location {
        self.store.location().clone()
    }
}

pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut app = spawn_app_at(dir.path()).await;
    app._dir = Some(dir);
    app
}

/// Starts an app on an existing data dir (for restarts); the caller keeps the dir alive.
pub async fn spawn_app_at(data_dir: &Path) -> TestApp {
    spawn_with(config_for(data_dir)).await
}

/// The test defaults for an app on `data_dir`: its data in the SQLite file there, or, when the
/// suite runs on PostgreSQL, in the database that belongs to the data dir.
pub fn config_for(data_dir: &Path) -> Config {
    let mut config = Config::for_tests(data_dir.to_path_buf());
    config.database_url = postgres_database(data_dir).map(rapport::domain::Secret::new);
    config
}

/// The PostgreSQL server the suite runs on, when `RAPPORT_TEST_POSTGRES` names one
/// (`postgres://user@host:port`, without a database; tests/run.sh starts a throwaway cluster
/// and names it).
pub fn test_postgres() -> Option<String> {
    std::env::var("RAPPORT_TEST_POSTGRES").ok().filter(|v| !v.is_empty())
}

/// Whether the suite runs on PostgreSQL while `what` is about SQLite alone (its file, its
/// backup): then the test that asks has nothing to check, and says so.
pub fn sqlite_only(what: &str) -> bool {
    let on_postgres = test_postgres().is_some();
    if on_postgres {
        eprintln!("on PostgreSQL, nothing to check: {what}");
    }
    on_postgres
}

/// The database of `data_dir` on the suite's PostgreSQL server, made empty on first use and
/// remembered in the data dir (so that a restarted app finds its data): its URL.
pub fn postgres_database(data_dir: &Path) -> Option<String> {
    let server = test_postgres()?;
    let marker = data_dir.join("test-database-url");
    if let Ok(url) = std::fs::read_to_string(&marker) {
        return Some(url);
    }
    let name = format!("rapport_test_{}", rand::random::<u64>());
    let admin = format!("{server}/postgres");
    let create = format!("CREATE DATABASE {name}");
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("the test PostgreSQL server");
        client.batch_execute(&create).expect("a database for the test");
    })
    .join()
    .expect("creating the test database");
    let url = format!("{server}/{name}");
    std::fs::create_dir_all(data_dir).expect("the data dir");
    std::fs::write(&marker, &url).expect("remembering the test database");
    Some(url)
}

pub async fn spawn_with(config: Config) -> TestApp {
    // RAPPORT_TEST_LOG=warn (any filter) shows what the apps log, to find out why a test failed.
    if let Ok(filter) = std::env::var("RAPPORT_TEST_LOG") {
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    }
    let clock = ManualClock::new(1_800_000_000_000);
    let data_dir = config.data_dir.clone();
    let app = Application::build(config, std::sync::Arc::new(clock.clone())).await.expect("app starts");
    let base = format!("http://127.0.0.1:{}", app.port());
    let inbound_smtp = app.inbound_smtp_port();
    let handle = app.handle();
    let store = app.store();
    let task = tokio::spawn(app.run_until_stopped());
    TestApp { base, clock, data_dir, inbound_smtp, store, handle, task: Some(task), _dir: None }
}

/// A new widget visitor: its token and customer id.
pub async fn visitor(app: &TestApp) -> (String, i64) {
    let v = app.client().post("/api/v1/widget/visitors", json!({})).await.ok();
    (v["token"].as_str().unwrap().to_owned(), v["customer"]["id"].as_i64().unwrap())
}

/// A request as a widget visitor (the visitor token in its header).
pub async fn as_visitor(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> Answer {
    let mut req = app.client().request(method, path).header("X-Rapport-Visitor", token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    answer(req.send().await.unwrap()).await
}

impl TestApp {
    pub fn client(&self) -> Client {
        Client::anonymous(&self.base)
    }

    /// Creates a user through the same code path as `rapport admin create`, or, for agents,
    /// through the API as the admin.
    pub async fn admin(&self) -> Client {
        let existing = self.client().login(ADMIN_EMAIL, PASSWORD).await;
        if existing.status.is_success() {
            return self.logged_in(ADMIN_EMAIL).await;
        }
        let password = rapport::domain::Password::parse(rapport::domain::Secret::new(PASSWORD)).unwrap();
        rapport::cli::admin::create(&self.database(), ADMIN_EMAIL, "Ada Admin", password).await.expect("admin created");
        self.logged_in(ADMIN_EMAIL).await
    }

    /// A new agent, created by the admin, logged in.
    pub async fn agent(&self, admin: &Client, email: &str) -> (Client, i64) {
        let user = admin
            .post("/api/v1/users", json!({"email": email, "name": email.split('@').next().unwrap(), "role": "agent", "password": PASSWORD}))
            .await
            .ok();
        (self.logged_in(email).await, user["id"].as_i64().unwrap())
    }

    pub async fn logged_in(&self, email: &str) -> Client {
        Client::logged_in(&self.base, email).await
    }

    /// Stops gracefully, as SIGTERM would, and waits until the store is closed.
    pub async fn stop(mut self) {
        self.handle.stop(true).await;
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server ran");
        }
    }

    /// Opens the database file directly, for assertions about what was (not) written.
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(rapport::store::db_path(&self.data_dir)).unwrap()
    }

    /// A portal session for a customer, as redeeming an emailed sign-in link makes one.
    pub async fn portal_session(&self, customer: i64, token: &str) {
        let now = rapport::clock::Clock::now_ms(&self.clock);
        self.store.customers().start_session(customer, rapport::token::hash(token), now).await.unwrap();
    }

    /// How many rows a table holds (`"outbox WHERE status = 'sent'"`), asked through the store.
    pub async fn count(&self, table: impl AsRef<str>) -> i64 {
        self.probe(format!("SELECT count(*) FROM {}", table.as_ref())).await.unwrap_or(0)
    }

    /// How many rows of `table`'s search index (messages, items) hold `word`.
    pub async fn indexed(&self, table: &str, word: &str) -> i64 {
        if self.store.location().is_postgres() {
            self.count(format!("{table} WHERE search @@ rapport_query('{word}')")).await
        } else {
            self.count(format!("{table}_fts WHERE {table}_fts MATCH '{word}'")).await
        }
    }

    /// The number a query gives (`None` for NULL), asked through the store.
    pub async fn probe(&self, sql: impl Into<String>) -> Option<i64> {
        self.store.probe(sql.into()).await.unwrap()
    }
}

impl Client {
    /// An anonymous client of the server at `base` (`http://127.0.0.1:PORT`), with its own
    /// cookie jar: for servers that are not a `TestApp`, such as the real binary.
    pub fn anonymous(base: &str) -> Client {
        Client {
            base: base.to_owned(),
            http: reqwest::Client::builder().cookie_store(true).build().unwrap(),
            csrf: None,
            bearer: None,
        }
    }

    /// A client of the server at `base`, logged in as `email` with the tests' password.
    pub async fn logged_in(base: &str, email: &str) -> Client {
        let mut client = Client::anonymous(base);
        let me = client.login(email, PASSWORD).await.ok();
        client.csrf = me["csrf_token"].as_str().map(str::to_owned);
        client
    }

    /// A client of the server at `base` that speaks as the widget visitor with this token.
    pub fn visitor(base: &str, token: &str) -> Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-rapport-visitor", token.parse().unwrap());
        let http = reqwest::Client::builder().default_headers(headers).build().unwrap();
        Client { base: base.to_owned(), http, csrf: None, bearer: None }
    }

    /// A new personal API token of this (logged-in) user.
    pub async fn api_token(&self) -> String {
        self.post("/api/v1/tokens", json!({"name": "test"})).await.ok()["secret"].as_str().unwrap().to_owned()
    }

    pub async fn login(&self, email: &str, password: &str) -> Answer {
        self.send(Method::POST, "/api/v1/auth/login", Some(json!({"email": email, "password": password}))).await
    }

    pub fn with_bearer(&self, token: &str) -> Client {
        Client { base: self.base.clone(), http: reqwest::Client::new(), csrf: None, bearer: Some(token.to_owned()) }
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(csrf) = &self.csrf {
            req = req.header("X-CSRF-Token", csrf);
        }
        if let Some(token) = &self.bearer {
            req = req.bearer_auth(token);
        }
        req
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut req = self.request(method, path);
        if let Some(body) = body {
            req = req.json(&body);
        }
        answer(req.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(Method::POST, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Option<Value>) -> Answer {
        self.send(Method::PUT, path, body).await
    }
    pub async fn delete(&self, path: &str) -> Answer {
        self.send(Method::DELETE, path, None).await
    }

    // Shortcuts for the things most tests need.

    /// The project of that name: the one a fresh install starts with ("Support"), or a new one.
    pub async fn project(&self, name: &str) -> i64 {
        let projects = self.get("/api/v1/projects").await.ok();
        if let Some(p) = projects.as_array().unwrap().iter().find(|p| p["name"] == name) {
            return p["id"].as_i64().unwrap();
        }
        self.post("/api/v1/projects", json!({"name": name})).await.ok()["id"].as_i64().unwrap()
    }
    pub async fn customer(&self, email: &str) -> i64 {
        self.post("/api/v1/customers", json!({"name": "Cus Tomer", "email": email})).await.ok()["id"].as_i64().unwrap()
    }
    pub async fn item(&self, project: i64, title: &str, requester: Option<i64>) -> i64 {
        self.post(
            "/api/v1/items",
            json!({"project_id": project, "kind": "ticket", "title": title, "requester_id": requester}),
        )
        .await
        .ok()["id"]
            .as_i64()
            .unwrap()
    }
    /// A conversation with a first message; returns its id.
    pub async fn conversation(&self, body: Value) -> i64 {
        self.post("/api/v1/conversations", body).await.ok()["conversation"]["id"].as_i64().unwrap()
    }
    pub async fn say(&self, conversation: i64, text: &str) -> Answer {
        self.post(&format!("/api/v1/conversations/{conversation}/messages"), json!({"body": text})).await
    }
}

impl Client {
    /// The built-in rule made from a template (`auto_reply`, `close_notice`, ...).
    pub async fn rule(&self, template: &str) -> Value {
        let rules = self.get("/api/v1/rules").await.ok();
        rules.as_array().unwrap().iter().find(|r| r["template"] == template).cloned().expect("the built-in rule")
    }

    /// Saves a rule with some of its fields changed (`{"enabled": false}`); returns it.
    pub async fn change_rule(&self, template: &str, change: Value) -> Value {
        let mut rule = self.rule(template).await;
        let input = rule.as_object_mut().unwrap();
        for key in ["id", "template", "created_at", "updated_at"] {
            input.remove(key);
        }
        for (k, v) in change.as_object().unwrap() {
            input.insert(k.clone(), v.clone());
        }
        let id = self.rule(template).await["id"].as_i64().unwrap();
        self.put(&format!("/api/v1/rules/{id}"), Some(rule)).await.ok()
    }
}

pub async fn answer(res: reqwest::Response) -> Answer {
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer { status, body }
}
