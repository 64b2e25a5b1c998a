//! The verification program: Ed25519 verification as a straight line of field operations
//! with one loop, written once here and burnt into the engine's ROM.
//!
//! The program is the same for every profile and every input: the profiles differ only
//! in which checks the final flag logic combines, so every signature takes exactly the
//! same number of issue slots (constant time, and the engine's throughput is a fixed
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
//!    identity and the addition law is complete, so there is no branch on a digit.
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

use crate::isa::{flag, konst, Instr, Op, Src, F_INVERT, TABLE_BASE};

// Field registers.
const YA: u8 = 0;
const YR: u8 = 1;
const XA: u8 = 2;
const XR: u8 = 3;
// Decompression scratch.
const YY: u8 = 4;
const U: u8 = 5;
const V: u8 = 6;
const V3: u8 = 7;
const V7: u8 = 8;
const UV3: u8 = 9;
const UV7: u8 = 10;
const T0: u8 = 11;
const T1: u8 = 12;
const T2: u8 = 13;
const T3: u8 = 14;
const RR: u8 = 15;
// The accumulator Q = (X : Y : Z : T).
const QX: u8 = 16;
const QY: u8 = 17;
const QZ: u8 = 18;
const QT: u8 = 19;
// -A's x and T (its y is y_A, its Z is 1).
const NX: u8 = 20;
const NT: u8 = 21;
// Point-operation scratch.
const S0: u8 = 24;
const S1: u8 = 25;
const S2: u8 = 26;
const S3: u8 = 27;
const S4: u8 = 28;
const S5: u8 = 29;
const S6: u8 = 30;
const S7: u8 = 31;
const S8: u8 = 32;
// The running multiple of -A while the table is built.
const PX: u8 = 40;
const PY: u8 = 41;
const PZ: u8 = 42;
const PT: u8 = 43;
// [8]A, [8]R and check scratch.
const AX8: u8 = 44;
const AY8: u8 = 45;
const AZ8: u8 = 46;
const RX8: u8 = 47;
const RY8: u8 = 48;
const RZ8: u8 = 49;
const C0: u8 = 50;
const C1: u8 = 51;

// Computed flags.
const F_CORRECT: u8 = 8;
const F_FLIP: u8 = 9;
const F_FLIPI: u8 = 10;
const F_USE_I: u8 = 11;
const F_NEG: u8 = 12;
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

fn r(i: u8) -> Src {
    Src::Reg(i)
}

fn k(i: u8) -> Src {
    Src::Const(i)
}

/// A point in projective coordinates as operand sources.
#[derive(Clone, Copy)]
struct Pt {
    x: Src,
    y: Src,
    z: Src,
    t: Src,
}

/// Registers a point operation writes.
#[derive(Clone, Copy)]
struct Out {
    x: u8,
    y: u8,
    z: u8,
    /// T, when the next operation needs it.
    t: Option<u8>,
}

impl Out {
    fn pt(self) -> Pt {
        Pt {
            x: r(self.x),
            y: r(self.y),
            z: r(self.z),
            t: r(self.t.unwrap_or(self.z)),
        }
    }
}

/// The assembler: appends instructions.
#[derive(Default)]
struct Asm {
    code: Vec<Instr>,
}

impl Asm {
    fn emit(&mut self, op: Op, dst: u8, a: Src, b: Src, f: u8) {
        self.code.push(Instr {
            op,
            dst,
            a: a.encode(),
            b: b.encode(),
            f,
        });
    }
    fn mul(&mut self, d: u8, a: Src, b: Src) {
        self.emit(Op::Mul, d, a, b, 0);
    }
    fn add(&mut self, d: u8, a: Src, b: Src) {
        self.emit(Op::Add, d, a, b, 0);
    }
    fn sub(&mut self, d: u8, a: Src, b: Src) {
        self.emit(Op::Sub, d, a, b, 0);
    }
    fn csel(&mut self, d: u8, f: u8, a: Src, b: Src) {
        self.emit(Op::Csel, d, a, b, f);
    }
    fn cneg(&mut self, d: u8, f: u8, a: Src) {
        self.emit(Op::Cneg, d, a, k(konst::ZERO), f);
    }
    fn eq(&mut self, fd: u8, a: Src, b: Src) {
        self.emit(Op::Eq, fd, a, b, 0);
    }
    fn odd(&mut self, fd: u8, a: Src) {
        self.emit(Op::Odd, fd, a, k(konst::ZERO), 0);
    }
    fn flag_op(&mut self, op: Op, fd: u8, fa: u8, fb: u8, invert_b: bool) {
        let f = if invert_b { F_INVERT } else { 0 };
        self.emit(op, fd, Src::Reg(fa), Src::Reg(fb), f);
    }
    fn fand(&mut self, fd: u8, fa: u8, fb: u8) {
        self.flag_op(Op::Fand, fd, fa, fb, false);
    }
    fn fand_not(&mut self, fd: u8, fa: u8, fb: u8) {
        self.flag_op(Op::Fand, fd, fa, fb, true);
    }
    fn for_(&mut self, fd: u8, fa: u8, fb: u8) {
        self.flag_op(Op::For, fd, fa, fb, false);
    }
    fn here(&self) -> usize {
        self.code.len()
    }
    fn loop_to(&mut self, target: usize) {
        let a = u16::try_from(target >> 9).unwrap_or(u16::MAX);
        let b = u16::try_from(target & 0x1ff).unwrap_or(0);
        self.code.push(Instr {
            op: Op::Loop,
            dst: 0,
            a,
            b,
            f: 0,
        });
    }
    fn halt(&mut self, f: u8) {
        self.emit(Op::Halt, 0, Src::Reg(f), k(konst::ZERO), 0);
    }

    /// `d = s^(2^n)` by n squarings.
    fn square_n(&mut self, d: u8, s: Src, n: usize) {
        self.mul(d, s, s);
        for _ in 1..n {
            self.mul(d, r(d), r(d));
        }
    }

    /// `out = x^((p-5)/8) = x^(2^252 - 3)`, by the usual addition chain
    /// (251 squarings, 11 multiplications); clobbers T0..T3.
    fn pow_p58(&mut self, out: u8, x: Src) {
        self.mul(T0, x, x); // x^2
        self.square_n(T1, r(T0), 2); // x^8
        self.mul(T1, x, r(T1)); // x^9
        self.mul(T0, r(T0), r(T1)); // x^11
        self.mul(T0, r(T0), r(T0)); // x^22
        self.mul(T1, r(T1), r(T0)); // x^(2^5 - 1)
        self.square_n(T2, r(T1), 5);
        self.mul(T1, r(T2), r(T1)); // 2^10 - 1
        self.square_n(T2, r(T1), 10);
        self.mul(T2, r(T2), r(T1)); // 2^20 - 1
        self.square_n(T3, r(T2), 20);
        self.mul(T2, r(T3), r(T2)); // 2^40 - 1
        self.square_n(T2, r(T2), 10);
        self.mul(T1, r(T2), r(T1)); // 2^50 - 1
        self.square_n(T2, r(T1), 50);
        self.mul(T2, r(T2), r(T1)); // 2^100 - 1
        self.square_n(T3, r(T2), 100);
        self.mul(T2, r(T3), r(T2)); // 2^200 - 1
        self.square_n(T2, r(T2), 50);
        self.mul(T1, r(T2), r(T1)); // 2^250 - 1
        self.square_n(T1, r(T1), 2); // 2^252 - 4
        self.mul(out, r(T1), x); // 2^252 - 3
    }

    /// Decompresses y (register, canonical) with the sign in flag `sign`: x to `x_out`,
    /// flag `ok` set when y is on the curve. Clobbers the decompression scratch and
    /// F_CORRECT..F_NEG.
    fn decompress(&mut self, y: u8, sign: u8, x_out: u8, ok: u8) {
        self.mul(YY, r(y), r(y));
        self.sub(U, r(YY), k(konst::ONE));
        self.mul(V, r(YY), k(konst::D));
        self.add(V, r(V), k(konst::ONE));
        // sqrt_ratio_i(u, v)
        self.mul(V3, r(V), r(V));
        self.mul(V3, r(V3), r(V)); // v^3
        self.mul(V7, r(V3), r(V3));
        self.mul(V7, r(V7), r(V)); // v^7
        self.mul(UV3, r(U), r(V3));
        self.mul(UV7, r(U), r(V7));
        self.pow_p58(RR, r(UV7));
        self.mul(RR, r(UV3), r(RR)); // r = u v^3 (u v^7)^((p-5)/8)
        self.mul(T0, r(RR), r(RR));
        self.mul(T0, r(T0), r(V)); // check = v r^2
        self.eq(F_CORRECT, r(T0), r(U));
        self.sub(T1, k(konst::ZERO), r(U)); // -u
        self.eq(F_FLIP, r(T0), r(T1));
        self.mul(T1, r(T1), k(konst::SQRT_M1)); // -u i
        self.eq(F_FLIPI, r(T0), r(T1));
        self.mul(T2, r(RR), k(konst::SQRT_M1)); // r i
        self.for_(F_USE_I, F_FLIP, F_FLIPI);
        self.csel(RR, F_USE_I, r(T2), r(RR));
        self.odd(F_NEG, r(RR));
        self.cneg(RR, F_NEG, r(RR)); // the nonnegative root
        self.for_(ok, F_CORRECT, F_FLIP);
        self.cneg(x_out, sign, r(RR));
    }

    /// Doubling in projective coordinates (dbl-2008-hwcd, a = -1): 4 squarings,
    /// 3 or 4 multiplications. Reads all of `p` before writing `o`, so they may alias.
    fn double(&mut self, p: Pt, o: Out) {
        self.mul(S0, p.x, p.x); // A = X^2
        self.mul(S1, p.y, p.y); // B = Y^2
        self.mul(S2, p.z, p.z);
        self.add(S2, r(S2), r(S2)); // C = 2 Z^2
        self.add(S3, p.x, p.y);
        self.mul(S3, r(S3), r(S3)); // (X + Y)^2
        self.add(S8, r(S0), r(S1)); // A + B
        self.sub(S4, r(S3), r(S8)); // E = (X + Y)^2 - A - B
        self.sub(S5, r(S1), r(S0)); // G = -A + B
        self.sub(S6, r(S5), r(S2)); // F = G - C
        self.sub(S7, k(konst::ZERO), r(S8)); // H = -A - B
        self.mul(o.x, r(S4), r(S6)); // E F
        self.mul(o.y, r(S5), r(S7)); // G H
        self.mul(o.z, r(S6), r(S5)); // F G
        if let Some(t) = o.t {
            self.mul(t, r(S4), r(S7)); // E H
        }
    }

    /// Extended + cached addition (add-2008-hwcd-3, a = -1). `c` is (Y - X, Y + X, 2d T,
    /// 2 Z) of the second point; with `niels`, c is (y + x, y - x, 2d x y) of an affine
    /// point and 2 Z1 replaces Z1 * 2 Z2. Reads all inputs before writing `o`.
    fn add_points(&mut self, p: Pt, c: [Src; 4], niels: bool, o: Out) {
        let (ymx, ypx) = if niels { (c[1], c[0]) } else { (c[0], c[1]) };
        self.sub(S0, p.y, p.x);
        self.mul(S0, r(S0), ymx); // A
        self.add(S1, p.y, p.x);
        self.mul(S1, r(S1), ypx); // B
        self.mul(S2, p.t, c[2]); // C
        if niels {
            self.add(S3, p.z, p.z); // D = 2 Z1
        } else {
            self.mul(S3, p.z, c[3]); // D = Z1 * 2 Z2
        }
        self.sub(S4, r(S1), r(S0)); // E = B - A
        self.sub(S5, r(S3), r(S2)); // F = D - C
        self.add(S6, r(S3), r(S2)); // G = D + C
        self.add(S7, r(S1), r(S0)); // H = B + A
        self.mul(o.x, r(S4), r(S5));
        self.mul(o.y, r(S6), r(S7));
        self.mul(o.z, r(S5), r(S6));
        if let Some(t) = o.t {
            self.mul(t, r(S4), r(S7));
        }
    }

    /// Writes the cached form of the extended point `p` to table entry `e`.
    fn cache(&mut self, p: Pt, e: u8) {
        let base = TABLE_BASE + 4 * e;
        self.sub(base, p.y, p.x);
        self.add(base + 1, p.y, p.x);
        self.mul(base + 2, p.t, k(konst::D2));
        self.add(base + 3, p.z, p.z);
    }
}

/// The program, in ROM order.
pub fn program() -> Vec<Instr> {
    let mut a = Asm::default();
    let one = k(konst::ONE);
    let zero = k(konst::ZERO);

    // 1. Load.
    a.add(YA, k(konst::IN_YA), zero);
    a.add(YR, k(konst::IN_YR), zero);

    // 2. Decompress A and R.
    a.decompress(YA, flag::SIGN_A, XA, F_OK_A);
    a.decompress(YR, flag::SIGN_R, XR, F_OK_R);

    // 3. The -A table: entry 0 the identity, entry 1 -A, entry e = entry e-1 + (-A).
    a.sub(NX, zero, r(XA));
    a.mul(NT, r(NX), r(YA));
    a.add(TABLE_BASE, one, zero);
    a.add(TABLE_BASE + 1, one, zero);
    a.add(TABLE_BASE + 2, zero, zero);
    a.add(TABLE_BASE + 3, one, one);
    let neg_a = Pt {
        x: r(NX),
        y: r(YA),
        z: one,
        t: r(NT),
    };
    a.cache(neg_a, 1);
    let entry1 = [
        r(TABLE_BASE + 4),
        r(TABLE_BASE + 5),
        r(TABLE_BASE + 6),
        r(TABLE_BASE + 7),
    ];
    let running = Out {
        x: PX,
        y: PY,
        z: PZ,
        t: Some(PT),
    };
    let mut prev = neg_a;
    for e in 2..16u8 {
        a.add_points(prev, entry1, false, running);
        prev = running.pt();
        a.cache(prev, e);
    }

    // 4. R' = [S]B + [k](-A).
    let q_out = Out {
        x: QX,
        y: QY,
        z: QZ,
        t: Some(QT),
    };
    let q = q_out.pt();
    let q_no_t = Out { t: None, ..q_out };
    a.add(QX, zero, zero);
    a.add(QY, one, zero);
    a.add(QZ, one, zero);
    let top = a.here();
    for _ in 0..3 {
        a.double(q, q_no_t);
    }
    a.double(q, q_out);
    a.add_points(
        q,
        [Src::TabA(0), Src::TabA(1), Src::TabA(2), Src::TabA(3)],
        false,
        q_out,
    );
    a.add_points(
        q,
        [Src::TabB(0), Src::TabB(1), Src::TabB(2), zero],
        true,
        q_no_t,
    );
    a.loop_to(top);

    // 5. Checks. The cofactorless equation R' = R, projectively.
    a.mul(C0, r(XR), r(QZ));
    a.eq(F_EQX, r(QX), r(C0));
    a.mul(C0, r(YR), r(QZ));
    a.eq(F_EQY, r(QY), r(C0));
    a.fand(F_COFACTORLESS, F_EQX, F_EQY);
    // R's encoding is not canonical: y_R >= p, or x_R = 0 with the sign bit set.
    a.eq(F_T0, r(XR), zero);
    a.fand(F_T0, F_T0, flag::SIGN_R);
    a.for_(F_R_BAD, F_T0, flag::NONCANON_R);
    // [8]A and [8]R, and whether they are the identity (X = 0, Y = Z).
    for (x, y, small, out) in [
        (XA, YA, F_SMALL_A, (AX8, AY8, AZ8)),
        (XR, YR, F_SMALL_R, (RX8, RY8, RZ8)),
    ] {
        let o = Out {
            x: out.0,
            y: out.1,
            z: out.2,
            t: None,
        };
        a.double(
            Pt {
                x: r(x),
                y: r(y),
                z: one,
                t: one,
            },
            o,
        );
        a.double(o.pt(), o);
        a.double(o.pt(), o);
        a.eq(F_T0, r(o.x), zero);
        a.eq(F_T1, r(o.y), r(o.z));
        a.fand(small, F_T0, F_T1);
    }
    // The cofactored equation [8]R' = [8]R, projectively.
    for _ in 0..3 {
        a.double(q, q_no_t);
    }
    a.mul(C0, r(QX), r(RZ8));
    a.mul(C1, r(RX8), r(QZ));
    a.eq(F_T0, r(C0), r(C1));
    a.mul(C0, r(QY), r(RZ8));
    a.mul(C1, r(RY8), r(QZ));
    a.eq(F_T1, r(C0), r(C1));
    a.fand(F_COFACTORED, F_T0, F_T1);

    // 6. The verdict.
    // rfc8032: cofactorless and R canonical (F_COFACTORLESS becomes that).
    a.fand_not(F_COFACTORLESS, F_COFACTORLESS, F_R_BAD);
    // strict: that, and neither A nor R of small order.
    a.fand_not(F_STRICT_OK, F_COFACTORLESS, F_SMALL_A);
    a.fand_not(F_STRICT_OK, F_STRICT_OK, F_SMALL_R);
    a.fand(F_VERDICT, F_STRICT_OK, flag::STRICT);
    a.fand(F_T0, F_COFACTORLESS, flag::RFC8032);
    a.for_(F_VERDICT, F_VERDICT, F_T0);
    a.fand(F_T0, F_COFACTORED, flag::ZIP215);
    a.for_(F_VERDICT, F_VERDICT, F_T0);
    // Every profile: A and R decode, S < L.
    a.fand(F_VERDICT, F_VERDICT, F_OK_A);
    a.fand(F_VERDICT, F_VERDICT, F_OK_R);
    a.fand(F_VERDICT, F_VERDICT, flag::S_CANONICAL);
    a.halt(F_VERDICT);
    a.code
}
