#!/usr/bin/env bash
# Synthesises an RTL module (default: the BLAKE3 compression core; also
# vigil_sha512_core, which includes vigil_sc_reduce, and vigil_sc_reduce) with Yosys for a Xilinx UltraScale+ part
# (synth_xilinx -family xcup: the VU9P's family) and prints the resource statistics.
# A resource estimate and a check that Yosys parses the RTL; it is not Vivado's
# timing-driven result and says nothing about fmax.
#
# Usage: hdl/synth.sh [TOP]     (default TOP = vigil_blake3_compress)
#        Log in $TMPDIR (or /tmp)/vigil-synth-TOP.log.
set -euo pipefail
rtl="$(cd "$(dirname "$0")/rtl" && pwd)"
top="${1:-vigil_blake3_compress}"
yosys="${YOSYS:-yosys}"

if ! command -v "$yosys" >/dev/null 2>&1; then
    echo "synth.sh: yosys is not installed: apt-get install yosys" >&2
    exit 2
fi

shopt -s nullglob
packages=("$rtl"/*_pkg.sv)
# Every module, so a top finds its submodules (vigil_sha512_core uses vigil_sc_reduce).
modules=()
for f in "$rtl"/*.sv; do
    [[ "$f" == *_pkg.sv ]] || modules+=("$f")
done
log="${TMPDIR:-/tmp}/vigil-synth-$top.log"
# -noiopad -noclkbuf: the core sits inside the card's design, not on pins.
"$yosys" -l "$log" -q -p "
    read_verilog -sv ${packages[*]} ${modules[*]};
    synth_xilinx -family xcup -noiopad -noclkbuf -top $top;
    stat -tech xilinx" >/dev/null
# The last statistics block of the log (synth_xilinx prints one of its own before).
awk '/Printing statistics/ { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' "$log" |
    sed -n '/===/,/Estimated number of LCs/p'
