#!/usr/bin/env bash
# Every test of the project, on a fresh Debian or Ubuntu machine that has only the Rust
# toolchain: installs the system packages the tests need (apt-get; as root, or through
# sudo), then runs format and lint checks, the kernels' and the RTL's checks, the whole
# Rust test suite, and the checks of everything under deploy/. Python tools are
# installed by the checks that use them, each into its own virtual environment under
# target/. `.ci/run` runs exactly this.
#
#   ./test.sh              install what is missing, then test
#   ./test.sh --no-install say which packages are missing and stop if any is
#
# Where apt-get is absent, it lists the Debian package names it needs and stops if a
# command they provide is missing. Only the Rust tests, on a machine that has all of it:
#   cargo test --workspace --all-features --locked
set -euo pipefail
cd "$(dirname "$0")"

install=1
case "${1:-}" in
--no-install) install=0 ;;
"") ;;
*)
    echo "usage: $0 [--no-install]" >&2
    exit 2
    ;;
esac

# What each package is for:
# - gcc, g++, libc6-dev, pkg-config: the C parts of dependencies (blake3's SIMD, ring);
#   git: the commit the binary records; ca-certificates, curl: downloads and scrapes
# - pocl-opencl-icd, ocl-icd-opencl-dev: PoCL, a real OpenCL device on the CPU, for the
#   OpenCL backend's tests
# - clang: the kernels compiled as CUDA and OpenCL C, with no CUDA toolkit
# - verilator (with g++): the FPGA card's RTL, simulated
# - python3, python3-venv: NVIDIA's NVRTC and ptxas wheels, the Helm chart's tools,
#   hadolint, each in a venv
# - mesa-vulkan-drivers, libvulkan1: lavapipe, a Vulkan device on the CPU, for wgpu
# - systemd, procps: systemd-analyze and /bin/kill for the unit's check
# - podman, runc, containernetworking-plugins, iptables, mmdebstrap, openssl: the
#   container image built and run
PACKAGES=(
    ca-certificates curl gcc g++ libc6-dev pkg-config git
    pocl-opencl-icd ocl-icd-opencl-dev clang verilator python3 python3-venv
    mesa-vulkan-drivers libvulkan1 systemd procps
    podman runc containernetworking-plugins iptables mmdebstrap openssl
)

sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing_packages() {
    local p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
            echo "$p"
    done
}

if command -v dpkg-query >/dev/null 2>&1; then
    mapfile -t missing < <(missing_packages)
    if [ "${#missing[@]}" -gt 0 ]; then
        if [ "$install" = 0 ] || ! command -v apt-get >/dev/null 2>&1; then
            echo "missing packages: ${missing[*]}" >&2
            echo "install them: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
            exit 1
        fi
        echo "== installing: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        sudo_ apt-get update -qq
        sudo_ apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
else
    for cmd in cc c++ pkg-config git clang verilator python3 curl systemd-analyze podman; do
        command -v "$cmd" >/dev/null 2>&1 || {
            echo "no apt-get here, and $cmd is missing; the Debian packages needed are:" >&2
            echo "  ${PACKAGES[*]}" >&2
            exit 1
        }
    done
fi
# iptables (for podman's networks) lives in /usr/sbin, off some users' PATH.
case ":$PATH:" in *:/usr/sbin:*) ;; *) export PATH="$PATH:/usr/sbin:/sbin" ;; esac

rustup component add rustfmt clippy >/dev/null 2>&1 || true

# Keep the build small on disk: a CI machine may have only a few GiB free, and with full
# debug information and incremental state a test build takes about 11 GiB (one CI run
# ran out of space while linking). Line tables keep backtraces' file and line numbers.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}"
echo "== disk free where the build goes"
df -h . 2>/dev/null | tail -n 1 || true

echo "== CPU: the lane-parallel verifier paths this machine can test (the others print NOT TESTED)"
grep -o -w -E 'avx2|avx512ifma' /proc/cpuinfo 2>/dev/null | sort -u | tr '\n' ' ' || true
echo
echo "== format"
cargo fmt --all -- --check
echo "== kernels compile as CUDA and as OpenCL C (clang, no toolkit)"
kernels/check-dialects.sh
echo "== RTL lint (verilator --lint-only -Wall)"
hdl/lint.sh
echo "== clippy"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
echo "== fuzz targets (their own workspace: format and clippy, so they cannot rot)"
cargo fmt --manifest-path fuzz/Cargo.toml -- --check
cargo clippy --manifest-path fuzz/Cargo.toml --locked --bins -- -D warnings
echo "== CUDA kernels through NVRTC and ptxas (NVIDIA's wheels, no GPU), against their budgets and the kernels built ahead"
kernels/cuda-check.sh
echo "== the CUDA backend against R550's driver library (Debian's libcuda1, unpacked, no GPU)"
driver/cuda/driver-check.sh
# The wheel's NVRTC 13 on the library path, and required: the CUDA tests compile the real
# programs through the backend's own NVRTC path instead of skipping.
# (Absolute: each test binary runs in its own package's directory.)
nvrtc_lib=$(dirname "$(find "$PWD/target/cuda-venv" -name 'libnvrtc.so.13' | head -n 1)")
export LD_LIBRARY_PATH="$nvrtc_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export VIGIL_REQUIRE_NVRTC=1
echo "== the Rust tests"
cargo test --workspace --all-features --locked
echo "== benches/gpu/run.sh end to end without a GPU (every stage, small, on PoCL)"
benches/gpu/check.sh
echo "== the wgpu backend's conformance on lavapipe (Mesa's Vulkan on the CPU), every profile, through the CLI"
cargo build -q --locked -p vigil
export VIGIL_BIN=target/debug/vigil
"$VIGIL_BIN" conformance --backend wgpu --generated 2000
echo "== monitoring: Prometheus rules and their tests, the Grafana dashboard's queries, every metric they name exported by vigil serve"
# promtool from Debian's prometheus package, unpacked rather than installed (installing
# it would start a Prometheus server).
if ! command -v promtool >/dev/null 2>&1; then
    promdir=target/promtool
    if [ ! -x "$promdir/root/usr/bin/promtool" ]; then
        rm -rf "$promdir" && mkdir -p "$promdir"
        # (apt-get download needs package lists: fetched if it finds none.)
        (cd "$promdir" && { apt-get download prometheus >/dev/null 2>&1 ||
            { sudo_ apt-get update -qq && apt-get download prometheus >/dev/null; }; } &&
            dpkg-deb -x prometheus_*.deb root)
    fi
    export PATH="$PWD/$promdir/root/usr/bin:$PATH"
fi
deploy/monitoring/check.sh
echo "== benchmark charts: every chart in benches/results/plots redrawn from its records, unchanged"
benches/plot.sh --check
echo "== systemd: the unit verified and its exposure held (systemd-analyze)"
deploy/systemd/check.sh
echo "== Helm chart: linted, rendered, validated against Kubernetes schemas, its settings served"
deploy/helm/check.sh
echo "== container image: linted, built over a local Debian base and run"
deploy/container/check.sh
echo "== disk used by the build"
du -sh target 2>/dev/null || true
echo "== all tests passed"
