#!/usr/bin/env bash
# run.sh IROHD IROH ECHO APP_PEER — irohd against the real iroh 1.x (the @number0/iroh bindings pinned in
# package.json / package-lock.json), over QUIC on loopback inside a network namespace of its
# own that has nothing but lo (iroh's port mapper multicasts UPnP discovery whenever a default
# route exists, so iroh never runs outside such a namespace).
#
#   1. irohd dials iroh's echo server (peer.mjs serve): endpoint.echo of 1 MiB on one stream,
#      then 4 streams of 256 KiB on one connection.
#   2. iroh's client (peer.mjs dial) dials irohd's echo protocol: 1 MiB on one stream.
#   3. refused handshakes (a wrong id, an unserved ALPN) end promptly.
#   4. iroh's client dials iroh-example-echo (ECHO: an app behind irohd, endpoint.listen).
#   5. iroh-example-echo behind irohd dials iroh's echo server: 4 streams at once.
#   6. datagrams (RFC 9221) both ways: an app behind irohd (APP_PEER dgram) sends 200 to
#      iroh's server, which sends them back; iroh's client sends 200 to an app behind irohd
#      (APP_PEER dgram-echo), which sends them back. Each sender checks every echo's bytes.
#   7. streams with codes against iroh (APP_PEER codes, peer.mjs serve's codes protocol): 3 MB
#      on a unidirectional stream to iroh, which sends them back on one it opens (checked);
#      iroh resets a stream with 42 and stops one with 43 and the app sees both codes; the app
#      resets with 44 and stops with 45 and iroh reports both.
# Both sides check every byte and the peer's id. Run by ctest as interop.echo; needs root (ip
# netns). Without node >= 20.3 or npm it prints why it skips and exits 0. It installs the node
# modules with `npm ci` when they are missing. INTEROP_BYTES overrides the 1 MiB. Every process
# it starts is killed and the namespace deleted on every path.
set -u
IROHD=$1
IROH=$2
ECHO=$3
PEER=$4
here=$(cd "$(dirname "$0")" && pwd)
bytes=${INTEROP_BYTES:-1048576}

skip() {
    echo "SKIP interop.echo: $* — the interop test did not run"
    exit 0
}
command -v node >/dev/null || skip "node is not installed (iroh's bindings need node >= 20.3)"
command -v npm >/dev/null || skip "npm is not installed"
node -e 'const [a, b] = process.versions.node.split(".").map(Number);
         process.exit(a > 20 || (a === 20 && b >= 3) ? 0 : 1)' ||
    skip "node $(node --version) is older than 20.3, which iroh's bindings need"

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
command -v ip >/dev/null || die "needs the ip command (Debian package iproute2)"

# The pinned modules, installed once; the lock keeps concurrent runs from racing npm ci.
if [ ! -f "$here/node_modules/@number0/iroh/index.js" ]; then
    (
        flock 9
        [ -f "$here/node_modules/@number0/iroh/index.js" ] ||
            (cd "$here" && npm ci --no-audit --no-fund >&2)
    ) 9>"${TMPDIR:-/tmp}/irohd-interop-npm.lock" || die "npm ci failed in $here"
fi

dir=$(mktemp -d "${IROH_TEST_TMP:-/tmp}/interop-XXXXXX")
ns="irohd-interop-$$"
# Kills our background jobs and anything else still running in the namespace (by pid), then
# deletes it. Background jobs are started with `ip netns exec` itself, which execs the command,
# so a job's pid is the process.
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

# get JSON KEY: a member of a JSON text (node is here anyway).
get() {
    node -e 'let v = JSON.parse(process.argv[1]); for (const k of process.argv[2].split("."))
             v = v == null ? v : v[k]; process.stdout.write(v == null ? "" : String(v))' "$1" "$2"
}

# wait_for SECONDS CMD...: retries CMD every 100 ms.
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

# rpc METHOD [PARAMS]: iroh rpc against the test irohd; JSON in $out, exit code in $rc.
sock=$dir/irohd.sock
rpc() {
    out=$(in_ns "$IROH" --socket "$sock" --json --timeout 90000 rpc "$1" ${2:+"$2"} 2>&1)
    rc=$?
}

echo "== irohd and iroh ($(node -p 'require("'"$here"'/node_modules/@number0/iroh/package.json").version')" \
    "bindings, node $(node --version)) in network namespace $ns (loopback only)"
ip netns exec "$ns" "$IROHD" --data-dir "$dir/irohd" --socket "$sock" \
    --bind 127.0.0.1:0 --bind '[::1]:0' --log-level debug >"$dir/irohd.out" 2>"$dir/irohd.log" &
wait_for 10 in_ns "$IROH" --socket "$sock" id >/dev/null 2>&1 ||
    die "irohd did not start: $(cat "$dir/irohd.log")"
rpc endpoint.addr
irohd_id=$(get "$out" id)
echo "irohd $irohd_id on $(get "$out" addrs)"

echo "== 1. irohd dials iroh's echo server"
ip netns exec "$ns" node "$here/peer.mjs" serve --ready "$dir/ready" >"$dir/serve.out" \
    2>"$dir/serve.err" &
wait_for 30 test -s "$dir/ready" || die "iroh's echo server did not start: $(cat "$dir/serve.err")"
ready=$(cat "$dir/ready")
echo "iroh  $(get "$ready" id) on $(get "$ready" addrs)"
ticket=$(get "$ready" ticket)

rpc endpoint.echo "{\"ticket\":\"$ticket\",\"bytes\":$bytes,\"timeout_s\":60}"
echo "endpoint.echo: $(printf '%s' "$out" | tr -d ' \n')"
[ "$rc" = 0 ] || fail "irohd -> iroh echo failed: $out"
[ "$(get "$out" bytes)" = "$bytes" ] || fail "irohd -> iroh echoed $(get "$out" bytes) bytes"
[ "$(get "$out" remote)" = "$(get "$ready" id)" ] || fail "irohd -> iroh: wrong remote id"

quarter=$((bytes / 4))
rpc endpoint.echo "{\"ticket\":\"$ticket\",\"bytes\":$quarter,\"streams\":4,\"timeout_s\":60}"
echo "endpoint.echo (4 streams): $(printf '%s' "$out" | tr -d ' \n')"
[ "$rc" = 0 ] || fail "irohd -> iroh 4-stream echo failed: $out"
[ "$(get "$out" bytes)" = $((4 * quarter)) ] || fail "irohd -> iroh 4 streams echoed too little"

# the server prints one line per finished connection
wait_for 15 test "$(wc -l <"$dir/serve.out")" -ge 2 || fail "iroh's server did not see both connections end"
head -2 "$dir/serve.out" | while read -r line; do
    echo "iroh server: $line"
    [ "$(get "$line" remote)" = "$irohd_id" ] || echo "FAIL: iroh saw another remote id: $line"
done | tee "$dir/server-lines"
grep -q FAIL "$dir/server-lines" && fail "iroh's server saw another remote id"
[ "$(get "$(head -1 "$dir/serve.out")" echoed)" = "$bytes" ] || fail "iroh echoed too little"
[ "$(get "$(sed -n 2p "$dir/serve.out")" streams)" = 4 ] || fail "iroh saw not 4 streams"

echo "== 2. iroh's client dials irohd's echo protocol"
rpc endpoint.ticket
out=$(in_ns node "$here/peer.mjs" dial --ticket "$(get "$out" ticket)" --bytes "$bytes" \
    --timeout 60 2>"$dir/dial.err")
echo "iroh client: $out"
[ "$(get "$out" ok)" = true ] || fail "iroh -> irohd echo failed: $out $(tail -5 "$dir/dial.err")"
[ "$(get "$out" bytes)" = "$bytes" ] || fail "iroh -> irohd echoed $(get "$out" bytes) bytes"
[ "$(get "$out" remote)" = "$irohd_id" ] || fail "iroh -> irohd: wrong remote id"

echo "== 3. refused handshakes end promptly"
impostor=$(in_ns node "$here/peer.mjs" impostor --ticket "$ticket" 2>>"$dir/dial.err")
rpc endpoint.echo "{\"ticket\":\"$(get "$impostor" ticket)\",\"timeout_s\":20}"
echo "endpoint.echo to a wrong id: $(printf '%s' "$out" | tr -d '\n')"
[ "$rc" = 1 ] && printf '%s' "$out" | grep -q "alert 42" || fail "a wrong id was not refused by TLS: $out"
wait_for 10 test "$(wc -l <"$dir/serve.out")" -ge 3 && echo "iroh server: $(sed -n 3p "$dir/serve.out")"
rpc endpoint.ticket
out=$(in_ns node "$here/peer.mjs" dial --ticket "$(get "$out" ticket)" --alpn not-served/0 \
    --timeout 20 2>>"$dir/dial.err")
echo "iroh client with an unserved ALPN: $out"
[ "$(get "$out" ok)" = false ] && printf '%s' "$out" | grep -q "120" ||
    fail "an unserved ALPN was not refused with alert 120: $out"
[ "$(get "$out" ms | cut -d. -f1)" -lt 5000 ] || fail "the refusal took $(get "$out" ms) ms"

echo "== 4. iroh's client dials iroh-example-echo, an app behind irohd"
ip netns exec "$ns" "$ECHO" --socket "$sock" accept >"$dir/app.out" 2>"$dir/app.err" &
app_pid=$!
wait_for 10 test -s "$dir/app.out" || fail "iroh-example-echo accept did not start: $(cat "$dir/app.err")"
out=$(in_ns node "$here/peer.mjs" dial --ticket "$(head -1 "$dir/app.out")" --bytes "$bytes" \
    --timeout 60 2>>"$dir/dial.err")
echo "iroh client: $out"
[ "$(get "$out" ok)" = true ] || fail "iroh -> app echo failed: $out $(tail -5 "$dir/dial.err")"
[ "$(get "$out" bytes)" = "$bytes" ] || fail "iroh -> app echoed $(get "$out" bytes) bytes"
[ "$(get "$out" remote)" = "$irohd_id" ] || fail "iroh -> app: wrong remote id"
kill "$app_pid"

echo "== 5. iroh-example-echo behind irohd dials iroh's echo server (4 streams)"
head -c "$bytes" /dev/urandom >"$dir/data"
if in_ns timeout 60 "$ECHO" --socket "$sock" --streams 4 connect "$ticket" <"$dir/data" \
    2>"$dir/app-connect.err"; then
    echo "iroh-example-echo: $(cat "$dir/app-connect.err")"
else
    fail "app -> iroh echo failed: $(cat "$dir/app-connect.err")"
fi

echo "== 6. datagrams both ways"
out=$(in_ns timeout 60 "$PEER" dgram "$sock" "$ticket" iroh-example/echo/0 200 2>"$dir/dgram.err")
echo "app behind irohd -> iroh -> back: sent, echoed: $out"
read -r sent echoed <<<"$out"
[ -n "$echoed" ] && [ "$((echoed * 10))" -ge "$((${sent:-1} * 9))" ] ||
    fail "datagrams to iroh and back: $out $(cat "$dir/dgram.err")"
wait_for 15 grep -q '"datagrams":[1-9]' "$dir/serve.out" || fail "iroh's server saw no datagrams"
grep '"datagrams":[1-9]' "$dir/serve.out" | head -1 | sed 's/^/iroh server: /'
ip netns exec "$ns" "$PEER" dgram-echo "$sock" irohd-test/dgram/0 0 >"$dir/dgecho.out" \
    2>"$dir/dgecho.err" &
wait_for 10 test -s "$dir/dgecho.out" || fail "dgram-echo did not start: $(cat "$dir/dgecho.err")"
out=$(in_ns node "$here/peer.mjs" dgram --ticket "$(head -1 "$dir/dgecho.out")" \
    --alpn irohd-test/dgram/0 --count 200 2>>"$dir/dial.err")
echo "iroh -> app behind irohd -> back: $out"
[ "$(get "$out" ok)" = true ] && [ "$(($(get "$out" echoed) * 10))" -ge 1800 ] ||
    fail "datagrams from iroh and back: $out $(tail -3 "$dir/dial.err")"
wait_for 10 test "$(wc -l <"$dir/dgecho.out")" -ge 2 && echo "app: received dropped read: $(sed -n 2p "$dir/dgecho.out")"

echo "== 7. unidirectional streams, resets and stops with codes against iroh"
if out=$(in_ns timeout 60 "$PEER" codes "$sock" "$ticket" irohd-test/codes/0 3000000 \
    2>"$dir/codes.err"); then
    echo "app behind irohd: $out"
else
    fail "codes against iroh: $(cat "$dir/codes.err")"
fi
wait_for 15 grep -q '"alpn":"irohd-test/codes/0"' "$dir/serve.out" || fail "iroh's server did not report the codes connection"
line=$(grep '"alpn":"irohd-test/codes/0"' "$dir/serve.out" | head -1)
echo "iroh server: $line"
[ "$(get "$line" uni)" = 3000000 ] || fail "iroh read $(get "$line" uni) of 3000000 unidirectional bytes"
for code in '"reset 42"' '"stop 43"' '"saw reset 44"' '"saw stopped 45"'; do
    printf '%s' "$line" | grep -q "$code" || fail "iroh's server did not report $code"
done

in_ns "$IROH" --socket "$sock" shutdown >/dev/null 2>&1 || fail "irohd shutdown"
wait_for 10 sh -c "! kill -0 $(jobs -p | head -1) 2>/dev/null" || fail "irohd did not stop"

echo "== what irohd saw"
grep -E "quic: |endpoint: " "$dir/irohd.log" | sed 's/^[^ ]* //'
grep -E "ERROR|Sanitizer|runtime error" "$dir/irohd.log" && fail "sanitizer reports from irohd"

[ "$failures" = 0 ] && echo "interop.echo: all checks passed"
exit $((failures > 0))
