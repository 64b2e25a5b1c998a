//! GF(2^255 - 19) and the curve constants, in plain big-integer arithmetic.
//!
//! Slow and obvious on purpose: this is the reference the engine's model computes with
//! and the source of the constants and base-point table burnt into the ROM. The tests
//! check every constant and every table point against curve25519-dalek.

use num_bigint::BigUint;
use std::sync::OnceLock;

/// A field element or scalar as a big integer.
pub type Fe = BigUint;

/// p = 2^255 - 19.
pub fn p() -> &'static Fe {
    static P: OnceLock<Fe> = OnceLock::new();
    P.get_or_init(|| (Fe::from(1u8) << 255u32) - Fe::from(19u8))
}

/// L = 2^252 + 27742317777372353535851937790883648493, the base point's order.
pub fn l() -> &'static Fe {
    static L: OnceLock<Fe> = OnceLock::new();
    L.get_or_init(|| {
        let low =
            Fe::parse_bytes(b"27742317777372353535851937790883648493", 10).unwrap_or_default();
        (Fe::from(1u8) << 252u32) + low
    })
}

/// 2^255 - 1: the 255-bit mask.
pub fn mask255() -> Fe {
    (Fe::from(1u8) << 255u32) - Fe::from(1u8)
}

/// a + b mod p.
pub fn add(a: &Fe, b: &Fe) -> Fe {
    (a + b) % p()
}

/// a - b mod p (any inputs below 2^255).
pub fn sub(a: &Fe, b: &Fe) -> Fe {
    let pp = p();
    ((a % pp) + pp - (b % pp)) % pp
}

/// a * b mod p.
pub fn mul(a: &Fe, b: &Fe) -> Fe {
    (a * b) % p()
}

/// a^-1 mod p (0 for 0).
pub fn inv(a: &Fe) -> Fe {
    a.modpow(&(p() - Fe::from(2u8)), p())
}

/// d = -121665 / 121666 mod p.
pub fn d() -> &'static Fe {
    static D: OnceLock<Fe> = OnceLock::new();
    D.get_or_init(|| {
        mul(
            &sub(&Fe::default(), &Fe::from(121_665u32)),
            &inv(&Fe::from(121_666u32)),
        )
    })
}

/// 2d mod p.
pub fn d2() -> Fe {
    add(d(), d())
}

/// sqrt(-1) = 2^((p-1)/4) mod p.
pub fn sqrt_m1() -> &'static Fe {
    static I: OnceLock<Fe> = OnceLock::new();
    I.get_or_init(|| Fe::from(2u8).modpow(&((p() - Fe::from(1u8)) >> 2u32), p()))
}

/// An affine point (x, y).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Affine {
    /// x.
    pub x: Fe,
    /// y.
    pub y: Fe,
}

impl Affine {
    /// The identity (0, 1).
    pub fn identity() -> Affine {
        Affine {
            x: Fe::default(),
            y: Fe::from(1u8),
        }
    }

    /// The sum by the twisted Edwards addition law (a = -1), complete on this curve.
    pub fn add(&self, o: &Affine) -> Affine {
        let xy = mul(&self.x, &o.y);
        let yx = mul(&self.y, &o.x);
        let yy = mul(&self.y, &o.y);
        let xx = mul(&self.x, &o.x);
        let dxxyy = mul(d(), &mul(&xx, &yy));
        let one = Fe::from(1u8);
        Affine {
            x: mul(&add(&xy, &yx), &inv(&add(&one, &dxxyy))),
            y: mul(&add(&yy, &xx), &inv(&sub(&one, &dxxyy))),
        }
    }

    /// The 32-byte encoding: y little-endian with x's parity in bit 255.
    pub fn compress(&self) -> [u8; 32] {
        let mut out = le_bytes(&self.y);
        if self.x.bit(0) {
            out[31] |= 0x80;
        }
        out
    }
}

/// The base point B: y = 4/5, x even.
pub fn base() -> &'static Affine {
    static B: OnceLock<Affine> = OnceLock::new();
    B.get_or_init(|| {
        let y = mul(&Fe::from(4u8), &inv(&Fe::from(5u8)));
        let yy = mul(&y, &y);
        let u = sub(&yy, &Fe::from(1u8));
        let v = add(&mul(d(), &yy), &Fe::from(1u8));
        let x2 = mul(&u, &inv(&v));
        // p = 5 mod 8: a root is x2^((p+3)/8), times sqrt(-1) when its square is -x2.
        let mut x = x2.modpow(&((p() + Fe::from(3u8)) >> 3u32), p());
        if mul(&x, &x) != x2 {
            x = mul(&x, sqrt_m1());
        }
        if x.bit(0) {
            x = sub(&Fe::default(), &x);
        }
        Affine { x, y }
    })
}

/// The base-point table: for j in 0..16, [j]B in "Niels" form (y + x, y - x, 2d x y),
/// entry 0 the identity (1, 1, 0). Computed once (each entry costs two inversions).
pub fn base_table() -> &'static [[Fe; 3]] {
    static TABLE: OnceLock<Vec<[Fe; 3]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut out = Vec::with_capacity(16);
        let mut acc = Affine::identity();
        for _ in 0..16 {
            out.push([
                add(&acc.y, &acc.x),
                sub(&acc.y, &acc.x),
                mul(&d2(), &mul(&acc.x, &acc.y)),
            ]);
            acc = acc.add(base());
        }
        out
    })
}

/// The 32 little-endian bytes of `v` (below 2^256).
pub fn le_bytes(v: &Fe) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (o, b) in out.iter_mut().zip(v.to_bytes_le()) {
        *o = b;
    }
    out
}

/// The integer of 32 little-endian bytes.
pub fn from_le(bytes: &[u8; 32]) -> Fe {
    Fe::from_bytes_le(bytes)
}
