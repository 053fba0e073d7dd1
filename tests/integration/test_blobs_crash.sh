#!/usr/bin/env bash
# test_blobs_crash.sh IROHD IROH — kill -9 irohd while it imports, restart it, and check that the
# store kept its promises. Each of ITERATIONS rounds writes fresh files (0 B to 48 MiB: inline,
# owned data, inline and file outboards), starts two clients adding them in a random order
# (copies; a directory as a collection and references), kills irohd after a random
# 0–MAX_DELAY_MS, restarts it and checks: every blob an add reported is complete, reads back
# equal to its source (hash = b3sum) and exports equal; no temp file is left in blobs/tmp;
# blobs.list holds only complete entries (imports never make partial ones) that read back as
# their hash, and data/ holds no file that no entry claims; blobs.gc keeps every tagged blob
# and the files of a tagged collection. It prints how many kills caught an import writing its
# temp files. Delays and orders come from the printed seed (IROH_CRASH_SEED=N repeats them;
# the file contents are random anyway). Run by ctest (integration.blobs_crash); bounded
# (< 60 s) and every daemon is killed on every path.
set -u
IROHD=$1
IROH=$2
ITERATIONS=${IROH_CRASH_ITERATIONS:-15}
MAX_DELAY_MS=300
seed=${IROH_CRASH_SEED:-$(($(date +%s%N) % 1000000007))}
RANDOM=$seed
echo "test_blobs_crash.sh: seed $seed (IROH_CRASH_SEED=$seed repeats the kill delays), $ITERATIONS rounds"

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
make_tmp blobs-crash
sock=$dir/s.sock
data=$dir/data # where start_daemon (lib.sh) keeps the store
fail_context() { echo "seed $seed, round ${round:-0}"; }

iroh() { timeout 60 "$IROH" --socket "$sock" "$@"; }

# json EXPR: evaluates a Python expression over the JSON document d on stdin and prints it.
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# add KIND PATH [ARGS]: `iroh --json blobs add ARGS PATH`; on success appends
# "KIND HASH SIZE PATH" to $dir/reported (one line, written at once).
add() {
    local kind=$1 path=$2 out
    shift 2
    out=$(iroh --json blobs add "$@" "$path" 2>/dev/null) || return 0
    echo "$kind $(printf '%s' "$out" | json "d['hash'], d['size']") $path" >>"$dir/reported"
}

# The blob's bytes hash (through `iroh blobs cat`) to HASH.
cat_is() { [ "$(iroh blobs cat "$1" | b3sum --no-names)" = "$1" ]; }

# shuffle WORDS...: the words in a random order (from the seeded $RANDOM).
shuffle() {
    local a=("$@") i j t
    for ((i = ${#a[@]} - 1; i > 0; i--)); do
        j=$((RANDOM % (i + 1)))
        t=${a[i]} a[i]=${a[j]} a[j]=$t
    done
    echo "${a[@]}"
}

# Inline, owned with an inline outboard, owned with an outboard file; the largest keeps an
# import in flight for much of the delay range.
sizes="0 1 16384 16385 200000 1048577 4210689 12582912 50331648"
killed_in_import=0
mkdir -p "$dir/copy" "$dir/exp"
: >"$dir/reported"
: >"$dir/verified"
start_daemon || exit 1
t0=$(date +%s)

for round in $(seq 1 "$ITERATIONS"); do
    # Fresh content: copies overwrite last round's files, references and trees are new files
    # (a referenced file must not change).
    for s in $sizes; do head -c "$s" /dev/urandom >"$dir/copy/f$s"; done
    mkdir -p "$dir/ref$round" "$dir/tree$round/a/b" "$dir/tree$round/c"
    for s in 16385 1048577 4210689; do head -c "$s" /dev/urandom >"$dir/ref$round/r$s"; done
    head -c 0 /dev/urandom >"$dir/tree$round/empty"
    head -c 100 /dev/urandom >"$dir/tree$round/a/small"
    head -c 20000 /dev/urandom >"$dir/tree$round/a/b/mid"
    head -c 300000 /dev/urandom >"$dir/tree$round/c/large"
    head -c 4210689 /dev/urandom >"$dir/tree$round/c/outboard"

    before=$(wc -l <"$dir/reported")
    order=$(shuffle $sizes)
    (for s in $order; do add copy "$dir/copy/f$s"; done) &
    copier=$!
    (
        add tree "$dir/tree$round"
        for s in $(shuffle 16385 1048577 4210689); do add ref "$dir/ref$round/r$s" --reference; done
    ) &
    referrer=$!
    delay=$((RANDOM % (MAX_DELAY_MS + 1)))
    sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
    kill -9 "$daemon"
    wait "$daemon" 2>/dev/null
    wait "$copier" "$referrer"
    reported=$(($(wc -l <"$dir/reported") - before))
    temps=$(ls -A "$data/blobs/tmp" | wc -l)
    [ "$temps" -gt 0 ] && killed_in_import=$((killed_in_import + 1))
    echo "round $round: killed after $delay ms, $reported adds reported, $temps temp files left"

    start_daemon || exit 1
    left=$(ls -A "$data/blobs/tmp" 2>/dev/null)
    [ -z "$left" ] || fail "temp files left after the restart: $left"

    # Every reported add: complete, its size, its content (this round's fully; the sources of
    # copies change every round, so those are checked by hash).
    tail -n "+$((before + 1))" "$dir/reported" >"$dir/new"
    while read -r kind hash size path; do
        st=$(iroh --json blobs status "$hash") || { fail "$kind $path ($hash) reported but gone"; continue; }
        [ "$(printf '%s' "$st" | json "d['complete'], d['size']")" = "True $size" ] ||
            fail "$kind $path ($hash): status $st"
        case $kind in
        tree)
            rm -rf "$dir/exp/tree"
            iroh blobs export "$hash" "$dir/exp/tree" >/dev/null || fail "export of $path failed"
            diff -r "$path" "$dir/exp/tree" >/dev/null || fail "export of $path differs"
            ;;
        *)
            [ "$(b3sum --no-names "$path")" = "$hash" ] || fail "$path: reported $hash, b3sum says $(b3sum --no-names "$path")"
            cat_is "$hash" || fail "$kind $path ($hash) reads back wrong"
            rm -f "$dir/exp/file"
            iroh blobs export "$hash" "$dir/exp/file" >/dev/null || fail "export of $hash failed"
            cmp -s "$dir/exp/file" "$path" || fail "export of $path differs"
            ;;
        esac
        echo "$hash" >>"$dir/verified"
    done <"$dir/new"

    # Everything listed: complete, and readable as its hash (once per hash); data/ holds
    # nothing that no entry claims.
    list=$(iroh --json blobs ls) || fail "blobs ls failed"
    partial=$(printf '%s' "$list" | json "' '.join(b['hash'] for b in d if not b['complete'])")
    [ -z "$partial" ] || fail "partial entries after imports only: $partial"
    for hash in $(printf '%s' "$list" | json "' '.join(b['hash'] for b in d)"); do
        grep -qx "$hash" "$dir/verified" && continue
        cat_is "$hash" || fail "listed blob $hash does not read back as its hash"
        echo "$hash" >>"$dir/verified"
    done
    for f in "$data"/blobs/data/*; do
        [ -e "$f" ] || continue
        name=$(basename "$f")
        printf '%s' "$list" | grep -q "\"${name%%.*}\"" || fail "data/$name belongs to no entry"
    done

    # GC keeps every reported blob (each was tagged before its add answered) and, through
    # the hash_seq tag, every file of each collection.
    iroh blobs gc >/dev/null || fail "blobs gc failed"
    while read -r kind hash size path; do
        iroh blobs status "$hash" >/dev/null 2>&1 || fail "gc deleted $kind $path ($hash)"
    done <"$dir/reported"
    tree=$(awk '$1 == "tree" {h = $2} END {print h}' "$dir/reported")
    if [ -n "$tree" ]; then
        rm -rf "$dir/exp/tree"
        iroh blobs export "$tree" "$dir/exp/tree" >/dev/null || fail "a collection's files went at gc"
    fi
done

# Last: every blob ever reported reads back as its hash.
while read -r kind hash size path; do
    cat_is "$hash" || fail "$kind $path ($hash) reads back wrong at the end"
done <"$dir/reported"
iroh shutdown >/dev/null
wait "$daemon"
# What the restarts cleaned up (irohd logs it when there was something), for the record.
grep -h "recovered the blob store" "$dir/irohd.log" | sed 's/^.*blobs: /  /'
echo "test_blobs_crash.sh: $(wc -l <"$dir/reported") adds reported and checked in $(($(date +%s) - t0)) s;" \
    "$killed_in_import of $ITERATIONS kills caught an import writing its temp files"

if [ "$failures" -gt 0 ]; then
    echo "test_blobs_crash.sh: $failures failed checks" >&2
    exit 1
fi
echo "test_blobs_crash.sh: all checks passed"
