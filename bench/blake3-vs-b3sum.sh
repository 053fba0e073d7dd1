#!/bin/sh
# Compares our BLAKE3 with Debian's b3sum on one file, single-threaded and with every CPU.
# usage: bench/blake3-vs-b3sum.sh [FILE]   (default: a 1 GiB random file made in /tmp once)
# Environment: REPS (runs per tool and configuration, default 7), BENCH (the blake3_bench
# binary, default build/bench/blake3_bench), IROH_BLAKE3_ISA (caps our SIMD level).
#
# Every run is timed from outside the same way: wall clock of the whole process (open, mmap,
# hash, munmap), page cache warm, the two tools' runs interleaved; speeds are GB/s of the
# median run, ratios ours / b3sum. The last line is our hashing alone (blake3_bench -H: the
# mapping populated before the clock starts).
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
bench=${BENCH:-$repo/build/bench/blake3_bench}
reps=${REPS:-7}
file=${1:-/tmp/blake3-bench-1GiB.bin}
threads=$(nproc)

command -v b3sum >/dev/null || { echo "b3sum not found (apt-get install b3sum)" >&2; exit 1; }
[ -x "$bench" ] || { echo "$bench not built (cmake --build build --target blake3_bench)" >&2; exit 1; }
if [ $# -eq 0 ] && [ ! -f "$file" ]; then
  echo "creating $file (1 GiB of random bytes)" >&2
  head -c 1073741824 /dev/urandom >"$file.tmp" && mv "$file.tmp" "$file"
fi
size=$(stat -c %s "$file")
cat "$file" >/dev/null # warm the page cache

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# time_run NAME CMD...: appends the run's nanoseconds to $tmp/NAME and its hash to
# $tmp/NAME.hash (the first word of b3sum's output, the last of blake3_bench's)
time_run() {
  name=$1; shift
  t0=$(date +%s%N); out=$("$@"); t1=$(date +%s%N)
  echo $((t1 - t0)) >>"$tmp/$name"
  echo "$out" | awk '{print length($1) == 64 ? $1 : $NF}' >"$tmp/$name.hash"
}

i=0
while [ "$i" -lt "$reps" ]; do
  for t in 1 "$threads"; do
    time_run "b3sum$t" b3sum --no-names --num-threads "$t" "$file"
    time_run "ours$t" "$bench" -o -r 1 -t "$t" "$file"
  done
  i=$((i + 1))
done

want=$(cat "$tmp/b3sum1.hash")
for f in "$tmp"/*.hash; do
  [ "$(cat "$f")" = "$want" ] || { echo "hash mismatch: $(basename "$f" .hash) gave $(cat "$f"), b3sum $want" >&2; exit 1; }
done

# gbs NAME: GB/s of the median run
gbs() {
  sort -n "$tmp/$1" | awk -v size="$size" '{t[NR] = $1} END {printf "%.3f", size / t[int((NR + 1) / 2)]}'
}
ratio() { echo "$1 $2" | awk '{printf "%.3f", $1 / $2}'; }
hash_only() { "$bench" -o -H -r "$reps" -t "$1" "$file" | sed -n 's/.*median \([0-9.]*\) GB.*/\1/p'; }

echo "file $file, $size bytes, hash $want, $reps runs each, $threads CPUs, $("$bench" -o -H -r 1 -t 1 "$file" | cut -d, -f2 | tr -d ' ')"
for t in 1 "$threads"; do
  b=$(gbs "b3sum$t"); o=$(gbs "ours$t")
  printf '%s thread(s): b3sum %s GB/s, ours %s GB/s, ratio %s\n' "$t" "$b" "$o" "$(ratio "$o" "$b")"
done
printf 'ours, hashing only: 1 thread %s GB/s, %s threads %s GB/s\n' "$(hash_only 1)" "$threads" "$(hash_only "$threads")"
