#!/usr/bin/env bash
# disco035.sh IROHD IROH — irohd against a real iroh 0.35 node (the @number0/iroh 0.35.0
# bindings), whose path layer drops QUIC from addresses it has not learned through disco
# (spec compat-0.35-and-paths.md §1.1.4): irohd must Ping before its Initial and answer the
# node's Pings with Pongs. In a network namespace of its own with nothing but lo.
#
#   1. irohd dials the 0.35 node's echo (endpoint.echo, 256 KiB): works only if the node
#      learned irohd's address from its disco Ping; irohd's log shows the node's Pong.
#   2. the 0.35 node dials irohd's echo protocol (256 KiB); irohd's log shows its Ping.
#
# The 0.35 package is not one of tests/interop/package.json's: it is installed with npm into
# $IROH035_DIR (default ${TMPDIR:-/tmp}/irohd-iroh035) when missing. Without node >= 20.3 or
# npm it prints why it skips and exits 0; needs root (ip netns). Every process it starts is
# killed and the namespace deleted on every path.
set -u
IROHD=$1
IROH=$2
here=$(cd "$(dirname "$0")" && pwd)
bytes=262144
mods=${IROH035_DIR:-${TMPDIR:-/tmp}/irohd-iroh035}

skip() {
    echo "SKIP interop.disco035: $* — the test did not run"
    exit 0
}
command -v node >/dev/null || skip "node is not installed"
command -v npm >/dev/null || skip "npm is not installed"
node -e 'const [a, b] = process.versions.node.split(".").map(Number);
         process.exit(a > 20 || (a === 20 && b >= 3) ? 0 : 1)' ||
    skip "node $(node --version) is older than 20.3"

failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
die() {
    echo "FAIL: $*" >&2
    exit 1
}
[ "$(id -u)" = 0 ] || die "needs root to make a network namespace (ip netns)"

module=$mods/node_modules/@number0/iroh/index.js
if [ ! -f "$module" ]; then
    mkdir -p "$mods" || die "cannot make $mods"
    (
        flock 9
        [ -f "$module" ] || (cd "$mods" && npm install --no-audit --no-fund --no-save \
            --prefix "$mods" @number0/iroh@0.35.0 >&2)
    ) 9>"$mods.lock" || die "npm install @number0/iroh@0.35.0 failed in $mods"
fi
[ "$(node -p "require('$mods/node_modules/@number0/iroh/package.json').version")" = 0.35.0 ] ||
    die "$mods does not hold @number0/iroh 0.35.0"

dir=$(mktemp -d "${IROH_TEST_TMP:-/tmp}/disco035-XXXXXX")
ns="irohd-disco035-$$"
cleanup() {
    local pids
    pids="$(jobs -p) $(ip netns pids "$ns" 2>/dev/null)"
    [ -n "${pids// /}" ] && kill -9 $pids 2>/dev/null
    wait 2>/dev/null
    ip netns del "$ns" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ip netns add "$ns" || die "ip netns add $ns failed"
in_ns() { ip netns exec "$ns" "$@"; }
in_ns ip link set lo up || die "cannot bring lo up in $ns"

get() {
    node -e 'let v = JSON.parse(process.argv[1]); for (const k of process.argv[2].split("."))
             v = v == null ? v : v[k]; process.stdout.write(v == null ? "" : String(v))' "$1" "$2"
}
wait_for() {
    local tries=$(($1 * 10))
    shift
    while [ "$tries" -gt 0 ]; do
        "$@" && return 0
        sleep 0.1
        tries=$((tries - 1))
    done
    return 1
}
sock=$dir/irohd.sock
rpc() {
    out=$(in_ns "$IROH" --socket "$sock" --json --timeout 90000 rpc "$1" ${2:+"$2"} 2>&1)
    rc=$?
}

echo "== irohd and a real iroh 0.35 node in network namespace $ns (loopback only)"
ip netns exec "$ns" "$IROHD" --data-dir "$dir/irohd" --socket "$sock" --bind 127.0.0.1:0 \
    --log-level debug >"$dir/irohd.out" 2>"$dir/irohd.log" &
irohd_pid=$!
wait_for 10 in_ns "$IROH" --socket "$sock" id >/dev/null 2>&1 ||
    die "irohd did not start: $(cat "$dir/irohd.log")"
rpc endpoint.addr
irohd_id=$(get "$out" id)
irohd_addr=$(get "$out" addrs)
echo "irohd $irohd_id on $irohd_addr"

echo "== 1. irohd dials the 0.35 node"
in_ns node "$here/disco035.mjs" "$module" serve >"$dir/serve.out" 2>"$dir/serve.err" &
wait_for 30 test -s "$dir/serve.out" || die "the 0.35 node did not start: $(cat "$dir/serve.err")"
ready=$(head -1 "$dir/serve.out")
node_id=$(get "$ready" id)
echo "0.35 node $node_id on $(get "$ready" addrs)"
rpc endpoint.echo "{\"ticket\":\"$(get "$ready" ticket)\",\"bytes\":$bytes,\"timeout_s\":30}"
echo "endpoint.echo: $(printf '%s' "$out" | tr -d ' \n')"
[ "$rc" = 0 ] && [ "$(get "$out" bytes)" = "$bytes" ] || fail "irohd -> 0.35 echo failed: $out"
[ "$(get "$out" remote)" = "$node_id" ] || fail "irohd -> 0.35: wrong remote id"
grep -q "disco: pong from ${node_id:0:10}" "$dir/irohd.log" || fail "irohd saw no Pong from the node"
wait_for 15 test "$(wc -l <"$dir/serve.out")" -ge 2 || fail "the 0.35 node did not report the connection"
line=$(sed -n 2p "$dir/serve.out")
echo "0.35 node: $line"
[ "$(get "$line" remote)" = "$irohd_id" ] && [ "$(get "$line" echoed)" = "$bytes" ] ||
    fail "the 0.35 node saw another remote or echoed too little: $line"

echo "== 2. the 0.35 node dials irohd"
out=$(in_ns timeout 60 node "$here/disco035.mjs" "$module" dial --id "$irohd_id" \
    --addr "$irohd_addr" --bytes "$bytes" 2>"$dir/dial.err")
echo "0.35 client: $out"
[ "$(get "$out" ok)" = true ] && [ "$(get "$out" bytes)" = "$bytes" ] ||
    fail "0.35 -> irohd echo failed: $out $(tail -5 "$dir/dial.err")"
[ "$(get "$out" remote)" = "$irohd_id" ] || fail "0.35 -> irohd: wrong remote id"
grep -q "disco: ping from" "$dir/irohd.log" || fail "irohd saw no Ping"

in_ns "$IROH" --socket "$sock" shutdown >/dev/null 2>&1 || fail "irohd shutdown"
wait_for 20 sh -c "! kill -0 $irohd_pid 2>/dev/null" || fail "irohd did not stop"
echo "== what irohd saw"
grep -E "disco: |quic: .*(connected|accepted)" "$dir/irohd.log" | sed 's/^[^ ]* //'
grep -E "ERROR|Sanitizer|runtime error" "$dir/irohd.log" && fail "sanitizer reports from irohd"

[ "$failures" = 0 ] && echo "interop.disco035: all checks passed"
exit $((failures > 0))
