//! Test support shared by the harness's and the self-test's unit tests: a reference
//! backend that answers asynchronously on its own thread and can be told to go wrong in
//! one chosen way, and small [`Options`] that keep a full run quick.
//!
//! Both the harness tests and the self-test tests need a backend that fails on purpose,
//! so it lives here once rather than in either of them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::Options;
use crate::backend::{Backend, BackendError, BackendInfo, Pending};
use crate::batch::{Batch, Leaves, Verdicts};
use crate::craft::decode;
use crate::profile::{reference_verify, Profile};

/// How a test backend deviates from the reference.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Fault {
    /// None: the reference itself.
    None,
    /// Accepts small-order keys under `strict` when `rfc8032` would.
    StrictSmallOrder,
    /// Flips the verdict of the n-th signature it ever sees.
    FlipOne(usize),
    /// Answers one verdict short.
    DropVerdict,
    /// Gets the root of this many leaves wrong.
    MerkleOf(usize),
    /// Fails every batch with more than 500 transactions.
    FailLarge,
}

/// The reference, answering asynchronously on its own thread, with an optional fault.
pub(super) struct TestBackend {
    fault: Fault,
    seen: Arc<AtomicUsize>,
}

impl TestBackend {
    pub(super) fn new(fault: Fault) -> Self {
        TestBackend {
            fault,
            seen: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl Backend for TestBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            name: "reference-test".into(),
            devices: vec!["this thread".into()],
            preferred_batch: 1,
        }
    }

    fn verify(&self, batch: Arc<Batch>, profile: Profile) -> Pending<Verdicts> {
        let (done, pending) = Pending::channel();
        let (fault, seen) = (self.fault, Arc::clone(&self.seen));
        std::thread::spawn(move || {
            if fault == Fault::FailLarge && batch.len() > 500 {
                done.complete(Err(BackendError::DeviceFailed {
                    device: "test".into(),
                    reason: "injected".into(),
                }));
                return;
            }
            let mut sigs: Vec<bool> = (0..batch.signature_count())
                .map(|s| {
                    let (pk, sig, msg) = batch.signer_item(s);
                    let mut v = reference_verify(profile, pk, sig, msg);
                    let n = seen.fetch_add(1, Ordering::SeqCst);
                    if fault == Fault::FlipOne(n) {
                        v = !v;
                    }
                    if fault == Fault::StrictSmallOrder
                        && profile == Profile::Strict
                        && decode(pk).is_some_and(|p| p.is_small_order())
                    {
                        v = reference_verify(Profile::Rfc8032, pk, sig, msg);
                    }
                    v
                })
                .collect();
            if fault == Fault::DropVerdict {
                sigs.pop();
                done.complete(Ok(Verdicts {
                    transaction_valid: vec![false; batch.len()],
                    signature_valid: sigs,
                }));
                return;
            }
            done.complete(
                Verdicts::from_signatures(&batch, sigs)
                    .ok_or_else(|| BackendError::Internal("verdict count".into())),
            );
        });
        pending
    }

    fn merkle_root(&self, leaves: Arc<Leaves>) -> Pending<[u8; 32]> {
        let mut root = crate::merkle::root(&leaves);
        if self.fault == Fault::MerkleOf(leaves.len()) {
            root[0] ^= 1;
        }
        Pending::ready(Ok(root))
    }
}

/// Options small enough for a whole [`run`](super::run) in a unit test.
pub(super) fn small_opts() -> Options {
    Options {
        generated: 600,
        seed: 7,
        max_batch: 200,
    }
}
