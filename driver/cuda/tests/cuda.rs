//! The CUDA backend on whatever this machine has. Without an NVIDIA driver (CI) this
//! checks the absent path: opening fails with `Unavailable` and a reason, never a
//! panic. With a GPU it runs the whole conformance harness through CUDA. Set
//! `VIGIL_CUDA_TESTS=1` (as `benches/gpu/run.sh` does) to make a missing GPU a failure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;

use vigil_core::conformance::{self, Options};
use vigil_core::synth::{self, Format, SynthSpec};
use vigil_core::{Backend, BackendError, Profile, Verdicts};
use vigil_cuda::CudaBackend;

fn options(graphs: bool) -> vigil_cuda::Options {
    vigil_cuda::Options {
        cache_dir: Some(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cuda-cache")),
        graphs,
    }
}

/// The backend, or `None` (after checking the absent path) where CUDA is absent.
fn open_or_absent(graphs: bool) -> Option<CudaBackend> {
    let required = std::env::var_os("VIGIL_CUDA_TESTS").is_some();
    match CudaBackend::open(&options(graphs)) {
        Ok(backend) => Some(backend),
        Err(e) => {
            assert!(
                !required,
                "VIGIL_CUDA_TESTS is set but CUDA is unusable: {e}"
            );
            let BackendError::Unavailable { backend, reason } = &e else {
                panic!("absent CUDA must be Unavailable, got {e:?}");
            };
            assert_eq!(backend, "cuda");
            assert!(reason.len() > 20, "an operator needs a reason: {reason:?}");
            eprintln!("CUDA absent here: {reason}");
            None
        }
    }
}

#[test]
fn conforms_on_every_profile_or_is_absent_with_a_reason() {
    let Some(backend) = open_or_absent(false) else {
        return;
    };
    for gpu in backend.devices() {
        eprintln!("{} -> {:?}", gpu.summary, gpu.status);
    }
    let opts = Options {
        generated: 10_000,
        max_batch: 4096,
        ..Options::default()
    };
    let report = conformance::run(&backend, &opts);
    eprintln!("{}", report.summary(0));
    assert!(report.is_ok(), "CUDA backend does not conform:\n{report}");
    assert!(
        report.checked > 30_000,
        "only {} results checked",
        report.checked
    );

    // A batch larger than the initial buffers, so they grow, under every profile.
    let spec = SynthSpec {
        count: 40_000,
        profile: Profile::Strict,
        invalid_fraction: 0.1,
        msg_len: 0..=1232,
        signers: 1,
        format: Format::Jsonl,
        seed: 9,
    };
    let batch = Arc::new(synth::batch(&spec).unwrap());
    for profile in Profile::ALL {
        let got = backend.verify(Arc::clone(&batch), profile).wait().unwrap();
        assert_eq!(got, Verdicts::reference(&batch, profile), "{profile}");
    }
    let root = backend
        .merkle_root(Arc::clone(batch.leaves()))
        .wait()
        .unwrap();
    assert_eq!(root, vigil_core::merkle::root(batch.leaves()));
    let kernels = backend.kernel_time().unwrap();
    assert!(!kernels.is_zero(), "kernel time was not measured");
}

/// The small-batch graphs: every conformance batch is cut to at most 1,024 signatures,
/// so all of them take the graph path (the self-test at open did too).
#[test]
fn small_batch_graphs_conform_on_every_profile() {
    let Some(backend) = open_or_absent(true) else {
        return;
    };
    let opts = Options {
        generated: 3_000,
        max_batch: 1_000,
        ..Options::default()
    };
    let report = conformance::run(&backend, &opts);
    eprintln!("graphs: {}", report.summary(0));
    assert!(report.is_ok(), "graph path does not conform:\n{report}");
    // Odd sizes: padding within each bucket, one signature, and the largest bucket.
    for count in [1, 63, 65, 200, 1024] {
        let spec = SynthSpec {
            count,
            profile: Profile::Zip215,
            invalid_fraction: 0.2,
            msg_len: 0..=900,
            signers: 1,
            format: Format::Jsonl,
            seed: count as u64,
        };
        let batch = Arc::new(synth::batch(&spec).unwrap());
        for profile in Profile::ALL {
            let got = backend.verify(Arc::clone(&batch), profile).wait().unwrap();
            assert_eq!(
                got,
                Verdicts::reference(&batch, profile),
                "{count} {profile}"
            );
        }
    }
}

#[test]
fn probe_never_panics() {
    match vigil_cuda::probe() {
        Ok(v) => assert!(
            v.driver >= vigil_cuda::MIN_DRIVER && v.nvrtc.is_none_or(|n| n >= 12_000),
            "{v:?}"
        ),
        Err(BackendError::Unavailable { reason, .. }) => assert!(!reason.is_empty()),
        Err(other) => panic!("probe must answer Unavailable, got {other:?}"),
    }
}
