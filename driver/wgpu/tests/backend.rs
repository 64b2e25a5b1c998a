//! The wgpu backend on the device runtime, on lavapipe: the adapter found and
//! self-tested, and its answers held to the CPU oracle: the whole conformance harness
//! under every profile, and Merkle roots.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::sync::{Arc, OnceLock};

use rand::{Rng, SeedableRng};
use vigil_core::conformance::{self, Options};
use vigil_core::{Backend, Leaves};
use vigil_wgpu::{Select, WgpuBackend};

/// One backend for the whole file: opening builds every pipeline.
fn backend() -> &'static WgpuBackend {
    static BACKEND: OnceLock<WgpuBackend> = OnceLock::new();
    BACKEND.get_or_init(|| {
        WgpuBackend::open(Select::Software).unwrap_or_else(|e| {
            panic!("no software adapter in service (install mesa-vulkan-drivers): {e}")
        })
    })
}

#[test]
fn lavapipe_is_found_and_in_service() {
    let devices = backend().devices();
    let soft: Vec<_> = devices.iter().filter(|d| d.summary.software).collect();
    assert!(!soft.is_empty(), "{devices:?}");
    assert!(
        soft.iter().any(|d| d.status.is_ok()),
        "no software adapter passed its self-test: {devices:?}"
    );
    assert_eq!(
        backend().devices_in_service(),
        Some(backend().in_service().len())
    );
}

#[test]
fn hardware_only_never_takes_a_software_adapter() {
    // On a machine with only lavapipe, `auto`'s selection finds nothing usable and
    // says why; where a GPU exists, whatever it opens is hardware.
    match WgpuBackend::open(Select::Hardware) {
        Ok(b) => assert!(b
            .devices()
            .iter()
            .all(|d| d.status.is_err() || !d.summary.software)),
        Err(e) => assert!(e.to_string().contains("software adapter"), "{e}"),
    }
}

#[test]
fn merkle_roots_match_the_cpu() {
    let b = backend();
    let mut rng = rand::rngs::StdRng::seed_from_u64(19);
    for n in [1usize, 2, 3, 5, 64, 65, 257, 1000, 3001] {
        let leaves: Leaves = (0..n)
            .map(|_| {
                let len = rng.gen_range(0..=1500);
                (0..len).map(|_| rng.gen::<u8>()).collect::<Vec<u8>>()
            })
            .collect();
        let want = vigil_core::merkle::root(&leaves);
        let got = b.merkle_root(Arc::new(leaves)).wait().unwrap();
        assert_eq!(got, want, "{n} leaves");
    }
}

#[test]
fn conforms_on_every_profile_and_merkle() {
    let b = backend();
    assert!(b.verifies(), "the WGSL port verifies signatures");
    let opts = Options {
        generated: 10_000,
        ..Options::default()
    };
    let report = conformance::run(b, &opts);
    eprintln!("{}", report.summary(0));
    assert!(report.is_ok(), "wgpu backend does not conform:\n{report}");
    // Every set was really checked: 3 profiles x 10,000 generated alone is 30,000 verdicts.
    assert!(
        report.checked > 30_000,
        "only {} results checked",
        report.checked
    );
}

#[test]
fn batches_larger_than_the_first_buffers() {
    // Buffers grow to the next power of two: a large batch after small ones, with
    // messages of several SHA-512 blocks, and every profile.
    let b = backend();
    let spec = vigil_core::synth::SynthSpec {
        count: 20_000,
        profile: vigil_core::Profile::Strict,
        invalid_fraction: 0.1,
        msg_len: 0..=300,
        signers: 1,
        format: vigil_core::synth::Format::Jsonl,
        seed: 42,
    };
    let batch = Arc::new(vigil_core::synth::batch(&spec).unwrap());
    for profile in vigil_core::Profile::ALL {
        let got = b.verify(Arc::clone(&batch), profile).wait().unwrap();
        assert_eq!(
            got,
            vigil_core::Verdicts::reference(&batch, profile),
            "{profile}"
        );
    }
}
