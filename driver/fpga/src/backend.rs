//! The machine's cards behind `vigil_core`'s [`Backend`] contract.
//!
//! One worker thread owns each [`Card`] (a card is one set of streams; requests are
//! pipelined inside each piece of work by the card layer) and takes work from its own
//! bounded channel, so a flood of submissions waits for room instead of queueing without
//! limit. A machine with several cards serves them as one backend: each piece of work
//! goes to the card in service with the least queued.
//!
//! * **Trust.** Before the backend reports ready it runs a known-answer self-test: a
//!   small Merkle tree whose leaves cross word boundaries, and a MERKLE_NODES request,
//!   each against `vigil_core::merkle`; and, on a card with CAPS.VERIFY, three VERIFY
//!   requests under each of the three profiles (a valid signature over a message that
//!   crosses word boundaries, the same signature with a bit of S flipped, and the
//!   small-order key and R with S = 0, which only `strict` rejects, so a card that
//!   ignored or confused the profile code fails), each against
//!   `vigil_core::reference_verify`. A card that fails is not used.
//! * **Failure.** A transport error, a timeout or a malformed or unexpected response
//!   means the card's state is unknown: the card leaves service, that work comes back
//!   as `DeviceFailed` and the scheduler re-runs it elsewhere. The other cards serve on
//!   ([`Backend::devices_in_service`] tells the scheduler so); once none is left, all
//!   work comes back `DeviceFailed`. Work the card cannot take (a leaf longer than MAX_LEAF_BYTES, a signed
//!   message longer than MAX_MESSAGE_BYTES − 64) comes back `Unavailable`, so the
//!   scheduler sends it to another backend, and the card stays in service.
//! * **Signatures.** A card with CAPS.VERIFY verifies every signature of a batch itself,
//!   one VERIFY request per signature, pipelined by the card layer up to its
//!   engines × contexts (see [`crate::card`]). The card knows signatures, not
//!   transactions: the transaction verdicts, multi-signer transactions included, are
//!   combined on the host by `Verdicts::from_signatures` (parsed, has signers, every
//!   signature valid), exactly as every other backend does, and malformed transactions
//!   have no signatures to send. A card without the engine answers [`Backend::verifies`]
//!   `false` and refuses `verify` as `Unavailable`, so schedulers send it none.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use vigil_core::{
    reference_verify, Backend, BackendError, BackendInfo, Batch, Completer, Leaves, Pending,
    Profile, Verdicts,
};

use crate::card::{Card, CardError, CardInfo, CardOptions, VerifyItem};
use crate::sim::SimTransport;
use crate::transport::Transport;
use crate::xdma;

/// Backend name of a real card.
pub const NAME_XDMA: &str = "fpga";
/// Backend name of the simulated card.
pub const NAME_SIM: &str = "fpga-sim";

/// Work waiting for one card at most; submitting more waits for room.
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
    Verify {
        batch: Arc<Batch>,
        profile: Profile,
        done: Completer<Verdicts>,
    },
}

/// One card in service: the worker thread that owns it and the work queued for it.
struct CardWorker {
    device: String,
    info: CardInfo,
    tx: Mutex<Option<SyncSender<Job>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
    failed: Arc<Mutex<Option<String>>>,
    /// Jobs sent to this card and not yet answered.
    queued: Arc<AtomicUsize>,
}

impl CardWorker {
    /// Self-tests an opened card and starts its worker; `Err` says why it is not used.
    fn start<T: Transport + 'static>(mut card: Card<T>, name: &str) -> Result<Self, String> {
        let device = card.describe();
        self_test(&mut card)
            .map_err(|e| format!("{device} failed its known-answer self-test: {e}"))?;
        let info = *card.info();
        let (tx, rx) = mpsc::sync_channel(QUEUE_DEPTH);
        let failed = Arc::new(Mutex::new(None));
        let queued = Arc::new(AtomicUsize::new(0));
        let worker = {
            let (failed, queued, dev) = (Arc::clone(&failed), Arc::clone(&queued), device.clone());
            std::thread::Builder::new()
                .name(format!("vigil-{name}"))
                .spawn(move || run(card, &rx, &failed, &queued, &dev))
                .map_err(|e| format!("starting the worker of {device}: {e}"))?
        };
        tracing::info!(backend = name, %device, card = %info, "FPGA card self-tested and serving");
        Ok(CardWorker {
            device,
            info,
            tx: Mutex::new(Some(tx)),
            worker: Mutex::new(Some(worker)),
            failed,
            queued,
        })
    }

    fn failure(&self) -> Option<String> {
        self.failed.lock().ok().and_then(|f| f.clone())
    }

    fn submit(&self, job: Job) {
        let Ok(guard) = self.tx.lock() else {
            return; // poisoned: the job is dropped with its completer, reported dropped
        };
        if let Some(tx) = guard.as_ref() {
            self.queued.fetch_add(1, Ordering::AcqRel);
            // Blocks while the queue is full (backpressure). If the worker is gone the
            // job is dropped with its completer, and the pending reports it dropped.
            if tx.send(job).is_err() {
                self.queued.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }
}

impl Drop for CardWorker {
    fn drop(&mut self) {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        if let Some(worker) = self.worker.lock().ok().and_then(|mut w| w.take()) {
            let _ = worker.join();
        }
    }
}

/// The FPGA cards of a machine as one [`Backend`]: every card that passed its identity
/// check and self-test, each with its own worker; work goes to the card in service with
/// the least queued. A card that fails leaves service alone: the backend serves on with
/// the others ([`Backend::devices_in_service`]) and fails only when none is left.
pub struct FpgaBackend {
    info: BackendInfo,
    cards: Vec<CardWorker>,
    /// Every card found: what it is, in service (`Ok`, with its identity) or why not,
    /// and its place in `cards`.
    found: Vec<(String, Result<String, String>, Option<usize>)>,
}

impl std::fmt::Debug for FpgaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FpgaBackend")
            .field("name", &self.info.name)
            .field("cards", &self.card_statuses())
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
    /// Every card under `dev_dir` (usually `/dev`) that passes the identity check and
    /// the self-test. `Unavailable`, with every card's reason, if there is none.
    pub fn open_xdma(dev_dir: &Path) -> Result<FpgaBackend, BackendError> {
        let found = xdma::discover(dev_dir, &CardOptions::default())
            .map_err(|e| unavailable(NAME_XDMA, e.to_string()))?;
        if found.is_empty() {
            return Err(unavailable(
                NAME_XDMA,
                format!(
                    "no xdma<N>_user device under {} (is the XDMA driver loaded?)",
                    dev_dir.display()
                ),
            ));
        }
        let cards = found
            .into_iter()
            .map(|d| {
                (
                    d.paths.user.display().to_string(),
                    d.card.map_err(|e| e.to_string()),
                )
            })
            .collect();
        Self::assemble(NAME_XDMA, cards)
    }

    /// The simulated card whose server listens on `socket`
    /// (see [`crate::sim::default_sim_socket`]).
    pub fn open_sim(socket: &Path) -> Result<FpgaBackend, BackendError> {
        let transport =
            SimTransport::connect(socket).map_err(|e| unavailable(NAME_SIM, e.to_string()))?;
        let card = Card::open(transport).map_err(|e| unavailable(NAME_SIM, e.to_string()))?;
        FpgaBackend::from_card(card, NAME_SIM)
    }

    /// Self-tests an opened card and serves it; `name` is the backend's name.
    pub fn from_card<T: Transport + 'static>(
        card: Card<T>,
        name: &str,
    ) -> Result<FpgaBackend, BackendError> {
        Self::from_cards(vec![card], name)
    }

    /// Self-tests opened cards and serves those that pass as one backend named `name`.
    pub fn from_cards<T: Transport + 'static>(
        cards: Vec<Card<T>>,
        name: &str,
    ) -> Result<FpgaBackend, BackendError> {
        let cards = cards.into_iter().map(|c| (c.describe(), Ok(c))).collect();
        Self::assemble(name, cards)
    }

    /// The backend over every card of `found` (what it is, opened or why not) that
    /// passes its self-test.
    fn assemble<T: Transport + 'static>(
        name: &str,
        found: Vec<(String, Result<Card<T>, String>)>,
    ) -> Result<FpgaBackend, BackendError> {
        let mut cards = Vec::new();
        let mut statuses = Vec::new();
        for (what, card) in found {
            match card.and_then(|card| CardWorker::start(card, name)) {
                Ok(worker) => {
                    statuses.push((what, Ok(worker.info.to_string()), Some(cards.len())));
                    cards.push(worker);
                }
                Err(why) => {
                    tracing::warn!(backend = name, card = %what, %why, "FPGA card not used");
                    statuses.push((what, Err(why), None));
                }
            }
        }
        if cards.is_empty() {
            let why: Vec<String> = statuses
                .iter()
                .map(|(what, status, _)| match status {
                    Err(why) if why.contains(what.as_str()) => why.clone(),
                    Err(why) => format!("{what}: {why}"),
                    Ok(_) => String::new(),
                })
                .collect();
            return Err(unavailable(name, why.join("; ")));
        }
        let info = BackendInfo {
            name: name.into(),
            devices: cards
                .iter()
                .map(|c| format!("{}: {}", c.device, c.info))
                .collect(),
            // Merkle requests take MAX_LEAVES leaves; signatures fill a card at
            // engines x contexts.
            preferred_batch: cards
                .iter()
                .map(|c| (c.info.max_leaves as usize).max(c.info.verify_slots()))
                .max()
                .unwrap_or(1),
        };
        Ok(FpgaBackend {
            info,
            cards,
            found: statuses,
        })
    }

    /// What the first card in service reported when it was opened.
    pub fn card_info(&self) -> &CardInfo {
        // `assemble` never builds a backend without a card.
        &self.cards[0].info
    }

    /// Every card found: what it is, and its identity if in service or why it is not
    /// (failed identity check or self-test, or taken out of service since).
    pub fn card_statuses(&self) -> Vec<(String, Result<String, String>)> {
        self.found
            .iter()
            .map(|(what, status, index)| {
                let taken_out = index
                    .and_then(|i| self.cards.get(i))
                    .and_then(CardWorker::failure);
                match taken_out {
                    Some(why) => (what.clone(), Err(format!("taken out of service: {why}"))),
                    None => (what.clone(), status.clone()),
                }
            })
            .collect()
    }

    /// Why the backend is out of service: every card has been taken out (their reasons),
    /// or `None` while one serves.
    pub fn failure(&self) -> Option<String> {
        let reasons: Option<Vec<String>> = self.cards.iter().map(CardWorker::failure).collect();
        reasons.map(|r| r.join("; "))
    }

    /// SHA-512 of `message` and that digest mod L, on a card.
    pub fn sha512_k(&self, message: Vec<u8>) -> Pending<([u8; 64], [u8; 32])> {
        self.submit(false, |done| Job::Sha512K { message, done })
    }

    /// Sends the job to the card in service (with the Ed25519 engine if `verify`) with
    /// the least queued.
    fn submit<R>(&self, verify: bool, make: impl FnOnce(Completer<R>) -> Job) -> Pending<R> {
        let pick = self
            .cards
            .iter()
            .filter(|c| c.failure().is_none() && (!verify || c.info.has_verify()))
            .min_by_key(|c| c.queued.load(Ordering::Acquire));
        let Some(card) = pick else {
            return Pending::ready(Err(match self.failure() {
                Some(reason) => BackendError::DeviceFailed {
                    device: self.info.name.clone(),
                    reason: format!("every card has been taken out of service: {reason}"),
                },
                None => unavailable(
                    &self.info.name,
                    "signature verification needs the card's Ed25519 engine, which no card \
                     in service has",
                ),
            }));
        };
        let (done, pending) = Pending::channel();
        card.submit(make(done));
        pending
    }

    fn verifying_cards(&self) -> impl Iterator<Item = &CardWorker> {
        self.cards.iter().filter(|c| c.info.has_verify())
    }
}

impl Backend for FpgaBackend {
    fn info(&self) -> BackendInfo {
        self.info.clone()
    }

    fn verify(&self, batch: Arc<Batch>, profile: Profile) -> Pending<Verdicts> {
        if self.verifying_cards().next().is_none() {
            return Pending::ready(Err(unavailable(
                &self.info.name,
                "signature verification needs the card's Ed25519 engine, which this card build \
                 lacks",
            )));
        }
        if batch.signature_count() == 0 {
            // Nothing for the card: every transaction is malformed (or there are none).
            return Pending::ready(verdicts(&batch, Vec::new()));
        }
        self.submit(true, |done| Job::Verify {
            batch,
            profile,
            done,
        })
    }

    fn merkle_root(&self, leaves: Arc<Leaves>) -> Pending<[u8; 32]> {
        self.submit(false, |done| Job::Merkle { leaves, done })
    }

    fn verifies(&self) -> bool {
        self.verifying_cards().next().is_some()
    }

    fn devices_in_service(&self) -> Option<usize> {
        Some(self.cards.iter().filter(|c| c.failure().is_none()).count())
    }
}

/// The batch's verdicts from its per-signature ones (transactions combined here).
fn verdicts(batch: &Batch, signature_valid: Vec<bool>) -> Result<Verdicts, BackendError> {
    Verdicts::from_signatures(batch, signature_valid).ok_or_else(|| {
        BackendError::Internal("the card returned a verdict count unlike the batch's".into())
    })
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
    if card.info().has_verify() {
        self_test_verify(card)?;
    }
    Ok(())
}

/// The fixed seed of the self-test's signing key.
const SELF_TEST_SEED: [u8; 32] = *b"vigil fpga VERIFY self-test key!";

/// The encoding of the identity point (y = 1): a small-order A and R.
const IDENTITY: [u8; 32] = {
    let mut b = [0u8; 32];
    b[0] = 1;
    b
};

/// One VERIFY known answer: what it is, the key, the signature, the message.
struct KnownSignature {
    what: &'static str,
    pubkey: [u8; 32],
    signature: [u8; 64],
    message: Vec<u8>,
}

/// The VERIFY known answers, messages clipped to `max` bytes.
fn known_signatures(max: usize) -> [KnownSignature; 3] {
    use ed25519_dalek::Signer as _;

    // 77 bytes: nine whole words and a partial one.
    let message: Vec<u8> = (0..77usize.min(max))
        .map(|i| (i * 13 + 5).to_le_bytes()[0])
        .collect();
    let key = ed25519_dalek::SigningKey::from_bytes(&SELF_TEST_SEED);
    let pubkey = key.verifying_key().to_bytes();
    let valid = key.sign(&message).to_bytes();
    let mut bad_s = valid;
    bad_s[40] ^= 0x04;
    let mut small_order = [0u8; 64];
    small_order[..32].copy_from_slice(&IDENTITY);
    [
        KnownSignature {
            what: "a valid signature",
            pubkey,
            signature: valid,
            message: message.clone(),
        },
        KnownSignature {
            what: "a signature with a bit of S flipped",
            pubkey,
            signature: bad_s,
            message,
        },
        KnownSignature {
            what: "the small-order key and R with S = 0",
            pubkey: IDENTITY,
            signature: small_order,
            message: b"vigil"[..5.min(max)].to_vec(),
        },
    ]
}

/// VERIFY known answers: each case under each profile against the reference verdict.
fn self_test_verify<T: Transport>(card: &mut Card<T>) -> Result<(), String> {
    let cases = known_signatures(card.info().max_verify_message_bytes() as usize);
    let items: Vec<VerifyItem<'_>> = cases
        .iter()
        .map(|c| VerifyItem {
            pubkey: &c.pubkey,
            signature: &c.signature,
            message: &c.message,
        })
        .collect();
    for profile in Profile::ALL {
        let got = card.verify(profile, &items).map_err(|e| e.to_string())?;
        if got.len() != cases.len() {
            return Err(format!(
                "VERIFY under {profile} gave {} verdicts for {} signatures",
                got.len(),
                cases.len()
            ));
        }
        for (c, got) in cases.iter().zip(got) {
            let want = reference_verify(profile, &c.pubkey, &c.signature, &c.message);
            if got != want {
                return Err(format!(
                    "VERIFY under {profile} of {} says {}, expected {}",
                    c.what,
                    word(got),
                    word(want)
                ));
            }
        }
    }
    Ok(())
}

fn word(valid: bool) -> &'static str {
    if valid {
        "valid"
    } else {
        "invalid"
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The worker of one card: runs its jobs until the backend is dropped. A job is counted
/// out of `queued` before it is answered, so whoever holds an answer never sees its own
/// job still counted.
fn run<T: Transport>(
    mut card: Card<T>,
    rx: &Receiver<Job>,
    failed: &Mutex<Option<String>>,
    queued: &AtomicUsize,
    device: &str,
) {
    fn settle<R>(queued: &AtomicUsize, done: Completer<R>, result: Result<R, BackendError>) {
        queued.fetch_sub(1, Ordering::AcqRel);
        done.complete(result);
    }
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
            Job::Merkle { leaves, done } => {
                let result = match out_of_service() {
                    Some(reason) => Err(refuse(reason)),
                    None => card.merkle_root(&leaves).map_err(map),
                };
                settle(queued, done, result);
            }
            Job::Sha512K { message, done } => {
                let result = match out_of_service() {
                    Some(reason) => Err(refuse(reason)),
                    None => card.sha512_k(&message).map_err(map),
                };
                settle(queued, done, result);
            }
            Job::Verify {
                batch,
                profile,
                done,
            } => {
                let result = match out_of_service() {
                    Some(reason) => Err(refuse(reason)),
                    None => card
                        .verify_batch(&batch, profile)
                        .map_err(map)
                        .and_then(|valid| verdicts(&batch, valid)),
                };
                settle(queued, done, result);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use crate::fake::{FakeCard, Mangle};
    use vigil_core::synth;

    fn backend(fake: FakeCard) -> Result<FpgaBackend, BackendError> {
        FpgaBackend::from_card(Card::open(fake).unwrap(), "fpga-test")
    }

    /// Requests the self-test sends to a card with VERIFY: the Merkle root, the nodes,
    /// then three signatures under each of three profiles.
    const SELF_TEST_REQUESTS: usize = 2 + 3 * 3;

    #[test]
    fn self_test_requests_are_counted_right() {
        let mut card = Card::open(FakeCard::new(8, 2048)).unwrap();
        self_test(&mut card).unwrap();
        assert_eq!(card.transport().requests, SELF_TEST_REQUESTS);
        assert_eq!(card.transport().by_opcode[&crate::regs::opcode::VERIFY], 9);
        let mut card = Card::open(FakeCard::new(8, 2048).without_verify()).unwrap();
        self_test(&mut card).unwrap();
        assert_eq!(card.transport().requests, 2);
    }

    #[test]
    fn the_self_test_s_signatures_tell_the_profiles_apart() {
        let cases = known_signatures(usize::MAX);
        let verdicts = |c: &KnownSignature| {
            Profile::ALL.map(|p| reference_verify(p, &c.pubkey, &c.signature, &c.message))
        };
        assert_eq!(cases[0].message.len(), 77);
        assert_eq!(verdicts(&cases[0]), [true; 3]);
        assert_eq!(verdicts(&cases[1]), [false; 3]);
        assert_eq!(verdicts(&cases[2]), [false, true, true]);
        // A card whose messages are short still gets a self-test it can take.
        assert!(known_signatures(3).iter().all(|c| c.message.len() <= 3));
        assert!(known_signatures(0).iter().all(|c| c.message.is_empty()));
        let mut fake = FakeCard::new(8, 2048);
        fake.regs
            .insert(crate::regs::regs::MAX_MESSAGE_BYTES, 64 + 3);
        backend(fake).unwrap();
    }

    #[test]
    fn serves_merkle_roots_and_signatures() {
        let b = backend(FakeCard::new(8, 2048).shuffled(3)).unwrap();
        assert_eq!(b.info().name, "fpga-test");
        // Signatures fill the card at 4 engines x 16 contexts.
        assert_eq!(b.info().preferred_batch, 64);
        assert!(b.info().devices[0].contains("fake card"));
        assert!(b.verifies());
        for n in [0usize, 1, 9, 100] {
            let leaves: Leaves = (0..n).map(|i| vec![i as u8; i % 50]).collect();
            let want = vigil_core::merkle::root(&leaves);
            assert_eq!(b.merkle_root(Arc::new(leaves)).wait(), Ok(want), "n = {n}");
        }
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

    /// Synthesized transactions (one to three signers, adversarial invalid ones made for
    /// every profile, both input forms) and malformed ones.
    fn mixed_batch() -> Batch {
        let mut b = vigil_core::BatchBuilder::default();
        let mut seed = 100;
        for format in [synth::Format::Jsonl, synth::Format::Solana] {
            for profile in Profile::ALL {
                for signers in [1, 3] {
                    seed += 1;
                    let spec = synth::SynthSpec {
                        count: 25,
                        profile,
                        invalid_fraction: 0.5,
                        msg_len: 0..=300,
                        signers,
                        format,
                        seed,
                    };
                    for tx in synth::generate(&spec).unwrap() {
                        tx.push_into(&mut b).unwrap();
                    }
                }
            }
            b.push_malformed("not a transaction", b"\x00\x01").unwrap();
        }
        b.push_generic(b"no signers", &[]).unwrap();
        b.finish()
    }

    #[test]
    fn verdicts_are_the_reference_s_under_every_profile() {
        let batch = Arc::new(mixed_batch());
        let multi = (0..batch.len())
            .filter(|&tx| batch.signers_of(tx).len() > 1)
            .count();
        assert!(multi >= 100, "{multi} multi-signer transactions");
        let b = backend(FakeCard::new(8, 2048).shuffled(17)).unwrap();
        // Several batches in flight, profiles interleaved, before any is awaited.
        let pending: Vec<(Profile, Pending<Verdicts>)> = Profile::ALL
            .into_iter()
            .chain(Profile::ALL)
            .map(|p| (p, b.verify(Arc::clone(&batch), p)))
            .collect();
        for (p, pending) in pending {
            let want = Verdicts::reference(&batch, p);
            assert!(want.transaction_valid.contains(&true));
            assert!(want.transaction_valid.contains(&false));
            assert_eq!(pending.wait(), Ok(want), "{p}");
        }
        // A batch without signatures needs no card.
        let mut e = vigil_core::BatchBuilder::default();
        e.push_malformed("broken", &[]).unwrap();
        let e = Arc::new(e.finish());
        let v = b.verify(Arc::clone(&e), Profile::Strict).wait().unwrap();
        assert_eq!(v, Verdicts::reference(&e, Profile::Strict));
        assert_eq!(v.transaction_valid, vec![false]);
        assert_eq!(b.failure(), None);
    }

    #[test]
    fn a_message_too_long_for_the_card_is_unavailable_and_the_card_serves_on() {
        let b = backend(FakeCard::new(8, 2048)).unwrap();
        let signer = vigil_core::Signer {
            pubkey: [1; 32],
            signature: [2; 64],
        };
        let mut long = vigil_core::BatchBuilder::default();
        long.push_generic(b"short", &[signer]).unwrap();
        long.push_generic(&[0u8; 4096 - 63], &[signer, signer])
            .unwrap();
        let err = b
            .verify(Arc::new(long.finish()), Profile::Rfc8032)
            .wait()
            .unwrap_err();
        assert!(matches!(err, BackendError::Unavailable { .. }), "{err}");
        assert!(err.to_string().contains("at most 4032"), "{err}");
        assert_eq!(b.failure(), None);
        // The longest message that fits is verified.
        let mut fits = vigil_core::BatchBuilder::default();
        fits.push_generic(&[0u8; 4096 - 64], &[signer]).unwrap();
        let fits = Arc::new(fits.finish());
        assert_eq!(
            b.verify(Arc::clone(&fits), Profile::Rfc8032).wait(),
            Ok(Verdicts::reference(&fits, Profile::Rfc8032))
        );
    }

    #[test]
    fn verifies_follows_caps_verify() {
        let b = backend(FakeCard::new(8, 2048).without_verify()).unwrap();
        assert!(!b.verifies());
        assert_eq!(b.info().preferred_batch, 8);
        for batch in [vigil_core::BatchBuilder::default().finish(), mixed_batch()] {
            let err = b
                .verify(Arc::new(batch), Profile::Strict)
                .wait()
                .unwrap_err();
            assert!(matches!(err, BackendError::Unavailable { .. }), "{err}");
            assert!(err.to_string().contains("Ed25519 engine"), "{err}");
        }
        assert_eq!(b.failure(), None);
        let leaves: Leaves = [b"x"].into_iter().collect();
        let want = vigil_core::merkle::root(&leaves);
        assert_eq!(b.merkle_root(Arc::new(leaves)).wait(), Ok(want));
    }

    #[test]
    fn a_failing_card_is_taken_out_of_service() {
        let mut fake = FakeCard::new(8, 2048);
        // The self-test's requests come first; the next is the first real one.
        fake.mangle = Some((SELF_TEST_REQUESTS, Mangle::Swallow));
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
        assert!(matches!(
            b.verify(Arc::new(mixed_batch()), Profile::Zip215).wait(),
            Err(BackendError::DeviceFailed { .. })
        ));
    }

    #[test]
    fn verify_failures_are_device_failures_not_panics() {
        for how in [
            Mangle::Status(crate::regs::status::BAD_PROFILE),
            Mangle::OrBits(1 << 7),
            Mangle::ShortPayload,
            Mangle::UnknownTag,
            Mangle::Swallow,
        ] {
            let mut fake = FakeCard::new(8, 2048).shuffled(5);
            fake.mangle = Some((SELF_TEST_REQUESTS + 20, how));
            let b = backend(fake).unwrap();
            let err = b
                .verify(Arc::new(mixed_batch()), Profile::Strict)
                .wait()
                .unwrap_err();
            assert!(
                matches!(err, BackendError::DeviceFailed { .. }),
                "{how:?}: {err}"
            );
            assert!(b.failure().is_some(), "{how:?}");
        }
    }

    #[test]
    fn a_card_that_fails_its_self_test_is_not_used() {
        let mut fake = FakeCard::new(8, 2048);
        fake.mangle = Some((0, Mangle::Status(crate::regs::status::TOO_MANY)));
        let err = backend(fake).unwrap_err();
        assert!(matches!(err, BackendError::Unavailable { .. }));
        assert!(err.to_string().contains("self-test"), "{err}");
        // A card that does not know a profile.
        let mut fake = FakeCard::new(8, 2048);
        fake.mangle = Some((2 + 3 * 2, Mangle::Status(crate::regs::status::BAD_PROFILE)));
        let err = backend(fake).unwrap_err().to_string();
        assert!(
            err.contains("self-test") && err.contains("BAD_PROFILE"),
            "{err}"
        );
        // And a card computing wrong roots or verdicts: every VERIFY request is checked.
        for request in 0..SELF_TEST_REQUESTS {
            let mut fake = FakeCard::new(8, 2048);
            fake.mangle = Some((request, Mangle::FlipBit));
            let err = backend(fake).unwrap_err().to_string();
            assert!(err.contains("expected"), "{err}");
            if request >= 2 {
                assert!(err.contains("VERIFY under"), "{err}");
            }
        }
    }

    fn cards(fakes: Vec<FakeCard>) -> Result<FpgaBackend, BackendError> {
        let cards = fakes.into_iter().map(|f| Card::open(f).unwrap()).collect();
        FpgaBackend::from_cards(cards, "fpga-test")
    }

    #[test]
    fn several_cards_share_the_work_and_one_failing_leaves_the_rest_serving() {
        let batch = Arc::new(mixed_batch());
        let want = Verdicts::reference(&batch, Profile::Strict);
        // Card 0 never answers its first real request; cards 1 and 2 are good.
        let mut bad = FakeCard::new(8, 2048).shuffled(1);
        bad.mangle = Some((SELF_TEST_REQUESTS, Mangle::Swallow));
        let b = cards(vec![
            bad,
            FakeCard::new(8, 2048).shuffled(2),
            FakeCard::new(8, 2048).shuffled(3),
        ])
        .unwrap();
        assert_eq!(b.info().devices.len(), 3);
        assert_eq!(b.devices_in_service(), Some(3));
        // Six batches in flight at once, each to the card with the least queued: the bad
        // card gets the first, which fails, and a second unless it has failed by then
        // (refused at once, as it left service). Every other batch is answered right.
        let pending: Vec<Pending<Verdicts>> = (0..6)
            .map(|_| b.verify(Arc::clone(&batch), Profile::Strict))
            .collect();
        let results: Vec<Result<Verdicts, BackendError>> =
            pending.into_iter().map(Pending::wait).collect();
        let failed = results.iter().filter(|r| r.is_err()).count();
        assert!((1..=2).contains(&failed), "{results:?}");
        assert!(results[0].is_err(), "the first batch went to card 0");
        for r in &results {
            match r {
                Ok(v) => assert_eq!(v, &want),
                Err(e) => assert!(matches!(e, BackendError::DeviceFailed { .. }), "{e}"),
            }
        }
        assert_eq!(b.devices_in_service(), Some(2));
        assert_eq!(b.failure(), None, "the backend serves on");
        let statuses = b.card_statuses();
        assert!(
            matches!(&statuses[0].1, Err(why) if why.contains("taken out of service")),
            "{statuses:?}"
        );
        assert!(statuses[1].1.is_ok() && statuses[2].1.is_ok());
        // Everything after goes to the good cards.
        for _ in 0..4 {
            assert_eq!(
                b.verify(Arc::clone(&batch), Profile::Strict).wait(),
                Ok(want.clone())
            );
        }
        let leaves: Leaves = (0..20).map(|i| vec![i as u8; i]).collect();
        let root = vigil_core::merkle::root(&leaves);
        assert_eq!(b.merkle_root(Arc::new(leaves)).wait(), Ok(root));
    }

    #[test]
    fn with_every_card_failed_the_backend_fails_and_says_why() {
        let fakes: Vec<FakeCard> = (0..2)
            .map(|_| {
                let mut f = FakeCard::new(8, 2048);
                f.mangle = Some((SELF_TEST_REQUESTS, Mangle::UnknownTag));
                f
            })
            .collect();
        let b = cards(fakes).unwrap();
        let leaves: Arc<Leaves> = Arc::new([b"x"].into_iter().collect());
        // One request each: both cards fail.
        let p: Vec<_> = (0..2).map(|_| b.merkle_root(Arc::clone(&leaves))).collect();
        for r in p {
            assert!(matches!(r.wait(), Err(BackendError::DeviceFailed { .. })));
        }
        assert_eq!(b.devices_in_service(), Some(0));
        let why = b.failure().expect("out of service");
        assert_eq!(why.matches("unknown tag").count(), 2, "{why}");
        let err = b.merkle_root(leaves).wait().unwrap_err().to_string();
        assert!(
            err.contains("every card has been taken out of service"),
            "{err}"
        );
    }

    #[test]
    fn cards_that_fail_the_self_test_are_listed_and_the_rest_serve() {
        let mut bad = FakeCard::new(8, 2048);
        bad.mangle = Some((0, Mangle::FlipBit));
        let b = cards(vec![bad, FakeCard::new(8, 2048).without_verify()]).unwrap();
        assert_eq!(b.devices_in_service(), Some(1));
        let statuses = b.card_statuses();
        assert!(
            matches!(&statuses[0].1, Err(why) if why.contains("self-test")),
            "{statuses:?}"
        );
        // The card left has no Ed25519 engine: signatures are refused, roots served.
        assert!(!b.verifies());
        let err = b
            .verify(Arc::new(mixed_batch()), Profile::Strict)
            .wait()
            .unwrap_err();
        assert!(matches!(err, BackendError::Unavailable { .. }), "{err}");
        let leaves: Leaves = [b"y"].into_iter().collect();
        let root = vigil_core::merkle::root(&leaves);
        assert_eq!(b.merkle_root(Arc::new(leaves)).wait(), Ok(root));
        // And none passing is Unavailable with each card's reason.
        let fakes = (0..2)
            .map(|_| {
                let mut f = FakeCard::new(8, 2048);
                f.mangle = Some((1, Mangle::FlipBit));
                f
            })
            .collect();
        let err = cards(fakes).unwrap_err().to_string();
        assert_eq!(
            err.matches("failed its known-answer self-test").count(),
            2,
            "{err}"
        );
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
