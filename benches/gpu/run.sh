#!/usr/bin/env bash
# The GPU backends on this machine's GPU, in one call: CUDA, then wgpu (Vulkan) on the
# same card, each with conformance first (a backend that disagrees with the CPU oracle
# has no speed worth reporting: its measurements are skipped, and the run goes on with
# the next backend), then every measurement of issue 5 against the CPU backend of the
# same machine in the same run.
#
#   benches/gpu/run.sh [STAGES]       STAGES: any of c t m l x s (default all)
#     c  conformance through each backend, every profile: the regular path (20,000
#        generated transactions per profile beside the fixed sets) and, for CUDA, the
#        small-batch graphs
#     t  throughput matrix: batches of 64 .. 1,048,576 signatures, 100- and 1,232-byte
#        messages, 1 and 4 signers, three profiles; CUDA and the CPU backend on the same
#        data (`vigil bench --compare cpu`), end to end and kernel-only
#     m  Merkle roots of 2^10 .. 2^24 32-byte leaves, CUDA and CPU
#     l  latency of batches of 64 .. 1,024 signatures, one at a time: CUDA without and
#        with graphs, and the CPU backend
#     x  the CPU/GPU crossover `serve` would measure
#     s  `vigil serve` on the GPU (with the CPU) driven by `vigil loadgen`
#
# Environment: VIGIL_BIN  a built `vigil` (the GPU machine may have no Rust toolchain:
#                         build with `cargo build --release -p vigil` and carry it);
#                         otherwise this script builds one.
#              RESULTS    output folder (default benches/results)
#              BACKEND    backends measured, in order (default "cuda wgpu"; `opencl` to
#                         try the script on a machine without an NVIDIA GPU)
#              SIZES, MERKLE_EXPS, LATENCY_SIZES, PROFILES  override the lists below
#                         (for a short trial run)
#              GENERATED, ITERATIONS, LOAD_SECONDS  generated conformance transactions
#                         per profile (20000), latency iterations (2000), seconds of
#                         each loadgen run (10): smaller for a trial run
# benches/gpu/check.sh runs every stage of this script small on PoCL (no GPU), and
# benches/gpu/README.md says what one device call does and how long it takes.
# Writes RESULTS/gpu-<device>.jsonl (raw, appended) and RESULTS/gpu-<device>.md (the
# tables, from this run's lines), and prints the tables.
set -euo pipefail
cd "$(dirname "$0")/../.."
STAGES=${1:-ctmlxs}
if [ $# -gt 1 ] || [ -z "$STAGES" ] || [[ "$STAGES" =~ [^ctmlxs] ]]; then
    echo "usage: $0 [STAGES]   STAGES: letters of c t m l x s (default all)" >&2
    exit 2
fi
want() { [[ "$STAGES" == *"$1"* ]]; }
RESULTS=${RESULTS:-benches/results}
BACKENDS=${BACKEND:-cuda wgpu}
SIZES=${SIZES:-64 1024 16384 262144 1048576}
MERKLE_EXPS=${MERKLE_EXPS:-10 12 14 16 18 20 22 24}
LATENCY_SIZES=${LATENCY_SIZES:-64 256 1024}
PROFILES=${PROFILES:-strict rfc8032 zip215}
GENERATED=${GENERATED:-20000}
ITERATIONS=${ITERATIONS:-2000}
LOAD_SECONDS=${LOAD_SECONDS:-10}
mkdir -p "$RESULTS"

if [ -n "${VIGIL_BIN:-}" ]; then
    V=$VIGIL_BIN
else
    cargo build --release --locked -p vigil >&2
    V=target/release/vigil
fi

# NVRTC ships with the toolkit; put it on the library path if the loader cannot see it.
if ! ldconfig -p 2>/dev/null | grep -q 'libnvrtc\.so'; then
    for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
        $(python3 -c 'import nvidia, os; print(" ".join(os.path.join(p, "cu13", "lib") for p in nvidia.__path__))' 2>/dev/null); do
        if ls "$d"/libnvrtc.so* >/dev/null 2>&1; then
            export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
            echo "NVRTC from $d" >&2
            break
        fi
    done
fi

GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || true)
GPU=${GPU:-${BACKENDS%% *}-$(hostname)}
SLUG=$(echo "$GPU" | tr 'A-Z' 'a-z' | tr -cs 'a-z0-9' '-' | sed 's/^-//; s/-$//')
RAW="$RESULTS/gpu-$SLUG.jsonl"
RUN_ID="$(date -u +%Y%m%dT%H%M%SZ)-$$"
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

# Read-only queries of the card's state, recorded with the run (never changed).
if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm,power.limit \
        --format=csv >&2 || true
fi
"$V" devices >&2

record() { # stage, one JSON object per line on stdin
    while IFS= read -r line; do
        printf '{"run":"%s","stage":"%s","gpu":"%s","result":%s}\n' "$RUN_ID" "$1" "$GPU" "$line" >>"$RAW"
    done
}

tag() { # names the backend in result lines that do not (loadgen's, for one)
    sed "/\"backend\":/! s/^{/{\"backend\":\"$B\",/"
}

measured=0
for B in $BACKENDS; do
if want c; then
    echo "== conformance through $B, every profile" >&2
    if ! "$V" conformance --backend "$B" --generated "$GENERATED" --max-batch 65536 ||
        { [ "$B" = cuda ] &&
            ! VIGIL_CUDA_GRAPHS=1 "$V" conformance --backend cuda --generated $((GENERATED / 4)) --max-batch 1000; }; then
        echo "== $B failed conformance (or is absent): its measurements are skipped" >&2
        echo "{\"backend\":\"$B\",\"conformance\":\"failed\"}" | record conformance
        continue
    fi
fi
measured=$((measured + 1))

if want t; then
    echo "== throughput: $B and the CPU backend on the same data" >&2
    for profile in $PROFILES; do
        for msg in 100 1232; do
            for signers in 1 4; do
                for sigs in $SIZES; do
                    txs=$((sigs / signers))
                    repeat=5
                    [ "$sigs" -ge 262144 ] && repeat=3
                    "$V" bench --backend "$B" --compare cpu --profile "$profile" --count "$txs" \
                        --signers "$signers" --msg-len "$msg..$msg" --repeat "$repeat" \
                        --baseline-max 16384 --json | record throughput
                done
            done
        done
    done
    # The issue's kernel target is stated for 200-byte messages, one signer.
    "$V" bench --backend "$B" --compare cpu --profile strict --count "${SIZES##* }" --msg-len 200..200 \
        --repeat 3 --baseline-max 16384 --json | record throughput
fi

if want m; then
    echo "== Merkle roots" >&2
    for exp in $MERKLE_EXPS; do
        "$V" bench --backend "$B" --compare cpu --merkle --count $((1 << exp)) --repeat 3 --json |
            record merkle
    done
fi

if want l; then
    echo "== latency, one batch at a time" >&2
    for batch in $LATENCY_SIZES; do
        "$V" bench --backend "$B" --compare cpu --latency --profile strict --batch "$batch" \
            --msg-len 200..200 --iterations "$ITERATIONS" --json | record latency
        [ "$B" = cuda ] || continue
        VIGIL_CUDA_GRAPHS=1 "$V" bench --backend cuda --latency --profile strict --batch "$batch" \
            --msg-len 200..200 --iterations "$ITERATIONS" --json |
            sed 's/"backend":"cuda"/"backend":"cuda+graphs"/' | record latency
    done
fi

if want x; then
    echo "== crossover" >&2
    "$V" bench --backend "$B" --crossover --json | tag | record crossover
fi

if want s; then
    echo "== serve --backend $B,cpu, loadgen" >&2
    "$V" serve --backend "$B,cpu" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 \
        >"$WORK/serve.out" 2>"$WORK/serve.err" &
    SERVE_PID=$!
    for _ in $(seq 1 600); do
        [ -s "$WORK/serve.out" ] && break
        sleep 0.1
    done
    GRPC=$(sed -E 's/.*"grpc":"([^"]+)".*/\1/' "$WORK/serve.out")
    METRICS=$(sed -E 's/.*"metrics":"([^"]+)".*/\1/' "$WORK/serve.out")
    # Serving once /healthz answers 200: backends opened, self-tested, crossover measured.
    healthy=
    for _ in $(seq 1 600); do
        if exec 3<>"/dev/tcp/${METRICS%:*}/${METRICS#*:}" 2>/dev/null; then
            printf 'GET /healthz HTTP/1.0\r\n\r\n' >&3
            status=$(head -1 <&3 | cut -d' ' -f2)
            exec 3<&- 3>&-
            [ "$status" = 200 ] && healthy=1 && break
        fi
        sleep 0.1
    done
    [ -n "$healthy" ] || { cat "$WORK/serve.err" >&2; exit 1; }
    # Requests in flight sized to keep a GPU fed without filling the default queue.
    for load in 64:256 1000:64 16384:16; do
        batch=${load%:*}
        "$V" loadgen --target "http://$GRPC" --profile strict --batch "$batch" --signers 1 \
            --msg-len 200 --concurrency "${load#*:}" --duration "$LOAD_SECONDS" --warmup 2 --check --json |
            tag | record "serve_batch$batch"
    done
    kill -TERM "$SERVE_PID"
    wait "$SERVE_PID" || true
    grep -E 'crossover|serving' "$WORK/serve.err" >&2 || true
fi
done
[ "$measured" -gt 0 ] || { echo "no backend passed conformance" >&2; exit 1; }

python3 benches/gpu/table.py "$RAW" "$RUN_ID" >"$RESULTS/gpu-$SLUG.md"
cat "$RESULTS/gpu-$SLUG.md"
