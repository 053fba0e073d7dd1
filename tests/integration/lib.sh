# shellcheck shell=bash
# lib.sh — what the shell integration tests (cli.sh, blobs_cli.sh, test_blobs_crash.sh,
# endpoint.sh, apps.sh) share: the temp dir removed and every background job killed on every
# path, fail and the count of failed checks, bounded waits, an irohd started and waited for
# (one on $sock, or several named ones on 127.0.0.1), and reading fields of JSON output.
# Sourced by each after it sets IROHD and IROH; then make_tmp gives it $dir (and, for
# start_daemon, it sets sock). A test may define on_cleanup (more to remove) and fail_context
# (said after FAIL).
failures=0
daemon=

# Kills every background job still running (irohd, iroh logs), whatever failed.
cleanup() {
    local jobs
    jobs=$(jobs -p)
    [ -n "$jobs" ] && kill -9 $jobs 2>/dev/null
    wait 2>/dev/null
    rm -rf "$dir"
    if declare -F on_cleanup >/dev/null; then on_cleanup; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM # so that cleanup runs

# make_tmp PREFIX: a fresh scratch directory $IROH_TEST_TMP/PREFIX-XXXXXX (/tmp without it) in
# $dir, removed at exit with everything in it.
make_tmp() {
    dir=$(mktemp -d "${IROH_TEST_TMP:-/tmp}/$1-XXXXXX") || {
        echo "FAIL: mktemp failed" >&2
        exit 1
    }
}

fail() {
    local context=
    if declare -F fail_context >/dev/null; then context=" ($(fail_context))"; fi
    echo "FAIL$context: $*" >&2
    failures=$((failures + 1))
}

# has TEXT PATTERN WHAT: checks that TEXT matches the extended regex PATTERN.
has() {
    printf '%s\n' "$1" | grep -Eq -- "$2" || fail "$3: no match for /$2/ in: $1"
}

# shellcheck source=../wait_for.sh
source "$(dirname "${BASH_SOURCE[0]}")/../wait_for.sh" # wait_for SECONDS CMD...

# wait_exit PID SECONDS: waits for a background job to end; its exit code in $status, or
# "timeout".
wait_exit() {
    if wait_for "$2" eval "! kill -0 $1 2>/dev/null"; then
        wait "$1"
        status=$?
    else
        status=timeout
    fi
}

# start_daemon [WHAT]: starts irohd on $dir/data and $sock in the background (its pid in $daemon,
# its output appended to $dir/irohd.log) and waits up to 30 s until `iroh id` answers (an ASan
# irohd on a loaded 2-core machine can take several: its socket file exists before it answers,
# so only an answer says it is ready). If it does not: a failed check "WHAT" (default "irohd
# did not start") with the log's end, and returns 1.
start_daemon() {
    "$IROHD" --data-dir "$dir/data" --socket "$sock" >>"$dir/irohd.log" 2>&1 &
    daemon=$!
    wait_for 30 "$IROH" --socket "$sock" --timeout 1000 id >/dev/null 2>&1 && return 0
    fail "${1:-irohd did not start}: $(tail -n 20 "$dir/irohd.log")"
    return 1
}

# start_node NAME: starts an irohd for node NAME in $dir/NAME (socket $dir/NAME/sock, endpoint
# bound to 127.0.0.1, pid in $pid_NAME, output in $dir/NAME/out and err) and waits up to 30 s
# until it answers; exits the test if it does not.
start_node() {
    mkdir -p "$dir/$1"
    "$IROHD" --data-dir "$dir/$1/data" --socket "$dir/$1/sock" --bind 127.0.0.1:0 \
        >"$dir/$1/out" 2>"$dir/$1/err" &
    eval "pid_$1=\$!"
    wait_for 30 "$IROH" --socket "$dir/$1/sock" --timeout 1000 id >/dev/null 2>&1 && return 0
    fail "irohd $1 did not start: $(cat "$dir/$1/err")"
    exit 1
}

# call NAME METHOD [PARAMS]: iroh rpc on node NAME's socket; output in $out, exit code in $rc.
call() {
    out=$("$IROH" --socket "$dir/$1/sock" --json --timeout 60000 rpc "$2" ${3:+"$3"} 2>&1)
    rc=$?
}

# iroh_on NAME ARGS...: the iroh CLI on node NAME (2 min timeout); output in $out, exit code in
# $rc.
iroh_on() {
    local n=$1
    shift
    out=$("$IROH" --socket "$dir/$n/sock" --timeout 120000 "$@" 2>&1)
    rc=$?
}

# field JSON NAME: the value of a string or number member (the first one) of a JSON text.
field() {
    printf '%s' "$1" | tr -d '\n' | grep -o "\"$2\": *\"\?[^\",}]*" | head -1 | sed 's/^[^:]*: *"\?//'
}
