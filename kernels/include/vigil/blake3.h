/*
 * blake3.h: BLAKE3 on the device, and the two hashes of the vigil-merkle-v1 tree.
 *
 *   LEAF(d)    = BLAKE3 derive-key, context "vigil-merkle-v1 leaf", input d (any length)
 *   NODE(l, r) = BLAKE3 derive-key, context "vigil-merkle-v1 node", input l || r (64 bytes)
 *
 * (docs/MERKLE.md is the specification, host/core/src/merkle.rs the CPU oracle.)
 *
 * A derive-key hash is a keyed BLAKE3 hash whose key is the context key (the context
 * string hashed once, with the IV as key and the flag DERIVE_KEY_CONTEXT) and whose every
 * compression carries the flag DERIVE_KEY_MATERIAL. The two context keys are constants
 * below, so NODE is exactly one compression and a leaf of at most 64 bytes is one too.
 * kernels/tests/context_keys.rs reads this file's text and checks the keys, the IV and
 * the flag values against the blake3 crate.
 *
 * Byte order: a hash is 8 u32 words, word i = bytes 4i..4i+4 read little-endian, and a
 * message block is 16 such words. Word loads from byte memory assume a little-endian
 * device (every GPU and every OpenCL CPU device Vigil runs on).
 *
 * Private arrays are only ever indexed with constants, so they live in registers; the
 * one exception is the chaining-value stack of inputs longer than one chunk (1024
 * bytes), see vigil_blake3_hash_global. kernels/MERKLE_KERNELS.md has the design notes.
 */
#ifndef VIGIL_BLAKE3_H
#define VIGIL_BLAKE3_H

#include "vigil/vendor.h"

/* BLAKE3's IV (the SHA-256 IV). */
#define VIGIL_BLAKE3_IV_0 0x6A09E667u
#define VIGIL_BLAKE3_IV_1 0xBB67AE85u
#define VIGIL_BLAKE3_IV_2 0x3C6EF372u
#define VIGIL_BLAKE3_IV_3 0xA54FF53Au
#define VIGIL_BLAKE3_IV_4 0x510E527Fu
#define VIGIL_BLAKE3_IV_5 0x9B05688Cu
#define VIGIL_BLAKE3_IV_6 0x1F83D9ABu
#define VIGIL_BLAKE3_IV_7 0x5BE0CD19u

/* Domain flags (BLAKE3 specification, table 3). */
#define VIGIL_BLAKE3_CHUNK_START 0x01u
#define VIGIL_BLAKE3_CHUNK_END 0x02u
#define VIGIL_BLAKE3_PARENT 0x04u
#define VIGIL_BLAKE3_ROOT 0x08u
#define VIGIL_BLAKE3_KEYED_HASH 0x10u
#define VIGIL_BLAKE3_DERIVE_KEY_CONTEXT 0x20u
#define VIGIL_BLAKE3_DERIVE_KEY_MATERIAL 0x40u

#define VIGIL_BLAKE3_BLOCK_LEN 64u
#define VIGIL_BLAKE3_CHUNK_LEN 1024u

/*
 * Chaining values a hash of one input can hold on its stack at once. After chunk c of a
 * multi-chunk input is finished and merged, the stack holds popcount(c + 1) entries, and
 * c + 1 <= (number of chunks) - 1 < 2^22 for any length below 2^32 (lengths are u32),
 * so 22 entries always suffice; 24 rounds it up.
 */
#define VIGIL_BLAKE3_MAX_DEPTH 24

/* The context keys: hash_derive_key_context("vigil-merkle-v1 leaf") as 8 LE words. */
#define VIGIL_MERKLE_LEAF_KEY_0 0x6CDFFD44u
#define VIGIL_MERKLE_LEAF_KEY_1 0x7D910D5Fu
#define VIGIL_MERKLE_LEAF_KEY_2 0xA9EA1759u
#define VIGIL_MERKLE_LEAF_KEY_3 0xA5066F64u
#define VIGIL_MERKLE_LEAF_KEY_4 0x1373D6EDu
#define VIGIL_MERKLE_LEAF_KEY_5 0x4272EB76u
#define VIGIL_MERKLE_LEAF_KEY_6 0xE3BEAE07u
#define VIGIL_MERKLE_LEAF_KEY_7 0x426330E2u

/* hash_derive_key_context("vigil-merkle-v1 node") as 8 LE words. */
#define VIGIL_MERKLE_NODE_KEY_0 0x842E0D09u
#define VIGIL_MERKLE_NODE_KEY_1 0x41DF1F49u
#define VIGIL_MERKLE_NODE_KEY_2 0x34AAA295u
#define VIGIL_MERKLE_NODE_KEY_3 0x0CA265E5u
#define VIGIL_MERKLE_NODE_KEY_4 0x161E5CCBu
#define VIGIL_MERKLE_NODE_KEY_5 0x10CC8D64u
#define VIGIL_MERKLE_NODE_KEY_6 0x3A88A5DAu
#define VIGIL_MERKLE_NODE_KEY_7 0xE0BBA1CAu

/* The flags of NODE's single compression: the only block of the only chunk, the root. */
#define VIGIL_MERKLE_NODE_FLAGS                                                   \
  (VIGIL_BLAKE3_CHUNK_START | VIGIL_BLAKE3_CHUNK_END | VIGIL_BLAKE3_ROOT |       \
   VIGIL_BLAKE3_DERIVE_KEY_MATERIAL)

/*
 * Work-group size of vigil_merkle_reduce (a power of two). A group reduces 2 * this many
 * nodes to one; the host launches it with exactly this local size (any smaller power of
 * two also works, with 2 * local size nodes per group; a larger one writes nothing).
 */
#define VIGIL_MERKLE_REDUCE_GROUP 128

/* ------------------------------------------------------------------------------------ */
/* The compression function. */

#define VIGIL_B3_ROTR(x, n) (((x) >> (n)) | ((x) << (32u - (n))))

/* The quarter-round G on state words a, b, c, d with message words x, y. */
#define VIGIL_B3_G(a, b, c, d, x, y)   \
  a = a + b + (x);                     \
  d = VIGIL_B3_ROTR(d ^ a, 16u);       \
  c = c + d;                           \
  b = VIGIL_B3_ROTR(b ^ c, 12u);       \
  a = a + b + (y);                     \
  d = VIGIL_B3_ROTR(d ^ a, 8u);        \
  c = c + d;                           \
  b = VIGIL_B3_ROTR(b ^ c, 7u);

/* One round: columns, then diagonals; s0..s15 are the round's permuted message words. */
#define VIGIL_B3_ROUND(s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, \
                       s15)                                                            \
  VIGIL_B3_G(v0, v4, v8, v12, s0, s1)                                                  \
  VIGIL_B3_G(v1, v5, v9, v13, s2, s3)                                                  \
  VIGIL_B3_G(v2, v6, v10, v14, s4, s5)                                                 \
  VIGIL_B3_G(v3, v7, v11, v15, s6, s7)                                                 \
  VIGIL_B3_G(v0, v5, v10, v15, s8, s9)                                                 \
  VIGIL_B3_G(v1, v6, v11, v12, s10, s11)                                               \
  VIGIL_B3_G(v2, v7, v8, v13, s12, s13)                                                \
  VIGIL_B3_G(v3, v4, v9, v14, s14, s15)

/*
 * cv = the first 8 words of compress(cv, m, counter, block_len, flags): the chaining value
 * of a block (or, with ROOT, the first 32 bytes of the output); cv is an array of 8 u32,
 * m one of 16, both private, the other arguments u32 values.
 *
 * The seven rounds are written out with the message permutation already applied (round
 * r uses the permutation applied r times), so every message word is a named value: no
 * data moves between rounds and no index is computed at run time. Cost: 7 rounds x 8 G
 * x 14 integer operations (6 additions, 4 xors, 4 rotations) + 8 xors for the output,
 * about 790 operations.
 *
 * It is a statement macro, not a function, so that it is expanded in place at each of
 * its two uses (a chunk's block or parent in vigil_blake3_hash_global, a NODE in
 * vigil_merkle_node) whatever the compiler's inlining heuristics think of its size:
 * cv and m are then private arrays indexed by constants only, which stay in registers,
 * where a call would pass them through (per-thread local) memory.
 */
#define VIGIL_BLAKE3_COMPRESS(cv, m, counter_lo, counter_hi, block_len, flags)          \
  do {                                                                                 \
    const u32 m0 = (m)[0], m1 = (m)[1], m2 = (m)[2], m3 = (m)[3];                      \
    const u32 m4 = (m)[4], m5 = (m)[5], m6 = (m)[6], m7 = (m)[7];                      \
    const u32 m8 = (m)[8], m9 = (m)[9], m10 = (m)[10], m11 = (m)[11];                  \
    const u32 m12 = (m)[12], m13 = (m)[13], m14 = (m)[14], m15 = (m)[15];              \
    u32 v0 = (cv)[0], v1 = (cv)[1], v2 = (cv)[2], v3 = (cv)[3];                        \
    u32 v4 = (cv)[4], v5 = (cv)[5], v6 = (cv)[6], v7 = (cv)[7];                        \
    u32 v8 = VIGIL_BLAKE3_IV_0, v9 = VIGIL_BLAKE3_IV_1;                                \
    u32 v10 = VIGIL_BLAKE3_IV_2, v11 = VIGIL_BLAKE3_IV_3;                              \
    u32 v12 = (counter_lo), v13 = (counter_hi), v14 = (block_len), v15 = (flags);      \
    VIGIL_B3_ROUND(m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15) \
    VIGIL_B3_ROUND(m2, m6, m3, m10, m7, m0, m4, m13, m1, m11, m12, m5, m9, m14, m15, m8) \
    VIGIL_B3_ROUND(m3, m4, m10, m12, m13, m2, m7, m14, m6, m5, m9, m0, m11, m15, m8, m1) \
    VIGIL_B3_ROUND(m10, m7, m12, m9, m14, m3, m13, m15, m4, m0, m11, m2, m5, m8, m1, m6) \
    VIGIL_B3_ROUND(m12, m13, m9, m11, m15, m10, m14, m8, m7, m2, m5, m3, m0, m1, m6, m4) \
    VIGIL_B3_ROUND(m9, m14, m11, m5, m8, m12, m15, m1, m13, m3, m0, m10, m2, m6, m4, m7) \
    VIGIL_B3_ROUND(m11, m15, m5, m0, m1, m9, m8, m6, m14, m10, m2, m12, m3, m4, m7, m13) \
    (cv)[0] = v0 ^ v8;                                                                 \
    (cv)[1] = v1 ^ v9;                                                                 \
    (cv)[2] = v2 ^ v10;                                                                \
    (cv)[3] = v3 ^ v11;                                                                \
    (cv)[4] = v4 ^ v12;                                                                \
    (cv)[5] = v5 ^ v13;                                                                \
    (cv)[6] = v6 ^ v14;                                                                \
    (cv)[7] = v7 ^ v15;                                                                \
  } while (0)

/* ------------------------------------------------------------------------------------ */
/* Reading input from device memory. */

/* Bytes off .. off + 3 of p as a little-endian word, bytes at or past n read as zero. */
VIGIL_DEVICE u32 vigil_blake3_word_bytes(const VIGIL_GLOBAL u8 *p, u32 off, u32 n)
{
  u32 w = 0u;
  if (off < n) w |= (u32)p[off];
  if (off + 1u < n) w |= (u32)p[off + 1u] << 8;
  if (off + 2u < n) w |= (u32)p[off + 2u] << 16;
  if (off + 3u < n) w |= (u32)p[off + 3u] << 24;
  return w;
}

/*
 * m = the block at p: min(avail, 64) bytes, zero-padded to 64. Reads only the words
 * that hold at least one of those bytes.
 *
 *   - a whole block at a 4-byte-aligned address: 16 word loads;
 *   - a whole block at an unaligned address: the 17 aligned words that cover it, each
 *     message word put together from two neighbours by shifts (taken only while the
 *     17th word still lies inside the input, so nothing past its end is touched);
 *   - otherwise (the last, short block of an input, or the last unaligned whole block):
 *     byte loads.
 */
VIGIL_DEVICE void vigil_blake3_load_block(const VIGIL_GLOBAL u8 *p, u32 avail, u32 m[16])
{
  const u32 s = (u32)((u64)p) & 3u;
  if (avail >= 64u && s == 0u) {
    const VIGIL_GLOBAL u32 *q = (const VIGIL_GLOBAL u32 *)p;
    m[0] = q[0];
    m[1] = q[1];
    m[2] = q[2];
    m[3] = q[3];
    m[4] = q[4];
    m[5] = q[5];
    m[6] = q[6];
    m[7] = q[7];
    m[8] = q[8];
    m[9] = q[9];
    m[10] = q[10];
    m[11] = q[11];
    m[12] = q[12];
    m[13] = q[13];
    m[14] = q[14];
    m[15] = q[15];
  } else if (s != 0u && avail >= 68u - s) {
    const VIGIL_GLOBAL u32 *q = (const VIGIL_GLOBAL u32 *)(p - s);
    const u32 lo = 8u * s, hi = 32u - lo;
    const u32 w0 = q[0], w1 = q[1], w2 = q[2], w3 = q[3], w4 = q[4], w5 = q[5];
    const u32 w6 = q[6], w7 = q[7], w8 = q[8], w9 = q[9], w10 = q[10], w11 = q[11];
    const u32 w12 = q[12], w13 = q[13], w14 = q[14], w15 = q[15], w16 = q[16];
    m[0] = (w0 >> lo) | (w1 << hi);
    m[1] = (w1 >> lo) | (w2 << hi);
    m[2] = (w2 >> lo) | (w3 << hi);
    m[3] = (w3 >> lo) | (w4 << hi);
    m[4] = (w4 >> lo) | (w5 << hi);
    m[5] = (w5 >> lo) | (w6 << hi);
    m[6] = (w6 >> lo) | (w7 << hi);
    m[7] = (w7 >> lo) | (w8 << hi);
    m[8] = (w8 >> lo) | (w9 << hi);
    m[9] = (w9 >> lo) | (w10 << hi);
    m[10] = (w10 >> lo) | (w11 << hi);
    m[11] = (w11 >> lo) | (w12 << hi);
    m[12] = (w12 >> lo) | (w13 << hi);
    m[13] = (w13 >> lo) | (w14 << hi);
    m[14] = (w14 >> lo) | (w15 << hi);
    m[15] = (w15 >> lo) | (w16 << hi);
  } else {
    const u32 n = avail < 64u ? avail : 64u;
    m[0] = vigil_blake3_word_bytes(p, 0u, n);
    m[1] = vigil_blake3_word_bytes(p, 4u, n);
    m[2] = vigil_blake3_word_bytes(p, 8u, n);
    m[3] = vigil_blake3_word_bytes(p, 12u, n);
    m[4] = vigil_blake3_word_bytes(p, 16u, n);
    m[5] = vigil_blake3_word_bytes(p, 20u, n);
    m[6] = vigil_blake3_word_bytes(p, 24u, n);
    m[7] = vigil_blake3_word_bytes(p, 28u, n);
    m[8] = vigil_blake3_word_bytes(p, 32u, n);
    m[9] = vigil_blake3_word_bytes(p, 36u, n);
    m[10] = vigil_blake3_word_bytes(p, 40u, n);
    m[11] = vigil_blake3_word_bytes(p, 44u, n);
    m[12] = vigil_blake3_word_bytes(p, 48u, n);
    m[13] = vigil_blake3_word_bytes(p, 52u, n);
    m[14] = vigil_blake3_word_bytes(p, 56u, n);
    m[15] = vigil_blake3_word_bytes(p, 60u, n);
  }
}

/* ------------------------------------------------------------------------------------ */
/* Whole hashes. */

/*
 * out = the 32-byte BLAKE3 output (as 8 words) of the len bytes at data, hashed under
 * key with mode added to every compression's flags (0 with the IV as key: plain hash;
 * KEYED_HASH; or DERIVE_KEY_MATERIAL with a context key: derive-key mode).
 *
 * The chunk tree is built the way BLAKE3's incremental hasher builds it: each finished
 * chunk's chaining value is merged with the stack's top while the number of chunks
 * finished so far is even, then pushed; the last chunk is never pushed, and at the end
 * it is merged with the stack from the top down, the last merge (or, for one chunk, the
 * chunk's last block) carrying ROOT.
 *
 * Every pass of the loop below makes exactly one compression, a chunk's block or a
 * parent, through the one call site: work-items of a work-group that hash inputs of
 * different lengths then still run the compression together (SIMT lanes converge on
 * it) instead of taking turns between a block path and a merge path.
 *
 * The stack is the only private array indexed at run time (by its depth); GPUs keep it in
 * per-thread local memory, touched once per chunk (1024 bytes, 16 compressions) at most.
 */
VIGIL_DEVICE void vigil_blake3_hash_global(const VIGIL_GLOBAL u8 *data, u32 len,
                                           const u32 key[8], u32 mode, u32 out[8])
{
  u32 stack[VIGIL_BLAKE3_MAX_DEPTH * 8];
  u32 cv[8];
  u32 m[16];
  /* Chunks in the input (an empty input is one empty chunk). */
  const u32 chunks = len == 0u ? 1u : (len >> 10) + ((len & 1023u) != 0u ? 1u : 0u);
  u32 chunk = 0u;   /* the chunk being hashed (its index is its counter) */
  u32 block = 0u;   /* the next block of that chunk */
  u32 depth = 0u;   /* entries on the stack */
  u32 pending = 0u; /* a finished chunk's chaining value is in cv, not yet pushed */
  u32 finished = 0u; /* chunks finished so far, shifted right once per merge */
  u32 closing = 0u; /* the last chunk is done; merging the stack into it */

  for (;;) {
    u32 k, counter, block_len, flags, is_block, is_last_block = 0u;

    if (pending != 0u && (finished & 1u) != 0u) {
      /* No more merges for this chunk: push its chaining value. */
      const u32 at = depth * 8u;
      stack[at + 0u] = cv[0];
      stack[at + 1u] = cv[1];
      stack[at + 2u] = cv[2];
      stack[at + 3u] = cv[3];
      stack[at + 4u] = cv[4];
      stack[at + 5u] = cv[5];
      stack[at + 6u] = cv[6];
      stack[at + 7u] = cv[7];
      depth += 1u;
      pending = 0u;
    }
    if (closing != 0u && depth == 0u) break;

    is_block = (pending | closing) == 0u ? 1u : 0u;
    if (is_block == 0u) {
      /* A parent: the top of the stack on the left, cv on the right, under the key. */
      depth -= 1u;
      const u32 at = depth * 8u;
      m[0] = stack[at + 0u];
      m[1] = stack[at + 1u];
      m[2] = stack[at + 2u];
      m[3] = stack[at + 3u];
      m[4] = stack[at + 4u];
      m[5] = stack[at + 5u];
      m[6] = stack[at + 6u];
      m[7] = stack[at + 7u];
      m[8] = cv[0];
      m[9] = cv[1];
      m[10] = cv[2];
      m[11] = cv[3];
      m[12] = cv[4];
      m[13] = cv[5];
      m[14] = cv[6];
      m[15] = cv[7];
      counter = 0u;
      block_len = VIGIL_BLAKE3_BLOCK_LEN;
      flags = mode | VIGIL_BLAKE3_PARENT;
      if (closing != 0u && depth == 0u) flags |= VIGIL_BLAKE3_ROOT;
      finished >>= 1;
    } else {
      const u32 chunk_len =
          chunk + 1u < chunks ? VIGIL_BLAKE3_CHUNK_LEN : len - (chunk << 10);
      const u32 offset = block << 6;
      const u32 avail = chunk_len - offset;
      vigil_blake3_load_block(data + ((chunk << 10) + offset), avail, m);
      counter = chunk;
      block_len = avail < 64u ? avail : 64u;
      is_last_block = offset + 64u >= chunk_len ? 1u : 0u;
      flags = mode;
      if (block == 0u) flags |= VIGIL_BLAKE3_CHUNK_START;
      if (is_last_block != 0u) {
        flags |= VIGIL_BLAKE3_CHUNK_END;
        if (chunks == 1u) flags |= VIGIL_BLAKE3_ROOT;
      }
    }
    if (is_block == 0u || block == 0u) {
      /* A parent, or a chunk's first block, starts from the key. */
      for (k = 0u; k < 8u; ++k) cv[k] = key[k];
    }

    VIGIL_BLAKE3_COMPRESS(cv, m, counter, 0u, block_len, flags);

    if (is_block != 0u) {
      if (is_last_block == 0u) {
        block += 1u;
      } else if (chunk + 1u < chunks) {
        chunk += 1u;
        block = 0u;
        pending = 1u;
        finished = chunk;
      } else if (chunks == 1u) {
        break;
      } else {
        closing = 1u;
      }
    }
  }
  out[0] = cv[0];
  out[1] = cv[1];
  out[2] = cv[2];
  out[3] = cv[3];
  out[4] = cv[4];
  out[5] = cv[5];
  out[6] = cv[6];
  out[7] = cv[7];
}

/* ------------------------------------------------------------------------------------ */
/* The vigil-merkle-v1 hashes. */

/* out = LEAF(the len bytes at data). */
VIGIL_DEVICE void vigil_merkle_leaf(const VIGIL_GLOBAL u8 *data, u32 len, u32 out[8])
{
  const u32 key[8] = {VIGIL_MERKLE_LEAF_KEY_0, VIGIL_MERKLE_LEAF_KEY_1,
                      VIGIL_MERKLE_LEAF_KEY_2, VIGIL_MERKLE_LEAF_KEY_3,
                      VIGIL_MERKLE_LEAF_KEY_4, VIGIL_MERKLE_LEAF_KEY_5,
                      VIGIL_MERKLE_LEAF_KEY_6, VIGIL_MERKLE_LEAF_KEY_7};
  vigil_blake3_hash_global(data, len, key, VIGIL_BLAKE3_DERIVE_KEY_MATERIAL, out);
}

/*
 * out = NODE(l, r), where m = l || r as 16 words (the left hash's 8 words, then the
 * right's); out is an array of 8 u32 and m one of 16, both private. One compression with
 * the key and the flags constant, so the compiler folds what depends on them alone. A
 * statement macro for the reason VIGIL_BLAKE3_COMPRESS is one: each kernel that hashes
 * nodes gets the compression expanded in place, its state in registers.
 */
#define VIGIL_MERKLE_NODE(m, out)                                                     \
  do {                                                                               \
    (out)[0] = VIGIL_MERKLE_NODE_KEY_0;                                              \
    (out)[1] = VIGIL_MERKLE_NODE_KEY_1;                                              \
    (out)[2] = VIGIL_MERKLE_NODE_KEY_2;                                              \
    (out)[3] = VIGIL_MERKLE_NODE_KEY_3;                                              \
    (out)[4] = VIGIL_MERKLE_NODE_KEY_4;                                              \
    (out)[5] = VIGIL_MERKLE_NODE_KEY_5;                                              \
    (out)[6] = VIGIL_MERKLE_NODE_KEY_6;                                              \
    (out)[7] = VIGIL_MERKLE_NODE_KEY_7;                                              \
    VIGIL_BLAKE3_COMPRESS(out, m, 0u, 0u, VIGIL_BLAKE3_BLOCK_LEN, VIGIL_MERKLE_NODE_FLAGS); \
  } while (0)

#endif /* VIGIL_BLAKE3_H */
