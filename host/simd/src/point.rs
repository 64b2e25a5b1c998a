//! Twisted Edwards group operations (a = -1) on [`Lanes`], in the coordinate systems of
//! Hisil, Wong, Carter and Dawson (2008) as curve25519-dalek and ref10 name them.
//!
//! The formulas are complete on this curve: the identity and points of small order need
//! no special case, so every lane runs the same instructions whatever its point.
//!
//! | form | coordinates | made by |
//! |---|---|---|
//! | [`Extended`] | X, Y, Z, T with x = X/Z, y = Y/Z, xy = T/Z | decompression, completed -> extended (4M) |
//! | [`Projective`] | X, Y, Z | completed -> projective (3M) |
//! | [`Completed`] | X, Y, Z, T with x = X/Z, y = Y/T | doubling (4S), additions |
//! | [`Cached`] | Y + X, Y - X, Z, 2dT | extended -> cached (1M) |
//! | [`Niels`] | y + x, y - x, 2dxy (Z = 1) | constants (the base-point table) |

use crate::consts;
use crate::lanes::Lanes;

/// Extended coordinates.
#[derive(Clone, Copy)]
pub(crate) struct Extended<F> {
    pub x: F,
    pub y: F,
    pub z: F,
    pub t: F,
}

/// Projective coordinates (what doubling reads).
#[derive(Clone, Copy)]
pub(crate) struct Projective<F> {
    pub x: F,
    pub y: F,
    pub z: F,
}

/// Completed coordinates: ((X : Z), (Y : T)), what additions and doublings produce.
#[derive(Clone, Copy)]
pub(crate) struct Completed<F> {
    pub x: F,
    pub y: F,
    pub z: F,
    pub t: F,
}

/// An addend prepared for [`add_cached`]: (Y + X, Y - X, Z, 2dT).
#[derive(Clone, Copy)]
pub(crate) struct Cached<F> {
    pub ypx: F,
    pub ymx: F,
    pub z: F,
    pub t2d: F,
}

/// An affine addend (Z = 1) prepared for [`add_niels`]: (y + x, y - x, 2dxy).
#[derive(Clone, Copy)]
pub(crate) struct Niels<F> {
    pub ypx: F,
    pub ymx: F,
    pub xy2d: F,
}

/// The field element 1 in every lane.
#[inline(always)]
pub(crate) fn one<L: Lanes>(l: L) -> L::Fe {
    l.splat(&[1, 0, 0, 0])
}

/// The field element 0 in every lane.
#[inline(always)]
pub(crate) fn zero<L: Lanes>(l: L) -> L::Fe {
    l.splat(&[0; 4])
}

/// The identity (0, 1) in extended coordinates.
#[inline(always)]
pub(crate) fn identity<L: Lanes>(l: L) -> Extended<L::Fe> {
    Extended {
        x: zero(l),
        y: one(l),
        z: one(l),
        t: zero(l),
    }
}

/// -P.
#[inline(always)]
pub(crate) fn neg<L: Lanes>(l: L, p: &Extended<L::Fe>) -> Extended<L::Fe> {
    Extended {
        x: l.neg(p.x),
        y: p.y,
        z: p.z,
        t: l.neg(p.t),
    }
}

/// Drops T.
#[inline(always)]
pub(crate) fn to_projective_e<F: Copy>(p: &Extended<F>) -> Projective<F> {
    Projective {
        x: p.x,
        y: p.y,
        z: p.z,
    }
}

/// Completed -> projective: 3M.
#[inline(always)]
pub(crate) fn to_projective<L: Lanes>(l: L, c: &Completed<L::Fe>) -> Projective<L::Fe> {
    Projective {
        x: l.mul(c.x, c.t),
        y: l.mul(c.y, c.z),
        z: l.mul(c.z, c.t),
    }
}

/// Completed -> extended: 4M.
#[inline(always)]
pub(crate) fn to_extended<L: Lanes>(l: L, c: &Completed<L::Fe>) -> Extended<L::Fe> {
    Extended {
        x: l.mul(c.x, c.t),
        y: l.mul(c.y, c.z),
        z: l.mul(c.z, c.t),
        t: l.mul(c.x, c.y),
    }
}

/// Extended -> cached: 1M (2d T).
#[inline(always)]
pub(crate) fn to_cached<L: Lanes>(l: L, p: &Extended<L::Fe>, d2: L::Fe) -> Cached<L::Fe> {
    Cached {
        ypx: l.add(p.y, p.x),
        ymx: l.sub(p.y, p.x),
        z: p.z,
        t2d: l.mul(p.t, d2),
    }
}

/// [2]P: 4S. (X + Y)^2 - (Y^2 + X^2) = 2XY, Y^2 + X^2, Y^2 - X^2, 2Z^2 - (Y^2 - X^2).
#[inline(always)]
pub(crate) fn double<L: Lanes>(l: L, p: &Projective<L::Fe>) -> Completed<L::Fe> {
    let xx = l.sq(p.x);
    let yy = l.sq(p.y);
    let zz = l.sq(p.z);
    let zz2 = l.add(zz, zz);
    let xpy2 = l.sq(l.add(p.x, p.y));
    let yy_plus_xx = l.add(yy, xx);
    let yy_minus_xx = l.sub(yy, xx);
    Completed {
        x: l.sub(xpy2, yy_plus_xx),
        y: yy_plus_xx,
        z: yy_minus_xx,
        t: l.sub(zz2, yy_minus_xx),
    }
}

/// P + Q for a cached Q: 4M.
#[inline(always)]
pub(crate) fn add_cached<L: Lanes>(
    l: L,
    p: &Extended<L::Fe>,
    q: &Cached<L::Fe>,
) -> Completed<L::Fe> {
    let pp = l.mul(l.add(p.y, p.x), q.ypx);
    let mm = l.mul(l.sub(p.y, p.x), q.ymx);
    let tt2d = l.mul(p.t, q.t2d);
    let zz = l.mul(p.z, q.z);
    let zz2 = l.add(zz, zz);
    Completed {
        x: l.sub(pp, mm),
        y: l.add(pp, mm),
        z: l.add(zz2, tt2d),
        t: l.sub(zz2, tt2d),
    }
}

/// P + Q for an affine Niels Q: 3M.
#[inline(always)]
pub(crate) fn add_niels<L: Lanes>(l: L, p: &Extended<L::Fe>, q: &Niels<L::Fe>) -> Completed<L::Fe> {
    let pp = l.mul(l.add(p.y, p.x), q.ypx);
    let mm = l.mul(l.sub(p.y, p.x), q.ymx);
    let txy2d = l.mul(p.t, q.xy2d);
    let z2 = l.add(p.z, p.z);
    Completed {
        x: l.sub(pp, mm),
        y: l.add(pp, mm),
        z: l.add(z2, txy2d),
        t: l.sub(z2, txy2d),
    }
}

/// The identity as a cached point: (1, 1, 1, 0).
#[inline(always)]
pub(crate) fn identity_cached<L: Lanes>(l: L) -> Cached<L::Fe> {
    Cached {
        ypx: one(l),
        ymx: one(l),
        z: one(l),
        t2d: zero(l),
    }
}

/// Per lane: `table[|d| - 1]` for the lane's digit d in -8..=8 (the identity for 0),
/// negated where d < 0. `abs_masks[j]` holds the lanes with |d| = j + 1; `neg_mask`
/// the lanes with d < 0. Every entry is read by every lane (a scan, no data-dependent
/// address).
#[inline(always)]
pub(crate) fn select_cached<L: Lanes>(
    l: L,
    table: &[Cached<L::Fe>; 8],
    abs_masks: &[u8; 8],
    neg_mask: u8,
) -> Cached<L::Fe> {
    let mut r = identity_cached(l);
    for (entry, &m) in table.iter().zip(abs_masks) {
        r = Cached {
            ypx: l.select(m, entry.ypx, r.ypx),
            ymx: l.select(m, entry.ymx, r.ymx),
            z: l.select(m, entry.z, r.z),
            t2d: l.select(m, entry.t2d, r.t2d),
        };
    }
    Cached {
        ypx: l.select(neg_mask, r.ymx, r.ypx),
        ymx: l.select(neg_mask, r.ypx, r.ymx),
        z: r.z,
        t2d: l.select(neg_mask, l.neg(r.t2d), r.t2d),
    }
}

/// As [`select_cached`] for the base-point table in Niels form.
#[inline(always)]
pub(crate) fn select_niels<L: Lanes>(
    l: L,
    table: &[Niels<L::Fe>; 8],
    abs_masks: &[u8; 8],
    neg_mask: u8,
) -> Niels<L::Fe> {
    let mut r = Niels {
        ypx: one(l),
        ymx: one(l),
        xy2d: zero(l),
    };
    for (entry, &m) in table.iter().zip(abs_masks) {
        r = Niels {
            ypx: l.select(m, entry.ypx, r.ypx),
            ymx: l.select(m, entry.ymx, r.ymx),
            xy2d: l.select(m, entry.xy2d, r.xy2d),
        };
    }
    Niels {
        ypx: l.select(neg_mask, r.ymx, r.ypx),
        ymx: l.select(neg_mask, r.ypx, r.ymx),
        xy2d: l.select(neg_mask, l.neg(r.xy2d), r.xy2d),
    }
}

/// The base-point table [1..8]B, as constants in every lane.
#[inline(always)]
pub(crate) fn base_table<L: Lanes>(l: L) -> [Niels<L::Fe>; 8] {
    // Written out, not `map`ped: closures are not inlined into the instruction set's
    // `#[target_feature]` entry.
    [
        base_entry(l, 0),
        base_entry(l, 1),
        base_entry(l, 2),
        base_entry(l, 3),
        base_entry(l, 4),
        base_entry(l, 5),
        base_entry(l, 6),
        base_entry(l, 7),
    ]
}

/// [j + 1]B in every lane.
#[inline(always)]
fn base_entry<L: Lanes>(l: L, j: usize) -> Niels<L::Fe> {
    let [ypx, ymx, xy2d] = &consts::BASE_NIELS[j];
    Niels {
        ypx: l.splat(ypx),
        ymx: l.splat(ymx),
        xy2d: l.splat(xy2d),
    }
}

/// Lanes where the projective point is the identity: X = 0 and Y = Z.
#[inline(always)]
pub(crate) fn is_identity<L: Lanes>(l: L, p: &Projective<L::Fe>) -> u8 {
    l.is_zero(p.x) & l.eq(p.y, p.z)
}

/// [8]P: three doublings.
#[inline(always)]
pub(crate) fn mul_by_cofactor<L: Lanes>(l: L, p: &Projective<L::Fe>) -> Projective<L::Fe> {
    let mut q = *p;
    for _ in 0..3 {
        q = to_projective(l, &double(l, &q));
    }
    q
}

/// The 32-byte encoding of each lane's point (y with the sign of x in bit 255), through
/// one inversion of Z.
#[inline(always)]
pub(crate) fn compress<L: Lanes>(l: L, p: &Projective<L::Fe>) -> [[u64; 4]; 8] {
    let zinv = l.invert(p.z);
    let x = l.mul(p.x, zinv);
    let y = l.mul(p.y, zinv);
    let mut out = l.to_words(y);
    let sign = l.is_negative(x);
    for (i, w) in out.iter_mut().enumerate() {
        w[3] |= u64::from((sign >> i) & 1) << 63;
    }
    out
}

/// Decompression exactly as curve25519-dalek 4's `CompressedEdwardsY::decompress`:
/// y = the low 255 bits (not reduced: y >= p is accepted), x = the non-negative root of
/// (y^2 - 1) / (d y^2 + 1) negated when bit 255 is set (so "negative zero" gives x = 0).
/// Returns the point and the lanes where the ratio is a square (where decompression
/// succeeds); other lanes hold garbage that is never used for a verdict.
#[inline(always)]
pub(crate) fn decompress<L: Lanes>(l: L, enc: &[[u64; 4]; 8]) -> (Extended<L::Fe>, u8) {
    let y = l.from_words(enc);
    let z = one(l);
    let yy = l.sq(y);
    let u = l.sub(yy, z);
    let v = l.add(l.mul(yy, l.splat(&consts::D)), z);
    let (ok, x) = sqrt_ratio_i(l, u, v);
    let mut sign = 0u8;
    for (i, w) in enc.iter().enumerate().take(L::N) {
        sign |= u8::from(w[3] >> 63 == 1) << i;
    }
    let x = l.select(sign, l.neg(x), x);
    (
        Extended {
            x,
            y,
            z,
            t: l.mul(x, y),
        },
        ok,
    )
}

/// curve25519-dalek's `sqrt_ratio_i`: (whether u/v is a square, the non-negative root
/// of u/v if so, else of i*u/v). r = u v^3 (u v^7)^((p-5)/8); v r^2 in {u, -u, -u i}.
#[inline(always)]
pub(crate) fn sqrt_ratio_i<L: Lanes>(l: L, u: L::Fe, v: L::Fe) -> (u8, L::Fe) {
    let v3 = l.mul(l.sq(v), v);
    let v7 = l.mul(l.sq(v3), v);
    let r = l.mul(l.mul(u, v3), l.pow_p58(l.mul(u, v7)));
    let check = l.mul(v, l.sq(r));
    let i = l.splat(&consts::SQRT_M1);
    let neg_u = l.neg(u);
    let correct_sign = l.eq(check, u);
    let flipped_sign = l.eq(check, neg_u);
    let flipped_sign_i = l.eq(check, l.mul(neg_u, i));
    let r = l.select(flipped_sign | flipped_sign_i, l.mul(r, i), r);
    let r = l.select(l.is_negative(r), l.neg(r), r);
    (correct_sign | flipped_sign, r)
}
