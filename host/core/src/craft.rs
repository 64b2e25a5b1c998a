//! Building blocks for adversarial Ed25519 inputs: torsion points, every encoding of a
//! point, off-curve encodings, signatures from chosen scalars and encodings.
//!
//! It is its own module because several makers of hostile inputs share it and none of
//! them should depend on another for it: the conformance generator
//! ([`crate::conformance`]), the synthetic batches ([`crate::synth`]), the edge-vector
//! generator (`examples/gen_edge_vectors.rs`) and the lane-verifier fuzz target. It
//! depends on nothing else in the crate.
//!
//! Nothing here decides a verdict; expected verdicts always come from
//! [`reference_verify`](crate::reference_verify). [`equations`] says which verification
//! equations hold, for describing cases only.

use std::sync::OnceLock;

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use rand::RngCore;
use sha2::{Digest, Sha512};

/// The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian.
pub const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

/// The field prime p = 2^255 - 19, little-endian.
pub const P: [u8; 32] = {
    let mut p = [0xff; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    p
};

/// `EIGHT_TORSION[i % 8]`: `[i]T` for a fixed point T of order 8. Index 0 is the
/// identity, 4 has order 2, 2 and 6 order 4, odd indices order 8.
pub fn torsion(i: usize) -> EdwardsPoint {
    EIGHT_TORSION[i % 8]
}

/// The order of a small-order point (1, 2, 4 or 8), `None` for any other point.
pub fn small_order(point: &EdwardsPoint) -> Option<u32> {
    let mut q = *point;
    for order in [1, 2, 4, 8] {
        if q.is_identity() {
            return Some(order);
        }
        q = q + q;
    }
    None
}

/// The 64-byte SHA-512(R || A || M), not reduced.
pub fn hash_wide(r_enc: &[u8; 32], a_enc: &[u8; 32], msg: &[u8]) -> [u8; 64] {
    let mut h = Sha512::new();
    h.update(r_enc);
    h.update(a_enc);
    h.update(msg);
    h.finalize().into()
}

/// k = SHA-512(R || A || M) mod L, over the encodings exactly as given.
pub fn challenge(r_enc: &[u8; 32], a_enc: &[u8; 32], msg: &[u8]) -> Scalar {
    Scalar::from_bytes_mod_order_wide(&hash_wide(r_enc, a_enc, msg))
}

/// A uniformly random scalar.
pub fn random_scalar<R: RngCore + ?Sized>(rng: &mut R) -> Scalar {
    let mut wide = [0u8; 64];
    rng.fill_bytes(&mut wide);
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// `r_enc || (r + k·a mod L)` with k hashed over `r_enc` and `a_enc` as given: the
/// signature a signer with secret scalar `a` and nonce `r` makes, whatever points the
/// encodings actually denote.
pub fn sign_with(
    a: &Scalar,
    a_enc: &[u8; 32],
    r: &Scalar,
    r_enc: &[u8; 32],
    msg: &[u8],
) -> [u8; 64] {
    let s = r + challenge(r_enc, a_enc, msg) * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(r_enc);
    sig[32..].copy_from_slice(s.as_bytes());
    sig
}

/// Canonical encoding of `[s]B + torsion(t)`: a mixed-order point when `t != 0`.
pub fn mixed(s: &Scalar, t: usize) -> [u8; 32] {
    (EdwardsPoint::mul_base(s) + torsion(t))
        .compress()
        .to_bytes()
}

/// Decodes an encoding the way both reference crates do (y may be >= p).
pub fn decode(enc: &[u8; 32]) -> Option<EdwardsPoint> {
    CompressedEdwardsY(*enc).decompress()
}

/// Whether `enc` decodes and is the encoding the point re-encodes to.
pub fn is_canonical(enc: &[u8; 32]) -> bool {
    decode(enc).is_some_and(|p| p.compress().to_bytes() == *enc)
}

/// `a + b` on 256-bit little-endian integers, `None` on overflow.
pub fn add_le(a: &[u8; 32], b: &[u8; 32]) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = sum.to_le_bytes()[0];
        carry = sum >> 8;
    }
    (carry == 0).then_some(out)
}

/// `s + k·L` as a 256-bit little-endian integer, `None` if it does not fit.
pub fn add_multiple_of_l(s: &[u8; 32], k: u8) -> Option<[u8; 32]> {
    let mut out = *s;
    for _ in 0..k {
        out = add_le(&out, &L)?;
    }
    Some(out)
}

/// Every 32-byte string that decodes to `point`: the canonical encoding first, then
/// the non-canonical ones (y + p where y < 19; the sign bit set where x = 0).
pub fn aliases(point: &EdwardsPoint) -> Vec<[u8; 32]> {
    let canonical = point.compress().to_bytes();
    let mut candidates = vec![canonical];
    let mut y = canonical;
    y[31] &= 0x7f;
    if y[1..].iter().all(|&b| b == 0) && y[0] < 19 {
        if let Some(mut plus_p) = add_le(&y, &P) {
            plus_p[31] |= canonical[31] & 0x80;
            candidates.push(plus_p);
        }
    }
    let flipped: Vec<[u8; 32]> = candidates
        .iter()
        .map(|c| {
            let mut f = *c;
            f[31] ^= 0x80;
            f
        })
        .collect();
    candidates.extend(flipped);
    let mut out: Vec<[u8; 32]> = Vec::new();
    for c in candidates {
        if decode(&c).is_some_and(|q| q == *point) && !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// Per small-order point `torsion(i)`, all its encodings ([`aliases`]).
pub fn small_order_aliases() -> &'static [Vec<[u8; 32]>; 8] {
    static ALIASES: OnceLock<[Vec<[u8; 32]>; 8]> = OnceLock::new();
    ALIASES.get_or_init(|| std::array::from_fn(|i| aliases(&torsion(i))))
}

/// Every non-canonical encoding that decodes: y in [p, 2^255) with either sign, and
/// the sign bit set on the points with x = 0.
pub fn noncanonical_encodings() -> &'static [[u8; 32]] {
    static ALL: OnceLock<Vec<[u8; 32]>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut out = Vec::new();
        for y in 0u8..19 {
            let mut small = [0u8; 32];
            small[0] = y;
            for sign in [0u8, 0x80] {
                if let Some(mut enc) = add_le(&small, &P) {
                    enc[31] |= sign;
                    out.push(enc);
                }
                let mut enc = small;
                enc[31] |= sign;
                out.push(enc);
            }
        }
        let mut minus_one = P;
        minus_one[0] -= 1;
        out.push(minus_one);
        minus_one[31] |= 0x80;
        out.push(minus_one);
        out.retain(|e| decode(e).is_some() && !is_canonical(e));
        out.sort();
        out.dedup();
        out
    })
}

/// The non-canonical encodings of points that are not of small order (nobody knows
/// their discrete logarithms, so no valid signature uses them).
pub fn noncanonical_ordinary() -> &'static [[u8; 32]] {
    static LIST: OnceLock<Vec<[u8; 32]>> = OnceLock::new();
    LIST.get_or_init(|| {
        noncanonical_encodings()
            .iter()
            .filter(|e| decode(e).is_some_and(|p| small_order(&p).is_none()))
            .copied()
            .collect()
    })
}

/// A random encoding (y < p, either sign) that is not a point on the curve.
pub fn off_curve<R: RngCore + ?Sized>(rng: &mut R) -> [u8; 32] {
    loop {
        let mut enc = [0u8; 32];
        rng.fill_bytes(&mut enc);
        let mut y = enc;
        y[31] &= 0x7f;
        let below_p = y.iter().rev().zip(P.iter().rev()).find(|(a, b)| a != b);
        if matches!(below_p, Some((a, b)) if a < b) && decode(&enc).is_none() {
            return enc;
        }
    }
}

/// Which equations a signature satisfies, computed directly (for descriptions and
/// tests, never as an expected verdict): `(cofactorless, cofactored)`, i.e.
/// `[S]B = R + [k]A` and `[8][S]B = [8]R + [8][k]A`, with k over the bytes as given.
/// `None` when A or R does not decode or S >= L.
pub fn equations(pubkey: &[u8; 32], sig: &[u8; 64], msg: &[u8]) -> Option<(bool, bool)> {
    let a = decode(pubkey)?;
    let mut r_enc = [0u8; 32];
    r_enc.copy_from_slice(&sig[..32]);
    let r = decode(&r_enc)?;
    let mut s_bytes = [0u8; 32];
    s_bytes.copy_from_slice(&sig[32..]);
    let s: Scalar = Option::from(Scalar::from_canonical_bytes(s_bytes))?;
    let k = challenge(&r_enc, pubkey, msg);
    let diff = EdwardsPoint::mul_base(&s) - r - k * a;
    Some((diff.is_identity(), diff.mul_by_cofactor().is_identity()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test fails by panicking.
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    use super::*;
    use crate::profile::{reference_verify, Profile};

    #[test]
    fn craft_constants_and_encodings() {
        assert_eq!(Scalar::from_bytes_mod_order(L), Scalar::ZERO);
        assert!(bool::from(Scalar::from_canonical_bytes(L).is_none()));
        let mut l_minus_1 = L;
        l_minus_1[0] -= 1;
        assert!(bool::from(
            Scalar::from_canonical_bytes(l_minus_1).is_some()
        ));
        // Orders of the eight torsion points.
        let orders: Vec<u32> = (0..8).map(|i| small_order(&torsion(i)).unwrap()).collect();
        assert_eq!(orders, vec![1, 8, 4, 8, 2, 8, 4, 8]);
        // Every alias decodes to its point; only the first is canonical.
        for aliases in small_order_aliases() {
            assert!(is_canonical(&aliases[0]));
            assert!(aliases[1..].iter().all(|a| !is_canonical(a)));
        }
        let extra: usize = small_order_aliases().iter().map(|a| a.len() - 1).sum();
        let small_noncanonical = noncanonical_encodings().len() - noncanonical_ordinary().len();
        assert_eq!(extra, small_noncanonical);
        assert!(!noncanonical_ordinary().is_empty());
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for _ in 0..20 {
            assert!(decode(&off_curve(&mut rng)).is_none());
        }
        // A crafted honest signature verifies everywhere.
        let (a, r) = (random_scalar(&mut rng), random_scalar(&mut rng));
        let pk = mixed(&a, 0);
        let sig = sign_with(&a, &pk, &r, &mixed(&r, 0), b"m");
        assert_eq!(equations(&pk, &sig, b"m"), Some((true, true)));
        for p in Profile::ALL {
            assert!(reference_verify(p, &pk, &sig, b"m"));
        }
        assert_eq!(add_le(&[0xff; 32], &[1; 32]), None);
        assert!(add_multiple_of_l(&[0; 32], 15).is_some());
        assert!(add_multiple_of_l(&[0; 32], 16).is_none());
    }
}
