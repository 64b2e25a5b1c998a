//! The verification program, run on the engine's model, against the reference verifiers
//! (`vigil_core::profile::reference_verify`) on every edge case in `testdata/` and on
//! random valid and invalid signatures, under every profile; plus the constants and the
//! base-point table against curve25519-dalek, and the generated RTL's freshness.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::Scalar;
use num_bigint::BigUint;
use vigil_core::profile::{reference_verify, Profile};
use vigil_ucode::cases::{edge_cases, job, random_cases, wycheproof_cases, Case};
use vigil_ucode::field;
use vigil_ucode::isa::{Bundle, Op, Src, F_INVERT};
use vigil_ucode::model;

/// Runs every case under every profile on the model (on two threads), asserts every
/// verdict is the reference's, and returns how many were valid.
fn check(cases: &[Case]) -> usize {
    let code = vigil_ucode::encoded();
    let issues = vigil_ucode::issues_per_signature();
    let results: Vec<(Vec<String>, usize)> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .chunks(cases.len().div_ceil(2).max(1))
            .map(|chunk| {
                let code = &code;
                scope.spawn(move || {
                    let mut bad = Vec::new();
                    let mut valid = 0;
                    for c in chunk {
                        for p in Profile::ALL {
                            let want = reference_verify(p, &c.pk, &c.sig, &c.msg);
                            let got = model::run(code, &job(p, &c.pk, &c.sig, &c.msg));
                            match got {
                                Ok(o) if o.valid == want && o.issued == issues => {
                                    valid += usize::from(want)
                                }
                                other => bad.push(format!(
                                    "{} {}: reference {want}, model {other:?}",
                                    c.name,
                                    p.name()
                                )),
                            }
                        }
                    }
                    (bad, valid)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut bad = Vec::new();
    let mut valid = 0;
    for (b, v) in results {
        bad.extend(b);
        valid += v;
    }
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
    valid
}

#[test]
fn every_edge_case_gets_the_reference_verdict() {
    let cases = edge_cases();
    assert!(cases.len() > 300, "{} edge signatures", cases.len());
    let valid = check(&cases);
    // Both verdicts occur, so agreement is not trivial.
    assert!(valid > 0 && valid < 3 * cases.len());
}

#[test]
fn every_wycheproof_case_gets_the_reference_verdict() {
    let cases = wycheproof_cases();
    assert!(cases.len() > 100, "{} wycheproof signatures", cases.len());
    let valid = check(&cases);
    assert!(valid > 0 && valid < 3 * cases.len());
}

#[test]
fn random_signatures_get_the_reference_verdict() {
    let cases = random_cases(240, 7);
    let valid = check(&cases);
    // A third of the cases are honest (valid under every profile), most others not.
    assert!((3 * 80..3 * 200).contains(&valid), "{valid}");
}

#[test]
fn the_model_rejects_a_program_with_a_wrong_check() {
    // Dropping the small-order check of A (the instruction that ANDs it into the strict
    // verdict) must change a verdict: the harness can fail.
    let code: Vec<u128> = vigil_ucode::encoded();
    let edge = edge_cases();
    let taming = edge
        .iter()
        .find(|c| c.name.starts_with("taming-001"))
        .unwrap();
    let j = job(Profile::Strict, &taming.pk, &taming.sig, &taming.msg);
    assert!(!model::run(&code, &j).unwrap().valid);
    // The inverted ANDs fold in "R canonical" and then the two small-order flags; make
    // each `F & F` instead.
    let mut broken = code.clone();
    let mut changed = 0;
    for word in &mut broken {
        let mut b = Bundle::decode(*word).unwrap();
        if b.a.op == Op::Fand && b.a.f & F_INVERT != 0 && changed < 3 {
            b.a.f = 0;
            b.a.b = b.a.a;
            *word = b.encode();
            changed += 1;
        }
    }
    assert_eq!(changed, 3);
    assert!(model::run(&broken, &j).unwrap().valid);
}

#[test]
fn an_undefined_register_is_an_error() {
    let mut code = vigil_ucode::encoded();
    // Make the first bundle's addition read register 120 (never written so early).
    let mut first = Bundle::decode(code[0]).unwrap();
    assert_eq!(first.a.op, Op::Add);
    first.a.a = Src::Reg(120).encode();
    code[0] = first.encode();
    let c = &random_cases(1, 1)[0];
    let err = model::run(&code, &job(Profile::Strict, &c.pk, &c.sig, &c.msg)).unwrap_err();
    assert!(
        matches!(
            err,
            model::ModelError::UndefinedRegister { pc: 0, reg: 120 }
        ),
        "{err}"
    );
}

#[test]
fn a_write_to_the_other_slots_bank_is_an_error() {
    // The engine's register banks have one write port each: a product written to the A
    // bank, or a sum to the M bank, is refused, as is a table read from the A slot.
    let code = vigil_ucode::encoded();
    let c = &random_cases(1, 2)[0];
    let j = job(Profile::Zip215, &c.pk, &c.sig, &c.msg);
    let pc = code
        .iter()
        .position(|w| Bundle::decode(*w).unwrap().m.op == Op::Mul)
        .unwrap();
    let mut wrong = code.clone();
    let mut b = Bundle::decode(wrong[pc]).unwrap();
    b.m.dst = 100;
    wrong[pc] = b.encode();
    assert!(
        matches!(
            model::run(&wrong, &j),
            Err(model::ModelError::WrongSlot { op: Op::Mul, .. })
        ),
        "a product into the A bank"
    );
    let pc = code
        .iter()
        .position(|w| Bundle::decode(*w).unwrap().a.op == Op::Add)
        .unwrap();
    let mut wrong = code.clone();
    let mut b = Bundle::decode(wrong[pc]).unwrap();
    b.a.dst = 3;
    wrong[pc] = b.encode();
    assert!(
        matches!(
            model::run(&wrong, &j),
            Err(model::ModelError::WrongSlot { op: Op::Add, .. })
        ),
        "a sum into the M bank"
    );
    let mut wrong = code.clone();
    let mut b = Bundle::decode(wrong[pc]).unwrap();
    b.a.b = Src::TabB(0).encode();
    wrong[pc] = b.encode();
    assert!(
        matches!(
            model::run(&wrong, &j),
            Err(model::ModelError::BadOperand { .. })
        ),
        "a table read from the A slot"
    );
}

#[test]
fn the_schedule_pairs_products_with_sums() {
    // Dual issue pays: one signature takes fewer turns than it issues multiplications
    // plus other operations, and every turn of the loop issues at most one of each.
    let s = vigil_ucode::scheduled();
    let turns = vigil_ucode::issues_per_signature();
    let muls = vigil_ucode::per_signature(|i| i.op == Op::Mul);
    let others = vigil_ucode::per_signature(|i| i.op != Op::Mul);
    assert!(turns >= muls, "{turns} turns, {muls} products");
    assert!(
        turns < muls + others,
        "{turns} turns, {muls} + {others} operations"
    );
    for b in &s.bundles {
        assert!(matches!(b.m.op, Op::Mul | Op::Nop), "{b:?}");
        assert_ne!(b.a.op, Op::Mul, "{b:?}");
    }
    // What hdl/README.md reports, so a change to the program or the scheduler that
    // costs turns shows here.
    assert!(turns <= 3_600, "{turns} turns per signature");
}

#[test]
fn the_base_table_is_the_multiples_of_b() {
    let two_inv = field::inv(&BigUint::from(2u8));
    for (j, [ypx, ymx, xy2d]) in field::base_table().iter().enumerate() {
        let x = field::mul(&field::sub(ypx, ymx), &two_inv);
        let y = field::mul(&field::add(ypx, ymx), &two_inv);
        let point = field::Affine {
            x: x.clone(),
            y: y.clone(),
        };
        let want = (ED25519_BASEPOINT_POINT * Scalar::from(j as u64)).compress();
        assert_eq!(point.compress(), want.to_bytes(), "[{j}]B");
        assert_eq!(*xy2d, field::mul(&field::d2(), &field::mul(&x, &y)));
    }
    let minus_one = field::sub(&BigUint::default(), &BigUint::from(1u8));
    assert_eq!(field::mul(field::sqrt_m1(), field::sqrt_m1()), minus_one);
}

#[test]
fn the_generated_rtl_is_current() {
    let root = vigil_regmap::repo_root();
    let stale = vigil_regmap::generated::stale(&vigil_ucode::render::generate(&root));
    assert!(
        stale.is_empty(),
        "stale: {stale:?}; run `cargo run -p vigil-ucode -- --write`"
    );
}
