#!/usr/bin/env bash
# apps.sh IROHD IROH ECHO APP_PEER — apps sharing irohd's endpoint, two irohd on 127.0.0.1:
# iroh-example-echo behind irohd a echoes 4 streams of 1 MiB from iroh-example-echo behind b;
# the app takes over irohd's own echo ALPN and gives it back; one owner per ALPN (released
# when the owner disconnects); an ALPN nobody serves is refused in the handshake; a receiving
# app that does not read stalls the sender with bounded memory (VmRSS) and then gets all
# 256 MiB; an app killed mid-stream ends its peer's stream and leaves irohd healthy; `iroh
# listen` and `iroh connect` pipe a stream both ways (10 runs), and all 8 MiB an app wrote
# arrive although it exits at once (6 runs); 8 MiB cross a unidirectional stream; 40
# streams dropped unread do not eat the connection's window; datagrams both ways between apps
# (checked bytes; drops counted when the receiving app does not read); streams reset and
# stopped with codes both ways, seen by the other app (conn.stream_reset). Run by ctest
# (integration.apps). Every wait is bounded; every process is killed on every path.
set -u
IROHD=$1
IROH=$2
ECHO=$3
PEER=$4
RSS_GROWTH_KB=$((64 * 1024)) # how much irohd's VmRSS may grow while 256 MiB wait for a reader
# A sanitized irohd keeps freed memory in quarantine; keep it small so VmRSS means something.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8
PUSH_BYTES=$((256 * 1024 * 1024))

# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
make_tmp apps

# whole_lines FILE N: FILE has at least N lines ended by a newline (for wait_for, which runs it
# again on every try).
whole_lines() {
    [ "$(wc -l 2>/dev/null <"$1" || echo 0)" -ge "$2" ]
}

# line_of FILE N: waits (at most 60 s: an app under a sanitizer on a busy machine starts slowly)
# for FILE's line N and prints it; a failed check if it does not come.
line_of() {
    wait_for 60 whole_lines "$1" "$2" || fail "no line $2 in $1 within 60 s: $(cat "$1" "${1%.out}.err" 2>/dev/null)"
    sed -n "$2p" "$1"
}

# first_line FILE: line_of FILE 1 (an app prints its ticket once it listens).
first_line() { line_of "$1" 1; }

# only_client NAME: irohd NAME has no API client but the one asking (an app that ended is gone).
only_client() {
    call "$1" node.status
    [ "$(field "$out" clients)" = 1 ]
}

# wait_gone PID SECONDS: waits for a process to end; 1 if it is still there.
wait_gone() {
    wait_for "$2" eval "! kill -0 $1 2>/dev/null"
}

rss_kb() {
    awk '/^VmRSS/ {print $2}' "/proc/$1/status"
}

start_node a
start_node b
call a endpoint.ticket
ticket_a=$(field "$out" ticket)

# --- the echo example behind a, dialed by the echo example behind b ---
"$ECHO" --socket "$dir/a/sock" accept >"$dir/echo.out" 2>"$dir/echo.err" &
echo_pid=$!
app_ticket=$(first_line "$dir/echo.out")
[ "$app_ticket" = "$ticket_a" ] || fail "the echo app printed '$app_ticket', not a's ticket"
head -c 1048576 /dev/urandom >"$dir/1mib"
timeout 60 "$ECHO" --socket "$dir/b/sock" --streams 4 connect "$app_ticket" <"$dir/1mib" \
    2>"$dir/connect.err" || fail "echo app, 4 streams of 1 MiB: $(cat "$dir/connect.err")"
call b endpoint.echo "{\"ticket\":\"$ticket_a\",\"bytes\":100000}"
[ "$rc" = 0 ] || fail "irohd b's echo client against the echo app: $out"

# --- one owner per ALPN; released when the owner disconnects ---
timeout 60 "$ECHO" --socket "$dir/a/sock" accept >/dev/null 2>"$dir/second.err"
[ $? = 1 ] && grep -q "another app listens" "$dir/second.err" ||
    fail "a second listener was not refused: $(cat "$dir/second.err")"
call a endpoint.listen '{"alpn":"iroh-example/echo/0"}'
[ "$rc" = 1 ] && printf '%s' "$out" | grep -q already_exists || fail "listen over an owner: $out"
kill "$echo_pid"
wait_gone "$echo_pid" 30 || fail "the echo app did not stop"
# Gone as a process is not yet gone for irohd: it gives the ALPN back once it read the EOF.
wait_for 30 only_client a || fail "irohd a still has the echo app as a client: $out"
call b endpoint.echo "{\"ticket\":\"$ticket_a\",\"bytes\":100000}"
[ "$rc" = 0 ] || fail "irohd serves its echo again once the app left: $out"
"$ECHO" --socket "$dir/a/sock" accept >"$dir/echo2.out" 2>"$dir/echo2.err" &
echo2_pid=$!
[ -n "$(first_line "$dir/echo2.out")" ] || fail "listening after the owner left: $(cat "$dir/echo2.err")"
kill "$echo2_pid"
wait_gone "$echo2_pid" 30 || fail "the second echo app did not stop"

# --- an ALPN nobody serves: refused during the handshake ---
timeout 30 "$ECHO" --socket "$dir/b/sock" --alpn nobody/0 connect "$ticket_a" </dev/null \
    2>"$dir/alpn.err"
[ $? = 1 ] && grep -q "does not speak ALPN nobody/0" "$dir/alpn.err" ||
    fail "unknown ALPN: $(cat "$dir/alpn.err")"
call a endpoint.addr
addr_a=$(printf '%s' "$out" | tr -d ' \n' | grep -o '"addrs":\["[^"]*"' | sed 's/.*\["//; s/"$//')
id_a=$(field "$out" id)
call b endpoint.addr
id_b=$(field "$out" id)
call a endpoint.connect "{\"id\":\"$id_b\",\"addrs\":[\"$addr_a\"],\"alpn\":\"iroh-example/echo/0\"}"
[ "$rc" = 1 ] && printf '%s' "$out" | grep -q "authentication" || fail "a wrong key: $out"

# --- iroh listen / iroh connect, netcat-style, and by id and address ---
[ "$("$IROH" --socket "$dir/a/sock" ticket)" = "$ticket_a" ] || fail "iroh ticket differs"
# Both exit as soon as they wrote and read everything: irohd still delivers what each one wrote
# (an app that leaves has its streams finished before its connections close). 10 times over;
# then 6 times an app that writes 8 MiB and exits at once, much of it still in irohd (3 of
# them while the peer sends to it: irohd stops the peer's direction, not the app's).
# start_listener: `iroh listen --once` on a with stdin from $1, output in listen.out.
start_listener() {
    rm -f "$dir/listen.err"
    timeout 30 "$IROH" --socket "$dir/a/sock" listen --alpn test/nc/0 --once <"$1" \
        >"$dir/listen.out" 2>"$dir/listen.err" &
    listen_pid=$!
    wait_for 30 grep -qs "listening on" "$dir/listen.err" ||
        fail "iroh listen did not listen: $(cat "$dir/listen.err")"
}
echo "from the listener" >"$dir/listener.in"
for run in 1 2 3 4 5 6 7 8 9 10; do
    start_listener "$dir/listener.in"
    got=$(echo "from the dialer" | timeout 30 "$IROH" --socket "$dir/b/sock" connect "$id_a" \
        --addr "$addr_a" --alpn test/nc/0 2>&1)
    [ "$got" = "from the listener" ] || fail "run $run: iroh connect printed '$got'"
    wait_gone "$listen_pid" 30 || fail "run $run: iroh listen --once did not end"
    wait "$listen_pid" || fail "run $run: iroh listen: $(cat "$dir/listen.err")"
    [ "$(cat "$dir/listen.out")" = "from the dialer" ] ||
        fail "run $run: iroh listen printed '$(cat "$dir/listen.out")'"
done
for run in 1 2 3 4 5 6; do
    mode=$([ "$run" -gt 3 ] && echo echo) # the last 3: the sink sends back, the pusher never reads
    rm -f "$dir/leave-sink.out" # else first_line may read the last run's before the shell truncates it
    "$PEER" sink "$dir/a/sock" test/leave/0 0 $mode >"$dir/leave-sink.out" 2>"$dir/leave-sink.err" &
    sink_pid=$!
    first_line "$dir/leave-sink.out" >/dev/null
    timeout 60 "$PEER" push "$dir/b/sock" "$ticket_a" test/leave/0 8388608 exit \
        2>"$dir/leave-push.err" || fail "run $run: push and exit: $(cat "$dir/leave-push.err")"
    wait_gone "$sink_pid" 30 || fail "run $run: the sink did not end"
    wait "$sink_pid" || fail "run $run: sink: $(cat "$dir/leave-sink.err")"
    [ "$(sed -n 2p "$dir/leave-sink.out")" = 8388608 ] ||
        fail "run $run: the sink got $(sed -n 2p "$dir/leave-sink.out") of 8388608 bytes"
done
got=$(timeout 30 "$IROH" --socket "$dir/b/sock" --timeout 1000 connect "$id_a" \
    --addr 127.0.0.1:9 --alpn test/nc/0 </dev/null 2>&1)
[ $? = 1 ] && [ "$got" = "iroh: cannot connect: timed out: $id_a did not answer within 1 s" ] ||
    fail "iroh connect to an address nobody answers: $got"
got=$(timeout 30 "$IROH" --socket "$dir/b/sock" connect "$ticket_a" --alpn nobody/0 </dev/null 2>&1)
[ $? = 1 ] && [ "$got" = "iroh: cannot connect: the peer does not speak ALPN nobody/0" ] ||
    fail "iroh connect to an unserved ALPN: $got"

# --- unidirectional streams: 8 MiB one way; 100 kB that all arrived before the app accepted ---
for case in "8388608 0" "100000 1000"; do
    set -- $case
    rm -f "$dir/uni-sink.out" # as above
    "$PEER" sink "$dir/a/sock" test/uni/0 "$2" uni >"$dir/uni-sink.out" 2>"$dir/uni-sink.err" &
    sink_pid=$!
    first_line "$dir/uni-sink.out" >/dev/null
    timeout 60 "$PEER" push "$dir/b/sock" "$ticket_a" test/uni/0 "$1" uni >"$dir/uni-push.out" \
        2>"$dir/uni-push.err" || fail "uni push of $1: $(cat "$dir/uni-push.err")"
    wait_gone "$sink_pid" 30 || fail "the uni sink did not end"
    wait "$sink_pid" || fail "uni sink: $(cat "$dir/uni-sink.err")"
    [ "$(sed -n 2p "$dir/uni-sink.out")" = "$1" ] || fail "the uni sink got $(sed -n 2p "$dir/uni-sink.out") of $1"
done

# --- 40 streams of 2 MiB dropped unread by the receiving app: the connection keeps its window ---
"$PEER" drop "$dir/a/sock" test/drop/0 >"$dir/drop.out" 2>"$dir/drop.err" &
drop_pid=$!
first_line "$dir/drop.out" >/dev/null
timeout 60 "$PEER" spray "$dir/b/sock" "$ticket_a" test/drop/0 40 2097152 >/dev/null \
    2>"$dir/spray.err" || fail "spraying dropped streams stalled or failed: $(cat "$dir/spray.err")"
wait_gone "$drop_pid" 30 || fail "the dropping app did not end"
wait "$drop_pid" || fail "drop: $(cat "$dir/drop.err")"
# (the last streams may still wait for the app when the sprayer closes the connection)
[ "$(sed -n 2p "$dir/drop.out")" -ge 20 ] || fail "the dropping app saw $(sed -n 2p "$dir/drop.out") streams"

# --- datagrams both ways through apps' SOCK_SEQPACKET sockets (conn.datagrams) ---
# An echoing app that reads at once, sent at most 16 unanswered datagrams at a time (so a slow
# app, under a sanitizer, is never sent more than its socket holds): what comes back is checked
# byte for byte by the sender (app_peer dgram); on loopback nearly all of the 201 return. One
# that reads nothing until irohd dropped a datagram for want of room in its socket (a wait on
# that evidence, not on a time in which the sender may or may not have filled it): the drops
# are counted, what the socket held still comes back, and every datagram irohd received is
# either read by the app or counted as dropped.
for case in "now 200 16" "full 1000 0"; do
    set -- $case
    rm -f "$dir/dgecho.out" # as above
    "$PEER" dgram-echo "$dir/a/sock" test/dgram/0 "$1" >"$dir/dgecho.out" 2>"$dir/dgecho.err" &
    dgecho_pid=$!
    first_line "$dir/dgecho.out" >/dev/null
    timeout 90 "$PEER" dgram "$dir/b/sock" "$ticket_a" test/dgram/0 "$2" "$3" >"$dir/dgram.out" \
        2>"$dir/dgram.err" || fail "datagrams (echo app reading $1): $(cat "$dir/dgram.err")"
    wait_gone "$dgecho_pid" 30 || fail "the datagram echo app did not end"
    wait "$dgecho_pid" || fail "dgram-echo: $(cat "$dir/dgecho.err")"
    read -r sent echoed <"$dir/dgram.out"
    read -r received dropped read <<<"$(sed -n 2p "$dir/dgecho.out")"
    echo "datagrams, echo app reading $1: sent $sent, echo app: irohd received $received," \
        "dropped $dropped, app read $read; echoed back $echoed"
    [ "$((read + dropped))" = "$received" ] || fail "datagrams received $received != read $read + dropped $dropped"
    if [ "$1" = now ]; then
        [ "$((echoed * 10))" -ge "$((sent * 9))" ] || fail "only $echoed of $sent datagrams came back"
    else
        [ "$dropped" -gt 0 ] && [ "$echoed" -gt 0 ] || fail "a socket that is not read drops: dropped $dropped, echoed $echoed"
    fi
done

# --- stream ids, resets and stops with codes both ways, a unidirectional round trip ---
"$PEER" codes-serve "$dir/a/sock" test/codes/0 >"$dir/codes-serve.out" 2>"$dir/codes-serve.err" &
codes_pid=$!
first_line "$dir/codes-serve.out" >/dev/null
got=$(timeout 60 "$PEER" codes "$dir/b/sock" "$ticket_a" test/codes/0 3000000 2>"$dir/codes.err")
[ "$got" = ok ] || fail "reset/stop codes: $(cat "$dir/codes.err")"
wait_gone "$codes_pid" 30 || fail "the codes server did not end"
wait "$codes_pid" || fail "codes-serve: $(cat "$dir/codes-serve.err")"

# --- a receiver that does not read: the sender stalls, memory stays bounded, all arrives ---
# The sink reads nothing until it gets SIGUSR1, so the sender still running after 5 s of
# sampling shows a stall however slow the machine is (a sink that held for a fixed 6 s could
# start reading, and the push finish, while a loaded machine was still sampling).
"$PEER" sink "$dir/a/sock" test/sink/0 signal >"$dir/sink.out" 2>"$dir/sink.err" &
sink_pid=$!
first_line "$dir/sink.out" >/dev/null
base_a=$(rss_kb "$pid_a") base_b=$(rss_kb "$pid_b")
timeout 180 "$PEER" push "$dir/b/sock" "$ticket_a" test/sink/0 "$PUSH_BYTES" \
    >"$dir/push.out" 2>"$dir/push.err" &
push_pid=$!
max_a=0 max_b=0
[ "$(line_of "$dir/sink.out" 2)" = held ] || fail "the sink saw no bytes come: $(cat "$dir/sink.err")"
for _ in $(seq 1 50); do # 5 s (or more) while the sink holds
    sleep 0.1
    ra=$(rss_kb "$pid_a") rb=$(rss_kb "$pid_b")
    [ "${ra:-0}" -gt "$max_a" ] && max_a=$ra
    [ "${rb:-0}" -gt "$max_b" ] && max_b=$rb
done
kill -0 "$push_pid" 2>/dev/null || fail "the sender did not stall: $(cat "$dir/push.err")"
[ $((max_a - base_a)) -lt "$RSS_GROWTH_KB" ] || fail "receiving irohd grew from $base_a to $max_a kB"
[ $((max_b - base_b)) -lt "$RSS_GROWTH_KB" ] || fail "sending irohd grew from $base_b to $max_b kB"
echo "VmRSS while 256 MiB wait: receiving irohd $base_a -> $max_a kB, sending $base_b -> $max_b kB"
kill -USR1 "$sink_pid"
wait_gone "$push_pid" 170 || fail "the push did not finish"
wait "$push_pid" || fail "push: $(cat "$dir/push.err")"
[ "$(cat "$dir/push.out")" = "$PUSH_BYTES" ] || fail "the sink answered '$(cat "$dir/push.out")'"
wait_gone "$sink_pid" 30 || fail "the sink did not see the connection close"
wait "$sink_pid" || fail "sink: $(cat "$dir/sink.err")"

# --- an app killed mid-stream: its peer's stream ends, irohd stays healthy ---
# Killed once irohd a holds bytes of the stream for it (the sink's "held"), not after a fixed
# second in which the push may not even have connected.
"$PEER" sink "$dir/a/sock" test/sink/0 signal >"$dir/sink2.out" 2>"$dir/sink2.err" &
sink_pid=$!
first_line "$dir/sink2.out" >/dev/null
"$PEER" push "$dir/b/sock" "$ticket_a" test/sink/0 "$PUSH_BYTES" >/dev/null 2>"$dir/push2.err" &
push_pid=$!
[ "$(line_of "$dir/sink2.out" 2)" = held ] || fail "the second sink saw no bytes come: $(cat "$dir/sink2.err")"
kill -9 "$sink_pid"
wait_gone "$push_pid" 30 || fail "the sender's stream did not end when the receiving app died"
wait "$push_pid" && fail "the push succeeded although its receiver died"
grep -q "the stream ended after" "$dir/push2.err" ||
    fail "the push did not fail mid-stream: $(cat "$dir/push2.err")"
call a node.status
[ "$rc" = 0 ] || fail "irohd a after the app died: $out"

for n in a b; do
    "$IROH" --socket "$dir/$n/sock" shutdown >/dev/null 2>&1 || fail "$n shutdown"
done
wait_gone "$pid_a" 30 || fail "irohd a did not stop"
wait_gone "$pid_b" 30 || fail "irohd b did not stop"
grep -h "ERROR\|Sanitizer\|runtime error" "$dir"/*/err && fail "sanitizer reports"

[ "$failures" = 0 ] && echo "apps: all checks passed"
exit $((failures > 0))
