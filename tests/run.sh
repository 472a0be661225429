#!/usr/bin/env bash
# Runs every test Rapport has: formatting, lints, unit and integration tests (with a real SMTP
# server, aiosmtpd, and a real IMAP server, dovecot), the integration tests again on a real
# PostgreSQL (a throwaway cluster in a temporary directory), and the browser tests in real
# Chromium. Installs what the tests need first, when it is missing.
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
# PostgreSQL, for the second run of the integration tests: Debian's server binaries.
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
[ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ] || apt_install postgresql
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)

cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked --all-targets

# The integration tests once more, on PostgreSQL: a cluster of its own in a temporary directory,
# run by an unprivileged user (initdb refuses root), reached by its unix socket only. Each test
# makes a database of its own in it (tests/api/helpers.rs).
pg_dir=$(mktemp -d)
pg_user=$(id -un)
as_pg() { "$@"; }
if [ "$(id -u)" = 0 ]; then
    pg_user=postgres
    id -u "$pg_user" >/dev/null 2>&1 || useradd --system --no-create-home "$pg_user"
    chown "$pg_user" "$pg_dir"
    as_pg() { runuser -u "$pg_user" -- "$@"; }
fi
pg_port=54329
# A second one for the TLS test (tests/api/postgres.rs): a self-signed certificate, reached
# over TCP on 127.0.0.1 only, and there only with TLS (hostssl).
need openssl || apt_install openssl
pgtls_dir=$(mktemp -d)
if [ "$(id -u)" = 0 ]; then chown "$pg_user" "$pgtls_dir"; fi
pgtls_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
stop_pg() {
    for dir in "$pg_dir" "$pgtls_dir"; do
        as_pg "$(pg_bin)/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$dir"
    done
}
trap stop_pg EXIT
as_pg "$(pg_bin)/initdb" -D "$pg_dir/data" -U rapport --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
as_pg "$(pg_bin)/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
    -o "-k $pg_dir -p $pg_port -c listen_addresses='' -c max_connections=300" start >/dev/null
as_pg "$(pg_bin)/initdb" -D "$pgtls_dir/data" -U rapport --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
as_pg openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -keyout "$pgtls_dir/data/server.key" -out "$pgtls_dir/data/server.crt" 2>/dev/null
as_pg chmod 0600 "$pgtls_dir/data/server.key"
printf 'local all all trust\nhostssl all all 127.0.0.1/32 trust\n' | as_pg tee "$pgtls_dir/data/pg_hba.conf" >/dev/null
as_pg "$(pg_bin)/pg_ctl" -D "$pgtls_dir/data" -l "$pgtls_dir/log" -w \
    -o "-k $pgtls_dir -p $pgtls_port -c listen_addresses=127.0.0.1 -c ssl=on" start >/dev/null
RAPPORT_TEST_POSTGRES="postgres://rapport@${pg_dir//\//%2F}:$pg_port" \
    RAPPORT_TEST_POSTGRES_TLS="postgres://rapport@127.0.0.1:$pgtls_port" cargo test --locked --test api
# The browser tests drive the real binary that the tests above built.
(cd tests/browser && node --test --test-concurrency=1)
