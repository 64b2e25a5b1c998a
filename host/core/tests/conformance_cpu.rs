//! The CPU backend against the conformance harness, through each of its paths (the
//! reference crates, and every lane-parallel instruction set): every vector set under
//! every profile, and 100,000 generated random and adversarial transactions per profile.
//!
//! A lane path this CPU lacks is reported on stderr as NOT TESTED; where
//! `VIGIL_REQUIRE_ISA` names it (a comma-separated list of `avx512ifma`, `avx2`) its
//! test fails instead, so a missing path never passes silently.

#![allow(clippy::unwrap_used)] // A test fails by panicking.

use std::time::Instant;

use vigil_core::conformance::{self, Options};
use vigil_core::cpu::CpuBackend;
use vigil_core::cpu_path::PathChoice;
use vigil_simd::Isa;

#[test]
fn conformance_cpu_default() {
    let backend = CpuBackend::new(Some(2)).unwrap();
    conformance::assert_conforms(&backend);
}

/// The backend on `isa`, or `None` after saying why (a failure when it is required).
fn lanes_or_skip(isa: Isa) -> Option<CpuBackend> {
    match CpuBackend::with_path(Some(2), PathChoice::Lanes(isa)) {
        Ok(b) => Some(b),
        Err(e) => {
            assert!(!isa.required_by_env(), "VIGIL_REQUIRE_ISA names {isa}: {e}");
            eprintln!("NOT TESTED: {e}");
            None
        }
    }
}

fn generated_100k(backend: &CpuBackend) {
    // "Every path gives the reference crates' verdict on every vector set and on
    // 100,000 generated transactions per profile."
    let opts = Options {
        generated: 100_000,
        ..Options::default()
    };
    let start = Instant::now();
    let report = conformance::run(backend, &opts);
    println!(
        "{}: {} results checked in {:.1} s",
        backend.path().name(),
        report.checked,
        start.elapsed().as_secs_f64()
    );
    assert!(report.is_ok(), "{}: {report}", backend.path().name());
    // 100,000 transactions of 1 to 4 signers under 3 profiles, plus their
    // transaction verdicts.
    assert!(report.checked > 3 * 100_000 * 2, "{}", report.checked);
}

#[test]
fn conformance_reference_100k_generated() {
    generated_100k(&CpuBackend::with_path(Some(2), PathChoice::Reference).unwrap());
}

#[test]
fn conformance_avx512ifma_100k_generated() {
    if let Some(b) = lanes_or_skip(Isa::Ifma) {
        generated_100k(&b);
    }
}

#[test]
fn conformance_avx2_100k_generated() {
    if let Some(b) = lanes_or_skip(Isa::Avx2) {
        generated_100k(&b);
    }
}

#[test]
fn conformance_cpu_ref_backend() {
    conformance::assert_conforms(&CpuBackend::reference(Some(2)).unwrap());
}

#[test]
fn conformance_cpu_self_test() {
    let backend = CpuBackend::new(Some(2)).unwrap();
    let start = Instant::now();
    conformance::self_test(&backend).unwrap();
    println!("self-test took {:?}", start.elapsed());
}
