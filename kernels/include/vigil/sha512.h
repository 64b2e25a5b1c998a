/*
 * sha512.h: SHA-512 (FIPS 180-4) compression with 64-bit words.
 *
 * The caller assembles each 128-byte block as 16 big-endian u64 words (ed25519.h
 * streams R || A || M straight out of global memory that way) and calls
 * vigil_sha512_compress on it. The 16-word message schedule is updated in place, so the
 * block array is indexed with constants only (rounds are written out 16 at a time) and
 * lives in registers; the round constants are a VIGIL_CONSTANT table read at the same
 * index by every work-item.
 */
#ifndef VIGIL_SHA512_H
#define VIGIL_SHA512_H

#include "vigil/vendor.h"

/* The round constants K[0..80): the first 64 bits of the fractional parts of the cube
 * roots of the first 80 primes (FIPS 180-4, section 4.2.3). */
VIGIL_CONSTANT u64 vigil_sha512_k[80] = {
  0x428a2f98d728ae22ul, 0x7137449123ef65cdul, 0xb5c0fbcfec4d3b2ful,
  0xe9b5dba58189dbbcul, 0x3956c25bf348b538ul, 0x59f111f1b605d019ul,
  0x923f82a4af194f9bul, 0xab1c5ed5da6d8118ul, 0xd807aa98a3030242ul,
  0x12835b0145706fbeul, 0x243185be4ee4b28cul, 0x550c7dc3d5ffb4e2ul,
  0x72be5d74f27b896ful, 0x80deb1fe3b1696b1ul, 0x9bdc06a725c71235ul,
  0xc19bf174cf692694ul, 0xe49b69c19ef14ad2ul, 0xefbe4786384f25e3ul,
  0x0fc19dc68b8cd5b5ul, 0x240ca1cc77ac9c65ul, 0x2de92c6f592b0275ul,
  0x4a7484aa6ea6e483ul, 0x5cb0a9dcbd41fbd4ul, 0x76f988da831153b5ul,
  0x983e5152ee66dfabul, 0xa831c66d2db43210ul, 0xb00327c898fb213ful,
  0xbf597fc7beef0ee4ul, 0xc6e00bf33da88fc2ul, 0xd5a79147930aa725ul,
  0x06ca6351e003826ful, 0x142929670a0e6e70ul, 0x27b70a8546d22ffcul,
  0x2e1b21385c26c926ul, 0x4d2c6dfc5ac42aedul, 0x53380d139d95b3dful,
  0x650a73548baf63deul, 0x766a0abb3c77b2a8ul, 0x81c2c92e47edaee6ul,
  0x92722c851482353bul, 0xa2bfe8a14cf10364ul, 0xa81a664bbc423001ul,
  0xc24b8b70d0f89791ul, 0xc76c51a30654be30ul, 0xd192e819d6ef5218ul,
  0xd69906245565a910ul, 0xf40e35855771202aul, 0x106aa07032bbd1b8ul,
  0x19a4c116b8d2d0c8ul, 0x1e376c085141ab53ul, 0x2748774cdf8eeb99ul,
  0x34b0bcb5e19b48a8ul, 0x391c0cb3c5c95a63ul, 0x4ed8aa4ae3418acbul,
  0x5b9cca4f7763e373ul, 0x682e6ff3d6b2b8a3ul, 0x748f82ee5defb2fcul,
  0x78a5636f43172f60ul, 0x84c87814a1f0ab72ul, 0x8cc702081a6439ecul,
  0x90befffa23631e28ul, 0xa4506cebde82bde9ul, 0xbef9a3f7b2c67915ul,
  0xc67178f2e372532bul, 0xca273eceea26619cul, 0xd186b8c721c0c207ul,
  0xeada7dd6cde0eb1eul, 0xf57d4f7fee6ed178ul, 0x06f067aa72176fbaul,
  0x0a637dc5a2c898a6ul, 0x113f9804bef90daeul, 0x1b710b35131c471bul,
  0x28db77f523047d84ul, 0x32caab7b40c72493ul, 0x3c9ebe0a15c9bebcul,
  0x431d67c49c100d4cul, 0x4cc5d4becb3e42b6ul, 0x597f299cfc657e2aul,
  0x5fcb6fab3ad6faecul, 0x6c44198c4a475817ul
};

typedef struct {
  u64 h[8];
} vigil_sha512_state;

/* The initial hash value (FIPS 180-4, section 5.3.5): square roots of the first 8 primes. */
VIGIL_DEVICE void vigil_sha512_init(vigil_sha512_state *s) {
  s->h[0] = 0x6a09e667f3bcc908ul;
  s->h[1] = 0xbb67ae8584caa73bul;
  s->h[2] = 0x3c6ef372fe94f82bul;
  s->h[3] = 0xa54ff53a5f1d36f1ul;
  s->h[4] = 0x510e527fade682d1ul;
  s->h[5] = 0x9b05688c2b3e6c1ful;
  s->h[6] = 0x1f83d9abfb41bd6bul;
  s->h[7] = 0x5be0cd19137e2179ul;
}

#define VIGIL_SHA512_ROTR(x, n) (((x) >> (n)) | ((x) << (64 - (n))))
#define VIGIL_SHA512_BSIG0(x) \
  (VIGIL_SHA512_ROTR(x, 28) ^ VIGIL_SHA512_ROTR(x, 34) ^ VIGIL_SHA512_ROTR(x, 39))
#define VIGIL_SHA512_BSIG1(x) \
  (VIGIL_SHA512_ROTR(x, 14) ^ VIGIL_SHA512_ROTR(x, 18) ^ VIGIL_SHA512_ROTR(x, 41))
#define VIGIL_SHA512_SSIG0(x) (VIGIL_SHA512_ROTR(x, 1) ^ VIGIL_SHA512_ROTR(x, 8) ^ ((x) >> 7))
#define VIGIL_SHA512_SSIG1(x) (VIGIL_SHA512_ROTR(x, 19) ^ VIGIL_SHA512_ROTR(x, 61) ^ ((x) >> 6))

/* One round on the working variables a..h (named by the caller, which rotates the names
 * instead of moving values), with schedule word w[i] and constant K[r + i]. */
#define VIGIL_SHA512_ROUND(a, b, c, d, e, f, g, h, i)                                  \
  do {                                                                                 \
    u64 t1_ = (h) + VIGIL_SHA512_BSIG1(e) + (((e) & (f)) ^ (~(e) & (g))) +            \
              vigil_sha512_k[r + (i)] + w[i];                                          \
    u64 t2_ = VIGIL_SHA512_BSIG0(a) + (((a) & (b)) ^ ((a) & (c)) ^ ((b) & (c)));      \
    (d) += t1_;                                                                        \
    (h) = t1_ + t2_;                                                                   \
  } while (0)

/* Replaces w[i] (= W[t - 16] for round t = r + i) by W[t]; in place, the window holds
 * W[t-16..t), so W[t-2], W[t-7] and W[t-15] are at (i + 14), (i + 9) and (i + 1) mod 16. */
#define VIGIL_SHA512_SCHED(i)                                                          \
  (w[i] += VIGIL_SHA512_SSIG1(w[((i) + 14) & 15]) + w[((i) + 9) & 15] +                \
           VIGIL_SHA512_SSIG0(w[((i) + 1) & 15]))

/* Compresses one block, w[0..16) big-endian words, into s. w is overwritten. */
VIGIL_DEVICE void vigil_sha512_compress(vigil_sha512_state *s, u64 w[16]) {
  u64 a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
  u64 e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
  for (int r = 0; r < 80; r += 16) {
    if (r != 0) {
      VIGIL_SHA512_SCHED(0); VIGIL_SHA512_SCHED(1); VIGIL_SHA512_SCHED(2);
      VIGIL_SHA512_SCHED(3); VIGIL_SHA512_SCHED(4); VIGIL_SHA512_SCHED(5);
      VIGIL_SHA512_SCHED(6); VIGIL_SHA512_SCHED(7); VIGIL_SHA512_SCHED(8);
      VIGIL_SHA512_SCHED(9); VIGIL_SHA512_SCHED(10); VIGIL_SHA512_SCHED(11);
      VIGIL_SHA512_SCHED(12); VIGIL_SHA512_SCHED(13); VIGIL_SHA512_SCHED(14);
      VIGIL_SHA512_SCHED(15);
    }
    VIGIL_SHA512_ROUND(a, b, c, d, e, f, g, h, 0);
    VIGIL_SHA512_ROUND(h, a, b, c, d, e, f, g, 1);
    VIGIL_SHA512_ROUND(g, h, a, b, c, d, e, f, 2);
    VIGIL_SHA512_ROUND(f, g, h, a, b, c, d, e, 3);
    VIGIL_SHA512_ROUND(e, f, g, h, a, b, c, d, 4);
    VIGIL_SHA512_ROUND(d, e, f, g, h, a, b, c, 5);
    VIGIL_SHA512_ROUND(c, d, e, f, g, h, a, b, 6);
    VIGIL_SHA512_ROUND(b, c, d, e, f, g, h, a, 7);
    VIGIL_SHA512_ROUND(a, b, c, d, e, f, g, h, 8);
    VIGIL_SHA512_ROUND(h, a, b, c, d, e, f, g, 9);
    VIGIL_SHA512_ROUND(g, h, a, b, c, d, e, f, 10);
    VIGIL_SHA512_ROUND(f, g, h, a, b, c, d, e, 11);
    VIGIL_SHA512_ROUND(e, f, g, h, a, b, c, d, 12);
    VIGIL_SHA512_ROUND(d, e, f, g, h, a, b, c, 13);
    VIGIL_SHA512_ROUND(c, d, e, f, g, h, a, b, 14);
    VIGIL_SHA512_ROUND(b, c, d, e, f, g, h, a, 15);
  }
  s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d;
  s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}

/* Eight bytes at p (any alignment) as a big-endian word. */
VIGIL_DEVICE u64 vigil_sha512_load_be64(const VIGIL_GLOBAL u8 *p) {
  return ((u64)p[0] << 56) | ((u64)p[1] << 48) | ((u64)p[2] << 40) | ((u64)p[3] << 32) |
         ((u64)p[4] << 24) | ((u64)p[5] << 16) | ((u64)p[6] << 8) | (u64)p[7];
}

#endif /* VIGIL_SHA512_H */
