#!/usr/bin/env bash
# Builds the Debian package with CPack, installs it into the system with
# dpkg -i, checks the installed binary, man page and bash completion, then
# removes it. Meant for CI on a throwaway machine, as root (or with sudo).
#   tests/packaging/deb.sh [BUILD_DIR]     (default: build; CI passes the
#                                          profile-guided build of bench/pgo-build)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
fail() { echo "deb.sh: FAIL: $*" >&2; exit 1; }

if dpkg-query -W -f='${Status}' pcaplens 2>/dev/null | grep -q "install ok installed"; then
    fail "a pcaplens package is already installed; remove it first (dpkg -r pcaplens)"
fi

[ -f "$BUILD/CMakeCache.txt" ] || cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target pcaplens -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
rm -f "$BUILD"/pcaplens_*.deb
(cd "$BUILD" && cpack -G DEB >cpack.log 2>&1) || { cat "$BUILD/cpack.log" >&2; fail "cpack -G DEB"; }
DEB=$(ls "$BUILD"/pcaplens_*.deb)
echo "deb.sh: built $DEB"

# The control fields the issue asks for.
FIELDS=$(dpkg-deb -f "$DEB" Package Section Depends Maintainer Description)
echo "$FIELDS"
grep -q '^Package: pcaplens$' <<<"$FIELDS" || fail "package name"
grep -q '^Section: net$' <<<"$FIELDS" || fail "section"
grep -q 'libpcap0.8 (>= 1.10)' <<<"$FIELDS" || fail "depends on libpcap0.8 (>= 1.10)"
grep -q '^Maintainer: .*<.*@.*>' <<<"$FIELDS" || fail "maintainer"
CONTENTS=$(dpkg-deb -c "$DEB")
grep -q '\./usr/bin/pcaplens$' <<<"$CONTENTS" || fail "binary not in the package"
grep -q '\./usr/share/man/man1/pcaplens\.1' <<<"$CONTENTS" || fail "man page not in the package"
grep -q '\./usr/share/bash-completion/completions/pcaplens$' <<<"$CONTENTS" || fail "bash completion not in the package"
grep -q '\./usr/share/zsh/vendor-completions/_pcaplens$' <<<"$CONTENTS" || fail "zsh completion not in the package"

cleanup() { as_root dpkg -r pcaplens >/dev/null 2>&1 || true; }
trap cleanup EXIT
as_root dpkg -i "$DEB" >/dev/null

VERSION=$(pcaplens --version) || fail "pcaplens --version"
echo "$VERSION"
[ "$(command -v pcaplens)" = /usr/bin/pcaplens ] || echo "deb.sh: note: pcaplens on PATH is $(command -v pcaplens), checking /usr/bin/pcaplens" >&2
VERSION=$(/usr/bin/pcaplens --version) || fail "/usr/bin/pcaplens --version"
grep -q '^pcaplens [0-9]' <<<"$VERSION" || fail "pcaplens --version"
grep -q 'libpcap version' <<<"$VERSION" || fail "--version names libpcap"
# The default build links jemalloc; the package must pull it in (Depends).
grep -q 'heap allocator: jemalloc' <<<"$VERSION" || fail "--version: not linked with jemalloc"
# ... started with transparent huge pages (src/memory_usage.cpp's malloc_conf).
[[ -n ${MALLOC_CONF:-} ]] || grep -q 'transparent huge pages: always' <<<"$VERSION" || fail "--version: jemalloc not using transparent huge pages"
dpkg-deb -f "$DEB" Depends | grep -q libjemalloc2 || fail "package does not depend on libjemalloc2"
# A profile-guided build (bench/pgo-build, as CI packages it) says so.
if grep -q '^PCAPLENS_PGO:STRING=use$' "$BUILD/CMakeCache.txt"; then
    grep -q '^build: pgo' <<<"$VERSION" || fail "--version: a PGO build that does not say build: pgo"
fi
MAN=$(man -w pcaplens) || fail "man -w pcaplens"
echo "deb.sh: man page $MAN"
[ -f /usr/share/bash-completion/completions/pcaplens ] || fail "bash completion file missing"
[ -f /usr/share/zsh/vendor-completions/_pcaplens ] || fail "zsh completion file missing"
bash -n /usr/share/bash-completion/completions/pcaplens || fail "bash completion does not parse"
REPORT=$(/usr/bin/pcaplens -q samples/http-keepalive.pcap) || fail "the installed binary analyses a capture"
grep -q '#1 ' <<<"$REPORT" || fail "the installed binary reports the connection"

trap - EXIT
as_root dpkg -r pcaplens >/dev/null
[ ! -e /usr/bin/pcaplens ] || fail "dpkg -r left /usr/bin/pcaplens"
echo "deb.sh: OK"
