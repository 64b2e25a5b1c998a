#!/usr/bin/env python3
"""The kernels built ahead (kernels/prebuilt/) against a fresh build.

Usage: prebuilt.py check|update BUILD_DIR TOOLCHAIN MIN_DRIVER

BUILD_DIR is what kernels/cuda-check.sh made: `<program>.<arch>.prebuilt.cubin` (the
PTX as ISA 8.4, through ptxas 12.4) and `sources.tsv` from `vigil kernels` (program,
source BLAKE3, NVRTC version); kernels/prebuilt/ holds them as `<program>.<arch>.cubin`. For every
program and every architecture in ARCHS:

  check   the committed cubin must be byte for byte the fresh one, and the manifest's
          line must name the same source hash and toolchain (exit 1 otherwise, saying
          what differs and how to update);
  update  copies the fresh cubins into kernels/prebuilt/ and rewrites the manifest.

The same ptxas, on the same PTX with the same options, makes the same bytes (checked
when this was written: two runs compare equal), so a difference means the sources,
the compilers or the committed files changed.
"""

import os
import shutil
import sys

ARCHS = ["sm_80", "sm_90"]  # kernels/src/prebuilt.rs ARCHS
HERE = os.path.dirname(os.path.abspath(__file__))
PREBUILT = os.path.join(HERE, "prebuilt")
MANIFEST = os.path.join(PREBUILT, "manifest.tsv")


def sources(build):
    out = {}
    with open(os.path.join(build, "sources.tsv"), encoding="utf-8") as f:
        for line in f:
            program, digest, _nvrtc = line.rstrip("\n").split("\t")
            out[program] = digest
    return out


def fresh_of(build, name):
    """The fresh build of kernels/prebuilt/NAME (`x.sm_90.cubin` from `x.sm_90.prebuilt.cubin`)."""
    return os.path.join(build, name[: -len(".cubin")] + ".prebuilt.cubin")


def header():
    with open(MANIFEST, encoding="utf-8") as f:
        return [l for l in f if l.startswith("#")]


def expected(build, toolchain, min_driver):
    lines = []
    for program, digest in sorted(sources(build).items()):
        for arch in ARCHS:
            name = f"{program}.{arch}.cubin"
            lines.append((name, f"{program}\t{arch}\t{digest}\t{toolchain}\t{min_driver}\t{name}\n"))
    return lines


def main(argv):
    if len(argv) != 5 or argv[1] not in ("check", "update"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, build, toolchain, min_driver = argv[1:]
    want = expected(build, toolchain, min_driver)
    if mode == "update":
        for name, _ in want:
            shutil.copyfile(fresh_of(build, name), os.path.join(PREBUILT, name))
        keep = {name for name, _ in want} | {"manifest.tsv"}
        for stale in set(os.listdir(PREBUILT)) - keep:
            os.remove(os.path.join(PREBUILT, stale))
        with open(MANIFEST, "w", encoding="utf-8") as f:
            f.writelines(header() + [line for _, line in want])
        print(f"kernels/prebuilt: {len(want)} cubins and the manifest written")
        return 0
    with open(MANIFEST, encoding="utf-8") as f:
        have = [l for l in f if not l.startswith("#") and l.strip()]
    problems = []
    if sorted(have) != sorted(line for _, line in want):
        problems.append("kernels/prebuilt/manifest.tsv does not list today's sources and toolchain")
    for name, _ in want:
        committed = os.path.join(PREBUILT, name)
        fresh = fresh_of(build, name)
        if not os.path.exists(committed):
            problems.append(f"kernels/prebuilt/{name} is missing")
            continue
        with open(committed, "rb") as a, open(fresh, "rb") as b:
            if a.read() != b.read():
                problems.append(f"kernels/prebuilt/{name} differs from what the sources make")
    if problems:
        for p in problems:
            print(f"PREBUILT DRIFT: {p}", file=sys.stderr)
        print("rebuild them: kernels/cuda-check.sh --update-prebuilt", file=sys.stderr)
        return 1
    print(f"kernels/prebuilt: {len(want)} cubins are what today's sources make ({toolchain})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
