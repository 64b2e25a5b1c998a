#!/usr/bin/env bash
# Lints the RTL with Verilator: the packages, then every module as the top
# (with the packages, and hdl/rtl as the library other modules are found in), all with
# -Wall. Any warning fails (Verilator's warnings are fatal unless told otherwise), and
# so does a missing verilator. Waivers live in the RTL as `/* verilator lint_off ... */`
# with a comment that says why.
#
# Usage: hdl/lint.sh        (run by `cargo test -p vigil-hdl-sim`, test `lint`)
set -euo pipefail
rtl="$(cd "$(dirname "$0")/rtl" && pwd)"
verilator="${VERILATOR:-verilator}"

if ! command -v "$verilator" >/dev/null 2>&1; then
    echo "lint.sh: verilator is not installed: apt-get install verilator" >&2
    exit 2
fi

shopt -s nullglob
# Packages in name order (a package that imports another must sort after it).
packages=("$rtl"/*_pkg.sv)
modules=()
for f in "$rtl"/*.sv; do
    [[ "$f" == *_pkg.sv ]] || modules+=("$f")
done
if [ ${#packages[@]} -eq 0 ] && [ ${#modules[@]} -eq 0 ]; then
    echo "lint.sh: no RTL under $rtl" >&2
    exit 1
fi

failed=0
if [ ${#packages[@]} -gt 0 ]; then
    names="$(for p in "${packages[@]}"; do basename "$p" .sv; done | tr '\n' ' ')"
    if "$verilator" --lint-only -Wall "${packages[@]}"; then
        echo "lint ok: ${names% }"
    else
        echo "lint FAILED: ${names% }" >&2
        failed=1
    fi
fi
for mod in "${modules[@]}"; do
    top="$(basename "$mod" .sv)"
    if "$verilator" --lint-only -Wall -y "$rtl" +libext+.sv --top-module "$top" \
        "${packages[@]}" "$mod"; then
        echo "lint ok: $top"
    else
        echo "lint FAILED: $top" >&2
        failed=1
    fi
done
exit "$failed"
