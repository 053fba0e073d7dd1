#!/usr/bin/env bash
# cli.sh IROHD IROH — the iroh command against a real irohd in a fresh temp dir: every command,
# --json outputs, help texts and exit codes 0/1/2/3. Run by ctest (integration.cli). Every wait
# is bounded and the daemon is killed on every path.
set -u
IROHD=$1
IROH=$2
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
make_tmp cli
sock=$dir/s.sock

# run CODE ARGS...: runs iroh on the test socket; stdout in $out, stderr in $err; checks the
# exit code.
run() {
    local want=$1
    shift
    "$IROH" --socket "$sock" "$@" >"$dir/out" 2>"$dir/err"
    local got=$?
    out=$(cat "$dir/out")
    err=$(cat "$dir/err")
    [ "$got" = "$want" ] || fail "iroh $* exited $got, not $want (stderr: $err)"
}

# json_check JSON EXPR WHAT: checks a Python expression over the parsed document d, when python3
# exists (the grep checks beside each call run everywhere).
have_python=$(command -v python3 || true)
json_check() {
    [ -n "$have_python" ] || return 0
    printf '%s' "$1" | python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if ($2) else 1)" ||
        fail "$3: $2 is false for: $1"
}

# --- without a daemon ---
run 3 status
has "$err" "irohd is not running \(nothing listens on $sock\)" "not running message"
has "$err" "Start it with: irohd" "not running hint"
has "$err" "--socket PATH or set IROHD_SOCKET" "not running hint for the socket"
run 3 id
run 3 logs

run 0 --version
has "$out" "^iroh [0-9]+\.[0-9]+\.[0-9]+ \(libiroh-client [0-9.]+\)$" "--version"
for help in --help -h help; do
    run 0 "$help"
    has "$out" "^Usage: iroh \[OPTIONS\] COMMAND" "$help"
    for cmd in status id rpc logs shutdown help; do
        has "$out" "^  $cmd " "$help lists $cmd"
    done
done
for cmd in status id rpc logs shutdown help; do
    run 0 help "$cmd"
    has "$out" "^Usage: iroh \[OPTIONS\] $cmd" "help $cmd"
    run 0 "$cmd" --help
    has "$out" "^Usage: iroh \[OPTIONS\] $cmd" "$cmd --help"
    run 0 "$cmd" -h
done
run 0 help logs
has "$out" "always follows" "logs help says it follows"

# Usage errors: exit 2.
"$IROH" >/dev/null 2>"$dir/err"
[ $? = 2 ] || fail "no command: exit 2"
has "$(cat "$dir/err")" "missing command" "no command message"
run 2 frobnicate
has "$err" "unknown command: frobnicate" "unknown command message"
has "$err" "^  status " "unknown command lists the commands"
run 2 --frob status
run 2 --timeout soon status
run 2 status extra
run 2 status --json
has "$err" "global options go before the command" "misplaced option hint"
run 2 rpc
run 2 rpc node.status '{}' extra
run 2 help frobnicate
run 2 logs --bogus

# --- with a daemon ---
start_daemon || exit 1

run 0 status
for label in "id:" "version:" "uptime:" "data dir:" "socket:" "clients:" "ticket:"; do
    has "$out" "^$label +[^ ]" "status shows $label"
done
has "$out" "^socket: +$sock$" "status socket"
has "$out" "^id: +[0-9a-f]{64}$" "status id"

run 0 --json status
status_json=$out
has "$out" '"id": "[0-9a-f]{64}"' "status --json id"
json_check "$out" "set(['id','version','uptime_s','data_dir','socket','pid','clients','ticket']) <= set(d) and d['socket'] == '$sock' and d['pid'] == $daemon" "status --json"

run 0 id
id=$out
has "$id" "^[0-9a-f]{64}$" "id"
has "$status_json" "\"id\": \"$id\"" "id matches status"
run 0 --json id
has "$out" "\"id\": \"$id\"" "id --json"
json_check "$out" "d == {'id': '$id'}" "id --json"
IROHD_SOCKET=$sock "$IROH" id >"$dir/out" 2>&1 && [ "$(cat "$dir/out")" = "$id" ] ||
    fail "IROHD_SOCKET is not used: $(cat "$dir/out")"
run 0 --timeout 30000 id

# rpc: results as JSON, errors as "error CODE: MESSAGE" (exit 1) or a JSON object with --json.
run 0 rpc node.status
json_check "$out" "d['id'] == '$id'" "rpc node.status"
has "$out" "\"id\": \"$id\"" "rpc node.status"
run 0 rpc node.status '[]'
run 2 rpc node.status '{"a":'
has "$err" "params must be a JSON object or array" "bad params message"
run 2 rpc node.status '"text"'
run 0 rpc rpc.discover
json_check "$out" "'node.status' in [m['name'] for m in d['methods']]" "rpc rpc.discover"
has "$out" '"openrpc"' "rpc rpc.discover"
run 1 rpc rpc.unsubscribe '[424242]'
has "$err" "^error 1001: " "rpc error line"
has "$err" '"kind":"not_found"' "rpc error data"
run 1 rpc rpc.unsubscribe '{"subscription": 424242}'
has "$err" "^error 1001: " "rpc error line, named params"
run 1 rpc no.such.method
has "$err" "^error -32601: " "rpc unknown method"
run 1 --json rpc no.such.method
[ -z "$err" ] || fail "rpc --json error wrote to stderr: $err"
has "$out" '"code": -32601' "rpc --json error"
json_check "$out" "d['code'] == -32601 and d['message'] and d['data']['kind'] == 'method_not_found'" "rpc --json error"
run 1 rpc node.logs '{"level": "loud"}'
has "$err" "^error -32602: " "invalid params"

# logs: lines through the passed pipe until interrupted.
"$IROH" --socket "$sock" logs --level debug -f >"$dir/logs" 2>"$dir/logs.err" &
bg=$!
provoke() {
    "$IROH" --socket "$sock" id >/dev/null
    grep -q "$1" "$dir/$2"
}
wait_for 30 provoke "debug.*connected" logs || fail "logs printed no debug line: $(cat "$dir/logs" "$dir/logs.err")"
kill -INT "$bg"
wait_exit "$bg" 30
[ "$status" = 0 ] || fail "logs after SIGINT exited $status"

# logs --json: one node.log object per line.
"$IROH" --socket "$sock" --json logs --level=debug >"$dir/logs.json" 2>"$dir/logs.err" &
bg=$!
wait_for 30 provoke '"level":"debug"' logs.json || fail "logs --json printed nothing: $(cat "$dir/logs.err")"
kill -TERM "$bg"
wait_exit "$bg" 30
[ "$status" = 0 ] || fail "logs --json after SIGTERM exited $status"
first=$(head -n 1 "$dir/logs.json")
has "$first" '^\{.*"subscription":[0-9]+' "logs --json line has a subscription"
has "$first" '"message":"' "logs --json line has a message"
json_check "$first" "d['level'] == 'debug' and 'component' in d and 'time' in d" "logs --json line"
run 1 logs --level loud

# shutdown: a following logs stream ends with the daemon; irohd exits 0 and removes its socket.
# The shutdown comes once a line came through the stream: connected (which a client count
# shows) is not yet subscribed, and a shutdown before node.logs is answered fails the logs.
"$IROH" --socket "$sock" logs --level debug >"$dir/logs" 2>"$dir/logs.err" &
bg=$!
wait_for 30 provoke "debug.*connected" logs || fail "logs did not stay connected: $(cat "$dir/logs.err")"
run 0 --json shutdown
[ "$out" = "true" ] || fail "shutdown --json printed: $out"
wait_exit "$daemon" 30
[ "$status" = 0 ] || fail "irohd exited $status after shutdown"
[ ! -e "$sock" ] || fail "irohd left its socket behind"
wait_exit "$bg" 30
[ "$status" = 0 ] || fail "logs did not end with irohd (status $status)"
run 3 status

# A second daemon for the plain shutdown message.
start_daemon "irohd did not restart"
run 0 id
[ "$out" = "$id" ] || fail "the node id changed across restarts: $out"
run 0 shutdown
has "$out" "irohd is shutting down" "shutdown message"
wait_exit "$daemon" 30
[ "$status" = 0 ] || fail "irohd exited $status after the second shutdown"

if [ "$failures" -gt 0 ]; then
    echo "cli.sh: $failures failed checks" >&2
    exit 1
fi
echo "cli.sh: all checks passed"
