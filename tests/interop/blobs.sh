#!/usr/bin/env bash
# blobs.sh IROHD IROH — a real iroh 0.35 node (the @number0/iroh 0.35.0 bindings, blobs built
# in) downloads from irohd by the blob tickets `iroh blobs share` prints: blobs of 0, 1 KiB,
# 16 KiB + 1 and 10 MiB, and a collection of them (a directory added with `iroh blobs add`,
# shared with --collection), each checked byte for byte against the original; then irohd's
# provider counters. 0.35 dials irohd at the ticket's direct address (it pings it itself, so no
# disco is needed on irohd's side for this direction). ctest name interop.blobs.
#
# The 0.35 package is installed with npm into $IROH035_DIR (default
# ${TMPDIR:-/tmp}/irohd-iroh035, shared with blobs_get.sh and disco035.sh) when missing.
# Without node >= 20.3 or npm it prints why it skips and exits 0; needs root (ip netns): the
# real iroh multicasts UPnP where a default route exists, so everything runs in a network
# namespace of its own with nothing but lo. Every process it starts is killed and the namespace
# deleted on every path.
set -u
IROHD=$1
IROH=$2
here=$(cd "$(dirname "$0")" && pwd)
mods=${IROH035_DIR:-${TMPDIR:-/tmp}/irohd-iroh035}

skip() {
    echo "SKIP interop.blobs: $* — the test did not run"
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
command -v b3sum >/dev/null || die "b3sum is not installed"

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

dir=$(mktemp -d "${IROH_TEST_TMP:-/tmp}/blobs-035-XXXXXX")
ns="irohd-blobs-$$"
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
    out=$(in_ns "$IROH" --socket "$sock" --timeout 120000 "$@" 2>&1)
    rc=$?
}

mkdir -p "$dir/src" "$dir/got"
sizes="0 1024 16385 10485760"
for size in $sizes; do
    head -c "$size" /dev/urandom >"$dir/src/blob-$size"
done

echo "== irohd and a real iroh 0.35 node in network namespace $ns (loopback only)"
in_ns "$IROHD" --data-dir "$dir/irohd" --socket "$sock" --bind 127.0.0.1:0 \
    >"$dir/irohd.out" 2>"$dir/irohd.log" &
irohd_pid=$!
wait_for 10 in_ns "$IROH" --socket "$sock" id >/dev/null 2>&1 ||
    die "irohd did not start: $(cat "$dir/irohd.log")"

tickets=()
files=()
for size in $sizes; do
    iroh blobs add "$dir/src/blob-$size"
    [ "$rc" = 0 ] || die "blobs add blob-$size: $out"
    hash=$out
    iroh blobs share "$hash"
    [ "$rc" = 0 ] || die "blobs share blob-$size: $out"
    tickets+=("$out")
    files+=("$dir/src/blob-$size")
done
iroh --json blobs add "$dir/src"
[ "$rc" = 0 ] || die "blobs add of the directory: $out"
root=$(get "$out" hash)
iroh blobs share "$root" --collection
[ "$rc" = 0 ] || die "blobs share --collection: $out"
tickets+=("$out")
echo "collection $root: ${tickets[${#tickets[@]} - 1]}"

in_ns node "$here/blobs.mjs" "$module" "$dir/got" "${tickets[@]}" >"$dir/node.out" \
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

iroh --json rpc blobs.provider_stats
echo "provider: $(printf '%s' "$out" | tr -d ' \n')"
sent=$(get "$out" blobs_sent)
# 4 blobs, then the collection: its root, meta blob and 4 files (the 0.35 getter may ask for
# some of them in more than one request).
[ "$rc" = 0 ] && [ "${sent:-0}" -ge 10 ] && [ "$(get "$out" not_found)" = 0 ] ||
    fail "provider counters: $out"

in_ns "$IROH" --socket "$sock" shutdown >/dev/null 2>&1 || fail "irohd shutdown"
wait_for 10 eval '! kill -0 $irohd_pid 2>/dev/null' || fail "irohd did not stop"
grep -E "ERROR|Sanitizer|runtime error" "$dir/irohd.log" && fail "sanitizer reports from irohd"

[ "$failures" = 0 ] && echo "interop.blobs: all checks passed"
exit $((failures > 0))
