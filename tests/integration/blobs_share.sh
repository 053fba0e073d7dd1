#!/usr/bin/env bash
# blobs_share.sh IROHD IROH — the provider side of blobs on a real irohd: its config keys
# (blobs_push_allow, blobs_max_requests, blobs_max_conn_requests) taken and refused,
# `iroh blobs share` (text and --json, --collection for a directory's root; refused for an
# unknown hash, a bad hash and a blob that is not a hash sequence) and
# blobs.provider_stats. Transfers are tested elsewhere (integration.blobs_provider in one
# process, integration.blobs_net between irohd processes, interop.blobs with iroh 0.35). Run by
# ctest (integration.blobs_share). Every wait is bounded; irohd is killed on every path.
set -u
IROHD=$1
IROH=$2

# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
make_tmp blobs-share
sock=$dir/irohd.sock

iroh() {
    out=$("$IROH" --socket "$sock" --timeout 20000 "$@" 2>&1)
    rc=$?
}

# A config irohd refuses: it says which key and exits.
printf '{"blobs_push_allow": ["not-an-id"]}' >"$dir/bad.json"
out=$("$IROHD" --data-dir "$dir/bad" --socket "$dir/bad.sock" --config "$dir/bad.json" 2>&1)
rc=$?
[ "$rc" != 0 ] || fail "irohd started with a bad blobs_push_allow"
has "$out" 'blobs_push_allow.*not an endpoint id' "bad blobs_push_allow"
printf '{"blobs_max_requests": 0}' >"$dir/bad.json"
out=$("$IROHD" --data-dir "$dir/bad" --socket "$dir/bad.sock" --config "$dir/bad.json" 2>&1)
[ $? != 0 ] || fail "irohd started with blobs_max_requests 0"
has "$out" 'blobs_max_requests' "blobs_max_requests 0"

# One it takes.
printf '{"blobs_push_allow": ["ae58ff8833241ac82d6ff7611046ed67b5072d142c588d0063e942d9a75502b6"],
         "blobs_max_requests": 8, "blobs_max_conn_requests": 2, "bind": "127.0.0.1:0"}' \
    >"$dir/good.json"
"$IROHD" --data-dir "$dir/data" --socket "$sock" --config "$dir/good.json" >>"$dir/irohd.log" 2>&1 &
daemon=$!
wait_for 30 "$IROH" --socket "$sock" --timeout 1000 id >/dev/null 2>&1 ||
    { fail "irohd did not start: $(tail -5 "$dir/irohd.log")"; exit 1; }

mkdir -p "$dir/tree/sub"
head -c 1000 /dev/urandom >"$dir/tree/a"
head -c 70000 /dev/urandom >"$dir/tree/sub/b"

iroh blobs add "$dir/tree/a"
hash=$out
iroh blobs share "$hash"
[ "$rc" = 0 ] || fail "blobs share: $out"
has "$out" '^blob[a-z2-7]+$' "the ticket"
iroh --json blobs share "$hash"
has "$out" "\"hash\": \"$hash\"" "share --json hash"
has "$out" '"format": "raw"' "share --json format"
has "$out" '"ticket": "blob[a-z2-7]+"' "share --json ticket"

iroh --json blobs add "$dir/tree"
root=$(field "$out" hash)
iroh --json blobs share "$root" --collection
[ "$rc" = 0 ] || fail "share --collection: $out"
has "$out" '"format": "hash_seq"' "share --collection format"
# The same root as a raw blob gives a different ticket (its format byte).
raw_ticket=$(field "$("$IROH" --socket "$sock" --json blobs share "$root")" ticket)
[ "$raw_ticket" != "$(field "$out" ticket)" ] || fail "raw and hash_seq tickets are the same"

# Refusals: a blob that is not a hash sequence, an unknown hash, a bad hash.
iroh blobs share "$hash" --collection
[ "$rc" = 1 ] || fail "share --collection of a 1000-byte blob: exit $rc"
has "$out" 'not a hash sequence' "share --collection of a 1000-byte blob"
unknown=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
iroh --json blobs share "$unknown"
[ "$rc" = 1 ] || fail "share of an unknown hash: exit $rc"
has "$out" 'not_found' "share of an unknown hash"
iroh blobs share nothex
[ "$rc" != 0 ] || fail "share of a bad hash succeeded"

iroh --json rpc blobs.provider_stats
[ "$rc" = 0 ] || fail "blobs.provider_stats: $out"
for key in connections connections_open requests get get_many observe push active refused_limit \
    refused_permission invalid not_found blobs_sent blobs_received bytes_sent bytes_received; do
    [ "$(field "$out" "$key")" = 0 ] || fail "provider_stats $key is not 0: $out"
done

"$IROH" --socket "$sock" shutdown >/dev/null 2>&1 || fail "irohd shutdown"
wait_exit "$daemon" 30
[ "$status" = 0 ] || fail "irohd exit status $status"

[ "$failures" = 0 ] && echo "integration.blobs_share: all checks passed"
exit $((failures > 0))
