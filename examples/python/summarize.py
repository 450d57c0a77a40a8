"""Prints a harness JSON file as a Markdown table: first call, median and spread per rung.

    python examples/python/summarize.py results.json
"""

import json
import sys

from harness import ci_relative_halfwidth, format_seconds, median


def cell(text) -> str:
    return str(text).replace("|", "\\|")  # a bare | would end the table cell


def table(document) -> str:
    rows = ["| rung | threads | first call | median | 95% CI of median | samples | check |",
            "|---|---:|---:|---:|---:|---:|---|"]
    for r in document["records"]:
        if r["status"] != "ok":
            rows.append(f"| `{r['id']}` | | | {r['status']} | | | {cell(r['reason'])} |")
            continue
        wall = r["samples_wall_s"]
        rows.append(
            f"| `{r['id']}` | {r['threads']} | {format_seconds(r['first_call_s'])} "
            f"| {format_seconds(median(wall))} | +-{100 * ci_relative_halfwidth(wall):.1f}% "
            f"| {len(wall)} x {r['iterations_per_sample']} | {cell(r['check']['summary'])} |")
    return "\n".join(rows)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(2)
    with open(sys.argv[1]) as f:
        print(table(json.load(f)))
