//! The CPU backend against the conformance harness: every vector set under every
//! profile, and 100,000 generated random and adversarial transactions per profile.

#![allow(clippy::unwrap_used)] // A test fails by panicking.

use std::time::Instant;

use vigil_core::conformance::{self, Options};
use vigil_core::cpu::CpuBackend;

#[test]
fn conformance_cpu_default() {
    let backend = CpuBackend::new(Some(2)).unwrap();
    conformance::assert_conforms(&backend);
}

#[test]
fn conformance_cpu_100k_generated() {
    // "Every profile gives its reference crate's exact verdict on every vector and on
    // 100,000 generated random and adversarial transactions."
    let backend = CpuBackend::new(Some(2)).unwrap();
    let opts = Options {
        generated: 100_000,
        ..Options::default()
    };
    let start = Instant::now();
    let report = conformance::run(&backend, &opts);
    println!(
        "{} results checked in {:.1} s",
        report.checked,
        start.elapsed().as_secs_f64()
    );
    assert!(report.is_ok(), "{report}");
    // 100,000 transactions of 1 to 4 signers under 3 profiles, plus their
    // transaction verdicts.
    assert!(report.checked > 3 * 100_000 * 2, "{}", report.checked);
}

#[test]
fn conformance_cpu_self_test() {
    let backend = CpuBackend::new(Some(2)).unwrap();
    let start = Instant::now();
    conformance::self_test(&backend).unwrap();
    println!("self-test took {:?}", start.elapsed());
}
