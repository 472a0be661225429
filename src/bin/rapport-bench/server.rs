//! The server under test: the real `rapport` binary started here on a temporary data dir, or
//! one already running (`--url`, `--token`).

use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The admin made here (and by `history`'s seeding), and every bench user's password.
pub const ADMIN_EMAIL: &str = "bench@example.com";
pub const PASSWORD: &str = "bench password";

pub struct Server {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
    child: Option<Child>,
    /// A running server's process, when given (`--pid`): its memory and CPU time are read.
    remote_pid: Option<u32>,
    /// How to start it again: the binary, its arguments and data dir.
    exe: std::path::PathBuf,
    args: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

impl Server {
    pub fn remote(url: &str, token: &str, pid: Option<u32>) -> Server {
        Server {
            base: url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            http: reqwest::Client::new(),
            child: None,
            remote_pid: pid,
            exe: Default::default(),
            args: Vec::new(),
        }
    }

    /// Stops the server the way SIGTERM does (gracefully); how long it took to exit.
    pub fn stop(&mut self) -> Option<Duration> {
        let mut child = self.child.take()?;
        let asked = Instant::now();
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let _ = child.wait();
        Some(asked.elapsed())
    }

    /// Starts the same server again, on the same port and data, with `env` added.
    pub async fn restart(&mut self, env: &[(&str, String)]) -> Result<(), String> {
        self.stop();
        let child = Command::new(&self.exe)
            .args(&self.args)
            .env("RAPPORT_LOG", "warn")
            .env("RAPPORT_VISITOR_LIMIT", "1000000000")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.exe.display()))?;
        self.child = Some(child);
        let start = Instant::now();
        while self.http.get(format!("{}/healthz", self.base)).send().await.is_err() {
            if start.elapsed() > Duration::from_secs(20) {
                return Err("the server did not start".into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// Starts `rapport serve` (the binary beside this one) and an admin with an API token.
    pub async fn start(dir: &Path, env: &[(&str, String)]) -> Result<Server, String> {
        let data = dir.join("data");
        let mut server = Server::serve(&data, env).await?;
        let exe = server.exe.clone();
        let mut admin = Command::new(&exe)
            .args(["admin", "create", "--email", ADMIN_EMAIL, "--name", "Bench", "--password-stdin", "--data-dir"])
            .arg(&data)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        use std::io::Write;
        writeln!(admin.stdin.take().ok_or("no stdin")?, "{PASSWORD}").map_err(|e| e.to_string())?;
        admin.wait().map_err(|e| e.to_string())?;
        server.token = server.token_for(ADMIN_EMAIL).await?;
        Ok(server)
    }

    /// Starts `rapport serve` on the data dir `data` as it is, with no token yet.
    pub async fn serve(data: &Path, env: &[(&str, String)]) -> Result<Server, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?.with_file_name("rapport");
        let port = free_port()?;
        let base = format!("http://127.0.0.1:{port}");
        let args = vec![
            "serve".to_owned(),
            "--listen".to_owned(),
            format!("127.0.0.1:{port}"),
            "--data-dir".to_owned(),
            data.to_string_lossy().into_owned(),
        ];
        let http = reqwest::Client::new();
        let mut server = Server { base, token: String::new(), http, child: None, remote_pid: None, exe, args };
        server.restart(env).await?;
        Ok(server)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id).or(self.remote_pid)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("{}{path}", self.base.replacen("http", "ws", 1))
    }

    /// Logs a user in (with `PASSWORD`) and makes an API token.
    pub async fn token_for(&self, email: &str) -> Result<String, String> {
        let jar = reqwest::Client::builder().cookie_store(true).build().map_err(|e| e.to_string())?;
        let login =
            jar.post(format!("{}/api/v1/auth/login", self.base)).json(&json!({"email": email, "password": PASSWORD}));
        let me = json_of(login).await?;
        let csrf = me["csrf_token"].as_str().ok_or_else(|| format!("login failed: {me}"))?;
        let create = jar
            .post(format!("{}/api/v1/tokens", self.base))
            .header("X-CSRF-Token", csrf)
            .json(&json!({"name": "bench"}));
        let token = json_of(create).await?;
        token["secret"].as_str().map(str::to_owned).ok_or_else(|| format!("no token: {token}"))
    }

    /// GETs `path` with `token` and returns the JSON answer.
    pub async fn get(&self, path: &str, token: &str) -> Result<Value, String> {
        let req = self.http.get(format!("{}{path}", self.base)).bearer_auth(token);
        json_of(req).await.map_err(|e| format!("GET {path}: {e}"))
    }

    /// POSTs as the admin (or as a visitor) and returns the JSON answer.
    pub async fn post(&self, path: &str, body: Value, visitor: Option<&str>) -> Result<Value, String> {
        let req = self.http.post(format!("{}{path}", self.base)).json(&body);
        let req = match visitor {
            Some(v) => req.header("X-Rapport-Visitor", v),
            None => req.bearer_auth(&self.token),
        };
        json_of(req).await.map_err(|e| format!("POST {path}: {e}"))
    }

    /// An agent with its own API token.
    pub async fn agent(&self, email: &str) -> Result<String, String> {
        self.post("/api/v1/users", json!({"email": email, "name": email, "role": "agent", "password": PASSWORD}), None)
            .await?;
        self.token_for(email).await
    }
}

/// Sends a request and returns its JSON answer, or the error with the answer's body.
async fn json_of(req: reqwest::RequestBuilder) -> Result<Value, String> {
    let res = req.send().await.map_err(|e| e.to_string())?;
    let status = res.status();
    let value: Value = res.json().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{status} {value}"));
    }
    Ok(value)
}
