#!/usr/bin/env bash
# Builds the release binary and measures the OpenCL backend against the CPU backend of
# the same machine, in the same run, printing one JSON object per line (each names the
# machine, the commit, the date and its same-run single-thread reference baseline).
# Runs on whatever OpenCL device `--backend opencl` picks: a GPU when there is one,
# else PoCL's CPU device. Usage:
#   benches/opencl.sh [COUNT] > benches/results/opencl-raw.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-20000}
cargo build --release -p vigil >&2
vigil=target/release/vigil
"$vigil" devices >&2
for profile in strict rfc8032 zip215; do
    for backend in opencl cpu; do
        "$vigil" bench --backend "$backend" --profile "$profile" --count "$count" --json
    done
done
for backend in opencl cpu; do
    "$vigil" bench --backend "$backend" --merkle --count 1048576 --repeat 3 --json
done
