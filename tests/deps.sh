#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages libctrace needs to build and test, when run as root and
# something is missing; otherwise prints the one apt-get line to run and fails. memcached and
# libmemcached-tools are for the real-server test (tests/real/memcached.sh), clang for make fuzz.
set -e
pkgs="build-essential pkg-config libunwind-dev liblz4-dev libdw-dev libelf-dev zlib1g-dev bats bats-assert bats-support jq python3 clang memcached libmemcached-tools"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	exit 0
fi
echo "deps: missing packages; run: sudo apt-get install -y$missing" >&2
exit 1
