#!/usr/bin/env python3
"""Writes the seed inputs in seeds/<target>/ (run from fuzz/). An encoder of its own,
written from the wire format description, so seeds do not depend on the Rust code."""
import base64, os

def sv(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)

def vec(b):
    return sv(len(b)) + bytes(b)

def message(v0, signers, extra, ixs, lookups=()):
    m = bytearray(b"\x80" if v0 else b"")
    m += bytes([signers, 0, 1])
    m += sv(signers + extra) + b"".join(bytes([k + 1]) * 32 for k in range(signers + extra))
    m += b"\xbb" * 32
    m += sv(len(ixs))
    for prog, accts, data in ixs:
        m += bytes([prog]) + vec(accts) + vec(data)
    if v0:
        m += sv(len(lookups))
        for key, w, r in lookups:
            m += key + vec(w) + vec(r)
    return bytes(m)

def tx(msg, signers):
    return sv(signers) + b"".join(bytes([0x40 + i]) * 64 for i in range(signers)) + msg

txs = {
    "legacy_1": tx(message(False, 1, 1, [(1, [0], b"hi")]), 1),
    "legacy_3": tx(message(False, 3, 2, [(4, [0, 1, 2], b"\x07" * 200), (0, [], b"")]), 3),
    "v0_2": tx(message(True, 2, 1, [(2, [0, 1], b"x")], [(b"\xcc" * 32, [1, 2], [3])]), 2),
}
for name, raw in txs.items():
    with open(f"seeds/solana_wire/{name}", "wb") as f:
        f.write(raw)
with open("seeds/solana_wire/base64_lines", "wb") as f:
    f.write(b"\n".join(base64.b64encode(raw) for raw in txs.values()) + b"\n")

pk, sig = "07" * 32, "08" * 64
lines = [
    '{"msg":"6869","signers":[{"pubkey":"%s","sig":"%s"},{"pubkey":"%s","sig":"%s"}]}'
    % (pk, sig, pk.upper(), sig),
    '{"msg":"","pubkey":"%s","sig":"%s"}' % (pk, sig),
    '{"msg":"\\u0030\\u0031","pubkey":"%s","sig":"%s"}' % (pk, sig),
    '{"msg":"00","signers":[]}',
]
for i, line in enumerate(lines):
    with open(f"seeds/jsonl/line_{i}", "w") as f:
        f.write(line + "\n")
with open("seeds/jsonl/all", "w") as f:
    f.write("\r\n".join(lines) + "\n\nnot json\n")

# card_responses: a call byte (call = byte % 4, count = (byte >> 2) % 24), then the
# scripted card's answers: 3 = silence (ends the drain of stale frames at open); then per
# request 0 (a well-framed answer), 0 (the oldest tag in flight), 0 (status OK), the
# payload words and their bytes. A VERIFY answer of 1 is "valid".
os.makedirs("seeds/card_responses", exist_ok=True)


def answers(n, words, payload):
    return bytes([3]) + b"".join(
        bytes([0, 0, 0, words]) + payload for _ in range(n)
    )


card_seeds = {
    # 9 leaves at MAX_LEAVES 4: 3 requests, then one MERKLE_NODES over their roots.
    "merkle_split": bytes([9 << 2 | 0]) + answers(4, 4, bytes(range(32))),
    "nodes": bytes([6 << 2 | 1]) + answers(3, 4, bytes(range(32, 64))),
    "sha512_k": bytes([3 << 2 | 2]) + answers(1, 12, bytes(range(96))),
    "verify_valid": bytes([8 << 2 | 3]) + answers(8, 1, (1).to_bytes(8, "little")),
    "verify_invalid": bytes([7 << 2 | 3]) + answers(7, 1, bytes(8)),
}
for name, raw in card_seeds.items():
    with open(f"seeds/card_responses/{name}", "wb") as f:
        f.write(raw)
