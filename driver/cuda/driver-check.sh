#!/usr/bin/env bash
# The CUDA backend against a real CUDA 12.4 driver library, with no GPU: Debian's
# libcuda1 550 (the R550 driver's libcuda.so, CUDA 12.4; trixie's non-free section) is
# downloaded and unpacked here, not installed. Then:
#
# 1. every CUDA driver entry point the binary can load (cudarc resolves them by name at
#    run time, and panics on a missing one) must be exported by R550's libcuda: the
#    build binds the CUDA 12.4 driver API so that one binary runs on R550 and later
#    drivers, CUDA 13 ones included, and this is what proves it;
# 2. `vigil devices` with that library on the library path (and with no NVRTC) must
#    load it, name the driver's CUDA version and say that there is no GPU, without a
#    panic.
#
# Needs apt-get (for the download only), dpkg-deb, nm and strings (binutils), and the
# debug build of vigil. Usage: driver/cuda/driver-check.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

work=${VIGIL_DRIVER_CHECK_DIR:-target/driver-check}
deb_version=550.163.01-2
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial"
if ! ls "$work"/libcuda1_*.deb >/dev/null 2>&1; then
    echo "deb http://deb.debian.org/debian trixie non-free" >"$work/apt/sources.list"
    apt_opts=(-o "Dir::Etc::SourceList=$PWD/$work/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$PWD/$work/apt/lists" -o "Dir::Cache=$PWD/$work/apt/cache"
        -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
    apt-get "${apt_opts[@]}" -qq update
    (cd "$work" && apt-get "${apt_opts[@]}" -qq download "libcuda1=$deb_version")
fi
rm -rf "$work/root"
dpkg-deb -x "$work"/libcuda1_*.deb "$work/root"
lib=$(find "$PWD/$work/root" -name 'libcuda.so.1' | head -n 1)
[ -n "$lib" ] || { echo "no libcuda.so.1 in the libcuda1 package" >&2; exit 1; }

cargo build -q --locked -p vigil
nm -D --defined-only "$lib" | awk '{print $3}' | grep '^cu' | sort -u >"$work/exported.txt"
strings -n 5 target/debug/vigil | grep -E '^cu[A-Z][A-Za-z0-9_]+$' | sort -u >"$work/bound.txt"
missing=$(comm -23 "$work/bound.txt" "$work/exported.txt")
if [ -n "$missing" ]; then
    echo "driver entry points the binary can load that R550's libcuda ($deb_version) lacks:" >&2
    echo "$missing" >&2
    exit 1
fi
echo "all $(wc -l <"$work/bound.txt") driver entry points the binary names are in libcuda $deb_version"

out=$(LD_LIBRARY_PATH="$(dirname "$lib")" target/debug/vigil devices 2>&1) || {
    echo "$out" >&2
    echo "vigil devices failed with libcuda $deb_version" >&2
    exit 1
}
line=$(grep '^cuda ' <<<"$out")
echo "with libcuda $deb_version: $line"
if ! grep -q 'NVIDIA driver for CUDA 12.4' <<<"$line" || grep -qi panick <<<"$out"; then
    echo "vigil devices did not name the CUDA 12.4 driver" >&2
    exit 1
fi
