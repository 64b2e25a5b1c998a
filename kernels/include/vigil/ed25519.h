/*
 * ed25519.h: Ed25519 signature verification, one signature per work-item, under the
 * three profiles of host/core/src/profile.rs (strict, rfc8032, zip215). kernels/ED25519.md
 * has the design and the cost estimate; in short:
 *
 *   k  = SHA-512(R || A || M) mod L            vigil_ed25519_challenge (its own kernel)
 *   R' = [S]B + [k](-A)                        vigil_ed25519_double_scalarmult:
 *        Straus' method, both scalars in signed radix 16 (64 digits in [-8, 8]) sharing
 *        one chain of 252 doublings; per digit one addition of a multiple of -A from a
 *        per-work-item table of 8 cached points and one of a multiple of B from the
 *        VIGIL_CONSTANT table in ed25519_base.h. Both tables are read by a scan that
 *        touches every entry with a mask (no data-dependent address, no branch).
 *   then the profile's check (vigil_ed25519_verify_one).
 *
 * Inputs are read from global memory byte by byte (offsets need not be aligned).
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
 * t[j - 1] = [j]p as cached points, j = 1..8: 2p, 4p, 6p, 8p by doubling, 3p, 5p, 7p by
 * adding p. 4 doublings, 3 additions, 8 conversions: 16S + 48M. Returns 1 if [8]p is
 * the identity (p has small order), which the table computes on the way.
 */
VIGIL_DEVICE u32 vigil_ed25519_table(vigil_ge_cached t[8], const vigil_ge_p3 *p) {
  vigil_ge_p1p1 c;
  vigil_ge_p3 p2, p3, p4, q;
  vigil_ge_p2 r;
  vigil_ge_p3_to_cached(&t[0], p);
  vigil_ge_p3_dbl(&c, p);
  vigil_ge_p1p1_to_p3(&p2, &c);
  vigil_ge_p3_to_cached(&t[1], &p2);
  vigil_ge_add_cached(&c, &p2, &t[0]);
  vigil_ge_p1p1_to_p3(&p3, &c);
  vigil_ge_p3_to_cached(&t[2], &p3);
  vigil_ge_p3_dbl(&c, &p2);
  vigil_ge_p1p1_to_p3(&p4, &c);
  vigil_ge_p3_to_cached(&t[3], &p4);
  vigil_ge_add_cached(&c, &p4, &t[0]);
  vigil_ge_p1p1_to_p3(&q, &c);
  vigil_ge_p3_to_cached(&t[4], &q);
  vigil_ge_p3_dbl(&c, &p3);
  vigil_ge_p1p1_to_p3(&q, &c);
  vigil_ge_p3_to_cached(&t[5], &q);
  vigil_ge_add_cached(&c, &q, &t[0]);
  vigil_ge_p1p1_to_p3(&q, &c);
  vigil_ge_p3_to_cached(&t[6], &q);
  vigil_ge_p3_dbl(&c, &p4);
  vigil_ge_p1p1_to_p3(&q, &c);
  vigil_ge_p3_to_cached(&t[7], &q);
  vigil_ge_p3_to_p2(&r, &q);
  return vigil_ge_p2_is_identity(&r);
}

/* r = [e]p for a digit e in [-8, 8], from the table of vigil_ed25519_table: every entry
 * is read and the one wanted kept by mask, then negated by mask. */
VIGIL_DEVICE void vigil_ed25519_select_cached(vigil_ge_cached *r, const vigil_ge_cached t[8],
                                              i32 e) {
  u32 neg = (u32)e >> 31;
  u32 mag = ((u32)e ^ (0u - neg)) + neg;
  vigil_ge_cached_identity(r);
  vigil_ge_cached_cmov(r, &t[0], 0u - (u32)(mag == 1u));
  vigil_ge_cached_cmov(r, &t[1], 0u - (u32)(mag == 2u));
  vigil_ge_cached_cmov(r, &t[2], 0u - (u32)(mag == 3u));
  vigil_ge_cached_cmov(r, &t[3], 0u - (u32)(mag == 4u));
  vigil_ge_cached_cmov(r, &t[4], 0u - (u32)(mag == 5u));
  vigil_ge_cached_cmov(r, &t[5], 0u - (u32)(mag == 6u));
  vigil_ge_cached_cmov(r, &t[6], 0u - (u32)(mag == 7u));
  vigil_ge_cached_cmov(r, &t[7], 0u - (u32)(mag == 8u));
  vigil_ge_cached_cneg(r, neg);
}

/* r = [e]B for a digit e in [-8, 8], from the constant table: every work-item reads
 * every entry at the same addresses (a broadcast), keeping one by mask. */
VIGIL_DEVICE void vigil_ed25519_select_base(vigil_ge_niels *r, i32 e) {
  u32 neg = (u32)e >> 31;
  u32 mag = ((u32)e ^ (0u - neg)) + neg;
  vigil_ge_niels_identity(r);
#pragma unroll
  for (int j = 0; j < 8; j++) {
    u32 m = 0u - (u32)(mag == (u32)(j + 1));
#pragma unroll
    for (int l = 0; l < 10; l++) {
      r->yplusx.v[l] ^= (r->yplusx.v[l] ^ vigil_ed25519_base_niels[j][0][l]) & m;
      r->yminusx.v[l] ^= (r->yminusx.v[l] ^ vigil_ed25519_base_niels[j][1][l]) & m;
      r->xy2d.v[l] ^= (r->xy2d.v[l] ^ vigil_ed25519_base_niels[j][2][l]) & m;
    }
  }
  vigil_ge_niels_cneg(r, neg);
}

/*
 * r = [s]B + [k]P, s, k < 2^253 as 8 little-endian words, P given by its table
 * (vigil_ed25519_table). Digits from the top: for i = 63 .. 0,
 *   acc = 16 acc (4 doublings; skipped for the first digit, acc being the identity),
 *   acc += [k_i]P, acc += [s_i]B.
 * Per digit after the first: 4 x (completed -> projective 3M, doubling 4S), the last
 * doubling's result to extended 4M: 16S + 16M. Per digit: cached addition 4M, to
 * extended 4M, Niels addition 3M: 11M. In all 1008S + 1712M, plus 4M for the result.
 */
VIGIL_DEVICE void vigil_ed25519_double_scalarmult(vigil_ge_p3 *r, const u32 s[8],
                                                  const u32 k[8],
                                                  const vigil_ge_cached t[8]) {
  u32 ds[8], dk[8];
  vigil_sc_recode16(ds, s);
  vigil_sc_recode16(dk, k);
  vigil_ge_p3 acc;
  vigil_ge_p1p1 c;
  vigil_ge_p2 q;
  vigil_ge_cached pc;
  vigil_ge_niels bn;
  vigil_ge_p3_identity(&acc);
  vigil_ge_p1p1_identity(&c);
  for (int i = 0; i < 64; i++) {
    if (i != 0) {
      vigil_ge_p1p1_to_p2(&q, &c);
      vigil_ge_p2_dbl(&c, &q);
      vigil_ge_p1p1_to_p2(&q, &c);
      vigil_ge_p2_dbl(&c, &q);
      vigil_ge_p1p1_to_p2(&q, &c);
      vigil_ge_p2_dbl(&c, &q);
      vigil_ge_p1p1_to_p2(&q, &c);
      vigil_ge_p2_dbl(&c, &q);
      vigil_ge_p1p1_to_p3(&acc, &c);
    }
    vigil_ed25519_select_cached(&pc, t, vigil_sc_digits_next(dk));
    vigil_ge_add_cached(&c, &acc, &pc);
    vigil_ge_p1p1_to_p3(&acc, &c);
    vigil_ed25519_select_base(&bn, vigil_sc_digits_next(ds));
    vigil_ge_add_niels(&c, &acc, &bn);
  }
  vigil_ge_p1p1_to_p3(r, &c);
}

/*
 * The verdict for one signature: A = 32 bytes at arena[a_at], R || S = 64 bytes at
 * arena[sig_at], k = the challenge (8 words, < L), under profile (0 strict, 1 rfc8032,
 * 2 zip215; anything else is treated as strict). 1 = valid.
 *
 * Every profile: S < L, and A must decompress (dalek's VerifyingKey::from_bytes /
 * zebra's VerificationKey::try_from), then R' = [S]B - [k]A.
 *   rfc8032: valid iff compress(R') == R as bytes.
 *   strict:  additionally R must decompress and neither R nor A may have small order.
 *            If compress(R') == R then R is the canonical encoding of R', so it
 *            decompresses, to R' itself: "R decompresses and is not of small order" is
 *            "R' is not of small order", which needs no decompression of R. A's order
 *            comes free with its table ([8](-A) is its last entry).
 *   zip215:  R must decompress (non-canonical encodings accepted); valid iff
 *            [8](R - R') is the identity.
 * Invalid inputs (S >= L, a failed decompression, a small-order A under strict) return
 * early: a work-item that leaves early only idles its lane, it never slows the others.
 */
VIGIL_DEVICE u32 vigil_ed25519_verify_one(const VIGIL_GLOBAL u8 *arena, u32 a_at, u32 sig_at,
                                          const u32 k[8], u32 profile) {
  u32 s[8], aw[8], rw[8];
  vigil_ed25519_load32(s, arena + sig_at + 32u);
  if (!vigil_sc_is_canonical(s)) return 0;
  vigil_ed25519_load32(aw, arena + a_at);
  vigil_ed25519_load32(rw, arena + sig_at);

  vigil_ge_p3 a, neg_a, r_point, r_prime;
  if (!vigil_ge_decompress(&a, aw)) return 0;
  if (profile == VIGIL_ED25519_ZIP215) {
    if (!vigil_ge_decompress(&r_point, rw)) return 0;
  }
  vigil_ge_p3_neg(&neg_a, &a);
  vigil_ge_cached t[8];
  u32 a_small = vigil_ed25519_table(t, &neg_a);
  int strict = profile != VIGIL_ED25519_RFC8032 && profile != VIGIL_ED25519_ZIP215;
  if (strict && a_small) return 0;

  vigil_ed25519_double_scalarmult(&r_prime, s, k, t);

  if (profile == VIGIL_ED25519_ZIP215) {
    /* R - R' = R + (-R'), times 8, is the identity? */
    vigil_ge_p3 neg_r_prime;
    vigil_ge_cached nc;
    vigil_ge_p1p1 c;
    vigil_ge_p3 d;
    vigil_ge_p3_neg(&neg_r_prime, &r_prime);
    vigil_ge_p3_to_cached(&nc, &neg_r_prime);
    vigil_ge_add_cached(&c, &r_point, &nc);
    vigil_ge_p1p1_to_p3(&d, &c);
    return vigil_ge_p3_has_small_order(&d);
  }

  vigil_ge_p2 rp2;
  u32 enc[8];
  vigil_ge_p3_to_p2(&rp2, &r_prime);
  vigil_ge_p2_compress(enc, &rp2);
  u32 diff = 0;
  for (int i = 0; i < 8; i++) diff |= enc[i] ^ rw[i];
  if (diff != 0) return 0;
  if (strict && vigil_ge_p3_has_small_order(&r_prime)) return 0;
  return 1;
}

#endif /* VIGIL_ED25519_H */
