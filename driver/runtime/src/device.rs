//! One device in service: a handle, and the worker thread that drives its queue.
//!
//! * [`Device::start`] runs the device's own check ([`DeviceQueue::check`]) and then
//!   its queue on a worker thread. The worker takes a free slot and then work for it
//!   (never work without a place to run it), enqueues it, and waits only for the
//!   oldest slot in flight; while it waits, the other slots' copies and kernels are
//!   already queued, so consecutive batches overlap.
//! * Submission is bounded: at most [`QUEUE_DEPTH`] pieces of work wait for a slot,
//!   and a submitter beyond that waits for room (backpressure) instead of growing a
//!   queue without limit. The daemon keeps at most 64 batches in flight per backend,
//!   so it never waits here.
//! * A batch's host memory is read by the device after `enqueue` returns, so the work
//!   record keeps its `Arc<Batch>` / `Arc<Leaves>` alive until its slot's wait returns.
//! * Any device error while the device holds work takes the device out of service
//!   ([`Fault`]): that work and all later work come back as
//!   [`BackendError::DeviceFailed`], which the daemon's scheduler re-runs on another
//!   backend, so nothing is lost and a broken device is never trusted again. Verdict
//!   bytes other than 0 and 1, and a verdict count unlike the batch's, are faults too.
//!   Work the device cannot take ([`Refusal::Unfit`]) comes back
//!   [`BackendError::Unfit`] and the device stays in service.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use vigil_core::{
    Backend, BackendError, BackendInfo, Batch, Completer, Leaves, Pending, Profile, Verdicts,
};

use crate::fault::Fault;
use crate::queue::{DeviceQueue, Refusal};

/// Work waiting for one device's slots, at most; a submitter beyond it waits for room.
pub const QUEUE_DEPTH: usize = 64;

/// Why a device could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The device's own known-answer check failed.
    #[error("failed its known-answer self-test: {0}")]
    Check(String),
    /// The worker thread could not be spawned.
    #[error("starting the device worker: {0}")]
    Worker(#[from] std::io::Error),
}

/// Work for a device.
enum Work {
    Verify {
        batch: Arc<Batch>,
        profile: Profile,
        done: Completer<Verdicts>,
    },
    Merkle {
        leaves: Arc<Leaves>,
        done: Completer<[u8; 32]>,
    },
}

impl Work {
    fn fail(self, err: BackendError) {
        match self {
            Work::Verify { done, .. } => done.complete(Err(err)),
            Work::Merkle { done, .. } => done.complete(Err(err)),
        }
    }
}

/// State shared by a device's handle and its worker.
#[derive(Debug)]
struct Shared {
    name: String,
    in_flight: AtomicUsize,
    fault: Mutex<Option<Fault>>,
}

impl Shared {
    fn fault(&self) -> Option<Fault> {
        self.fault.lock().ok().and_then(|f| f.clone())
    }

    /// Records the device's first fault (later ones add nothing) and returns the one
    /// that stands.
    fn fail(&self, fault: Fault) -> Fault {
        let Ok(mut f) = self.fault.lock() else {
            return fault;
        };
        if f.is_none() {
            tracing::error!(device = %self.name, reason = %fault, "device taken out of service");
            *f = Some(fault.clone());
        }
        f.clone().unwrap_or(fault)
    }

    fn failed(&self, fault: &Fault) -> BackendError {
        BackendError::DeviceFailed {
            device: self.name.clone(),
            reason: fault.to_string(),
        }
    }
}

/// One device in service: a handle on its worker thread. Dropping it lets the worker
/// finish what it holds and joins it.
pub struct Device {
    info: BackendInfo,
    verifies: bool,
    tx: Mutex<Option<SyncSender<Work>>>,
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("name", &self.shared.name)
            .field("fault", &self.fault())
            .finish_non_exhaustive()
    }
}

impl Device {
    /// Checks `queue` ([`DeviceQueue::check`]) and starts a worker thread driving it.
    /// `name` names the device in errors and logs; `info` is what [`Backend::info`]
    /// reports.
    pub fn start<Q: DeviceQueue>(
        mut queue: Q,
        name: String,
        info: BackendInfo,
    ) -> Result<Device, StartError> {
        queue.check().map_err(StartError::Check)?;
        let verifies = queue.verifies();
        let (tx, rx) = mpsc::sync_channel(QUEUE_DEPTH);
        let shared = Arc::new(Shared {
            name,
            in_flight: AtomicUsize::new(0),
            fault: Mutex::new(None),
        });
        let worker_shared = Arc::clone(&shared);
        let worker = std::thread::Builder::new()
            .name(format!("vigil-{}", info.name))
            .spawn(move || run(queue, &rx, &worker_shared))?;
        Ok(Device {
            info,
            verifies,
            tx: Mutex::new(Some(tx)),
            shared,
            worker: Mutex::new(Some(worker)),
        })
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Why the device was taken out of service, if it was.
    pub fn fault(&self) -> Option<Fault> {
        self.shared.fault()
    }

    /// Takes the device out of service, as a failure would: work it holds and all later
    /// work come back as `DeviceFailed` (for an operator draining a device, and for tests
    /// of the failure path).
    pub fn take_out_of_service(&self, reason: &str) {
        self.shared.fail(Fault::Drained(reason.to_owned()));
    }

    /// Work submitted and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Acquire)
    }

    fn refused<T>(&self, reason: &str) -> Pending<T> {
        Pending::ready(Err(BackendError::DeviceFailed {
            device: self.shared.name.clone(),
            reason: reason.to_owned(),
        }))
    }

    fn submit<T>(&self, make: impl FnOnce(Completer<T>) -> Work) -> Pending<T> {
        if let Some(fault) = self.fault() {
            return Pending::ready(Err(self.shared.failed(&fault)));
        }
        let (done, pending) = Pending::channel();
        let Ok(guard) = self.tx.lock() else {
            return self.refused("device handle poisoned");
        };
        let Some(tx) = guard.as_ref() else {
            return self.refused("device is shut down");
        };
        self.shared.in_flight.fetch_add(1, Ordering::AcqRel);
        // Waits while QUEUE_DEPTH pieces of work are queued (backpressure).
        if tx.send(make(done)).is_err() {
            // The worker is gone; the completer went with the unsent work, so the
            // pending reports the work as dropped.
            self.shared.in_flight.fetch_sub(1, Ordering::AcqRel);
        }
        pending
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        if let Some(worker) = self.worker.lock().ok().and_then(|mut w| w.take()) {
            let _ = worker.join();
        }
    }
}

impl Backend for Device {
    fn info(&self) -> BackendInfo {
        self.info.clone()
    }

    fn verify(&self, batch: Arc<Batch>, profile: Profile) -> Pending<Verdicts> {
        if !self.verifies {
            return Pending::ready(Err(BackendError::Unavailable {
                backend: self.shared.name.clone(),
                reason: "this device does not verify signatures".into(),
            }));
        }
        if batch.signature_count() == 0 {
            // Nothing for the device: every transaction is malformed (or there are none).
            return Pending::ready(Verdicts::from_signatures(&batch, Vec::new()).ok_or_else(
                || BackendError::Internal("a batch without signatures gave no verdicts".into()),
            ));
        }
        self.submit(|done| Work::Verify {
            batch,
            profile,
            done,
        })
    }

    fn merkle_root(&self, leaves: Arc<Leaves>) -> Pending<[u8; 32]> {
        if leaves.is_empty() {
            return Pending::ready(Ok(vigil_core::merkle::empty_root()));
        }
        self.submit(|done| Work::Merkle { leaves, done })
    }

    fn verifies(&self) -> bool {
        self.verifies
    }

    fn devices_in_service(&self) -> Option<usize> {
        Some(usize::from(self.fault().is_none()))
    }
}

struct InFlight<D> {
    slot: usize,
    done: D,
    work: Work,
}

/// The worker loop: runs until every sender is gone and all work is answered.
fn run<Q: DeviceQueue>(mut queue: Q, rx: &Receiver<Work>, shared: &Shared) {
    let mut free: Vec<usize> = (0..queue.slots().max(1)).rev().collect();
    let mut flight: VecDeque<InFlight<Q::Done>> = VecDeque::new();
    // Every piece of work taken is counted out of flight, then answered exactly once:
    // whoever holds an answer never sees its own work still counted.
    let settle = || {
        shared.in_flight.fetch_sub(1, Ordering::AcqRel);
    };
    let mut open = true;
    loop {
        while open {
            // A slot first, then work for it: work is never taken without a place to run.
            let Some(slot) = free.pop() else { break };
            let next = if flight.is_empty() {
                rx.recv().ok()
            } else {
                match rx.try_recv() {
                    Ok(w) => Some(w),
                    Err(TryRecvError::Empty) => {
                        free.push(slot);
                        break;
                    }
                    Err(TryRecvError::Disconnected) => None,
                }
            };
            let Some(work) = next else {
                free.push(slot);
                open = false;
                break;
            };
            if let Some(fault) = shared.fault() {
                free.push(slot);
                settle();
                work.fail(shared.failed(&fault));
                continue;
            }
            let enqueued = match &work {
                Work::Verify { batch, profile, .. } => queue.enqueue_verify(slot, batch, *profile),
                Work::Merkle { leaves, .. } => queue.enqueue_merkle(slot, leaves),
            };
            match enqueued {
                Ok(done) => flight.push_back(InFlight { slot, done, work }),
                Err(refusal) => {
                    free.push(slot);
                    settle();
                    work.fail(match refusal {
                        Refusal::Unfit(reason) => BackendError::Unfit {
                            backend: shared.name.clone(),
                            reason,
                        },
                        Refusal::Failed(e) => {
                            shared.failed(&shared.fail(Fault::Enqueue(e.to_string())))
                        }
                    });
                }
            }
        }
        let Some(InFlight { slot, done, work }) = flight.pop_front() else {
            if open {
                continue;
            }
            return;
        };
        // Why the work cannot be trusted, if it cannot: the wait failed, or the device
        // was taken out of service while the work was in flight.
        let distrust = match queue.wait(slot, done) {
            Ok(()) => shared.fault(),
            Err(e) => Some(shared.fail(Fault::Wait(e.to_string()))),
        };
        settle();
        match distrust {
            None => deliver(&queue, slot, work, shared),
            Some(fault) => work.fail(shared.failed(&fault)),
        }
        free.push(slot);
    }
}

/// Hands completed work's results from its slot to whoever waits for them; results
/// the device cannot have computed right take it out of service instead.
fn deliver<Q: DeviceQueue>(queue: &Q, slot: usize, work: Work, shared: &Shared) {
    match work {
        Work::Verify { batch, done, .. } => {
            let raw = queue.verdicts(slot);
            let fault = if let Some(&bad) = raw.iter().find(|&&v| v > 1) {
                Some(Fault::VerdictByte(bad))
            } else if raw.len() != batch.signature_count() {
                Some(Fault::VerdictCount {
                    got: raw.len(),
                    want: batch.signature_count(),
                })
            } else {
                None
            };
            if let Some(fault) = fault {
                done.complete(Err(shared.failed(&shared.fail(fault))));
                return;
            }
            let valid = raw.iter().map(|&v| v == 1).collect();
            done.complete(Verdicts::from_signatures(&batch, valid).ok_or_else(|| {
                BackendError::Internal("verdict count differs from signature count".into())
            }));
        }
        Work::Merkle { done, .. } => {
            let Some(words) = queue.root(slot) else {
                done.complete(Err(shared.failed(&shared.fail(Fault::RootUnreadable))));
                return;
            };
            let mut root = [0u8; 32];
            for (chunk, word) in root.chunks_exact_mut(4).zip(words) {
                chunk.copy_from_slice(&word.to_le_bytes());
            }
            done.complete(Ok(root));
        }
    }
}
