//! Property tests of every [`Lanes`] implementation's field arithmetic against a
//! big-integer model mod p = 2^255 - 19.
//!
//! Each test is written once, generic over `L: Lanes`, and run for every instruction set
//! this CPU has. One it lacks is skipped with a `NOT TESTED` line on stderr, unless
//! `VIGIL_REQUIRE_ISA=<name>[,<name>]` names it (set it on a machine known to have it):
//! then the test fails, so a missing path can never pass silently.
//!
//! The inputs mix uniformly random 256-bit words with extreme values (0, 1, p - 1, p,
//! p + 1, 2^255 - 1, 2^256 - 1, ...), and long random chains of operations let limbs
//! drift to whatever each implementation's carries leave, where loose bounds would show.
//! Elements are compared through `to_words`, which must return the canonical value.
//!
//! Speed does not matter here: the trait methods are called directly, outside the
//! instruction sets' `#[target_feature]` entries (each intrinsic then becomes a call),
//! and only after the implementation's token was made, which is what their `unsafe`
//! blocks rely on.

// Only x86-64 has implementations (and no `Lanes` type exists elsewhere).
#![cfg(target_arch = "x86_64")]
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]

use std::sync::Once;

use num_bigint::BigUint;
use proptest::prelude::*;

use crate::lanes::{Lanes, MAX_LANES};
use crate::Isa;

type Words = [[u64; 4]; MAX_LANES];

fn p() -> BigUint {
    (BigUint::from(1u8) << 255u32) - BigUint::from(19u8)
}

fn big(w: &[u64; 4]) -> BigUint {
    let bytes: Vec<u8> = w.iter().flat_map(|x| x.to_le_bytes()).collect();
    BigUint::from_bytes_le(&bytes)
}

fn words(x: &BigUint) -> [u64; 4] {
    let mut w = [0u64; 4];
    for (i, d) in x.to_u64_digits().iter().enumerate().take(4) {
        w[i] = *d;
    }
    w
}

/// The value `from_words` gives a lane: bit 255 dropped, reduced mod p.
fn model(w: &[u64; 4]) -> BigUint {
    let mut w = *w;
    w[3] &= u64::MAX >> 1;
    big(&w) % p()
}

/// p + k as words (k from -p to 2^256 - p).
fn near_p(k: i64) -> [u64; 4] {
    let v = if k >= 0 {
        p() + BigUint::from(k.unsigned_abs())
    } else {
        p() - BigUint::from(k.unsigned_abs())
    };
    words(&v)
}

/// Extreme inputs: every lane of a test also draws from these.
fn extremes() -> Vec<[u64; 4]> {
    let top = u64::MAX >> 1;
    vec![
        [0, 0, 0, 0],
        [1, 0, 0, 0],
        [2, 0, 0, 0],
        [19, 0, 0, 0],
        near_p(-2),                                    // p - 2
        near_p(-1),                                    // p - 1 = 2^255 - 19 - 1
        near_p(0),                                     // p
        near_p(1),                                     // p + 1
        near_p(18),                                    // 2^255 - 1
        [u64::MAX, u64::MAX, u64::MAX, top],           // 2^255 - 1: every limb at its maximum
        [u64::MAX, u64::MAX, u64::MAX, u64::MAX],      // 2^256 - 1: bit 255 set
        [0, 0, 0, 1 << 63],                            // 2^255, i.e. 0
        [19, 0, 0, 1 << 63],                           // 2^255 + 19
        [u64::MAX - 18, u64::MAX, u64::MAX, u64::MAX], // p + 2^255
        [1 << 51, 1 << 38, 1 << 25, 1 << 12],          // limb boundaries (51-bit)
        [1 << 26, 1 << 13, 1 << 38, 1 << 50],          // limb boundaries (25.5-bit)
        [0x03ff_ffff, 0, 0, 0],                        // a full 26-bit limb
        [u64::MAX, 0, u64::MAX, 0],
        [0, u64::MAX, 0, top],
    ]
}

/// A 256-bit word: mostly uniform, often extreme.
fn word() -> impl Strategy<Value = [u64; 4]> {
    prop_oneof![
        3 => any::<[u64; 4]>(),
        2 => prop::sample::select(extremes()),
        1 => (any::<u64>(), 0..4usize).prop_map(|(x, i)| {
            let mut w = [0u64; 4];
            w[i] = x;
            w
        }),
    ]
}

fn lanes() -> impl Strategy<Value = Words> {
    prop::array::uniform8(word())
}

/// Panics, for the test's report, if `got` (from `to_words`) is not the canonical
/// value of `want` in each of the first `L::N` lanes.
fn check<L: Lanes>(what: &str, got: &Words, want: &[BigUint]) {
    let p = p();
    for (lane, (g, w)) in got.iter().zip(want).enumerate().take(L::N) {
        let g = big(g);
        assert!(g < p, "{what}: lane {lane} not canonical: {g:x}");
        assert_eq!(g, w % &p, "{what}: lane {lane}");
    }
}

/// The big-integer model of the first lanes of `w` (what `from_words` must give).
fn models(w: &Words) -> Vec<BigUint> {
    w.iter().map(model).collect()
}

/// `token`, or `None` after saying (once) that `isa` was not tested; a failure when the
/// environment requires it.
fn token_or_skip<T>(isa: Isa, token: Option<T>, said: &Once) -> Option<T> {
    if token.is_none() {
        assert!(
            !isa.required_by_env(),
            "VIGIL_REQUIRE_ISA names {isa} but this CPU lacks it"
        );
        said.call_once(|| {
            eprintln!("NOT TESTED: this CPU lacks {isa}; its field arithmetic was not run");
        });
    }
    token
}

pub(crate) fn ifma() -> Option<crate::ifma::Ifma> {
    static SAID: Once = Once::new();
    token_or_skip(Isa::Ifma, crate::ifma::Ifma::detect(), &SAID)
}

pub(crate) fn avx2() -> Option<crate::avx2::Avx2> {
    static SAID: Once = Once::new();
    token_or_skip(Isa::Avx2, crate::avx2::Avx2::detect(), &SAID)
}

/// Runs the generic check `f(token, args...)` for every instruction set the CPU has.
macro_rules! each_isa {
    ($f:ident($($arg:expr),* $(,)?)) => {{
        if let Some(t) = $crate::lanes_tests::ifma() {
            $f(t, $($arg),*);
        }
        if let Some(t) = $crate::lanes_tests::avx2() {
            $f(t, $($arg),*);
        }
    }};
}
pub(crate) use each_isa;

// ---- the generic checks ----

fn conversions<L: Lanes>(l: L, a: &Words) {
    check::<L>(
        "to_words(from_words)",
        &l.to_words(l.from_words(a)),
        &models(a),
    );
    // from_words drops bit 255 and nothing else.
    let mut low = *a;
    let mut high = *a;
    for (lo, hi) in low.iter_mut().zip(high.iter_mut()) {
        lo[3] &= u64::MAX >> 1;
        hi[3] |= 1 << 63;
    }
    let (x, y) = (l.from_words(&low), l.from_words(&high));
    check::<L>("bit 255 dropped", &l.to_words(x), &models(&low));
    check::<L>("bit 255 dropped", &l.to_words(y), &models(&low));
    assert_eq!(l.eq(x, y), l.all(), "bit 255 only");
}

fn splat<L: Lanes>(l: L, c: &[u64; 4]) {
    // `splat` takes canonical constants.
    let c = words(&model(c));
    let want = vec![big(&c); MAX_LANES];
    check::<L>("splat", &l.to_words(l.splat(&c)), &want);
}

fn binary<L: Lanes>(l: L, a: &Words, b: &Words) {
    let p = p();
    let (x, y) = (l.from_words(a), l.from_words(b));
    let (ma, mb) = (models(a), models(b));
    let sum: Vec<_> = ma.iter().zip(&mb).map(|(u, v)| u + v).collect();
    let diff: Vec<_> = ma.iter().zip(&mb).map(|(u, v)| u + &p - v).collect();
    let prod: Vec<_> = ma.iter().zip(&mb).map(|(u, v)| u * v).collect();
    let neg: Vec<_> = ma.iter().map(|u| &p - u).collect();
    let sq: Vec<_> = ma.iter().map(|u| u * u).collect();
    check::<L>("add", &l.to_words(l.add(x, y)), &sum);
    check::<L>("sub", &l.to_words(l.sub(x, y)), &diff);
    check::<L>("mul", &l.to_words(l.mul(x, y)), &prod);
    check::<L>("neg", &l.to_words(l.neg(x)), &neg);
    check::<L>("sq", &l.to_words(l.sq(x)), &sq);
    check::<L>(
        "sq = mul",
        &l.to_words(l.sq(x)),
        &models(&l.to_words(l.mul(x, x))),
    );
    // eq, is_zero, is_negative against the model.
    let mut eq = 0u8;
    let mut zero = 0u8;
    let mut negative = 0u8;
    for i in 0..L::N {
        eq |= u8::from(ma[i] == mb[i]) << i;
        zero |= u8::from(ma[i] == BigUint::from(0u8)) << i;
        negative |= u8::from(ma[i].bit(0)) << i;
    }
    assert_eq!(l.eq(x, y), eq, "eq");
    assert_eq!(l.is_zero(x), zero, "is_zero");
    assert_eq!(l.is_negative(x), negative, "is_negative");
}

fn select<L: Lanes>(l: L, a: &Words, b: &Words, mask: u8) {
    let (x, y) = (l.from_words(a), l.from_words(b));
    let (ma, mb) = (models(a), models(b));
    let want: Vec<_> = (0..MAX_LANES)
        .map(|i| {
            if (mask >> i) & 1 == 1 {
                ma[i].clone()
            } else {
                mb[i].clone()
            }
        })
        .collect();
    check::<L>("select", &l.to_words(l.select(mask, x, y)), &want);
    // After arithmetic, too (loose limbs on both sides).
    let (x2, y2) = (l.mul(x, y), l.add(y, x));
    let want: Vec<_> = (0..MAX_LANES)
        .map(|i| {
            if (mask >> i) & 1 == 1 {
                &ma[i] * &mb[i]
            } else {
                &ma[i] + &mb[i]
            }
        })
        .collect();
    check::<L>("select", &l.to_words(l.select(mask, x2, y2)), &want);
}

fn powers<L: Lanes>(l: L, a: &Words) {
    let p = p();
    let x = l.from_words(a);
    let ma = models(a);
    let inv: Vec<_> = ma
        .iter()
        .map(|u| u.modpow(&(&p - BigUint::from(2u8)), &p))
        .collect();
    let p58: Vec<_> = ma
        .iter()
        .map(|u| u.modpow(&((&p - BigUint::from(5u8)) >> 3u32), &p))
        .collect();
    check::<L>("invert", &l.to_words(l.invert(x)), &inv);
    check::<L>("pow_p58", &l.to_words(l.pow_p58(x)), &p58);
    let k = 7;
    let want: Vec<_> = ma
        .iter()
        .map(|u| u.modpow(&(BigUint::from(1u8) << k), &p))
        .collect();
    check::<L>("sq_n", &l.to_words(l.sq_n(x, k)), &want);
}

/// One step of a random chain: which operation, on which of the four registers.
#[derive(Debug, Clone, Copy)]
struct Step {
    op: u8,
    dst: usize,
    a: usize,
    b: usize,
    mask: u8,
}

fn step() -> impl Strategy<Value = Step> {
    (0..7u8, 0..4usize, 0..4usize, 0..4usize, any::<u8>()).prop_map(|(op, dst, a, b, mask)| Step {
        op,
        dst,
        a,
        b,
        mask,
    })
}

/// Runs `steps` on four registers, in the implementation and in the model, and
/// compares every register at the end (and the register just written every 16 steps,
/// which narrows a failure down to its step).
fn chain<L: Lanes>(l: L, init: &[Words; 4], steps: &[Step]) {
    let p = p();
    let mut regs = [
        l.from_words(&init[0]),
        l.from_words(&init[1]),
        l.from_words(&init[2]),
        l.from_words(&init[3]),
    ];
    let mut model: Vec<Vec<BigUint>> = init.iter().map(models).collect();
    for (n, s) in steps.iter().enumerate() {
        let (x, y) = (regs[s.a], regs[s.b]);
        let (u, v) = (model[s.a].clone(), model[s.b].clone());
        let (r, m): (L::Fe, Vec<BigUint>) = match s.op {
            0 => (
                l.add(x, y),
                u.iter().zip(&v).map(|(a, b)| (a + b) % &p).collect(),
            ),
            1 => (
                l.sub(x, y),
                u.iter().zip(&v).map(|(a, b)| (a + &p - b) % &p).collect(),
            ),
            2 => (l.neg(x), u.iter().map(|a| (&p - a) % &p).collect()),
            3 => (
                l.mul(x, y),
                u.iter().zip(&v).map(|(a, b)| a * b % &p).collect(),
            ),
            4 => (l.sq(x), u.iter().map(|a| a * a % &p).collect()),
            5 => (
                l.select(s.mask, x, y),
                (0..MAX_LANES)
                    .map(|i| {
                        if (s.mask >> i) & 1 == 1 {
                            u[i].clone()
                        } else {
                            v[i].clone()
                        }
                    })
                    .collect(),
            ),
            // Doubling by addition to itself: limbs grow fastest.
            _ => (l.add(x, x), u.iter().map(|a| (a + a) % &p).collect()),
        };
        regs[s.dst] = r;
        model[s.dst] = m;
        if n % 16 == 15 {
            check::<L>(
                &format!("chain step {n} ({s:?})"),
                &l.to_words(r),
                &model[s.dst],
            );
        }
    }
    for (i, (r, m)) in regs.iter().zip(&model).enumerate() {
        check::<L>(&format!("chain register {i}"), &l.to_words(*r), m);
    }
}

/// Every pair of extreme inputs through every operation, and from each a fixed chain of
/// 300 doublings, squarings, negations, subtractions, products and additions.
fn all_extremes<L: Lanes>(l: L) {
    let ex = extremes();
    for a in &ex {
        // Lane i holds a rotation through the extremes so that lanes differ.
        let mut wa = [*a; MAX_LANES];
        for (i, w) in wa.iter_mut().enumerate() {
            *w = ex[(ex.iter().position(|e| e == a).unwrap() + i) % ex.len()];
        }
        conversions(l, &wa);
        splat(l, a);
        for b in &ex {
            let wb = [*b; MAX_LANES];
            binary(l, &wa, &wb);
            binary(l, &wb, &wa);
        }
        powers(l, &wa);
        let steps: Vec<Step> = (0..300)
            .map(|n| Step {
                op: [6, 4, 2, 1, 3, 0][n % 6],
                dst: n % 4,
                a: (n + 1) % 4,
                b: (n + 2) % 4,
                mask: 0,
            })
            .collect();
        chain(
            l,
            &[wa, [ex[10]; MAX_LANES], [ex[9]; MAX_LANES], wa],
            &steps,
        );
    }
}

#[test]
fn extreme_values_in_every_operation() {
    each_isa!(all_extremes());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn from_words_drops_bit_255_only_and_to_words_is_canonical(a in lanes()) {
        each_isa!(conversions(&a));
    }

    #[test]
    fn splat_holds_the_constant(c in word()) {
        each_isa!(splat(&c));
    }

    #[test]
    fn add_sub_neg_mul_sq_eq_match_the_model(a in lanes(), b in lanes()) {
        each_isa!(binary(&a, &b));
    }

    #[test]
    fn select_takes_each_lane_from_its_side(a in lanes(), b in lanes(), mask in any::<u8>()) {
        each_isa!(select(&a, &b, mask));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn invert_pow_p58_and_sq_n_match_the_model(a in lanes()) {
        each_isa!(powers(&a));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(160))]

    #[test]
    fn long_random_chains_stay_correct(
        init in prop::array::uniform4(lanes()),
        steps in prop::collection::vec(step(), 300),
    ) {
        each_isa!(chain(&init, &steps));
    }
}

/// AVX2 at the edge of its bounds: elements whose limbs all sit at the largest tight
/// value (or mix it with 0 and random limbs), through every operation, and every result
/// tight again (`avx2`'s module docs).
mod avx2_bounds {
    use super::*;
    use crate::avx2::{Avx2, Fe};

    fn value(limbs: &[u64; 10]) -> BigUint {
        limbs
            .iter()
            .zip(Avx2::OFFSETS)
            .map(|(&l, off)| BigUint::from(l) << off)
            .sum()
    }

    fn assert_tight(l: Avx2, what: &str, a: Fe) {
        for (lane, limbs) in l.limbs(a).iter().enumerate() {
            for (k, (&v, &max)) in limbs.iter().zip(&Avx2::TIGHT_MAX).enumerate() {
                assert!(v <= max, "{what}: lane {lane} limb {k} = {v:#x} not tight");
            }
        }
    }

    /// Limb k: 0, the maximum, or a random value below it.
    fn limbs() -> impl Strategy<Value = [u64; 10]> {
        prop::array::uniform10(prop_oneof![
            1 => Just(None),
            3 => Just(Some(u64::MAX)),
            2 => any::<u64>().prop_map(Some),
        ])
        .prop_map(|c| {
            let mut out = [0u64; 10];
            for (k, choice) in c.iter().enumerate() {
                out[k] = match choice {
                    None => 0,
                    Some(u64::MAX) => Avx2::TIGHT_MAX[k],
                    Some(r) => r % (Avx2::TIGHT_MAX[k] + 1),
                };
            }
            out
        })
    }

    fn run(a: &[[u64; 10]; 4], b: &[[u64; 10]; 4]) {
        let Some(l) = avx2() else { return };
        let p = p();
        let (x, y) = (l.element(a), l.element(b));
        let ma: Vec<BigUint> = a.iter().map(value).collect();
        let mb: Vec<BigUint> = b.iter().map(value).collect();
        let ops: [(&str, Fe, Vec<BigUint>); 6] = [
            (
                "add",
                l.add(x, y),
                ma.iter().zip(&mb).map(|(u, v)| u + v).collect(),
            ),
            (
                "sub",
                l.sub(x, y),
                ma.iter().zip(&mb).map(|(u, v)| u + &p * 2u8 - v).collect(),
            ),
            ("neg", l.neg(x), ma.iter().map(|u| &p * 2u8 - u).collect()),
            (
                "mul",
                l.mul(x, y),
                ma.iter().zip(&mb).map(|(u, v)| u * v).collect(),
            ),
            ("sq", l.sq(x), ma.iter().map(|u| u * u).collect()),
            (
                "select",
                l.select(0b0101, x, y),
                vec![ma[0].clone(), mb[1].clone(), ma[2].clone(), mb[3].clone()],
            ),
        ];
        check::<Avx2>("to_words of loose limbs", &l.to_words(x), &ma);
        for (what, r, want) in &ops {
            assert_tight(l, what, *r);
            check::<Avx2>(what, &l.to_words(*r), want);
        }
        assert_tight(l, "sq_n", l.sq_n(x, 3));
    }

    #[test]
    fn every_limb_at_its_maximum() {
        let max = [Avx2::TIGHT_MAX; 4];
        run(&max, &max);
        run(&max, &[[0; 10]; 4]);
        run(&[[0; 10]; 4], &max);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        #[test]
        fn limbs_near_their_maximum(
            a in prop::array::uniform4(limbs()),
            b in prop::array::uniform4(limbs()),
        ) {
            run(&a, &b);
        }
    }

    #[test]
    fn results_of_every_operation_are_tight() {
        let Some(l) = avx2() else { return };
        // from_words and splat of extremes, then a chain, checking tightness each step.
        let ex = extremes();
        let mut w = [[0u64; 4]; MAX_LANES];
        for (i, x) in w.iter_mut().enumerate() {
            *x = ex[(9 + i) % ex.len()];
        }
        let mut a = l.from_words(&w);
        let b = l.splat(&near_p(-1));
        assert_tight(l, "from_words", a);
        assert_tight(l, "splat", b);
        for n in 0..400 {
            a = match n % 5 {
                0 => l.add(a, a),
                1 => l.sub(b, a),
                2 => l.neg(a),
                3 => l.mul(a, b),
                _ => l.sq(a),
            };
            assert_tight(l, "chain", a);
        }
    }
}
