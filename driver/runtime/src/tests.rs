//! The runtime against a device that computes on the CPU (through the oracle) and can
//! be told to fail, so every path of the worker, the pool and the roster runs without
//! a device.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use vigil_core::synth::{self, Format, SynthSpec};
use vigil_core::{Backend, BackendError, BackendInfo, Batch, Leaves, Profile, Verdicts};

use crate::{Device, DeviceQueue, Fault, Pool, Refusal, Roster, StartError};

/// The fake's own error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct FakeError(String);

#[derive(Default)]
struct Fake {
    verdicts: Vec<Vec<u8>>,
    roots: Vec<[u32; 8]>,
    fail_enqueue_after: Option<usize>,
    fail_wait: bool,
    unfit_above: Option<usize>,
    corrupt: bool,
    short: bool,
    no_verify: bool,
    wrong_root: bool,
    fail_check: bool,
    enqueued: usize,
    /// Taken while enqueuing: a test holding it stalls the worker, after `entered`
    /// has said the worker got there.
    gate: Option<(Arc<Mutex<()>>, std::sync::mpsc::Sender<()>)>,
}

impl DeviceQueue for Fake {
    type Done = ();
    type Error = FakeError;

    fn slots(&self) -> usize {
        self.verdicts.len()
    }

    fn verifies(&self) -> bool {
        !self.no_verify
    }

    fn check(&mut self) -> Result<(), String> {
        if self.fail_check {
            return Err("MERKLE_NODES gave the wrong root".into());
        }
        Ok(())
    }

    fn enqueue_verify(
        &mut self,
        slot: usize,
        batch: &Batch,
        profile: Profile,
    ) -> Result<(), Refusal<FakeError>> {
        self.admit(batch.signature_count())?;
        let v = Verdicts::reference(batch, profile);
        self.verdicts[slot] = v.signature_valid.iter().map(|&b| u8::from(b)).collect();
        if self.corrupt {
            self.verdicts[slot][0] = 7;
        }
        if self.short {
            self.verdicts[slot].pop();
        }
        Ok(())
    }

    fn enqueue_merkle(&mut self, slot: usize, leaves: &Leaves) -> Result<(), Refusal<FakeError>> {
        self.admit(leaves.len())?;
        let mut root = vigil_core::merkle::root(leaves);
        if self.wrong_root {
            root[0] ^= 1;
        }
        for (w, c) in self.roots[slot].iter_mut().zip(root.chunks_exact(4)) {
            *w = u32::from_le_bytes(c.try_into().unwrap());
        }
        Ok(())
    }

    fn wait(&mut self, _slot: usize, _done: ()) -> Result<(), FakeError> {
        if self.fail_wait {
            return Err(FakeError("lost the device".into()));
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

    fn admit(&mut self, items: usize) -> Result<(), Refusal<FakeError>> {
        if let Some((gate, entered)) = &self.gate {
            let _ = entered.send(());
            drop(gate.lock());
        }
        if self.unfit_above.is_some_and(|max| items > max) {
            return Err(Refusal::Unfit(format!("{items} items do not fit")));
        }
        self.enqueued += 1;
        if self.fail_enqueue_after.is_some_and(|n| self.enqueued > n) {
            return Err(Refusal::Failed(FakeError("out of memory".into())));
        }
        Ok(())
    }
}

fn info() -> BackendInfo {
    BackendInfo {
        name: "fake".into(),
        devices: vec!["fake device".into()],
        preferred_batch: 16,
    }
}

fn device(fake: Fake) -> Device {
    Device::start(fake, "fake0".into(), info()).unwrap()
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

fn leaves(n: usize) -> Arc<Leaves> {
    Arc::new((0..n).map(|i| vec![7u8; i * 5]).collect())
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
        vigil_core::merkle::root(b.leaves())
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
    assert_eq!(dev.fault(), Some(Fault::Enqueue("out of memory".into())));
    let err = dev.merkle_root(Arc::clone(b.leaves())).wait().unwrap_err();
    assert!(matches!(err, BackendError::DeviceFailed { .. }));
}

#[test]
fn a_failed_wait_and_bad_results_are_device_faults() {
    let mut fake = Fake::new(2);
    fake.fail_wait = true;
    let dev = device(fake);
    let err = dev.verify(batch(3, 2), Profile::Strict).wait().unwrap_err();
    assert!(
        matches!(&err, BackendError::DeviceFailed { reason, .. } if reason.contains("lost the device")),
        "{err}"
    );
    assert!(matches!(dev.fault(), Some(Fault::Wait(_))));

    let mut fake = Fake::new(1);
    fake.corrupt = true;
    let dev = device(fake);
    let err = dev.verify(batch(3, 3), Profile::Strict).wait().unwrap_err();
    assert!(
        matches!(&err, BackendError::DeviceFailed { reason, .. } if reason.contains("0x7")),
        "{err}"
    );
    assert_eq!(dev.fault(), Some(Fault::VerdictByte(7)));

    let mut fake = Fake::new(1);
    fake.short = true;
    let dev = device(fake);
    let b = batch(3, 4);
    let want = b.signature_count();
    assert!(dev.verify(b, Profile::Strict).wait().is_err());
    assert_eq!(
        dev.fault(),
        Some(Fault::VerdictCount {
            got: want - 1,
            want
        })
    );
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
    let err = dev.merkle_root(leaves(11)).wait().unwrap_err();
    assert!(matches!(err, BackendError::Unfit { .. }), "{err}");
    assert_eq!(dev.fault(), None);
    assert_eq!(dev.devices_in_service(), Some(1));
    let small = batch(4, 5);
    assert_eq!(
        dev.verify(Arc::clone(&small), Profile::Rfc8032)
            .wait()
            .unwrap(),
        Verdicts::reference(&small, Profile::Rfc8032)
    );
}

#[test]
fn submission_is_bounded_and_waits_for_room() {
    // The worker stalls on its first enqueue; the queue takes QUEUE_DEPTH more, and a
    // submitter past that waits until the worker moves again.
    let gate = Arc::new(Mutex::new(()));
    let (entered_tx, entered) = std::sync::mpsc::channel();
    let mut fake = Fake::new(1);
    fake.gate = Some((Arc::clone(&gate), entered_tx));
    let dev = Arc::new(device(fake));
    let held = gate.lock().unwrap();
    let b = batch(2, 9);
    let first = dev.verify(Arc::clone(&b), Profile::Strict);
    // The worker has taken the first piece of work and waits on the gate.
    entered.recv().unwrap();
    let queued: Vec<_> = (0..crate::QUEUE_DEPTH)
        .map(|_| dev.verify(Arc::clone(&b), Profile::Strict))
        .collect();
    let (tx, rx) = std::sync::mpsc::channel();
    let submitter = {
        let (dev, b) = (Arc::clone(&dev), Arc::clone(&b));
        std::thread::spawn(move || {
            let p = dev.verify(b, Profile::Strict);
            tx.send(()).unwrap();
            p.wait()
        })
    };
    assert!(
        rx.recv_timeout(std::time::Duration::from_millis(200))
            .is_err(),
        "a submission past the queue's depth returned at once"
    );
    drop(held);
    rx.recv().unwrap();
    let want = Verdicts::reference(&b, Profile::Strict);
    assert_eq!(first.wait().unwrap(), want);
    for p in queued {
        assert_eq!(p.wait().unwrap(), want);
    }
    assert_eq!(submitter.join().unwrap().unwrap(), want);
    assert_eq!(dev.in_flight(), 0);
}

#[test]
fn a_pool_picks_the_least_loaded_and_skips_devices_out_of_service() {
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
    b.take_out_of_service("drained too");
    let err = pool.verify(small, Profile::Strict).wait().unwrap_err();
    assert!(
        matches!(&err, BackendError::DeviceFailed { reason, .. }
            if reason.contains("every fake device") && reason.contains("drained too")),
        "{err}"
    );
    assert_eq!(pool.devices_in_service(), Some(0));
    assert_eq!(pool.info().devices.len(), 2);
}

#[test]
fn a_pool_sends_signatures_only_to_devices_that_verify() {
    let mut roots_only = Fake::new(1);
    roots_only.no_verify = true;
    let m = Arc::new(device(roots_only));
    assert!(!m.verifies());
    let err = m.verify(batch(3, 7), Profile::Strict).wait().unwrap_err();
    assert!(matches!(err, BackendError::Unavailable { .. }), "{err}");
    let pool = Pool::new("fake", 16, vec![Arc::clone(&m)]);
    assert!(!pool.verifies());
    let err = pool
        .verify(batch(3, 7), Profile::Strict)
        .wait()
        .unwrap_err();
    assert!(
        matches!(&err, BackendError::Unavailable { reason, .. } if reason.contains("verifies")),
        "{err}"
    );
    assert_eq!(
        pool.merkle_root(leaves(9)).wait().unwrap(),
        vigil_core::merkle::root(&leaves(9))
    );
    // With a verifying device beside it, signatures go there, however loaded.
    let v = Arc::new(device(Fake::new(1)));
    let pool = Pool::new("fake", 16, vec![m, Arc::clone(&v)]);
    assert!(pool.verifies());
    let b = batch(5, 8);
    for _ in 0..3 {
        assert_eq!(
            pool.verify(Arc::clone(&b), Profile::Zip215).wait().unwrap(),
            Verdicts::reference(&b, Profile::Zip215)
        );
    }
}

#[test]
fn empty_work_needs_no_device() {
    let mut fake = Fake::new(1);
    fake.fail_wait = true;
    let dev = device(fake);
    let empty = Arc::new(vigil_core::BatchBuilder::default().finish());
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
        vigil_core::merkle::empty_root()
    );
    assert_eq!(dev.fault(), None);
}

#[test]
fn the_roster_self_tests_each_device_and_keeps_every_status() {
    let mut roster = Roster::<String>::default();
    roster.refuse("cpu device".into(), "not used: a CPU device".into());
    roster.admit("good".into(), Ok((device(Fake::new(2)), "built".into())));
    let mut corrupt = Fake::new(1);
    corrupt.corrupt = true;
    roster.admit("corrupt".into(), Ok((device(corrupt), "built".into())));
    let mut wrong_root = Fake::new(1);
    wrong_root.no_verify = true;
    wrong_root.wrong_root = true;
    roster.admit(
        "wrong root".into(),
        Ok((device(wrong_root), "built".into())),
    );
    let mut roots_only = Fake::new(1);
    roots_only.no_verify = true;
    roster.admit(
        "roots only".into(),
        Ok((device(roots_only), "built".into())),
    );
    roster.admit("absent".into(), Err("no such device".into()));
    let opened = roster.finish("fake-roster", "fake device", 16).unwrap();
    let status: Vec<(String, Result<String, String>)> = opened
        .devices()
        .into_iter()
        .map(|d| (d.summary, d.status))
        .collect();
    assert_eq!(status.len(), 6);
    assert!(status[0].1.as_ref().unwrap_err().contains("CPU device"));
    assert_eq!(
        status[1].1,
        Ok("self-test passed; built".to_owned()),
        "{status:?}"
    );
    assert!(
        status[2].1.as_ref().unwrap_err().contains("self-test"),
        "{status:?}"
    );
    assert!(
        status[3].1.as_ref().unwrap_err().contains("Merkle root"),
        "{status:?}"
    );
    assert!(status[4].1.is_ok(), "{status:?}");
    assert_eq!(status[5].1, Err("no such device".to_owned()));
    assert_eq!(opened.in_service().len(), 2);
    assert_eq!(opened.pool().devices_in_service(), Some(2));
    // Corrupt, wrong root and absent failed; the CPU device was refused by choice.
    assert!(crate::start_failures().contains(&("fake-roster".to_owned(), 3)));
    // A device taken out of service since says so.
    opened.in_service()[0].take_out_of_service("drained by the operator");
    let after = opened.devices();
    assert_eq!(
        after[1].status,
        Err("taken out of service: drained by the operator".to_owned())
    );
}

#[test]
fn a_roster_with_no_device_passing_is_unavailable_with_each_reason() {
    let mut roster = Roster::<String>::default();
    let mut corrupt = Fake::new(1);
    corrupt.corrupt = true;
    roster.admit("gpu0".into(), Ok((device(corrupt), String::new())));
    roster.admit(
        "gpu1".into(),
        Err("creating a context: out of memory".into()),
    );
    let err = roster.finish("fake", "GPU", 16).unwrap_err().to_string();
    assert!(err.contains("no usable GPU"), "{err}");
    assert!(err.contains("gpu0: failed its self-test"), "{err}");
    assert!(
        err.contains("gpu1: creating a context: out of memory"),
        "{err}"
    );
}

#[test]
fn a_device_that_fails_its_own_check_does_not_start() {
    let mut fake = Fake::new(1);
    fake.fail_check = true;
    let err = Device::start(fake, "card0".into(), info()).unwrap_err();
    assert!(matches!(err, StartError::Check(_)), "{err}");
    assert!(err.to_string().contains("MERKLE_NODES"), "{err}");
}
