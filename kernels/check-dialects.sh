#!/usr/bin/env bash
# Compiles every kernel entry both as CUDA C++ and as OpenCL C with clang, without the
# CUDA toolkit or an OpenCL driver, so neither dialect can rot while no GPU is around.
#
#   CUDA:   clang -x cuda --cuda-device-only -nocudainc -nocudalib --cuda-gpu-arch=sm_80
#   OpenCL: clang -x cl -cl-std=CL1.2
#
# Warnings are errors. The PTX must define every entry kernel (`VIGIL_KERNEL name(`),
# and the script prints each kernel's registers-spilled-to-local-memory footprint
# (`.local` depot bytes), which should stay small. CLANG picks the compiler (default
# clang); CUDA_ARCH the GPU architecture (default sm_80).
set -euo pipefail
cd "$(dirname "$0")"
clang_=${CLANG:-clang}
arch=${CUDA_ARCH:-sm_80}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

status=0
for entry in entry/*.cl; do
    name=$(basename "$entry" .cl)
    echo "== $entry as CUDA ($arch)"
    "$clang_" -x cuda --cuda-device-only -nocudainc -nocudalib --cuda-gpu-arch="$arch" \
        -O2 -S -Wall -Wextra -Werror -I include -o "$out/$name.ptx" "$entry"
    for kernel in $(sed -n 's/^ *VIGIL_KERNEL \([A-Za-z0-9_]*\)(.*/\1/p' "$entry"); do
        if ! grep -q "^\.visible \.entry $kernel(" "$out/$name.ptx"; then
            echo "missing entry $kernel in the PTX of $entry" >&2
            status=1
        fi
    done
    # Local-memory depots per function (a sign of spilled or dynamically indexed arrays).
    grep -o '__local_depot[0-9]*\[[0-9]*\]' "$out/$name.ptx" | sort -u | sed 's/^/   local: /' || true
    echo "== $entry as OpenCL C 1.2"
    "$clang_" -x cl -cl-std=CL1.2 -fsyntax-only -Wall -Wextra -Werror -I include "$entry"
done
exit $status
