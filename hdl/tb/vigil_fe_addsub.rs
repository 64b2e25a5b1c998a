//! Testbench of `hdl/rtl/vigil_fe_addsub.sv` (with `vigil_fe_pkg.sv`), the adder unit of
//! the dual-issue engine (ADD, SUB, DADD = 2a + b, DSUB = 2a - b, and the engine's
//! selections and negations through them), against `num-bigint` arithmetic mod
//! p = 2^255 - 19.
//!
//! - The package's AddLatency leaves the default engine (16 contexts) its hazard-free
//!   turn: max(AluLatency, AddLatency) + 3 <= 16.
//! - Edge operands (0, 1, 2, 18, 19, 20, 37, 38, p - 1 .. p - 3, p and every other
//!   non-canonical value up to 2^255 - 1, (p +- 1) / 2, powers of two and 2^255 - 2^k,
//!   values with all ones below, at and above the carry chains' split bit), every
//!   pair, under all four operations (a + b, a - b, 2a + b, 2a - b), back to back; the
//!   pairs reach every quotient floor((m a +- b) / p) each operation can have (checked),
//!   and carries and borrows cross the split.
//! - Thousands of random operations (uniform 255-bit values, values near 0, p and
//!   2^255, sparse values, b within a few of a, 2a, or either +- p), mixed
//!   operations, issued back to back and with random idle cycles; `FeAddSub::run`
//!   checks on every cycle that each result comes out exactly AddLatency clocks after
//!   its operation with its tag, and never otherwise.
//! - After reset no spurious out_valid; a reset drops the operations in flight.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use num_bigint::BigUint;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vigil_hdl_sim::fe_addsub::{AddSubOp, FeAddSub};
use vigil_hdl_sim::fe_alu::fe_pkg;
use vigil_hdl_sim::Traffic;

#[path = "common/field.rs"]
mod field;
use field::{from_words, p, random_value, to_words, two_255};

/// Contexts of the default engine (vigil_ed25519_engine's parameter default).
const ENGINE_CONTEXTS: u64 = 16;

fn unit() -> FeAddSub {
    FeAddSub::new().unwrap_or_else(|e| panic!("{e}"))
}

/// One of the unit's four operations: (m a) + b or (m a) - b mod p, m = 2 when `dbl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Kind {
    sub: bool,
    dbl: bool,
}

const KINDS: [Kind; 4] = [
    Kind {
        sub: false,
        dbl: false,
    },
    Kind {
        sub: true,
        dbl: false,
    },
    Kind {
        sub: false,
        dbl: true,
    },
    Kind {
        sub: true,
        dbl: true,
    },
];

impl Kind {
    fn name(self) -> &'static str {
        match (self.sub, self.dbl) {
            (false, false) => "ADD",
            (true, false) => "SUB",
            (false, true) => "DADD",
            (true, true) => "DSUB",
        }
    }

    fn m(self) -> u32 {
        if self.dbl {
            2
        } else {
            1
        }
    }

    /// The quotients floor((m a +- b) / p) that 255-bit operands can give: m a + b lies
    /// in [0, (m + 1) 2^255), m a - b in (-2^255, m 2^255), and 2^255 = p + 19.
    fn quotients(self) -> std::ops::RangeInclusive<i64> {
        match (self.sub, self.dbl) {
            (false, false) => 0..=2,
            (false, true) => 0..=3,
            (true, false) => -2..=1,
            (true, true) => -2..=2,
        }
    }
}

/// The reference: (m a + b) or (m a - b) mod p, from num-bigint.
fn expected(kind: Kind, a: &BigUint, b: &BigUint) -> BigUint {
    let p = p();
    let ma = a * kind.m();
    if kind.sub {
        ((ma % &p) + &p - (b % &p)) % &p
    } else {
        (ma + b) % &p
    }
}

/// floor((m a +- b) / p), for coverage: the edge values must reach every quotient the
/// operation can have, so that every boundary of the reduction is crossed.
fn quotient(kind: Kind, a: &BigUint, b: &BigUint) -> i64 {
    let p = p();
    // Shifted by 4p so the arithmetic stays unsigned.
    let x = a * kind.m() + &p * 4u32;
    let x = if kind.sub { x - b } else { x + b };
    i64::try_from(u64::try_from(x / &p).unwrap()).unwrap() - 4
}

/// Runs `cases` through the unit under `traffic` and checks every result.
fn check_all(
    unit: &mut FeAddSub,
    cases: &[(Kind, BigUint, BigUint)],
    traffic: Traffic,
    what: &str,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(traffic.seed ^ 0xadd);
    let issued: Vec<AddSubOp> = cases
        .iter()
        .map(|(kind, a, b)| AddSubOp {
            sub: kind.sub,
            dbl: kind.dbl,
            a: to_words(a),
            b: to_words(b),
            tag: rng.gen(),
        })
        .collect();
    let results = unit
        .run(&issued, traffic)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(results.len(), cases.len(), "{what}: result count");
    for (i, ((kind, a, b), r)) in cases.iter().zip(&results).enumerate() {
        let want = expected(*kind, a, b);
        let got = from_words(r);
        assert!(
            got == want,
            "{what} #{i}: {} a = {a:#x}, b = {b:#x}: got {got:#x}, want {want:#x}",
            kind.name()
        );
    }
}

/// Edge operands (all below 2^255).
fn edge_values() -> Vec<BigUint> {
    let p = p();
    let top = two_255();
    let one = BigUint::from(1u32);
    let split = u32::try_from(fe_pkg().unwrap().int("AddSplitBit").unwrap()).unwrap();
    let mut v: Vec<BigUint> = [0u32, 1, 2, 3, 18, 19, 20, 37, 38]
        .iter()
        .map(|&x| BigUint::from(x))
        .collect();
    // p - 1 .. p - 3, and every non-canonical value p .. 2^255 - 1.
    for k in 1u32..=3 {
        v.push(&p - k);
    }
    for k in 0u32..19 {
        v.push(&p + k);
    }
    v.push((&p - 1u32) / 2u32);
    v.push((&p + 1u32) / 2u32);
    // Powers of two and 2^255 - 2^k, around the split and the top.
    for k in [1u32, 32, 63, 64, split - 1, split, split + 1, 200, 253, 254] {
        v.push(&one << k);
        v.push(&top - (&one << k));
    }
    // All ones below the split (a carry into the high half), and the split's
    // neighbours with the bits above set.
    v.push((&one << split) - 1u32);
    v.push((&one << (split + 1)) - 1u32);
    v.push(&top - 1u32 - ((&one << split) - 1u32));
    v.push(&p - (&one << split));
    for x in &v {
        assert!(x < &top, "edge value {x:#x} is not below 2^255");
    }
    v
}

/// A random pair: independent operands, or b within a few of a, 2a, or either plus or
/// minus p, modulo 2^255 (so that a +- b and 2a +- b land at the reduction's
/// boundaries).
fn random_pair(rng: &mut ChaCha8Rng) -> (BigUint, BigUint) {
    let a = random_value(rng);
    let near = |x: BigUint, rng: &mut ChaCha8Rng| -> BigUint {
        let d = BigUint::from(rng.gen_range(0u32..40));
        let y = if rng.gen() { x + d } else { x + two_255() - d };
        y % two_255()
    };
    let m = rng.gen_range(1u32..=2);
    let b = match rng.gen_range(0..4) {
        0 => near(&a * m, rng),
        1 => near(&a * m + two_255() - p(), rng),
        2 => near(&a * m + p(), rng),
        _ => random_value(rng),
    };
    (a, b)
}

#[test]
fn package_constants() {
    let pkg = fe_pkg().unwrap();
    let latency = pkg.int("AddLatency").unwrap();
    let alu = pkg.int("AluLatency").unwrap();
    assert!(
        latency >= 1 && latency.max(alu) + 3 <= ENGINE_CONTEXTS,
        "AddLatency {latency} (AluLatency {alu}) does not fit the engine's {ENGINE_CONTEXTS} \
         contexts"
    );
    let split = pkg.int("AddSplitBit").unwrap();
    assert!((2..255).contains(&split), "AddSplitBit {split}");
    println!("vigil_fe_addsub: AddLatency = {latency}, chains split at bit {split}");
}

#[test]
fn edge_values_every_pair_every_op() {
    let mut unit = unit();
    let values = edge_values();
    let mut cases = Vec::new();
    let mut seen: Vec<std::collections::BTreeSet<i64>> = vec![Default::default(); KINDS.len()];
    for a in &values {
        for b in &values {
            for (k, kind) in KINDS.iter().enumerate() {
                seen[k].insert(quotient(*kind, a, b));
                cases.push((*kind, a.clone(), b.clone()));
            }
        }
    }
    for (kind, seen) in KINDS.iter().zip(&seen) {
        assert!(
            kind.quotients().all(|q| seen.contains(&q)),
            "{}: the edge values reach only the quotients {seen:?}",
            kind.name()
        );
    }
    println!(
        "{} edge values, {} operations back to back",
        values.len(),
        cases.len()
    );
    check_all(&mut unit, &cases, Traffic::FULL, "edge values");
}

#[test]
fn random_operations_back_to_back_and_with_idle_cycles() {
    let mut unit = unit();
    let mut rng = ChaCha8Rng::seed_from_u64(25519);
    for (run, percent) in [(0u64, 100u32), (1, 75), (2, 30)] {
        let cases: Vec<(Kind, BigUint, BigUint)> = (0..8000)
            .map(|_| {
                let (a, b) = random_pair(&mut rng);
                (KINDS[rng.gen_range(0..KINDS.len())], a, b)
            })
            .collect();
        let traffic = Traffic {
            in_valid_percent: percent,
            out_ready_percent: 100,
            seed: run,
        };
        check_all(
            &mut unit,
            &cases,
            traffic,
            &format!("random run {run} ({percent} % issue rate)"),
        );
    }
}

#[test]
fn latency_is_exact_and_reset_leaves_no_valid() {
    let mut unit = unit();
    let latency = unit.latency();
    // After reset nothing comes out.
    for c in 0..3 * latency {
        assert!(
            unit.cycle(None).is_none(),
            "out_valid {c} cycles after reset"
        );
    }
    // One operation: its result is out in exactly the cycle `latency` after it.
    let op = AddSubOp {
        sub: true,
        dbl: false,
        a: to_words(&BigUint::from(0u32)),
        b: to_words(&(two_255() - 1u32)),
        tag: 0xA5A5_0001,
    };
    assert!(unit.cycle(Some(&op)).is_none());
    for c in 1..latency {
        assert!(
            unit.cycle(None).is_none(),
            "out_valid {c} cycles after the input"
        );
    }
    let (r, tag) = unit.cycle(None).expect("no result after AddLatency cycles");
    assert_eq!(tag, 0xA5A5_0001);
    // 0 - (2^255 - 1) = 0 - 18 (mod p) = p - 18.
    assert_eq!(from_words(&r), p() - 18u32, "0 - (2^255 - 1)");
    assert!(unit.cycle(None).is_none(), "out_valid stayed high");

    // A reset drops the operations in flight: nothing comes out after it.
    for _ in 0..latency / 2 + 1 {
        assert!(unit.cycle(Some(&op)).is_none());
    }
    unit.reset();
    for c in 0..3 * latency {
        assert!(
            unit.cycle(None).is_none(),
            "out_valid {c} cycles after a reset"
        );
    }
    // And it works again.
    let cases = vec![(KINDS[2], p() - 1u32, BigUint::from(1u32))];
    check_all(&mut unit, &cases, Traffic::FULL, "after reset");
    println!(
        "vigil_fe_addsub: result {latency} cycles after its operation ({} cycles simulated)",
        unit.cycles()
    );
}
