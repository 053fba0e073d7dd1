#!/bin/sh
# Compares irohd's QUIC endpoint with quinn 0.9 (the stack iroh's QUIC is forked from) over
# 127.0.0.1 in one invocation, and prints the figures next to the goals of the endpoint issue:
#   - bulk goodput on 1 and 4 streams, three ways: inside the daemon without IPC
#     (bench/quic_bench: the endpoint on a libuv loop, as two irohd talk), through app fds
#     (bench/quic_app_bench: two irohd processes, an app on libiroh-client behind each, the
#     bytes going app -> socketpair -> irohd -> QUIC -> irohd -> socketpair -> app), and quinn
#     (../shared/anchors/quinn-bench, 1452-byte packets, AES-128-GCM as our endpoint; built
#     with cargo on first use). All three push the bytes one way and the far side discards them.
#     Each rep runs the three one after another, so they share the machine's load of the moment.
#   - handshake and first-byte p50, measured the same way on both sides: fresh connections one
#     after another with a 5 ms pause between them (ours: 200; quinn-bench --ttfb: 50); the
#     first byte is the handshake, then a 1-byte request on a new stream, up to the first byte
#     of the answer;
#   - our memory per idle connection (RSS growth of each process with 1000 open).
# usage: bench/quic-vs-quinn.sh
# Environment: BYTES (default 1 GiB), REPS (reps of every measurement, default 3; medians are
# reported), BUILD (default build/), BENCH and APP (default BUILD/bench/quic_bench and
# BUILD/bench/quic_app_bench; the latter runs BUILD's irohd), QUINN (default
# ../shared/anchors/quinn-bench).
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$repo/build}
bench=${BENCH:-$build/bench/quic_bench}
app=${APP:-$build/bench/quic_app_bench}
quinn=${QUINN:-$repo/../shared/anchors/quinn-bench}
bytes=${BYTES:-1073741824}
reps=${REPS:-3}
for b in "$bench" "$app"; do
  [ -x "$b" ] || { echo "$b not built (cmake --build build)" >&2; exit 1; }
done
[ -x "$quinn" ] || { echo "$quinn not found" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
for k in 1 4; do
  r=0
  while [ "$r" -lt "$reps" ]; do
    "$bench" --only bulk --bytes "$bytes" --streams "$k" --reps 1 | grep -v median | tee -a "$tmp/ours$k"
    "$app" --bytes "$bytes" --streams "$k" --reps 1 | grep -v median | tee -a "$tmp/app$k"
    "$quinn" --bytes "$bytes" --streams "$k" --reps 1 --mtu 1452 | grep -v median | tee -a "$tmp/quinn$k"
    r=$((r + 1))
  done
done
r=0
while [ "$r" -lt "$reps" ]; do
  "$bench" --only handshake --handshakes 200 | tee -a "$tmp/ours_hs"
  "$quinn" --ttfb | grep -E 'handshake done|first byte' | tee -a "$tmp/quinn_hs"
  "$bench" --only idle --idle 1000 | tee -a "$tmp/idle"
  r=$((r + 1))
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

# median FILE SED-EXPR: the median of the numbers the expression prints from FILE's lines.
median() {
  sed -n "$2" "$1" | sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
verdict() { awk -v v="$1" -v op="$2" -v g="$3" 'BEGIN {
  ok = (op == ">=") ? v >= g : (op == "<=") ? v <= g : v < g
  printf "goal %s %s: %s", op, g, ok ? "met" : "MISSED" }'; }
goodput='s/.*goodput=\([0-9.]*\) MB\/s.*/\1/p'
echo "== summary: medians of $reps; ratios of the medians =="
for k in 1 4; do
  o=$(median "$tmp/ours$k" "$goodput")
  a=$(median "$tmp/app$k" "$goodput")
  q=$(median "$tmp/quinn$k" "$goodput")
  oc=$(median "$tmp/ours$k" 's/.* cpu=\([0-9.]*\) s\/GiB.*/\1/p')
  ac=$(median "$tmp/app$k" 's/.* cpu=\([0-9.]*\) s\/GiB.*/\1/p')
  asw=$(median "$tmp/app$k" 's/.* switches=[0-9/]*=\([0-9]*\) per GiB.*/\1/p')
  echo "bulk $k stream(s): in-daemon $o MB/s, app fds $a MB/s, quinn $q MB/s" \
    "(CPU per GiB, all processes: in-daemon $oc s, app fds $ac s;" \
    "app fds context switches per GiB $asw)"
  if [ "$k" = 1 ]; then
    echo "  in-daemon / quinn $(ratio "$o" "$q") ($(verdict "$(ratio "$o" "$q")" ">=" 1.0))," \
      "app fds / quinn $(ratio "$a" "$q")"
  else
    echo "  in-daemon / quinn $(ratio "$o" "$q"), app fds / quinn $(ratio "$a" "$q")"
  fi
  echo "  app fds / in-daemon $(ratio "$a" "$o") ($(verdict "$(ratio "$a" "$o")" ">=" 0.9))"
done
o=$(median "$tmp/ours_hs" 's/^ours handshake .*p50=\([0-9]*\) us.*/\1/p')
q=$(median "$tmp/quinn_hs" 's/.*handshake done : median \([0-9]*\) us.*/\1/p')
echo "handshake p50: ours $o us, quinn $q us, ratio $(ratio "$o" "$q") ($(verdict "$(ratio "$o" "$q")" "<=" 1.0))"
o=$(median "$tmp/ours_hs" 's/^ours first byte .*p50=\([0-9]*\) us.*/\1/p')
q=$(median "$tmp/quinn_hs" 's/.*first byte *: median \([0-9]*\) us.*/\1/p')
echo "first byte p50: ours $o us, quinn $q us, ratio $(ratio "$o" "$q")"
c=$(median "$tmp/idle" 's/.* client=\([0-9]*\) bytes.*/\1/p')
s=$(median "$tmp/idle" 's/.* server=\([0-9]*\) bytes.*/\1/p')
echo "idle connection: client $c bytes, server $s bytes" \
  "(client $(verdict "$c" "<" 65536), server $(verdict "$s" "<" 65536))"
