//! Property tests of the group operations (`point`) on every instruction set against
//! curve25519-dalek: decompression (success and the point), encoding, doubling, both
//! additions, table selection with signed digits, and the small-order test. Points are
//! [x]B plus any 8-torsion point, so mixed- and small-order points are covered; raw
//! encodings include y >= p. Written once over `L: Lanes`; an instruction set the CPU
//! lacks is reported as in `lanes_tests`.

#![cfg(target_arch = "x86_64")]
#![allow(clippy::unwrap_used)]

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use proptest::prelude::*;

use crate::lanes::{Lanes, MAX_LANES};
use crate::lanes_tests::each_isa;
use crate::point;

type Encodings = [[u8; 32]; MAX_LANES];

fn words(e: &[u8; 32]) -> [u64; 4] {
    let mut w = [0u64; 4];
    for (word, chunk) in w.iter_mut().zip(e.chunks_exact(8)) {
        *word = u64::from_le_bytes(chunk.try_into().unwrap());
    }
    w
}

fn bytes(w: &[u64; 4]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(8).zip(w) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    out
}

fn all_words(e: &Encodings) -> [[u64; 4]; MAX_LANES] {
    let mut w = [[0u64; 4]; MAX_LANES];
    for (o, x) in w.iter_mut().zip(e) {
        *o = words(x);
    }
    w
}

/// A point [x]B + T_t.
fn mixed(x: u64, t: usize) -> EdwardsPoint {
    ED25519_BASEPOINT_POINT * Scalar::from(x) + EIGHT_TORSION[t % 8]
}

/// Decompresses the lanes' points (all of which must decode).
fn load<L: Lanes>(l: L, pts: &[EdwardsPoint; MAX_LANES]) -> point::Extended<L::Fe> {
    let enc: Encodings = std::array::from_fn(|i| pts[i].compress().to_bytes());
    let (p, ok) = point::decompress(l, &all_words(&enc));
    assert_eq!(ok, l.all(), "valid encodings decompress");
    p
}

fn assert_points<L: Lanes>(
    l: L,
    what: &str,
    got: &point::Projective<L::Fe>,
    want: &[EdwardsPoint],
) {
    let enc = point::compress(l, got);
    for (i, (e, w)) in enc.iter().zip(want).enumerate().take(L::N) {
        assert_eq!(bytes(e), w.compress().to_bytes(), "{what}, lane {i}");
    }
}

fn decompression<L: Lanes>(l: L, enc: &Encodings) {
    let (p, ok) = point::decompress(l, &all_words(enc));
    let got = point::compress(l, &point::to_projective_e(&p));
    for (i, e) in enc.iter().enumerate().take(L::N) {
        let want = CompressedEdwardsY(*e).decompress();
        assert_eq!(
            (ok >> i) & 1 == 1,
            want.is_some(),
            "decompresses? lane {i}: {e:02x?}"
        );
        if let Some(w) = want {
            assert_eq!(
                bytes(&got[i]),
                w.compress().to_bytes(),
                "lane {i}: {e:02x?}"
            );
        }
    }
}

fn arithmetic<L: Lanes>(
    l: L,
    a: &[(u64, usize); MAX_LANES],
    b: &[(u64, usize); MAX_LANES],
    digits: &[i8; MAX_LANES],
) {
    let pa: [EdwardsPoint; MAX_LANES] = std::array::from_fn(|i| mixed(a[i].0, a[i].1));
    let pb: [EdwardsPoint; MAX_LANES] = std::array::from_fn(|i| mixed(b[i].0, b[i].1));
    let p = load(l, &pa);
    let q = load(l, &pb);
    let d2 = l.splat(&crate::consts::D2);

    let dbl = point::double(l, &point::to_projective_e(&p));
    let want: Vec<EdwardsPoint> = pa.iter().map(|x| x + x).collect();
    assert_points(l, "double", &point::to_projective(l, &dbl), &want);

    let sum = point::add_cached(l, &p, &point::to_cached(l, &q, d2));
    let want: Vec<EdwardsPoint> = pa.iter().zip(&pb).map(|(x, y)| x + y).collect();
    assert_points(l, "add_cached", &point::to_projective(l, &sum), &want);
    assert_points(
        l,
        "to_extended",
        &point::to_projective_e(&point::to_extended(l, &sum)),
        &want,
    );

    // Signed digits select from a table of [1..8]Q and from the base-point table.
    let table: [point::Cached<L::Fe>; 8] = std::array::from_fn(|j| {
        let m: [EdwardsPoint; MAX_LANES] =
            std::array::from_fn(|i| pb[i] * Scalar::from(j as u64 + 1));
        point::to_cached(l, &load(l, &m), d2)
    });
    let mut masks = crate::scalar::DigitMasks::default();
    for (i, &d) in digits.iter().enumerate() {
        if d != 0 {
            masks.abs[usize::from(d.unsigned_abs()) - 1] |= 1 << i;
        }
        if d < 0 {
            masks.neg |= 1 << i;
        }
    }
    let signed = |x: &EdwardsPoint, d: i8| {
        let m = x * Scalar::from(u64::from(d.unsigned_abs()));
        if d < 0 {
            -m
        } else {
            m
        }
    };
    let picked = point::select_cached(l, &table, &masks.abs, masks.neg);
    let sum = point::add_cached(l, &p, &picked);
    let want: Vec<EdwardsPoint> = (0..MAX_LANES)
        .map(|i| pa[i] + signed(&pb[i], digits[i]))
        .collect();
    assert_points(l, "select_cached", &point::to_projective(l, &sum), &want);

    let base = point::base_table(l);
    let picked = point::select_niels(l, &base, &masks.abs, masks.neg);
    let sum = point::add_niels(l, &p, &picked);
    let want: Vec<EdwardsPoint> = (0..MAX_LANES)
        .map(|i| pa[i] + signed(&ED25519_BASEPOINT_POINT, digits[i]))
        .collect();
    assert_points(l, "select_niels", &point::to_projective(l, &sum), &want);

    // [8]P is the identity exactly for the small-order lanes.
    let small = point::is_identity(l, &point::mul_by_cofactor(l, &point::to_projective_e(&p)));
    for (i, x) in pa.iter().enumerate().take(L::N) {
        assert_eq!(
            (small >> i) & 1 == 1,
            x.mul_by_cofactor().is_identity(),
            "small order, lane {i}"
        );
    }
}

/// Encodings: random, near p (y >= p), and every small-order point with either sign.
fn encoding() -> impl Strategy<Value = [u8; 32]> {
    prop_oneof![
        any::<[u8; 32]>(),
        (0u8..19, any::<bool>()).prop_map(|(k, sign)| {
            let mut e = [0xffu8; 32];
            e[0] = 0xed + k; // p + k, k < 19 (0xed + 18 = 0xff)
            e[31] = if sign { 0xff } else { 0x7f };
            e
        }),
        (0usize..8, any::<bool>()).prop_map(|(t, sign)| {
            let mut e = EIGHT_TORSION[t].compress().to_bytes();
            e[31] ^= u8::from(sign) << 7;
            e
        }),
        (any::<u64>(), 0usize..8).prop_map(|(x, t)| mixed(x, t).compress().to_bytes()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn decompression_and_encoding_match_curve25519_dalek(enc in prop::array::uniform8(encoding())) {
        each_isa!(decompression(&enc));
    }

    #[test]
    fn doubling_additions_and_selection_match_curve25519_dalek(
        a in prop::array::uniform8((any::<u64>(), 0usize..8)),
        b in prop::array::uniform8((any::<u64>(), 0usize..8)),
        digits in prop::array::uniform8(-8i8..=8),
    ) {
        each_isa!(arithmetic(&a, &b, &digits));
    }
}
