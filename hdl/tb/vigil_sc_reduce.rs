//! Testbench of `hdl/rtl/vigil_sc_reduce.sv`, against `curve25519-dalek`'s
//! `Scalar::from_bytes_mod_order_wide`.
//!
//! - The package's L is the group order (L = 0 mod L, L - 1 is canonical and is -1).
//! - Crafted inputs near multiples of L and the extremes (0, 1, L - 1, L, L + 1, 2L,
//!   2^252, 2^256 - 1, 2^512 - 1, the largest multiple of L below 2^512 and its
//!   neighbours) and random inputs, each result held under backpressure first.
//! - The latency is 512 / BitsPerCycle + 1 = 129 cycles (measured and printed).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use curve25519_dalek::Scalar;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vigil_hdl_sim::rtl::sha512_pkg;
use vigil_hdl_sim::sc_reduce::ScReduce;

fn reducer() -> ScReduce {
    ScReduce::new().unwrap_or_else(|e| panic!("{e}"))
}

/// The package's L, as 32 little-endian bytes.
fn l_bytes() -> [u8; 32] {
    let words = sha512_pkg().unwrap().words::<8>("L").unwrap();
    let mut out = [0u8; 32];
    for (chunk, w) in out.chunks_mut(4).zip(words) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    out
}

/// Little-endian multiple-precision helpers over 64-byte integers (for crafting inputs
/// only; the reference is curve25519-dalek).
fn mul_small(a: &[u8; 32], m: u32) -> [u8; 64] {
    let mut out = [0u8; 64];
    let mut carry = 0u64;
    for (i, o) in out.iter_mut().enumerate() {
        let v = u64::from(*a.get(i).unwrap_or(&0)) * u64::from(m) + carry;
        *o = v.to_le_bytes()[0];
        carry = v >> 8;
    }
    out
}

fn add_signed(a: &[u8; 64], d: i64) -> [u8; 64] {
    let mut out = *a;
    if d >= 0 {
        let mut carry = d.unsigned_abs();
        for b in &mut out {
            let v = u64::from(*b) + (carry & 0xFF);
            *b = v.to_le_bytes()[0];
            carry = (carry >> 8) + (v >> 8);
        }
    } else {
        let mut borrow = d.unsigned_abs();
        for b in &mut out {
            let sub = borrow & 0xFF;
            let (v, under) = b.overflowing_sub(u8::try_from(sub).unwrap());
            *b = v;
            borrow = (borrow >> 8) + u64::from(under);
        }
    }
    out
}

fn wide(a: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(a);
    out
}

fn check(r: &mut ScReduce, x: &[u8; 64], hold: u32, what: &str) -> u64 {
    let (k, latency) = r.reduce(x, hold).unwrap_or_else(|e| panic!("{what}: {e}"));
    let expected = Scalar::from_bytes_mod_order_wide(x).to_bytes();
    assert_eq!(
        k,
        expected,
        "{what}: x = {}, got {}, want {}",
        hex::encode(x),
        hex::encode(k),
        hex::encode(expected)
    );
    latency
}

#[test]
fn l_is_the_group_order() {
    let l = l_bytes();
    assert_eq!(Scalar::from_bytes_mod_order(l), Scalar::ZERO);
    let mut l_minus_1 = l;
    l_minus_1[0] -= 1;
    assert_eq!(l_minus_1, (-Scalar::ONE).to_bytes());
    assert!(bool::from(
        Scalar::from_canonical_bytes(l_minus_1).is_some()
    ));
}

#[test]
fn crafted_inputs() {
    let l = l_bytes();
    let mut r = reducer();
    let mut cases: Vec<([u8; 64], String)> = Vec::new();
    for m in [1u32, 2, 3, 16, 255] {
        for d in [-2i64, -1, 0, 1, 2] {
            let x = add_signed(&mul_small(&l, m), d);
            cases.push((x, format!("{m} L {d:+}")));
        }
    }
    cases.push(([0u8; 64], "0".into()));
    cases.push((add_signed(&[0u8; 64], 1), "1".into()));
    cases.push(([0xFF; 64], "2^512 - 1".into()));
    cases.push((add_signed(&[0xFF; 64], -1), "2^512 - 2".into()));
    cases.push((wide(&[0xFF; 32]), "2^256 - 1".into()));
    let mut p252 = [0u8; 64];
    p252[31] = 0x10;
    cases.push((p252, "2^252".into()));
    // The largest multiple of L below 2^512, and its neighbours: q = floor((2^512 - 1) / L),
    // found by asking the reference for (2^512 - 1) mod L and subtracting.
    let rem = Scalar::from_bytes_mod_order_wide(&[0xFF; 64]).to_bytes();
    let mut top = [0xFFu8; 64];
    let mut borrow = 0i32;
    for (i, t) in top.iter_mut().enumerate() {
        let v = i32::from(*t) - i32::from(*rem.get(i).unwrap_or(&0)) - borrow;
        borrow = i32::from(v < 0);
        *t = u8::try_from(v.rem_euclid(256)).unwrap();
    }
    for d in [-1i64, 0, 1] {
        cases.push((add_signed(&top, d), format!("q L {d:+} (largest multiple)")));
    }
    for (i, (x, what)) in cases.iter().enumerate() {
        check(&mut r, x, u32::try_from(i % 3).unwrap(), what);
    }
}

#[test]
fn random_inputs_and_latency() {
    let mut r = reducer();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut latencies = Vec::new();
    for i in 0..300 {
        let mut x = [0u8; 64];
        rng.fill(&mut x[..]);
        // Some with short lengths, so the high part is zero.
        let keep = rng.gen_range(0..=64);
        if i % 4 == 0 {
            x[keep..].fill(0);
        }
        latencies.push(check(
            &mut r,
            &x,
            rng.gen_range(0..3),
            &format!("random {i}"),
        ));
    }
    assert!(latencies.iter().all(|&l| l == latencies[0]));
    println!(
        "vigil_sc_reduce: {} cycles from input to result (BitsPerCycle = 4)",
        latencies[0]
    );
    assert_eq!(latencies[0], 129);
}
