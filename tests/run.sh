#!/usr/bin/env bash
# Runs every test Rapport has: formatting, lints, unit and integration tests (with a real SMTP
# server, aiosmtpd, and a real IMAP server, dovecot), and the browser tests in real Chromium. Installs what the tests need first,
# when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }
apt_install() {
    if need apt-get && [ "$(id -u)" = 0 ]; then
        [ -n "${APT_UPDATED:-}" ] || { apt-get update -qq; APT_UPDATED=1; }
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    else
        echo "tests/run.sh: please install: $*" >&2
        exit 1
    fi
}

if ! need cargo; then
    echo "tests/run.sh: cargo is not installed; install Rust from https://rustup.rs" >&2
    exit 1
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
need chromium || apt_install chromium
python3 -c 'import aiosmtpd' 2>/dev/null || python3 -m pip install --quiet aiosmtpd 2>/dev/null || apt_install python3-aiosmtpd
# schemathesis fuzzes the HTTP API from its OpenAPI document (tests/api/fuzz.rs).
python3 -c 'import schemathesis' 2>/dev/null || python3 -m pip install --quiet 'schemathesis>=4.32,<5'
# dovecot is the real IMAP server of the inbound-mail tests (Debian installs it in /usr/sbin).
[ -x /usr/sbin/dovecot ] || need dovecot || apt_install dovecot-imapd
need node || apt_install nodejs npm
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)

cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked --all-targets
# The browser tests drive the real binary that the tests above built.
(cd tests/browser && node --test --test-concurrency=1)
