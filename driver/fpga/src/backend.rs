//! The card behind `vigil_core`'s [`Backend`] contract.
//!
//! One worker thread owns the [`Card`] (a card is one set of streams; requests are
//! pipelined inside each piece of work by the card layer) and takes work from a bounded
//! channel, so a flood of submissions waits for room instead of queueing without limit.
//!
//! * **Trust.** Before the backend reports ready it runs a known-answer self-test: a
//!   small Merkle tree whose leaves cross word boundaries, and a MERKLE_NODES request,
//!   each against `vigil_core::merkle`. A card that fails is not used.
//! * **Failure.** A transport error, a timeout or a malformed or unexpected response
//!   means the card's state is unknown: the backend takes it out of service, that work
//!   and all later work come back as `DeviceFailed`, and the scheduler re-runs it
//!   elsewhere. Work the card cannot take (a leaf longer than MAX_LEAF_BYTES) comes
//!   back `Unavailable` and the card stays in service.
//! * **Signatures.** This card build has no Ed25519 engine yet, so `verify` is refused
//!   with that reason.

use std::path::Path;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use vigil_core::{
    Backend, BackendError, BackendInfo, Batch, Completer, Leaves, Pending, Profile, Verdicts,
};

use crate::card::{Card, CardError, CardInfo, CardOptions};
use crate::sim::SimTransport;
use crate::transport::Transport;
use crate::xdma;

/// Backend name of a real card.
pub const NAME_XDMA: &str = "fpga";
/// Backend name of the simulated card.
pub const NAME_SIM: &str = "fpga-sim";

/// Work waiting for the card at most; submitting more waits for room.
const QUEUE_DEPTH: usize = 64;

enum Job {
    Merkle {
        leaves: Arc<Leaves>,
        done: Completer<[u8; 32]>,
    },
    Sha512K {
        message: Vec<u8>,
        done: Completer<([u8; 64], [u8; 32])>,
    },
}

/// The FPGA card as a [`Backend`].
pub struct FpgaBackend {
    info: BackendInfo,
    card: CardInfo,
    device: String,
    tx: Mutex<Option<SyncSender<Job>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
    failed: Arc<Mutex<Option<String>>>,
}

impl std::fmt::Debug for FpgaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FpgaBackend")
            .field("device", &self.device)
            .field("card", &self.card)
            .finish()
    }
}

fn unavailable(backend: &str, reason: impl Into<String>) -> BackendError {
    BackendError::Unavailable {
        backend: backend.into(),
        reason: reason.into(),
    }
}

impl FpgaBackend {
    /// The first card under `dev_dir` (usually `/dev`) that passes the identity check
    /// and the self-test. `Unavailable`, with every card's reason, if there is none.
    pub fn open_xdma(dev_dir: &Path) -> Result<FpgaBackend, BackendError> {
        let found = xdma::discover(dev_dir, &CardOptions::default())
            .map_err(|e| unavailable(NAME_XDMA, e.to_string()))?;
        let mut reasons = Vec::new();
        for d in found {
            let user = d.paths.user.display().to_string();
            match d.card {
                Ok(card) => match FpgaBackend::from_card(card, NAME_XDMA) {
                    Ok(backend) => return Ok(backend),
                    Err(e) => reasons.push(format!("{user}: {e}")),
                },
                Err(e) => reasons.push(format!("{user}: {e}")),
            }
        }
        if reasons.is_empty() {
            reasons.push(format!(
                "no xdma<N>_user device under {} (is the XDMA driver loaded?)",
                dev_dir.display()
            ));
        }
        Err(unavailable(NAME_XDMA, reasons.join("; ")))
    }

    /// The simulated card whose server listens on `socket`
    /// (see [`crate::sim::default_sim_socket`]).
    pub fn open_sim(socket: &Path) -> Result<FpgaBackend, BackendError> {
        let transport =
            SimTransport::connect(socket).map_err(|e| unavailable(NAME_SIM, e.to_string()))?;
        let card = Card::open(transport).map_err(|e| unavailable(NAME_SIM, e.to_string()))?;
        FpgaBackend::from_card(card, NAME_SIM)
    }

    /// Self-tests an opened card and starts its worker; `name` is the backend's name.
    pub fn from_card<T: Transport + 'static>(
        mut card: Card<T>,
        name: &str,
    ) -> Result<FpgaBackend, BackendError> {
        let device = card.describe();
        self_test(&mut card).map_err(|e| {
            unavailable(
                name,
                format!("{device} failed its known-answer self-test: {e}"),
            )
        })?;
        let info = *card.info();
        let (tx, rx) = mpsc::sync_channel(QUEUE_DEPTH);
        let failed = Arc::new(Mutex::new(None));
        let worker_failed = Arc::clone(&failed);
        let worker_device = device.clone();
        let worker = std::thread::Builder::new()
            .name(format!("vigil-{name}"))
            .spawn(move || run(card, &rx, &worker_failed, &worker_device))
            .map_err(|e| unavailable(name, format!("starting the card worker: {e}")))?;
        tracing::info!(backend = name, %device, card = %info, "FPGA card self-tested and serving");
        Ok(FpgaBackend {
            info: BackendInfo {
                name: name.into(),
                devices: vec![format!("{device}: {info}")],
                preferred_batch: info.max_leaves as usize,
            },
            card: info,
            device,
            tx: Mutex::new(Some(tx)),
            worker: Mutex::new(Some(worker)),
            failed,
        })
    }

    /// What the card reported when it was opened.
    pub fn card_info(&self) -> &CardInfo {
        &self.card
    }

    /// Why the card was taken out of service, if it was.
    pub fn failure(&self) -> Option<String> {
        self.failed.lock().ok().and_then(|f| f.clone())
    }

    /// SHA-512 of `message` and that digest mod L, on the card.
    pub fn sha512_k(&self, message: Vec<u8>) -> Pending<([u8; 64], [u8; 32])> {
        self.submit(|done| Job::Sha512K { message, done })
    }

    fn submit<R>(&self, make: impl FnOnce(Completer<R>) -> Job) -> Pending<R> {
        if let Some(reason) = self.failure() {
            return Pending::ready(Err(self.device_failed(reason)));
        }
        let (done, pending) = Pending::channel();
        let Ok(guard) = self.tx.lock() else {
            return Pending::ready(Err(BackendError::Internal("card handle poisoned".into())));
        };
        if let Some(tx) = guard.as_ref() {
            // Blocks while the queue is full (backpressure). If the worker is gone the
            // job is dropped with its completer, and the pending reports it dropped.
            let _ = tx.send(make(done));
        }
        pending
    }

    fn device_failed(&self, reason: String) -> BackendError {
        BackendError::DeviceFailed {
            device: self.device.clone(),
            reason,
        }
    }
}

impl Drop for FpgaBackend {
    fn drop(&mut self) {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        if let Some(worker) = self.worker.lock().ok().and_then(|mut w| w.take()) {
            let _ = worker.join();
        }
    }
}

impl Backend for FpgaBackend {
    fn info(&self) -> BackendInfo {
        self.info.clone()
    }

    fn verify(&self, _batch: Arc<Batch>, _profile: Profile) -> Pending<Verdicts> {
        Pending::ready(Err(unavailable(
            &self.info.name,
            "signature verification needs the card's Ed25519 engine, which this card build lacks",
        )))
    }

    fn merkle_root(&self, leaves: Arc<Leaves>) -> Pending<[u8; 32]> {
        self.submit(|done| Job::Merkle { leaves, done })
    }

    fn verifies(&self) -> bool {
        false
    }
}

/// The known-answer self-test: results the card must match exactly.
fn self_test<T: Transport>(card: &mut Card<T>) -> Result<(), String> {
    // Five leaves: empty, shorter than a word, exactly a word, across words, longer.
    let lens = [0usize, 3, 8, 13, 100];
    let max = card.info().max_leaf_bytes as usize;
    let leaves: Leaves = lens
        .iter()
        .map(|&len| {
            (0..len.min(max))
                .map(|i| (i * 7 + len).to_le_bytes()[0])
                .collect::<Vec<u8>>()
        })
        .collect();
    let want = vigil_core::merkle::root(&leaves);
    let got = card.merkle_root(&leaves).map_err(|e| e.to_string())?;
    if got != want {
        return Err(format!(
            "Merkle root of {} leaves is {}, expected {}",
            leaves.len(),
            hex(&got),
            hex(&want)
        ));
    }
    let hashes: Vec<[u8; 32]> = leaves
        .iter()
        .take(3)
        .map(vigil_core::merkle::leaf_hash)
        .collect();
    let want = vigil_core::merkle::root(&leaves.iter().take(3).collect());
    let got = card.merkle_nodes(&hashes).map_err(|e| e.to_string())?;
    if got != want {
        return Err(format!(
            "MERKLE_NODES root of 3 nodes is {}, expected {}",
            hex(&got),
            hex(&want)
        ));
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The worker: runs jobs until the backend is dropped.
fn run<T: Transport>(
    mut card: Card<T>,
    rx: &Receiver<Job>,
    failed: &Mutex<Option<String>>,
    device: &str,
) {
    let out_of_service = || failed.lock().ok().and_then(|f| f.clone());
    let map = |e: CardError| -> BackendError {
        if e.is_device_failure() {
            let reason = e.to_string();
            if let Ok(mut f) = failed.lock() {
                if f.is_none() {
                    tracing::error!(%device, %reason, "FPGA card taken out of service");
                    *f = Some(reason.clone());
                }
            }
            BackendError::DeviceFailed {
                device: device.to_owned(),
                reason,
            }
        } else {
            BackendError::Unavailable {
                backend: device.to_owned(),
                reason: e.to_string(),
            }
        }
    };
    let refuse = |reason: String| BackendError::DeviceFailed {
        device: device.to_owned(),
        reason,
    };
    while let Ok(job) = rx.recv() {
        match job {
            Job::Merkle { leaves, done } => done.complete(match out_of_service() {
                Some(reason) => Err(refuse(reason)),
                None => card.merkle_root(&leaves).map_err(map),
            }),
            Job::Sha512K { message, done } => done.complete(match out_of_service() {
                Some(reason) => Err(refuse(reason)),
                None => card.sha512_k(&message).map_err(map),
            }),
        }
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use crate::fake::{FakeCard, Mangle};

    fn backend(fake: FakeCard) -> Result<FpgaBackend, BackendError> {
        FpgaBackend::from_card(Card::open(fake).unwrap(), "fpga-test")
    }

    #[test]
    fn serves_merkle_roots_and_refuses_signatures() {
        let b = backend(FakeCard::new(8, 2048).shuffled(3)).unwrap();
        assert_eq!(b.info().name, "fpga-test");
        assert_eq!(b.info().preferred_batch, 8);
        assert!(b.info().devices[0].contains("fake card"));
        for n in [0usize, 1, 9, 100] {
            let leaves: Leaves = (0..n).map(|i| vec![i as u8; i % 50]).collect();
            let want = vigil_core::merkle::root(&leaves);
            assert_eq!(b.merkle_root(Arc::new(leaves)).wait(), Ok(want), "n = {n}");
        }
        let batch = Arc::new(vigil_core::BatchBuilder::default().finish());
        let err = b.verify(batch, Profile::Strict).wait().unwrap_err();
        assert!(err.to_string().contains("Ed25519 engine"), "{err}");
        // A leaf too long: Unavailable, and the card stays in service.
        let long: Leaves = [vec![0u8; 2049]].into_iter().collect();
        assert!(matches!(
            b.merkle_root(Arc::new(long)).wait(),
            Err(BackendError::Unavailable { .. })
        ));
        assert_eq!(b.failure(), None);
        let (digest, _) = b.sha512_k(b"abc".to_vec()).wait().unwrap();
        assert_eq!(&digest[..4], &[0xdd, 0xaf, 0x35, 0xa1]);
    }

    #[test]
    fn a_failing_card_is_taken_out_of_service() {
        let mut fake = FakeCard::new(8, 2048);
        // Request 0 and 1 are the self-test; request 2 is the first real one.
        fake.mangle = Some((2, Mangle::Swallow));
        let b = backend(fake).unwrap();
        let leaves: Arc<Leaves> = Arc::new([b"x"].into_iter().collect());
        let err = b.merkle_root(Arc::clone(&leaves)).wait().unwrap_err();
        assert!(matches!(err, BackendError::DeviceFailed { .. }), "{err}");
        assert!(b.failure().unwrap().contains("no response"));
        // Later work is refused at once.
        assert!(matches!(
            b.merkle_root(leaves).wait(),
            Err(BackendError::DeviceFailed { .. })
        ));
    }

    #[test]
    fn a_card_that_fails_its_self_test_is_not_used() {
        let mut fake = FakeCard::new(8, 2048);
        fake.mangle = Some((0, Mangle::Status(crate::regs::status::TOO_MANY)));
        let err = backend(fake).unwrap_err();
        assert!(matches!(err, BackendError::Unavailable { .. }));
        assert!(err.to_string().contains("self-test"), "{err}");
        // And a card computing wrong roots.
        for request in [0, 1] {
            let mut fake = FakeCard::new(8, 2048);
            fake.mangle = Some((request, Mangle::FlipBit));
            let err = backend(fake).unwrap_err().to_string();
            assert!(err.contains("expected"), "{err}");
        }
    }

    #[test]
    fn opening_nothing_is_unavailable_with_the_reason() {
        let dir = crate::fake::temp_dir("backend");
        let err = FpgaBackend::open_xdma(&dir).unwrap_err().to_string();
        assert!(err.contains("no xdma<N>_user device"), "{err}");
        let err = FpgaBackend::open_sim(&dir.join("none.sock"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("fpga-sim") && err.contains("card server"),
            "{err}"
        );
    }
}
