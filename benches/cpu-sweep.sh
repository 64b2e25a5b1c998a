#!/usr/bin/env bash
# Builds the release binary and measures the CPU backend across batch sizes, printing
# one JSON object per line (`vigil bench --json`, each naming the machine, its CPU
# flags, the commit, the date, the CPU path and its same-run single-thread baseline):
#
#   * throughput at SIZES signatures a batch (default 64 to 262,144) under every
#     profile, on THREADS threads (default: one, then every core): the data of the
#     throughput-against-batch-size chart (`vigil plot`);
#   * latency of single batches of LATENCY_SIZES signatures (default 64 and 1,024),
#     ITERATIONS each, on the last of THREADS: the latency distribution chart.
#
# The baseline runs on at most 16,384 signatures a run (its rate is what is compared;
# every verdict is still checked against the CPU backend). VIGIL_BIN names a binary
# built already (else the release build is made here). Usage:
#   benches/cpu-sweep.sh > benches/results/cpu-sweep-raw.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-64 256 1024 4096 16384 65536 262144}
LATENCY_SIZES=${LATENCY_SIZES:-64 1024}
ITERATIONS=${ITERATIONS:-2000}
REPEAT=${REPEAT:-10}
if [ -z "${VIGIL_BIN:-}" ]; then
    cargo build --release --locked -p vigil >&2
fi
vigil=${VIGIL_BIN:-target/release/vigil}
THREADS=${THREADS:-1 $(nproc)}
# The path the CPU backend picks on its own: the first one `vigil devices` lists.
path=$("$vigil" devices | sed -nE 's/^ +path +([a-z0-9]+) \([0-9]+ lanes\): supported$/\1/p' | head -1)
bench() { # args...
    VIGIL_CPU_PATH=$path "$vigil" bench --backend cpu --json "$@" |
        sed -e "s/^{/{\"cpu_path\":\"$path\",/"
}
for t in $THREADS; do
    for profile in strict rfc8032 zip215; do
        for n in $SIZES; do
            bench --profile "$profile" --threads "$t" --count "$n" --repeat "$REPEAT" --baseline-max 16384
        done
    done
done
last=${THREADS##* }
for n in $LATENCY_SIZES; do
    bench --profile strict --threads "$last" --latency --batch "$n" --iterations "$ITERATIONS"
done
