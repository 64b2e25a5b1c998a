//! The OpenCL backend held to the conformance harness, on whatever OpenCL device the
//! machine has (PoCL on the CPU in CI; install `pocl-opencl-icd` to run these locally).
//! There is no silent skip: without an OpenCL device these tests fail and say why.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use vigil_core::conformance::{self, Options};
use vigil_core::synth::{self, Format, SynthSpec};
use vigil_core::{merkle, Backend, Leaves, Profile, Verdicts};
use vigil_opencl::{OpenclBackend, Select};

/// A cache directory under cargo's per-target scratch space, kept between runs.
fn cache_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}

fn options(cache: PathBuf) -> vigil_opencl::Options {
    vigil_opencl::Options {
        select: Select::AcceleratorsElseAny,
        cache_dir: Some(cache),
    }
}

/// Held by every test for its whole run: the tests of this binary run one at a time.
/// PoCL's device library cache is not safe against one thread releasing a context while
/// another creates or releases one (it aborted on `pocl_release_dlhandle_cache:
/// Assertion found->ref_count > 0` in CI when two tests dropped their own backends at
/// once).
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One backend shared by the tests of this binary (each open builds or loads programs).
fn backend() -> &'static OpenclBackend {
    static BACKEND: OnceLock<OpenclBackend> = OnceLock::new();
    BACKEND.get_or_init(|| {
        OpenclBackend::open(&options(cache_dir("opencl-cache"))).unwrap_or_else(|e| {
            panic!("no usable OpenCL device (install pocl-opencl-icd for a CPU device): {e}")
        })
    })
}

/// A generated batch of one-signer transactions (invalid ones break `strict`'s rules).
fn generated(
    count: usize,
    invalid_fraction: f64,
    msg_len: std::ops::RangeInclusive<usize>,
    seed: u64,
) -> Arc<vigil_core::Batch> {
    let spec = SynthSpec {
        count,
        profile: Profile::Strict,
        invalid_fraction,
        msg_len,
        signers: 1,
        format: Format::Jsonl,
        seed,
    };
    Arc::new(synth::batch(&spec).unwrap())
}

#[test]
fn conforms_on_every_profile_and_merkle() {
    let _serial = one_at_a_time();
    let backend = backend();
    for d in backend.devices() {
        eprintln!("device: {} -> {:?}", d.summary, d.status);
    }
    let opts = Options {
        generated: 10_000,
        ..Options::default()
    };
    let report = conformance::run(backend, &opts);
    eprintln!("{}", report.summary(0));
    assert!(report.is_ok(), "OpenCL backend does not conform:\n{report}");
    // Every set was really checked: 3 profiles x 10,000 generated alone is 30,000 verdicts.
    assert!(
        report.checked > 30_000,
        "only {} results checked",
        report.checked
    );
}

#[test]
fn batches_larger_than_the_initial_buffers() {
    let _serial = one_at_a_time();
    let backend = backend();
    // More signatures and leaves than the buffers start with, so they must grow, and
    // messages long enough for several SHA-512 blocks.
    let batch = generated(20_000, 0.1, 0..=300, 42);
    for profile in Profile::ALL {
        let got = backend.verify(Arc::clone(&batch), profile).wait().unwrap();
        assert_eq!(got, Verdicts::reference(&batch, profile), "{profile}");
    }
    let root = backend
        .merkle_root(Arc::clone(batch.leaves()))
        .wait()
        .unwrap();
    assert_eq!(root, merkle::root(batch.leaves()));
}

#[test]
fn merkle_edge_sizes() {
    let _serial = one_at_a_time();
    let backend = backend();
    // Sizes around the fused kernel's group span (2 x group) and powers of two.
    let span = 2 * vigil_kernels::MERKLE_REDUCE_GROUP as usize;
    let mut sizes = vec![
        0,
        1,
        2,
        3,
        span - 1,
        span,
        span + 1,
        2 * span + 3,
        4096,
        4097,
    ];
    sizes.dedup();
    for n in sizes {
        let leaves: Leaves = (0..n)
            .map(|i| vec![u8::try_from(i % 251).unwrap(); i % 70])
            .collect();
        let leaves = Arc::new(leaves);
        let got = backend.merkle_root(Arc::clone(&leaves)).wait().unwrap();
        assert_eq!(got, merkle::root(&leaves), "{n} leaves");
    }
}

#[test]
fn program_binaries_are_cached() {
    let _serial = one_at_a_time();
    let dir = cache_dir(&format!("opencl-cache-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let first = OpenclBackend::open(&options(dir.clone())).unwrap();
    let status = |b: &OpenclBackend| {
        b.devices()
            .into_iter()
            .find_map(|d| d.status.ok())
            .expect("a device in service")
    };
    assert!(status(&first).contains("built"), "{}", status(&first));
    drop(first);
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert!(
        files >= 2,
        "expected both programs cached, found {files} files"
    );
    let second = OpenclBackend::open(&options(dir.clone())).unwrap();
    assert!(
        status(&second).contains("from the cache"),
        "{}",
        status(&second)
    );
    // A cached binary gives the same answers.
    conformance::self_test(&second).unwrap();
    drop(second);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn accelerator_selection_skips_cpu_devices() {
    let _serial = one_at_a_time();
    let found = vigil_opencl::discover().unwrap();
    let opened = OpenclBackend::open(&vigil_opencl::Options {
        select: Select::Accelerators,
        cache_dir: Some(cache_dir("opencl-cache")),
    });
    let accelerators = found.iter().filter(|f| f.summary.kind != "CPU").count();
    match opened {
        Ok(b) => assert_eq!(b.info().devices.len(), accelerators),
        Err(e) => {
            assert_eq!(accelerators, 0, "{e}");
            assert!(e.to_string().contains("no usable OpenCL device"), "{e}");
        }
    }
}

#[test]
fn a_failed_device_refuses_work_and_says_why() {
    let _serial = one_at_a_time();
    // A backend of its own: taking its devices out of service must not affect the
    // shared one the other tests use.
    let backend = OpenclBackend::open(&options(cache_dir("opencl-cache"))).unwrap();
    let batch = generated(8, 0.0, 1..=40, 3);
    let ok = backend
        .verify(Arc::clone(&batch), Profile::Zip215)
        .wait()
        .unwrap();
    assert_eq!(ok, Verdicts::reference(&batch, Profile::Zip215));
    for device in backend.in_service() {
        device.take_out_of_service("test: injected failure");
        let err = device
            .verify(Arc::clone(&batch), Profile::Zip215)
            .wait()
            .unwrap_err();
        assert!(
            matches!(err, vigil_core::BackendError::DeviceFailed { ref reason, .. } if reason.contains("injected")),
            "{err}"
        );
    }
    // No device left: the backend as a whole refuses, and reports each device's reason.
    let err = backend
        .merkle_root(Arc::clone(batch.leaves()))
        .wait()
        .unwrap_err();
    assert!(
        matches!(err, vigil_core::BackendError::DeviceFailed { .. }),
        "{err}"
    );
    assert!(backend
        .devices()
        .iter()
        .any(|d| matches!(&d.status, Err(why) if why.contains("injected"))));
}

/// Every root of the vigil-merkle-v1 known-answer vectors (`testdata/merkle/vectors.json`,
/// checked independently by `testdata/merkle/check.py`), 2^20 + 1 leaves included.
#[test]
fn merkle_known_answer_vectors() {
    let _serial = one_at_a_time();
    let vectors: serde_json::Value =
        serde_json::from_str(conformance::MERKLE_VECTORS_JSON).unwrap();
    let backend = backend();
    let cases = vectors["cases"].as_array().unwrap();
    assert!(cases.len() >= 20);
    for case in cases {
        let set = case["leaf_set"].as_str().unwrap();
        let n = usize::try_from(case["n"].as_u64().unwrap()).unwrap();
        let leaves = conformance::merkle_vector_leaves(set, n).expect("a known leaf set");
        let got = backend.merkle_root(Arc::new(leaves)).wait().unwrap();
        assert_eq!(
            hex::encode(got),
            case["root"].as_str().unwrap(),
            "{set} n={n}"
        );
    }
}
