#!/usr/bin/env bash
# relay_irohd.sh IROHD IROH RELAY — irohd's relay path against our relay server (RELAY, i.e.
# iroh-relay --dev on 127.0.0.1:3340) and the real iroh 1.x endpoint (relay_irohd.mjs on the
# @number0/iroh bindings of package.json), with relay-only addressing: nobody is given a
# direct address. In a network namespace of its own that has nothing but lo.
#
#   1. irohd dials the real iroh by id + relay URL: endpoint.echo of 1 MiB; iroh sees only
#      relay paths.
#   2. the real iroh dials irohd by id + relay URL: 1 MiB echoed over relay paths only.
#   3. irohd dials a second irohd by id + relay URL: 1 MiB.
#   4. the relay is killed and started again: both irohd reconnect (node.status) and echo again.
#   5. the relay over https (a self-signed certificate made with openssl, trusted with
#      --relay-ca; localhost resolves to ::1 first, where nothing listens): two more irohd
#      echo through it by id and relay URL. Skipped without openssl.
# Node, the modules of package.json (npm ci), the namespace and the cleanup on every path come
# from lib.sh (SKIP without node or npm; needs root for ip netns).
set -u
IROHD=$1
IROH=$2
RELAY=$3
test_name=interop.relay_irohd
. "$(dirname "$0")/lib.sh"
bytes=1048576
url=http://127.0.0.1:3340/
need_node
need_root
need_iroh1
make_tmp relay-irohd
make_ns "irohd-relay-$$"

# home_up N: irohd N's home relay is connected.
home_up() {
    rpc "$1" node.status
    [ "$rc" = 0 ] && [ "$(get "$out" relays.0.home)" = true ] &&
        [ "$(get "$out" relays.0.connected)" = true ]
}
home_down() { ! home_up "$1"; }
relay_start() {
    # ip netns exec execs the relay, so $! is the relay itself (a shell function would fork)
    ip netns exec "$ns" "$RELAY" --dev --http-bind 127.0.0.1:3340 --no-metrics \
        >>"$dir/relay.log" 2>&1 &
    relay_pid=$!
    wait_for 30 in_ns bash -c "exec 3<>/dev/tcp/127.0.0.1/3340" 2>/dev/null ||
        die "the relay did not start: $(cat "$dir/relay.log")"
}
# ticket ID: an endpoint ticket with ID and the relay URL only.
ticket() {
    get "$(in_ns node "$interop_dir/relay_irohd.mjs" ticket --id "$1" --relay "$url")" ticket
}

echo "== our relay, two irohd and the real iroh in network namespace $ns (loopback only)"
relay_start
for n in a b; do
    start_irohd "$n" --bind 127.0.0.1:0 --relay "$url" --log-level debug
done
for n in a b; do
    wait_for 30 home_up "$n" || die "irohd $n has no home relay: $out $(tail -5 "$dir/$n.log")"
done
rpc a endpoint.addr
a_id=$(get "$out" id)
[ "$(get "$out" relay)" = "$url" ] || fail "endpoint.addr names no home relay: $out"
rpc b endpoint.addr
b_id=$(get "$out" id)
echo "irohd a $a_id, b $b_id, home relay $url"

echo "== 1. irohd dials the real iroh by id and relay URL"
in_ns node "$interop_dir/relay_irohd.mjs" serve --relay "$url" >"$dir/serve.out" 2>"$dir/serve.err" &
wait_ready 30 "$dir/serve.out" iroh "$dir/serve.err"
ready=$(head -1 "$dir/serve.out")
iroh_id=$(get "$ready" id)
echo "iroh $iroh_id, home relay $(get "$ready" relay)"
echo_to a "$(get "$ready" ticket)" "$bytes" "$iroh_id" "irohd -> iroh via the relay"
wait_for 30 has_lines "$dir/serve.out" 2 || fail "iroh did not report the connection"
line=$(sed -n 2p "$dir/serve.out")
echo "iroh: $line"
[ "$(get "$line" remote)" = "$a_id" ] && [ "$(get "$line" echoed)" = "$bytes" ] &&
    [ "$(get "$line" relay)" = true ] || fail "iroh saw another remote, too little or a direct path: $line"

echo "== 2. the real iroh dials irohd by id and relay URL"
out=$(in_ns timeout 60 node "$interop_dir/relay_irohd.mjs" dial --id "$a_id" --relay "$url" \
    --bytes "$bytes" 2>"$dir/dial.err")
echo "iroh client: $out"
[ "$(get "$out" ok)" = true ] && [ "$(get "$out" bytes)" = "$bytes" ] ||
    fail "iroh -> irohd via the relay failed: $out $(tail -3 "$dir/dial.err")"
[ "$(get "$out" remote)" = "$a_id" ] && [ "$(get "$out" relay)" = true ] ||
    fail "iroh -> irohd: wrong remote or a direct path: $out"

echo "== 3. irohd dials irohd by id and relay URL"
echo_to a "$(ticket "$b_id")" "$bytes" "$b_id" "irohd -> irohd via the relay"

echo "== 4. the relay restarts: both irohd reconnect and echo again"
kill -9 "$relay_pid"
wait "$relay_pid" 2>/dev/null
wait_for 30 home_down a || fail "irohd a did not notice that the relay went away"
relay_start
for n in a b; do
    wait_for 30 home_up "$n" || fail "irohd $n did not reconnect: $out"
done
echo_to b "$(ticket "$a_id")" "$bytes" "$a_id" "irohd b -> a via the restarted relay"

echo "== 5. the relay over https"
if command -v openssl >/dev/null; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
        -subj /CN=localhost -addext subjectAltName=DNS:localhost -keyout "$dir/key.pem" \
        -out "$dir/cert.pem" 2>"$dir/openssl.err" || fail "openssl: $(cat "$dir/openssl.err")"
    ip netns exec "$ns" "$RELAY" --http-bind 127.0.0.1:3380 --https-bind 127.0.0.1:3443 \
        --tls-cert "$dir/cert.pem" --tls-key "$dir/key.pem" --no-metrics >>"$dir/relay-tls.log" 2>&1 &
    # listening before the irohds dial it: a first dial refused backs off (up to 16 s)
    wait_for 30 in_ns bash -c "exec 3<>/dev/tcp/127.0.0.1/3443" 2>/dev/null ||
        fail "the https relay did not start: $(cat "$dir/relay-tls.log")"
    tls_url=https://localhost:3443/
    for n in c d; do
        start_irohd "$n" --bind 127.0.0.1:0 --relay "$tls_url" --relay-ca "$dir/cert.pem" \
            --log-level debug
    done
    for n in c d; do
        wait_for 30 home_up "$n" || fail "irohd $n has no https home relay: $out"
    done
    rpc d endpoint.addr
    d_id=$(get "$out" id)
    t=$(get "$(in_ns node "$interop_dir/relay_irohd.mjs" ticket --id "$d_id" --relay "$tls_url")" ticket)
    echo_to c "$t" "$bytes" "$d_id" "irohd -> irohd via the https relay"
else
    echo "skipped: no openssl"
fi

stop_irohds
echo "== what irohd a saw"
grep -E "relay: |home relay|quic: .*(connected|accepted)" "$dir/a.log" | grep -v "retrying in" |
    sed 's/^[^ ]* //'
finish
