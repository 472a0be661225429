//! A real IMAP server for the tests: a private dovecot (Debian's dovecot-imapd) per test, in the
//! foreground on 127.0.0.1 and a free port, with its own config, runtime and state directories in
//! a temp dir, so it neither needs nor touches a system dovecot. One user, `support`/`secret`,
//! whose Maildir the tests fill and inspect directly.
//!
//! Dovecot runs its login and mail processes as an unprivileged user and refuses root for them,
//! so as root (CI) they run as `nobody`, who then owns the Maildir; otherwise as the current user.

use super::smtp::free_port;
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub struct ImapServer {
    port: u16,
    dir: tempfile::TempDir,
    owner: Account,
    child: Child,
}

/// Who dovecot's unprivileged processes run as, and so who owns the Maildir.
struct Account {
    user: String,
    group: String,
    uid: u32,
    gid: u32,
}

impl Drop for ImapServer {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its children too; SIGKILL only if it does not exit.
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ImapServer {
    pub fn start() -> ImapServer {
        let dovecot = dovecot_binary().unwrap_or_else(|| {
            panic!("dovecot is not installed (Debian package dovecot-imapd); tests/run.sh installs it")
        });
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // `nobody` has to reach the Maildir and the passwd file through this directory.
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
        let owner = if id(&["-u"]) == "0" { Account::of(Some("nobody")) } else { Account::of(None) };
        let home = root.join("home");
        for sub in ["", "Maildir", "Maildir/new", "Maildir/cur", "Maildir/tmp"] {
            let path = home.join(sub);
            std::fs::create_dir_all(&path).unwrap();
            owner.chown(&path);
        }
        let passwd = root.join("passwd");
        std::fs::write(&passwd, format!("support:{{PLAIN}}secret:{}:{}::{}::\n", owner.uid, owner.gid, home.display()))
            .unwrap();
        owner.chown(&passwd);

        let port = free_port();
        let config = root.join("dovecot.conf");
        std::fs::write(&config, config_text(root, port, &owner)).unwrap();
        let stderr = std::fs::File::create(root.join("stderr.log")).unwrap();
        let child = Command::new(&dovecot)
            .arg("-F")
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", dovecot.display()));
        let mut server = ImapServer { port, dir, owner, child };
        server.wait_until_ready();
        server
    }

    /// Until the greeting is Dovecot's "ready" rather than "Waiting for authentication process".
    fn wait_until_ready(&mut self) {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("dovecot exited at startup ({status}):\n{}", self.logs());
            }
            if let Ok(stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut greeting = String::new();
                let _ = BufReader::new(stream).read_line(&mut greeting);
                if greeting.starts_with("* OK") && !greeting.contains("Waiting") {
                    return;
                }
            }
            if start.elapsed() > Duration::from_secs(15) {
                panic!("dovecot did not accept IMAP connections within 15 s:\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn logs(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        format!("{}{}", read("stderr.log"), read("dovecot.log"))
    }

    pub fn url(&self) -> String {
        format!("imap://support:secret@127.0.0.1:{}/INBOX", self.port)
    }

    fn maildir(&self) -> PathBuf {
        self.dir.path().join("home").join("Maildir")
    }

    /// Drops a message into the Maildir's new/ the way an MTA does: written to tmp/, then renamed.
    pub fn deliver(&self, raw: &[u8]) {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        // Dovecot numbers new messages in the order of these time-prefixed names.
        let name = format!(
            "{}.M{}P{}Q{}.rapport-test",
            now.as_secs(),
            now.subsec_micros(),
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        let tmp = self.maildir().join("tmp").join(&name);
        std::fs::write(&tmp, raw).unwrap();
        self.owner.chown(&tmp);
        std::fs::rename(&tmp, self.maildir().join("new").join(&name)).unwrap();
    }

    /// Messages without the \Seen flag: all of new/, and the files in cur/ whose `:2,` flags lack S.
    pub fn unseen(&self) -> usize {
        let names = |sub: &str| -> Vec<String> {
            std::fs::read_dir(self.maildir().join(sub))
                .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
                .unwrap_or_default()
        };
        let unseen_in_cur = names("cur")
            .iter()
            .filter(|name| name.split_once(":2,").is_none_or(|(_, flags)| !flags.contains('S')))
            .count();
        names("new").len() + unseen_in_cur
    }
}

impl Account {
    /// The named user, or the current one.
    fn of(user: Option<&str>) -> Account {
        let ask = |flag: &str| match user {
            Some(user) => id(&[flag, user]),
            None => id(&[flag]),
        };
        Account {
            user: ask("-un"),
            group: ask("-gn"),
            uid: ask("-u").parse().unwrap(),
            gid: ask("-g").parse().unwrap(),
        }
    }

    fn chown(&self, path: &Path) {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid)).unwrap();
    }
}

/// `id` with these arguments, trimmed; the test cannot go on without it.
fn id(args: &[&str]) -> String {
    let out = Command::new("id").args(args).output().expect("the id command");
    assert!(out.status.success(), "id {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Debian installs dovecot in sbin, which is not on a normal user's PATH.
fn dovecot_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("dovecot"))
        .find(|candidate| candidate.is_file())
}

fn config_text(root: &Path, port: u16, owner: &Account) -> String {
    let root = root.display();
    let Account { user, group, uid, gid } = owner;
    format!(
        r#"# A private instance: its own sockets, state and log, so a system dovecot is never touched.
instance_name = rapport-test-{port}
base_dir = "{root}/run"
state_dir = "{root}/state"
log_path = "{root}/dovecot.log"
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_login_user = {user}
default_internal_user = {user}
default_internal_group = {group}
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:{root}/home/Maildir

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%n {root}/passwd
}}

# Chroot needs root, and a test server needs no jail.
service anvil {{
  chroot =
}}
service ipc {{
  chroot =
}}
service old-stats {{
  chroot =
}}
service imap-urlauth-login {{
  chroot =
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"#
    )
}
