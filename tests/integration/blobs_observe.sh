#!/usr/bin/env bash
# blobs_observe.sh IROHD IROH OBSERVER — Observe requests of real irohd processes are answered
# when the store changes, and only then (daemon/blobs_provider.c). Node a holds a 1 MiB blob,
# node b the first 16 KiB of it (blobs.get with a range); OBSERVER (blobs_observer.c) observes
# it on b: the first message is that group; while nothing changes no bitfield is read again
# (b's observe_steps counter stays put over 2 s, which the old 500 ms poll moved four times)
# and no message comes; once `blobs get` of the rest returns, the change arrives (bounded wait)
# and the stream ends with the blob complete. The same for a hash b does not have until
# `blobs add` (blobs_service.c) and a partial blob that blobs.delete removes. Every wait is
# bounded; every daemon is killed on every path.
set -u
IROHD=$1
IROH=$2
OBSERVER=$3

# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
make_tmp blobs-observe

# observe NAME HASH: starts OBSERVER on node b for HASH, its lines in $dir/NAME.obs, its pid in
# $obs_pid.
observe() {
    "$OBSERVER" "$ticket_b" "$2" 60 >"$dir/$1.obs" 2>"$dir/$1.err" &
    obs_pid=$!
}

# lines NAME: the number of messages OBSERVER NAME printed so far.
lines() { grep -c '^size=' "$dir/$1.obs"; }

# steps: b's observe_steps counter.
steps() {
    call b blobs.provider_stats
    field "$out" observe_steps
}

start_node a
start_node b
call b endpoint.ticket
ticket_b=$(field "$out" ticket)

head -c 1048576 /dev/urandom >"$dir/src"
iroh_on a blobs add "$dir/src"
hash=$out
[ "$rc" = 0 ] && [ ${#hash} = 64 ] || fail "blobs add on a: $out"
call a blobs.share "{\"hash\":\"$hash\"}"
ticket_a=$(field "$out" ticket)
iroh_on b --json blobs get "$ticket_a" --range 0..16384
[ "$rc" = 0 ] && [ "$(field "$out" complete)" = false ] || fail "range get on b: $out"

# --- a partial blob: its group, then nothing while it does not change -------------------------
observe partial "$hash"
wait_for 30 eval '[ "$(lines partial)" -ge 1 ]' || fail "no first message: $(cat "$dir/partial.err")"
has "$(cat "$dir/partial.obs")" '^size=1048576 diff=0,16 now=0,16$' "first message"
before=$(steps)
sleep 2
after=$(steps)
[ -n "$before" ] && [ "$before" = "$after" ] || fail "observe steps ran without a change: $before -> $after"
[ "$(lines partial)" = 1 ] || fail "messages without a change: $(cat "$dir/partial.obs")"

# --- the rest arrives by blobs.get: the change comes, then the end ------------------------------
iroh_on b --json blobs get "$ticket_a"
[ "$rc" = 0 ] && [ "$(field "$out" complete)" = true ] || fail "get of the rest on b: $out"
wait_exit "$obs_pid" 30
[ "$status" = 0 ] || fail "observer of the partial blob: $status $(cat "$dir/partial.err")"
has "$(tail -n 2 "$dir/partial.obs" | head -n 1)" ' now=0$' "the blob complete"
tail -n 1 "$dir/partial.obs" | grep -qx end || fail "no end: $(cat "$dir/partial.obs")"
steps_get=$(($(steps) - after))
[ "$steps_get" -ge 1 ] && [ "$steps_get" -le 4 ] || fail "steps for one download: $steps_get"

# --- unknown until blobs.add on b ----------------------------------------------------------------
head -c 50000 /dev/urandom >"$dir/later"
iroh_on a blobs add "$dir/later" # for its hash
later=$out
observe unknown "$later"
wait_for 30 eval '[ "$(lines unknown)" -ge 1 ]' || fail "no first message for the unknown blob"
has "$(cat "$dir/unknown.obs")" '^size=0 diff=- now=-$' "unknown blob"
iroh_on b blobs add "$dir/later"
[ "$rc" = 0 ] && [ "$out" = "$later" ] || fail "blobs add on b: $out"
wait_exit "$obs_pid" 30
[ "$status" = 0 ] || fail "observer of the added blob: $status $(cat "$dir/unknown.err")"
has "$(cat "$dir/unknown.obs")" '^size=50000 diff=0 now=0$' "added blob"

# --- a partial blob deleted ----------------------------------------------------------------------
head -c 1048576 /dev/urandom >"$dir/gone"
iroh_on a blobs add "$dir/gone"
gone=$out
call a blobs.share "{\"hash\":\"$gone\"}"
iroh_on b --json blobs get "$(field "$out" ticket)" --range 0..16384
observe deleted "$gone"
wait_for 30 eval '[ "$(lines deleted)" -ge 1 ]' || fail "no first message for the blob to delete"
call b blobs.delete "{\"hash\":\"$gone\"}"
[ "$(field "$out" deleted)" = true ] || fail "blobs.delete on b: $out"
wait_for 30 eval '[ "$(lines deleted)" -ge 2 ]' || fail "no message after the delete"
has "$(sed -n 2p "$dir/deleted.obs")" '^size=[0-9]+ diff=0,16 now=-$' "deleted blob"
kill "$obs_pid" 2>/dev/null

[ "$failures" = 0 ] || exit 1
echo "blobs_observe: all checks passed"
