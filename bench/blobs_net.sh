#!/bin/sh
# Downloads a blob irohd → irohd over 127.0.0.1 (blobs.get from a blobs.share ticket): a whole
# 1 GiB blob, then resuming one of which the first half is already held (only the second half
# is fetched), and prints MB/s next to the endpoint's own single-stream figure
# (bench/quic_bench --only bulk --streams 1, the number quic-vs-quinn.sh prints; one run after
# each download, medians compared) with the ratio, and the downloading irohd's memory growth
# (VmHWM during the call − VmRSS before), and the CPU seconds per GiB each side spent on a whole
# download (utime + stime from /proc, also for quic_bench, which runs both ends in one process:
# robust when other work loads the host, unlike MB/s).
# Goals: ≥ 0.8 of the endpoint's single stream; < 64 MiB growth.
# usage: bench/blobs_net.sh
# Environment: BYTES (default 1 GiB), REPS (whole downloads, default 3; the median counts),
# BUILD (default build: irohd, iroh and bench/quic_bench are taken from it), RESUME (0 skips
# the resume case), TMPDIR.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$repo/build}
irohd=$build/daemon/irohd
iroh=$build/cli/iroh
bench=$build/bench/quic_bench
bytes=${BYTES:-1073741824}
reps=${REPS:-3}
for b in "$irohd" "$iroh" "$bench"; do
  [ -x "$b" ] || { echo "$b not built (cmake --build $build)" >&2; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/blobs-net-bench-XXXXXX")
cleanup() {
  for n in a b; do "$iroh" --socket "$tmp/$n/sock" shutdown >/dev/null 2>&1 || true; done
  sleep 0.5
  kill -9 $(jobs -p) 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

start() {
  mkdir -p "$tmp/$1"
  "$irohd" --data-dir "$tmp/$1/data" --socket "$tmp/$1/sock" --bind 127.0.0.1:0 \
    >"$tmp/$1/out" 2>"$tmp/$1/err" &
  echo $! >"$tmp/$1/pid"
  i=0
  until "$iroh" --socket "$tmp/$1/sock" id >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -lt 200 ] || { echo "irohd $1 did not start" >&2; exit 1; }
    sleep 0.05
  done
}
# CPU seconds irohd NAME has used so far (fields 14 and 15 of /proc/PID/stat, in ticks).
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$(cat "$tmp/$1/pid")/stat"; }
# CPU seconds of this shell's waited-for children (fields 16 and 17).
child_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($16 + $17) / hz }' /proc/$$/stat; }
per_gib() { awk -v s="$1" -v b="$bytes" 'BEGIN { printf "%.2f", s * 1073741824 / b }'; }
kib() { sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$(cat "$tmp/$1/pid")/status"; }
now() { date +%s.%N; }
mbs() { awk -v b="$1" -v t="$2" 'BEGIN { printf "%.1f", b / t / 1e6 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

start a
head -c "$bytes" /dev/urandom >"$tmp/src"
hash=$("$iroh" --socket "$tmp/a/sock" blobs add --reference "$tmp/src")
ticket=$("$iroh" --socket "$tmp/a/sock" --json rpc blobs.share "{\"hash\":\"$hash\"}" |
  sed -n 's/.*"ticket": *"\([^"]*\)".*/\1/p')
half=$((bytes / 2 / 16384 * 16384))

: >"$tmp/whole"
: >"$tmp/growth"
: >"$tmp/endpoint"
: >"$tmp/cpu_a"
: >"$tmp/cpu_b"
: >"$tmp/cpu_ep"
for r in $(seq "$reps"); do
  # A fresh downloader each time: its store starts empty, its memory from its baseline.
  rm -rf "$tmp/b"
  start b
  base=$(kib b VmRSS)
  ca=$(cpu a)
  cb=$(cpu b)
  t0=$(now)
  "$iroh" --socket "$tmp/b/sock" --timeout 600000 blobs get "$ticket" --no-tag >/dev/null 2>&1
  t1=$(now)
  peak=$(kib b VmHWM)
  per_gib "$(echo "$(cpu a) - $ca" | bc)" >>"$tmp/cpu_a"
  echo >>"$tmp/cpu_a"
  per_gib "$(echo "$(cpu b) - $cb" | bc)" >>"$tmp/cpu_b"
  echo >>"$tmp/cpu_b"
  echo "CPU s per GiB: provider $(tail -1 "$tmp/cpu_a"), downloader $(tail -1 "$tmp/cpu_b")"
  echo "$(mbs "$bytes" "$(echo "$t1 - $t0" | bc)")" | tee -a "$tmp/whole" |
    sed 's/^/whole download MB\/s: /'
  echo $(((peak - base) / 1024)) >>"$tmp/growth"
  "$iroh" --socket "$tmp/b/sock" shutdown >/dev/null
  wait "$(cat "$tmp/b/pid")" 2>/dev/null || true
  # The endpoint's figure from runs interleaved with ours (the host's load moves both).
  ce=$(child_cpu)
  "$bench" --only bulk --bytes "$bytes" --streams 1 --reps 1 |
    sed -n 's/^ours median MB\/s (streams=1): //p' | tee -a "$tmp/endpoint" |
    sed 's/^/endpoint single stream MB\/s: /'
  per_gib "$(echo "$(child_cpu) - $ce" | bc)" >>"$tmp/cpu_ep"
  echo >>"$tmp/cpu_ep"
  echo "endpoint CPU s per GiB (both ends): $(tail -1 "$tmp/cpu_ep")"
done

resume=n/a
resume_growth=n/a
if [ "${RESUME:-1}" != 0 ]; then
  # Resume: the first half is held (fetched as a range), the rest is fetched.
  rm -rf "$tmp/b"
  start b
  "$iroh" --socket "$tmp/b/sock" --timeout 600000 blobs get "$ticket" --range "0..$half" \
    --no-tag >/dev/null 2>&1
  base=$(kib b VmRSS)
  t0=$(now)
  "$iroh" --socket "$tmp/b/sock" --timeout 600000 blobs get "$ticket" --no-tag >/dev/null 2>&1
  t1=$(now)
  resume=$(mbs $((bytes - half)) "$(echo "$t1 - $t0" | bc)")
  resume_growth=$((($(kib b VmHWM) - base) / 1024))
  echo "resumed second half MB/s: $resume"
fi

endpoint=$(median <"$tmp/endpoint")
whole=$(median <"$tmp/whole")
growth=$(sort -n "$tmp/growth" | tail -1)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo "== summary ($((bytes >> 20)) MiB, irohd -> irohd over 127.0.0.1) =="
echo "whole blob: median $whole MB/s; endpoint single stream (quic_bench): $endpoint MB/s; ratio $(ratio "$whole" "$endpoint") (goal >= 0.80)"
echo "resume (second half): $resume MB/s; ratio $(ratio "$resume" "$endpoint")"
echo "CPU s per GiB (medians): provider $(median <"$tmp/cpu_a"), downloader $(median <"$tmp/cpu_b"); endpoint (both ends) $(median <"$tmp/cpu_ep")"
echo "downloader irohd RSS growth: whole max $growth MiB, resume $resume_growth MiB (goal < 64)"
