#!/usr/bin/env bash
# blobs_get.sh IROHD IROH — irohd downloads from a real iroh 0.35 node (the @number0/iroh
# 0.35.0 bindings, blobs built in) by its blob tickets: blobs of 0, 1 KiB, 16 KiB + 1 and
# 10 MiB, then a collection of them written as a directory, each checked byte for byte; and a
# blob the node does not have (a 0.35 provider finishes the stream without data: not_found).
# The 0.35 node's path layer needs irohd's disco Ping before QUIC (compat-0.35-and-paths.md
# §1.1.4). In a network namespace of its own with nothing but lo.
#
# The 0.35 bindings are pinned in iroh035/package.json (+ lock), installed by lib.sh with
# npm ci; node, the namespace and the cleanup on every path come from lib.sh too (SKIP without
# node or npm; needs root for ip netns).
set -u
IROHD=$1
IROH=$2
test_name=interop.blobs_get
. "$(dirname "$0")/lib.sh"
need_node
need_root
need_iroh035
make_tmp blobs-get
make_ns "irohd-blobsget-$$"
# cli_json ARGS...: the iroh CLI with --json against our irohd.
cli_json() { cli irohd --json "$@"; }

mkdir -p "$dir/src"
for size in 0 1024 16385 10485760; do
    head -c "$size" /dev/urandom >"$dir/src/blob-$size"
done

echo "== irohd and a real iroh 0.35 node in network namespace $ns (loopback only)"
start_irohd irohd --bind 127.0.0.1:0
wait_irohd irohd
in_ns node "$interop_dir/blobs_get.mjs" "$iroh035" "$dir"/src/blob-* >"$dir/node.out" 2>"$dir/node.err" &
wait_ready 60 "$dir/node.out" "the 0.35 node" "$dir/node.err"
ready=$(head -1 "$dir/node.out")
echo "0.35 node $(get "$ready" id)"

n=$(node -p "JSON.parse(process.argv[1]).blobs.length" "$ready")
for i in $(seq 0 $((n - 1))); do
    file=$(get "$ready" "blobs.$i.file")
    ticket=$(get "$ready" "blobs.$i.ticket")
    cli_json blobs get "$ticket" --out "$dir/got-$i"
    echo "$(basename "$file"): $(printf '%s' "$out" | tr -d ' \n')"
    [ "$rc" = 0 ] || {
        fail "get $(basename "$file") from the 0.35 node: $out"
        continue
    }
    [ "$(get "$out" hash)" = "$(b3sum --no-names "$file")" ] || fail "$(basename "$file"): hash"
    cmp -s "$file" "$dir/got-$i" || fail "$(basename "$file"): the bytes differ"
done

# The collection into a store without its files: every one of them is fetched.
for i in $(seq 0 $((n - 1))); do
    cli_json blobs rm "$(b3sum --no-names "$(get "$ready" "blobs.$i.file")")"
done
cli_json blobs get "$(get "$ready" collection.ticket)" --out "$dir/tree"
echo "collection: $(printf '%s' "$out" | tr -d ' \n')"
[ "$rc" = 0 ] && [ "$(get "$out" collection)" = true ] && [ "$(get "$out" files)" = "$n" ] &&
    [ "$(get "$out" downloaded)" = "$(get "$out" total_size)" ] ||
    fail "get the collection from the 0.35 node: $out"
diff -r "$dir/src" "$dir/tree" >/dev/null || fail "the collection's directory differs"

# A hash the node does not have, from the same node (its id and addresses from a ticket).
unknown=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
cli_json blobs get "$unknown" --provider "$(get "$ready" blobs.0.ticket)"
echo "unknown hash: $(printf '%s' "$out" | tr -d ' \n')"
[ "$rc" = 1 ] && printf '%s' "$out" | grep -q "does not have any of blob" ||
    fail "an unknown hash from the 0.35 node: $out"

stop_irohds
finish
