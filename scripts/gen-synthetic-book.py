#!/usr/bin/env python3
"""Writes a synthetic mdBook-style book for build-speed benchmarks.

100 chapters (in 5 parts, with nested sections), about 1 MB of Markdown in total, with prose,
lists, tables, links between chapters and fenced code blocks in several languages. The
content is generated from a fixed seed, so every run writes the same book.

Usage: gen-synthetic-book.py OUTDIR [--chapters N]
"""
import argparse
import pathlib
import random

WORDS = (
    "profile measure cache vector thread memory bandwidth latency kernel loop array "
    "compiler register branch allocation benchmark median sample noise roofline speedup "
    "parallel process cluster node job queue python rust numpy numba cython simd"
).split()

CODE = {
    "rust": "fn mandel(cr: f64, ci: f64) -> u32 {{\n    let (mut zr, mut zi, mut n) = (0.0f64, 0.0f64, 0);\n    while n < {n} && zr * zr + zi * zi <= 4.0 {{\n        let t = zr * zr - zi * zi + cr;\n        zi = 2.0 * zr * zi + ci;\n        zr = t;\n        n += 1;\n    }}\n    n\n}}\n",
    "python": "def pi(n={n}):\n    h = 1.0 / n\n    total = 0.0\n    for i in range(n):\n        x = (i + 0.5) * h\n        total += 4.0 / (1.0 + x * x)\n    return total * h\n",
    "c": "#include <stdio.h>\nint main(void) {{\n    double s = 0.0;\n    for (int i = 0; i < {n}; i++) s += 1.0 / (1.0 + i);\n    printf(\"%f\\n\", s);\n    return 0;\n}}\n",
    "cpp": "#include <vector>\nstd::vector<double> triad(const std::vector<double>& b, const std::vector<double>& c) {{\n    std::vector<double> a(b.size());\n    for (size_t i = 0; i < b.size(); ++i) a[i] = b[i] + {n}.0 * c[i];\n    return a;\n}}\n",
    "console": "$ cargo run --release -- build\n   Compiling perfguide v0.1.0\n$ hyperfine --warmup 3 'python pi.py {n}'\n",
    "toml": "[measure]\nbudget-seconds = {n}\nmin-samples = 10\n",
    "json": "{{\"id\": \"mandelbrot/scalar\", \"median\": 0.{n}, \"samples\": [1, 2, 3]}}\n",
}


def sentence(rng):
    n = rng.randint(8, 20)
    s = " ".join(rng.choice(WORDS) for _ in range(n))
    return s.capitalize() + "."


def paragraph(rng):
    return " ".join(sentence(rng) for _ in range(rng.randint(3, 6)))


def chapter(rng, idx, total, title):
    parts = [f"# {title}\n"]
    for s in range(7):
        parts.append(f"\n## Section {s + 1} of chapter {idx}\n")
        parts.append("\n" + paragraph(rng) + "\n")
        lang = rng.choice(list(CODE))
        parts.append(f"\n```{lang}\n" + CODE[lang].format(n=rng.randint(10, 999)) + "```\n")
        parts.append("\n- " + sentence(rng) + "\n- " + sentence(rng) + "\n")
        parts.append("\n| variant | median | speed-up |\n|---|---|---|\n")
        for v in ("naive", "simd", "rayon"):
            parts.append(f"| {v} | {rng.randint(1, 999)} | {rng.randint(1, 40)} |\n")
        target = rng.randint(1, total)
        parts.append(f"\nSee also [chapter {target}](ch{target:03}.md#section-1-of-chapter-{target}).\n")
        parts.append("\n" + paragraph(rng) + "\n")
    return "".join(parts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--chapters", type=int, default=100)
    args = ap.parse_args()
    rng = random.Random(2024)
    out = pathlib.Path(args.out)
    (out / "src").mkdir(parents=True, exist_ok=True)
    (out / "book.toml").write_text('[book]\ntitle = "Synthetic"\nsrc = "src"\n')
    summary = ["# Summary\n\n"]
    n = args.chapters
    for i in range(1, n + 1):
        if (i - 1) % 20 == 0:
            summary.append(f"\n# Part {(i - 1) // 20 + 1}\n\n")
        indent = "    " if i % 5 != 1 else ""
        summary.append(f"{indent}- [Chapter {i}](ch{i:03}.md)\n")
        (out / "src" / f"ch{i:03}.md").write_text(chapter(rng, i, n, f"Chapter {i}"))
    (out / "src" / "SUMMARY.md").write_text("".join(summary))


if __name__ == "__main__":
    main()
