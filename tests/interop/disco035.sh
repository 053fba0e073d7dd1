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
# The serving node runs with its debug log (shown, filtered, when part 1 fails). The 0.35
# bindings are pinned in iroh035/package.json (+ lock), installed by lib.sh with npm ci; node,
# the namespace and the cleanup on every path come from lib.sh too (SKIP without node or npm;
# needs root for ip netns).
set -u
IROHD=$1
IROH=$2
test_name=interop.disco035
. "$(dirname "$0")/lib.sh"
bytes=262144
need_node
need_root
need_iroh035
make_tmp disco035
make_ns "irohd-disco035-$$"

echo "== irohd and a real iroh 0.35 node in network namespace $ns (loopback only)"
start_irohd irohd --bind 127.0.0.1:0 --log-level debug
wait_irohd irohd
rpc irohd endpoint.addr
irohd_id=$(get "$out" id)
irohd_addr=$(get "$out" addrs)
echo "irohd $irohd_id on $irohd_addr"

echo "== 1. irohd dials the 0.35 node"
# the node's log (IROH035_LOG) shares its stdout with the result lines, which start with "{"
IROH035_LOG=Debug in_ns node "$interop_dir/disco035.mjs" "$iroh035" serve \
    >"$dir/serve.out" 2>"$dir/serve.err" &
results() { grep '^{' "$dir/serve.out"; }
wait_for 30 grep -q '^{' "$dir/serve.out" ||
    die "the 0.35 node did not start: $(tail -20 "$dir/serve.err")"
ready=$(results | head -1)
node_id=$(get "$ready" id)
echo "0.35 node $node_id on $(get "$ready" addrs)"
echo_to irohd "$(get "$ready" ticket)" "$bytes" "$node_id" "irohd -> 0.35 echo"
# the Pong and the echo come by different ways: the echo's end does not say the Pong is in
wait_for 30 grep -q "disco: pong from ${node_id:0:10}" "$dir/irohd.log" || fail "irohd saw no Pong from the node"
wait_for 30 has_lines "$dir/serve.out" 2 '^{' ||
    fail "the 0.35 node did not report the connection"
line=$(results | sed -n 2p)
echo "0.35 node: $line"
[ "$(get "$line" remote)" = "$irohd_id" ] && [ "$(get "$line" echoed)" = "$bytes" ] ||
    fail "the 0.35 node saw another remote or echoed too little: $line"
if [ "$failures" -gt 0 ]; then
    echo "== irohd's log"
    grep -E "disco: |quic: |endpoint" "$dir/irohd.log" | tail -40
    echo "== the 0.35 node's log (magicsock)"
    grep -v '^{' "$dir/serve.out" | grep -v relay-actor |
        grep -E "poll_recv|disco|_events::p[io]ng|bound|bind|netmon|link change|WARN|ERROR" | tail -60
    tail -5 "$dir/serve.err"
fi

echo "== 2. the 0.35 node dials irohd"
out=$(in_ns timeout 60 node "$interop_dir/disco035.mjs" "$iroh035" dial --id "$irohd_id" \
    --addr "$irohd_addr" --bytes "$bytes" 2>"$dir/dial.err")
echo "0.35 client: $out"
[ "$(get "$out" ok)" = true ] && [ "$(get "$out" bytes)" = "$bytes" ] ||
    fail "0.35 -> irohd echo failed: $out $(tail -5 "$dir/dial.err")"
[ "$(get "$out" remote)" = "$irohd_id" ] || fail "0.35 -> irohd: wrong remote id"
wait_for 30 grep -q "disco: ping from" "$dir/irohd.log" || fail "irohd saw no Ping"

stop_irohds
echo "== what irohd saw"
grep -E "disco: |quic: .*(connected|accepted)" "$dir/irohd.log" | sed 's/^[^ ]* //'
finish
