#!/usr/bin/env bash
# The CUDA kernels through the real NVIDIA compilers, with no GPU: NVRTC compiles every
# program through the CUDA backend's own compile path (`vigil kernels`) for each
# architecture Vigil targets, ptxas assembles the PTX and reports each entry's
# registers, stack and spills, and kernels/ptxas_report.py checks them against
# kernels/cuda-budget.tsv (exit 1 when an entry is over its budget). Last, nvdisasm
# disassembles the sm_90 verification kernel and kernels/sass_model.py prints its static
# throughput model (kernels/README.md).
#
# NVRTC and ptxas come from NVIDIA's Python wheels, pinned, in a venv this script
# creates (VIGIL_CUDA_VENV, default target/cuda-venv). Needs python3 with venv, and
# network access to PyPI the first time.
#
# Then the cubins built ahead for sm_80 and sm_90 (kernels/prebuilt/, embedded in the
# binary): the same PTX, its `.version` lowered to PTX ISA 8.4 (CUDA 12.4; ptxas 12.4
# rejects any instruction that ISA lacks, so this only assembles if none is used),
# assembled by ptxas 12.4, so that R550 (CUDA 12.4) and every later driver loads them.
# They are compared with kernels/prebuilt/ byte for byte (kernels/prebuilt.py): a change
# to the kernels that is not rebuilt there fails. `--update-prebuilt` writes them instead.
# Both ptxas builds are held to the budgets.
#
# Usage: kernels/cuda-check.sh [--update-prebuilt] [ARCH...]   (default: sm_80 sm_90)
set -euo pipefail
cd "$(dirname "$0")/.."
prebuilt_mode=check
if [ "${1:-}" = --update-prebuilt ]; then
    prebuilt_mode=update
    shift
fi

WHEELS=(nvidia-cuda-nvrtc==13.5.37 nvidia-cuda-nvcc==13.5.37 nvidia-cuda-nvdisasm==13.5.37)
# NVRTC 12.4, what a CUDA 12.4 node has: the probe must find and name it too; ptxas
# 12.4 assembles the kernels built ahead.
WHEELS12=(nvidia-cuda-nvrtc-cu12==12.4.127 nvidia-cuda-nvcc-cu12==12.4.131)
venv=${VIGIL_CUDA_VENV:-target/cuda-venv}
out=${VIGIL_CUDA_OUT:-target/cuda-kernels}
archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=(sm_80 sm_90)

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check "${WHEELS[@]}" "${WHEELS12[@]}"
nvidia=$("$venv/bin/python" -c 'import nvidia, os; print(os.path.dirname(nvidia.__path__[0] + "/"))')
lib=$(dirname "$(find "$nvidia" -name 'libnvrtc.so.13' | head -n 1)")
lib12=$(dirname "$(find "$nvidia" -name 'libnvrtc.so.12' | head -n 1)")
ptxas_of() { # the ptxas of the wheels whose --version names release $1
    # (read whole first: `grep -q` on a pipe can close it early, and under pipefail
    # the writer's SIGPIPE would fail the test at random)
    local p v
    for p in $(find "$nvidia" -name ptxas -type f); do
        v=$("$p" --version)
        if grep -q "release $1," <<<"$v"; then echo "$p"; return; fi
    done
}
ptxas=$(ptxas_of 13.5)
ptxas12=$(ptxas_of 12.4)
nvdisasm=$(find "$nvidia" -name nvdisasm -type f | head -n 1)
[ -e "$lib/libnvrtc.so.13" ] && [ -e "$lib12/libnvrtc.so.12" ] && [ -x "$ptxas" ] && [ -x "$ptxas12" ] &&
    [ -x "$nvdisasm" ] || { echo "no NVRTC 13 and 12, ptxas 13.5 and 12.4 or nvdisasm in $nvidia" >&2; exit 1; }

cargo build -q --locked -p vigil

# The probe against both NVRTC majors: `vigil devices` names the version it found.
for probe in "$lib:13.5" "$lib12:12.4"; do
    found=$(LD_LIBRARY_PATH="${probe%:*}" target/debug/vigil devices 2>/dev/null)
    if ! grep -q "NVRTC ${probe##*:} is present" <<<"$found"; then
        echo "vigil devices did not find NVRTC ${probe##*:} in ${probe%:*}" >&2
        exit 1
    fi
done
echo "the NVRTC probe finds and names NVRTC 12.4 and 13.5"
rm -rf "$out"
mkdir -p "$out"
arch_args=()
for a in "${archs[@]}"; do arch_args+=(--cuda-arch "$a"); done
LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    target/debug/vigil kernels "${arch_args[@]}" --emit "$out"

logs=()
logs12=()
for ptx in "$out"/*.ptx; do
    base=${ptx%.ptx}
    arch=${base##*.}
    "$ptxas" -v -arch="$arch" "$ptx" -o "$base.cubin" 2> "$base.ptxas.log"
    logs+=("$base.ptxas.log")
    sed 's/^\.version [0-9.]*$/.version 8.4/' "$ptx" >"$base.isa84"
    "$ptxas12" -v -arch="$arch" "$base.isa84" -o "$base.prebuilt.cubin" 2> "$base.ptxas12.log"
    logs12+=("$base.ptxas12.log")
done
ptxas_build=$("$ptxas" --version | tail -n 1)
ptxas12_build=$("$ptxas12" --version | tail -n 1)
echo "ptxas $ptxas_build; for the kernels built ahead, ptxas $ptxas12_build"
nvrtc_version=$(cut -f 3 "$out/sources.tsv" | head -n 1)
if [ -f "$out/ed25519.sm_80.prebuilt.cubin" ] && [ -f "$out/ed25519.sm_90.prebuilt.cubin" ]; then
    python3 kernels/prebuilt.py "$prebuilt_mode" "$out" \
        "NVRTC $nvrtc_version (as PTX ISA 8.4), ptxas ${ptxas12_build#Build }" 12040
fi
echo "ptxas 13.5 (what NVRTC's PTX becomes on a CUDA 13 node):"
report=0
python3 kernels/ptxas_report.py kernels/cuda-budget.tsv "${logs[@]}" || report=1
echo "ptxas 12.4 (the kernels built ahead, as shipped):"
python3 kernels/ptxas_report.py kernels/cuda-budget.tsv "${logs12[@]}" || report=1
[ "$report" -eq 0 ] || exit 1
if [ -f "$out/ed25519.sm_90.cubin" ]; then
    "$nvdisasm" "$out/ed25519.sm_90.cubin" >"$out/ed25519.sm_90.sass"
    echo "static model of the Ed25519 verification (vigil_ed25519_scalarmult) on sm_90 (kernels/sass_model.py):"
    regs=$(awk '/Compiling entry function .vigil_ed25519_scalarmult/ { on = 1 }
                on && /Used [0-9]+ registers/ { sub(/.*Used /, ""); print $1; exit }' \
        "$out/ed25519.sm_90.ptxas.log")
    python3 kernels/sass_model.py "$out/ed25519.sm_90.sass" 132 1.98 64 "${regs:?no register count for scalarmult}"
fi
