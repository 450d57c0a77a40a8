#!/usr/bin/env bash
# Does `perfguide bench` agree with criterion? Measures three variants with both and prints
# the ratio of their medians (issue 4: they should agree within 5% on an idle machine).
#
# Usage: scripts/bench-vs-criterion.sh [VARIANT...]   (default: three single-threaded variants)
# Run it on an idle machine: any other busy process changes both numbers, differently.
set -euo pipefail
cd "$(dirname "$0")/.."
variants=("$@")
if [ ${#variants[@]} -eq 0 ]; then
  variants=(mandelbrot/scalar pi-integration/simd kmeans/flat)
fi
out=$(mktemp -d)
cargo build --release --quiet
for v in "${variants[@]}"; do
  # criterion: exact filter on group/function
  cargo bench --quiet -p perfguide-kernels --bench kernels -- "^${v}\$" >/dev/null
done
./target/release/perfguide bench "${variants[@]}" --export-json "$out/perfguide.json" >/dev/null
python3 - "$out/perfguide.json" "${variants[@]}" <<'PY'
import json, sys, pathlib
records = {r["id"]: r for r in json.load(open(sys.argv[1]))}
worst = 0.0
print(f"{'variant':<24} {'perfguide':>12} {'criterion':>12} {'ratio':>7}")
for v in sys.argv[2:]:
    est = json.load(open(pathlib.Path("target/criterion") / v / "new" / "estimates.json"))
    crit = est["median"]["point_estimate"] * 1e-9
    pg = records[v]["summary"]["median"]
    ratio = pg / crit
    worst = max(worst, abs(ratio - 1))
    print(f"{v:<24} {pg*1e3:>10.3f}ms {crit*1e3:>10.3f}ms {ratio:>7.3f}")
print(f"largest disagreement: {100*worst:.1f}%")
sys.exit(0 if worst <= 0.05 else 1)
PY
