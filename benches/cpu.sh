#!/usr/bin/env bash
# Builds the release binary and runs the CPU measurements recorded in
# benches/results/cpu.md, printing one JSON object per line (each names the machine,
# the commit, the date and its same-run baseline). Usage:
#   benches/cpu.sh [COUNT] > benches/results/cpu-raw.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-100000}
cargo build --release -p vigil >&2
vigil=target/release/vigil
threads=$(nproc)
for profile in strict rfc8032 zip215; do
    "$vigil" bench --backend cpu --profile "$profile" --count "$count" --threads "$threads" --json
done
"$vigil" bench --backend cpu --profile zip215 --count "$count" --threads 1 --json
"$vigil" bench --backend cpu --profile strict --count "$count" --threads 1 --json
for t in 1 "$threads"; do
    "$vigil" bench --backend cpu --merkle --count 1048576 --threads "$t" --repeat 5 --json
done
