#!/usr/bin/env bash
# blobs.sh IROHD IROH — a real iroh 0.35 node (the @number0/iroh 0.35.0 bindings, blobs built
# in) downloads from irohd by the blob tickets `iroh blobs share` prints: blobs of 0, 1 KiB,
# 16 KiB + 1 and 10 MiB, and a collection of them (a directory added with `iroh blobs add`,
# shared with --collection), each checked byte for byte against the original; then irohd's
# provider counters. 0.35 dials irohd at the ticket's direct address (it pings it itself, so no
# disco is needed on irohd's side for this direction). ctest name interop.blobs.
#
# The 0.35 bindings are pinned in iroh035/package.json (+ lock), installed by lib.sh with
# npm ci; node, the namespace and the cleanup on every path come from lib.sh too (SKIP without
# node or npm; needs root for ip netns: the real iroh multicasts UPnP where a default route
# exists, so everything runs in a network namespace of its own with nothing but lo).
set -u
IROHD=$1
IROH=$2
test_name=interop.blobs
. "$(dirname "$0")/lib.sh"
need_node
need_root
command -v b3sum >/dev/null || die "b3sum is not installed"
need_iroh035
make_tmp blobs-035
make_ns "irohd-blobs-$$"

mkdir -p "$dir/src" "$dir/got"
sizes="0 1024 16385 10485760"
for size in $sizes; do
    head -c "$size" /dev/urandom >"$dir/src/blob-$size"
done

echo "== irohd and a real iroh 0.35 node in network namespace $ns (loopback only)"
start_irohd irohd --bind 127.0.0.1:0
wait_irohd irohd

tickets=()
files=()
for size in $sizes; do
    cli irohd blobs add "$dir/src/blob-$size"
    [ "$rc" = 0 ] || die "blobs add blob-$size: $out"
    hash=$out
    cli irohd blobs share "$hash"
    [ "$rc" = 0 ] || die "blobs share blob-$size: $out"
    tickets+=("$out")
    files+=("$dir/src/blob-$size")
done
cli irohd --json blobs add "$dir/src"
[ "$rc" = 0 ] || die "blobs add of the directory: $out"
root=$(get "$out" hash)
cli irohd blobs share "$root" --collection
[ "$rc" = 0 ] || die "blobs share --collection: $out"
tickets+=("$out")
echo "collection $root: ${tickets[${#tickets[@]} - 1]}"

in_ns node "$interop_dir/blobs.mjs" "$iroh035" "$dir/got" "${tickets[@]}" >"$dir/node.out" \
    2>"$dir/node.err" || fail "the 0.35 node failed: $(tail -5 "$dir/node.err")"

n=0
while read -r line; do
    echo "$line"
    [ "$(get "$line" ok)" = true ] || fail "ticket $n: the 0.35 node could not fetch it: $line"
    n=$((n + 1))
done <"$dir/node.out"
[ "$n" = "${#tickets[@]}" ] || fail "the 0.35 node answered $n of ${#tickets[@]} tickets"

for i in "${!files[@]}"; do
    cmp -s "${files[$i]}" "$dir/got/$i" ||
        fail "$(basename "${files[$i]}"): what the 0.35 node fetched differs"
done
diff -r "$dir/src" "$dir/got/${#files[@]}" >/dev/null ||
    fail "the collection the 0.35 node fetched differs from the directory"

cli irohd --json rpc blobs.provider_stats
echo "provider: $(printf '%s' "$out" | tr -d ' \n')"
sent=$(get "$out" blobs_sent)
# 4 blobs, then the collection: its root, meta blob and 4 files (the 0.35 getter may ask for
# some of them in more than one request).
[ "$rc" = 0 ] && [ "${sent:-0}" -ge 10 ] && [ "$(get "$out" not_found)" = 0 ] ||
    fail "provider counters: $out"

stop_irohds
finish
