#!/usr/bin/env python3
"""A static throughput model of the verification kernel, from its SASS.

Usage: sass_model.py SASS_FILE [SMS CLOCK_GHZ INT_LANES REGISTERS]

SASS_FILE is `nvdisasm` output of the Ed25519 cubin for one architecture. The model:

1. In the kernel `vigil_ed25519_scalarmult` (the double-scalar multiplication), the
   digit loop is the longest span from the target of a backward branch to that branch
   (the other loop is the short copy of the base-point table into shared memory); the
   doublings are the span a forward conditional branch inside the loop skips (taken on
   the first digit only), and within it the rolled loop of one doubling, which runs
   DOUBLINGS (4) times per digit. Dynamic instructions = prologue + 64 x (loop
   without doublings) + 63 x (the doublings' block without its loop + 4 x one doubling)
   + epilogue, counted by opcode.
2. The rest of a verification (decompression, the -A table, the compression, the
   checks) is counted by its field work, not its SASS: kernels/ED25519.md gives the whole
   verification as 1531S + 1827M (strict) and the double-scalar multiplication as 1008S + 1716M,
   so the total is the loop's count times the ratio of their M-equivalents (S = 0.55M).
   The challenge kernel (SHA-512, reduction) is not counted.
3. Almost every instruction is a 32-bit integer ALU operation (IMAD, IADD3, LOP3, SHF,
   LEA); the CUDA C Programming Guide gives compute capability 8.x and 9.0 64 such
   results per clock per SM. So the issue bound is SMS x INT_LANES x CLOCK / instructions.
4. Occupancy: REGISTERS per thread, allocated per warp in units of 256, allow
   floor(65536 / (REGISTERS x 32 rounded up to 256)) warps per SM (at most 64), taken
   in whole blocks of GROUP (64) threads; printed beside the bound: with few warps, each
   scheduler has little to switch to while a dependent IMAD (about 4 cycles) or a load
   waits, and the kernel runs below the bound. kernels/cuda-check.sh passes the
   registers ptxas gave the kernel.

Defaults: an H100 SXM / H200 (132 SMs, 1.98 GHz boost, 64 integer lanes, 128 registers).
"""

import collections
import re
import sys

INSTR = re.compile(r"^\s*/\*[0-9a-f]+\*/\s+(@!?U?P\w+\s+)?([A-Z][A-Z0-9_]*)")
LABEL = re.compile(r"^(\.L_x_\d+):")
BRANCH = re.compile(r"^\s*/\*[0-9a-f]+\*/\s+(@!?U?P\w+\s+)?BRA\b.*`\((\.L_x_\d+)\)")

# kernels/ED25519.md: field work of the whole verification and of the loop, in S and M.
TOTAL_SM = (1531, 1827)
LOOP_SM = (1008, 1716)
S_IN_M = 0.55
# Doublings per digit: the trip count of the rolled loop in vigil_ed25519_double_scalarmult.
DOUBLINGS = 4


def function(lines, name):
    """The lines of the SASS function whose symbol contains `name`."""
    start = next(i for i, l in enumerate(lines) if "@function" in l and name in l)
    end = next((i for i in range(start + 1, len(lines)) if "@function" in lines[i]), len(lines))
    return lines[start:end]


def scaled(c, n):
    """Every count of `c` times `n`."""
    return collections.Counter({k: v * n for k, v in c.items()})


def count(lines):
    c = collections.Counter()
    for l in lines:
        m = INSTR.match(l)
        if m:
            c[m.group(2)] += 1
    return c


# Warps per block: the kernels run in blocks of VIGIL_GROUP = 64 threads.
BLOCK_WARPS = 2

def model(text, sms, clock_ghz, lanes, registers):
    lines = function(text.splitlines(), "vigil_ed25519_scalarmult")
    labels = {}
    for i, l in enumerate(lines):
        m = LABEL.match(l)
        if m:
            labels[m.group(1)] = i
    # Backward branches, less the one-instruction self-loop nvcc puts after a return.
    backward = [(labels[m.group(2)], i) for i, l in enumerate(lines)
                if (m := BRANCH.match(l)) and m.group(2) in labels
                and labels[m.group(2)] < i - 1]
    if not backward:
        raise SystemExit("no loop in the double-scalar multiplication")
    head, tail = max(backward, key=lambda b: b[1] - b[0])
    skips = [(i, labels[m.group(2)]) for i, l in enumerate(lines[head:tail], head)
             if (m := BRANCH.match(l)) and m.group(1) and m.group(2) in labels
             and i < labels[m.group(2)] < tail]
    if len(skips) != 1:
        raise SystemExit(f"expected one skipped block (the doublings), found {len(skips)}")
    skip_from, skip_to = skips[0]
    inner = [(h, t) for h, t in backward if skip_from < h and t < skip_to]
    if len(inner) != 1:
        raise SystemExit(f"expected one loop of doublings, found {len(inner)}")
    inner_head, inner_tail = inner[0]
    prologue, epilogue = count(lines[:head]), count(lines[tail + 1:])
    block = count(lines[skip_from + 1:skip_to])
    one_doubling = count(lines[inner_head:inner_tail + 1])
    doublings = (block - one_doubling) + scaled(one_doubling, DOUBLINGS)
    rest = count(lines[head:tail + 1]) - block
    dynamic = collections.Counter()
    for c, times in ((prologue, 1), (rest, 64), (doublings, 63), (epilogue, 1)):
        for k, v in c.items():
            dynamic[k] += v * times
    loop_total = sum(dynamic.values())
    m_eq = lambda sm: sm[0] * S_IN_M + sm[1]
    total = loop_total * m_eq(TOTAL_SM) / m_eq(LOOP_SM)
    bound = sms * lanes * clock_ghz * 1e9 / total
    per_warp = -(-registers * 32 // 256) * 256
    warps = min(64, 65536 // per_warp) // BLOCK_WARPS * BLOCK_WARPS
    by_class = collections.Counter()
    for k, v in dynamic.items():
        cls = k.split(".")[0]
        by_class[cls if cls in ("IMAD", "IADD3", "LOP3", "SHF", "LEA", "LDL", "STL") else "other"] += v
    print(f"double-scalar multiplication, per verification: {loop_total:,} instructions "
          f"(loop without doublings {sum(rest.values()):,} x 64, doublings "
          f"{sum(doublings.values()):,} x 63, prologue and epilogue "
          f"{sum(prologue.values()) + sum(epilogue.values()):,})")
    print("  by opcode: " + ", ".join(f"{k} {v:,}" for k, v in by_class.most_common()))
    print(f"whole verification (scaled by field work {m_eq(TOTAL_SM):.0f} / {m_eq(LOOP_SM):.0f} "
          f"M-equivalents): {total:,.0f} instructions")
    print(f"issue bound at {lanes} integer results/clock/SM x {sms} SMs x {clock_ghz} GHz: "
          f"{bound / 1e6:.1f} million verifications/s")
    print(f"occupancy at {registers} registers: {warps} warps of 64 per SM "
          f"({warps // BLOCK_WARPS} blocks of {BLOCK_WARPS} warps, {warps / 4:g} per scheduler)")


def main(argv):
    if len(argv) not in (2, 6):
        print(__doc__, file=sys.stderr)
        return 2
    sms, clock, lanes, regs = (132, 1.98, 64, 128) if len(argv) == 2 else (
        int(argv[2]), float(argv[3]), int(argv[4]), int(argv[5]))
    with open(argv[1], encoding="utf-8") as f:
        model(f.read(), sms, clock, lanes, regs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
