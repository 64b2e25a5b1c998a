//! The scheduler's tests, through its interface: jobs built from core types
//! (synthetic batches, plain leaves), backends that fail in the ways real ones do. No
//! protobuf message appears here; the wire conversions are tested in
//! `super::super::wire`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use vigil_core::cpu::CpuBackend;
use vigil_core::merkle;
use vigil_core::synth::{Format, SynthSpec};
use vigil_core::{
    Backend, BackendError, BackendInfo, Batch, BatchBuilder, BatchError, Leaves, Pending, Profile,
    Signer, Verdicts,
};

use super::super::admission::ClientKey;
use super::super::metrics::Metrics;
use super::*;

/// An accelerator that fails every batch, as a device that fell off the bus would.
struct Broken;

impl Backend for Broken {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            name: "broken-gpu".into(),
            devices: vec!["test device".into()],
            preferred_batch: 1,
        }
    }
    fn verify(&self, _batch: Arc<Batch>, _profile: Profile) -> Pending<Verdicts> {
        Pending::ready(Err(BackendError::DeviceFailed {
            device: "test device".into(),
            reason: "fell off the bus".into(),
        }))
    }
    fn merkle_root(&self, _leaves: Arc<Leaves>) -> Pending<[u8; 32]> {
        Pending::ready(Err(BackendError::Dropped("gone".into())))
    }
}

fn config() -> SchedulerConfig {
    SchedulerConfig {
        capacity_signatures: 100_000,
        capacity_bytes: 64 << 20,
        max_batch_signatures: 4096,
        coalesce_delay: Duration::from_micros(100),
        small_batch_signatures: 8,
        max_in_flight_batches: 2,
        max_proofs: 4_096,
        max_response_bytes: 16 << 20,
    }
}

/// Transactions held as a batch already built (by [`vigil_core::synth`]), copied into
/// the coalesced batch transaction by transaction: the same leaves, signers and
/// reasons, whichever form they were built in.
struct Synthetic {
    batch: Arc<Batch>,
    solana: bool,
}

impl Transactions for Synthetic {
    fn cost(&self) -> Cost {
        Cost {
            transactions: self.batch.len(),
            signatures: self.batch.signature_count(),
            bytes: self.batch.leaves().arena().len(),
        }
    }

    fn push_into(
        &self,
        builder: &mut BatchBuilder,
        scratch: &mut Vec<Signer>,
    ) -> Result<(), BatchError> {
        let batch = &self.batch;
        for tx in 0..batch.len() {
            let leaf = batch.leaves().get(tx);
            if let Some(reason) = batch.error(tx) {
                builder.push_malformed(reason, leaf)?;
            } else if self.solana {
                builder.push_solana(leaf)?;
            } else {
                scratch.clear();
                scratch.extend(batch.signers_of(tx).map(|s| Signer {
                    pubkey: *batch.pubkey(s),
                    signature: *batch.signature(s),
                }));
                builder.push_generic(batch.message(tx), scratch)?;
            }
        }
        Ok(())
    }
}

/// A synthetic verify job: its id, and its transactions as a batch.
#[derive(Clone)]
struct Request {
    id: u64,
    profile: Profile,
    want_root: bool,
    batch: Arc<Batch>,
    solana: bool,
}

impl Request {
    fn job(&self) -> VerifyJob {
        VerifyJob {
            id: self.id,
            profile: self.profile,
            want_root: self.want_root,
            transactions: Box::new(Synthetic {
                batch: self.batch.clone(),
                solana: self.solana,
            }),
        }
    }
}

fn synthetic(id: u64, count: usize, profile: Profile, format: Format) -> Request {
    let spec = SynthSpec {
        count,
        profile,
        invalid_fraction: 0.25,
        msg_len: 0..=100,
        signers: 1,
        format,
        seed: id,
    };
    Request {
        id,
        profile,
        want_root: false,
        batch: Arc::new(vigil_core::synth::batch(&spec).unwrap()),
        solana: format == Format::Solana,
    }
}

fn request(id: u64, count: usize) -> Request {
    synthetic(id, count, Profile::Strict, Format::Jsonl)
}

fn oracle(req: &Request) -> Vec<bool> {
    Verdicts::reference(&req.batch, req.profile).signature_valid
}

/// Submits every request, then awaits every reply, in order.
async fn submit_all(sched: &Arc<Scheduler>, reqs: &[Request]) -> Vec<Reply> {
    let client: ClientKey = Arc::from("t");
    let receivers: Vec<_> = reqs
        .iter()
        .map(|r| sched.submit(&client, r.job(), None).unwrap())
        .collect();
    let mut replies = Vec::new();
    for rx in receivers {
        replies.push(rx.await.unwrap());
    }
    replies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_device_batch_is_rerun_on_the_cpu_and_nothing_is_lost() {
    let metrics = Arc::new(Metrics::new().unwrap());
    let sched = Scheduler::start(config(), metrics.clone());
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend::new(Some(2)).unwrap());
    sched.set_backends(vec![Arc::new(Broken), cpu]);
    // Several requests large enough to be routed to the accelerator first.
    let reqs: Vec<Request> = (0..4).map(|i| request(i, 40)).collect();
    for (req, reply) in reqs.iter().zip(submit_all(&sched, &reqs).await) {
        let resp = reply.unwrap();
        assert_eq!(resp.backend, "cpu");
        assert_eq!(resp.signature_valid, oracle(req));
    }
    assert!(metrics
        .render()
        .contains("vigil_backend_fallbacks_total{from=\"broken-gpu\",to=\"cpu\"}"));
    let devices = sched.devices();
    let broken = &devices.backends[0];
    assert!(!broken.healthy);
    assert!(broken.health_detail.contains("fell off the bus"));
    assert!(sched.serving());
}

/// Two devices behind one backend: the first batch finds one failing (it leaves
/// service), the other serves everything after (computed by the CPU verifier).
struct OneOfTwoFails {
    cpu: CpuBackend,
    failed_once: std::sync::atomic::AtomicBool,
}

impl Backend for OneOfTwoFails {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            name: "two-cards".into(),
            devices: vec!["card 0".into(), "card 1".into()],
            preferred_batch: 1,
        }
    }
    fn verify(&self, batch: Arc<Batch>, profile: Profile) -> Pending<Verdicts> {
        if self.failed_once.swap(true, Ordering::SeqCst) {
            self.cpu.verify(batch, profile)
        } else {
            Pending::ready(Err(BackendError::DeviceFailed {
                device: "card 0".into(),
                reason: "no response".into(),
            }))
        }
    }
    fn merkle_root(&self, leaves: Arc<Leaves>) -> Pending<[u8; 32]> {
        self.cpu.merkle_root(leaves)
    }
    fn devices_in_service(&self) -> Option<usize> {
        Some(if self.failed_once.load(Ordering::SeqCst) {
            1
        } else {
            2
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_with_devices_left_stays_in_service_after_one_fails() {
    let metrics = Arc::new(Metrics::new().unwrap());
    let sched = Scheduler::start(config(), metrics.clone());
    let cards = Arc::new(OneOfTwoFails {
        cpu: CpuBackend::new(Some(1)).unwrap(),
        failed_once: false.into(),
    });
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend::new(Some(2)).unwrap());
    sched.set_backends(vec![cards, cpu]);
    let first = request(1, 40);
    let reply = submit_all(&sched, std::slice::from_ref(&first)).await;
    let resp = reply.into_iter().next().unwrap().unwrap();
    assert_eq!(resp.backend, "cpu", "the failed batch is re-run on the CPU");
    assert_eq!(resp.signature_valid, oracle(&first));
    // Later batches go to the backend's remaining device.
    let reqs: Vec<Request> = (2..5).map(|i| request(i, 40)).collect();
    for (req, reply) in reqs.iter().zip(submit_all(&sched, &reqs).await) {
        let resp = reply.unwrap();
        assert_eq!(resp.backend, "two-cards");
        assert_eq!(resp.signature_valid, oracle(req));
    }
    let devices = sched.devices();
    assert!(devices.backends[0].healthy);
    let text = metrics.render();
    assert!(
        text.contains("vigil_device_failures_total{backend=\"two-cards\"} 1"),
        "{text}"
    );
    // Broken (no device count) is still taken out at its first failure.
    let sched = Scheduler::start(config(), Arc::new(Metrics::new().unwrap()));
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend::new(Some(2)).unwrap());
    sched.set_backends(vec![Arc::new(Broken), cpu]);
    submit_all(&sched, &[request(9, 40)]).await[0]
        .as_ref()
        .unwrap();
    assert!(!sched.devices().backends[0].healthy);
}

/// An accelerator whose buffers hold 50 signatures: larger batches do not fit it
/// (`Unfit`, as `slots` reports a batch over a device's biggest allocation).
struct SmallGpu {
    cpu: CpuBackend,
}

impl Backend for SmallGpu {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            name: "small-gpu".into(),
            devices: vec!["test device".into()],
            preferred_batch: 1,
        }
    }
    fn verify(&self, batch: Arc<Batch>, profile: Profile) -> Pending<Verdicts> {
        if batch.signature_count() > 50 {
            Pending::ready(Err(BackendError::Unfit {
                backend: "small-gpu".into(),
                reason: "larger than the device's biggest buffer".into(),
            }))
        } else {
            self.cpu.verify(batch, profile)
        }
    }
    fn merkle_root(&self, leaves: Arc<Leaves>) -> Pending<[u8; 32]> {
        self.cpu.merkle_root(leaves)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_does_not_fit_goes_elsewhere_and_the_backend_stays() {
    let metrics = Arc::new(Metrics::new().unwrap());
    let sched = Scheduler::start(config(), metrics.clone());
    let gpu = Arc::new(SmallGpu {
        cpu: CpuBackend::new(Some(1)).unwrap(),
    });
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend::new(Some(2)).unwrap());
    sched.set_backends(vec![gpu, cpu]);
    let big = request(1, 100);
    let resp = submit_all(&sched, std::slice::from_ref(&big)).await;
    let resp = resp.into_iter().next().unwrap().unwrap();
    assert_eq!(resp.backend, "cpu", "the unfit batch is re-run on the CPU");
    assert_eq!(resp.signature_valid, oracle(&big));
    assert!(
        sched.devices().backends[0].healthy,
        "not fitting is not failing"
    );
    // The next batch that fits goes to it again.
    let small = request(2, 20);
    let resp = submit_all(&sched, std::slice::from_ref(&small)).await;
    let resp = resp.into_iter().next().unwrap().unwrap();
    assert_eq!(resp.backend, "small-gpu");
    assert_eq!(resp.signature_valid, oracle(&small));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_backend_failed_requests_get_unavailable() {
    let metrics = Arc::new(Metrics::new().unwrap());
    let sched = Scheduler::start(config(), metrics);
    let client: ClientKey = Arc::from("t");
    // Before any backend is installed: starting.
    let err = sched
        .submit(&client, request(1, 4).job(), None)
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable);
    sched.set_backends(vec![Arc::new(Broken)]);
    let rx = sched.submit(&client, request(2, 40).job(), None).unwrap();
    let err = rx.await.unwrap().unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable);
    assert!(!sched.serving());
    let err = sched
        .submit(&client, request(3, 4).job(), None)
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable);
    // Admission was released: nothing is held by failed work.
    assert_eq!(sched.admission.used(), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_requests_are_coalesced_and_split_back() {
    let metrics = Arc::new(Metrics::new().unwrap());
    let mut cfg = config();
    cfg.coalesce_delay = Duration::from_millis(50);
    let sched = Scheduler::start(cfg, metrics.clone());
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend::new(Some(2)).unwrap());
    sched.set_backends(vec![cpu]);
    let reqs: Vec<Request> = (0..20u64)
        .map(|i| request(i, 1 + (i % 5) as usize))
        .collect();
    for (req, reply) in reqs.iter().zip(submit_all(&sched, &reqs).await) {
        let resp = reply.unwrap();
        assert_eq!(resp.id, req.id);
        assert_eq!(resp.signature_valid, oracle(req));
        assert_eq!(resp.transaction_valid.len(), req.batch.len());
    }
    // 20 requests within one 50 ms window make far fewer than 20 batches.
    let batches = metrics
        .batch_requests
        .with_label_values(&["cpu"])
        .get_sample_count();
    assert!(batches < 10, "{batches} batches for 20 small requests");
    assert_eq!(sched.admission.used(), (0, 0));
}

/// A backend that serves Merkle roots only (as the FPGA card does before its
/// Ed25519 engine); it counts `verify` calls, and can refuse roots as work it cannot
/// take (`Unavailable`), as the card does for a leaf over its limit.
struct MerkleOnly {
    verify_calls: std::sync::atomic::AtomicUsize,
    refuse: bool,
}

impl Backend for MerkleOnly {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            name: "merkle-only".into(),
            devices: vec!["test card".into()],
            preferred_batch: 1,
        }
    }
    fn verify(&self, _batch: Arc<Batch>, _profile: Profile) -> Pending<Verdicts> {
        self.verify_calls.fetch_add(1, Ordering::SeqCst);
        Pending::ready(Err(BackendError::Unavailable {
            backend: "merkle-only".into(),
            reason: "no signature engine".into(),
        }))
    }
    fn merkle_root(&self, leaves: Arc<Leaves>) -> Pending<[u8; 32]> {
        Pending::ready(if self.refuse {
            Err(BackendError::Unavailable {
                backend: "merkle-only".into(),
                reason: "leaf over the card's limit".into(),
            })
        } else {
            Ok(merkle::root(&leaves))
        })
    }
    fn verifies(&self) -> bool {
        false
    }
}

fn merkle_request(n: u8) -> MerkleJob<Vec<u8>> {
    MerkleJob {
        leaves: (0..n).map(|i| vec![i; usize::from(i)]).collect(),
        proof_indices: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_never_go_to_a_backend_that_does_not_verify() {
    let metrics = Arc::new(Metrics::new().unwrap());
    let sched = Scheduler::start(config(), metrics);
    let card = Arc::new(MerkleOnly {
        verify_calls: std::sync::atomic::AtomicUsize::new(0),
        refuse: false,
    });
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend::new(Some(2)).unwrap());
    sched.set_backends(vec![card.clone(), cpu]);
    // Large enough to be routed to an accelerator: they must still go to the CPU.
    let reqs: Vec<Request> = (0..3).map(|i| request(i, 40)).collect();
    for (req, reply) in reqs.iter().zip(submit_all(&sched, &reqs).await) {
        let resp = reply.unwrap();
        assert_eq!(resp.backend, "cpu");
        assert_eq!(resp.signature_valid, oracle(req));
    }
    assert_eq!(card.verify_calls.load(Ordering::SeqCst), 0);
    // Merkle roots do go to it.
    let client: ClientKey = Arc::from("t");
    let req = merkle_request(40);
    let leaves: Leaves = req.leaves.iter().collect();
    let resp = sched.merkle(&client, req).await.unwrap();
    assert_eq!(resp.backend, "merkle-only");
    assert_eq!(resp.root.as_slice(), merkle::root(&leaves).as_slice());
    assert!(sched.devices().backends.iter().all(|b| b.healthy));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_root_the_backend_cannot_take_goes_elsewhere_and_the_backend_stays() {
    let metrics = Arc::new(Metrics::new().unwrap());
    let sched = Scheduler::start(config(), metrics);
    let card = Arc::new(MerkleOnly {
        verify_calls: std::sync::atomic::AtomicUsize::new(0),
        refuse: true,
    });
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend::new(Some(2)).unwrap());
    sched.set_backends(vec![card, cpu]);
    let client: ClientKey = Arc::from("t");
    let req = merkle_request(40);
    let leaves: Leaves = req.leaves.iter().collect();
    let resp = sched.merkle(&client, req).await.unwrap();
    assert_eq!(resp.backend, "cpu");
    assert_eq!(resp.root.as_slice(), merkle::root(&leaves).as_slice());
    let devices = sched.devices();
    assert!(
        devices.backends[0].healthy,
        "refusing work is not a failure"
    );
}

/// Both transaction forms, every profile, a malformed transaction and a root asked
/// for: each job gets exactly its own share of the coalesced batch's verdicts, reasons
/// and leaves, as the reference computes them over its transactions alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_of_core_types_get_their_own_verdicts_reasons_and_roots() {
    let metrics = Arc::new(Metrics::new().unwrap());
    let mut cfg = config();
    cfg.coalesce_delay = Duration::from_millis(20);
    let sched = Scheduler::start(cfg, metrics);
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend::new(Some(2)).unwrap());
    sched.set_backends(vec![cpu]);
    let mut reqs = Vec::new();
    for (i, profile) in (0u64..).zip(Profile::ALL) {
        for format in [Format::Jsonl, Format::Solana] {
            let mut req = synthetic(10 * i + reqs.len() as u64, 6, profile, format);
            req.want_root = reqs.len() % 2 == 0;
            reqs.push(req);
        }
    }
    // A malformed transaction first, then well-formed ones.
    let mut builder = BatchBuilder::default();
    builder
        .push_malformed("a transaction needs at least one signer", &[])
        .unwrap();
    let tail = request(99, 3);
    tail.job()
        .transactions
        .push_into(&mut builder, &mut Vec::new())
        .unwrap();
    reqs.push(Request {
        id: 99,
        want_root: true,
        batch: Arc::new(builder.finish()),
        ..tail
    });
    for (req, reply) in reqs.iter().zip(submit_all(&sched, &reqs).await) {
        let verified = reply.unwrap();
        let want = Verdicts::reference(&req.batch, req.profile);
        assert_eq!(verified.id, req.id);
        assert_eq!(verified.backend, "cpu");
        assert_eq!(verified.transaction_valid, want.transaction_valid);
        assert_eq!(verified.signature_valid, want.signature_valid);
        let reasons: Vec<Option<String>> = (0..req.batch.len())
            .map(|t| req.batch.error(t).map(str::to_owned))
            .collect();
        assert_eq!(verified.reasons, reasons);
        let root = req.want_root.then(|| merkle::root(req.batch.leaves()));
        assert_eq!(verified.merkle_root, root);
    }
    let mixed = reqs.last().unwrap();
    assert_eq!(
        mixed.batch.error(0),
        Some("a transaction needs at least one signer")
    );
    assert_eq!(sched.admission.used(), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_lists_backends_and_every_profiles_queue() {
    let sched = Scheduler::start(config(), Arc::new(Metrics::new().unwrap()));
    let starting = sched.devices();
    assert!(starting.backends.is_empty());
    assert_eq!(starting.queue_capacity_signatures, 100_000);
    let profiles: Vec<Profile> = starting.queues.iter().map(|q| q.profile).collect();
    assert_eq!(profiles, Profile::ALL);
    assert!(starting
        .queues
        .iter()
        .all(|q| (q.requests, q.transactions, q.signatures) == (0, 0, 0)));
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend::new(Some(2)).unwrap());
    sched.set_backends(vec![Arc::new(Broken), cpu]);
    let devices = sched.devices();
    let names: Vec<&str> = devices.backends.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["broken-gpu", "cpu"]);
    assert_eq!(devices.backends[0].devices, ["test device"]);
    assert!(devices
        .backends
        .iter()
        .all(|b| b.healthy && b.health_detail.is_empty() && b.in_flight_batches == 0));
}

/// Proofs come back as plain Rust, the same as the whole tree's; what admission charged
/// for them is held until the answer is dropped (the service drops it once it has made
/// its response).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proofs_are_answered_as_core_types_and_held_until_dropped() {
    let sched = Scheduler::start(config(), Arc::new(Metrics::new().unwrap()));
    let cpu: Arc<dyn Backend> = Arc::new(CpuBackend::new(Some(2)).unwrap());
    sched.set_backends(vec![cpu]);
    let client: ClientKey = Arc::from("t");
    let mut job = merkle_request(21);
    job.proof_indices = vec![20, 0, 7, 7];
    let leaves: Leaves = job.leaves.iter().collect();
    let tree = merkle::MerkleTree::new(&leaves);
    let answer = sched.merkle(&client, job.clone()).await.unwrap();
    assert_eq!(answer.root, tree.root());
    assert_eq!(answer.backend, "cpu");
    let proofs = answer.proofs.as_ref().unwrap();
    assert_eq!(proofs.iter().len(), 4);
    for (proof, index) in proofs.iter().zip(job.proof_indices) {
        let want = tree.proof(usize::try_from(index).unwrap()).unwrap();
        assert_eq!((proof.index, proof.tree_size), (want.index, want.tree_size));
        let path: Vec<Vec<u8>> = proof.hashes().map(|h| h.to_vec()).collect();
        let want_path: Vec<Vec<u8>> = want.path.iter().map(|h| h.to_vec()).collect();
        assert_eq!(path, want_path);
    }
    assert_ne!(sched.admission.used(), (0, 0));
    drop(answer);
    assert_eq!(sched.admission.used(), (0, 0));
    // An index out of range is refused before anything is charged.
    let mut bad = merkle_request(3);
    bad.proof_indices = vec![3];
    let err = sched.merkle(&client, bad).await.unwrap_err();
    assert_eq!(
        err,
        ServeError::InvalidArgument("proof index 3 is out of range for 3 leaves".into())
    );
    assert_eq!(sched.admission.used(), (0, 0));
}
