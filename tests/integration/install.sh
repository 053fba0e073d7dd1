#!/bin/bash
# `cmake --install` into a temporary prefix yields a working product: the installed irohd and
# iroh run, the header and pkg-config file let an app (examples/status.c) build against the
# installed libiroh-client, and that app talks to the installed daemon.
#   install.sh BUILD_DIR SOURCE_DIR
set -u
build=$1 src=$2
tmp=$(mktemp -d "${IROH_TEST_TMP:-/tmp}/install.XXXXXX")
prefix=$tmp/prefix
daemon_pid=
cleanup() {
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/irohd.err" ] && cat "$tmp/irohd.err"; echo "0 passed, 1 failed"; exit 1; }

cmake --install "$build" --prefix "$prefix" >/dev/null || fail "cmake --install"
for f in bin/irohd bin/iroh include/iroh/client.h include/iroh/error.h \
         lib/libiroh-client.so lib/libiroh-client.a lib/pkgconfig/iroh-client.pc \
         lib/systemd/user/irohd.service share/man/man1/iroh.1 share/man/man8/irohd.8; do
  [ -e "$prefix/$f" ] || fail "not installed: $f"
done
grep -q "ExecStart=$prefix/bin/irohd" "$prefix/lib/systemd/user/irohd.service" || fail "unit ExecStart"

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
cc -std=c17 -Wall -Werror "$src/examples/status.c" $(pkg-config --cflags --libs iroh-client) \
   -Wl,-rpath,"$prefix/lib" -o "$tmp/status-shared" || fail "building against the shared library"
cc -std=c17 -Wall -Werror "$src/examples/status.c" $(pkg-config --cflags iroh-client) \
   "$prefix/lib/libiroh-client.a" $(pkg-config --libs --static iroh-client | sed 's/-liroh-client//') \
   -o "$tmp/status-static" || fail "building against the static library"

sock=$tmp/irohd.sock
"$prefix/bin/irohd" --data-dir "$tmp/data" --socket "$sock" >"$tmp/irohd.out" 2>"$tmp/irohd.err" &
daemon_pid=$!
# Ready when it answers: the socket file exists from bind(), before irohd listens on it.
source "$src/tests/wait_for.sh"
wait_for 30 "$prefix/bin/iroh" --socket "$sock" --timeout 1000 id >/dev/null 2>&1 ||
  fail "installed irohd did not start"

id=$("$prefix/bin/iroh" --socket "$sock" id) || fail "installed iroh id"
for app in status-shared status-static; do
  out=$("$tmp/$app" "$sock") || fail "$app exited non-zero: $out"
  echo "$out" | grep -q "\"id\":\"$id\"" || fail "$app printed no node id $id: $out"
  echo "$out" | grep -q '^log event: ' || fail "$app received no log event: $out"
done
echo "1 passed, 0 failed"
