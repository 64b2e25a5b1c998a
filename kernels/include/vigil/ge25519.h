/*
 * ge25519.h: the Ed25519 group, the twisted Edwards curve -x^2 + y^2 = 1 + d x^2 y^2
 * over GF(2^255 - 19) (a = -1, d = -121665/121666).
 *
 * Coordinates (Hisil, Wong, Carter, Dawson 2008; the names curve25519-dalek uses):
 *
 *   vigil_ge_p3      extended    (X : Y : Z : T), x = X/Z, y = Y/Z, xy = T/Z
 *   vigil_ge_p2      projective  (X : Y : Z)
 *   vigil_ge_p1p1    completed   ((X : Z), (Y : T)), x = X/Z, y = Y/T: what a doubling
 *                                or an addition produces before its last multiplications
 *   cached           (Y + X, Y - X, Z, 2dT) of an extended point, and affine Niels
 *                    (y + x, y - x, 2dxy): the right operands of the additions, which
 *                    are never whole in registers: ed25519.h keeps them in tables in
 *                    memory and reads each coordinate as the addition needs it
 *                    (vigil_ed25519_add_a, vigil_ed25519_add_b), ending in
 *                    vigil_ge_p1p1_from_products below
 *
 * The formulas are complete for this curve (a is a square, d is not), so there are no
 * exceptional cases: doubling and adding any points, the identity included, is correct.
 *
 * Bounds (see fe25519.h for B(m) and "tight"): every p3, p2 and cached point has
 * tight coordinates, and every multiplication input is annotated with its bound, which
 * is at most B(3.03) < B(3.36). Completed points are the only ones left loose: T is
 * tight, X in B(3.01), Y in B(2.02), Z in B(3.03).
 *
 * Costs (M = multiplication, S = squaring; additions and carries not counted):
 *   dbl p2 -> p1p1 4S; add p3 + cached -> p1p1 4M; add p3 + niels -> p1p1 3M;
 *   p1p1 -> p2 3M; p1p1 -> p3 4M; p3 -> cached 1M.
 */
#ifndef VIGIL_GE25519_H
#define VIGIL_GE25519_H

#include "vigil/vendor.h"
#include "vigil/fe25519.h"

typedef struct {
  vigil_fe X, Y, Z, T;
} vigil_ge_p3;

typedef struct {
  vigil_fe X, Y, Z;
} vigil_ge_p2;

typedef struct {
  vigil_fe X, Y, Z, T;
} vigil_ge_p1p1;

/* The identity as a completed point ((0 : 1), (1 : 1)). */
VIGIL_DEVICE void vigil_ge_p1p1_identity(vigil_ge_p1p1 *h) {
  vigil_fe_zero(&h->X);
  vigil_fe_one(&h->Y);
  vigil_fe_one(&h->Z);
  vigil_fe_one(&h->T);
}

/* Completed -> projective: (XT : YZ : ZT). 3M; inputs as completed points leave them
 * (at most B(3.03)), outputs tight. */
VIGIL_DEVICE void vigil_ge_p1p1_to_p2(vigil_ge_p2 *r, const vigil_ge_p1p1 *p) {
  vigil_fe_mul(&r->X, &p->X, &p->T);
  vigil_fe_mul(&r->Y, &p->Y, &p->Z);
  vigil_fe_mul(&r->Z, &p->Z, &p->T);
}

/* Completed -> extended: (XT : YZ : ZT : XY). 4M; outputs tight. XY first, so that
 * each input dies at its last product and at most one output is live beside the
 * inputs. r may alias p. */
VIGIL_DEVICE void vigil_ge_p1p1_to_p3(vigil_ge_p3 *r, const vigil_ge_p1p1 *p) {
  vigil_fe t;
  vigil_fe_mul(&t, &p->X, &p->Y);
  vigil_fe_mul(&r->X, &p->X, &p->T);
  vigil_fe_mul(&r->Y, &p->Y, &p->Z);
  vigil_fe_mul(&r->Z, &p->Z, &p->T);
  r->T = t;
}

/* Extended -> projective: drop T. */
VIGIL_DEVICE void vigil_ge_p3_to_p2(vigil_ge_p2 *r, const vigil_ge_p3 *p) {
  r->X = p->X;
  r->Y = p->Y;
  r->Z = p->Z;
}

/*
 * r = 2p (projective in, completed out). 4S. With p tight:
 *   XX = X^2, YY = Y^2, ZZ = Z^2                       tight
 *   (X + Y)^2                                          input B(2.02), output tight
 *   r.Y = YY + XX                                      B(2.02)
 *   r.Z = YY - XX                                      B(3.01)
 *   r.X = (X + Y)^2 - (YY + XX)                        sub_carry: tight
 *   r.T = 2ZZ - (YY - XX)                              2ZZ in B(2.02); sub_carry: tight
 * which is ((2XY : Y^2 - X^2), (Y^2 + X^2 : 2Z^2 - Y^2 + X^2)), the doubling of
 * HWCD08 section 3.3 with a = -1.
 */
VIGIL_DEVICE void vigil_ge_p2_dbl(vigil_ge_p1p1 *r, const vigil_ge_p2 *p) {
  vigil_fe XX, YY, ZZ2, t;
  vigil_fe_add(&t, &p->X, &p->Y);
  vigil_fe_sq(&t, &t);
  vigil_fe_sq(&XX, &p->X);
  vigil_fe_sq(&YY, &p->Y);
  vigil_fe_sq(&ZZ2, &p->Z);
  vigil_fe_add(&ZZ2, &ZZ2, &ZZ2);
  vigil_fe_add(&r->Y, &YY, &XX);
  vigil_fe_sub(&r->Z, &YY, &XX);
  vigil_fe_sub_carry(&r->X, &t, &r->Y);
  vigil_fe_sub_carry(&r->T, &ZZ2, &r->Z);
}

/* r = 2p for an extended p (T unused). 4S. */
VIGIL_DEVICE void vigil_ge_p3_dbl(vigil_ge_p1p1 *r, const vigil_ge_p3 *p) {
  vigil_ge_p2 q;
  vigil_ge_p3_to_p2(&q, p);
  vigil_ge_p2_dbl(r, &q);
}

/*
 * What an addition takes from its left operand P = (X : Y : Z : T): Y + X (B(2.02)),
 * Y - X (B(3.01)), T and Z (tight). From an extended point they are at hand
 * (vigil_ge_addends_of_p3). From a completed point ((X : Z), (Y : T)), whose extended
 * form is (XT : YZ : ZT : XY), they are formed without the extended point ever being
 * whole (vigil_ge_addends_of_p1p1, 4M): XY first, then XT and YZ, which become the sum
 * and the difference at once, then ZT, so that each input dies at its last product.
 * Converting to extended first and adding after kept a completed and an extended point
 * live together, the peak that took the multiplication loop past 128 registers.
 */
typedef struct {
  vigil_fe ypx, ymx, t, z;
} vigil_ge_addends;

VIGIL_DEVICE void vigil_ge_addends_of_p3(vigil_ge_addends *r, const vigil_ge_p3 *p) {
  vigil_fe_add(&r->ypx, &p->Y, &p->X);
  vigil_fe_sub(&r->ymx, &p->Y, &p->X);
  r->t = p->T;
  r->z = p->Z;
}

VIGIL_DEVICE void vigil_ge_addends_of_p1p1(vigil_ge_addends *r, const vigil_ge_p1p1 *p) {
  vigil_fe x3, y3;
  vigil_fe_mul(&r->t, &p->X, &p->Y);
  vigil_fe_mul(&x3, &p->X, &p->T);
  vigil_fe_mul(&y3, &p->Y, &p->Z);
  vigil_fe_add(&r->ypx, &y3, &x3);
  vigil_fe_sub(&r->ymx, &y3, &x3);
  vigil_fe_mul(&r->z, &p->Z, &p->T);
}

/* The end of both additions below: from PP = (Y1 + X1)(Y2 + X2), MM = (Y1 - X1)(Y2 - X2),
 * TT = T1 * 2dT2 and ZZ2 = 2 Z1 Z2 (all tight but ZZ2, B(2.02)), the completed point
 * ((PP - MM : ZZ2 + TT), (PP + MM : ZZ2 - TT)): X B(3.01), Y B(2.02), Z B(3.03),
 * T (sub_carry) tight. */
VIGIL_DEVICE void vigil_ge_p1p1_from_products(vigil_ge_p1p1 *r, const vigil_fe *PP,
                                              const vigil_fe *MM, const vigil_fe *TT,
                                              const vigil_fe *ZZ2) {
  vigil_fe_sub(&r->X, PP, MM);
  vigil_fe_add(&r->Y, PP, MM);
  vigil_fe_add(&r->Z, ZZ2, TT);
  vigil_fe_sub_carry(&r->T, ZZ2, TT);
}

/* r = -p for an extended point: (-X : Y : Z : -T), re-carried to tight. */
VIGIL_DEVICE void vigil_ge_p3_neg(vigil_ge_p3 *r, const vigil_ge_p3 *p) {
  vigil_fe t;
  vigil_fe_neg(&t, &p->X);
  vigil_fe_carry(&r->X, &t);
  r->Y = p->Y;
  r->Z = p->Z;
  vigil_fe_neg(&t, &p->T);
  vigil_fe_carry(&r->T, &t);
}

/* 1 if the projective point p is the identity (X = 0 and Y = Z), else 0. */
VIGIL_DEVICE u32 vigil_ge_p2_is_identity(const vigil_ge_p2 *p) {
  return vigil_fe_is_zero(&p->X) & vigil_fe_eq(&p->Y, &p->Z);
}

/* 1 if [8]p is the identity (p has small order), else 0. 3 doublings: 12S + 9M. */
VIGIL_DEVICE u32 vigil_ge_p3_has_small_order(const vigil_ge_p3 *p) {
  vigil_ge_p1p1 c;
  vigil_ge_p2 q;
  vigil_ge_p3_dbl(&c, p);
  vigil_ge_p1p1_to_p2(&q, &c);
  vigil_ge_p2_dbl(&c, &q);
  vigil_ge_p1p1_to_p2(&q, &c);
  vigil_ge_p2_dbl(&c, &q);
  vigil_ge_p1p1_to_p2(&q, &c);
  return vigil_ge_p2_is_identity(&q);
}

/* u = y^2 - 1 and v = d y^2 + 1 (tight, B(1.02)) from y^2 (tight). */
VIGIL_DEVICE void vigil_ge_decompress_uv(vigil_fe *u, vigil_fe *v, const vigil_fe *yy) {
  vigil_fe one;
  vigil_fe_one(&one);
  vigil_fe_sub_carry(u, yy, &one);
  vigil_fe_set_d(v);
  vigil_fe_mul(v, yy, v);
  vigil_fe_add(v, v, &one);
}

/*
 * Decompression, exactly curve25519-dalek 4's CompressedEdwardsY::decompress:
 * s[0..8) is the 32-byte encoding as little-endian words. y = its low 255 bits, taken
 * mod p (so a non-canonical y >= p is accepted and means y - p); u = y^2 - 1,
 * v = d y^2 + 1; fails (returns 0) unless u/v is a square; x = its non-negative root,
 * negated when bit 255 is set (which leaves x = 0 at 0: "negative zero" decodes).
 * Returns 1 on success with r = (x, y, 1, xy), tight. v = d y^2 + 1 is never 0 (-1/d is
 * not a square), so this fails exactly when u/v is not a square.
 *
 * Only y is held across the exponentiation: u and v are computed again after it, y^2
 * the second time as y * y, a different expression, so that the compiler does not keep
 * the first values live instead (that took 40 registers more than a 128-register kernel
 * has, and spilled). Cost: one pow_p58 (251S + 11M) plus 5S + 12M.
 */
VIGIL_DEVICE u32 vigil_ge_decompress(vigil_ge_p3 *r, const u32 s[8]) {
  vigil_fe y, yy, u, v, x, t;
  vigil_fe_from_words(&y, s);            /* tight */
  vigil_fe_sq(&yy, &y);
  vigil_ge_decompress_uv(&u, &v, &yy);
  vigil_fe_sqrt_ratio_pow(&t, &u, &v);
  vigil_fe_mul(&yy, &y, &y);
  vigil_ge_decompress_uv(&u, &v, &yy);
  u32 ok = vigil_fe_sqrt_ratio_finish(&x, &u, &v, &t);
  vigil_fe_neg(&t, &x);
  vigil_fe_carry(&t, &t);
  vigil_fe_cmov(&x, &t, 0u - (s[7] >> 31));
  r->X = x;
  r->Y = y;
  vigil_fe_one(&r->Z);
  vigil_fe_mul(&r->T, &x, &y);
  return ok;
}

/*
 * Compression: w[0..8) = the canonical encoding of the projective point p as
 * little-endian words: y = Y/Z mod p in bits 0..254, bit 255 = the low bit of the
 * canonical x = X/Z. One inversion (254S + 11M) plus 2M.
 */
VIGIL_DEVICE void vigil_ge_p2_compress(u32 w[8], const vigil_ge_p2 *p) {
  vigil_fe zinv, x, y;
  u32 xw[8];
  vigil_fe_invert(&zinv, &p->Z);
  vigil_fe_mul(&x, &p->X, &zinv);
  vigil_fe_mul(&y, &p->Y, &zinv);
  vigil_fe_to_words(w, &y);
  vigil_fe_to_words(xw, &x);
  w[7] |= xw[0] << 31;
}

#endif /* VIGIL_GE25519_H */
