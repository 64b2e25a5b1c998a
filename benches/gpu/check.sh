#!/usr/bin/env bash
# benches/gpu/run.sh end to end without a GPU: every stage, small, through the OpenCL
# backend on whatever OpenCL device this machine has (PoCL on the CPU in CI), so the
# script's argument handling, each stage's commands and the table it writes are
# checked before a GPU call is spent on them. Uses VIGIL_BIN if set, else a debug build.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${VIGIL_BIN:-}" ]; then
    cargo build -q --locked -p vigil
    export VIGIL_BIN=target/debug/vigil
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Arguments: anything but stage letters is refused with the usage, exit 2.
for bad in "q" "ctq" "c t"; do
    if benches/gpu/run.sh "$bad" >"$out/usage" 2>&1; then
        echo "run.sh accepted stages '$bad'" >&2
        exit 1
    elif [ $? -ne 2 ] || ! grep -q '^usage:' "$out/usage"; then
        echo "run.sh '$bad': not the usage and exit 2" >&2
        cat "$out/usage" >&2
        exit 1
    fi
done

started=$(date +%s)
BACKEND=opencl RESULTS="$out" SIZES="64 1024" MERKLE_EXPS=10 LATENCY_SIZES=64 PROFILES=strict \
    GENERATED=200 ITERATIONS=20 LOAD_SECONDS=1 benches/gpu/run.sh ctmlxs >"$out/tables" 2>"$out/log" ||
    { tail -n 40 "$out/log" >&2; exit 1; }
echo "all stages on OpenCL in $(($(date +%s) - started)) s" >&2

# Every stage recorded its lines, and the table has a row for each.
raw=$(ls "$out"/gpu-*.jsonl)
for stage in throughput merkle latency crossover serve_batch64 serve_batch1000 serve_batch16384; do
    n=$(grep -c "\"stage\":\"$stage\"" "$raw" || true)
    [ "$n" -gt 0 ] || { echo "stage $stage recorded nothing" >&2; exit 1; }
done
grep -q '^|' "$out/tables" || { echo "no table printed" >&2; exit 1; }
grep -q 'conformance' "$out/log" || { echo "no conformance stage in the log" >&2; exit 1; }
echo "benches/gpu/run.sh: every stage ran and was tabulated" >&2
