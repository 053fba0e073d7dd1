#!/usr/bin/env bash
# endpoint.sh IROHD IROH — two irohd processes talk QUIC over 127.0.0.1: each one's
# endpoint.addr and endpoint.ticket (and node.status carrying the same ticket), endpoint.echo
# both ways (one stream of 1 MiB, four streams at once), and refusals. Run by ctest
# (integration.endpoint). Every wait is bounded; both daemons are killed on every path.
set -u
IROHD=$1
IROH=$2

# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
make_tmp endpoint

start_node a
start_node b
for n in a b; do
    call $n endpoint.addr
    [ "$rc" = 0 ] || fail "$n endpoint.addr: $out"
    printf '%s' "$out" | tr -d ' \n' | grep -Eq '"addrs":\["127\.0\.0\.1:[0-9]+"' ||
        fail "$n endpoint.addr has no 127.0.0.1 address: $out"
    call $n endpoint.ticket
    ticket=$(field "$out" ticket)
    case "$ticket" in endpoint*) ;; *) fail "$n endpoint.ticket: $out" ;; esac
    call $n node.status
    [ "$(field "$out" ticket)" = "$ticket" ] || fail "$n node.status ticket differs: $out"
    eval "ticket_$n=\$ticket"
    eval "id_$n=\$(field \"\$out\" id)"
done

call a endpoint.echo "{\"ticket\":\"$ticket_b\"}"
[ "$rc" = 0 ] || fail "echo a->b: $out"
[ "$(field "$out" bytes)" = 1048576 ] || fail "echo a->b bytes: $out"
[ "$(field "$out" remote)" = "$id_b" ] || fail "echo a->b remote: $out"

call b endpoint.echo "{\"ticket\":\"$ticket_a\",\"bytes\":262144,\"streams\":4}"
[ "$rc" = 0 ] || fail "echo b->a: $out"
[ "$(field "$out" bytes)" = 1048576 ] || fail "echo b->a bytes: $out"
[ "$(field "$out" remote)" = "$id_a" ] || fail "echo b->a remote: $out"

call a endpoint.echo '{"ticket":"endpointnotaticket"}'
[ "$rc" = 1 ] && printf '%s' "$out" | grep -q invalid_params || fail "bad ticket: $out"
call a endpoint.echo "{\"ticket\":\"$ticket_a\"}"
[ "$rc" = 1 ] && printf '%s' "$out" | grep -q invalid_params || fail "echo to itself: $out"
call a endpoint.echo "{\"ticket\":\"$ticket_b\",\"alpn\":\"not-echo/0\",\"timeout_s\":30}"
[ "$rc" = 1 ] && printf '%s' "$out" | grep -q io_error || fail "wrong ALPN: $out"

for n in a b; do
    "$IROH" --socket "$dir/$n/sock" shutdown >/dev/null 2>&1 || fail "$n shutdown"
done
for pid in $(jobs -p); do
    wait_for 30 eval "! kill -0 $pid 2>/dev/null" || fail "irohd $pid did not stop"
done
wait
grep -h "ERROR\|Sanitizer\|runtime error" "$dir"/*/err && fail "sanitizer reports"

[ "$failures" = 0 ] && echo "endpoint: all checks passed"
exit $((failures > 0))
