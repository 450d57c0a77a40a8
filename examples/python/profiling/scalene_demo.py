"""scalene: CPU time split into Python and native code, and memory, line by line.

    python examples/python/profiling/scalene_demo.py
    (for any script: scalene run SCRIPT.py, then scalene view --cli)

Scalene runs the program under its own sampling profiler, so this script starts it as a
subprocess on scalene_target.py and prints the busiest lines of its JSON profile. Its
"Python" share is time spent interpreting bytecode, "native" time in compiled code
(NumPy); memory is sampled, so the figures move a little from run to run.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

TARGET = Path(__file__).resolve().with_name("scalene_target.py")

# ANCHOR: scalene
with tempfile.TemporaryDirectory() as tmp:
    out = Path(tmp) / "profile.json"
    run = subprocess.run([sys.executable, "-m", "scalene", "run", "-o", str(out), str(TARGET)],
                         capture_output=True, text=True, cwd=tmp)
    if run.returncode != 0 or not out.exists():
        sys.exit(f"scalene failed (exit {run.returncode}):\n{run.stdout}{run.stderr}")
    profile = json.loads(out.read_text())

lines = profile["files"][str(TARGET)]["lines"]
busy = [line for line in lines
        if line["n_cpu_percent_python"] + line["n_cpu_percent_c"] >= 1 or line["n_peak_mb"] >= 1]
print(f"{'line':>4}  {'Python':>7} {'native':>7} {'peak MB':>8}  code")
for line in busy:
    python, native = line["n_cpu_percent_python"], line["n_cpu_percent_c"]
    print(f"{line['lineno']:4d}  {python:6.0f}% {native:6.0f}% {line['n_peak_mb']:8.0f}"
          f"  {line['line'].strip()}")
print(f"elapsed {profile['elapsed_time_sec']:.1f} s, peak memory "
      f"{profile['max_footprint_mb']:.0f} MB at line {profile['max_footprint_lineno']}")
# ANCHOR_END: scalene
