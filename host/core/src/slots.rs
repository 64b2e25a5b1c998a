//! Several batches in flight on one device: the worker every device backend shares.
//!
//! A device backend (OpenCL, CUDA) implements [`DeviceQueue`] for one device: it owns
//! a few *slots*, each with its own command queue or stream and its own reusable buffers,
//! and knows how to enqueue a batch into a slot as a chain of asynchronous commands (copy
//! in, kernels, copy out) and how to wait for a slot's last command. Everything else is
//! here, once:
//!
//! * [`Device::start`] runs the queue on a worker thread. The worker takes a free slot
//!   and then work for it (never work without a place to run it), enqueues it, and
//!   waits only for the oldest slot in flight; while it waits, the other slots' copies
//!   and kernels are already queued, so consecutive batches overlap.
//! * A batch's host memory is read by the device after `enqueue` returns, so the work
//!   record keeps its `Arc<Batch>` / `Arc<Leaves>` alive until its slot's wait returns.
//! * Any device error while the device holds work takes the device out of service: that
//!   work and all later work come back as [`BackendError::DeviceFailed`], which the
//!   daemon's scheduler re-runs on another backend, so nothing is lost and a broken
//!   device is never trusted again. Verdict bytes other than 0 and 1 count as a device
//!   error too.
//! * [`Device`] implements [`Backend`]; [`Pool`] puts several devices behind one
//!   backend, sending work to the one with the least in flight.
//! * [`Roster`] is how a backend opens its devices: each started device runs the
//!   known-answer self-test and goes into the pool only if it passes; every device found
//!   keeps its status (in use, or why not, or taken out of service since) for
//!   `vigil devices`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

use crate::backend::{Backend, BackendError, BackendInfo, Completer, Pending};
use crate::batch::{Batch, Leaves, Verdicts};
use crate::profile::Profile;

/// Why work was not enqueued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The work does not fit this device (larger than its biggest buffer, say); the
    /// device is fine and stays in service.
    Unfit(String),
    /// The device failed; it is taken out of service.
    Failed(String),
}

/// One device's asynchronous command machinery, driven by the shared worker.
pub trait DeviceQueue: Send + 'static {
    /// What `enqueue` returns for its slot's last command (an event).
    type Done: Send;

    /// How many slots (batches in flight) the device has.
    fn slots(&self) -> usize;

    /// Enqueues verification of `batch` (at least one signature) into `slot`, without
    /// waiting. The batch stays alive until [`DeviceQueue::wait`] returns for it.
    fn enqueue_verify(
        &mut self,
        slot: usize,
        batch: &Batch,
        profile: Profile,
    ) -> Result<Self::Done, Refusal>;

    /// Enqueues the Merkle root of `leaves` (at least one) into `slot`, without waiting.
    fn enqueue_merkle(&mut self, slot: usize, leaves: &Leaves) -> Result<Self::Done, Refusal>;

    /// Waits until `slot`'s work is complete and its results are in host memory.
    fn wait(&mut self, slot: usize, done: Self::Done) -> Result<(), String>;

    /// The verdict bytes (1 valid, 0 invalid) of `slot`'s completed verification, one
    /// per signature.
    fn verdicts(&self, slot: usize) -> &[u8];

    /// The root of `slot`'s completed Merkle work, as eight little-endian words; `None`
    /// if it cannot be read back (a device failure).
    fn root(&self, slot: usize) -> Option<[u32; 8]>;
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
#[derive(Debug, Default)]
struct Shared {
    in_flight: AtomicUsize,
    failed: Mutex<Option<String>>,
}

impl Shared {
    fn failure(&self) -> Option<String> {
        self.failed.lock().ok().and_then(|f| f.clone())
    }

    fn fail(&self, device: &str, reason: String) {
        if let Ok(mut f) = self.failed.lock() {
            if f.is_none() {
                tracing::error!(%device, %reason, "device taken out of service");
                *f = Some(reason);
            }
        }
    }
}

/// One device in service: a handle on its worker thread. Dropping it lets the worker
/// finish what it holds and joins it.
pub struct Device {
    info: BackendInfo,
    name: String,
    tx: Mutex<Option<mpsc::Sender<Work>>>,
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device").field("name", &self.name).finish()
    }
}

impl Device {
    /// Starts a worker thread driving `queue`. `name` names the device in errors and
    /// logs; `info` is what [`Backend::info`] reports.
    pub fn start<Q: DeviceQueue>(
        queue: Q,
        name: String,
        info: BackendInfo,
    ) -> std::io::Result<Device> {
        let (tx, rx) = mpsc::channel();
        let shared = Arc::new(Shared::default());
        let worker_shared = Arc::clone(&shared);
        let worker_name = name.clone();
        let worker = std::thread::Builder::new()
            .name(format!("vigil-{}", info.name))
            .spawn(move || run(queue, rx, &worker_shared, &worker_name))?;
        Ok(Device {
            info,
            name,
            tx: Mutex::new(Some(tx)),
            shared,
            worker: Mutex::new(Some(worker)),
        })
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Why the device was taken out of service, if it was.
    pub fn failure(&self) -> Option<String> {
        self.shared.failure()
    }

    /// Takes the device out of service, as a failure would: work it holds and all later
    /// work come back as `DeviceFailed` (for an operator draining a device, and for tests
    /// of the failure path).
    pub fn take_out_of_service(&self, reason: &str) {
        self.shared.fail(&self.name, reason.to_owned());
    }

    /// Work submitted and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Acquire)
    }

    fn failed<T>(&self, reason: String) -> Pending<T> {
        Pending::ready(Err(BackendError::DeviceFailed {
            device: self.name.clone(),
            reason,
        }))
    }

    fn submit<T>(&self, make: impl FnOnce(Completer<T>) -> Work) -> Pending<T> {
        if let Some(reason) = self.failure() {
            return self.failed(reason);
        }
        let (done, pending) = Pending::channel();
        let Ok(guard) = self.tx.lock() else {
            return self.failed("device handle poisoned".into());
        };
        let Some(tx) = guard.as_ref() else {
            return self.failed("device is shut down".into());
        };
        self.shared.in_flight.fetch_add(1, Ordering::AcqRel);
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
        if batch.signature_count() == 0 {
            return Pending::ready(shape(&batch, Vec::new()));
        }
        self.submit(|done| Work::Verify {
            batch,
            profile,
            done,
        })
    }

    fn merkle_root(&self, leaves: Arc<Leaves>) -> Pending<[u8; 32]> {
        if leaves.is_empty() {
            return Pending::ready(Ok(crate::merkle::empty_root()));
        }
        self.submit(|done| Work::Merkle { leaves, done })
    }
}

fn shape(batch: &Batch, valid: Vec<bool>) -> Result<Verdicts, BackendError> {
    Verdicts::from_signatures(batch, valid)
        .ok_or_else(|| BackendError::Internal("verdict count differs from signature count".into()))
}

struct InFlight<D> {
    slot: usize,
    done: D,
    work: Work,
}

/// The worker loop: runs until every sender is gone and all work is answered.
fn run<Q: DeviceQueue>(mut queue: Q, rx: mpsc::Receiver<Work>, shared: &Shared, name: &str) {
    let mut free: Vec<usize> = (0..queue.slots().max(1)).rev().collect();
    let mut flight: VecDeque<InFlight<Q::Done>> = VecDeque::new();
    let failed = |reason: &str| BackendError::DeviceFailed {
        device: name.to_owned(),
        reason: reason.to_owned(),
    };
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
                    Err(mpsc::TryRecvError::Empty) => {
                        free.push(slot);
                        break;
                    }
                    Err(mpsc::TryRecvError::Disconnected) => None,
                }
            };
            let Some(work) = next else {
                free.push(slot);
                open = false;
                break;
            };
            if let Some(reason) = shared.failure() {
                free.push(slot);
                settle();
                work.fail(failed(&reason));
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
                        Refusal::Unfit(why) => BackendError::Unfit {
                            backend: name.to_string(),
                            reason: why,
                        },
                        Refusal::Failed(why) => {
                            let reason = format!("enqueue failed: {why}");
                            shared.fail(name, reason.clone());
                            failed(&reason)
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
            Ok(()) => shared.failure(),
            Err(e) => {
                let reason = format!("batch did not complete: {e}");
                shared.fail(name, reason.clone());
                Some(reason)
            }
        };
        settle();
        match distrust {
            None => deliver(&queue, slot, work, shared, name),
            Some(reason) => work.fail(failed(&reason)),
        }
        free.push(slot);
    }
}

/// Hands completed work's results from its slot to whoever waits for them.
fn deliver<Q: DeviceQueue>(queue: &Q, slot: usize, work: Work, shared: &Shared, name: &str) {
    match work {
        Work::Verify { batch, done, .. } => {
            let raw = queue.verdicts(slot);
            if let Some(bad) = raw.iter().find(|&&v| v > 1) {
                let reason = format!("verify kernel wrote verdict byte {bad:#x}");
                shared.fail(name, reason.clone());
                done.complete(Err(BackendError::DeviceFailed {
                    device: name.to_owned(),
                    reason,
                }));
                return;
            }
            done.complete(shape(&batch, raw.iter().map(|&v| v == 1).collect()));
        }
        Work::Merkle { done, .. } => {
            let Some(words) = queue.root(slot) else {
                let reason = "the root could not be read back".to_owned();
                shared.fail(name, reason.clone());
                done.complete(Err(BackendError::DeviceFailed {
                    device: name.to_owned(),
                    reason,
                }));
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

/// A device a backend found, and whether it is in use or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceStatus<S> {
    /// What it is.
    pub summary: S,
    /// `Ok(note)` if in service, `Err(why not)` otherwise.
    pub status: Result<String, String>,
}

/// Every device a backend found and what became of it, built while the backend opens
/// its devices; [`Roster::finish`] turns it into the [`Pool`] of those in service.
#[derive(Debug)]
pub struct Roster<S> {
    /// Each device found, with its place in `devices` if it went into service.
    found: Vec<(DeviceStatus<S>, Option<usize>)>,
    devices: Vec<Arc<Device>>,
}

impl<S> Default for Roster<S> {
    fn default() -> Self {
        Roster {
            found: Vec::new(),
            devices: Vec::new(),
        }
    }
}

impl<S: Clone + std::fmt::Display> Roster<S> {
    /// Records a device that is not put in service, and why (a choice, such as a device
    /// kind the backend does not use, or a device that could not start).
    pub fn refuse(&mut self, summary: S, why: String) {
        tracing::debug!(device = %summary, %why, "device not used");
        self.found.push((
            DeviceStatus {
                summary,
                status: Err(why),
            },
            None,
        ));
    }

    /// Takes a device whose start was attempted: `started` is the running device and a
    /// note on how it started, or why it could not. A started device runs the
    /// known-answer self-test and is put in service only if it passes.
    pub fn admit(&mut self, summary: S, started: Result<(Device, String), String>) {
        let tested = started.and_then(|(device, note)| {
            crate::conformance::self_test(&device)
                .map(|()| (device, format!("self-test passed; {note}")))
                .map_err(|e| format!("failed its self-test: {e}"))
        });
        match tested {
            Ok((device, note)) => {
                tracing::info!(device = %summary, %note, "device in service");
                self.found.push((
                    DeviceStatus {
                        summary,
                        status: Ok(note),
                    },
                    Some(self.devices.len()),
                ));
                self.devices.push(Arc::new(device));
            }
            Err(why) => {
                tracing::warn!(device = %summary, %why, "device not used");
                self.refuse(summary, why);
            }
        }
    }

    /// The devices in service as one [`Pool`] named `backend`, with the roster kept for
    /// [`Opened::devices`]; `Unavailable` naming every device's reason if none passed.
    /// `kind` names a device in that message (`OpenCL device`, `GPU`).
    pub fn finish(
        self,
        backend: &str,
        kind: &str,
        preferred_batch: usize,
    ) -> Result<Opened<S>, BackendError> {
        if self.devices.is_empty() {
            let why: Vec<String> = self
                .found
                .iter()
                .map(|(d, _)| {
                    let reason = d.status.as_ref().err().map_or("", String::as_str);
                    format!("{}: {reason}", d.summary)
                })
                .collect();
            return Err(BackendError::Unavailable {
                backend: backend.to_owned(),
                reason: format!("no usable {kind} ({})", why.join("; ")),
            });
        }
        Ok(Opened {
            pool: Pool::new(backend, preferred_batch, self.devices),
            found: self.found,
        })
    }
}

/// A backend's devices once opened: the [`Pool`] of those in service and the status
/// of every device found.
#[derive(Debug)]
pub struct Opened<S> {
    pool: Pool,
    found: Vec<(DeviceStatus<S>, Option<usize>)>,
}

impl<S: Clone> Opened<S> {
    /// Every device found, with whether it is in service and why not (a device taken
    /// out of service since opening says so).
    pub fn devices(&self) -> Vec<DeviceStatus<S>> {
        self.found
            .iter()
            .map(|(d, index)| {
                let taken_out = index
                    .and_then(|i| self.pool.devices().get(i))
                    .and_then(|dev| dev.failure());
                match taken_out {
                    Some(why) => DeviceStatus {
                        summary: d.summary.clone(),
                        status: Err(format!("taken out of service: {why}")),
                    },
                    None => d.clone(),
                }
            })
            .collect()
    }

    /// The devices in service (or taken out of service since opening).
    pub fn in_service(&self) -> &[Arc<Device>] {
        self.pool.devices()
    }

    /// The pool of devices in service: the backend itself.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }
}

/// Several devices of one family behind one [`Backend`].
#[derive(Debug)]
pub struct Pool {
    name: String,
    preferred_batch: usize,
    devices: Vec<Arc<Device>>,
}

impl Pool {
    /// A pool named `name` (the backend's command-line name).
    pub fn new(name: &str, preferred_batch: usize, devices: Vec<Arc<Device>>) -> Pool {
        Pool {
            name: name.to_owned(),
            preferred_batch,
            devices,
        }
    }

    /// The devices, in or out of service.
    pub fn devices(&self) -> &[Arc<Device>] {
        &self.devices
    }

    /// The device with the least work in flight, among those still in service.
    fn pick(&self) -> Option<&Arc<Device>> {
        self.devices
            .iter()
            .filter(|d| d.failure().is_none())
            .min_by_key(|d| d.in_flight())
    }

    fn none_left<T>(&self) -> Pending<T> {
        Pending::ready(Err(BackendError::DeviceFailed {
            device: self.name.clone(),
            reason: format!("every {} device has been taken out of service", self.name),
        }))
    }
}

impl Backend for Pool {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            name: self.name.clone(),
            devices: self.devices.iter().flat_map(|d| d.info().devices).collect(),
            preferred_batch: self.preferred_batch,
        }
    }

    fn verify(&self, batch: Arc<Batch>, profile: Profile) -> Pending<Verdicts> {
        match self.pick() {
            Some(d) => d.verify(batch, profile),
            None => self.none_left(),
        }
    }

    fn merkle_root(&self, leaves: Arc<Leaves>) -> Pending<[u8; 32]> {
        match self.pick() {
            Some(d) => d.merkle_root(leaves),
            None => self.none_left(),
        }
    }

    fn devices_in_service(&self) -> Option<usize> {
        Some(
            self.devices
                .iter()
                .filter(|d| d.failure().is_none())
                .count(),
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    //! The worker against a queue that computes on the CPU (through the oracle) and can
    //! be told to fail, so every path of the loop runs without a device.

    use super::*;
    use crate::synth::{self, Format, SynthSpec};

    #[derive(Default)]
    struct Fake {
        verdicts: Vec<Vec<u8>>,
        roots: Vec<[u32; 8]>,
        fail_enqueue_after: Option<usize>,
        fail_wait: bool,
        unfit_above: Option<usize>,
        corrupt: bool,
        enqueued: usize,
    }

    impl DeviceQueue for Fake {
        type Done = ();
        fn slots(&self) -> usize {
            self.verdicts.len()
        }
        fn enqueue_verify(
            &mut self,
            slot: usize,
            batch: &Batch,
            profile: Profile,
        ) -> Result<(), Refusal> {
            self.check(batch.signature_count())?;
            let v = Verdicts::reference(batch, profile);
            self.verdicts[slot] = v.signature_valid.iter().map(|&b| u8::from(b)).collect();
            if self.corrupt {
                self.verdicts[slot][0] = 7;
            }
            Ok(())
        }
        fn enqueue_merkle(&mut self, slot: usize, leaves: &Leaves) -> Result<(), Refusal> {
            self.check(leaves.len())?;
            let root = crate::merkle::root(leaves);
            for (w, c) in self.roots[slot].iter_mut().zip(root.chunks_exact(4)) {
                *w = u32::from_le_bytes(c.try_into().unwrap());
            }
            Ok(())
        }
        fn wait(&mut self, _slot: usize, _done: ()) -> Result<(), String> {
            if self.fail_wait {
                return Err("lost the device".into());
            }
            Ok(())
        }
        fn verdicts(&self, slot: usize) -> &[u8] {
            &self.verdicts[slot]
        }
        fn root(&self, slot: usize) -> Option<[u32; 8]> {
            Some(self.roots[slot])
        }
    }

    impl Fake {
        fn new(slots: usize) -> Fake {
            Fake {
                verdicts: vec![Vec::new(); slots],
                roots: vec![[0; 8]; slots],
                ..Fake::default()
            }
        }
        fn check(&mut self, items: usize) -> Result<(), Refusal> {
            if self.unfit_above.is_some_and(|max| items > max) {
                return Err(Refusal::Unfit(format!("{items} items do not fit")));
            }
            self.enqueued += 1;
            if self.fail_enqueue_after.is_some_and(|n| self.enqueued > n) {
                return Err(Refusal::Failed("out of memory".into()));
            }
            Ok(())
        }
    }

    fn device(fake: Fake) -> Device {
        let info = BackendInfo {
            name: "fake".into(),
            devices: vec!["fake device".into()],
            preferred_batch: 16,
        };
        Device::start(fake, "fake0".into(), info).unwrap()
    }

    fn batch(count: usize, seed: u64) -> Arc<Batch> {
        let spec = SynthSpec {
            count,
            profile: Profile::Strict,
            invalid_fraction: 0.3,
            msg_len: 0..=50,
            signers: 2,
            format: Format::Jsonl,
            seed,
        };
        Arc::new(synth::batch(&spec).unwrap())
    }

    #[test]
    fn many_batches_in_flight_come_back_right() {
        let dev = device(Fake::new(3));
        let batches: Vec<Arc<Batch>> = (0..12).map(|i| batch(20 + i, i as u64)).collect();
        let pending: Vec<_> = batches
            .iter()
            .map(|b| dev.verify(Arc::clone(b), Profile::Zip215))
            .collect();
        for (b, p) in batches.iter().zip(pending) {
            assert_eq!(p.wait().unwrap(), Verdicts::reference(b, Profile::Zip215));
        }
        let b = &batches[0];
        assert_eq!(
            dev.merkle_root(Arc::clone(b.leaves())).wait().unwrap(),
            crate::merkle::root(b.leaves())
        );
        assert_eq!(dev.in_flight(), 0);
    }

    #[test]
    fn a_failed_enqueue_takes_the_device_out_and_fails_later_work() {
        let mut fake = Fake::new(2);
        fake.fail_enqueue_after = Some(1);
        let dev = device(fake);
        let b = batch(5, 1);
        assert!(dev.verify(Arc::clone(&b), Profile::Strict).wait().is_ok());
        let err = dev
            .verify(Arc::clone(&b), Profile::Strict)
            .wait()
            .unwrap_err();
        assert!(
            matches!(&err, BackendError::DeviceFailed { reason, .. } if reason.contains("out of memory")),
            "{err}"
        );
        assert!(dev.failure().is_some());
        let err = dev.merkle_root(Arc::clone(b.leaves())).wait().unwrap_err();
        assert!(matches!(err, BackendError::DeviceFailed { .. }));
    }

    #[test]
    fn a_failed_wait_and_bad_verdict_bytes_are_device_failures() {
        let mut fake = Fake::new(2);
        fake.fail_wait = true;
        let dev = device(fake);
        let err = dev.verify(batch(3, 2), Profile::Strict).wait().unwrap_err();
        assert!(
            matches!(&err, BackendError::DeviceFailed { reason, .. } if reason.contains("lost the device")),
            "{err}"
        );

        let mut fake = Fake::new(1);
        fake.corrupt = true;
        let dev = device(fake);
        let err = dev.verify(batch(3, 3), Profile::Strict).wait().unwrap_err();
        assert!(
            matches!(&err, BackendError::DeviceFailed { reason, .. } if reason.contains("0x7")),
            "{err}"
        );
        assert!(dev.failure().is_some());
    }

    #[test]
    fn unfit_work_is_refused_but_the_device_stays() {
        let mut fake = Fake::new(2);
        fake.unfit_above = Some(10);
        let dev = device(fake);
        let err = dev
            .verify(batch(50, 4), Profile::Strict)
            .wait()
            .unwrap_err();
        assert!(matches!(err, BackendError::Unfit { .. }), "{err}");
        assert!(dev.failure().is_none());
        let small = batch(4, 5);
        assert_eq!(
            dev.verify(Arc::clone(&small), Profile::Rfc8032)
                .wait()
                .unwrap(),
            Verdicts::reference(&small, Profile::Rfc8032)
        );
    }

    #[test]
    fn a_pool_skips_devices_out_of_service() {
        let a = Arc::new(device(Fake::new(1)));
        let b = Arc::new(device(Fake::new(1)));
        let pool = Pool::new("fake", 16, vec![Arc::clone(&a), Arc::clone(&b)]);
        assert_eq!(pool.devices_in_service(), Some(2));
        a.take_out_of_service("drained");
        assert_eq!(pool.devices_in_service(), Some(1));
        let small = batch(6, 6);
        for _ in 0..4 {
            assert!(pool
                .verify(Arc::clone(&small), Profile::Strict)
                .wait()
                .is_ok());
        }
        b.take_out_of_service("drained");
        let err = pool.verify(small, Profile::Strict).wait().unwrap_err();
        assert!(matches!(err, BackendError::DeviceFailed { .. }), "{err}");
        assert_eq!(pool.devices_in_service(), Some(0));
        assert_eq!(pool.info().devices.len(), 2);
    }

    #[test]
    fn empty_work_needs_no_device() {
        let mut fake = Fake::new(1);
        fake.fail_wait = true;
        let dev = device(fake);
        let empty = Arc::new(crate::BatchBuilder::default().finish());
        assert_eq!(
            dev.verify(empty, Profile::Strict)
                .wait()
                .unwrap()
                .signature_valid
                .len(),
            0
        );
        assert_eq!(
            dev.merkle_root(Arc::new(Leaves::default())).wait().unwrap(),
            crate::merkle::empty_root()
        );
    }
}
