#!/usr/bin/env bash
# Build-speed benchmark: perfguide vs mdBook on the same synthetic 100-chapter book
# (about 1 MB of Markdown with code blocks in seven languages).
#
# Needs: hyperfine (apt-get install hyperfine) and mdbook on PATH or in $MDBOOK
# (cargo install mdbook --root /some/dir; it is not a dependency of this project).
# Usage: scripts/bench-vs-mdbook.sh [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-$(mktemp -d)}
mdbook=${MDBOOK:-mdbook}

cargo build --release --quiet
python3 scripts/gen-synthetic-book.py "$out/book"
cp -r "$out/book" "$out/book-md"

pg=$PWD/target/release/perfguide
echo "Markdown: $(cat "$out"/book/src/*.md | wc -c) bytes in $(ls "$out"/book/src/*.md | wc -l) files"
# --remeasure (matching nothing: the book has no measurements) bypasses the unchanged-input
# stamp, so every run renders the whole book; the second command shows the stamp's effect.
hyperfine --warmup 2 --min-runs 10 --export-markdown "$out/result.md" \
  -n "perfguide build (full render)" "$pg build $out/book --dest-dir $out/pg-out --remeasure=none" \
  -n "perfguide build (no change)" "$pg build $out/book --dest-dir $out/pg-out" \
  -n "mdbook build" "cd $out/book-md && $mdbook build -d $out/md-out"
cat "$out/result.md"
