#!/usr/bin/env bash
# Runs every test Rapport has: formatting, lints, unit and integration tests.
# Installs whatever the tests need first, when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "tests/run.sh: cargo is not installed; install Rust from https://rustup.rs" >&2
    exit 1
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true

cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked --all-targets
