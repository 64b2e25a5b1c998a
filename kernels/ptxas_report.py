#!/usr/bin/env python3
"""Per-entry resource figures from `ptxas -v` logs, checked against the budgets.

Usage: ptxas_report.py BUDGET_TSV LOG...

Each LOG is the stderr of `ptxas -v -arch=sm_XX <program>.<arch>.ptx`. For every entry
function it reports registers, its own stack frame, the cumulative stack size, spill
bytes (stores plus loads, summed over the entry and the device functions ptxas lists
under it) and static shared memory, as a Markdown table on stdout. It exits 1 when an
entry exceeds its budget in BUDGET_TSV, or has no budget, or when a budgeted entry was
not seen: a new kernel gets a budget when it is written, and a budget cannot outlive
its kernel.
"""

import re
import sys

ENTRY = re.compile(r"Compiling entry function '([^']+)' for '([^']+)'")
FRAME = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
USED = re.compile(r"Used (\d+) registers")
SMEM = re.compile(r"(\d+) bytes smem")
CUMULATIVE = re.compile(r"(\d+) bytes cumulative stack size")
PROPS = re.compile(r"Function properties for (\S+)")


def parse(text):
    """{(entry, arch): figures} from one ptxas log."""
    found = {}
    current = None
    props_for = None
    for line in text.splitlines():
        m = ENTRY.search(line)
        if m:
            current = {"entry": m.group(1), "arch": m.group(2), "registers": None,
                       "frame": 0, "stack": 0, "spills": 0, "smem": 0}
            found[(m.group(1), m.group(2))] = current
            props_for = None
            continue
        if current is None:
            continue
        m = PROPS.search(line)
        if m:
            props_for = m.group(1)
            continue
        m = FRAME.search(line)
        if m:
            frame, stores, loads = (int(g) for g in m.groups())
            current["spills"] += stores + loads
            if props_for == current["entry"]:
                current["frame"] = frame
            continue
        m = USED.search(line)
        if m:
            current["registers"] = int(m.group(1))
            s = SMEM.search(line)
            current["smem"] = int(s.group(1)) if s else 0
            c = CUMULATIVE.search(line)
            current["stack"] = int(c.group(1)) if c else current["frame"]
    return found


def budgets(path):
    """{entry: (registers, stack, spills)} from the TSV (comments start with #)."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            entry, regs, stack, spills = line.split()
            out[entry] = (int(regs), int(stack), int(spills))
    return out


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    limits = budgets(argv[1])
    figures = {}
    for path in argv[2:]:
        with open(path, encoding="utf-8") as f:
            figures.update(parse(f.read()))
    print("| entry | arch | registers | stack frame (B) | cumulative stack (B) "
          "| spill bytes | shared (B) | budget (regs / stack / spills) |")
    print("|---|---|---|---|---|---|---|---|")
    failures = []
    for (entry, arch), f in sorted(figures.items()):
        budget = limits.get(entry)
        shown = "none" if budget is None else " / ".join(str(b) for b in budget)
        print(f"| `{entry}` | {arch} | {f['registers']} | {f['frame']} | {f['stack']} "
              f"| {f['spills']} | {f['smem']} | {shown} |")
        if budget is None:
            failures.append(f"{entry} ({arch}) has no budget in {argv[1]}")
            continue
        regs, stack, spills = budget
        if f["registers"] is None or f["registers"] > regs:
            failures.append(f"{entry} ({arch}) uses {f['registers']} registers, budget {regs}")
        if f["stack"] > stack:
            failures.append(f"{entry} ({arch}) has a {f['stack']}-byte stack, budget {stack}")
        if f["spills"] > spills:
            failures.append(f"{entry} ({arch}) spills {f['spills']} bytes, budget {spills}")
    seen = {e for (e, _) in figures}
    for entry in sorted(set(limits) - seen):
        failures.append(f"{entry} has a budget but ptxas compiled no such entry")
    if not figures:
        failures.append("no entry function in the ptxas logs")
    for failure in failures:
        print(f"OVER BUDGET: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
