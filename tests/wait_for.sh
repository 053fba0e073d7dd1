# shellcheck shell=bash
# wait_for.sh — the bounded wait every shell test uses; sourced by tests/integration/lib.sh and
# tests/interop/lib.sh (never run).

# wait_for SECONDS CMD...: retries CMD every 50 ms until it succeeds, at most SECONDS long;
# returns 1 if it never does.
wait_for() {
    local tries=$(($1 * 20))
    shift
    while [ "$tries" -gt 0 ]; do
        "$@" && return 0
        sleep 0.05
        tries=$((tries - 1))
    done
    return 1
}
