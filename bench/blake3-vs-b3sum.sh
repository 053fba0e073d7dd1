#!/bin/sh
# Compares our BLAKE3 with Debian's b3sum on one file, single-threaded and with every CPU.
# usage: bench/blake3-vs-b3sum.sh [FILE]   (default: a 1 GiB random file made in /tmp once)
# Environment: REPS (runs per tool and configuration, default 7), BENCH (the blake3_bench
# binary, default build/bench/blake3_bench), IROH_BLAKE3_ISA (caps our SIMD level).
# Both tools are timed from outside the same way (wall clock of the whole process, page
# cache warm, runs interleaved); the ratios are ours / b3sum in GB/s, from the median runs.
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

ns() { date +%s%N; }
# time_run OUTFILE CMD...: appends the run's nanoseconds to OUTFILE, its hash to OUTFILE.hash
time_run() {
  out=$1; shift
  t0=$(ns); h=$("$@" | awk '{print $1}'); t1=$(ns)
  echo $((t1 - t0)) >>"$out"
  echo "$h" >"$out.hash"
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

i=0
while [ "$i" -lt "$reps" ]; do
  time_run "$tmp/b3sum1" b3sum --no-names --num-threads 1 "$file"
  time_run "$tmp/ours1" sh -c '"$1" -o -r 1 -t 1 "$2" | sed "s/.*hash //"' - "$bench" "$file"
  time_run "$tmp/b3sumN" b3sum --no-names "$file"
  time_run "$tmp/oursN" sh -c '"$1" -o -r 1 -t "$3" "$2" | sed "s/.*hash //"' - "$bench" "$file" "$threads"
  i=$((i + 1))
done

for k in b3sum1 ours1 b3sumN oursN; do
  if [ "$(cat "$tmp/$k.hash")" != "$(cat "$tmp/b3sum1.hash")" ]; then
    echo "hash mismatch: $k gave $(cat "$tmp/$k.hash"), b3sum $(cat "$tmp/b3sum1.hash")" >&2
    exit 1
  fi
done

# median_gbs FILE: GB/s of the median run
median_gbs() {
  sort -n "$1" | awk -v size="$size" '{t[NR] = $1} END {printf "%.3f", size / t[int((NR + 1) / 2)]}'
}
b1=$(median_gbs "$tmp/b3sum1"); o1=$(median_gbs "$tmp/ours1")
bn=$(median_gbs "$tmp/b3sumN"); on=$(median_gbs "$tmp/oursN")
echo "file $file, $size bytes, $reps runs each, median, hash $(cat "$tmp/b3sum1.hash")"
echo "isa $("$bench" -r 1 -t 1 "$file" | sed -n 's/^isa //p'), $threads CPUs"
printf '1 thread:   b3sum %s GB/s, ours %s GB/s, ratio %.3f\n' "$b1" "$o1" "$(echo "$o1 $b1" | awk '{print $1 / $2}')"
printf '%d threads:  b3sum %s GB/s, ours %s GB/s, ratio %.3f\n' "$threads" "$bn" "$on" "$(echo "$on $bn" | awk '{print $1 / $2}')"
