#!/usr/bin/env bash
# Redraws every chart in benches/results/plots/ from the raw results beside it
# (benches/results/*.jsonl, one `vigil bench --json` / `vigil loadgen --json` record a
# line) with `vigil plot`. The charts are deterministic: the same records give the same
# bytes, so `--check` can tell whether the committed charts are those of the committed
# records. Usage:
#   benches/plot.sh           # redraw (old charts in the folder are removed first)
#   benches/plot.sh --check   # exit 1, listing the differences, if any chart is stale
set -euo pipefail
cd "$(dirname "$0")/.."
out=benches/results/plots
inputs=()
for f in benches/results/*.jsonl; do
    inputs+=(--input "$f")
done
plot() { # out-dir
    cargo run --locked --quiet -p vigil -- plot "${inputs[@]}" --out-dir "$1"
}
case "${1:-}" in
--check)
    fresh=$(mktemp -d)
    trap 'rm -rf "$fresh"' EXIT
    plot "$fresh" >/dev/null
    if ! diff -r -q "$out" "$fresh"; then
        echo "benches/results/plots is stale: run benches/plot.sh and commit the charts" >&2
        exit 1
    fi
    ;;
"")
    mkdir -p "$out"
    rm -f "$out"/*.svg
    plot "$out"
    ;;
*)
    echo "usage: benches/plot.sh [--check]" >&2
    exit 2
    ;;
esac
