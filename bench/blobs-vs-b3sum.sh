#!/bin/sh
# `iroh blobs add` next to b3sum and our BLAKE3 on one file: how close adding a file to irohd's
# store comes to just hashing it, and how much memory irohd takes while it does.
# usage: bench/blobs-vs-b3sum.sh [FILE]   (default: a 1 GiB random file made in /tmp and
#                                          removed at the end)
# Environment: REPS (runs of each, default 5), BUILD (the build dir, default build/).
#
# Each run is timed from outside as the wall clock of the whole process, page cache warm, all
# runs of a rep interleaved: `b3sum --num-threads 1`, `b3sum` (every CPU), blake3_bench with
# one thread and with every CPU (our BLAKE3, mapping the file as b3sum does), and `iroh blobs
# add` (--reference: hashed in place; copy: hashed while copied into the store and fsynced)
# against a fresh irohd in a temp data dir for every run, so each add does all the work.
# For each add, irohd's VmRSS before and after and its peak (VmHWM, reset through
# /proc/PID/clear_refs just before the add) come from /proc/PID/status. For context, `cp FILE
# DST && sync` is timed too: a copy add writes and syncs as much. Printed: the median of each,
# and the ratios against the goals (speed ours / b3sum: ≥ 1.0 on one thread, ≥ 0.9 on every
# CPU; time add / b3sum on one thread: ≤ 1.3; irohd's peak growth during an add: < 64 MiB).
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$repo/build}
reps=${REPS:-5}
threads=$(nproc)
bench=$build/bench/blake3_bench
irohd=$build/daemon/irohd
iroh=$build/cli/iroh
for tool in "$bench" "$irohd" "$iroh"; do
  [ -x "$tool" ] || { echo "$tool not built (cmake --build $build)" >&2; exit 1; }
done
command -v b3sum >/dev/null || { echo "b3sum not found (apt-get install b3sum)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/blobs-bench-XXXXXX)
pid=
made=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  rm -rf "$tmp"
  [ -n "$made" ] && rm -f "$made"
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ $# -ge 1 ]; then
  file=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
else
  file=/tmp/blobs-bench-1GiB-$$.bin
  made=$file
  echo "creating $file (1 GiB of random bytes; removed at the end)" >&2
  head -c 1073741824 /dev/urandom >"$file"
fi
size=$(stat -c %s "$file")
cat "$file" >/dev/null # warm the page cache

ns() { date +%s%N; }

# time_run NAME CMD...: appends the run's nanoseconds to $tmp/NAME and the first 64-hex word
# of its output to $tmp/NAME.hash.
time_run() {
  name=$1; shift
  t0=$(ns); out=$("$@"); t1=$(ns)
  echo $((t1 - t0)) >>"$tmp/$name"
  echo "$out" | grep -oE '[0-9a-f]{64}' | head -n 1 >"$tmp/$name.hash"
}

kib() { awk -v k="$2" '$1 == k ":" {print $2}' "/proc/$1/status"; }

# add_run MODE [FLAGS]: one `iroh blobs add` against a fresh irohd; records the time and
# irohd's memory (KiB) in $tmp/add-MODE{,.rss0,.rss1,.hwm}.
add_run() {
  mode=$1; shift
  data=$tmp/data-$mode
  rm -rf "$data"
  "$irohd" --data-dir "$data" --socket "$tmp/s.sock" >"$tmp/irohd.log" 2>&1 &
  pid=$!
  i=0
  until "$iroh" --socket "$tmp/s.sock" --timeout 1000 id >/dev/null 2>&1; do
    i=$((i + 1)); [ "$i" -lt 200 ] || { echo "irohd did not start: $(cat "$tmp/irohd.log")" >&2; exit 1; }
    sleep 0.05
  done
  echo 5 >"/proc/$pid/clear_refs" # VmHWM := VmRSS
  kib "$pid" VmRSS >>"$tmp/add-$mode.rss0"
  time_run "add-$mode" "$iroh" --socket "$tmp/s.sock" blobs add --no-tag "$@" "$file"
  kib "$pid" VmRSS >>"$tmp/add-$mode.rss1"
  kib "$pid" VmHWM >>"$tmp/add-$mode.hwm"
  "$iroh" --socket "$tmp/s.sock" shutdown >/dev/null
  wait "$pid" || true
  pid=
  rm -rf "$data"
}

r=0
while [ "$r" -lt "$reps" ]; do
  time_run b3sum1 b3sum --no-names --num-threads 1 "$file"
  time_run b3sumN b3sum --no-names "$file"
  time_run ours1 "$bench" -o -r 1 -t 1 "$file"
  time_run oursN "$bench" -o -r 1 -t "$threads" "$file"
  add_run reference --reference
  add_run copy
  rm -f "$tmp/cp.bin"
  t0=$(ns); cp "$file" "$tmp/cp.bin" && sync; t1=$(ns)
  echo $((t1 - t0)) >>"$tmp/cp"
  rm -f "$tmp/cp.bin"
  r=$((r + 1))
done

want=$(cat "$tmp/b3sum1.hash")
for f in "$tmp"/*.hash; do
  [ "$(cat "$f")" = "$want" ] || { echo "hash mismatch: $(basename "$f" .hash) gave $(cat "$f"), b3sum $want" >&2; exit 1; }
done

# median FILE: the median line of a file of numbers.
median() { sort -n "$1" | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
secs() { median "$tmp/$1" | awk '{printf "%.3f", $1 / 1e9}'; }
gbs() { median "$tmp/$1" | awk -v size="$size" '{printf "%.2f", size / $1}'; }
ratio() { echo "$1 $2" | awk '{printf "%.2f", $1 / $2}'; }
mib() { median "$tmp/$1" | awk '{printf "%.1f", $1 / 1024}'; }
verdict() { echo "$1 $2 $3" | awk '{ok = $2 == ">=" ? $1 >= $3 : $2 == "<=" ? $1 <= $3 : $1 < $3; print ok ? "ok" : "MISSED"}'; }

echo "file $file: $size bytes, hash $want; $reps runs each, median; $threads CPUs"
printf '  %-28s %8s s  %6s GB/s\n' "b3sum --num-threads 1" "$(secs b3sum1)" "$(gbs b3sum1)"
printf '  %-28s %8s s  %6s GB/s\n' "b3sum ($threads threads)" "$(secs b3sumN)" "$(gbs b3sumN)"
printf '  %-28s %8s s  %6s GB/s\n' "blake3_bench -t 1" "$(secs ours1)" "$(gbs ours1)"
printf '  %-28s %8s s  %6s GB/s\n' "blake3_bench -t $threads" "$(secs oursN)" "$(gbs oursN)"
printf '  %-28s %8s s  %6s GB/s\n' "iroh blobs add --reference" "$(secs add-reference)" "$(gbs add-reference)"
printf '  %-28s %8s s  %6s GB/s\n' "iroh blobs add (copy)" "$(secs add-copy)" "$(gbs add-copy)"
printf '  %-28s %8s s  %6s GB/s\n' "cp FILE DST && sync" "$(secs cp)" "$(gbs cp)"
s1=$(ratio "$(median "$tmp/b3sum1")" "$(median "$tmp/ours1")")
sN=$(ratio "$(median "$tmp/b3sumN")" "$(median "$tmp/oursN")")
ar=$(ratio "$(median "$tmp/add-reference")" "$(median "$tmp/b3sum1")")
ac=$(ratio "$(median "$tmp/add-copy")" "$(median "$tmp/b3sum1")")
echo "ratios"
echo "  speed ours / b3sum, 1 thread:            $s1 (goal >= 1.0: $(verdict "$s1" ">=" 1.0))"
echo "  speed ours / b3sum, $threads threads:           $sN (goal >= 0.9: $(verdict "$sN" ">=" 0.9))"
echo "  time add --reference / b3sum 1 thread:  $ar (goal <= 1.3: $(verdict "$ar" "<=" 1.3))"
echo "  time add (copy) / b3sum 1 thread:       $ac (goal <= 1.3: $(verdict "$ac" "<=" 1.3))"
echo "irohd memory (MiB, median): before, after, peak during the add; growth = peak - before"
for mode in reference copy; do
  paste "$tmp/add-$mode.rss0" "$tmp/add-$mode.hwm" | awk '{print $2 - $1}' >"$tmp/g-$mode"
  growth=$(mib "g-$mode")
  printf '  %-10s %7s %7s %7s  growth %s (goal < 64: %s)\n' "$mode" "$(mib "add-$mode.rss0")" \
    "$(mib "add-$mode.rss1")" "$(mib "add-$mode.hwm")" "$growth" "$(verdict "$growth" "<" 64)"
done
