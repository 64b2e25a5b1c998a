#!/usr/bin/env bash
# Builds the release binary and measures one device backend against the CPU backend of
# the same machine, in the same run, printing one JSON object per line (each names the
# machine, the commit, the date and its same-run single-thread reference baseline):
# every profile on COUNT one-signer transactions, then the Merkle root of 2^20 leaves.
# The backend runs on whatever device `--backend BACKEND` picks: a GPU when there is
# one, else a CPU device (PoCL for opencl, lavapipe for wgpu). Usage:
#   benches/device.sh BACKEND [COUNT] > benches/results/BACKEND-raw.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:?usage: benches/device.sh BACKEND [COUNT]}
count=${2:-20000}
cargo build --release -p vigil >&2
vigil=target/release/vigil
"$vigil" devices >&2
for profile in strict rfc8032 zip215; do
    for b in "$backend" cpu; do
        "$vigil" bench --backend "$b" --profile "$profile" --count "$count" --json
    done
done
for b in "$backend" cpu; do
    "$vigil" bench --backend "$b" --merkle --count 1048576 --repeat 3 --json
done
