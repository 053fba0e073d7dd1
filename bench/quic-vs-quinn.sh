#!/bin/sh
# Compares irohd's QUIC endpoint (bench/quic_bench) with quinn 0.9 (the stack iroh's QUIC is
# forked from) over 127.0.0.1 in one invocation: bulk goodput on 1 and 4 streams, handshake
# p50, and our memory per idle connection. quinn runs through ../shared/anchors/quinn-bench
# (1452-byte packets, AES-128-GCM, as our endpoint); its first run builds it (needs cargo).
# usage: bench/quic-vs-quinn.sh
# Environment: BYTES (default 1 GiB), REPS (bulk runs per tool and stream count, default 3),
# BENCH (default build/bench/quic_bench), QUINN (default ../shared/anchors/quinn-bench).
# Ratios are ours / quinn of the medians.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
bench=${BENCH:-$repo/build/bench/quic_bench}
quinn=${QUINN:-$repo/../shared/anchors/quinn-bench}
bytes=${BYTES:-1073741824}
reps=${REPS:-3}
[ -x "$bench" ] || { echo "$bench not built (cmake --build build --target quic_bench)" >&2; exit 1; }
[ -x "$quinn" ] || { echo "$quinn not found" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for k in 1 4; do
  "$bench" --only bulk --bytes "$bytes" --streams "$k" --reps "$reps" | tee "$tmp/ours$k"
  "$quinn" --bytes "$bytes" --streams "$k" --reps "$reps" --mtu 1452 | tee "$tmp/quinn$k"
done
"$bench" --only handshake --handshakes 200 | tee "$tmp/ours_hs"
"$quinn" --ttfb | tee "$tmp/quinn_hs"
"$bench" --only idle --idle 1000

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo "== summary (ours / quinn) =="
for k in 1 4; do
  o=$(sed -n 's/^ours median MB\/s (streams=[0-9]*): //p' "$tmp/ours$k")
  q=$(sed -n 's/^quinn median MB\/s: //p' "$tmp/quinn$k")
  echo "bulk $k stream(s): ours $o MB/s, quinn $q MB/s, ratio $(ratio "$o" "$q")"
done
o=$(sed -n 's/.*p50=\([0-9]*\) us.*/\1/p' "$tmp/ours_hs")
q=$(sed -n 's/.*handshake done : median \([0-9]*\) us.*/\1/p' "$tmp/quinn_hs")
echo "handshake p50: ours $o us, quinn $q us, ratio $(ratio "$o" "$q")"
