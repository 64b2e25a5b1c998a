/*
 * sc25519.h: scalars mod L, the order of the Ed25519 base point,
 * L = 2^252 + 27742317777372353535851937790883648493.
 *
 * A scalar is 8 u32 words, little-endian (word i = bytes 4i..4i+4 of the 32-byte
 * encoding read little-endian). Three operations:
 *
 *   vigil_sc_reduce512   a 512-bit integer (the SHA-512 challenge) mod L, by Barrett
 *                        reduction in base b = 2^32 (Handbook of Applied Cryptography,
 *                        algorithm 14.42, with k = 8 words);
 *   vigil_sc_is_canonical  s < L (the signature's S must be);
 *   vigil_sc_recode16    signed radix-16 digits for the scalar multiplication.
 *
 * All loops have fixed trip counts and are marked for unrolling (a compiler that does
 * not know the pragma ignores it), so the word arrays are indexed with constants and
 * stay in registers.
 */
#ifndef VIGIL_SC25519_H
#define VIGIL_SC25519_H

#include "vigil/vendor.h"

/* L as 8 little-endian words (words 4..6 are zero). */
#define VIGIL_SC_L0 0x5cf5d3edu
#define VIGIL_SC_L1 0x5812631au
#define VIGIL_SC_L2 0xa2f79cd6u
#define VIGIL_SC_L3 0x14def9deu
#define VIGIL_SC_L7 0x10000000u

/* L as an array, for the loops below. */
VIGIL_DEVICE void vigil_sc_load_l(u32 l[8]) {
  l[0] = VIGIL_SC_L0; l[1] = VIGIL_SC_L1; l[2] = VIGIL_SC_L2; l[3] = VIGIL_SC_L3;
  l[4] = 0; l[5] = 0; l[6] = 0; l[7] = VIGIL_SC_L7;
}

/* a = a - L if a >= L, else a, in place and without a branch; a is 9 words (Barrett
 * leaves a < 3L < 2^255, so the ninth word is 0 throughout). */
VIGIL_DEVICE void vigil_sc_csub_l9(u32 a[9]) {
  u32 l[8], t[9];
  vigil_sc_load_l(l);
  u64 borrow = 0;
#pragma unroll
  for (int i = 0; i < 9; i++) {
    u64 d = (u64)a[i] - (i < 8 ? l[i] : 0u) - borrow;
    t[i] = (u32)d;
    borrow = (d >> 32) & 1u;
  }
  /* borrow = 1: a < L, keep a. */
  u32 keep = 0u - (u32)borrow;
#pragma unroll
  for (int i = 0; i < 9; i++) a[i] = (a[i] & keep) | (t[i] & ~keep);
}

/*
 * r = x mod L for a 512-bit x given as 16 little-endian words.
 *   mu = floor(2^512 / L) (9 words, 260 bits)
 *   q1 = floor(x / 2^224)                      9 words
 *   q3 = floor(q1 * mu / 2^288)                9 words; q3 <= floor(x / L) <= q3 + 2
 *   r  = (x - q3 L) mod 2^288                  = x - q3 L, which is in [0, 3L)
 *   two conditional subtractions of L.
 * 81 + 44 32x32->64 multiplications.
 */
VIGIL_DEVICE void vigil_sc_reduce512(u32 r[8], const u32 x[16]) {
  u32 mu[9];
  mu[0] = 0x0a2c131bu; mu[1] = 0xed9ce5a3u; mu[2] = 0x086329a7u; mu[3] = 0x2106215du;
  mu[4] = 0xffffffebu; mu[5] = 0xffffffffu; mu[6] = 0xffffffffu; mu[7] = 0xffffffffu;
  mu[8] = 0x0000000fu;
  u32 l[8];
  vigil_sc_load_l(l);

  /* q2 = q1 * mu, schoolbook by rows: t = a*b + acc + carry < 2^64 always. */
  u32 q2[18];
#pragma unroll
  for (int i = 0; i < 18; i++) q2[i] = 0;
#pragma unroll
  for (int i = 0; i < 9; i++) {
    u64 carry = 0;
#pragma unroll
    for (int j = 0; j < 9; j++) {
      u64 t = (u64)x[7 + i] * mu[j] + q2[i + j] + carry;
      q2[i + j] = (u32)t;
      carry = t >> 32;
    }
    q2[i + 9] = (u32)carry;
  }
  /* q3 = q2[9..18). r2 = (q3 * L) mod 2^288: only products landing below word 9. */
  u32 r2[9];
#pragma unroll
  for (int i = 0; i < 9; i++) r2[i] = 0;
#pragma unroll
  for (int i = 0; i < 9; i++) {
    u64 carry = 0;
#pragma unroll
    for (int j = 0; i + j < 9 && j < 8; j++) {
      u64 t = (u64)q2[9 + i] * l[j] + r2[i + j] + carry;
      r2[i + j] = (u32)t;
      carry = t >> 32;
    }
    if (i + 8 < 9) r2[i + 8] += (u32)carry;
  }
  /* a = x[0..9) - r2 mod 2^288. */
  u32 a[9];
  u64 borrow = 0;
#pragma unroll
  for (int i = 0; i < 9; i++) {
    u64 d = (u64)x[i] - r2[i] - borrow;
    a[i] = (u32)d;
    borrow = (d >> 32) & 1u;
  }
  vigil_sc_csub_l9(a);
  vigil_sc_csub_l9(a);
#pragma unroll
  for (int i = 0; i < 8; i++) r[i] = a[i];
}

/* 1 if s < L (the encoding is a canonical scalar), else 0. */
VIGIL_DEVICE u32 vigil_sc_is_canonical(const u32 s[8]) {
  u32 l[8];
  vigil_sc_load_l(l);
  u64 borrow = 0;
#pragma unroll
  for (int i = 0; i < 8; i++) {
    u64 d = (u64)s[i] - l[i] - borrow;
    borrow = (d >> 32) & 1u;
  }
  return (u32)borrow;
}

/*
 * Signed radix-16 recoding of s < 2^253: s = sum_{i<64} e_i 16^i with e_i in [-8, 7]
 * for i < 63 and e_63 in [0, 2]. Digit i is nibble i (4 bits) of d, as a 4-bit two's
 * complement number: the top nibble of d[7] is e_63 (vigil_ed25519_digit_at reads digit
 * i from memory).
 * Recoding from the bottom: t = nibble + carry (in [0, 16]); carry = t >= 8;
 * e = t - 16 carry. The top nibble of s < 2^253 is at most 1, so e_63 <= 2 and no
 * carry leaves it.
 */
VIGIL_DEVICE void vigil_sc_recode16(u32 d[8], const u32 s[8]) {
  u32 carry = 0;
#pragma unroll
  for (int w = 0; w < 8; w++) {
    u32 word = s[w], out = 0;
#pragma unroll
    for (int j = 0; j < 8; j++) {
      u32 t = ((word >> (4 * j)) & 15u) + carry;
      carry = (t + 8u) >> 4;
      out |= ((t - (carry << 4)) & 15u) << (4 * j);
    }
    d[w] = out;
  }
}

#endif /* VIGIL_SC25519_H */
