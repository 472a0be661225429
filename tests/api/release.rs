//! The release archive: `packaging/release.sh` packages the binary (here the test build, to
//! stay fast) with the example config, the systemd unit and the proxy examples; its checksum
//! verifies, it holds exactly those files, and the binary in it names its version and commit.

use crate::helpers::clean_command;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_rapport");
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs to completion and insists on success.
fn ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?} does not start: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn host_target() -> String {
    let out = ok(Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into())).arg("-vV"));
    stdout(&out).lines().find_map(|l| l.strip_prefix("host: ")).expect("rustc -vV names the host").to_owned()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[test]
fn release_archive_holds_the_binary_config_and_hardened_unit() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("dist");
    let mut release = clean_command(repo().join("packaging/release.sh"));
    // The debug binary is large: the fastest compression keeps the test quick.
    release.arg("--binary").arg(BIN).arg("--out").arg(&out_dir).env("RAPPORT_GZIP_LEVEL", "1");
    ok(&mut release);

    let top = format!("rapport-{VERSION}-{}", host_target());
    let archive = format!("{top}.tar.gz");
    let checksum = format!("{archive}.sha256");
    assert!(out_dir.join(&archive).is_file(), "no {archive}");
    assert!(out_dir.join(&checksum).is_file(), "no {checksum}");
    let mut names: Vec<String> =
        std::fs::read_dir(&out_dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, [archive.clone(), checksum.clone()], "only the archive and its checksum are written");

    // The checksum file is in `sha256sum` format and verifies from inside the folder.
    let check = ok(clean_command("sha256sum").arg("-c").arg(&checksum).current_dir(&out_dir));
    assert_eq!(stdout(&check).trim(), format!("{archive}: OK"));

    // Exactly the expected files, under one top folder.
    let mut expected = vec![
        format!("{top}/"),
        format!("{top}/Caddyfile"),
        format!("{top}/README.md"),
        format!("{top}/nginx.conf"),
        format!("{top}/rapport"),
        format!("{top}/rapport.service"),
        format!("{top}/rapport.toml"),
    ];
    if repo().join("LICENSE").is_file() {
        expected.push(format!("{top}/LICENSE"));
    }
    expected.sort();
    let listing = ok(clean_command("tar").arg("-tzf").arg(out_dir.join(&archive)));
    let mut listed: Vec<String> = stdout(&listing).lines().map(str::to_owned).collect();
    listed.sort();
    assert_eq!(listed, expected);

    let unpacked = dir.path().join("unpacked");
    std::fs::create_dir(&unpacked).unwrap();
    ok(clean_command("tar").arg("-xzf").arg(out_dir.join(&archive)).arg("-C").arg(&unpacked));
    let folder = unpacked.join(&top);

    // The binary runs and names its version and the commit it was built from.
    let binary = folder.join("rapport");
    assert_eq!(std::fs::metadata(&binary).unwrap().permissions().mode() & 0o777, 0o755);
    let version = stdout(&ok(clean_command(&binary).arg("--version")));
    let commit = version
        .trim_end()
        .strip_prefix(&format!("rapport {VERSION} (commit "))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("--version printed {version:?}"));
    assert!(!commit.is_empty() && !commit.contains(char::is_whitespace), "--version printed {version:?}");
    assert_eq!(commit, rapport::COMMIT, "the binary and the library name different commits");

    // The other files are the repository's, unchanged.
    assert_eq!(read(&folder.join("rapport.toml")), read(&repo().join("packaging/rapport.toml")));
    assert_eq!(read(&folder.join("README.md")), read(&repo().join("README.md")));
    for file in ["rapport.service", "nginx.conf", "Caddyfile"] {
        assert_eq!(read(&folder.join(file)), read(&repo().join("packaging").join(file)), "{file} differs");
    }

    // The unit is hardened and runs as its own user.
    let unit = String::from_utf8(read(&folder.join("rapport.service"))).unwrap();
    for directive in [
        "User=rapport",
        "StateDirectory=rapport",
        "ProtectSystem=strict",
        "ProtectHome=true",
        "NoNewPrivileges=true",
        "PrivateTmp=true",
        "CapabilityBoundingSet=",
        "SystemCallFilter=@system-service",
        "KillSignal=SIGTERM",
    ] {
        assert!(unit.lines().any(|l| l.trim() == directive), "rapport.service lacks {directive}");
    }
    assert!(!unit.lines().any(|l| l.starts_with("DynamicUser=")), "the unit uses its own user, not DynamicUser");

    // The binary accepts every flag the unit starts it with (`--help` after them parses them
    // first, then prints help instead of serving).
    let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).expect("the unit has an ExecStart");
    let mut words = exec.split_whitespace();
    assert_eq!(words.next(), Some("/usr/local/bin/rapport"));
    let args: Vec<&str> = words.collect();
    assert!(args.starts_with(&["serve"]) && args.contains(&"--config") && args.contains(&"--data-dir"), "{exec}");
    ok(clean_command(&binary).args(&args).arg("--help"));

    // systemd's own check of the unit, where systemd is installed, with ExecStart pointing at
    // the unpacked binary (verify insists the program exists).
    if Command::new("systemd-analyze").arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success()) {
        let units = dir.path().join("units");
        std::fs::create_dir(&units).unwrap();
        let local = unit.replace("ExecStart=/usr/local/bin/rapport ", &format!("ExecStart={} ", binary.display()));
        assert_ne!(local, unit, "ExecStart was not rewritten");
        let path = units.join("rapport.service");
        std::fs::write(&path, local).unwrap();
        let verify = ok(clean_command("systemd-analyze").arg("verify").arg(&path));
        let said = format!("{}{}", stdout(&verify), String::from_utf8_lossy(&verify.stderr));
        assert!(
            !said.lines().any(|l| l.contains("rapport.service") && (l.contains("ignoring") || l.contains("Unknown"))),
            "systemd-analyze verify complains:\n{said}"
        );
    }
}
