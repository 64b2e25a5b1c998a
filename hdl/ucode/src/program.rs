//! The verification program: Ed25519 verification as a straight line of field operations
//! with one loop, written once here, scheduled into bundles ([`crate::sched`]) and burnt
//! into the engine's ROM.
//!
//! The program is the same for every profile and every input: the profiles differ only
//! in which checks the final flag logic combines, so every signature takes exactly the
//! same number of turns (constant time, and the engine's throughput is a fixed
//! number). In order:
//!
//! 1. **Load**: y_A and y_R from the input bytes, reduced mod p (an encoding with y >= p
//!    decodes as y - p, as curve25519-dalek does).
//! 2. **Decompress** A and R exactly as curve25519-dalek's `CompressedEdwardsY::decompress`:
//!    u = y^2 - 1, v = d y^2 + 1, `sqrt_ratio_i(u, v)` (r = u v^3 (u v^7)^((p-5)/8), then
//!    the three checks of v r^2 against u, -u and -u sqrt(-1), the nonnegative root),
//!    then x negated when the encoding's sign bit is set (x = 0 with the sign bit set
//!    is accepted, as dalek does). A flag records whether each decoded.
//! 3. **Table**: the multiples 0..15 of -A in cached form (Y - X, Y + X, 2d T, 2Z),
//!    entry 0 the identity, built by 14 additions.
//! 4. **Double-scalar multiplication** R' = [S]B + [k](-A), 4-bit fixed windows from the
//!    top: four doublings, then an addition of the -A table entry at k's digit and of
//!    the base-point table (ROM) entry at S's digit. Entry 0 of each table is the
//!    identity and the addition law is complete, so there is no branch on a digit. The
//!    top window is done before the loop, from the identity, so its four doublings of
//!    the identity (29 multiplications) are not spent.
//! 5. **Checks**: R' = R projectively (X' = x_R Z', Y' = y_R Z'), R's encoding canonical
//!    (y_R < p, and not x_R = 0 with the sign bit), [8]A and [8]R the identity (small
//!    order), [8]R' = [8]R projectively (the cofactored equation).
//! 6. **Verdict**: every profile needs A and R to decode and S < L; then `strict` =
//!    cofactorless equation, R canonical, neither A nor R of small order; `rfc8032` =
//!    cofactorless equation, R canonical; `zip215` = the cofactored equation.
//!
//! Why the cofactorless check is exact: the references compare the *encoding* of
//! [S]B - [k]A with R's bytes. That encoding equals R's bytes exactly when R's bytes are
//! the canonical encoding of a point (they decode, y < p, and x = 0 only with the sign
//! bit clear) and that point equals R'. So no inversion (to encode R') is needed. Under
//! `rfc8032` R never has to decode in the reference, but bytes that do not decode are
//! never an encoding of R', so requiring the decode changes no verdict.

use crate::ir::Opnd::{Const as K, Pin};
use crate::ir::{Block, Builder, End, Opnd};
use crate::isa::{flag, konst, Op, TABLE_BASE, TABLE_T_BASE};

/// The accumulator Q = (X : Y : Z) the loop carries (M bank: products).
const QX: u8 = 44;
const QY: u8 = 45;
const QZ: u8 = 46;

/// The flags one decompression computes.
#[derive(Clone, Copy)]
struct DecompressFlags {
    correct: u8,
    flip: u8,
    flip_i: u8,
    use_i: u8,
    neg: u8,
}

// Computed flags.
const DEC_A: DecompressFlags = DecompressFlags {
    correct: 8,
    flip: 9,
    flip_i: 10,
    use_i: 11,
    neg: 12,
};
const F_OK_A: u8 = 13;
const F_OK_R: u8 = 14;
const F_EQX: u8 = 15;
const F_EQY: u8 = 16;
const F_COFACTORLESS: u8 = 17;
const F_R_BAD: u8 = 18;
const F_SMALL_A: u8 = 19;
const F_SMALL_R: u8 = 20;
const F_COFACTORED: u8 = 21;
const F_T0: u8 = 22;
const F_T1: u8 = 23;
const F_STRICT_OK: u8 = 24;
const F_VERDICT: u8 = 25;
// R's decompression has flags of its own, so the two can interleave.
const DEC_R: DecompressFlags = DecompressFlags {
    correct: 26,
    flip: 27,
    flip_i: 28,
    use_i: 29,
    neg: 30,
};
const F_T2: u8 = 31;

const ZERO: Opnd = K(konst::ZERO);
const ONE: Opnd = K(konst::ONE);

/// A point in projective coordinates (T only where an addition needs it).
#[derive(Clone, Copy)]
struct Pt {
    x: Opnd,
    y: Opnd,
    z: Opnd,
    t: Opnd,
}

/// Where a point operation puts X, Y, Z.
#[derive(Clone, Copy)]
enum Out {
    /// New values, and T too when `true`.
    Vals(bool),
    /// The registers of the loop's accumulator (no T).
    Acc,
}

/// The program builder, with the curve's formulas.
#[derive(Default)]
struct Asm(Builder);

impl std::ops::Deref for Asm {
    type Target = Builder;
    fn deref(&self) -> &Builder {
        &self.0
    }
}

impl std::ops::DerefMut for Asm {
    fn deref_mut(&mut self) -> &mut Builder {
        &mut self.0
    }
}

impl Asm {
    /// `s^(2^n)` by n squarings.
    fn square_n(&mut self, s: Opnd, n: usize) -> Opnd {
        (0..n).fold(s, |v, _| self.mul(v, v))
    }

    /// `x^((p-5)/8) = x^(2^252 - 3)`, by the usual addition chain (251 squarings, 11
    /// multiplications).
    fn pow_p58(&mut self, x: Opnd) -> Opnd {
        let x2 = self.mul(x, x);
        let x8 = self.square_n(x2, 2);
        let x9 = self.mul(x, x8);
        let x11 = self.mul(x2, x9);
        let x22 = self.mul(x11, x11);
        let e5 = self.mul(x9, x22); // 2^5 - 1
        let t = self.square_n(e5, 5);
        let e10 = self.mul(t, e5);
        let t = self.square_n(e10, 10);
        let e20 = self.mul(t, e10);
        let t = self.square_n(e20, 20);
        let e40 = self.mul(t, e20);
        let t = self.square_n(e40, 10);
        let e50 = self.mul(t, e10);
        let t = self.square_n(e50, 50);
        let e100 = self.mul(t, e50);
        let t = self.square_n(e100, 100);
        let e200 = self.mul(t, e100);
        let t = self.square_n(e200, 50);
        let e250 = self.mul(t, e50);
        let t = self.square_n(e250, 2); // 2^252 - 4
        self.mul(t, x) // 2^252 - 3
    }

    /// Decompresses y (canonical) with the sign in flag `sign`: returns x, and sets flag
    /// `ok` when y is on the curve.
    fn decompress(&mut self, y: Opnd, sign: u8, ok: u8, f: DecompressFlags) -> Opnd {
        let yy = self.mul(y, y);
        let u = self.sub(yy, ONE);
        let dyy = self.mul(yy, K(konst::D));
        let v = self.add(dyy, ONE);
        // sqrt_ratio_i(u, v)
        let v2 = self.mul(v, v);
        let v3 = self.mul(v2, v);
        let v6 = self.mul(v3, v3);
        let v7 = self.mul(v6, v);
        let uv3 = self.mul(u, v3);
        let uv7 = self.mul(u, v7);
        let pow = self.pow_p58(uv7);
        let rr = self.mul(uv3, pow); // r = u v^3 (u v^7)^((p-5)/8)
        let r2 = self.mul(rr, rr);
        let check = self.mul(r2, v); // v r^2
        self.eq(f.correct, check, u);
        let neg_u = self.sub(ZERO, u);
        self.eq(f.flip, check, neg_u);
        let neg_u_i = self.mul(neg_u, K(konst::SQRT_M1));
        self.eq(f.flip_i, check, neg_u_i);
        let r_i = self.mul(rr, K(konst::SQRT_M1));
        self.flags(Op::For, f.use_i, f.flip, f.flip_i, false);
        let root = self.csel(f.use_i, r_i, rr);
        self.odd(f.neg, root);
        let root = self.cneg(f.neg, root); // the nonnegative root
        self.flags(Op::For, ok, f.correct, f.flip, false);
        self.cneg(sign, root)
    }

    /// The results X, Y, Z (and T) of a point operation: the products of the given
    /// pairs.
    fn finish(&mut self, e: Opnd, f: Opnd, g: Opnd, h: Opnd, out: Out) -> Pt {
        match out {
            Out::Vals(with_t) => {
                let x = self.mul(e, f);
                let y = self.mul(g, h);
                let z = self.mul(f, g);
                let t = if with_t { self.mul(e, h) } else { z };
                Pt { x, y, z, t }
            }
            Out::Acc => {
                self.pin(QX, Op::Mul, e, f);
                self.pin(QY, Op::Mul, g, h);
                self.pin(QZ, Op::Mul, f, g);
                acc()
            }
        }
    }

    /// Doubling in projective coordinates (dbl-2008-hwcd, a = -1), with every result
    /// negated, which is the same point: E = 2 X Y as a product instead of
    /// (X + Y)^2 - A - B, and F' = -F = C - G, H' = -H = A + B, so X3 = E F', Y3 = G H',
    /// Z3 = F' G, T3 = E H' are (-X3 : -Y3 : -Z3 : -T3) of the textbook formula; and
    /// C = 2 Z^2 is folded into F' by the adder's `2a - b`. Four products, then four sums
    /// in two steps, then three or four products: three sums fewer and one step shorter
    /// than the textbook order, which is what lets the loop issue a product almost every
    /// turn (44 turns for 43 products per window, against 56 in the textbook order).
    fn double(&mut self, p: Pt, out: Out) -> Pt {
        let a = self.mul(p.x, p.x);
        let b = self.mul(p.y, p.y);
        let z2 = self.mul(p.z, p.z);
        let xy = self.mul(p.x, p.y);
        let e = self.add(xy, xy); // E = 2 X Y
        let g = self.sub(b, a); // G = B - A
        let h = self.add(a, b); // H' = A + B
        let f = self.dsub(z2, g); // F' = C - G = 2 Z^2 - G
        self.finish(e, f, g, h, out)
    }

    /// Extended + cached addition (add-2008-hwcd-3, a = -1). `c` is (Y - X, Y + X, 2d T,
    /// 2 Z) of the second point; with `niels`, c is (y + x, y - x, 2d x y) of an affine
    /// point and 2 Z1 replaces Z1 * 2 Z2, folded into F = 2 Z1 - C and G = 2 Z1 + C by
    /// the adder's `2a - b` and `2a + b`.
    fn add_points(&mut self, p: Pt, c: [Opnd; 4], niels: bool, out: Out) -> Pt {
        let (ymx, ypx) = if niels { (c[1], c[0]) } else { (c[0], c[1]) };
        let s0 = self.sub(p.y, p.x);
        let a = self.mul(s0, ymx);
        let s1 = self.add(p.y, p.x);
        let b = self.mul(s1, ypx);
        let cc = self.mul(p.t, c[2]);
        let e = self.sub(b, a);
        let (f, g) = if niels {
            // D = 2 Z1, folded into F and G.
            (self.dsub(p.z, cc), self.dadd(p.z, cc))
        } else {
            let d = self.mul(p.z, c[3]); // D = Z1 * 2 Z2
            (self.sub(d, cc), self.add(d, cc))
        };
        let h = self.add(b, a);
        self.finish(e, f, g, h, out)
    }

    /// Writes the cached form of the extended point `p` to table entry `e`.
    fn cache(&mut self, p: Pt, e: u8) {
        let base = TABLE_BASE + 4 * e;
        self.pin(base, Op::Sub, p.y, p.x);
        self.pin(base + 1, Op::Add, p.y, p.x);
        self.pin(TABLE_T_BASE + e, Op::Mul, p.t, K(konst::D2));
        self.pin(base + 3, Op::Add, p.z, p.z);
    }
}

/// The accumulator's registers as a point (no T).
fn acc() -> Pt {
    Pt {
        x: Pin(QX),
        y: Pin(QY),
        z: Pin(QZ),
        t: Pin(QZ),
    }
}

/// The program, as blocks of operations: before the loop, the loop, after it.
pub fn blocks() -> Vec<Block> {
    let mut a = Asm::default();

    // 1. Load.
    let ya = a.add(K(konst::IN_YA), ZERO);
    let yr = a.add(K(konst::IN_YR), ZERO);

    // 2. Decompress A and R.
    let xa = a.decompress(ya, flag::SIGN_A, F_OK_A, DEC_A);
    let xr = a.decompress(yr, flag::SIGN_R, F_OK_R, DEC_R);

    // 3. The -A table: entry 0 the identity, entry 1 -A, entry e = entry e-1 + (-A).
    let nx = a.sub(ZERO, xa);
    let nt = a.mul(nx, ya);
    a.pin(TABLE_BASE, Op::Add, ONE, ZERO);
    a.pin(TABLE_BASE + 1, Op::Add, ONE, ZERO);
    a.pin(TABLE_T_BASE, Op::Mul, ZERO, ZERO);
    a.pin(TABLE_BASE + 3, Op::Add, ONE, ONE);
    let neg_a = Pt {
        x: nx,
        y: ya,
        z: ONE,
        t: nt,
    };
    a.cache(neg_a, 1);
    let entry1 = [
        Pin(TABLE_BASE + 4),
        Pin(TABLE_BASE + 5),
        Pin(TABLE_T_BASE + 1),
        Pin(TABLE_BASE + 7),
    ];
    let mut prev = neg_a;
    for e in 2..16u8 {
        prev = a.add_points(prev, entry1, false, Out::Vals(true));
        a.cache(prev, e);
    }

    // 4. R' = [S]B + [k](-A). The top window from the identity, then the loop.
    let tab_a = [Opnd::TabA(0), Opnd::TabA(1), Opnd::TabA(2), Opnd::TabA(3)];
    let tab_b = [Opnd::TabB(0), Opnd::TabB(1), Opnd::TabB(2), ZERO];
    let identity = Pt {
        x: ZERO,
        y: ONE,
        z: ONE,
        t: ZERO,
    };
    let q = a.add_points(identity, tab_a, false, Out::Vals(true));
    a.add_points(q, tab_b, true, Out::Acc);
    a.end(End::Step);

    let mut q = acc();
    for _ in 0..3 {
        q = a.double(q, Out::Vals(false));
    }
    q = a.double(q, Out::Vals(true));
    q = a.add_points(q, tab_a, false, Out::Vals(true));
    a.add_points(q, tab_b, true, Out::Acc);
    a.end(End::Loop);

    // 5. Checks. The cofactorless equation R' = R, projectively.
    let q = acc();
    let c0 = a.mul(xr, q.z);
    a.eq(F_EQX, q.x, c0);
    let c1 = a.mul(yr, q.z);
    a.eq(F_EQY, q.y, c1);
    a.flags(Op::Fand, F_COFACTORLESS, F_EQX, F_EQY, false);
    // R's encoding is not canonical: y_R >= p, or x_R = 0 with the sign bit set.
    a.eq(F_T2, xr, ZERO);
    a.flags(Op::Fand, F_T2, F_T2, flag::SIGN_R, false);
    a.flags(Op::For, F_R_BAD, F_T2, flag::NONCANON_R, false);
    // [8]A and [8]R, and whether they are the identity (X = 0, Y = Z).
    let mut eighth = Vec::new();
    for (x, y, small) in [(xa, ya, F_SMALL_A), (xr, yr, F_SMALL_R)] {
        let mut p = Pt {
            x,
            y,
            z: ONE,
            t: ONE,
        };
        for _ in 0..3 {
            p = a.double(p, Out::Vals(false));
        }
        // R's test reuses the equation's flags, which are folded in by now (the
        // scheduler keeps every flag's reads before its next write).
        let (f0, f1) = if small == F_SMALL_A {
            (F_T0, F_T1)
        } else {
            (F_EQX, F_EQY)
        };
        a.eq(f0, p.x, ZERO);
        a.eq(f1, p.y, p.z);
        a.flags(Op::Fand, small, f0, f1, false);
        eighth.push(p);
    }
    let r8 = eighth[1];
    // The cofactored equation [8]R' = [8]R, projectively.
    let mut q8 = q;
    for _ in 0..3 {
        q8 = a.double(q8, Out::Vals(false));
    }
    let c0 = a.mul(q8.x, r8.z);
    let c1 = a.mul(r8.x, q8.z);
    a.eq(F_T0, c0, c1);
    let c0 = a.mul(q8.y, r8.z);
    let c1 = a.mul(r8.y, q8.z);
    a.eq(F_T1, c0, c1);
    a.flags(Op::Fand, F_COFACTORED, F_T0, F_T1, false);

    // 6. The verdict.
    // rfc8032: cofactorless and R canonical (F_COFACTORLESS becomes that).
    a.flags(Op::Fand, F_COFACTORLESS, F_COFACTORLESS, F_R_BAD, true);
    // strict: that, and neither A nor R of small order.
    a.flags(Op::Fand, F_STRICT_OK, F_COFACTORLESS, F_SMALL_A, true);
    a.flags(Op::Fand, F_STRICT_OK, F_STRICT_OK, F_SMALL_R, true);
    a.flags(Op::Fand, F_VERDICT, F_STRICT_OK, flag::STRICT, false);
    a.flags(Op::Fand, F_T2, F_COFACTORLESS, flag::RFC8032, false);
    a.flags(Op::For, F_VERDICT, F_VERDICT, F_T2, false);
    a.flags(Op::Fand, F_T2, F_COFACTORED, flag::ZIP215, false);
    a.flags(Op::For, F_VERDICT, F_VERDICT, F_T2, false);
    // Every profile: A and R decode, S < L.
    a.flags(Op::Fand, F_VERDICT, F_VERDICT, F_OK_A, false);
    a.flags(Op::Fand, F_VERDICT, F_VERDICT, F_OK_R, false);
    a.flags(Op::Fand, F_VERDICT, F_VERDICT, flag::S_CANONICAL, false);
    a.end(End::Halt(F_VERDICT));
    a.0.finish()
}
