#!/usr/bin/env bash
# Runs every test Rapport has: formatting, lints, unit and integration tests (with a real SMTP
# server, aiosmtpd, and a real IMAP server, dovecot), and the browser tests in real Chromium.
# Installs what the tests need first, when it is missing.
#
# The fuzzers (schemathesis, the socket frames, the proptests) run derandomized: a fixed seed,
# so that a run passes or fails the same way every time. RAPPORT_LONG=1 makes them explore:
# many more cases, from a new seed each run (printed, to replay a failure).
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
# The Python tools of the tests (tests/requirements.txt: aiosmtpd, schemathesis) live in a virtual
# environment of their own, tests/.venv, since Debian's python3 refuses to pip-install into
# itself (externally managed). The tests run the interpreter named by RAPPORT_TEST_PYTHON.
need python3 || apt_install python3
venv=tests/.venv
if ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    rm -rf "$venv"
    # Debian's python3 makes no virtual environment without python3-venv (ensurepip).
    python3 -m venv "$venv" >/dev/null 2>&1 || { rm -rf "$venv"; apt_install python3-venv; python3 -m venv "$venv"; }
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
export RAPPORT_TEST_PYTHON="$PWD/$venv/bin/python"
# dovecot is the real IMAP server of the inbound-mail tests (Debian installs it in /usr/sbin).
[ -x /usr/sbin/dovecot ] || need dovecot || apt_install dovecot-imapd
need node || apt_install nodejs npm
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)

cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked --all-targets
# The browser tests drive the real binary that the tests above built.
(cd tests/browser && node --test --test-concurrency=1)
