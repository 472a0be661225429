//! A real SMTP server for the tests: aiosmtpd (from PyPI, in the tests' Python; see
//! `helpers::python`), delivering into a Maildir that the tests read.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

pub struct SmtpServer {
    pub port: u16,
    maildir: tempfile::TempDir,
    child: Option<Child>,
    /// aiosmtpd's TLS options (`--smtpscert`…), if it speaks TLS.
    tls: Vec<String>,
}

/// How a TLS test server speaks TLS: from the first byte (smtps) or after STARTTLS.
#[derive(Clone, Copy)]
pub enum Tls {
    Implicit,
    StartTls,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl SmtpServer {
    /// Starts aiosmtpd; mail to addresses starting with "reject" gets a 550.
    pub fn start() -> SmtpServer {
        let mut server =
            SmtpServer { port: free_port(), maildir: tempfile::tempdir().unwrap(), child: None, tls: vec![] };
        server.start_again();
        server
    }

    /// Starts aiosmtpd speaking TLS with a self-signed certificate for 127.0.0.1, one no
    /// certificate authority vouches for.
    pub fn start_self_signed(tls: Tls) -> SmtpServer {
        let maildir = tempfile::tempdir().unwrap();
        let (cert, key) = (maildir.path().join("cert.pem"), maildir.path().join("key.pem"));
        let made = std::process::Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"])
            .args(["-addext", "subjectAltName=IP:127.0.0.1", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl");
        assert!(made.success(), "openssl made no certificate");
        let (cert_flag, key_flag) = match tls {
            Tls::Implicit => ("--smtpscert", "--smtpskey"),
            Tls::StartTls => ("--tlscert", "--tlskey"),
        };
        let path = |p: &std::path::Path| p.to_string_lossy().into_owned();
        let tls = vec![cert_flag.to_owned(), path(&cert), key_flag.to_owned(), path(&key)];
        let mut server = SmtpServer { port: free_port(), maildir, child: None, tls };
        server.start_again();
        server
    }

    /// Stops the server, as a crashed or unreachable mail server would be.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, delivering into the same Maildir.
    pub fn start_again(&mut self) {
        let here = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api");
        let child = crate::helpers::python()
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{}", self.port),
                "-c",
                "smtp_sink.RejectingMailbox",
            ])
            .args(&self.tls)
            .arg(self.maildir.path().join("mail"))
            .env("PYTHONPATH", here)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python with aiosmtpd (tests/run.sh installs it in tests/.venv)");
        self.child = Some(child);
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(15), "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message delivered so far, as raw RFC 5322 text.
    pub fn messages(&self) -> Vec<String> {
        let dir: PathBuf = self.maildir.path().join("mail").join("new");
        let mut files: Vec<_> =
            std::fs::read_dir(dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
        files.sort();
        files.iter().filter_map(|p| std::fs::read_to_string(p).ok()).collect()
    }

    /// Waits until at least `n` messages arrived.
    pub fn wait_for(&self, n: usize) -> Vec<String> {
        let start = Instant::now();
        loop {
            let got = self.messages();
            if got.len() >= n || start.elapsed() > Duration::from_secs(10) {
                return got;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
