#!/usr/bin/env bash
# Are `perfguide bench` medians reproducible? Runs `perfguide bench FILTER` N times in a row
# (separate worker processes each time) and prints, per variant, every median and the spread
# (max - min) / min. Issue 4 asks for three consecutive `mandelbrot` runs within 3%.
#
# Usage: scripts/bench-repeat.sh [FILTER] [N]     (defaults: mandelbrot 3)
# Run it on an idle machine; exits 1 if any variant spreads by more than 3%.
set -euo pipefail
cd "$(dirname "$0")/.."
filter=${1:-mandelbrot}
runs=${2:-3}
out=$(mktemp -d)
cargo build --release --quiet
for i in $(seq "$runs"); do
  ./target/release/perfguide bench "$filter" --export-json "$out/run-$i.json" >/dev/null
done
python3 - "$out"/run-*.json <<'PY'
import json, sys
medians = {}
busy = []
for i, path in enumerate(sys.argv[1:], 1):
    for r in json.load(open(path)):
        medians.setdefault(r["id"], []).append(r["summary"]["median"])
        if r.get("busy"):
            busy.append(f"run {i}, {r['id']}: {r['busy']}")
worst = 0.0
print(f"{'variant':<28} {'medians (ms)':<36} {'spread':>7}")
for v, ms in medians.items():
    spread = (max(ms) - min(ms)) / min(ms)
    worst = max(worst, spread)
    print(f"{v:<28} {' '.join(f'{m*1e3:10.3f}' for m in ms):<36} {100*spread:6.2f}%")
print(f"largest spread: {100*worst:.2f}%")
for line in busy:
    print("busy:", line)
sys.exit(0 if worst <= 0.03 else 1)
PY
