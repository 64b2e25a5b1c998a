/*
 * ed25519.h: Ed25519 signature verification, one signature per work-item, under the
 * three profiles of host/core/src/profile.rs (strict, rfc8032, zip215). kernels/ED25519.md
 * has the design and the cost estimate; in short, four kernels per batch:
 *
 *   k  = SHA-512(R || A || M) mod L            vigil_ed25519_challenge
 *   S < L, A decompresses, [1..8](-A)           vigil_ed25519_prepare_one
 *   R' = [S]B + [k](-A)                        vigil_ed25519_double_scalarmult:
 *        Straus' method, both scalars in signed radix 16 (64 digits in [-8, 8]) sharing
 *        one chain of 252 doublings; per digit one addition of a multiple of -A from the
 *        signature's table in global memory and one of a multiple of B from a copy of
 *        the VIGIL_CONSTANT table of ed25519_base.h in work-group memory, each read at
 *        the entry the digit names.
 *   the profile's check                        vigil_ed25519_check_one
 *
 * Split so that no kernel holds more than one phase's state: each fits the register
 * budget of kernels/cuda-budget.tsv. Inputs are read from global memory byte by byte
 * (offsets need not be aligned).
 */
#ifndef VIGIL_ED25519_H
#define VIGIL_ED25519_H

#include "vigil/vendor.h"
#include "vigil/fe25519.h"
#include "vigil/ge25519.h"
#include "vigil/sc25519.h"
#include "vigil/sha512.h"
#include "vigil/ed25519_base.h"

/* Profile codes (kernels/src/lib.rs profile_code). */
#define VIGIL_ED25519_STRICT 0u
#define VIGIL_ED25519_RFC8032 1u
#define VIGIL_ED25519_ZIP215 2u

/* 32 bytes at p (any alignment) as 8 little-endian words. */
VIGIL_DEVICE void vigil_ed25519_load32(u32 w[8], const VIGIL_GLOBAL u8 *p) {
#pragma unroll
  for (int i = 0; i < 8; i++)
    w[i] = (u32)p[4 * i] | ((u32)p[4 * i + 1] << 8) | ((u32)p[4 * i + 2] << 16) |
           ((u32)p[4 * i + 3] << 24);
}

/*
 * Word q/8 of the padded SHA-512 input R || A || M || 0x80 || 0* || (8n as 128 bits),
 * n = 64 + mlen: R is 32 bytes at arena[r_at], A 32 bytes at arena[a_at], M mlen bytes
 * at arena[m_at]. q is a multiple of 8; last_word says whether this is the final word
 * of the final block (the low 64 bits of the bit length; the high 64 bits are 0 because
 * n < 2^33).
 */
VIGIL_DEVICE u64 vigil_ed25519_stream_word(const VIGIL_GLOBAL u8 *arena, u32 r_at, u32 a_at,
                                           u32 m_at, u64 n, u64 q, int last_word) {
  if (q < 32) return vigil_sha512_load_be64(arena + r_at + (u32)q);
  if (q < 64) return vigil_sha512_load_be64(arena + a_at + (u32)(q - 32));
  if (q + 8 <= n) return vigil_sha512_load_be64(arena + m_at + (u32)(q - 64));
  if (last_word) return n << 3;
  u64 word = 0;
  for (int i = 0; i < 8; i++) {
    u64 pos = q + (u64)i;
    u64 byte = 0;
    if (pos < n) byte = arena[m_at + (u32)(pos - 64)];
    else if (pos == n) byte = 0x80u;
    word |= byte << (56 - 8 * i);
  }
  return word;
}

/*
 * k[0..8) = SHA-512(R || A || M) mod L as little-endian words; the hash is read as a
 * 512-bit little-endian integer (RFC 8032 section 5.1.7 step 2).
 */
VIGIL_DEVICE void vigil_ed25519_compute_challenge(u32 k[8], const VIGIL_GLOBAL u8 *arena,
                                                  u32 r_at, u32 a_at, u32 m_at, u32 mlen) {
  vigil_sha512_state st;
  vigil_sha512_init(&st);
  u64 n = 64u + (u64)mlen;
  /* Blocks: the data, at least 1 byte of 0x80 and 16 of length, rounded up to 128. */
  u64 blocks = (n + 16u + 1u + 127u) >> 7;
  for (u64 b = 0; b < blocks; b++) {
    u64 q = b << 7;
    int last = (b + 1 == blocks);
    u64 w[16];
    w[0] = vigil_ed25519_stream_word(arena, r_at, a_at, m_at, n, q + 0, 0);
    w[1] = vigil_ed25519_stream_word(arena, r_at, a_at, m_at, n, q + 8, 0);
    w[2] = vigil_ed25519_stream_word(arena, r_at, a_at, m_at, n, q + 16, 0);
    w[3] = vigil_ed25519_stream_word(arena, r_at, a_at, m_at, n, q + 24, 0);
    w[4] = vigil_ed25519_stream_word(arena, r_at, a_at, m_at, n, q + 32, 0);
    w[5] = vigil_ed25519_stream_word(arena, r_at, a_at, m_at, n, q + 40, 0);
    w[6] = vigil_ed25519_stream_word(arena, r_at, a_at, m_at, n, q + 48, 0);
    w[7] = vigil_ed25519_stream_word(arena, r_at, a_at, m_at, n, q + 56, 0);
    w[8] = vigil_ed25519_stream_word(arena, r_at, a_at, m_at, n, q + 64, 0);
    w[9] = vigil_ed25519_stream_word(arena, r_at, a_at, m_at, n, q + 72, 0);
    w[10] = vigil_ed25519_stream_word(arena, r_at, a_at, m_at, n, q + 80, 0);
    w[11] = vigil_ed25519_stream_word(arena, r_at, a_at, m_at, n, q + 88, 0);
    w[12] = vigil_ed25519_stream_word(arena, r_at, a_at, m_at, n, q + 96, 0);
    w[13] = vigil_ed25519_stream_word(arena, r_at, a_at, m_at, n, q + 104, 0);
    w[14] = vigil_ed25519_stream_word(arena, r_at, a_at, m_at, n, q + 112, 0);
    w[15] = vigil_ed25519_stream_word(arena, r_at, a_at, m_at, n, q + 120, last);
    vigil_sha512_compress(&st, w);
  }
  /* Digest byte 8i + j is byte 7 - j of h[i] (big-endian words); as little-endian
   * 32-bit words that is a byte swap of each half. */
  u32 x[16];
#pragma unroll
  for (int i = 0; i < 8; i++) {
    u32 hi = (u32)(st.h[i] >> 32), lo = (u32)st.h[i];
    x[2 * i] = (hi >> 24) | ((hi >> 8) & 0xff00u) | ((hi << 8) & 0xff0000u) | (hi << 24);
    x[2 * i + 1] = (lo >> 24) | ((lo >> 8) & 0xff00u) | ((lo << 8) & 0xff0000u) | (lo << 24);
  }
  vigil_sc_reduce512(k, x);
}

/*
 * Per-signature device memory. The three kernels after the challenge hand each other
 * their work through global buffers of W words per signature, laid out in slabs of
 * VIGIL_GROUP signatures so that the work-items of a warp touch adjacent words and every
 * offset within a signature's words is a constant: word w of signature s is at
 * (s / VIGIL_GROUP) * W * VIGIL_GROUP + w * VIGIL_GROUP + s % VIGIL_GROUP
 * (vigil_ed25519_slab; a buffer holds whole slabs, W x VIGIL_GROUP x ceil(n / VIGIL_GROUP)
 * words). With a run-time stride (the batch size) instead, the compiler kept dozens of
 * 64-bit word offsets live in registers.
 *
 *   table  336 words: [1..8](-A) as cached points, entry e at words 40e .. 40e + 40
 *          (Y + X, Y - X, Z, 2dT, ten limbs each), then S and k in signed radix 16
 *          (vigil_sc_recode16), 8 words each, at words 320 .. 336. One buffer for both,
 *          so that the multiplication's loop keeps one pointer, not two (a register
 *          that the 128-register loop spilled).
 *   state  1 word, plainly indexed: 1 if the signature goes on to the curve
 *          arithmetic, 0 if it is already invalid (S >= L, A does not decompress,
 *          small-order A under strict)
 *
 * After the double-scalar multiplication, words 0 .. 40 of the table hold
 * R' = [S]B + [k](-A) in extended coordinates (X, Y, Z, T) instead of [1](-A): the loop
 * writes its result through the table's address, which it holds anyway, rather than
 * keep the signature's index live in a register for the whole loop to address another
 * buffer.
 */
#define VIGIL_ED25519_TABLE_WORDS 336u
#define VIGIL_ED25519_DIGITS_AT 320u
#define VIGIL_ED25519_STRIDE ((u32)VIGIL_GROUP)

/* The index of word 0 of signature s in a buffer of `words` words per signature. */
VIGIL_DEVICE u32 vigil_ed25519_slab(u32 words, u32 s) {
  return (s / VIGIL_ED25519_STRIDE) * words * VIGIL_ED25519_STRIDE + s % VIGIL_ED25519_STRIDE;
}

/* Stores f as words 0..10 of a signature's words (at: its word 0, vigil_ed25519_slab). */
VIGIL_DEVICE void vigil_ed25519_put_fe(VIGIL_GLOBAL u32 *at, const vigil_fe *f) {
#pragma unroll
  for (int i = 0; i < 10; i++) at[(u32)i * VIGIL_ED25519_STRIDE] = f->v[i];
}

/* Loads words 0..10 of a signature's words into f. */
VIGIL_DEVICE void vigil_ed25519_get_fe(vigil_fe *f, const VIGIL_GLOBAL u32 *at) {
#pragma unroll
  for (int i = 0; i < 10; i++) f->v[i] = at[(u32)i * VIGIL_ED25519_STRIDE];
}

/* Stores the extended point p in cached form (Y + X, Y - X, Z, 2dT, each carried to
 * tight), one coordinate at a time, so that the cached point is never whole in
 * registers. 1M. */
VIGIL_DEVICE void vigil_ed25519_put_as_cached(VIGIL_GLOBAL u32 *at,
                                              const vigil_ge_p3 *p) {
  vigil_fe t;
  vigil_fe_add_carry(&t, &p->Y, &p->X);
  vigil_ed25519_put_fe(at, &t);
  vigil_fe_sub_carry(&t, &p->Y, &p->X);
  vigil_ed25519_put_fe(at + 10u * VIGIL_ED25519_STRIDE, &t);
  vigil_ed25519_put_fe(at + 20u * VIGIL_ED25519_STRIDE, &p->Z);
  vigil_fe_set_2d(&t);
  vigil_fe_mul(&t, &p->T, &t);
  vigil_ed25519_put_fe(at + 30u * VIGIL_ED25519_STRIDE, &t);
}

VIGIL_DEVICE void vigil_ed25519_put_p3(VIGIL_GLOBAL u32 *at, const vigil_ge_p3 *p) {
  vigil_ed25519_put_fe(at, &p->X);
  vigil_ed25519_put_fe(at + 10u * VIGIL_ED25519_STRIDE, &p->Y);
  vigil_ed25519_put_fe(at + 20u * VIGIL_ED25519_STRIDE, &p->Z);
  vigil_ed25519_put_fe(at + 30u * VIGIL_ED25519_STRIDE, &p->T);
}

VIGIL_DEVICE void vigil_ed25519_get_p3(vigil_ge_p3 *p, const VIGIL_GLOBAL u32 *at) {
  vigil_ed25519_get_fe(&p->X, at);
  vigil_ed25519_get_fe(&p->Y, at + 10u * VIGIL_ED25519_STRIDE);
  vigil_ed25519_get_fe(&p->Z, at + 20u * VIGIL_ED25519_STRIDE);
  vigil_ed25519_get_fe(&p->T, at + 30u * VIGIL_ED25519_STRIDE);
}

/* The base-point table in work-group memory: entry 0 the identity, entry j = [j]B, each
 * 30 words (y + x, y - x, 2dxy). Every work-item of the group calls this, then waits. */
#define VIGIL_ED25519_BASE_WORDS 270u
VIGIL_DEVICE void vigil_ed25519_load_base(VIGIL_LOCAL_PTR u32 *base) {
  for (u32 i = VIGIL_LOCAL_ID(); i < VIGIL_ED25519_BASE_WORDS; i += VIGIL_LOCAL_SIZE()) {
    u32 v;
    if (i < 30u) v = (i == 0u || i == 10u) ? 1u : 0u;
    else v = vigil_ed25519_base_niels[(i - 30u) / 30u][((i - 30u) % 30u) / 10u][(i - 30u) % 10u];
    base[i] = v;
  }
  VIGIL_BARRIER();
}

/*
 * A digit's table entry, read one coordinate at a time, right before the
 * multiplication that takes it, so that no whole point is ever held in registers. Every
 * verifier input is public, so the address may depend on the digit. For a digit e in
 * [-8, 8]: mag = |e|, neg = 1 if e < 0; a negative digit takes -(x, y) = (-x, y), whose
 * cached (or Niels) form swaps the first two coordinates and negates the last.
 */
typedef struct {
  u32 mag, neg;
} vigil_ed25519_digit;

VIGIL_DEVICE vigil_ed25519_digit vigil_ed25519_digit_of(i32 e) {
  vigil_ed25519_digit d;
  d.neg = (u32)e >> 31;
  d.mag = ((u32)e ^ (0u - d.neg)) + d.neg;
  return d;
}

/* Coordinate `coord` (0: Y + X, 1: Y - X, 2: Z, 3: 2dT) of [e](-A), from the signature's
 * table in global memory (at); the identity (1, 1, 1, 0) for e = 0. Tight,
 * except a negated 2dT in B(2). */
VIGIL_DEVICE void vigil_ed25519_cached_coord(vigil_fe *g, const VIGIL_GLOBAL u32 *at, vigil_ed25519_digit d, u32 coord) {
  u32 keep = 0u - (u32)(d.mag != 0u);
  u32 entry = d.mag - (keep & 1u);
  u32 c = coord < 2u ? coord ^ d.neg : coord;
  vigil_ed25519_get_fe(g, at + (40u * entry + 10u * c) * VIGIL_ED25519_STRIDE);
#pragma unroll
  for (int l = 0; l < 10; l++) g->v[l] &= keep;
  g->v[0] |= ~keep & (u32)(coord != 3u);
  if (coord == 3u) {
    vigil_fe t;
    vigil_fe_neg(&t, g);
    vigil_fe_cmov(g, &t, 0u - d.neg);
  }
}

/* Coordinate `coord` (0: y + x, 1: y - x, 2: 2dxy) of [e]B from the work-group's table
 * (entry 0 is the identity). Tight, except a negated 2dxy in B(2). */
VIGIL_DEVICE void vigil_ed25519_niels_coord(vigil_fe *g, const VIGIL_LOCAL_PTR u32 *base,
                                            vigil_ed25519_digit d, u32 coord) {
  u32 c = coord < 2u ? coord ^ d.neg : coord;
  const VIGIL_LOCAL_PTR u32 *b = base + 30u * d.mag + 10u * c;
#pragma unroll
  for (int l = 0; l < 10; l++) g->v[l] = b[l];
  if (coord == 2u) {
    vigil_fe t;
    vigil_fe_neg(&t, g);
    vigil_fe_cmov(g, &t, 0u - d.neg);
  }
}

/*
 * r = P + [e](-A), P given by its addends (vigil_ge_addends), cached right operand ->
 * completed (HWCD08 section 3.1, "add-2008-hwcd-3", a = -1, k = 2d), 4M, with each
 * coordinate of the cached point read as its multiplication needs it:
 * TT = T1 * 2dT2, ZZ2 = 2 Z1 Z2, PP = (Y1 + X1)(Y2 + X2), MM = (Y1 - X1)(Y2 - X2), each
 * addend dying at its product. The entry is tight but a negated 2dT2 (B(2));
 * multiplication inputs are at most B(3.01). r may be the point the addends came from.
 */
VIGIL_DEVICE void vigil_ed25519_add_a(vigil_ge_p1p1 *r, const vigil_ge_addends *p,
                                      const VIGIL_GLOBAL u32 *at, vigil_ed25519_digit d) {
  vigil_fe g, PP, MM, TT, ZZ2;
  vigil_ed25519_cached_coord(&g, at, d, 3u);
  vigil_fe_mul(&TT, &p->t, &g);
  vigil_ed25519_cached_coord(&g, at, d, 2u);
  vigil_fe_mul(&ZZ2, &p->z, &g);
  vigil_fe_add(&ZZ2, &ZZ2, &ZZ2);        /* B(2.02) */
  vigil_ed25519_cached_coord(&g, at, d, 0u);
  vigil_fe_mul(&PP, &p->ypx, &g);
  vigil_ed25519_cached_coord(&g, at, d, 1u);
  vigil_fe_mul(&MM, &p->ymx, &g);
  vigil_ge_p1p1_from_products(r, &PP, &MM, &TT, &ZZ2);
}

/* r = P + [e]B, affine Niels right operand -> completed, 3M: as vigil_ed25519_add_a with
 * Z2 = 1 (ZZ2 = 2 Z1, B(2.02)), the coordinates from the work-group's table. */
VIGIL_DEVICE void vigil_ed25519_add_b(vigil_ge_p1p1 *r, const vigil_ge_addends *p,
                                      const VIGIL_LOCAL_PTR u32 *base, vigil_ed25519_digit d) {
  vigil_fe g, PP, MM, TT, Z2;
  vigil_ed25519_niels_coord(&g, base, d, 2u);
  vigil_fe_mul(&TT, &p->t, &g);
  vigil_fe_add(&Z2, &p->z, &p->z);
  vigil_ed25519_niels_coord(&g, base, d, 0u);
  vigil_fe_mul(&PP, &p->ypx, &g);
  vigil_ed25519_niels_coord(&g, base, d, 1u);
  vigil_fe_mul(&MM, &p->ymx, &g);
  vigil_ge_p1p1_from_products(r, &PP, &MM, &TT, &Z2);
}

/* Digit i (0 = the top one) of a scalar recoded by vigil_sc_recode16 and stored as 8
 * words (at): nibble 7 - (i mod 8) of word 7 - i / 8, in [-8, 8]. */
VIGIL_DEVICE i32 vigil_ed25519_digit_at(const VIGIL_GLOBAL u32 *at, u32 i) {
  u32 w = at[(7u - (i >> 3)) * VIGIL_ED25519_STRIDE];
  u32 nibble = (w >> (28u - 4u * (i & 7u))) & 15u;
  return (i32)(nibble ^ 8u) - 8;
}

/*
 * R' = [s]B + [k](-A), s, k < 2^253, given the signature's table (at: [1..8](-A), then
 * the signed radix-16 digits of s and of k, 8 words each, as vigil_sc_recode16 packs
 * them) and B's table in work-group memory; R' goes to words 0 .. 40 of the table. Digits from the top: for i = 63 .. 0,
 *   acc = 16 acc (4 doublings; skipped for the first digit, acc being the identity),
 *   acc += [k_i](-A), acc += [s_i]B.
 * Per digit after the first: 4 x (completed -> projective 3M, doubling 4S): 16S + 12M.
 * Per digit: the addends of the completed point (its extended form, 4M), cached
 * addition 4M, addends again 4M, Niels addition 3M: 15M. In all 1008S + 1716M, plus 4M
 * for the result. Live across the loop: the completed point (40 words), the table's
 * address and the digit index; digits and table entries come from memory as they are
 * used, and no extended point is ever formed whole (vigil_ge_addends).
 */
VIGIL_DEVICE void vigil_ed25519_double_scalarmult(VIGIL_GLOBAL u32 *at,
                                                  const VIGIL_LOCAL_PTR u32 *base) {
  const VIGIL_GLOBAL u32 *ds = at + VIGIL_ED25519_DIGITS_AT * VIGIL_ED25519_STRIDE;
  const VIGIL_GLOBAL u32 *dk = ds + 8u * VIGIL_ED25519_STRIDE;
  vigil_ge_p1p1 c;
  vigil_ge_p2 q;
  vigil_ge_addends e;
  vigil_ge_p1p1_identity(&c);
  for (u32 i = 0; i < 64u; i++) {
    if (i != 0u) {
      /* Rolled: unrolled, the loop body is four times larger and NVRTC takes 65 s over
       * this kernel instead of 15 (kernels/README.md). */
#pragma unroll 1
      for (int j = 0; j < 4; j++) {
        vigil_ge_p1p1_to_p2(&q, &c);
        vigil_ge_p2_dbl(&c, &q);
      }
    }
    vigil_ge_addends_of_p1p1(&e, &c);
    vigil_ed25519_add_a(&c, &e, at, vigil_ed25519_digit_of(vigil_ed25519_digit_at(dk, i)));
    vigil_ge_addends_of_p1p1(&e, &c);
    vigil_ed25519_add_b(&c, &e, base, vigil_ed25519_digit_of(vigil_ed25519_digit_at(ds, i)));
  }
  vigil_ge_p3 r;
  vigil_ge_p1p1_to_p3(&r, &c);
  vigil_ed25519_put_p3(at, &r);
}

/* Recodes the scalar w (< 2^253) into signed radix-16 digits (vigil_sc_recode16) and
 * stores their 8 words. */
VIGIL_DEVICE void vigil_ed25519_put_digits(VIGIL_GLOBAL u32 *at, const u32 w[8]) {
  u32 d[8];
  vigil_sc_recode16(d, w);
#pragma unroll
  for (int i = 0; i < 8; i++) at[(u32)i * VIGIL_ED25519_STRIDE] = d[i];
}

/*
 * The first step of a verification: S < L, A decompresses, and the signature's table
 * (at: word 0 of its slab): the entries [j](-A), j = 1..8, by repeated addition of -A
 * (one running point, so that only it is live, -A's cached form being read back from
 * the table: 7 additions and conversions, 56M + 8M), then the digits of S and k.
 * Returns the state word: 0 when the signature is already invalid (S >= L, A does not
 * decompress, or [8]A = 0 under strict, which the last entry tells), 1 when it goes on.
 */
VIGIL_DEVICE u32 vigil_ed25519_prepare_one(const VIGIL_GLOBAL u8 *arena, u32 a_at, u32 sig_at,
                                           const u32 k[8], u32 profile,
                                           VIGIL_GLOBAL u32 *table) {
  u32 w[8];
  VIGIL_GLOBAL u32 *digits = table + VIGIL_ED25519_DIGITS_AT * VIGIL_ED25519_STRIDE;
  vigil_ed25519_load32(w, arena + sig_at + 32u);
  if (!vigil_sc_is_canonical(w)) return 0;
  vigil_ed25519_put_digits(digits, w);
  vigil_ed25519_put_digits(digits + 8u * VIGIL_ED25519_STRIDE, k);
  vigil_ed25519_load32(w, arena + a_at);
  vigil_ge_p3 q;
  if (!vigil_ge_decompress(&q, w)) return 0;
  vigil_ge_p3_neg(&q, &q);
  vigil_ed25519_put_as_cached(table, &q);
  vigil_ge_p1p1 sum;
  vigil_ge_addends e;
  vigil_ed25519_digit one = vigil_ed25519_digit_of(1);
  for (u32 j = 1; j < 8u; j++) {
    vigil_ge_addends_of_p3(&e, &q);
    vigil_ed25519_add_a(&sum, &e, table, one);
    vigil_ge_p1p1_to_p3(&q, &sum);
    vigil_ed25519_put_as_cached(table + 40u * j * VIGIL_ED25519_STRIDE, &q);
  }
  int strict = profile != VIGIL_ED25519_RFC8032 && profile != VIGIL_ED25519_ZIP215;
  if (strict) {
    vigil_ge_p2 r;
    vigil_ge_p3_to_p2(&r, &q);
    if (vigil_ge_p2_is_identity(&r)) return 0;
  }
  return 1;
}

/* r = R - R' for R given and R' read from memory (at; extended coordinates), one
 * coordinate at a time: vigil_ed25519_add_a's formula with -R' in cached form
 * (Y2 - X2, Y2 + X2, Z2, -2dT2) formed as each multiplication needs it. */
VIGIL_DEVICE void vigil_ed25519_sub_stored(vigil_ge_p1p1 *r, const vigil_ge_p3 *p,
                                           const VIGIL_GLOBAL u32 *at) {
  vigil_ge_addends e;
  vigil_fe a, x2, g, PP, MM, TT, ZZ2;
  vigil_ge_addends_of_p3(&e, p);
  vigil_ed25519_get_fe(&g, at + 30u * VIGIL_ED25519_STRIDE);
  vigil_fe_set_2d(&a);
  vigil_fe_mul(&g, &g, &a);
  vigil_fe_neg(&g, &g);                  /* B(2) */
  vigil_fe_mul(&TT, &e.t, &g);
  vigil_ed25519_get_fe(&g, at + 20u * VIGIL_ED25519_STRIDE);
  vigil_fe_mul(&ZZ2, &e.z, &g);
  vigil_fe_add(&ZZ2, &ZZ2, &ZZ2);
  vigil_ed25519_get_fe(&x2, at);
  vigil_ed25519_get_fe(&g, at + 10u * VIGIL_ED25519_STRIDE);
  vigil_fe_sub(&g, &g, &x2);             /* Y2 - X2, B(3.01) */
  vigil_fe_mul(&PP, &e.ypx, &g);
  vigil_ed25519_get_fe(&g, at + 10u * VIGIL_ED25519_STRIDE);
  vigil_fe_add(&g, &g, &x2);             /* Y2 + X2, B(2.02) */
  vigil_fe_mul(&MM, &e.ymx, &g);
  vigil_ge_p1p1_from_products(r, &PP, &MM, &TT, &ZZ2);
}

/*
 * The verdict for one signature that passed vigil_ed25519_prepare_one, given
 * R' = [S]B + [k](-A) in memory (at): R = the 32 bytes at arena[sig_at], under
 * profile (0 strict, 1 rfc8032, 2 zip215; anything else is treated as strict).
 * 1 = valid.
 *
 * Every profile: S < L and A decompresses (checked by the prepare step), then:
 *   rfc8032: valid iff compress(R') == R as bytes.
 *   strict:  additionally R must decompress and neither R nor A may have small order
 *            (A's order was checked by the prepare step). If compress(R') == R then R
 *            is the canonical encoding of R', so it decompresses, to R' itself: "R
 *            decompresses and is not of small order" is "R' is not of small order",
 *            which needs no decompression of R.
 *   zip215:  R must decompress (non-canonical encodings accepted); valid iff
 *            [8](R - R') is the identity.
 * Either way one exponentiation: the inversion of the compression, or R's square root.
 * R' is read from memory where it is used, so that it is not held across the
 * exponentiation.
 */
VIGIL_DEVICE u32 vigil_ed25519_check_one(const VIGIL_GLOBAL u8 *arena, u32 sig_at,
                                         const VIGIL_GLOBAL u32 *at,
                                         u32 profile) {
  u32 rw[8];
  int zip215 = profile == VIGIL_ED25519_ZIP215;
  int strict = !zip215 && profile != VIGIL_ED25519_RFC8032;
  vigil_ge_p3 p;
  if (zip215) {
    /* p = R - R'. */
    vigil_ge_p1p1 c;
    vigil_ed25519_load32(rw, arena + sig_at);
    if (!vigil_ge_decompress(&p, rw)) return 0;
    vigil_ed25519_sub_stored(&c, &p, at);
    vigil_ge_p1p1_to_p3(&p, &c);
  } else {
    vigil_ge_p2 rp2;
    u32 enc[8];
    vigil_ed25519_get_fe(&rp2.X, at);
    vigil_ed25519_get_fe(&rp2.Y, at + 10u * VIGIL_ED25519_STRIDE);
    vigil_ed25519_get_fe(&rp2.Z, at + 20u * VIGIL_ED25519_STRIDE);
    vigil_ge_p2_compress(enc, &rp2);
    vigil_ed25519_load32(rw, arena + sig_at);
    u32 diff = 0;
    for (int i = 0; i < 8; i++) diff |= enc[i] ^ rw[i];
    if (diff != 0) return 0;
    if (!strict) return 1;
    vigil_ed25519_get_p3(&p, at);
  }
  /* zip215: valid iff [8](R - R') = 0; strict: valid iff R' is not of small order. */
  return vigil_ge_p3_has_small_order(&p) ^ (u32)strict;
}

#endif /* VIGIL_ED25519_H */
