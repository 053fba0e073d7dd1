#!/usr/bin/env bash
# blobs_cli.sh IROHD IROH — `iroh blobs …` and `iroh tags …` against a real irohd in a fresh temp
# dir: every subcommand, hashes of files around the chunk and group boundaries equal to b3sum's
# (copy and reference), a directory tree through add → export (diff -r) whose collection hash is
# rebuilt here from b3sum hashes and the iroh meta format, cat of 100 MiB in bounded memory,
# --json outputs, the progress bar on a terminal only, tags and gc, and the error cases with
# their exit codes (1 RPC error, 2 usage, 3 not running) and messages. Run by ctest
# (integration.blobs_cli). Every wait is bounded and every daemon is killed on every path.
set -u
IROHD=$1
IROH=$2
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
make_tmp blobs-cli
sock=$dir/s.sock
# The second daemon's dir (the unreadable-file case), removed with $dir.
on_cleanup() { [ -z "${nobody_dir:-}" ] || rm -rf "$nobody_dir"; }

# run CODE ARGS...: runs iroh on the test socket (at most 60 s); stdout in $out (also the file
# $dir/out, byte for byte), stderr in $err; checks the exit code.
run() {
    local want=$1
    shift
    timeout 60 "$IROH" --socket "$sock" "$@" >"$dir/out" 2>"$dir/err"
    local got=$?
    out=$(tr -d '\0' <"$dir/out") # cat's output may be binary: compare $dir/out for it
    err=$(cat "$dir/err")
    [ "$got" = "$want" ] || fail "iroh $* exited $got, not $want (stderr: $err)"
}

# json_check JSON EXPR WHAT: checks a Python expression over the parsed document d.
json_check() {
    printf '%s' "$1" | python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if ($2) else 1)" ||
        fail "$3: $2 is false for: $1"
}

b3() { b3sum --no-names "$1"; }

# --- without a daemon: exit 3; help and usage need none ---
run 3 blobs ls
has "$err" "irohd is not running" "not running message"
run 3 tags ls
run 3 blobs add /etc/hostname

for args in "help blobs" "blobs --help" "blobs -h" "help tags" "tags --help"; do
    run 0 $args
    has "$out" "^Usage: iroh \[OPTIONS\] (blobs|tags) SUBCOMMAND" "$args"
done
for sub in add export cat ls status rm gc; do
    run 0 help blobs "$sub"
    has "$out" "^Usage: iroh \[OPTIONS\] blobs $sub" "help blobs $sub"
    run 0 blobs "$sub" --help
    has "$out" "^Usage: iroh \[OPTIONS\] blobs $sub" "blobs $sub --help"
done
for sub in ls get set rm; do
    run 0 tags "$sub" -h
    has "$out" "^Usage: iroh \[OPTIONS\] tags $sub" "tags $sub -h"
done
run 0 --help
has "$out" "^  blobs " "usage lists blobs"
has "$out" "^  tags " "usage lists tags"
run 0 help blobs add
has "$out" "8 MiB" "add help says the stdin cap"

run 2 blobs
has "$err" "missing subcommand" "blobs without a subcommand"
run 2 blobs frob
has "$err" "unknown subcommand: frob" "unknown subcommand"
run 2 help blobs frob
run 2 blobs add
has "$err" "missing PATH" "add without PATH"
run 2 blobs add a b
has "$err" "unexpected argument: b" "add with two paths"
run 2 blobs add f --json
has "$err" "global options go before the command: --json" "misplaced --json"
run 2 blobs add f --tag t --no-tag
has "$err" "exclude each other" "--tag and --no-tag"
run 2 blobs add f --tag
has "$err" "missing value for --tag" "--tag without a value"
run 2 blobs add - --reference
run 2 blobs add f --frob
has "$err" "unknown option: --frob" "unknown option"
run 2 blobs export onlyhash
has "$err" "missing PATH" "export without PATH"
run 2 blobs cat
run 2 blobs status
run 2 blobs ls extra
run 2 tags set onlyname
has "$err" "missing HASH" "tags set without HASH"
run 2 tags get
run 2 tags rm a b

# --- with a daemon ---
start_daemon || exit 1

# An empty store: gc with nothing to keep (no tag, no temp tag) and nothing to delete.
run 0 --json blobs gc
json_check "$out" "d == {'deleted': 0, 'freed_bytes': 0}" "gc of an empty store"
run 0 --json blobs ls
json_check "$out" "d == []" "ls of an empty store"
run 0 tags ls
[ "$out" = "$(printf '%-64s %-8s %s' HASH FORMAT NAME)" ] || fail "tags ls of an empty store: $out"

# Files around every boundary: chunk (1024), group and inline limit (16384), 1 MiB.
mkdir "$dir/files"
for size in 0 1 1023 1024 1025 16383 16384 16385 1048575 1048576 1048577; do
    f=$dir/files/f$size
    head -c "$size" /dev/urandom >"$f"
    want=$(b3 "$f")
    run 0 blobs add "$f"
    [ "$out" = "$want" ] || fail "blobs add of $size bytes printed $out, b3sum says $want"
    run 0 blobs cat "$want"
    cmp -s "$dir/out" "$f" || fail "blobs cat of $size bytes differs from the file"
    run 0 --json blobs status "$want"
    json_check "$out" "d['hash'] == '$want' and d['size'] == $size and d['complete']" "status of $size"
done
# By reference, from the working directory (a relative path made absolute by iroh).
for size in 16385 1048577; do
    f=$dir/files/ref$size
    head -c "$size" /dev/urandom >"$f"
    (cd "$dir/files" && timeout 60 "$IROH" --socket "$sock" --json blobs add --reference "ref$size") >"$dir/out" 2>"$dir/err" ||
        fail "blobs add --reference ref$size: $(cat "$dir/err")"
    json_check "$(cat "$dir/out")" "d['hash'] == '$(b3 "$f")' and d['location'] == 'external' and d['size'] == $size and d['format'] == 'raw'" "reference add"
    run 0 blobs cat "$(b3 "$f")"
    cmp -s "$dir/out" "$f" || fail "blobs cat of a referenced file differs"
done
# A referenced file that changes is never read as wrong bytes.
ref_hash=$(b3 "$dir/files/ref16385")
head -c 16385 /dev/urandom >"$dir/files/ref16385"
run 1 blobs cat "$ref_hash"
[ ! -s "$dir/out" ] || [ "$(stat -c %s "$dir/out")" -lt 16385 ] || fail "cat of a changed reference wrote it all"

# --json of add: hash, size, format, tag.
run 0 --json blobs add --tag mytag "$dir/files/f1025"
json_check "$out" "d['hash'] == '$(b3 "$dir/files/f1025")' and d['size'] == 1025 and d['format'] == 'raw' and d['tag'] == 'mytag' and d['existed']" "add --json"
run 0 --json blobs add --no-tag "$dir/files/f1"
json_check "$out" "d['tag'] is None" "add --no-tag"

# Stdin: binary bytes; more than 8 MiB is refused (exit 2) before anything is sent.
head -c 5000 /dev/urandom >"$dir/stdin.bin"
run 0 blobs add - <"$dir/stdin.bin"
[ "$out" = "$(b3 "$dir/stdin.bin")" ] || fail "add - printed $out"
printf '' | timeout 60 "$IROH" --socket "$sock" blobs add - >"$dir/out" 2>"$dir/err" &&
    [ "$(cat "$dir/out")" = "$(b3 "$dir/files/f0")" ] || fail "add - of nothing: $(cat "$dir/err")"
head -c $((8 * 1024 * 1024 + 1)) /dev/zero >"$dir/over"
run 2 blobs add - <"$dir/over"
has "$err" "more than 8 MiB" "stdin over the cap"
head -c $((8 * 1024 * 1024)) /dev/urandom >"$dir/cap"
run 0 blobs add - <"$dir/cap"
[ "$out" = "$(b3 "$dir/cap")" ] || fail "add - of exactly 8 MiB"

# A directory: nested files, an empty file, odd names; a symlink and a FIFO are skipped.
src=$dir/tree
mkdir -p "$src/sub/deeper/deepest" "$src/with space" "$src/ünï" "$src/emptydir"
cp "$dir/files/f16385" "$src/a.bin"
cp "$dir/files/f0" "$src/sub/empty"
cp "$dir/files/f1048577" "$src/sub/deeper/big"
echo hello >"$src/sub/deeper/deepest/hello.txt"
echo spaced >"$src/with space/file name.txt"
echo unicode >"$src/ünï/日本.txt"
head -c 5000000 /dev/urandom >"$src/z5m" # > 4 MiB: owned data and an outboard file
ln -s a.bin "$src/link"
mkfifo "$src/fifo"
run 0 --json blobs add "$src"
added=$out
json_check "$added" "d['format'] == 'hash_seq' and d['files'] == 7 and d['skipped'] == 2 and d['total_size'] == 16385 + 0 + 1048577 + 6 + 7 + 8 + 5000000 and d['tag'].startswith('auto-')" "add of a directory"
coll=$(printf '%s' "$added" | python3 -c "import json,sys; print(json.load(sys.stdin)['hash'])")
run 0 blobs add "$src"
[ "$out" = "$coll" ] || fail "adding the directory again gave $out, not $coll"

# The collection hash rebuilt from b3sum: meta = "CollectionV0." ‖ varint(n) ‖ (varint(len) ‖
# name)…, names sorted bytewise; root = b3(meta) ‖ b3(file)… (spec/blobs.md §9.3).
(cd "$src" && find . -type f | sed 's|^\./||' | LC_ALL=C sort) >"$dir/names"
python3 - "$dir/names" "$dir/meta.bin" <<'EOF'
import sys
names = [l.rstrip('\n').encode() for l in open(sys.argv[1], encoding='utf-8')]
def varint(n):
    out = b''
    while n >= 0x80:
        out += bytes([n & 0x7f | 0x80]); n >>= 7
    return out + bytes([n])
meta = b'CollectionV0.' + varint(len(names)) + b''.join(varint(len(n)) + n for n in names)
open(sys.argv[2], 'wb').write(meta)
EOF
{
    b3 "$dir/meta.bin"
    while IFS= read -r name; do b3 "$src/$name"; done <"$dir/names"
} | xxd -r -p >"$dir/root.bin"
[ "$(b3 "$dir/root.bin")" = "$coll" ] || fail "collection hash $coll is not the one built from b3sum ($(b3 "$dir/root.bin"))"
run 0 blobs cat "$coll"
cmp -s "$dir/out" "$dir/root.bin" || fail "cat of the collection root differs from the hash sequence"
run 0 blobs cat "$(b3 "$dir/meta.bin")"
cmp -s "$dir/out" "$dir/meta.bin" || fail "the meta blob differs"

# Export: the same tree (without the symlink and the FIFO), from a relative path.
(cd "$dir" && timeout 60 "$IROH" --socket "$sock" blobs export "$coll" exported) >"$dir/out" 2>"$dir/err" ||
    fail "blobs export of the collection: $(cat "$dir/err")"
has "$(cat "$dir/out")" "^exported 7 files \(.*\) to $dir/exported$" "export message"
# Modes follow the caller's umask (as cp's would), not irohd's 077.
(cd "$dir" && umask 027 && timeout 60 "$IROH" --socket "$sock" blobs export "$coll" masked) >/dev/null 2>"$dir/err" ||
    fail "blobs export under umask 027: $(cat "$dir/err")"
modes=$(stat -c %a "$dir/masked" "$dir/masked/sub/deeper" "$dir/masked/sub/deeper/big" | tr '\n' ' ')
[ "$modes" = "750 750 640 " ] || fail "export under umask 027 gave modes $modes, not 750 750 640"
diff -r -x link -x fifo -x emptydir "$src" "$dir/exported" >"$dir/diff" 2>&1 || fail "exported tree differs: $(cat "$dir/diff")"
[ ! -e "$dir/exported/link" ] && [ ! -e "$dir/exported/fifo" ] || fail "symlink or FIFO exported"
run 1 blobs export "$coll" "$dir/exported"
has "$err" "exists; pass overwrite" "export over existing files"
echo changed >"$dir/exported/a.bin"
run 0 --json blobs export --overwrite "$coll" "$dir/exported"
json_check "$out" "d['collection'] and d['files'] == 7 and d['path'] == '$dir/exported'" "export --json"
cmp -s "$src/a.bin" "$dir/exported/a.bin" || fail "--overwrite did not replace a.bin"
# A symlink where a directory must go: refused, nothing written through it.
mkdir "$dir/x2" "$dir/elsewhere"
ln -s "$dir/elsewhere" "$dir/x2/sub"
run 1 blobs export "$coll" "$dir/x2"
has "$err" "x2/sub exists and is not a directory" "export through a symlink"
[ -z "$(ls "$dir/elsewhere")" ] || fail "export wrote through a symlink"
# A single blob: to a file; an existing file only with --overwrite.
big_hash=$(b3 "$dir/files/f1048577")
run 0 blobs export "$big_hash" "$dir/one.bin"
has "$out" "^exported 1.0 MiB to $dir/one.bin$" "export of a blob"
cmp -s "$dir/one.bin" "$dir/files/f1048577" || fail "exported blob differs"
run 1 blobs export "$big_hash" "$dir/one.bin"
has "$err" "^error 1002: .*one.bin exists" "export over an existing file"
run 0 blobs export --overwrite "$big_hash" "$dir/one.bin"
run 0 rpc blobs.export "{\"hash\":\"$coll\",\"path\":\"$dir/rawroot\",\"collection\":false}"
cmp -s "$dir/rawroot" "$dir/root.bin" || fail "collection: false exports the root blob itself"

# A collection with an unsafe name, stored with blobs add - (meta, child, root): refused, and
# nothing is written.
printf 'CollectionV0.\x02\x02ok\x0e../escaped.txt' >"$dir/evil-meta"
echo evil >"$dir/evil-child"
{ b3 "$dir/evil-meta"; b3 "$dir/evil-child"; b3 "$dir/evil-child"; } | xxd -r -p >"$dir/evil-root"
run 0 blobs add - <"$dir/evil-meta"
run 0 blobs add - <"$dir/evil-child"
run 0 blobs add - <"$dir/evil-root"
evil=$out
run 1 blobs export "$evil" "$dir/evil-out"
has "$err" "\"\.\./escaped\.txt\" is refused: .*'\.\.'" "unsafe name refused"
[ ! -e "$dir/escaped.txt" ] && [ ! -e "$dir/evil-out" ] || fail "an unsafe collection wrote files"

# cat of 100 MiB in bounded memory (the pipe is copied in 64 KiB blocks).
head -c $((100 * 1024 * 1024)) /dev/urandom >"$dir/big"
run 0 blobs add --no-tag "$dir/big"
big=$out
[ "$big" = "$(b3 "$dir/big")" ] || fail "100 MiB hash"
/usr/bin/time -f %M -o "$dir/rss" "$IROH" --socket "$sock" blobs cat "$big" >"$dir/big.out" 2>"$dir/err" ||
    fail "cat of 100 MiB: $(cat "$dir/err")"
cmp -s "$dir/big" "$dir/big.out" || fail "cat of 100 MiB differs"
rss_kib=$(tail -n 1 "$dir/rss")
[ "$rss_kib" -lt 65536 ] || fail "cat of 100 MiB peaked at $rss_kib KiB"
echo "cat of 100 MiB: iroh peaked at $rss_kib KiB"
rm -f "$dir/big.out"

# The progress bar: on a terminal only (script gives iroh one), never on a pipe.
run 0 blobs add "$dir/big"
[ -z "$err" ] || fail "add wrote to stderr without a terminal: $err"
script -qec "$IROH --socket $sock blobs export --overwrite $big $dir/big.copy" /dev/null >"$dir/tty" 2>&1 ||
    fail "export on a terminal: $(cat "$dir/tty")"
has "$(tr '\r' '\n' <"$dir/tty")" "^exporting +[0-9.]+%  [0-9.]+ [KMG]?i?B / 100.0 MiB  [0-9.]+ [KMG]?i?B/s" "progress bar"
has "$(cat "$dir/tty")" "exported 100.0 MiB" "export message after the bar"
cmp -s "$dir/big" "$dir/big.copy" || fail "export on a terminal differs"
rm -f "$dir/big" "$dir/big.copy"

# ls and status.
run 0 blobs ls
has "$out" "^HASH +SIZE +COMPLETE +FORMAT$" "ls header"
has "$out" "^$coll +[0-9]+ yes +hash_seq$" "ls shows the collection as hash_seq"
has "$out" "^$big_hash +1048577 yes +raw$" "ls shows a blob"
run 0 --json blobs ls
json_check "$out" "isinstance(d, list) and all(set(['hash','size','complete','format']) <= set(b) for b in d) and any(b['hash'] == '$coll' and b['format'] == 'hash_seq' for b in d)" "ls --json"
run 0 blobs status "$big_hash"
has "$out" "^size: +1048577 bytes$" "status size"
has "$out" "^complete: +yes \(65 of 65 chunk groups\)$" "status complete"
has "$out" "^location: +owned$" "status location"

# Tags.
run 0 tags set t1 "$big_hash"
has "$out" "^$big_hash raw +t1$" "tags set"
run 0 --json tags set t2 "$coll" --hash-seq
json_check "$out" "d == {'name': 't2', 'hash': '$coll', 'format': 'hash_seq'}" "tags set --hash-seq --json"
run 0 tags get t2
has "$out" "^$coll hash_seq t2$" "tags get"
run 0 tags ls
has "$out" "^HASH +FORMAT +NAME$" "tags ls header"
has "$out" "^$big_hash raw +t1$" "tags ls t1"
has "$out" "^$(b3 "$dir/files/f1025") raw +mytag$" "tags ls mytag"
run 0 --json tags ls
json_check "$out" "[t['name'] for t in d] == sorted(t['name'] for t in d) and {'t1','t2','mytag'} <= {t['name'] for t in d}" "tags ls --json"
run 0 tags rm t1
[ "$out" = "deleted" ] || fail "tags rm printed $out"
run 0 tags rm t1
has "$out" "no such tag" "tags rm twice"
run 1 tags get t1
has "$err" "^error 1001: " "tags get of a missing tag"

# gc: only t2 (the collection, as a hash sequence) and mytag protect anything now.
for t in $("$IROH" --socket "$sock" --json tags ls | python3 -c "import json,sys; print(' '.join(t['name'] for t in json.load(sys.stdin) if t['name'] not in ('t2','mytag')))"); do
    run 0 tags rm "$t"
done
run 0 blobs gc
has "$out" "^deleted [1-9][0-9]* blobs, freed " "gc message"
run 0 --json blobs gc
json_check "$out" "d['deleted'] == 0" "second gc"
while IFS= read -r name; do
    run 0 blobs status "$(b3 "$src/$name")" # the collection's files, protected through t2
done <"$dir/names"
run 0 blobs status "$(b3 "$dir/meta.bin")"
run 1 blobs status "$(b3 "$dir/files/f1048576")"
has "$err" "^error 1001: " "gc deleted an unprotected blob"
run 0 blobs cat "$(b3 "$dir/files/f1025")"    # mytag
run 0 blobs rm "$(b3 "$dir/files/f1025")"
[ "$out" = "deleted" ] || fail "blobs rm printed $out"
run 0 --json blobs rm "$(b3 "$dir/files/f1025")"
json_check "$out" "d == {'deleted': False}" "blobs rm of a missing blob"
run 0 tags get mytag # the tag stays, dangling

# Errors: irohd's answers, exit 1 with a message.
run 1 blobs add "$dir/no/such/file"
has "$err" "^error 1001: .*$dir/no/such/file" "missing path"
run 1 blobs add "no-such-relative"
has "$err" "no-such-relative" "missing relative path"
mkfifo "$dir/a-fifo"
run 1 blobs add "$dir/a-fifo"
has "$err" "^error -32602: .*a special file, not a regular file" "FIFO"
for bad in xyz "$(printf 'z%.0s' $(seq 64))" "$(printf '1%.0s' $(seq 52))"; do
    for cmd in "blobs status" "blobs cat" "blobs rm" "tags set t"; do
        run 1 $cmd "$bad"
        has "$err" "^error -32602: .*(hash|52 characters)" "$cmd with hash $bad"
    done
    run 1 blobs export "$bad" "$dir/x"
done
run 1 blobs cat "$(printf '0%.0s' $(seq 64))"
has "$err" "^error 1001: " "cat of an unknown hash"
run 1 --json blobs status "$(printf '0%.0s' $(seq 64))"
json_check "$out" "d['code'] == 1001 and d['data']['kind'] == 'not_found'" "--json error"

# An unreadable file: a second irohd runs as nobody, so the file's mode keeps it out.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    nobody_dir=$(mktemp -d /tmp/blobs-cli-nobody-XXXXXX)
    chmod 755 "$nobody_dir"
    chown 65534:65534 "$nobody_dir"
    echo secret >"$nobody_dir/secret"
    chmod 000 "$nobody_dir/secret"
    setpriv --reuid=65534 --regid=65534 --clear-groups "$IROHD" --data-dir "$nobody_dir/data" \
        --socket "$nobody_dir/s.sock" >"$dir/nobody.log" 2>&1 &
    wait_for 30 "$IROH" --socket "$nobody_dir/s.sock" --timeout 1000 id >/dev/null 2>&1 ||
        fail "irohd as nobody did not start: $(cat "$dir/nobody.log")"
    timeout 60 "$IROH" --socket "$nobody_dir/s.sock" blobs add "$nobody_dir/secret" >"$dir/out" 2>"$dir/err"
    [ $? = 1 ] || fail "add of an unreadable file did not exit 1"
    has "$(cat "$dir/err")" "^error 1003: .*Permission denied" "unreadable file"
    "$IROH" --socket "$nobody_dir/s.sock" shutdown >/dev/null
else
    echo "note: not root (or no setpriv): the unreadable-file case is skipped"
fi

# shutdown: afterwards every blobs command exits 3.
run 0 shutdown
wait_for 30 eval "! kill -0 $daemon 2>/dev/null" || fail "irohd did not stop"
run 3 blobs ls

if [ "$failures" -gt 0 ]; then
    echo "blobs_cli.sh: $failures failed checks" >&2
    exit 1
fi
echo "blobs_cli.sh: all checks passed"
