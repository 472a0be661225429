#!/usr/bin/env bash
# Builds the release archive: dist/rapport-VERSION-TARGET.tar.gz with the binary, the README,
# the example config, the systemd unit and the reverse-proxy examples, and its .sha256
# (check it with `sha256sum -c rapport-VERSION-TARGET.tar.gz.sha256` inside dist/).
#
#   packaging/release.sh                      build with cargo (release profile), then package
#   packaging/release.sh --binary PATH        package a binary that is already built
#   packaging/release.sh --out DIR            write to DIR instead of dist/
#
# The archive is reproducible: sorted names, owner root, every time the last commit's
# (or SOURCE_DATE_EPOCH), gzip without a timestamp. RAPPORT_GZIP_LEVEL (1-9, default 9)
# trades size for speed; the tests use 1 on the large debug binary.
set -euo pipefail

say() { echo "release.sh: $*" >&2; }
die() {
    say "$*"
    exit 1
}
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

here=$(pwd)
absolute() { case "$1" in /*) echo "$1" ;; *) echo "$here/$1" ;; esac }

binary=""
out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --binary)
            [ $# -ge 2 ] || die "--binary needs a path"
            binary=$(absolute "$2")
            shift 2
            ;;
        --out)
            [ $# -ge 2 ] || die "--out needs a folder"
            out=$(absolute "$2")
            shift 2
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${out:-$root/dist}
level=${RAPPORT_GZIP_LEVEL:-9}
case "$level" in [1-9]) ;; *) die "RAPPORT_GZIP_LEVEL must be 1 to 9, not \"$level\"" ;; esac

tar=tar
command -v gtar >/dev/null 2>&1 && tar=gtar
"$tar" --version 2>/dev/null | grep -q 'GNU tar' || die "GNU tar is needed (install it as tar or gtar)"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum is needed (GNU coreutils)"
command -v rustc >/dev/null 2>&1 || die "rustc is needed to name the target"

version=$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)
[ -n "$version" ] || die "no version found in Cargo.toml"
target=$(rustc -vV | sed -n 's/^host: //p')
[ -n "$target" ] || die "rustc -vV names no host target"
in_git=false
git rev-parse --is-inside-work-tree >/dev/null 2>&1 && in_git=true

if [ -z "$binary" ]; then
    if [ -z "${RAPPORT_COMMIT:-}" ] && $in_git; then
        RAPPORT_COMMIT=$(git rev-parse --short=12 HEAD)
    fi
    export RAPPORT_COMMIT=${RAPPORT_COMMIT:-unknown}
    say "building rapport $version (commit $RAPPORT_COMMIT) for $target"
    cargo build --release --locked --bin rapport
    binary="${CARGO_TARGET_DIR:-$root/target}/release/rapport"
fi
if [ ! -f "$binary" ] || [ ! -x "$binary" ]; then
    die "no executable binary at $binary"
fi

# The binary must be the version being packaged.
reported=$("$binary" --version) || die "$binary --version failed"
case "$reported" in
    "rapport $version "* | "rapport $version") ;;
    *) die "$binary reports \"$reported\", but Cargo.toml says $version" ;;
esac

if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
    epoch=$SOURCE_DATE_EPOCH
elif $in_git; then
    epoch=$(git log -1 --format=%ct)
else
    epoch=$(date -r Cargo.toml +%s)
fi

name="rapport-$version-$target"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -m 0755 "$stage/$name"
install -m 0755 "$binary" "$stage/$name/rapport"
install -m 0644 README.md "$stage/$name/README.md"
if [ -f LICENSE ]; then
    install -m 0644 LICENSE "$stage/$name/LICENSE"
fi
for file in rapport.toml rapport.service nginx.conf Caddyfile; do
    install -m 0644 "packaging/$file" "$stage/$name/$file"
done

mkdir -p "$out"
archive="$name.tar.gz"
"$tar" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" --format=gnu \
    -C "$stage" -cf - "$name" | gzip -n "-$level" >"$out/$archive.part"
mv "$out/$archive.part" "$out/$archive"
(cd "$out" && sha256sum "$archive" >"$archive.sha256")

say "$reported"
say "wrote $out/$archive"
say "wrote $out/$archive.sha256"
