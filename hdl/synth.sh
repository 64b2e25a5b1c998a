#!/usr/bin/env bash
# Synthesises an RTL module (default: the BLAKE3 compression core; also
# vigil_sha512_core, which includes vigil_sc_reduce, and vigil_sc_reduce) with Yosys for a Xilinx UltraScale+ part
# (synth_xilinx -family xcup: the VU9P's family) and prints the resource statistics.
# A resource estimate and a check that Yosys parses the RTL; it is not Vivado's
# timing-driven result and says nothing about fmax. -uram lets a memory marked
# (* ram_style = "ultra" *) map to URAM288; the others stay in block RAM.
#
# Usage: hdl/synth.sh [TOP [PARAM=VALUE ...]]   (default TOP = vigil_blake3_compress)
#        e.g. hdl/synth.sh vigil_card_top VerifyEngines=4 Sha512Cores=2
#        Log in $TMPDIR (or /tmp)/vigil-synth-TOP[-PARAM=VALUE...].log.
set -euo pipefail
rtl="$(cd "$(dirname "$0")/rtl" && pwd)"
top="${1:-vigil_blake3_compress}"
shift || true
# Top-level parameter overrides, set with chparam before elaboration.
chparam=""
tag=""
for kv in "$@"; do
    if [[ ! "$kv" =~ ^[A-Za-z_][A-Za-z0-9_]*=[0-9]+$ ]]; then
        echo "synth.sh: a parameter is NAME=NUMBER, not '$kv'" >&2
        exit 2
    fi
    chparam+=" chparam -set ${kv%%=*} ${kv#*=} $top;"
    tag+="-$kv"
done
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
log="${TMPDIR:-/tmp}/vigil-synth-$top$tag.log"
# -noiopad -noclkbuf: the core sits inside the card's design, not on pins.
"$yosys" -l "$log" -q -p "
    read_verilog -sv ${packages[*]} ${modules[*]};$chparam
    synth_xilinx -family xcup -uram -noiopad -noclkbuf -top $top;
    stat -tech xilinx" >/dev/null
# The last statistics block of the log (synth_xilinx prints one of its own before).
awk '/Printing statistics/ { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' "$log" |
    sed -n '/===/,/Estimated number of LCs/p'
