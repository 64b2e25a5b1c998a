#!/usr/bin/env python3
"""Markdown tables from one run of benches/gpu/run.sh (its raw JSON lines).

Usage: table.py RAW.jsonl RUN_ID > gpu-<device>.md
Every figure is copied from a measured line; nothing is computed but ratios and unit
conversions, and each table names what the lines name (machine, commit, date)."""
import json
import sys


def main():
    raw, run_id = sys.argv[1], sys.argv[2]
    lines = [json.loads(l) for l in open(raw) if l.strip()]
    lines = [l for l in lines if l["run"] == run_id]
    if not lines:
        sys.exit(f"no lines of run {run_id} in {raw}")
    # The run's facts from the first measured line (a skipped backend's line has none).
    first = next((l["result"] for l in lines if "machine" in l["result"]), lines[0]["result"])
    devs = []
    for l in lines:
        if l["stage"] == "conformance":
            continue
        b = l["result"].get("backend")
        if b not in (None, "cpu") and b not in devs:
            devs.append(b)
    devs = devs or ["device"]
    m = first.get("machine", {})
    out = [
        f"# {' and '.join(devs)} on {lines[0]['gpu']}",
        "",
        f"Run `{run_id}`: commit `{first.get('commit')}`, {first.get('date')}, host "
        f"{m.get('cpu')} ({m.get('cores')} cores). Command: `benches/gpu/run.sh`; raw lines "
        f"in the `.jsonl` beside this file. The CPU backend is measured on the same data "
        "in the same process; the baseline is the reference crate on one thread.",
        "",
    ]
    by = {}
    for l in lines:
        by.setdefault(l["stage"], []).append(l["result"])

    failed = [r["backend"] for r in by.get("conformance", []) if r.get("conformance") == "failed"]
    if failed:
        out += [f"Not measured: {', '.join(failed)} failed conformance (or was absent) in this run.", ""]

    for dev in devs:
        out += device_tables(dev, by)
    out += shared_tables(devs, by)
    print("\n".join(out))


def device_tables(dev, by):
    """The throughput and Merkle tables of one device backend beside the CPU."""
    out = []
    rows = by.get("throughput", [])
    if any(r["backend"] == dev for r in rows):
        out += [
            f"## Signatures per second: {dev}",
            "",
            "| profile | msg bytes | signers | signatures | device end to end | device kernels | CPU backend | 1-thread baseline | device / CPU |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        key = lambda r: (r["profile"], r["msg_len"], r["signers_per_transaction"], r["signatures"])
        cuda = {key(r): r for r in rows if r["backend"] == dev}
        cpu = {key(r): r for r in rows if r["backend"] == "cpu"}
        for k in sorted(cuda, key=lambda k: (k[0], int(k[1].split("..")[0]), k[2], k[3])):
            g, c = cuda[k], cpu.get(k, {})
            kern = g.get("kernel_sigs_per_sec")
            out.append(
                f"| {k[0]} | {k[1].split('..')[0]} | {k[2]} | {k[3]:,} | {g['backend_sigs_per_sec']:,.0f} | "
                f"{'' if kern is None else f'{kern:,.0f}'} | {c.get('backend_sigs_per_sec', float('nan')):,.0f} | "
                f"{g['baseline_sigs_per_sec']:,.0f} | {g['backend_sigs_per_sec'] / c.get('backend_sigs_per_sec', float('nan')):.2f} |"
            )
        out.append("")

    rows = by.get("merkle", [])
    if any(r["backend"] == dev for r in rows):
        out += [
            f"## Merkle roots of 32-byte leaves: {dev}",
            "",
            "| leaves | device end to end, ms | device kernels, ms | CPU backend, ms | blake3 per leaf, 1 thread, ms |",
            "|---|---|---|---|---|",
        ]
        cpu = {r["leaves"]: r for r in rows if r["backend"] == "cpu"}
        for r in sorted((r for r in rows if r["backend"] == dev), key=lambda r: r["leaves"]):
            k = r.get("kernel_seconds")
            c = cpu.get(r["leaves"], {})
            out.append(
                f"| {r['leaves']:,} | {r['backend_seconds'] * 1e3:.3f} | {'' if k is None else f'{k * 1e3:.3f}'} | "
                f"{c.get('backend_seconds', float('nan')) * 1e3:.3f} | {r['baseline_seconds'] * 1e3:.3f} |"
            )
        out.append("")
    return out


def shared_tables(devs, by):
    """Latency (a row per backend), the crossovers and the serve runs."""
    out = []
    rows = by.get("latency", [])
    if rows:
        out += [
            "## Latency of one batch, host memory to verdicts (strict, 200-byte messages)",
            "",
            "| backend | signatures | batches | p50 µs | p99 µs | max µs | 1-thread baseline p50 µs |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            b, base = r["backend_us"], r["baseline_us"]
            out.append(
                f"| {r['backend']} | {r['batch_signatures']} | {r['iterations']} | {b['p50']:.1f} | {b['p99']:.1f} | "
                f"{b['max']:.1f} | {base['p50']:.1f} |"
            )
        out.append("")

    for r in by.get("crossover", []):
        out += [
            f"## CPU/GPU crossover, {r.get('backend', 'device')} (what `serve` measures at start-up)",
            "",
            "| signatures | device ms | CPU ms |",
            "|---|---|---|",
        ]
        for p in r["points"]:
            out.append(f"| {p['signatures']:,} | {p['device_seconds'] * 1e3:.3f} | {p['cpu_seconds'] * 1e3:.3f} |")
        small = r["small_batch_signatures"]
        if small is None:
            verdict = "The device was never faster than the CPU at these sizes: every batch goes to the CPU."
        else:
            verdict = f"Batches of {small:,} signatures and more go to the device."
        out += ["", verdict, ""]

    serve = [(s, r) for s, rs in by.items() if s.startswith("serve_") for r in rs]
    for dev in devs:
        mine = [(s, r) for s, r in serve if r.get("backend", dev) == dev]
        if mine:
            out += [f"## Through `vigil serve --backend {dev},cpu` with `vigil loadgen`", "", "```"]
            out += [f"{s}: {json.dumps(r)}" for s, r in mine]
            out += ["```", ""]
    return out


if __name__ == "__main__":
    main()
