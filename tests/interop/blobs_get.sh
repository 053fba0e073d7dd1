#!/usr/bin/env bash
# blobs_get.sh IROHD IROH — irohd downloads from a real iroh 0.35 node (the @number0/iroh
# 0.35.0 bindings, blobs built in) by its blob tickets: blobs of 0, 1 KiB, 16 KiB + 1 and
# 10 MiB, then a collection of them written as a directory, each checked byte for byte; and a
# blob the node does not have (a 0.35 provider finishes the stream without data: not_found).
# The 0.35 node's path layer needs irohd's disco Ping before QUIC (compat-0.35-and-paths.md
# §1.1.4). In a network namespace of its own with nothing but lo.
#
# The 0.35 package is installed with npm into $IROH035_DIR (default
# ${TMPDIR:-/tmp}/irohd-iroh035, shared with disco035.sh) when missing. Without node >= 20.3 or
# npm it prints why it skips and exits 0; needs root (ip netns). Every process it starts is
# killed and the namespace deleted on every path.
set -u
IROHD=$1
IROH=$2
here=$(cd "$(dirname "$0")" && pwd)
mods=${IROH035_DIR:-${TMPDIR:-/tmp}/irohd-iroh035}

skip() {
    echo "SKIP interop.blobs_get: $* — the test did not run"
    exit 0
}
command -v node >/dev/null || skip "node is not installed"
command -v npm >/dev/null || skip "npm is not installed"
node -e 'const [a, b] = process.versions.node.split(".").map(Number);
         process.exit(a > 20 || (a === 20 && b >= 3) ? 0 : 1)' ||
    skip "node $(node --version) is older than 20.3"

failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
die() {
    echo "FAIL: $*" >&2
    exit 1
}
[ "$(id -u)" = 0 ] || die "needs root to make a network namespace (ip netns)"

module=$mods/node_modules/@number0/iroh/index.js
if [ ! -f "$module" ]; then
    mkdir -p "$mods" || die "cannot make $mods"
    (
        flock 9
        [ -f "$module" ] || (cd "$mods" && npm install --no-audit --no-fund --no-save \
            --prefix "$mods" @number0/iroh@0.35.0 >&2)
    ) 9>"$mods.lock" || die "npm install @number0/iroh@0.35.0 failed in $mods"
fi
[ "$(node -p "require('$mods/node_modules/@number0/iroh/package.json').version")" = 0.35.0 ] ||
    die "$mods does not hold @number0/iroh 0.35.0"

dir=$(mktemp -d "${IROH_TEST_TMP:-/tmp}/blobs-get-XXXXXX")
ns="irohd-blobsget-$$"
cleanup() {
    local pids
    pids="$(jobs -p) $(ip netns pids "$ns" 2>/dev/null)"
    [ -n "${pids// /}" ] && kill -9 $pids 2>/dev/null
    wait 2>/dev/null
    ip netns del "$ns" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ip netns add "$ns" || die "ip netns add $ns failed"
in_ns() { ip netns exec "$ns" "$@"; }
in_ns ip link set lo up || die "cannot bring lo up in $ns"

get() {
    node -e 'let v = JSON.parse(process.argv[1]); for (const k of process.argv[2].split("."))
             v = v == null ? v : v[k]; process.stdout.write(v == null ? "" : String(v))' "$1" "$2"
}
wait_for() {
    local tries=$(($1 * 10))
    shift
    while [ "$tries" -gt 0 ]; do
        "$@" && return 0
        sleep 0.1
        tries=$((tries - 1))
    done
    return 1
}
sock=$dir/irohd.sock
iroh() {
    out=$(in_ns "$IROH" --socket "$sock" --json --timeout 120000 "$@" 2>&1)
    rc=$?
}

mkdir -p "$dir/src"
for size in 0 1024 16385 10485760; do
    head -c "$size" /dev/urandom >"$dir/src/blob-$size"
done

echo "== irohd and a real iroh 0.35 node in network namespace $ns (loopback only)"
in_ns "$IROHD" --data-dir "$dir/irohd" --socket "$sock" --bind 127.0.0.1:0 \
    >"$dir/irohd.out" 2>"$dir/irohd.log" &
wait_for 10 in_ns "$IROH" --socket "$sock" id >/dev/null 2>&1 ||
    die "irohd did not start: $(cat "$dir/irohd.log")"
in_ns node "$here/blobs_get.mjs" "$module" "$dir"/src/blob-* >"$dir/node.out" 2>"$dir/node.err" &
wait_for 60 test -s "$dir/node.out" || die "the 0.35 node did not start: $(cat "$dir/node.err")"
ready=$(head -1 "$dir/node.out")
echo "0.35 node $(get "$ready" id)"

n=$(node -p "JSON.parse(process.argv[1]).blobs.length" "$ready")
for i in $(seq 0 $((n - 1))); do
    file=$(get "$ready" "blobs.$i.file")
    ticket=$(get "$ready" "blobs.$i.ticket")
    iroh blobs get "$ticket" --out "$dir/got-$i"
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
    iroh blobs rm "$(b3sum --no-names "$(get "$ready" "blobs.$i.file")")"
done
iroh blobs get "$(get "$ready" collection.ticket)" --out "$dir/tree"
echo "collection: $(printf '%s' "$out" | tr -d ' \n')"
[ "$rc" = 0 ] && [ "$(get "$out" collection)" = true ] && [ "$(get "$out" files)" = "$n" ] &&
    [ "$(get "$out" downloaded)" = "$(get "$out" total_size)" ] ||
    fail "get the collection from the 0.35 node: $out"
diff -r "$dir/src" "$dir/tree" >/dev/null || fail "the collection's directory differs"

# A hash the node does not have, from the same node (its id and addresses from a ticket).
unknown=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
iroh blobs get "$unknown" --provider "$(get "$ready" blobs.0.ticket)"
echo "unknown hash: $(printf '%s' "$out" | tr -d ' \n')"
[ "$rc" = 1 ] && printf '%s' "$out" | grep -q "does not have any of blob" ||
    fail "an unknown hash from the 0.35 node: $out"

in_ns "$IROH" --socket "$sock" shutdown >/dev/null 2>&1 || fail "irohd shutdown"
grep -E "ERROR|Sanitizer|runtime error" "$dir/irohd.log" && fail "sanitizer reports from irohd"

[ "$failures" = 0 ] && echo "interop.blobs_get: all checks passed"
exit $((failures > 0))
