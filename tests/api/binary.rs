//! Smoke tests of the real `rapport` binary: serve, healthcheck, admin commands beside a
//! running server, a clean stop on SIGTERM, configuration errors.

use crate::helpers::{clean_command, Client, PASSWORD};
use serde_json::json;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_rapport");
const EMAIL: &str = "owner@example.com";
const NEW_PASSWORD: &str = "a much better passphrase";

/// The binary with no `RAPPORT_*` setting inherited from whoever runs the tests.
fn rapport() -> Command {
    let mut cmd = clean_command(BIN);
    cmd.env("RAPPORT_LOG", "info");
    cmd
}

/// Runs to completion (killing it after `limit`), feeding `stdin`.
fn run(mut cmd: Command, stdin: Option<&str>, limit: Duration) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().expect("the binary starts");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let _ = pipe.write_all(input.as_bytes());
        drop(pipe);
    }
    let (out, out_reader) = drain(child.stdout.take().unwrap());
    let (err, err_reader) = drain(child.stderr.take().unwrap());
    let status = wait_for(&mut child, limit).unwrap_or_else(|| {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{cmd:?} did not finish within {limit:?}; stderr: {}", text(&err))
    });
    // The pipes reach end-of-file once the process has exited.
    out_reader.join().unwrap();
    err_reader.join().unwrap();
    let stdout = out.lock().unwrap().clone();
    let stderr = err.lock().unwrap().clone();
    Output { status, stdout, stderr }
}

/// Copies a pipe into a shared buffer on a thread, so the child never blocks on a full pipe.
fn drain(mut pipe: impl Read + Send + 'static) -> (Arc<Mutex<Vec<u8>>>, JoinHandle<()>) {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let sink = buf.clone();
    let reader = std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    (buf, reader)
}

fn text(buf: &Arc<Mutex<Vec<u8>>>) -> String {
    String::from_utf8_lossy(&buf.lock().unwrap()).into_owned()
}

fn wait_for(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn healthcheck(port: u16) -> Output {
    let mut cmd = rapport();
    cmd.args(["healthcheck", "--url", &format!("http://127.0.0.1:{port}/healthz")]);
    run(cmd, None, Duration::from_secs(10))
}

/// A `rapport serve` process, killed if a test fails before stopping it.
struct Server {
    child: Child,
    port: u16,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

impl Server {
    /// Starts on a free port and waits until `rapport healthcheck` passes. The port is free
    /// when picked but may be taken before the server binds it: then it tries another.
    fn start(data_dir: &Path) -> Server {
        Server::start_with(data_dir, &[])
    }

    /// Starts with extra environment variables.
    fn start_with(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        for _attempt in 0..3 {
            let port = free_port();
            let mut cmd = rapport();
            cmd.envs(env.iter().copied());
            cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
                .arg(data_dir)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = cmd.spawn().expect("rapport serve starts");
            let (stdout, out_reader) = drain(child.stdout.take().unwrap());
            let (stderr, err_reader) = drain(child.stderr.take().unwrap());
            let mut server = Server { child, port, stdout, stderr, readers: vec![out_reader, err_reader] };
            let start = Instant::now();
            loop {
                if let Some(status) = server.child.try_wait().unwrap() {
                    let stderr = text(&server.stderr);
                    if stderr.contains("cannot listen") {
                        break; // the port was taken meanwhile: another one
                    }
                    panic!("rapport serve exited early with {status}; stderr: {stderr}");
                }
                // Healthy, and still running (so it was this process that answered).
                if healthcheck(port).status.success() && server.child.try_wait().unwrap().is_none() {
                    return server;
                }
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "not healthy within 10 s; stderr: {}",
                    text(&server.stderr)
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("could not find a free port in 3 attempts");
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn client(&self) -> Client {
        Client {
            base: self.base(),
            http: reqwest::Client::builder().cookie_store(true).build().unwrap(),
            csrf: None,
            bearer: None,
        }
    }

    async fn logged_in(&self, password: &str) -> Client {
        let mut client = self.client();
        let me = client.login(EMAIL, password).await.ok();
        client.csrf = me["csrf_token"].as_str().map(str::to_owned);
        client
    }

    /// Waits up to `limit` for `needle` on standard output.
    fn wait_stdout(&self, needle: &str, limit: Duration) -> String {
        let start = Instant::now();
        loop {
            let out = text(&self.stdout);
            if out.contains(needle) || start.elapsed() > limit {
                return out;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// SIGTERM, then the exit status, stdout and stderr.
    fn terminate(mut self) -> (ExitStatus, String, String) {
        let pid = self.child.id().to_string();
        let kill = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        assert!(kill.success());
        let status = wait_for(&mut self.child, Duration::from_secs(15))
            .unwrap_or_else(|| panic!("no exit within 15 s of SIGTERM; stderr: {}", text(&self.stderr)));
        for reader in self.readers.drain(..) {
            reader.join().unwrap();
        }
        (status, text(&self.stdout), text(&self.stderr))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn admin_command(sub: &str, data_dir: &Path, password: &str) -> Output {
    let mut cmd = rapport();
    cmd.args(["admin", sub, "--email", EMAIL, "--password-stdin", "--data-dir"]).arg(data_dir);
    if sub == "create" {
        cmd.args(["--name", "Olive Owner"]);
    }
    run(cmd, Some(&format!("{password}\n")), Duration::from_secs(20))
}

fn wal_len(data_dir: &Path) -> u64 {
    std::fs::metadata(data_dir.join("rapport.db-wal")).map(|m| m.len()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_admin_commands_sigterm_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    // First start: no admin yet, so the one-time setup link is printed.
    let server = Server::start(&data);
    let out = server.wait_stdout("/setup?token=", Duration::from_secs(5));
    assert!(out.contains(&format!("{}/setup?token=", server.base())), "stdout: {out}");

    // The admin commands work beside the running server.
    let created = admin_command("create", &data, PASSWORD);
    assert!(created.status.success(), "admin create failed: {}", String::from_utf8_lossy(&created.stderr));
    assert!(String::from_utf8_lossy(&created.stdout).contains(EMAIL));
    let admin = server.logged_in(PASSWORD).await;
    let me = admin.get("/api/v1/me").await.ok();
    assert_eq!(me["user"]["email"], EMAIL);
    assert_eq!(me["user"]["role"], "admin");

    // A second create with the same email is refused.
    let again = admin_command("create", &data, PASSWORD);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    let bot = admin.with_bearer(&admin.api_token().await);
    let reset = admin_command("reset-password", &data, NEW_PASSWORD);
    assert!(reset.status.success(), "reset failed: {}", String::from_utf8_lossy(&reset.stderr));
    let said = String::from_utf8_lossy(&reset.stdout);
    assert!(said.contains("ended 1 browser session(s) and revoked 1 API token(s)"), "{said}");
    // The reset ends every session and token ...
    let after_reset = admin.get("/api/v1/me").await;
    assert_eq!(after_reset.status.as_u16(), 401, "the old session still works: {}", after_reset.body);
    bot.get("/api/v1/me").await.expect(401, "unauthenticated");
    // ... the old password fails and the new one works.
    server.client().login(EMAIL, PASSWORD).await.expect(401, "invalid_credentials");
    let admin = server.logged_in(NEW_PASSWORD).await;

    // Resetting an unknown account fails.
    let mut cmd = rapport();
    cmd.args(["admin", "reset-password", "--email", "nobody@example.com", "--password-stdin", "--data-dir"]).arg(&data);
    let unknown = run(cmd, Some("whatever-long-enough\n"), Duration::from_secs(20));
    assert!(!unknown.status.success());

    // Some data, so the WAL has something in it.
    let project = admin.project("Binary").await;
    let created = admin
        .post(
            "/api/v1/conversations",
            json!({"kind": "internal", "project_id": project, "subject": "Smoke",
            "message": {"body": "first"}}),
        )
        .await
        .ok();
    let conversation = created["conversation"]["id"].as_i64().unwrap();
    for i in 2..=5 {
        admin.say(conversation, &format!("message {i}")).await.ok();
    }
    assert!(wal_len(&data) > 0, "writes are expected to go through the WAL while serving");

    // SIGTERM: a clean exit, and the WAL folded into the database file.
    let (status, _, stderr) = server.terminate();
    assert!(status.success(), "exit after SIGTERM: {status}; stderr: {stderr}");
    assert_eq!(wal_len(&data), 0, "the WAL is not empty after a clean stop; stderr: {stderr}");
    assert!(data.join("rapport.db").is_file());

    // Restart on the same dir: everything is there, and there is no setup link any more.
    let server = Server::start(&data);
    server.client().login(EMAIL, PASSWORD).await.expect(401, "invalid_credentials");
    let admin = server.logged_in(NEW_PASSWORD).await;
    let got = admin.get(&format!("/api/v1/projects/{project}")).await.ok();
    assert_eq!(got["name"], "Binary");
    let messages = admin.get(&format!("/api/v1/conversations/{conversation}/messages")).await.ok();
    let messages: Vec<(i64, String)> = messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["seq"].as_i64().unwrap(), m["body"].as_str().unwrap().to_owned()))
        .collect();
    let expected: Vec<(i64, String)> =
        (1..=5).map(|i| (i, if i == 1 { "first".to_owned() } else { format!("message {i}") })).collect();
    assert_eq!(messages, expected);

    let (status, stdout, stderr) = server.terminate();
    assert!(status.success(), "exit after SIGTERM: {status}; stderr: {stderr}");
    assert!(!stdout.contains("/setup?token="), "a setup link was printed although an admin exists: {stdout}");
    assert_eq!(wal_len(&data), 0);
}

/// `rapport restore --data-dir DIR FILE`.
fn restore(data_dir: &Path, file: &Path) -> Output {
    let mut cmd = rapport();
    cmd.args(["restore", "--data-dir"]).arg(data_dir).arg(file);
    run(cmd, None, Duration::from_secs(20))
}

/// Every message body of a conversation, and the bytes of an attachment, as served.
async fn served(admin: &Client, conversation: i64, attachment: i64) -> (Vec<String>, Vec<u8>) {
    let messages = admin.get(&format!("/api/v1/conversations/{conversation}/messages")).await.ok();
    let bodies = messages.as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap().to_owned()).collect();
    let file = admin.request(reqwest::Method::GET, &format!("/api/v1/attachments/{attachment}")).send().await.unwrap();
    assert_eq!(file.status().as_u16(), 200);
    (bodies, file.bytes().await.unwrap().to_vec())
}

/// The README's promises: after SIGTERM the database file alone is the whole state (a copy of
/// it serves everything, attachments included); `rapport backup` runs beside the server and
/// `rapport restore` puts a backup back, refusing while the server runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_after_sigterm_is_everything_and_restore_puts_a_backup_back() {
    if crate::helpers::sqlite_only("the SQLite file and its backup") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    assert!(admin_command("create", &data, PASSWORD).status.success());
    let admin = server.logged_in(PASSWORD).await;
    let project = admin.project("Restore").await;
    let picture: Vec<u8> =
        b"\x89PNG\r\n\x1a\n".iter().copied().chain((0..300_000u32).map(|i| (i % 253) as u8)).collect();
    let uploaded = admin
        .request(reqwest::Method::POST, "/api/v1/attachments?filename=kept.png")
        .header("content-type", "image/png")
        .body(picture.clone())
        .send()
        .await
        .unwrap();
    let attachment = crate::helpers::answer(uploaded).await.ok()["id"].as_i64().unwrap();
    let conversation = admin
        .conversation(json!({"kind": "internal", "project_id": project, "subject": "Kept",
            "message": {"body": "before the backup", "attachment_ids": [attachment]}}))
        .await;

    // A second server on the same data dir is refused.
    let mut second = rapport();
    second.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"]).arg(&data);
    let second = run(second, None, Duration::from_secs(10));
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("another rapport is serving"));

    let backup = dir.path().join("nightly.db");
    let mut cmd = rapport();
    cmd.args(["backup", "--data-dir"]).arg(&data).arg(&backup);
    let made = run(cmd, None, Duration::from_secs(20));
    assert!(made.status.success(), "backup: {}", String::from_utf8_lossy(&made.stderr));
    admin.say(conversation, "after the backup").await.ok();

    let refused = restore(&data, &backup);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("stop it first"), "{refused:?}");

    let (status, _, stderr) = server.terminate();
    assert!(status.success(), "{stderr}");

    // The file alone, copied after the clean stop, serves everything.
    let copy = dir.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    std::fs::copy(data.join("rapport.db"), copy.join("rapport.db")).unwrap();
    let server = Server::start(&copy);
    let admin = server.logged_in(PASSWORD).await;
    let (bodies, bytes) = served(&admin, conversation, attachment).await;
    assert_eq!(bodies, ["before the backup", "after the backup"]);
    assert_eq!(bytes, picture, "the attachment did not survive the copy");
    assert!(server.terminate().0.success());

    // Restoring the backup brings back its moment; the database it replaced is kept.
    let restored = restore(&data, &backup);
    assert!(restored.status.success(), "restore: {}", String::from_utf8_lossy(&restored.stderr));
    let kept: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("rapport.db.before-restore-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    let server = Server::start(&data);
    let admin = server.logged_in(PASSWORD).await;
    let (bodies, bytes) = served(&admin, conversation, attachment).await;
    assert_eq!(bodies, ["before the backup"]);
    assert_eq!(bytes, picture);
    assert!(server.terminate().0.success());

    // What is not a sound Rapport backup is refused, and the data dir is left alone.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all").unwrap();
    let empty = dir.path().join("empty.db");
    rusqlite::Connection::open(&empty).unwrap().execute_batch("CREATE TABLE t(x)").unwrap();
    let newer = dir.path().join("newer.db");
    std::fs::copy(&backup, &newer).unwrap();
    rusqlite::Connection::open(&newer).unwrap().pragma_update(None, "user_version", 9999).unwrap();
    let before = std::fs::read(data.join("rapport.db")).unwrap();
    for (file, says) in [(&junk, "not a database"), (&empty, "not a Rapport database"), (&newer, "newer Rapport")] {
        let out = restore(&data, file);
        assert!(!out.status.success(), "{file:?} was restored");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{file:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(std::fs::read(data.join("rapport.db")).unwrap(), before);
}

/// With `log_format = "json"` every line is one JSON object, and each request's lines carry its
/// id: the caller's `X-Request-Id`, echoed in the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &[("RAPPORT_LOG_FORMAT", "json")]);
    let res = server
        .client()
        .request(reqwest::Method::GET, "/api/v1/me")
        .header("x-request-id", "trace-me-7")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    assert_eq!(res.headers()["x-request-id"], "trace-me-7");
    let (status, _, stderr) = server.terminate();
    assert!(status.success(), "{stderr}");
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}")))
        .collect();
    assert!(lines.iter().any(|l| l["fields"]["message"] == "rapport is serving"), "{stderr}");
    let request = lines
        .iter()
        .find(|l| l["fields"]["path"] == "/api/v1/me")
        .unwrap_or_else(|| panic!("no line for the request: {stderr}"));
    assert_eq!(request["span"]["id"], "trace-me-7", "{request}");
    assert_eq!(request["fields"]["status"], 401);
    assert_eq!(request["fields"]["method"], "GET");
    assert!(request["fields"]["ms"].is_number());
}

#[test]
fn healthcheck_fails_when_nothing_listens() {
    let out = healthcheck(free_port());
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot connect"), "stderr: {stderr}");
}

#[test]
fn version_prints_the_version() {
    let mut cmd = rapport();
    cmd.arg("--version");
    let out = run(cmd, None, Duration::from_secs(10));
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(env!("CARGO_PKG_VERSION")), "stdout: {stdout}");
    assert!(stdout.starts_with("rapport "), "stdout: {stdout}");
}

#[test]
fn an_invalid_setting_stops_start_up_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    let mut cmd = rapport();
    cmd.env("RAPPORT_LISTEN", "nowhere").arg("serve").arg("--data-dir").arg(&data);
    let out = run(cmd, None, Duration::from_secs(10));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`listen`") && stderr.contains("RAPPORT_LISTEN"), "stderr: {stderr}");

    let mut cmd = rapport();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--base-url", "ftp://x", "--data-dir"]).arg(&data);
    let out = run(cmd, None, Duration::from_secs(10));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`base_url`") && stderr.contains("--base-url"), "stderr: {stderr}");

    // A bad setting from a config file is named too, with its file.
    let file = dir.path().join("rapport.toml");
    std::fs::write(&file, "session_hours = 0\n").unwrap();
    let mut cmd = rapport();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--config"]).arg(&file).arg("--data-dir").arg(&data);
    let out = run(cmd, None, Duration::from_secs(10));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`session_hours`") && stderr.contains("rapport.toml"), "stderr: {stderr}");

    // Nothing was started, so nothing was created.
    assert!(!data.exists(), "an invalid configuration still created the data dir");
}

#[test]
fn admin_create_with_a_short_password_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = admin_command("create", &data, "short");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("at least 8"), "stderr: {stderr}");
    assert!(!data.join("rapport.db").exists(), "a refused admin create still created a database");

    // Also on an existing database: no user appears.
    let ok = admin_command("create", &data, PASSWORD);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let mut cmd = rapport();
    cmd.args([
        "admin",
        "create",
        "--email",
        "second@example.com",
        "--name",
        "Second",
        "--password-stdin",
        "--data-dir",
    ])
    .arg(&data);
    let out = run(cmd, Some("1234567\n"), Duration::from_secs(20));
    assert!(!out.status.success());
    let db = rusqlite::Connection::open(data.join("rapport.db")).unwrap();
    let users: Vec<String> = db
        .prepare("SELECT email FROM users ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(users, [EMAIL]);

    // No password on standard input at all is refused as well.
    let mut cmd = rapport();
    cmd.args(["admin", "create", "--email", "third@example.com", "--name", "Third", "--password-stdin", "--data-dir"])
        .arg(&data);
    let out = run(cmd, Some(""), Duration::from_secs(20));
    assert!(!out.status.success());
    let count: i64 = db.query_row("SELECT count(*) FROM users", [], |r| r.get(0)).unwrap();
    assert_eq!(count, 1);
}
