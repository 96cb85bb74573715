#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages libctrace needs, when run as root and something is missing;
# otherwise prints the one apt-get line to run and fails.
#   tests/deps.sh build   what building and `make demo` need
#   tests/deps.sh test    that and what `make test` needs: bats, jq and clang (make fuzz),
#                         memcached and libmemcached-tools, postgresql, redis-server,
#                         redis-tools, stress-ng and libpython3.11-testsuite for the
#                         real-program tests (tests/real/), strace; for the export
#                         tests golang-go (go tool pprof), protobuf-compiler (protoc
#                         --decode), chromium, nodejs and npm, and then the pinned
#                         playwright-core of tests/package.json (npm ci under tests/)
# xxd (build) turns the HTML report's script and style sheet into C arrays.
set -e
pkgs="build-essential pkg-config libunwind-dev liblz4-dev libdw-dev libelf-dev zlib1g-dev xxd"
if [ "${1:-test}" = test ]; then
	pkgs="$pkgs bats bats-assert bats-support jq python3 clang memcached libmemcached-tools postgresql redis-server redis-tools stress-ng libpython3.11-testsuite util-linux procps strace golang-go protobuf-compiler chromium"
	pkgs="$pkgs tmux" # ctrace top on a terminal (tests/bats/top.bats)
	# Node.js from Debian, unless a node and npm are installed already (a node that
	# bundles its own npm conflicts with Debian's npm package)
	command -v node >/dev/null && command -v npm >/dev/null || pkgs="$pkgs nodejs npm"
fi
# playwright-core as tests/package-lock.json pins it (the browser is Debian's chromium:
# playwright never downloads one)
npm_ci() {
	[ "${1:-test}" = test ] || return 0
	here=$(cd "$(dirname "$0")" && pwd)
	[ -f "$here/node_modules/playwright-core/package.json" ] && return 0
	command -v npm >/dev/null || return 1
	(cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >/dev/null)
}
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	npm_ci "${1:-test}"
	exit $?
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	# The servers are packages the tests start themselves, on loopback and free ports:
	# Debian's policy-rc.d keeps their postinst from starting system-wide services.
	policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy"
	fi
	rc=0
	apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $missing >/dev/null || rc=$?
	[ -n "$policy" ] && rm -f "$policy"
	[ "$rc" = 0 ] && npm_ci "${1:-test}" || rc=$?
	exit $rc
fi
echo "deps: missing packages; run: sudo apt-get install -y$missing" >&2
exit 1
