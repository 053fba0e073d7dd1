#!/usr/bin/env bash
# relay.sh IROH_RELAY — irohd's iroh-relay carrying traffic of the real iroh 1.x (the
# @number0/iroh bindings pinned in package.json), with relay-peer.mjs as the iroh side.
#
# Three network namespaces of our own, none with a default route: R runs iroh-relay on
# 10.9.0.1:3340; A (10.9.0.2) and B (10.9.0.3) each have a veth link to R only, and R does not
# forward. So A and B reach the relay over TCP but can never reach each other directly: every
# packet between them goes through iroh-relay (checked: the connections have relay paths only,
# and the relay counted the datagrams it forwarded).
#
#   1. access "everyone": iroh in A serves an echo protocol, iroh in B dials it with an address
#      that holds only the relay URL and echoes 2 MiB; both sides check the bytes.
#   2. shared token: both endpoints set RelayConfig.authToken and echo again; an endpoint without
#      the token never gets online and iroh reports "The relay denied our authentication (not
#      authorized)".
#   3. allowlist and denylist of endpoint ids: the listed (resp. unlisted) endpoint gets online,
#      the other is refused with the same message.
# Run by ctest as interop.relay; needs root (ip netns). Node, the modules of package.json
# (npm ci), the namespaces and the cleanup on every path come from lib.sh (SKIP without node or
# npm).
set -u
RELAY=$1
test_name=interop.relay
. "$(dirname "$0")/lib.sh"
need_node
need_root
need_iroh1
make_tmp interop-relay
nsR="irohd-relay-r-$$"
nsA="irohd-relay-a-$$"
nsB="irohd-relay-b-$$"

# The namespaces: R holds 10.9.0.1 on both of its links and routes 10.9.0.2 to A and 10.9.0.3
# to B; forwarding is off in a new namespace, so A and B cannot reach each other.
for n in "$nsR" "$nsA" "$nsB"; do make_ns "$n"; done
ip -n "$nsA" link add va type veth peer name vra netns "$nsR" || die "veth A-R"
ip -n "$nsB" link add vb type veth peer name vrb netns "$nsR" || die "veth B-R"
ip -n "$nsR" addr add 10.9.0.1/32 dev vra && ip -n "$nsR" addr add 10.9.0.1/32 dev vrb &&
    ip -n "$nsR" link set vra up && ip -n "$nsR" link set vrb up &&
    ip -n "$nsR" route add 10.9.0.2/32 dev vra && ip -n "$nsR" route add 10.9.0.3/32 dev vrb &&
    ip -n "$nsA" addr add 10.9.0.2/32 dev va && ip -n "$nsA" link set va up &&
    ip -n "$nsA" route add 10.9.0.1/32 dev va &&
    ip -n "$nsB" addr add 10.9.0.3/32 dev vb && ip -n "$nsB" link set vb up &&
    ip -n "$nsB" route add 10.9.0.1/32 dev vb || die "cannot set up the links"
[ "$(ip netns exec "$nsR" cat /proc/sys/net/ipv4/ip_forward)" = 0 ] || die "R forwards packets"

url=http://10.9.0.1:3340
relay_pid=
# start_relay NAME ARGS...: (re)starts iroh-relay in R with ARGS; log in $dir/relay-NAME.log.
start_relay() {
    local name=$1
    shift
    stop_relay
    ip netns exec "$nsR" "$RELAY" --dev --http-bind 10.9.0.1:3340 --metrics-bind 127.0.0.1:9090 \
        --log-level debug "$@" 2>"$dir/relay-$name.log" &
    relay_pid=$!
    wait_for 30 grep -q "metrics (http) listening" "$dir/relay-$name.log" ||
        die "iroh-relay did not start: $(cat "$dir/relay-$name.log")"
    relay_log=$dir/relay-$name.log
}
stop_relay() {
    [ -n "$relay_pid" ] || return 0
    kill -TERM "$relay_pid"
    wait "$relay_pid"
    local st=$?
    [ "$st" = 0 ] || fail "iroh-relay exited with $st on SIGTERM"
    grep -E "ERROR|Sanitizer|runtime error" "$relay_log" && fail "errors in $relay_log"
    relay_pid=
}
# metric NAME: a counter of the running relay.
metric() {
    ip netns exec "$nsR" node -e 'fetch("http://127.0.0.1:9090/metrics").then((r) => r.text())
        .then((t) => { const m = t.match(new RegExp("\\n" + process.argv[1] + " (\\d+)"));
                       process.stdout.write(m ? m[1] : "") })' "$1"
}
# peer NS ARGS...: relay-peer.mjs in a namespace.
peer() {
    local ns=$1
    shift
    ip netns exec "$ns" node "$interop_dir/relay-peer.mjs" "$@"
}
# refused NS NAME ARGS...: an endpoint that the relay must refuse; iroh has to say so. Waits
# (at most 30 s) for iroh's report of the denial or its online line, whichever comes, instead
# of giving iroh a fixed few seconds to get denied.
refused() {
    local ns=$1 name=$2 pid
    shift 2
    # iroh's log goes to stdout with the result line.
    ip netns exec "$ns" node "$interop_dir/relay-peer.mjs" online --relay "$url" --timeout 30 \
        --log Warn "$@" >"$dir/$name.err" 2>&1 &
    pid=$!
    wait_for 30 grep -qE 'relay denied our authentication \(not authorized\)|^\{' "$dir/$name.err"
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    out=$(grep '^{' "$dir/$name.err" | tail -1)
    if [ "$(get "$out" ok)" = true ]; then
        fail "$name: the relay let it in"
    elif grep -q "relay denied our authentication (not authorized)" "$dir/$name.err"; then
        echo "$name: iroh reports: $(grep -m1 -o 'The relay denied.*' "$dir/$name.err")"
    else
        fail "$name: iroh did not report the denial: $(tail -3 "$dir/$name.err")"
    fi
}
admitted() {
    local ns=$1 name=$2
    shift 2
    out=$(peer "$ns" online --relay "$url" --timeout 30 "$@" 2>"$dir/$name.err")
    [ "$(get "$out" ok)" = true ] && echo "$name: online at $(get "$out" relay)" ||
        fail "$name: not admitted: $out $(tail -3 "$dir/$name.err")"
}
# echo_through NAME ARGS...: A serves, B dials with the relay URL only; 2 MiB echoed.
echo_through() {
    local name=$1
    shift
    # not through peer(): a backgrounded function is a subshell, and killing it would leave
    # node running (it then knocks at the next relay, a stranger to its token and lists)
    ip netns exec "$nsA" node "$interop_dir/relay-peer.mjs" serve --relay "$url" --bind 0.0.0.0:0 \
        --ready "$dir/$name.ready" "$@" >"$dir/$name.serve" 2>"$dir/$name.serve.err" &
    local serve_pid=$!
    if ! wait_for 30 has_lines "$dir/$name.ready" 1; then
        fail "$name: iroh in A did not get online: $(tail -3 "$dir/$name.serve.err")"
        kill "$serve_pid"
        return
    fi
    local id
    id=$(get "$(cat "$dir/$name.ready")" id)
    out=$(peer "$nsB" dial --relay "$url" --bind 0.0.0.0:0 --id "$id" --bytes 2097152 "$@" \
        2>"$dir/$name.dial.err")
    echo "$name: iroh in B: $out"
    [ "$(get "$out" ok)" = true ] || fail "$name: echo through the relay failed: $(tail -3 "$dir/$name.dial.err")"
    [ "$(get "$out" remote)" = "$id" ] || fail "$name: wrong remote id"
    printf '%s' "$out" | grep -q '"relay":false' && fail "$name: a direct path exists (the namespaces leak)"
    wait_for 30 has_lines "$dir/$name.serve" 1 || fail "$name: iroh in A did not report the connection"
    echo "$name: iroh in A: $(head -1 "$dir/$name.serve")"
    [ "$(get "$(head -1 "$dir/$name.serve")" echoed)" = 2097152 ] || fail "$name: A echoed too little"
    local fwd
    fwd=$(metric relayserver_send_packets_sent_total)
    echo "$name: the relay forwarded ${fwd:-?} datagram frames"
    [ "${fwd:-0}" -gt 100 ] || fail "$name: the relay forwarded only ${fwd:-0} frames"
    kill "$serve_pid"
    wait "$serve_pid" 2>/dev/null
}

echo "== iroh-relay and iroh (1.1.0 bindings, node $(node --version)): relay in $nsR, endpoints in $nsA and $nsB"

echo "== 1. access everyone: iroh <-> iroh through the relay only"
start_relay everyone
echo_through everyone

echo "== 2. shared token (RelayConfig.authToken)"
start_relay token --token sekrit-token
echo_through token --token sekrit-token
refused "$nsB" no-token
refused "$nsB" wrong-token --token other
[ "$(metric relayserver_auth_denied_total)" -ge 2 ] || fail "the relay did not count the refusals"

echo "== 3. allowlist and denylist"
secret_a=$(printf 'a%.0s' $(seq 64))
secret_b=$(printf 'b%.0s' $(seq 64))
idof() { node -e 'const iroh = require(process.argv[1]);
    process.stdout.write(iroh.SecretKey.fromBytes(Array.from(Buffer.from(process.argv[2], "hex"))).public().toString())' \
    "$iroh1" "$1"; }
id_a=$(idof "$secret_a")
id_b=$(idof "$secret_b")
start_relay allowlist --allow "$id_a"
admitted "$nsA" allowed --secret "$secret_a"
refused "$nsB" not-allowed --secret "$secret_b"
start_relay denylist --deny "$id_b"
admitted "$nsA" not-denied --secret "$secret_a"
refused "$nsB" denied --secret "$secret_b"
stop_relay

finish
