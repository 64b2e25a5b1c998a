//! Testbench of `hdl/rtl/vigil_fe_alu.sv` (with `vigil_fe_pkg.sv`), against `num-bigint`
//! arithmetic mod p = 2^255 - 19.
//!
//! - The package's P is 2^255 - 19; AluLatency is at most 10 (the engine's budget).
//! - Edge operands (0, 1, 2, 19, p - 1, p, p + 1 and every other non-canonical value up
//!   to 2^255 - 1, 2^255 - 19 - k, (p +- 1) / 2, every power of two, 2^255 - 2^k, all
//!   limbs of a (17 bits) or of b (26 bits) at their maximum, alternating limbs, single
//!   full limbs), every pair, under every opcode (the reserved 3 adds).
//! - Thousands of random operations (uniform 255-bit values, values near 0, p and
//!   2^255, sparse values), mixed opcodes, issued back to back and with random idle
//!   cycles; `FeAlu::run` checks on every cycle that each result comes out exactly
//!   AluLatency clocks after its operation with its tag, and never otherwise.
//! - After reset no spurious out_valid; a reset drops the operations in flight.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use num_bigint::BigUint;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vigil_hdl_sim::fe_alu::{fe_pkg, FeAlu, FeOp};
use vigil_hdl_sim::Traffic;

#[path = "common/field.rs"]
mod field;
use field::{from_words, p, random_value, to_words, two_255};

fn alu() -> FeAlu {
    FeAlu::new().unwrap_or_else(|e| panic!("{e}"))
}

/// The opcodes, read from the package.
#[derive(Clone, Copy)]
struct Ops {
    mul: u8,
    add: u8,
    sub: u8,
}

fn ops() -> Ops {
    let pkg = fe_pkg().unwrap();
    let code = |name: &str| u8::try_from(pkg.int(name).unwrap()).unwrap();
    Ops {
        mul: code("OpMul"),
        add: code("OpAdd"),
        sub: code("OpSub"),
    }
}

/// The reference: (a op b) mod p, from num-bigint.
fn expected(ops: Ops, op: u8, a: &BigUint, b: &BigUint) -> BigUint {
    let p = p();
    if op == ops.mul {
        (a * b) % &p
    } else if op == ops.sub {
        ((a % &p) + &p - (b % &p)) % &p
    } else {
        // OpAdd, and the reserved code that behaves as OpAdd.
        (a + b) % &p
    }
}

fn op_name(ops: Ops, op: u8) -> &'static str {
    match op {
        _ if op == ops.mul => "MUL",
        _ if op == ops.add => "ADD",
        _ if op == ops.sub => "SUB",
        _ => "RESERVED",
    }
}

/// Runs `cases` through the ALU under `traffic` and checks every result.
fn check_all(alu: &mut FeAlu, cases: &[(u8, BigUint, BigUint)], traffic: Traffic, what: &str) {
    let ops = ops();
    let mut rng = ChaCha8Rng::seed_from_u64(traffic.seed ^ 0x5eed);
    let issued: Vec<FeOp> = cases
        .iter()
        .map(|(op, a, b)| FeOp {
            op: *op,
            a: to_words(a),
            b: to_words(b),
            tag: rng.gen(),
        })
        .collect();
    let results = alu
        .run(&issued, traffic)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(results.len(), cases.len(), "{what}: result count");
    for (i, ((op, a, b), r)) in cases.iter().zip(&results).enumerate() {
        let want = expected(ops, *op, a, b);
        let got = from_words(r);
        assert!(
            got == want,
            "{what} #{i}: {} a = {a:#x}, b = {b:#x}: got {got:#x}, want {want:#x}",
            op_name(ops, *op)
        );
    }
}

/// Edge operands (all below 2^255).
fn edge_values() -> Vec<BigUint> {
    let p = p();
    let top = two_255();
    let one = BigUint::from(1u32);
    let mut v: Vec<BigUint> = [0u32, 1, 2, 3, 18, 19, 20, 38]
        .iter()
        .map(|&x| BigUint::from(x))
        .collect();
    // p - 1 .. p - 3 (2^255 - 19 - k), and every non-canonical value p .. 2^255 - 1.
    for k in 1u32..=3 {
        v.push(&p - k);
    }
    for k in 0u32..19 {
        v.push(&p + k);
    }
    v.push((&p - 1u32) / 2u32);
    v.push((&p + 1u32) / 2u32);
    // Powers of two, and 2^255 - 2^k.
    for k in [
        1u32, 16, 17, 25, 26, 31, 32, 63, 64, 127, 128, 200, 233, 234, 237, 238, 253, 254,
    ] {
        v.push(&one << k);
        v.push(&top - (&one << k));
    }
    // Limb patterns: every a limb (17 bits) or b limb (26 bits) at its maximum is
    // 2^255 - 1 (above); alternating limbs; one full limb at a time.
    let mut alt_a = BigUint::from(0u32);
    let mut alt_b = BigUint::from(0u32);
    for i in (0u32..15).step_by(2) {
        alt_a |= ((&one << 17u32) - 1u32) << (17 * i);
    }
    for j in (1u32..10).step_by(2) {
        alt_b |= ((&one << 26u32) - 1u32) << (26 * j);
    }
    // (b's top limb has 21 bits.)
    alt_b &= &top - 1u32;
    v.push(alt_a.clone());
    v.push(&top - 1u32 - &alt_a);
    v.push(alt_b.clone());
    v.push(&top - 1u32 - &alt_b);
    for i in [0u32, 7, 14] {
        v.push(((&one << 17u32) - 1u32) << (17 * i));
    }
    for j in [0u32, 4, 8] {
        v.push(((&one << 26u32) - 1u32) << (26 * j));
    }
    v.push(((&one << 21u32) - 1u32) << 234u32);
    for x in &v {
        assert!(x < &top, "edge value {x:#x} is not below 2^255");
    }
    v
}

#[test]
fn package_constants() {
    let pkg = fe_pkg().unwrap();
    let words = pkg.words::<8>("P").unwrap();
    assert_eq!(from_words(&words), p(), "vigil_fe_pkg::P is not 2^255 - 19");
    let latency = pkg.int("AluLatency").unwrap();
    assert!(
        (1..=10).contains(&latency),
        "AluLatency {latency} is outside the engine's budget of 10"
    );
    let ops = ops();
    assert_eq!((ops.mul, ops.add, ops.sub), (0, 1, 2));
    println!("vigil_fe_alu: AluLatency = {latency}");
}

#[test]
fn edge_values_every_pair_every_op() {
    let mut alu = alu();
    let values = edge_values();
    let mut cases = Vec::new();
    for a in &values {
        for b in &values {
            for op in 0u8..4 {
                cases.push((op, a.clone(), b.clone()));
            }
        }
    }
    println!(
        "{} edge values, {} operations back to back",
        values.len(),
        cases.len()
    );
    check_all(&mut alu, &cases, Traffic::FULL, "edge values");
}

#[test]
fn random_operations_back_to_back_and_with_idle_cycles() {
    let mut alu = alu();
    let mut rng = ChaCha8Rng::seed_from_u64(25519);
    for (run, percent) in [(0u64, 100u32), (1, 75), (2, 30)] {
        let cases: Vec<(u8, BigUint, BigUint)> = (0..4000)
            .map(|_| {
                let op = rng.gen_range(0u8..4);
                (op, random_value(&mut rng), random_value(&mut rng))
            })
            .collect();
        let traffic = Traffic {
            in_valid_percent: percent,
            out_ready_percent: 100,
            seed: run,
        };
        check_all(
            &mut alu,
            &cases,
            traffic,
            &format!("random run {run} ({percent} % issue rate)"),
        );
    }
}

#[test]
fn random_multiplications() {
    let mut alu = alu();
    let mut rng = ChaCha8Rng::seed_from_u64(19);
    let cases: Vec<(u8, BigUint, BigUint)> = (0..6000)
        .map(|_| (ops().mul, random_value(&mut rng), random_value(&mut rng)))
        .collect();
    check_all(
        &mut alu,
        &cases,
        Traffic::stalls(3),
        "random multiplications",
    );
}

#[test]
fn latency_is_exact_and_reset_leaves_no_valid() {
    let mut alu = alu();
    let latency = alu.latency();
    // After reset nothing comes out.
    for c in 0..3 * latency {
        assert!(
            alu.cycle(None).is_none(),
            "out_valid {c} cycles after reset"
        );
    }
    // One operation: its result is out in exactly the cycle `latency` after it.
    let op = FeOp {
        op: ops().mul,
        a: to_words(&(p() - 1u32)),
        b: to_words(&(p() - 1u32)),
        tag: 0xA5A5_0001,
    };
    assert!(alu.cycle(Some(&op)).is_none());
    for c in 1..latency {
        assert!(
            alu.cycle(None).is_none(),
            "out_valid {c} cycles after the input"
        );
    }
    let (r, tag) = alu.cycle(None).expect("no result after AluLatency cycles");
    assert_eq!(tag, 0xA5A5_0001);
    assert_eq!(from_words(&r), BigUint::from(1u32), "(-1)^2 != 1");
    assert!(alu.cycle(None).is_none(), "out_valid stayed high");

    // A reset drops the operations in flight: nothing comes out after it.
    for _ in 0..latency / 2 + 1 {
        assert!(alu.cycle(Some(&op)).is_none());
    }
    alu.reset();
    for c in 0..3 * latency {
        assert!(
            alu.cycle(None).is_none(),
            "out_valid {c} cycles after a reset"
        );
    }
    // And it works again.
    let cases = vec![(ops().sub, BigUint::from(0u32), BigUint::from(1u32))];
    check_all(&mut alu, &cases, Traffic::FULL, "after reset");
    println!(
        "vigil_fe_alu: result {latency} cycles after its operation ({} cycles simulated)",
        alu.cycles()
    );
}
