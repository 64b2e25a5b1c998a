//! The per-signature scalar work, done on the host side of each lane: S < L, the
//! challenge k = SHA-512(R || A || M) mod L, and both scalars as signed radix-16 digits.
//!
//! S's check and k's reduction are curve25519-dalek's own (`Scalar::from_canonical_bytes`
//! and `Scalar::from_bytes_mod_order_wide`), exactly what both reference crates call, so
//! they cannot disagree with them; SHA-512 is the `sha2` crate's (which picks its own
//! vector code at run time).

use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha512};

/// Whether S (the signature's second half) is below the group order L.
#[inline]
pub(crate) fn s_is_canonical(s: &[u8; 32]) -> bool {
    Option::<Scalar>::from(Scalar::from_canonical_bytes(*s)).is_some()
}

/// k = SHA-512(R || A || M) mod L, as 32 little-endian bytes. R and A are the bytes as
/// received (a non-canonical A is hashed as sent, as the references do).
#[inline]
pub(crate) fn challenge(r: &[u8], a: &[u8; 32], msg: &[u8]) -> [u8; 32] {
    let mut h = Sha512::new();
    h.update(r);
    h.update(a);
    h.update(msg);
    let wide: [u8; 64] = h.finalize().into();
    Scalar::from_bytes_mod_order_wide(&wide).to_bytes()
}

/// s = sum e_i 16^i with every e_i in -8..=7 except e_63, for s < 2^255 (any scalar
/// below L qualifies; e_63 is then at most 8).
#[inline]
pub(crate) fn radix16(s: &[u8; 32]) -> [i8; 64] {
    let mut e = [0i8; 64];
    for (i, b) in s.iter().enumerate() {
        // Nibbles are below 16: the casts cannot truncate.
        e[2 * i] = (b & 15) as i8;
        e[2 * i + 1] = (b >> 4) as i8;
    }
    let mut carry = 0i8;
    for d in e.iter_mut().take(63) {
        *d += carry;
        carry = (*d + 8) >> 4;
        *d -= carry << 4;
    }
    e[63] += carry;
    e
}

/// The selection masks of one digit position across the lanes: `abs[j]` holds the lanes
/// whose digit has absolute value j + 1, `neg` the lanes whose digit is negative.
#[derive(Clone, Copy, Default)]
pub(crate) struct DigitMasks {
    pub abs: [u8; 8],
    pub neg: u8,
}

/// Turns per-lane digit strings into per-position lane masks (lanes past `digits.len()`
/// get digit 0, the identity).
///
/// Branch-free: the digits are random, so a branch per digit mispredicts about half the
/// time (measured: this function was a tenth of the IFMA path's time with branches).
/// Lanes with digit 0 land in a slot of their own that nobody reads.
pub(crate) fn digit_masks(digits: &[[i8; 64]]) -> [DigitMasks; 64] {
    let mut abs = [[0u8; 9]; 64];
    let mut neg = [0u8; 64];
    for (lane, ds) in digits.iter().enumerate().take(8) {
        let bit = 1u8 << lane;
        for ((a, n), &d) in abs.iter_mut().zip(neg.iter_mut()).zip(ds) {
            a[usize::from(d.unsigned_abs()) % 9] |= bit;
            // d >> 7 is -1 (all ones) for a negative digit, else 0.
            *n |= bit & d.to_ne_bytes()[0].wrapping_shr(7).wrapping_neg();
        }
    }
    let mut out = [DigitMasks::default(); 64];
    for ((m, a), n) in out.iter_mut().zip(&abs).zip(neg) {
        m.abs.copy_from_slice(&a[1..]);
        m.neg = n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn value(e: &[i8; 64]) -> Scalar {
        let sixteen = Scalar::from(16u64);
        e.iter().rev().fold(Scalar::ZERO, |acc, &d| {
            let digit = if d < 0 {
                -Scalar::from(u64::from(d.unsigned_abs()))
            } else {
                Scalar::from(u64::from(d.unsigned_abs()))
            };
            acc * sixteen + digit
        })
    }

    proptest! {
        #[test]
        fn radix16_digits_are_in_range_and_sum_back(bytes in any::<[u8; 32]>()) {
            let s = Scalar::from_bytes_mod_order(bytes);
            let e = radix16(&s.to_bytes());
            for d in &e[..63] {
                prop_assert!((-8..=7).contains(d));
            }
            prop_assert!((0..=8).contains(&e[63]));
            prop_assert_eq!(value(&e), s);
        }
    }

    #[test]
    fn extreme_scalars_recode() {
        let l_minus_1 = -Scalar::ONE;
        for s in [Scalar::ZERO, Scalar::ONE, l_minus_1, Scalar::from(8u64)] {
            assert_eq!(value(&radix16(&s.to_bytes())), s);
        }
    }

    #[test]
    fn masks_place_each_digit() {
        let mut d = [[0i8; 64]; 2];
        d[0][5] = -3;
        d[1][5] = 8;
        d[1][0] = 1;
        let m = digit_masks(&d);
        assert_eq!(m[5].abs[2], 1);
        assert_eq!(m[5].abs[7], 2);
        assert_eq!(m[5].neg, 1);
        assert_eq!(m[0].abs[0], 2);
        assert_eq!(m[1].abs, [0; 8]);
    }

    #[test]
    fn s_check_is_below_l() {
        let l = (-Scalar::ONE).to_bytes();
        assert!(s_is_canonical(&l));
        let mut l_exact = l;
        l_exact[0] += 1;
        assert!(!s_is_canonical(&l_exact));
        assert!(!s_is_canonical(&[0xff; 32]));
    }
}
