#!/usr/bin/env bash
# Builds the release binary and runs the CPU measurements recorded in
# benches/results/cpu.md, printing one JSON object per line (each names the machine, its
# CPU flags, the commit, the date, the CPU path and its same-run baseline: the
# single-threaded reference crate on the same transactions). Usage:
#   benches/cpu.sh [COUNT] > benches/results/cpu-raw.jsonl
#
# Every CPU path this machine runs is measured (VIGIL_CPU_PATH forces each: avx512ifma,
# avx2, reference), on one thread and on every core, under every profile; zip215 also
# with 1 % and 10 % invalid transactions; then the Solana wire form; then Merkle roots.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-100000}
cargo build --release --locked -p vigil >&2
vigil=target/release/vigil
threads=$(nproc)
paths=$("$vigil" devices | sed -nE 's/^ +path +([a-z0-9]+) \([0-9]+ lanes\): supported$/\1/p')
bench() { # path, args...
    local path=$1
    shift
    VIGIL_CPU_PATH=$path "$vigil" bench --backend cpu --count "$count" --json "$@" |
        sed -e "s/^{/{\"cpu_path\":\"$path\",/"
}
for path in $paths reference; do
    for t in 1 "$threads"; do
        for profile in strict rfc8032 zip215; do
            bench "$path" --profile "$profile" --threads "$t"
        done
    done
    for f in 0.01 0.1; do
        bench "$path" --profile zip215 --threads "$threads" --invalid-fraction "$f"
    done
done
for path in $paths; do
    bench "$path" --profile strict --threads "$threads" --format solana --signers 2
done
for t in 1 "$threads"; do
    "$vigil" bench --backend cpu --merkle --count 1048576 --threads "$t" --repeat 5 --json
done
