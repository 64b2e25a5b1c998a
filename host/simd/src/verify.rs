//! Verification of one group of signatures, one per lane, under each rule; written once
//! for every instruction set (generic over [`Lanes`]).
//!
//! Per lane, exactly what the reference crates compute (see the crate docs for the
//! rules): decompress A; R' = [S]B + [k](-A) by Straus' method in signed radix 16 (63
//! runs of four doublings shared by both scalars; per digit one addition from a per-lane
//! table of [1..8](-A) and one from the constant table [1..8]B); then the rule's check.
//! Lanes never branch apart: digits select table entries by mask, a lane whose S, A or R
//! failed simply computes garbage that its verdict ignores.
//!
//! Cost per group (M/S: one lane-parallel multiplication/squaring): decompress A 255S +
//! 21M; table 16S + 48M; main loop 1008S + 1716M; then for `strict`/`rfc8032` the
//! encoding of R' (an inversion, 254S + 13M) and for `zip215` the decompression of R and
//! [8](R - R') (267S + 39M).

use crate::lanes::{Lanes, MAX_LANES};
use crate::point::{self, Cached, Completed, Extended};
use crate::scalar::{self, DigitMasks};
use crate::Rule;

/// One signature to verify: public key A, signature R || S, message M.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    /// A, as received.
    pub pubkey: &'a [u8; 32],
    /// R || S, as received.
    pub signature: &'a [u8; 64],
    /// The signed message.
    pub message: &'a [u8],
}

/// A group's scalar-side work, ready for the lanes.
pub(crate) struct Prepared {
    /// A's encoding per lane, as little-endian words.
    a: [[u64; 4]; MAX_LANES],
    /// R's encoding per lane.
    r: [[u64; 4]; MAX_LANES],
    /// S's digits, position by position.
    s: [DigitMasks; 64],
    /// k's digits.
    k: [DigitMasks; 64],
    /// Lanes that hold an item whose S is below L.
    s_ok: u8,
}

fn words(b: &[u8]) -> [u64; 4] {
    let mut w = [0u64; 4];
    for (word, chunk) in w.iter_mut().zip(b.chunks_exact(8)) {
        let mut c = [0u8; 8];
        c.copy_from_slice(chunk);
        *word = u64::from_le_bytes(c);
    }
    w
}

impl Prepared {
    /// Hashes and recodes up to [`MAX_LANES`] items. Lanes without an item, and items
    /// whose S is not below L, get zero scalars and no `s_ok` bit.
    pub(crate) fn new(items: &[Item<'_>]) -> Prepared {
        let mut a = [[0u64; 4]; MAX_LANES];
        let mut r = [[0u64; 4]; MAX_LANES];
        let mut s_digits = [[0i8; 64]; MAX_LANES];
        let mut k_digits = [[0i8; 64]; MAX_LANES];
        let mut s_ok = 0u8;
        for (lane, item) in items.iter().enumerate().take(MAX_LANES) {
            let (r_bytes, s_bytes) = item.signature.split_at(32);
            a[lane] = words(item.pubkey);
            r[lane] = words(r_bytes);
            let mut s = [0u8; 32];
            s.copy_from_slice(s_bytes);
            if scalar::s_is_canonical(&s) {
                s_ok |= 1 << lane;
                s_digits[lane] = scalar::radix16(&s);
                let k = scalar::challenge(r_bytes, item.pubkey, item.message);
                k_digits[lane] = scalar::radix16(&k);
            }
        }
        Prepared {
            a,
            r,
            s: scalar::digit_masks(&s_digits),
            k: scalar::digit_masks(&k_digits),
            s_ok,
        }
    }
}

/// The verdicts of a prepared group under `rule`: bit i set iff lane i's signature is
/// valid. Only the first `L::N` lanes are computed.
#[inline(always)]
pub(crate) fn verify_group<L: Lanes>(l: L, rule: Rule, p: &Prepared) -> u8 {
    let d2 = l.splat(&crate::consts::D2);
    let (a, a_ok) = point::decompress(l, &p.a);
    let neg_a = point::neg(l, &a);
    let (table, small_a) = minus_a_table(l, &neg_a, d2);
    let acc = double_scalar_mul(l, &table, p);
    let ok = p.s_ok & a_ok & l.all();
    match rule {
        Rule::Rfc8032 | Rule::Strict => {
            let r_prime = point::to_projective(l, &acc);
            let enc = point::compress(l, &r_prime);
            let mut same = 0u8;
            for (i, (e, r)) in enc.iter().zip(&p.r).enumerate().take(L::N) {
                same |= u8::from(e == r) << i;
            }
            if rule == Rule::Strict {
                // encode(R') = R makes R canonical and R's point R' itself, so "R not
                // of small order" is "R' not of small order" (no square root of R).
                let small_r = point::is_identity(l, &point::mul_by_cofactor(l, &r_prime));
                ok & same & !small_a & !small_r
            } else {
                ok & same
            }
        }
        Rule::Zip215 => {
            let (r, r_ok) = point::decompress(l, &p.r);
            let r_prime = point::to_extended(l, &acc);
            let minus_r_prime = point::to_cached(l, &point::neg(l, &r_prime), d2);
            let diff = point::to_projective(l, &point::add_cached(l, &r, &minus_r_prime));
            let zero = point::is_identity(l, &point::mul_by_cofactor(l, &diff));
            ok & r_ok & zero
        }
    }
}

/// [1..8](-A) as cached points (2, 4, 6, 8 by doubling, 3, 5, 7 by adding -A), and the
/// lanes where [8](-A), hence [8]A, is the identity (A of small order).
#[inline(always)]
fn minus_a_table<L: Lanes>(l: L, p1: &Extended<L::Fe>, d2: L::Fe) -> ([Cached<L::Fe>; 8], u8) {
    let c1 = point::to_cached(l, p1, d2);
    let p2 = double_e(l, p1);
    let p3 = point::to_extended(l, &point::add_cached(l, &p2, &c1));
    let p4 = double_e(l, &p2);
    let p5 = point::to_extended(l, &point::add_cached(l, &p4, &c1));
    let p6 = double_e(l, &p3);
    let p7 = point::to_extended(l, &point::add_cached(l, &p6, &c1));
    let p8 = double_e(l, &p4);
    let small = point::is_identity(l, &point::to_projective_e(&p8));
    let table = [
        c1,
        point::to_cached(l, &p2, d2),
        point::to_cached(l, &p3, d2),
        point::to_cached(l, &p4, d2),
        point::to_cached(l, &p5, d2),
        point::to_cached(l, &p6, d2),
        point::to_cached(l, &p7, d2),
        point::to_cached(l, &p8, d2),
    ];
    (table, small)
}

/// [2]P, extended to extended.
#[inline(always)]
fn double_e<L: Lanes>(l: L, p: &Extended<L::Fe>) -> Extended<L::Fe> {
    point::to_extended(l, &point::double(l, &point::to_projective_e(p)))
}

/// [S]B + [k](-A), digit by digit from the top, as a completed point.
#[inline(always)]
fn double_scalar_mul<L: Lanes>(l: L, table: &[Cached<L::Fe>; 8], p: &Prepared) -> Completed<L::Fe> {
    let base = point::base_table(l);
    let mut q = point::identity(l);
    let mut pos = 63;
    loop {
        let k = &p.k[pos];
        let q_k = point::to_extended(
            l,
            &point::add_cached(l, &q, &point::select_cached(l, table, &k.abs, k.neg)),
        );
        let s = &p.s[pos];
        let acc = point::add_niels(l, &q_k, &point::select_niels(l, &base, &s.abs, s.neg));
        if pos == 0 {
            return acc;
        }
        // Four doublings before the next digit position.
        let mut pr = point::to_projective(l, &acc);
        for _ in 0..3 {
            pr = point::to_projective(l, &point::double(l, &pr));
        }
        q = point::to_extended(l, &point::double(l, &pr));
        pos -= 1;
    }
}
