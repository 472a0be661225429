//! Gives the crate `RAPPORT_COMMIT`, the commit it was built from, for `rapport --version`:
//! the environment variable of that name when set (the release script sets it, and a source
//! tarball without `.git` can), else `git rev-parse --short=12 HEAD`, else `unknown`.
//! It re-runs only when that variable, `.git/HEAD` or the branch HEAD points to changes.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=RAPPORT_COMMIT");
    println!("cargo:rerun-if-changed=build.rs");
    let from_env = std::env::var("RAPPORT_COMMIT").ok().map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    let commit = from_env.unwrap_or_else(|| {
        watch_git();
        git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into())
    });
    println!("cargo:rustc-env=RAPPORT_COMMIT={commit}");
}

/// The trimmed output of `git`, run in this package's directory; None when git or the repository
/// is missing, or when the package is not the top of the repository (a source tarball unpacked
/// inside some other repository must not take that repository's commit).
fn git(args: &[&str]) -> Option<String> {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let top = run_git(&manifest, &["rev-parse", "--show-toplevel"])?;
    if Path::new(&top).canonicalize().ok()? != manifest.canonicalize().ok()? {
        return None;
    }
    run_git(&manifest, args)
}

fn run_git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).current_dir(dir).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// Asks cargo to re-run when HEAD moves: `HEAD` itself (a checkout) and the branch it names,
/// loose (`refs/heads/...`, or its folder while the ref is only packed) or in `packed-refs`.
/// Only existing paths are named: cargo re-runs every time for a path that does not exist.
fn watch_git() {
    let Some(dirs) = git(&["rev-parse", "--git-dir", "--git-common-dir"]) else { return };
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let mut dirs = dirs.lines().map(|d| manifest.join(d));
    let (Some(git_dir), Some(common_dir)) = (dirs.next(), dirs.next()) else { return };
    let head = git_dir.join("HEAD");
    watch(&head);
    let Ok(text) = std::fs::read_to_string(&head) else { return };
    if let Some(name) = text.trim().strip_prefix("ref: ") {
        let loose = common_dir.join(name);
        if loose.is_file() {
            watch(&loose);
        } else if let Some(parent) = loose.parent() {
            watch(parent);
        }
        watch(&common_dir.join("packed-refs"));
    }
}

fn watch(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}
