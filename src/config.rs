//! One `Config`, read once at start: defaults < TOML file < `RAPPORT_*` environment < flags.
//! Every setting is parsed in one place and an invalid one names itself and where it came from.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Where the data lives when not in the SQLite file in `data_dir`: a PostgreSQL server
    /// (`postgres://user:pass@host/db`), whose URL may hold a password.
    pub database_url: Option<crate::domain::Secret>,
    /// Public URL without a trailing slash, used in links and emails and as the agents' origin.
    pub base_url: String,
    /// A `tracing` filter such as `info` or `rapport=debug`.
    pub log: String,
    /// `text` (one readable line per event) or `json` (one object per line, for collectors).
    pub log_format: LogFormat,
    pub max_upload_bytes: usize,
    pub max_json_bytes: usize,
    pub session_hours: u64,
    /// New widget visitors one IP may start in 10 minutes.
    pub visitor_limit: u32,
    /// Outbound email: an SMTP URL (it may hold a password) and the From address.
    pub smtp_url: Option<crate::domain::Secret>,
    pub smtp_from: Option<String>,
    /// The address customers write to. Reply addresses are made from it (`local+token@domain`),
    /// so mail to them must reach the same mailbox. Defaults to the From address.
    pub support_address: Option<String>,
    /// How long a message may stay unseen before its recipient is emailed.
    pub notify_delay_secs: u64,
    /// Inbound email by polling a mailbox: `imaps://user:pass@host/INBOX`.
    pub imap_url: Option<crate::domain::Secret>,
    pub imap_poll_secs: u64,
    /// Inbound email by SMTP: the address of Rapport's own listener, e.g. `0.0.0.0:2525`.
    pub inbound_smtp_listen: Option<SocketAddr>,
    /// Concurrent inbound SMTP sessions from one client address.
    pub inbound_smtp_max_per_address: usize,
    /// Reverse proxies whose `X-Forwarded-For` names the client (per-IP limits, logs).
    pub trusted_proxies: Vec<crate::domain::Network>,
    /// Per-address limits count an IPv6 client by its network of this many bits (IPv4 by address).
    pub ipv6_limit_prefix: u8,
    /// Memory each password hash or check uses (argon2id `m`), in KiB.
    pub password_memory_kib: u32,
    /// Password hashes or checks run at once; the number of cores unless set.
    pub password_workers: usize,
    /// Password checks that may wait for a worker; more are answered 503 `busy` at once.
    pub password_queue: usize,
    /// The most writes one transaction commits together (group commit); 1 commits each alone.
    pub write_batch: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid setting `{key}` (from {origin}): {reason}")]
    Invalid { key: String, origin: String, reason: String },
    #[error("cannot read config file {path}: {reason}")]
    File { path: String, reason: String },
}

/// The settings that may be given on the command line.
#[derive(Debug, Default, Clone)]
pub struct Flags {
    pub config: Option<PathBuf>,
    pub listen: Option<String>,
    pub data_dir: Option<String>,
    pub database_url: Option<String>,
    pub base_url: Option<String>,
}

/// (name, default). An empty default means "derived" (base_url from listen).
const SETTINGS: &[(&str, &str)] = &[
    ("listen", "127.0.0.1:8080"),
    ("data_dir", "./rapport-data"),
    ("database_url", ""),
    ("base_url", ""),
    ("log", "info"),
    ("log_format", "text"),
    ("max_upload_bytes", "26214400"),
    ("max_json_bytes", "262144"),
    ("session_hours", "336"),
    ("visitor_limit", "30"),
    ("smtp_url", ""),
    ("smtp_from", ""),
    ("support_address", ""),
    ("notify_delay_secs", "60"),
    ("imap_url", ""),
    ("imap_poll_secs", "30"),
    ("inbound_smtp_listen", ""),
    ("inbound_smtp_max_per_address", "8"),
    ("trusted_proxies", "127.0.0.1,::1"),
    ("ipv6_limit_prefix", "64"),
    ("password_memory_kib", "19456"),
    ("password_workers", ""),
    ("password_queue", "64"),
    ("write_batch", "512"),
];

/// The environment variable of a setting: `data_dir` → `RAPPORT_DATA_DIR`.
pub fn env_name(key: &str) -> String {
    format!("RAPPORT_{}", key.to_ascii_uppercase())
}

struct Layers(BTreeMap<&'static str, (String, String)>);

impl Layers {
    fn set(&mut self, key: &'static str, value: String, origin: String) {
        self.0.insert(key, (value, origin));
    }

    fn parse<T>(&self, key: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Result<T, ConfigError> {
        let (value, origin) = &self.0[key];
        parse(value).map_err(|reason| ConfigError::Invalid { key: key.into(), origin: origin.clone(), reason })
    }
}

impl Config {
    /// Reads the process environment and, if named, the config file.
    pub fn load(flags: &Flags) -> Result<Config, ConfigError> {
        Config::load_from(flags, |k| std::env::var(k).ok())
    }

    pub fn load_from(flags: &Flags, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut layers = Layers(BTreeMap::new());
        for (key, default) in SETTINGS {
            layers.set(key, (*default).into(), "default".into());
        }
        let file = flags.config.clone().or_else(|| env("RAPPORT_CONFIG").map(PathBuf::from));
        if let Some(path) = file {
            read_file(&path, &mut layers)?;
        }
        for (key, _) in SETTINGS {
            let name = env_name(key);
            if let Some(value) = env(&name) {
                layers.set(key, value, format!("environment variable {name}"));
            }
        }
        let flag_values = [
            ("listen", &flags.listen),
            ("data_dir", &flags.data_dir),
            ("database_url", &flags.database_url),
            ("base_url", &flags.base_url),
        ];
        for (key, value) in flag_values {
            if let Some(value) = value {
                layers.set(key, value.clone(), format!("flag --{}", key.replace('_', "-")));
            }
        }
        Config::validate(&layers)
    }

    fn validate(l: &Layers) -> Result<Config, ConfigError> {
        let config = Config::parse_all(l)?;
        if config.smtp_url.is_some() {
            match &config.smtp_from {
                None => {
                    return Err(ConfigError::Invalid {
                        key: "smtp_from".into(),
                        origin: l.0["smtp_from"].1.clone(),
                        reason: "set a From address to send email with smtp_url".into(),
                    })
                }
                Some(from) => l.parse("smtp_from", |_| {
                    from.parse::<lettre::message::Mailbox>()
                        .map(drop)
                        .map_err(|_| format!("{from:?} is not an email address"))
                })?,
            }
        }
        if config.imap_url.is_some() && config.support_address.is_none() && config.smtp_from.is_none() {
            return Err(ConfigError::Invalid {
                key: "support_address".into(),
                origin: l.0["support_address"].1.clone(),
                reason: "set the support address (or smtp_from) that inbound mail is sent to".into(),
            });
        }
        Ok(config)
    }

    fn parse_all(l: &Layers) -> Result<Config, ConfigError> {
        let listen: SocketAddr =
            l.parse("listen", |v| v.parse().map_err(|_| format!("{v:?} is not an address such as 127.0.0.1:8080")))?;
        let base_url = l.parse("base_url", |v| {
            if v.is_empty() {
                return Ok(format!("http://{listen}"));
            }
            let v = v.trim_end_matches('/');
            let rest = v
                .strip_prefix("https://")
                .or_else(|| v.strip_prefix("http://"))
                .ok_or_else(|| format!("{v:?} must start with http:// or https://"))?;
            if rest.is_empty() || rest.contains(char::is_whitespace) {
                return Err(format!("{v:?} has no host"));
            }
            Ok(v.to_owned())
        })?;
        Ok(Config {
            listen,
            data_dir: l.parse("data_dir", |v| {
                if v.is_empty() {
                    Err("must not be empty".into())
                } else {
                    Ok(PathBuf::from(v))
                }
            })?,
            database_url: l.parse("database_url", |v| {
                if v.is_empty() {
                    return Ok(None);
                }
                crate::store::Location::postgres(v)?;
                Ok(Some(crate::domain::Secret::new(v)))
            })?,
            base_url,
            log: l.parse("log", |v| Ok(v.to_owned()))?,
            log_format: l.parse("log_format", |v| match v {
                "text" => Ok(LogFormat::Text),
                "json" => Ok(LogFormat::Json),
                _ => Err("must be \"text\" or \"json\"".into()),
            })?,
            max_upload_bytes: l.parse("max_upload_bytes", |v| in_range(v, 1, 1 << 30))?,
            max_json_bytes: l.parse("max_json_bytes", |v| in_range(v, 1024, 16 << 20))?,
            session_hours: l.parse("session_hours", |v| in_range(v, 1, 24 * 366))? as u64,
            visitor_limit: l.parse("visitor_limit", |v| in_range(v, 1, 1 << 30))? as u32,
            smtp_from: l.parse("smtp_from", |v| Ok((!v.is_empty()).then(|| v.to_owned())))?,
            smtp_url: l.parse("smtp_url", |v| {
                if v.is_empty() {
                    return Ok(None);
                }
                // A From address is checked with the URL; its own absence is reported below.
                crate::mail::validate(v, "check@example.com")?;
                Ok(Some(crate::domain::Secret::new(v)))
            })?,
            support_address: l.parse("support_address", |v| {
                if v.is_empty() {
                    return Ok(None);
                }
                let mailbox: lettre::message::Mailbox =
                    v.parse().map_err(|_| format!("{v:?} is not an email address"))?;
                Ok(Some(mailbox.email.to_string()))
            })?,
            notify_delay_secs: l.parse("notify_delay_secs", |v| in_range(v, 1, 7 * 24 * 3600))? as u64,
            imap_url: l.parse("imap_url", |v| {
                if v.is_empty() {
                    return Ok(None);
                }
                let url = crate::domain::Secret::new(v);
                crate::mail::imap::ImapSource::parse(&url)?;
                Ok(Some(url))
            })?,
            imap_poll_secs: l.parse("imap_poll_secs", |v| in_range(v, 1, 24 * 3600))? as u64,
            inbound_smtp_listen: l.parse("inbound_smtp_listen", |v| {
                if v.is_empty() {
                    return Ok(None);
                }
                v.parse().map(Some).map_err(|_| format!("{v:?} is not an address such as 0.0.0.0:2525"))
            })?,
            trusted_proxies: l.parse("trusted_proxies", |v| {
                v.split(',').map(str::trim).filter(|a| !a.is_empty()).map(crate::domain::Network::parse).collect()
            })?,
            inbound_smtp_max_per_address: l.parse("inbound_smtp_max_per_address", |v| in_range(v, 1, 1 << 20))?,
            ipv6_limit_prefix: l.parse("ipv6_limit_prefix", |v| in_range(v, 16, 128))? as u8,
            // argon2 needs at least 8 KiB; below 1 MiB a hash is cheap to guess.
            password_memory_kib: l.parse("password_memory_kib", |v| in_range(v, 1024, 4 << 20))? as u32,
            password_workers: l.parse("password_workers", |v| {
                if v.trim().is_empty() {
                    return Ok(crate::password::Hasher::cores());
                }
                in_range(v, 1, 1024)
            })?,
            password_queue: l.parse("password_queue", |v| in_range(v, 0, 1 << 20))?,
            write_batch: l.parse("write_batch", |v| in_range(v, 1, crate::store::MAX_WRITE_BATCH))?,
        })
    }

    /// Where the data lives: the PostgreSQL server of `database_url`, else the SQLite file in
    /// `data_dir`.
    pub fn database(&self) -> crate::store::Location {
        match &self.database_url {
            Some(url) => crate::store::Location::postgres(url.expose())
                .expect("database_url was checked when the config was read"),
            None => crate::store::Location::Sqlite(crate::store::db_path(&self.data_dir)),
        }
    }

    /// Defaults for an in-process server: any free port, the given data dir.
    pub fn for_tests(data_dir: PathBuf) -> Config {
        let flags = Flags {
            listen: Some("127.0.0.1:0".into()),
            data_dir: Some(data_dir.to_string_lossy().into_owned()),
            ..Flags::default()
        };
        Config::load_from(&flags, |_| None).expect("test defaults are valid")
    }
}

fn in_range(v: &str, min: usize, max: usize) -> Result<usize, String> {
    match v.trim().parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("{v:?} must be a whole number from {min} to {max}")),
    }
}

fn read_file(path: &std::path::Path, layers: &mut Layers) -> Result<(), ConfigError> {
    let shown = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|e| ConfigError::File { path: shown.clone(), reason: e.to_string() })?;
    let table: toml::Table =
        text.parse().map_err(|e: toml::de::Error| ConfigError::File { path: shown.clone(), reason: e.to_string() })?;
    for (key, value) in table {
        let Some((known, _)) = SETTINGS.iter().find(|(k, _)| *k == key) else {
            return Err(ConfigError::Invalid {
                key,
                origin: format!("file {shown}"),
                reason: "there is no such setting".into(),
            });
        };
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            _ => {
                return Err(ConfigError::Invalid {
                    key,
                    origin: format!("file {shown}"),
                    reason: "must be a string or a number".into(),
                })
            }
        };
        layers.set(known, value, format!("file {shown}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_layers_win() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rapport.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:9000\"\ndata_dir = \"/from-file\"\nlog = \"warn\"\n").unwrap();
        let flags = Flags { config: Some(file), data_dir: Some("/from-flag".into()), ..Flags::default() };
        let env = |k: &str| (k == "RAPPORT_LOG" || k == "RAPPORT_DATA_DIR").then(|| "debug".to_string());
        let c = Config::load_from(&flags, env).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.data_dir, PathBuf::from("/from-flag"));
        assert_eq!(c.log, "debug");
        assert_eq!(c.base_url, "http://127.0.0.1:9000");
    }

    #[test]
    fn an_invalid_setting_names_itself_and_its_origin() {
        let env = |k: &str| (k == "RAPPORT_LISTEN").then(|| "nowhere".to_string());
        let err = Config::load_from(&Flags::default(), env).unwrap_err().to_string();
        assert!(err.contains("`listen`") && err.contains("RAPPORT_LISTEN"), "{err}");
        let flags = Flags { base_url: Some("ftp://x".into()), ..Flags::default() };
        let err = Config::load_from(&flags, |_| None).unwrap_err().to_string();
        assert!(err.contains("`base_url`") && err.contains("--base-url"), "{err}");
    }

    #[test]
    fn unknown_file_settings_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rapport.toml");
        std::fs::write(&file, "lisen = \"x\"\n").unwrap();
        let flags = Flags { config: Some(file), ..Flags::default() };
        let err = Config::load_from(&flags, |_| None).unwrap_err().to_string();
        assert!(err.contains("`lisen`"), "{err}");
    }

    #[test]
    fn smtp_settings_are_checked_and_the_password_never_prints() {
        let env = |k: &str| match k {
            "RAPPORT_SMTP_URL" => Some("smtp://ann:hunter22@mail.example.com:587?tls=starttls".to_string()),
            "RAPPORT_SMTP_FROM" => Some("Support <support@example.com>".to_string()),
            _ => None,
        };
        let c = Config::load_from(&Flags::default(), env).unwrap();
        assert!(!format!("{c:?}").contains("hunter22"));
        let no_from = |k: &str| (k == "RAPPORT_SMTP_URL").then(|| "smtp://localhost:25".to_string());
        let err = Config::load_from(&Flags::default(), no_from).unwrap_err().to_string();
        assert!(err.contains("`smtp_from`"), "{err}");
        let bad = |k: &str| (k == "RAPPORT_SMTP_URL").then(|| "imap://x".to_string());
        let err = Config::load_from(&Flags::default(), bad).unwrap_err().to_string();
        assert!(err.contains("`smtp_url`") && !err.contains("imap://x"), "{err}");
    }

    #[test]
    fn password_and_limit_settings_are_checked() {
        let defaults = Config::load_from(&Flags::default(), |_| None).unwrap();
        assert_eq!(defaults.password_memory_kib, argon2::Params::DEFAULT_M_COST);
        assert_eq!(defaults.password_workers, crate::password::Hasher::cores());
        assert_eq!((defaults.password_queue, defaults.ipv6_limit_prefix), (64, 64));
        let set =
            |key: &'static str, value: &'static str| move |k: &str| (k == env_name(key)).then(|| value.to_string());
        let c = Config::load_from(&Flags::default(), set("password_workers", "3")).unwrap();
        assert_eq!(c.password_workers, 3);
        for (key, value) in [
            ("password_memory_kib", "512"),
            ("password_workers", "0"),
            ("ipv6_limit_prefix", "129"),
            ("inbound_smtp_max_per_address", "0"),
        ] {
            let err = Config::load_from(&Flags::default(), set(key, value)).unwrap_err().to_string();
            assert!(err.contains(&format!("`{key}`")), "{err}");
        }
    }

    #[test]
    fn the_example_config_in_packaging_is_valid_and_shows_the_defaults() {
        let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("packaging/rapport.toml");
        let from_file = Config::load_from(&Flags { config: Some(example), ..Flags::default() }, |_| None).unwrap();
        let defaults = Config::load_from(&Flags::default(), |_| None).unwrap();
        assert_eq!(format!("{from_file:?}"), format!("{defaults:?}"));
    }
}
