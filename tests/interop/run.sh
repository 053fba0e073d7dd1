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
#   8. iroh's client dials a second irohd that sends every new client a Retry (config
#      "retry_always"): iroh answers it from its address and echoes 64 KiB.
# Both sides check every byte and the peer's id. Run by ctest as interop.echo; needs root (ip
# netns). Node, the modules of package.json (npm ci), the namespace and the cleanup on every
# path come from lib.sh (SKIP without node or npm). INTEROP_BYTES overrides the 1 MiB.
set -u
IROHD=$1
IROH=$2
ECHO=$3
PEER=$4
test_name=interop.echo
. "$(dirname "$0")/lib.sh"
here=$interop_dir
bytes=${INTEROP_BYTES:-1048576}
need_node
need_root
need_iroh1
make_tmp interop
make_ns "irohd-interop-$$"
sock=$dir/irohd.sock

echo "== irohd and iroh (1.1.0 bindings, node $(node --version)) in network namespace $ns (loopback only)"
start_irohd irohd --bind 127.0.0.1:0 --bind '[::1]:0' --log-level debug
wait_irohd irohd
rpc irohd endpoint.addr
irohd_id=$(get "$out" id)
echo "irohd $irohd_id on $(get "$out" addrs)"

echo "== 1. irohd dials iroh's echo server"
ip netns exec "$ns" node "$here/peer.mjs" serve --ready "$dir/ready" >"$dir/serve.out" \
    2>"$dir/serve.err" &
wait_ready 30 "$dir/ready" "iroh's echo server" "$dir/serve.err"
ready=$(cat "$dir/ready")
echo "iroh  $(get "$ready" id) on $(get "$ready" addrs)"
ticket=$(get "$ready" ticket)

echo_to irohd "$ticket" "$bytes" "$(get "$ready" id)" "irohd -> iroh echo"
echo_to irohd "$ticket" $((bytes / 4)) "$(get "$ready" id)" "irohd -> iroh echo on 4 streams" 4

# the server prints one line per finished connection
wait_for 30 has_lines "$dir/serve.out" 2 || fail "iroh's server did not see both connections end"
head -2 "$dir/serve.out" | while read -r line; do
    echo "iroh server: $line"
    [ "$(get "$line" remote)" = "$irohd_id" ] || echo "FAIL: iroh saw another remote id: $line"
done | tee "$dir/server-lines"
grep -q FAIL "$dir/server-lines" && fail "iroh's server saw another remote id"
# Each line comes when its connection has closed, in whatever order iroh saw the closes.
grep -q "\"echoed\":$bytes,\"streams\":1," "$dir/server-lines" || fail "iroh echoed too little on one stream"
grep -q "\"echoed\":$((bytes / 4 * 4)),\"streams\":4," "$dir/server-lines" || fail "iroh saw not 4 streams"

echo "== 2. iroh's client dials irohd's echo protocol"
rpc irohd endpoint.ticket
out=$(in_ns node "$here/peer.mjs" dial --ticket "$(get "$out" ticket)" --bytes "$bytes" \
    --timeout 60 2>"$dir/dial.err")
echo "iroh client: $out"
[ "$(get "$out" ok)" = true ] || fail "iroh -> irohd echo failed: $out $(tail -5 "$dir/dial.err")"
[ "$(get "$out" bytes)" = "$bytes" ] || fail "iroh -> irohd echoed $(get "$out" bytes) bytes"
[ "$(get "$out" remote)" = "$irohd_id" ] || fail "iroh -> irohd: wrong remote id"

echo "== 3. refused handshakes end promptly"
impostor=$(in_ns node "$here/peer.mjs" impostor --ticket "$ticket" 2>>"$dir/dial.err")
rpc irohd endpoint.echo "{\"ticket\":\"$(get "$impostor" ticket)\",\"timeout_s\":30}"
echo "endpoint.echo to a wrong id: $(printf '%s' "$out" | tr -d '\n')"
[ "$rc" = 1 ] && printf '%s' "$out" | grep -q "alert 42" || fail "a wrong id was not refused by TLS: $out"
wait_for 10 has_lines "$dir/serve.out" 3 && echo "iroh server: $(sed -n 3p "$dir/serve.out")"
rpc irohd endpoint.ticket
out=$(in_ns node "$here/peer.mjs" dial --ticket "$(get "$out" ticket)" --alpn not-served/0 \
    --timeout 20 2>>"$dir/dial.err")
echo "iroh client with an unserved ALPN: $out"
[ "$(get "$out" ok)" = false ] && printf '%s' "$out" | grep -q "120" ||
    fail "an unserved ALPN was not refused with alert 120: $out"
# promptly: the refusal ended the dial, well before its own 20 s limit (no fixed few seconds,
# which a loaded sanitizer run may need)
[ "$(get "$out" ms | cut -d. -f1)" -lt 15000 ] || fail "the refusal took $(get "$out" ms) ms"

echo "== 4. iroh's client dials iroh-example-echo, an app behind irohd"
ip netns exec "$ns" "$ECHO" --socket "$sock" accept >"$dir/app.out" 2>"$dir/app.err" &
app_pid=$!
wait_for 30 has_lines "$dir/app.out" 1 || fail "iroh-example-echo accept did not start: $(cat "$dir/app.err")"
out=$(in_ns node "$here/peer.mjs" dial --ticket "$(head -1 "$dir/app.out")" --bytes "$bytes" \
    --timeout 60 2>>"$dir/dial.err")
echo "iroh client: $out"
[ "$(get "$out" ok)" = true ] || fail "iroh -> app echo failed: $out $(tail -5 "$dir/dial.err")"
[ "$(get "$out" bytes)" = "$bytes" ] || fail "iroh -> app echoed $(get "$out" bytes) bytes"
[ "$(get "$out" remote)" = "$irohd_id" ] || fail "iroh -> app: wrong remote id"
kill "$app_pid"
wait "$app_pid" 2>/dev/null

echo "== 5. iroh-example-echo behind irohd dials iroh's echo server (4 streams)"
head -c "$bytes" /dev/urandom >"$dir/data"
if in_ns timeout 60 "$ECHO" --socket "$sock" --streams 4 connect "$ticket" <"$dir/data" \
    2>"$dir/app-connect.err"; then
    echo "iroh-example-echo: $(cat "$dir/app-connect.err")"
else
    fail "app -> iroh echo failed: $(cat "$dir/app-connect.err")"
fi

echo "== 6. datagrams both ways"
out=$(in_ns timeout 60 "$PEER" dgram "$sock" "$ticket" iroh-example/echo/0 200 16 2>"$dir/dgram.err")
echo "app behind irohd -> iroh -> back: sent, echoed: $out"
read -r sent echoed <<<"$out"
[ -n "$echoed" ] && [ "$((echoed * 10))" -ge "$((${sent:-1} * 9))" ] ||
    fail "datagrams to iroh and back: $out $(cat "$dir/dgram.err")"
wait_for 30 grep -q '"datagrams":[1-9]' "$dir/serve.out" || fail "iroh's server saw no datagrams"
grep '"datagrams":[1-9]' "$dir/serve.out" | head -1 | sed 's/^/iroh server: /'
ip netns exec "$ns" "$PEER" dgram-echo "$sock" irohd-test/dgram/0 now >"$dir/dgecho.out" \
    2>"$dir/dgecho.err" &
wait_for 30 has_lines "$dir/dgecho.out" 1 || fail "dgram-echo did not start: $(cat "$dir/dgecho.err")"
out=$(in_ns node "$here/peer.mjs" dgram --ticket "$(head -1 "$dir/dgecho.out")" \
    --alpn irohd-test/dgram/0 --count 200 2>>"$dir/dial.err")
echo "iroh -> app behind irohd -> back: $out"
[ "$(get "$out" ok)" = true ] && [ "$(($(get "$out" echoed) * 10))" -ge 1800 ] ||
    fail "datagrams from iroh and back: $out $(tail -3 "$dir/dial.err")"
wait_for 30 has_lines "$dir/dgecho.out" 2 && echo "app: received dropped read: $(sed -n 2p "$dir/dgecho.out")"

echo "== 7. unidirectional streams, resets and stops with codes against iroh"
if out=$(in_ns timeout 60 "$PEER" codes "$sock" "$ticket" irohd-test/codes/0 3000000 \
    2>"$dir/codes.err"); then
    echo "app behind irohd: $out"
else
    fail "codes against iroh: $(cat "$dir/codes.err")"
fi
wait_for 30 grep -q '"alpn":"irohd-test/codes/0"' "$dir/serve.out" || fail "iroh's server did not report the codes connection"
line=$(grep '"alpn":"irohd-test/codes/0"' "$dir/serve.out" | head -1)
echo "iroh server: $line"
[ "$(get "$line" uni)" = 3000000 ] || fail "iroh read $(get "$line" uni) of 3000000 unidirectional bytes"
for code in '"reset 42"' '"stop 43"' '"saw reset 44"' '"saw stopped 45"'; do
    printf '%s' "$line" | grep -q "$code" || fail "iroh's server did not report $code"
done

echo "== 8. iroh's client follows a Retry: a second irohd asks every new client for one"
printf '{"retry_always": true}\n' >"$dir/retry.json"
start_irohd retry --config "$dir/retry.json" --bind 127.0.0.1:0 --log-level debug
wait_irohd retry
rpc retry endpoint.ticket
out=$(in_ns node "$here/peer.mjs" dial --ticket "$(get "$out" ticket)" --bytes 65536 \
    --timeout 30 2>>"$dir/dial.err")
echo "iroh client: $out"
[ "$(get "$out" ok)" = true ] && [ "$(get "$out" bytes)" = 65536 ] ||
    fail "iroh -> irohd asking for a Retry failed: $out $(tail -5 "$dir/dial.err")"
grep "after a Retry" "$dir/retry.log" || fail "irohd took iroh's connection without a Retry"

stop_irohds

echo "== what irohd saw"
grep -E "quic: |endpoint: " "$dir/irohd.log" | sed 's/^[^ ]* //'
finish
