#!/usr/bin/env bash
# blobs_net.sh IROHD IROH — blobs between real irohd processes over 127.0.0.1: node a shares,
# node b downloads with `iroh blobs get` (blobs.get): sizes 0, 1 KiB, 16 KiB + 1 and 10 MiB
# byte for byte, the progress bar on a terminal; a byte range (only its groups fetched, then the rest); a collection written as
# a directory, and again from two providers at once (both serve some of its blobs); one of 150
# files (more streams than a connection has at once); a blob a
# provider does not have (clear not_found); a download interrupted by kill -9 of b's irohd and
# resumed after restarting it (only the missing part fetched); a provider killed mid-transfer
# while another one has the blob (that one finishes it); one that cannot be reached; and
# a provider that corrupts one chunk group (IROHD_TEST_CORRUPT_PROVIDER) next to one that does
# not: the corrupt one is cut off, the other completes, and alone the corrupt one fails the
# download, which a retry completes. Run by ctest (integration.blobs_net). Every wait is
# bounded; every daemon is killed on every path.
set -u
IROHD=$1
IROH=$2

# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
make_tmp blobs-net

# share NAME HASH [FORMAT]: a blob ticket of node NAME for HASH, in $ticket.
share() {
    call "$1" blobs.share "{\"hash\":\"$2\"${3:+,\"collection\":true}}"
    ticket=$(field "$out" ticket)
    case "$ticket" in blob*) ;; *) fail "blobs.share on $1: $out" ;; esac
}

# wait_some_groups NAME HASH: waits (at most 400 polls 10 ms apart) until node NAME holds some
# groups of HASH, the moment to kill a party of a running download.
wait_some_groups() {
    local groups
    for _ in $(seq 400); do
        call "$1" blobs.status "{\"hash\":\"$2\"}"
        groups=$(field "$out" present_groups)
        [ -n "$groups" ] && [ "$groups" != 0 ] && return 0
        sleep 0.01
    done
}

# add NAME FILE: adds FILE on node NAME, its hash in $hash.
add() {
    iroh_on "$1" blobs add "$2"
    hash=$out
    [ "$rc" = 0 ] && [ ${#hash} = 64 ] || fail "blobs add $2 on $1: $out"
}

start_node a
start_node b

# --- sizes, byte for byte ----------------------------------------------------------------------
for size in 0 1024 16385 10485760; do
    head -c "$size" /dev/urandom >"$dir/src-$size"
    add a "$dir/src-$size"
    share a "$hash"
    iroh_on b --json blobs get "$ticket" --out "$dir/got-$size"
    [ "$rc" = 0 ] || fail "get $size: $out"
    [ "$(field "$out" hash)" = "$hash" ] || fail "get $size: hash in $out"
    [ "$(field "$out" size)" = "$size" ] || fail "get $size: size in $out"
    [ "$(field "$out" downloaded)" = "$size" ] || fail "get $size: downloaded in $out"
    cmp -s "$dir/src-$size" "$dir/got-$size" || fail "get $size: the file differs"
    iroh_on b blobs status "$hash"
    has "$out" 'complete.*(true|yes)' "status after get $size"
    # Again: nothing is fetched, the blob is here.
    iroh_on b --json blobs get "$ticket"
    [ "$rc" = 0 ] && [ "$(field "$out" downloaded)" = 0 ] || fail "second get $size: $out"
done
hash_10m=$hash

# The progress bar on a terminal (script gives iroh one): bytes, percent, rate.
call b blobs.delete "{\"hash\":\"$hash_10m\"}"
script -qec "$IROH --socket $dir/b/sock blobs get $ticket --out $dir/got-tty" /dev/null \
    >"$dir/tty" 2>&1 || fail "get on a terminal: $(cat "$dir/tty")"
has "$(tr '\r' '\n' <"$dir/tty")" "^downloading +[0-9.]+%  [0-9.]+ [KMG]?i?B / 10.0 MiB  [0-9.]+ [KMG]?i?B/s" \
    "progress bar"
cmp -s "$dir/src-10485760" "$dir/got-tty" || fail "get on a terminal: the file differs"

# --- a byte range, then the rest ---------------------------------------------------------------
head -c 3000000 /dev/urandom >"$dir/src-range"
add a "$dir/src-range"
share a "$hash"
iroh_on b --json blobs get "$ticket" --range 100000..300000 --out "$dir/got-range"
[ "$rc" = 0 ] || fail "range get: $out"
# Groups 6..18 (bytes 98304..311296) were fetched.
[ "$(field "$out" downloaded)" = $((13 * 16384)) ] || fail "range get: downloaded in $out"
[ "$(field "$out" complete)" = false ] || fail "range get: complete in $out"
tail -c +100001 "$dir/src-range" | head -c 200000 | cmp -s - "$dir/got-range" ||
    fail "range get: the bytes written differ"
call b blobs.status "{\"hash\":\"$hash\"}"
[ "$(field "$out" present_groups)" = 13 ] || fail "range get: status $out"
iroh_on b --json blobs get "$ticket" --out "$dir/got-range-all"
[ "$(field "$out" downloaded)" = $((3000000 - 13 * 16384)) ] ||
    fail "rest after the range: downloaded in $out"
cmp -s "$dir/src-range" "$dir/got-range-all" || fail "rest after the range: the file differs"

# --- a collection to a directory ---------------------------------------------------------------
mkdir -p "$dir/tree/sub/deeper"
head -c 5000 /dev/urandom >"$dir/tree/a.bin"
: >"$dir/tree/empty"
head -c 70000 /dev/urandom >"$dir/tree/sub/b.bin"
cp "$dir/tree/a.bin" "$dir/tree/sub/deeper/same-as-a"
head -c 20000 /dev/urandom >"$dir/tree/sub/deeper/c.bin"
add a "$dir/tree"
share a "$hash" hash_seq
iroh_on b --json blobs get "$ticket" --out "$dir/tree-got"
[ "$rc" = 0 ] || fail "collection get: $out"
[ "$(field "$out" collection)" = true ] && [ "$(field "$out" files)" = 5 ] ||
    fail "collection get: $out"
diff -r "$dir/tree" "$dir/tree-got" >/dev/null || fail "collection get: the directories differ"
collection_ticket=$ticket

# A collection of 150 files: more blobs than a connection's 100 streams at once.
mkdir -p "$dir/many"
for i in $(seq 150); do head -c $((i * 37)) /dev/urandom >"$dir/many/f$i"; done
add a "$dir/many"
share a "$hash" hash_seq
iroh_on b --json blobs get "$ticket" --out "$dir/many-got"
[ "$rc" = 0 ] && [ "$(field "$out" files)" = 150 ] || fail "150-file collection: $out"
diff -r "$dir/many" "$dir/many-got" >/dev/null || fail "150-file collection: differs"

# The same collection from a and b at once: its blobs are spread over both providers.
call b endpoint.ticket
ticket_b=$(field "$out" ticket)
call b blobs.provider_stats
b_sent=$(field "$out" blobs_sent)
start_node e
iroh_on e --json blobs get "$collection_ticket" --provider "$ticket_b" --out "$dir/tree-split"
[ "$rc" = 0 ] || fail "collection from two providers: $out"
diff -r "$dir/tree" "$dir/tree-split" >/dev/null || fail "collection from two providers: differs"
call b blobs.provider_stats
[ "$(field "$out" blobs_sent)" -gt "${b_sent:-0}" ] || fail "b served nothing of the collection: $out"

# --- a blob nobody has --------------------------------------------------------------------------
call a endpoint.ticket
ticket_a=$(field "$out" ticket)
unknown=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
iroh_on b blobs get "$unknown" --provider "$ticket_a"
[ "$rc" = 1 ] || fail "unknown hash: exit $rc: $out"
has "$out" "not_found|does not have" "unknown hash"
has "$out" "does not have any of blob ${unknown:0:12}" "unknown hash: which blob and why"

# --- kill -9 of the downloader mid-transfer, then resume -----------------------------------------
head -c $((192 << 20)) /dev/urandom >"$dir/src-big"
iroh_on a blobs add --reference "$dir/src-big"
big=$out
share a "$big"
caught=
for attempt in 1 2 3; do
    "$IROH" --socket "$dir/b/sock" --timeout 120000 blobs get "$ticket" >/dev/null 2>&1 &
    getter=$!
    wait_some_groups b "$big" # then kill b's irohd
    kill -9 "$pid_b"
    wait "$pid_b" 2>/dev/null
    wait "$getter" 2>/dev/null
    mv "$dir/b/err" "$dir/b/err.killed-$attempt"
    start_node b
    call b blobs.status "{\"hash\":\"$big\"}"
    present=$(field "$out" present_groups)
    if [ "$(field "$out" complete)" = false ] && [ -n "$present" ] && [ "$present" != 0 ]; then
        caught=$present
        break
    fi
    call b blobs.delete "{\"hash\":\"$big\"}" # finished (or not begun) before the kill: again
done
if [ -z "$caught" ]; then
    fail "could not kill irohd in the middle of a 192 MiB download in 3 tries"
else
    iroh_on b --json blobs get "$ticket"
    [ "$rc" = 0 ] || fail "resume: $out"
    got=$(field "$out" downloaded)
    echo "resume: irohd killed with $caught of 12288 groups stored; the second get fetched $got bytes"
    [ "$got" -gt 0 ] && [ "$got" -le $(((192 << 20) - caught * 16384)) ] ||
        fail "resume fetched $got bytes, with $caught groups already held: $out"
    "$IROH" --socket "$dir/b/sock" blobs cat "$big" | cmp -s - "$dir/src-big" ||
        fail "resume: the blob differs"
fi
# --- a provider that dies mid-transfer: the other one finishes the blob -----------------------
# e fetches the big blob from a (first) and b; a is killed once e holds part of it.
stale_b=$ticket_b
call b endpoint.ticket # b was restarted: its port changed
ticket_b=$(field "$out" ticket)
call b blobs.provider_stats
b_bytes=$(field "$out" bytes_sent)
failed_over=
for attempt in 1 2 3; do
    "$IROH" --socket "$dir/e/sock" --json --timeout 120000 blobs get "$ticket" \
        --provider "$ticket_b" >"$dir/e/get.out" 2>&1 &
    getter=$!
    wait_some_groups e "$big"
    kill -9 "$pid_a"
    wait "$pid_a" 2>/dev/null
    # a goes quiet (kill -9 sends no close): e passes it over after 20 s, then b sends the
    # rest of 192 MiB, slowly under a sanitizer; the get's own limit is 120 s per answer
    wait_exit "$getter" 150
    [ "$status" = 0 ] || fail "failover: the get ended with $status: $(cat "$dir/e/get.out")"
    mv "$dir/a/err" "$dir/a/err.killed-$attempt"
    start_node a
    share a "$big"
    call b blobs.provider_stats
    if [ "$(field "$out" bytes_sent)" -gt "$b_bytes" ]; then
        failed_over=1
        break
    fi
    call e blobs.delete "{\"hash\":\"$big\"}" # a sent it all before it died: again
done
[ -n "$failed_over" ] || fail "could not kill provider a in the middle of a download in 3 tries"
"$IROH" --socket "$dir/e/sock" blobs cat "$big" | cmp -s - "$dir/src-big" ||
    fail "failover: the blob differs"
call a endpoint.ticket
ticket_a=$(field "$out" ticket)
rm -f "$dir/src-big"

# --- a provider nobody answers at (b's address before its restart) is passed over ------------
iroh_on e --json blobs get "$hash_10m" --provider "$stale_b" --provider "$ticket_a" \
    --out "$dir/got-stale"
[ "$rc" = 0 ] || fail "unreachable provider first: $out"
cmp -s "$dir/src-10485760" "$dir/got-stale" || fail "unreachable provider first: the file differs"

# --- a corrupting provider beside a good one ------------------------------------------------------
# start_corrupt: node c, whose provider flips a byte of the third group it sends (once).
start_corrupt() {
    mkdir -p "$dir/c"
    IROHD_TEST_CORRUPT_PROVIDER=3 "$IROHD" --data-dir "$dir/c/data" --socket "$dir/c/sock" \
        --bind 127.0.0.1:0 >>"$dir/c/out" 2>>"$dir/c/err" &
    pid_c=$!
    wait_for 30 "$IROH" --socket "$dir/c/sock" --timeout 1000 id >/dev/null 2>&1 ||
        fail "irohd c did not start: $(tail -n 20 "$dir/c/err")"
}
start_corrupt
start_node d
add c "$dir/src-10485760"
share c "$hash"
ticket_c=$ticket
# c is asked first (the blob ticket's provider), sends a bad third group and is cut off.
iroh_on d --json blobs get "$ticket_c" --provider "$ticket_a" --out "$dir/got-two"
[ "$rc" = 0 ] || fail "two providers, one corrupt: $out"
cmp -s "$dir/src-10485760" "$dir/got-two" || fail "two providers: the file differs"
grep -q "does not verify" "$dir/d/err" || fail "two providers: d did not log the corruption"
grep "does not verify" "$dir/d/err" | sed 's/^[^ ]* /d: /'
call c blobs.share "{\"hash\":\"$hash\"}" # c still works for others

# c alone: the download fails at its bad group (the groups before it are kept); c corrupts
# only once, so a retry completes, fetching only what was missing.
call d blobs.delete "{\"hash\":\"$hash\"}"
"$IROH" --socket "$dir/c/sock" shutdown >/dev/null 2>&1
wait_exit "$pid_c" 30 # the same socket and data dir again: only once this one is gone
[ "$status" = 0 ] || fail "irohd c did not stop for its restart: $status"
start_corrupt
share c "$hash"
iroh_on d --json blobs get "$ticket"
[ "$rc" = 1 ] || fail "corrupt provider alone: exit $rc: $out"
has "$out" "does not verify" "corrupt provider alone"
call d blobs.status "{\"hash\":\"$hash\"}"
[ "$(field "$out" present_groups)" = 2 ] || fail "corrupt provider alone: kept $out"
iroh_on d --json blobs get "$ticket" --out "$dir/got-retry"
[ "$rc" = 0 ] || fail "retry after corruption: $out"
[ "$(field "$out" downloaded)" = $((10485760 - 2 * 16384)) ] || fail "retry fetched: $out"
cmp -s "$dir/src-10485760" "$dir/got-retry" || fail "retry: the file differs"

for n in a b c d e; do
    "$IROH" --socket "$dir/$n/sock" shutdown >/dev/null 2>&1 || fail "$n shutdown"
done
for pid in $(jobs -p); do
    wait_for 30 eval "! kill -0 $pid 2>/dev/null" || fail "irohd $pid did not stop"
done
wait
grep -h "ERROR\|Sanitizer\|runtime error" "$dir"/*/err* && fail "sanitizer reports"

[ "$failures" = 0 ] && echo "blobs_net: all checks passed"
exit $((failures > 0))
