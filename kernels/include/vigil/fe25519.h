/*
 * fe25519.h: arithmetic in the field GF(p), p = 2^255 - 19.
 *
 * REPRESENTATION
 *
 * An element is ten unsigned 32-bit limbs in radix 2^25.5:
 *
 *     value = v[0] + v[1]*2^26 + v[2]*2^51 + v[3]*2^77 + v[4]*2^102
 *           + v[5]*2^128 + v[6]*2^153 + v[7]*2^179 + v[8]*2^204 + v[9]*2^230
 *
 * Limb i has the nominal width w(i) = 26 bits for even i and 25 bits for odd i. Limbs
 * may exceed their width (that is what lets additions skip carrying), and the value is
 * only ever meaningful mod p: the canonical value (in [0, p)) is produced by
 * vigil_fe_to_words alone. Products are 32x32->64-bit multiply-adds, the instruction
 * every GPU has at full or half rate: a multiplication is 100 of them, a squaring 55.
 *
 * BOUNDS
 *
 * "B(m)" below means: every limb i < m * 2^w(i). The bounds used are:
 *
 *   tight = B(1.01): what every carry, multiplication and squaring returns. Precisely,
 *           limbs 0 and 2..9 are < 2^w(i) and limb 1 is < 2^25 + 2^17.
 *   B(3.36): the most a multiplication or squaring accepts. Then 19*limb (and 38*limb
 *           for odd limbs) fits in 32 bits (19 * 3.36 * 2^26 < 2^32,
 *           38 * 3.36 * 2^25 < 2^32), and each of the ten 64-bit column sums is
 *           < 2^62.5 (column 0 is the largest: sum over the ten products with the
 *           factors 1, 19 and 2*19 of their wrap-around and odd-odd positions).
 *
 * Each function states what it assumes and what it guarantees. In short:
 *
 *   add:        B(a) + B(b) -> B(a + b)          (no carry)
 *   sub:        B(a) - B(1.99) -> B(a + 2)       (adds 2p limb-wise; no carry)
 *   neg:        B(1.99) -> B(2)                  (2p - f; no carry)
 *   sub_carry:  B(a <= 27) - B(3.99) -> tight    (adds 4p, then carries)
 *   carry:      any limbs < 2^31 -> tight
 *   mul, sq:    B(3.36) x B(3.36) -> tight
 *   to_words, is_zero, is_negative, eq: any limbs < 2^31 (they carry first)
 *
 * The group formulas in ge25519.h annotate every intermediate with its bound, so that
 * every multiplication input can be checked against B(3.36) by reading the code.
 *
 * Limb-wise 2p is (2^27 - 38, 2^26 - 2, 2^27 - 2, 2^26 - 2, ..., 2^26 - 2) and 4p is
 * twice that; a subtrahend in B(1.99) is below 2p in every limb (limb 0:
 * 1.99 * 2^26 < 2^27 - 38), one in B(3.99) below 4p, so no limb ever goes negative.
 *
 * Nothing here branches on data or indexes an array with a value known only at run
 * time: every function is straight-line code (the exponentiation loops have fixed trip
 * counts), so all limbs stay in registers.
 */
#ifndef VIGIL_FE25519_H
#define VIGIL_FE25519_H

#include "vigil/vendor.h"

/* One field element: ten limbs, see above. */
typedef struct {
  u32 v[10];
} vigil_fe;

#define VIGIL_FE_MASK26 0x3ffffffu
#define VIGIL_FE_MASK25 0x1ffffffu

/* h = 0. Output tight. */
VIGIL_DEVICE void vigil_fe_zero(vigil_fe *h) {
  for (int i = 0; i < 10; i++) h->v[i] = 0;
}

/* h = 1. Output tight. */
VIGIL_DEVICE void vigil_fe_one(vigil_fe *h) {
  vigil_fe_zero(h);
  h->v[0] = 1;
}

/* h = d = -121665/121666, the Edwards curve constant. Output canonical (tight). */
VIGIL_DEVICE void vigil_fe_set_d(vigil_fe *h) {
  h->v[0] = 0x35978a3u; h->v[1] = 0x0d37284u; h->v[2] = 0x3156ebdu; h->v[3] = 0x06a0a0eu;
  h->v[4] = 0x001c029u; h->v[5] = 0x179e898u; h->v[6] = 0x3a03cbbu; h->v[7] = 0x1ce7198u;
  h->v[8] = 0x2e2b6ffu; h->v[9] = 0x1480db3u;
}

/* h = 2d. Output canonical (tight). */
VIGIL_DEVICE void vigil_fe_set_2d(vigil_fe *h) {
  h->v[0] = 0x2b2f159u; h->v[1] = 0x1a6e509u; h->v[2] = 0x22add7au; h->v[3] = 0x0d4141du;
  h->v[4] = 0x0038052u; h->v[5] = 0x0f3d130u; h->v[6] = 0x3407977u; h->v[7] = 0x19ce331u;
  h->v[8] = 0x1c56dffu; h->v[9] = 0x0901b67u;
}

/* h = sqrt(-1) = 2^((p-1)/4) (the even root, as curve25519-dalek's SQRT_M1). Tight. */
VIGIL_DEVICE void vigil_fe_set_sqrtm1(vigil_fe *h) {
  h->v[0] = 0x20ea0b0u; h->v[1] = 0x186c9d2u; h->v[2] = 0x08f189du; h->v[3] = 0x035697fu;
  h->v[4] = 0x0bd0c60u; h->v[5] = 0x1fbd7a7u; h->v[6] = 0x2804c9eu; h->v[7] = 0x1e16569u;
  h->v[8] = 0x004fc1du; h->v[9] = 0x0ae0c92u;
}

/* h = f + g, no carry. f in B(a), g in B(b) -> h in B(a + b); a + b <= 63 keeps every
 * limb below 2^32. h may alias f or g. */
VIGIL_DEVICE void vigil_fe_add(vigil_fe *h, const vigil_fe *f, const vigil_fe *g) {
  for (int i = 0; i < 10; i++) h->v[i] = f->v[i] + g->v[i];
}

/* h = f + 2p - g, no carry. g in B(1.99) (so g <= 2p limb-wise), f in B(a) ->
 * h in B(a + 2). h may alias f or g. */
VIGIL_DEVICE void vigil_fe_sub(vigil_fe *h, const vigil_fe *f, const vigil_fe *g) {
  h->v[0] = f->v[0] + 0x7ffffdau - g->v[0];
  for (int i = 1; i < 10; i++)
    h->v[i] = f->v[i] + ((i & 1) ? 0x3fffffeu : 0x7fffffeu) - g->v[i];
}

/* h = -f = 2p - f, no carry. f in B(1.99) -> h in B(2). h may alias f. */
VIGIL_DEVICE void vigil_fe_neg(vigil_fe *h, const vigil_fe *f) {
  h->v[0] = 0x7ffffdau - f->v[0];
  for (int i = 1; i < 10; i++) h->v[i] = ((i & 1) ? 0x3fffffeu : 0x7fffffeu) - f->v[i];
}

/* h = f reduced limb by limb (a weak reduction: h == f mod p, not necessarily < p).
 * Input: every limb < 2^31. Output tight: the chain 0 -> 1 -> ... -> 9 leaves limbs
 * 0..9 within their widths, the carry out of limb 9 (< 2^7) re-enters limb 0 as 19
 * times itself (2^255 = 19 mod p), making limb 0 < 2^26 + 2^12, and its carry (at most
 * 1) goes to limb 1, which ends < 2^25 + 1. h may alias f. */
VIGIL_DEVICE void vigil_fe_carry(vigil_fe *h, const vigil_fe *f) {
  u32 t0 = f->v[0], t1 = f->v[1], t2 = f->v[2], t3 = f->v[3], t4 = f->v[4];
  u32 t5 = f->v[5], t6 = f->v[6], t7 = f->v[7], t8 = f->v[8], t9 = f->v[9];
  t1 += t0 >> 26; t0 &= VIGIL_FE_MASK26;
  t2 += t1 >> 25; t1 &= VIGIL_FE_MASK25;
  t3 += t2 >> 26; t2 &= VIGIL_FE_MASK26;
  t4 += t3 >> 25; t3 &= VIGIL_FE_MASK25;
  t5 += t4 >> 26; t4 &= VIGIL_FE_MASK26;
  t6 += t5 >> 25; t5 &= VIGIL_FE_MASK25;
  t7 += t6 >> 26; t6 &= VIGIL_FE_MASK26;
  t8 += t7 >> 25; t7 &= VIGIL_FE_MASK25;
  t9 += t8 >> 26; t8 &= VIGIL_FE_MASK26;
  t0 += 19u * (t9 >> 25); t9 &= VIGIL_FE_MASK25;
  t1 += t0 >> 26; t0 &= VIGIL_FE_MASK26;
  h->v[0] = t0; h->v[1] = t1; h->v[2] = t2; h->v[3] = t3; h->v[4] = t4;
  h->v[5] = t5; h->v[6] = t6; h->v[7] = t7; h->v[8] = t8; h->v[9] = t9;
}

/* h = f + 4p - g, carried. g in B(3.99) (so g <= 4p limb-wise), f in B(27) (so
 * f + 4p < 2^31 limb-wise) -> h tight. h may alias f or g. */
VIGIL_DEVICE void vigil_fe_sub_carry(vigil_fe *h, const vigil_fe *f, const vigil_fe *g) {
  vigil_fe t;
  t.v[0] = f->v[0] + 0xfffffb4u - g->v[0];
  for (int i = 1; i < 10; i++)
    t.v[i] = f->v[i] + ((i & 1) ? 0x7fffffcu : 0xffffffcu) - g->v[i];
  vigil_fe_carry(h, &t);
}

/* h = f + g, carried. f, g with limbs < 2^30 -> h tight. */
VIGIL_DEVICE void vigil_fe_add_carry(vigil_fe *h, const vigil_fe *f, const vigil_fe *g) {
  vigil_fe t;
  vigil_fe_add(&t, f, g);
  vigil_fe_carry(h, &t);
}

/* Carries ten 64-bit column sums, each < 2^63, into a tight element. The chain
 * 0 -> 1 -> ... -> 9 passes carries < 2^38 (adding them never overflows 64 bits); the
 * carry out of limb 9 is < 2^39, re-enters limb 0 as 19 times itself (< 2^44), and
 * limb 0's carry (< 2^18) lands in limb 1, which ends < 2^25 + 2^18. */
VIGIL_DEVICE void vigil_fe_carry_wide(vigil_fe *h, u64 h0, u64 h1, u64 h2, u64 h3, u64 h4,
                                      u64 h5, u64 h6, u64 h7, u64 h8, u64 h9) {
  h1 += h0 >> 26; h0 &= VIGIL_FE_MASK26;
  h2 += h1 >> 25; h1 &= VIGIL_FE_MASK25;
  h3 += h2 >> 26; h2 &= VIGIL_FE_MASK26;
  h4 += h3 >> 25; h3 &= VIGIL_FE_MASK25;
  h5 += h4 >> 26; h4 &= VIGIL_FE_MASK26;
  h6 += h5 >> 25; h5 &= VIGIL_FE_MASK25;
  h7 += h6 >> 26; h6 &= VIGIL_FE_MASK26;
  h8 += h7 >> 25; h7 &= VIGIL_FE_MASK25;
  h9 += h8 >> 26; h8 &= VIGIL_FE_MASK26;
  h0 += 19u * (h9 >> 25); h9 &= VIGIL_FE_MASK25;
  h1 += h0 >> 26; h0 &= VIGIL_FE_MASK26;
  h->v[0] = (u32)h0; h->v[1] = (u32)h1; h->v[2] = (u32)h2; h->v[3] = (u32)h3;
  h->v[4] = (u32)h4; h->v[5] = (u32)h5; h->v[6] = (u32)h6; h->v[7] = (u32)h7;
  h->v[8] = (u32)h8; h->v[9] = (u32)h9;
}

/* h = f * g. f, g in B(3.36) -> h tight. h may alias f or g.
 * Column k collects f[i]*g[j] for i + j = k and, times 19 (2^255 = 19 mod p), for
 * i + j = k + 10; a product of two odd limbs counts twice (their offsets sum to one
 * bit more than the column's). 100 products. */
VIGIL_DEVICE void vigil_fe_mul(vigil_fe *h, const vigil_fe *f, const vigil_fe *g) {
  u32 f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
  u32 f5 = f->v[5], f6 = f->v[6], f7 = f->v[7], f8 = f->v[8], f9 = f->v[9];
  u32 g0 = g->v[0], g1 = g->v[1], g2 = g->v[2], g3 = g->v[3], g4 = g->v[4];
  u32 g5 = g->v[5], g6 = g->v[6], g7 = g->v[7], g8 = g->v[8], g9 = g->v[9];
  u32 g1_19 = 19u * g1, g2_19 = 19u * g2, g3_19 = 19u * g3, g4_19 = 19u * g4;
  u32 g5_19 = 19u * g5, g6_19 = 19u * g6, g7_19 = 19u * g7, g8_19 = 19u * g8, g9_19 = 19u * g9;
  u32 f1_2 = 2u * f1, f3_2 = 2u * f3, f5_2 = 2u * f5, f7_2 = 2u * f7, f9_2 = 2u * f9;
  u64 h0 = (u64)f0 * g0 + (u64)f1_2 * g9_19 + (u64)f2 * g8_19 + (u64)f3_2 * g7_19 +
           (u64)f4 * g6_19 + (u64)f5_2 * g5_19 + (u64)f6 * g4_19 + (u64)f7_2 * g3_19 +
           (u64)f8 * g2_19 + (u64)f9_2 * g1_19;
  u64 h1 = (u64)f0 * g1 + (u64)f1 * g0 + (u64)f2 * g9_19 + (u64)f3 * g8_19 +
           (u64)f4 * g7_19 + (u64)f5 * g6_19 + (u64)f6 * g5_19 + (u64)f7 * g4_19 +
           (u64)f8 * g3_19 + (u64)f9 * g2_19;
  u64 h2 = (u64)f0 * g2 + (u64)f1_2 * g1 + (u64)f2 * g0 + (u64)f3_2 * g9_19 +
           (u64)f4 * g8_19 + (u64)f5_2 * g7_19 + (u64)f6 * g6_19 + (u64)f7_2 * g5_19 +
           (u64)f8 * g4_19 + (u64)f9_2 * g3_19;
  u64 h3 = (u64)f0 * g3 + (u64)f1 * g2 + (u64)f2 * g1 + (u64)f3 * g0 +
           (u64)f4 * g9_19 + (u64)f5 * g8_19 + (u64)f6 * g7_19 + (u64)f7 * g6_19 +
           (u64)f8 * g5_19 + (u64)f9 * g4_19;
  u64 h4 = (u64)f0 * g4 + (u64)f1_2 * g3 + (u64)f2 * g2 + (u64)f3_2 * g1 +
           (u64)f4 * g0 + (u64)f5_2 * g9_19 + (u64)f6 * g8_19 + (u64)f7_2 * g7_19 +
           (u64)f8 * g6_19 + (u64)f9_2 * g5_19;
  u64 h5 = (u64)f0 * g5 + (u64)f1 * g4 + (u64)f2 * g3 + (u64)f3 * g2 +
           (u64)f4 * g1 + (u64)f5 * g0 + (u64)f6 * g9_19 + (u64)f7 * g8_19 +
           (u64)f8 * g7_19 + (u64)f9 * g6_19;
  u64 h6 = (u64)f0 * g6 + (u64)f1_2 * g5 + (u64)f2 * g4 + (u64)f3_2 * g3 +
           (u64)f4 * g2 + (u64)f5_2 * g1 + (u64)f6 * g0 + (u64)f7_2 * g9_19 +
           (u64)f8 * g8_19 + (u64)f9_2 * g7_19;
  u64 h7 = (u64)f0 * g7 + (u64)f1 * g6 + (u64)f2 * g5 + (u64)f3 * g4 +
           (u64)f4 * g3 + (u64)f5 * g2 + (u64)f6 * g1 + (u64)f7 * g0 +
           (u64)f8 * g9_19 + (u64)f9 * g8_19;
  u64 h8 = (u64)f0 * g8 + (u64)f1_2 * g7 + (u64)f2 * g6 + (u64)f3_2 * g5 +
           (u64)f4 * g4 + (u64)f5_2 * g3 + (u64)f6 * g2 + (u64)f7_2 * g1 +
           (u64)f8 * g0 + (u64)f9_2 * g9_19;
  u64 h9 = (u64)f0 * g9 + (u64)f1 * g8 + (u64)f2 * g7 + (u64)f3 * g6 +
           (u64)f4 * g5 + (u64)f5 * g4 + (u64)f6 * g3 + (u64)f7 * g2 +
           (u64)f8 * g1 + (u64)f9 * g0;
  vigil_fe_carry_wide(h, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9);
}

/* h = f^2. f in B(3.36) -> h tight. h may alias f.
 * The mul columns with f = g, each cross product f[i]*f[j] (i < j) taken once with
 * factor 2. The factors are split between the two operands so that both stay below
 * 2^32: 2f[i] and 4f[i] on the left, 19f[j] (any j) and 38f[j] (odd j only) on the
 * right. 55 products. */
VIGIL_DEVICE void vigil_fe_sq(vigil_fe *h, const vigil_fe *f) {
  u32 f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
  u32 f5 = f->v[5], f6 = f->v[6], f7 = f->v[7], f8 = f->v[8], f9 = f->v[9];
  u32 f0_2 = 2u * f0, f1_2 = 2u * f1, f1_4 = 4u * f1, f2_2 = 2u * f2, f3_2 = 2u * f3;
  u32 f3_4 = 4u * f3, f4_2 = 2u * f4, f5_2 = 2u * f5, f6_2 = 2u * f6, f7_2 = 2u * f7;
  u32 f5_38 = 38u * f5, f6_19 = 19u * f6, f7_38 = 38u * f7, f8_19 = 19u * f8, f9_38 = 38u * f9;
  u64 h0 = (u64)f0 * f0 + (u64)f1_2 * f9_38 + (u64)f2_2 * f8_19 + (u64)f3_2 * f7_38 +
           (u64)f4_2 * f6_19 + (u64)f5 * f5_38;
  u64 h1 = (u64)f0_2 * f1 + (u64)f2 * f9_38 + (u64)f3_2 * f8_19 + (u64)f4 * f7_38 +
           (u64)f5_2 * f6_19;
  u64 h2 = (u64)f0_2 * f2 + (u64)f1_2 * f1 + (u64)f3_2 * f9_38 + (u64)f4_2 * f8_19 +
           (u64)f5_2 * f7_38 + (u64)f6 * f6_19;
  u64 h3 = (u64)f0_2 * f3 + (u64)f1_2 * f2 + (u64)f4 * f9_38 + (u64)f5_2 * f8_19 +
           (u64)f6 * f7_38;
  u64 h4 = (u64)f0_2 * f4 + (u64)f1_4 * f3 + (u64)f2 * f2 + (u64)f5_2 * f9_38 +
           (u64)f6_2 * f8_19 + (u64)f7 * f7_38;
  u64 h5 = (u64)f0_2 * f5 + (u64)f1_2 * f4 + (u64)f2_2 * f3 + (u64)f6 * f9_38 +
           (u64)f7_2 * f8_19;
  u64 h6 = (u64)f0_2 * f6 + (u64)f1_4 * f5 + (u64)f2_2 * f4 + (u64)f3_2 * f3 +
           (u64)f7_2 * f9_38 + (u64)f8 * f8_19;
  u64 h7 = (u64)f0_2 * f7 + (u64)f1_2 * f6 + (u64)f2_2 * f5 + (u64)f3_2 * f4 +
           (u64)f8 * f9_38;
  u64 h8 = (u64)f0_2 * f8 + (u64)f1_4 * f7 + (u64)f2_2 * f6 + (u64)f3_4 * f5 +
           (u64)f4 * f4 + (u64)f9 * f9_38;
  u64 h9 = (u64)f0_2 * f9 + (u64)f1_2 * f8 + (u64)f2_2 * f7 + (u64)f3_2 * f6 +
           (u64)f4_2 * f5;
  vigil_fe_carry_wide(h, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9);
}

/* h = f^(2^n), n >= 1. f in B(3.36) -> h tight. h may alias f. The loop is kept rolled:
 * unrolled, the exponentiation chains are a quarter of a million instructions that the
 * compilers take minutes over and schedule into more live values than registers. */
VIGIL_DEVICE void vigil_fe_sqn(vigil_fe *h, const vigil_fe *f, int n) {
  vigil_fe_sq(h, f);
#pragma unroll 1
  for (int i = 1; i < n; i++) vigil_fe_sq(h, h);
}

/* h = mask ? f : h, for mask 0 or 0xffffffff; no branch. Bounds are those of the
 * element taken. */
VIGIL_DEVICE void vigil_fe_cmov(vigil_fe *h, const vigil_fe *f, u32 mask) {
  for (int i = 0; i < 10; i++) h->v[i] ^= (h->v[i] ^ f->v[i]) & mask;
}

/* h = the low 255 bits of the 256-bit little-endian integer w[0..8) (bit 255 is
 * ignored). The value may be >= p (a non-canonical encoding); it is kept as it is and
 * taken mod p by everything that follows. Output tight (every limb within its width). */
VIGIL_DEVICE void vigil_fe_from_words(vigil_fe *h, const u32 w[8]) {
  h->v[0] = w[0] & VIGIL_FE_MASK26;
  h->v[1] = ((w[0] >> 26) | (w[1] << 6)) & VIGIL_FE_MASK25;
  h->v[2] = ((w[1] >> 19) | (w[2] << 13)) & VIGIL_FE_MASK26;
  h->v[3] = ((w[2] >> 13) | (w[3] << 19)) & VIGIL_FE_MASK25;
  h->v[4] = (w[3] >> 6) & VIGIL_FE_MASK26;
  h->v[5] = w[4] & VIGIL_FE_MASK25;
  h->v[6] = ((w[4] >> 25) | (w[5] << 7)) & VIGIL_FE_MASK26;
  h->v[7] = ((w[5] >> 19) | (w[6] << 13)) & VIGIL_FE_MASK25;
  h->v[8] = ((w[6] >> 12) | (w[7] << 20)) & VIGIL_FE_MASK26;
  h->v[9] = (w[7] >> 6) & VIGIL_FE_MASK25;
}

/* w[0..8) = the canonical value of f (in [0, p)) as a 256-bit little-endian integer,
 * so bit 255 is 0. Input: every limb < 2^31.
 * After a carry f is tight, so its value is < 2^255 + 2^44 < 2p - 19. Then
 * q = floor((f + 19) / 2^255) is 0 or 1 and is exactly f >= p; the carry chain below
 * computes it without ever forming f + 19, and f - q*p = f + 19q - q*2^255 is the
 * second chain with its final carry (the 2^255 bit) dropped. */
VIGIL_DEVICE void vigil_fe_to_words(u32 w[8], const vigil_fe *f) {
  vigil_fe c;
  vigil_fe_carry(&c, f);
  u32 t0 = c.v[0], t1 = c.v[1], t2 = c.v[2], t3 = c.v[3], t4 = c.v[4];
  u32 t5 = c.v[5], t6 = c.v[6], t7 = c.v[7], t8 = c.v[8], t9 = c.v[9];
  u32 q = (t0 + 19u) >> 26;
  q = (t1 + q) >> 25;
  q = (t2 + q) >> 26;
  q = (t3 + q) >> 25;
  q = (t4 + q) >> 26;
  q = (t5 + q) >> 25;
  q = (t6 + q) >> 26;
  q = (t7 + q) >> 25;
  q = (t8 + q) >> 26;
  q = (t9 + q) >> 25;
  t0 += 19u * q;
  t1 += t0 >> 26; t0 &= VIGIL_FE_MASK26;
  t2 += t1 >> 25; t1 &= VIGIL_FE_MASK25;
  t3 += t2 >> 26; t2 &= VIGIL_FE_MASK26;
  t4 += t3 >> 25; t3 &= VIGIL_FE_MASK25;
  t5 += t4 >> 26; t4 &= VIGIL_FE_MASK26;
  t6 += t5 >> 25; t5 &= VIGIL_FE_MASK25;
  t7 += t6 >> 26; t6 &= VIGIL_FE_MASK26;
  t8 += t7 >> 25; t7 &= VIGIL_FE_MASK25;
  t9 += t8 >> 26; t8 &= VIGIL_FE_MASK26;
  t9 &= VIGIL_FE_MASK25;
  w[0] = t0 | (t1 << 26);
  w[1] = (t1 >> 6) | (t2 << 19);
  w[2] = (t2 >> 13) | (t3 << 13);
  w[3] = (t3 >> 19) | (t4 << 6);
  w[4] = t5 | (t6 << 25);
  w[5] = (t6 >> 7) | (t7 << 19);
  w[6] = (t7 >> 13) | (t8 << 12);
  w[7] = (t8 >> 20) | (t9 << 6);
}

/* 1 if f == 0 mod p, else 0. Input: every limb < 2^31. */
VIGIL_DEVICE u32 vigil_fe_is_zero(const vigil_fe *f) {
  u32 w[8];
  vigil_fe_to_words(w, f);
  u32 acc = w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7];
  return (u32)(acc == 0);
}

/* 1 if the canonical value of f is odd ("negative" in RFC 8032's sense), else 0.
 * Input: every limb < 2^31. */
VIGIL_DEVICE u32 vigil_fe_is_negative(const vigil_fe *f) {
  u32 w[8];
  vigil_fe_to_words(w, f);
  return w[0] & 1u;
}

/* 1 if f == g mod p, else 0. f, g in B(1.99) (it forms f - g). */
VIGIL_DEVICE u32 vigil_fe_eq(const vigil_fe *f, const vigil_fe *g) {
  vigil_fe t;
  vigil_fe_sub(&t, f, g);
  return vigil_fe_is_zero(&t);
}

/*
 * The shared start of the two exponentiations: with z in B(3.36), sets
 * z11 = z^11 and z2_250_0 = z^(2^250 - 1) (tight). The addition chain (exponents in
 * binary-friendly names: z2_a_b = z^(2^a - 2^b)):
 *   z2 = z^2, z8 = z2^4, z9 = z8 z, z11 = z9 z2, z22 = z11^2, z2_5_0 = z22 z9 (= z^31),
 *   z2_10_0 = z2_5_0^(2^5) z2_5_0,      z2_20_0 = z2_10_0^(2^10) z2_10_0,
 *   z2_40_0 = z2_20_0^(2^20) z2_20_0,   z2_50_0 = z2_40_0^(2^10) z2_10_0,
 *   z2_100_0 = z2_50_0^(2^50) z2_50_0,  z2_200_0 = z2_100_0^(2^100) z2_100_0,
 *   z2_250_0 = z2_200_0^(2^50) z2_50_0.
 * 249 squarings and 10 multiplications.
 */
VIGIL_DEVICE void vigil_fe_pow_2_250_1(vigil_fe *z2_250_0, vigil_fe *z11, const vigil_fe *z) {
  vigil_fe z2, z9, t, z2_5_0, z2_10_0, z2_20_0, z2_50_0, z2_100_0;
  vigil_fe_sq(&z2, z);
  vigil_fe_sqn(&t, &z2, 2);
  vigil_fe_mul(&z9, &t, z);
  vigil_fe_mul(z11, &z9, &z2);
  vigil_fe_sq(&t, z11);
  vigil_fe_mul(&z2_5_0, &t, &z9);
  vigil_fe_sqn(&t, &z2_5_0, 5);
  vigil_fe_mul(&z2_10_0, &t, &z2_5_0);
  vigil_fe_sqn(&t, &z2_10_0, 10);
  vigil_fe_mul(&z2_20_0, &t, &z2_10_0);
  vigil_fe_sqn(&t, &z2_20_0, 20);
  vigil_fe_mul(&t, &t, &z2_20_0);
  vigil_fe_sqn(&t, &t, 10);
  vigil_fe_mul(&z2_50_0, &t, &z2_10_0);
  vigil_fe_sqn(&t, &z2_50_0, 50);
  vigil_fe_mul(&z2_100_0, &t, &z2_50_0);
  vigil_fe_sqn(&t, &z2_100_0, 100);
  vigil_fe_mul(&t, &t, &z2_100_0);
  vigil_fe_sqn(&t, &t, 50);
  vigil_fe_mul(z2_250_0, &t, &z2_50_0);
}

/* h = f^(p-2) = 1/f (0 for f = 0). f in B(3.36) -> h tight. p - 2 = 2^255 - 21 =
 * (2^250 - 1) * 2^5 + 11: 254 squarings, 11 multiplications. */
VIGIL_DEVICE void vigil_fe_invert(vigil_fe *h, const vigil_fe *f) {
  vigil_fe t, z11;
  vigil_fe_pow_2_250_1(&t, &z11, f);
  vigil_fe_sqn(&t, &t, 5);
  vigil_fe_mul(h, &t, &z11);
}

/*
 * The square root of a ratio, exactly as curve25519-dalek 4's FieldElement::sqrt_ratio_i
 * as far as its first result goes (the second one, r, matters only when it is 1):
 *   returns 1 and r = the non-negative (even) square root of u/v when u/v is a nonzero
 *   square, or when u = 0 (then r = 0);
 *   returns 0 when u != 0 and u/v is not a square (then r is unspecified), and when
 *   v = 0 and u != 0.
 * Method: r = u v^3 (u v^7)^((p-5)/8); then v r^2 is one of u, -u, sqrt(-1)u,
 * -sqrt(-1)u; the first two mean u/v is a square, with root r or sqrt(-1) r.
 *
 * In two halves, so that nothing but the exponentiation's own values is live across it
 * (a caller that can recompute u and v cheaply need not hold them: vigil_ge_decompress):
 * vigil_fe_sqrt_ratio_pow gives t = (u v^7)^(2^252 - 4) = ((u v^7)^(2^250 - 1))^4, which
 * needs no factor of u v^7 at its end, and vigil_fe_sqrt_ratio_finish multiplies in the
 * missing u v^7 ((p-5)/8 = 2^252 - 3) with u v^3: r = u v^3 * u v^7 * t. Holding the
 * base of the exponentiation to its end, as f^((p-5)/8) would, took a 128-register
 * kernel past its registers (ptxas spilled 416 bytes).
 * u, v in B(1.99) -> r tight. Beyond the 249S + 10M of pow_2_250_1: 5S + 12M.
 */
VIGIL_DEVICE void vigil_fe_sqrt_ratio_pow(vigil_fe *t, const vigil_fe *u, const vigil_fe *v) {
  vigil_fe w, z11;
  vigil_fe_sq(&w, v);
  vigil_fe_sq(t, &w);                /* v^4 */
  vigil_fe_mul(t, t, &w);            /* v^6 */
  vigil_fe_mul(t, t, v);             /* v^7 */
  vigil_fe_mul(t, t, u);             /* u v^7 */
  vigil_fe_pow_2_250_1(t, &z11, t);
  vigil_fe_sqn(t, t, 2);
}

VIGIL_DEVICE u32 vigil_fe_sqrt_ratio_finish(vigil_fe *r, const vigil_fe *u, const vigil_fe *v,
                                           const vigil_fe *t) {
  vigil_fe w, check, neg_u, i;
  vigil_fe_sq(&check, v);            /* v^2 */
  vigil_fe_mul(&w, &check, v);       /* v^3 */
  vigil_fe_mul(&w, &w, u);           /* u v^3 */
  vigil_fe_mul(r, &w, t);
  vigil_fe_sq(&check, &check);       /* v^4 */
  vigil_fe_mul(&w, &w, &check);      /* u v^7 */
  vigil_fe_mul(r, r, &w);
  vigil_fe_sq(&w, r);
  vigil_fe_mul(&check, v, &w);       /* v r^2, tight */
  vigil_fe_neg(&neg_u, u);           /* B(2) */
  vigil_fe_carry(&neg_u, &neg_u);    /* tight */
  u32 correct = vigil_fe_eq(&check, u);
  u32 flipped = vigil_fe_eq(&check, &neg_u);
  vigil_fe_set_sqrtm1(&i);
  vigil_fe_mul(&w, &neg_u, &i);
  u32 flipped_i = vigil_fe_eq(&check, &w);
  vigil_fe_mul(&w, r, &i);
  vigil_fe_cmov(r, &w, 0u - (flipped | flipped_i));
  /* The non-negative root. */
  vigil_fe_neg(&w, r);
  vigil_fe_carry(&w, &w);
  vigil_fe_cmov(r, &w, 0u - vigil_fe_is_negative(r));
  return correct | flipped;
}

#endif /* VIGIL_FE25519_H */
