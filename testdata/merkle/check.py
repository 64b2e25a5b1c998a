#!/usr/bin/env python3
"""Independent check of testdata/merkle/vectors.json (vigil-merkle-v1).

Shares no code with the Rust implementation: hashes come from the PyPI `blake3`
package (derive_key_context=...), the tree from RFC 9162's recursive definition
(section 2.1.1), audit paths from its PATH recursion (2.1.3.1) and verification from
its algorithm (2.1.3.2). The derive-key context keys, which a device loads, are checked
with a small pure-Python BLAKE3 compression, which also shows that NODE is exactly one
compression under the node key.

    pip install blake3 && python3 testdata/merkle/check.py [vectors.json]

Exits non-zero on the first mismatch.
"""

import json
import os
import struct
import sys

from blake3 import blake3

LEAF_CTX = "vigil-merkle-v1 leaf"
NODE_CTX = "vigil-merkle-v1 node"
EMPTY_CTX = "vigil-merkle-v1 empty"


def leaf(data):
    return blake3(data, derive_key_context=LEAF_CTX).digest()


def node(left, right):
    return blake3(left + right, derive_key_context=NODE_CTX).digest()


EMPTY = blake3(b"", derive_key_context=EMPTY_CTX).digest()


# --- The leaf sets (see README.md) -------------------------------------------------


def hash32_leaves(n):
    return [blake3(b"vigil-merkle-v1 test leaf" + struct.pack("<Q", i)).digest() for i in range(n)]


def bytes_i_leaves(n):
    return [bytes([i % 256]) * i for i in range(n)]


LEAF_SETS = {"hash32": hash32_leaves, "bytes_i": bytes_i_leaves}


# --- RFC 9162 section 2.1.1 and 2.1.3.1, recursively --------------------------------


def largest_pow2_below(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class Tree:
    """MTH over index ranges of the leaf hashes; subtrees of 1024 leaves or more are
    remembered so that audit paths of a big tree do not recompute them."""

    def __init__(self, leaf_hashes):
        self.h = leaf_hashes
        self.memo = {}

    def mth(self, lo, hi):
        n = hi - lo
        if n == 0:
            return EMPTY
        if n == 1:
            return self.h[lo]
        key = (lo, hi)
        if key in self.memo:
            return self.memo[key]
        k = largest_pow2_below(n)
        r = node(self.mth(lo, lo + k), self.mth(lo + k, hi))
        if n >= 1024:
            self.memo[key] = r
        return r

    def path(self, m, lo, hi):
        """PATH(m, D[lo:hi]), bottom-up."""
        n = hi - lo
        if n == 1:
            return []
        k = largest_pow2_below(n)
        if m < k:
            return self.path(m, lo, lo + k) + [self.mth(lo + k, hi)]
        return self.path(m - k, lo + k, hi) + [self.mth(lo, lo + k)]


# --- RFC 9162 section 2.1.3.2 --------------------------------------------------------


def verify_inclusion(root, leaf_hash, index, tree_size, path):
    if index >= tree_size:
        return False
    fn, sn, r = index, tree_size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


# --- A minimal BLAKE3 compression (single block), for the context keys ----------------

IV = [0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19]
PERMUTATION = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8]
CHUNK_START, CHUNK_END, ROOT, DERIVE_KEY_CONTEXT, DERIVE_KEY_MATERIAL = 1, 2, 8, 32, 64
M32 = 0xFFFFFFFF


def _g(v, a, b, c, d, x, y):
    def rotr(w, n):
        return ((w >> n) | (w << (32 - n))) & M32

    v[a] = (v[a] + v[b] + x) & M32
    v[d] = rotr(v[d] ^ v[a], 16)
    v[c] = (v[c] + v[d]) & M32
    v[b] = rotr(v[b] ^ v[c], 12)
    v[a] = (v[a] + v[b] + y) & M32
    v[d] = rotr(v[d] ^ v[a], 8)
    v[c] = (v[c] + v[d]) & M32
    v[b] = rotr(v[b] ^ v[c], 7)


def compress_one_block(key_words, data, flags):
    """BLAKE3 of an input of at most 64 bytes: one compression, counter 0."""
    assert len(data) <= 64
    m = list(struct.unpack("<16I", data.ljust(64, b"\0")))
    v = list(key_words) + IV[:4] + [0, 0, len(data), flags | CHUNK_START | CHUNK_END | ROOT]
    for rnd in range(7):
        _g(v, 0, 4, 8, 12, m[0], m[1])
        _g(v, 1, 5, 9, 13, m[2], m[3])
        _g(v, 2, 6, 10, 14, m[4], m[5])
        _g(v, 3, 7, 11, 15, m[6], m[7])
        _g(v, 0, 5, 10, 15, m[8], m[9])
        _g(v, 1, 6, 11, 12, m[10], m[11])
        _g(v, 2, 7, 8, 13, m[12], m[13])
        _g(v, 3, 4, 9, 14, m[14], m[15])
        m = [m[i] for i in PERMUTATION]
    return struct.pack("<8I", *[v[i] ^ v[i + 8] for i in range(8)])


def check_context_keys(vec):
    keys = {}
    for name, ctx in (("leaf", LEAF_CTX), ("node", NODE_CTX), ("empty", EMPTY_CTX)):
        expect(vec["contexts"][name] == ctx, f"context string {name}")
        key = compress_one_block(IV, ctx.encode(), DERIVE_KEY_CONTEXT)
        expect(vec["context_keys"][name] == key.hex(), f"context key {name}")
        keys[name] = struct.unpack("<8I", key)
    # The pure-Python compression agrees with the blake3 package, and NODE is one
    # compression under the node key.
    left, right = os.urandom(32), os.urandom(32)
    expect(
        compress_one_block(keys["node"], left + right, DERIVE_KEY_MATERIAL) == node(left, right),
        "NODE as one compression",
    )
    for n in (0, 1, 32, 64):
        data = os.urandom(n)
        expect(compress_one_block(keys["leaf"], data, DERIVE_KEY_MATERIAL) == leaf(data), "LEAF compression")
    expect(compress_one_block(keys["empty"], b"", DERIVE_KEY_MATERIAL) == EMPTY, "EMPTY compression")


# --- Driver ---------------------------------------------------------------------------


def expect(ok, what):
    if not ok:
        print(f"FAIL: {what}")
        sys.exit(1)


def main():
    default = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors.json")
    with open(sys.argv[1] if len(sys.argv) > 1 else default) as f:
        vec = json.load(f)
    expect(vec["scheme"] == "vigil-merkle-v1", "scheme")
    check_context_keys(vec)
    print("context keys: ok (pure-Python compression agrees with the blake3 package)")
    expect(vec["empty_root"] == EMPTY.hex(), "empty root")

    cases = proofs = 0
    for case in vec["cases"]:
        n, name = case["n"], case["leaf_set"]
        data = LEAF_SETS[name](n)
        hashes = [leaf(d) for d in data]
        tree = Tree(hashes)
        root = tree.mth(0, n)
        expect(case["root"] == root.hex(), f"{name} n={n}: root")
        want = sorted({i for i in (0, n // 2, n - 1) if 0 <= i < n})
        expect([p["index"] for p in case["proofs"]] == want, f"{name} n={n}: proof indices")
        for p in case["proofs"]:
            m = p["index"]
            path = [bytes.fromhex(x) for x in p["path"]]
            expect(p["tree_size"] == n, f"{name} n={n} m={m}: tree_size")
            expect(p["leaf_hash"] == hashes[m].hex(), f"{name} n={n} m={m}: leaf hash")
            expect(path == tree.path(m, 0, n), f"{name} n={n} m={m}: path differs from PATH(m, D[n])")
            expect(verify_inclusion(root, hashes[m], m, n, path), f"{name} n={n} m={m}: verify")
            # The verifier can fail: a changed path element, leaf or index is rejected.
            if path:
                bad = [bytes([path[0][0] ^ 1]) + path[0][1:]] + path[1:]
                expect(not verify_inclusion(root, hashes[m], m, n, bad), f"{name} n={n} m={m}: tampered path")
                expect(not verify_inclusion(root, hashes[m], m ^ 1, n, path), f"{name} n={n} m={m}: wrong index")
            expect(not verify_inclusion(root, leaf(data[m] + b"x"), m, n, path), f"{name} n={n} m={m}: wrong leaf")
            expect(not verify_inclusion(root, hashes[m], m, n, path + [root]), f"{name} n={n} m={m}: long path")
            proofs += 1
        cases += 1
        print(f"{name:8} n={n:<8} root {root.hex()[:16]}...  {len(case['proofs'])} proofs: ok")
    print(f"all ok: {cases} cases, {proofs} proofs, recomputed from scratch with blake3 {blake3_version()}")


def blake3_version():
    try:
        from importlib.metadata import version

        return version("blake3")
    except Exception:  # noqa: BLE001 - only for the message
        return "(version unknown)"


if __name__ == "__main__":
    main()
