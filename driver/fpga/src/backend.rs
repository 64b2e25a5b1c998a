//! The machine's cards behind `vigil_core`'s [`Backend`] contract, on the shared device
//! runtime (`vigil_runtime`).
//!
//! Each card is one [`DeviceQueue`] ([`CardQueue`]) with one slot: the card computes a
//! piece of work synchronously inside `enqueue_*` (its requests are pipelined inside
//! the card layer, up to the card's window), so the runtime's worker, bounded queue,
//! least-loaded choice among cards, failure rule, self-test and status listing are the
//! same as every GPU's.
//!
//! * **Trust.** Before a card serves it passes its own known answers ([`crate::check`]:
//!   MERKLE_NODES and the profile codes, which the `Backend` interface cannot reach)
//!   and then the runtime's shared self-test through the `Backend` interface (the
//!   conformance harness's known answers on a card with CAPS.VERIFY, a Merkle root on
//!   one without). A card that fails either is listed with why and not used.
//! * **Failure.** A transport error, a timeout or a malformed or unexpected response
//!   means the card's state is unknown: the card leaves service, that work comes back
//!   as `DeviceFailed` and the scheduler re-runs it elsewhere. The other cards serve on
//!   ([`Backend::devices_in_service`] tells the scheduler so); once none is left, all
//!   work comes back `DeviceFailed`. Work the card cannot take (a leaf longer than
//!   MAX_LEAF_BYTES, a signed message longer than MAX_MESSAGE_BYTES − 64) comes back
//!   `Unfit`, so the scheduler sends it to another backend, and the card stays in
//!   service.
//! * **Signatures.** A card with CAPS.VERIFY verifies every signature of a batch itself,
//!   one VERIFY request per signature, pipelined by the card layer up to its
//!   engines × contexts (see [`crate::card`]). The card knows signatures, not
//!   transactions: the transaction verdicts, multi-signer transactions included, are
//!   combined on the host by `Verdicts::from_signatures` (parsed, has signers, every
//!   signature valid), exactly as every other backend does, and malformed transactions
//!   have no signatures to send. A card without the engine says it does not verify;
//!   the backend answers [`Backend::verifies`] `false` and refuses `verify` as
//!   `Unavailable`, so schedulers send it none.

use std::path::Path;
use std::sync::Arc;

use vigil_core::{Backend, BackendError, BackendInfo, Batch, Leaves, Pending, Profile, Verdicts};
use vigil_runtime::{Device, DeviceQueue, Opened, Refusal, Roster};

use crate::card::{Card, CardError, CardInfo, CardOptions};
use crate::sim::SimTransport;
use crate::transport::Transport;
use crate::xdma;

/// Backend name of a real card.
pub const NAME_XDMA: &str = "fpga";
/// Backend name of the simulated card.
pub const NAME_SIM: &str = "fpga-sim";

/// One card as a [`DeviceQueue`]: the work is done in `enqueue_*`, its result kept for
/// the runtime to read back.
pub struct CardQueue<T: Transport> {
    card: Card<T>,
    verdicts: Vec<u8>,
    root: [u32; 8],
}

impl<T: Transport> CardQueue<T> {
    /// The queue of an opened card.
    pub fn new(card: Card<T>) -> CardQueue<T> {
        CardQueue {
            card,
            verdicts: Vec::new(),
            root: [0; 8],
        }
    }
}

/// A card error as the runtime takes it: work the card cannot take is unfit, anything
/// else is the card's failure.
fn refusal(e: CardError) -> Refusal<CardError> {
    if e.is_device_failure() {
        Refusal::Failed(e)
    } else {
        Refusal::Unfit(e.to_string())
    }
}

impl<T: Transport + 'static> DeviceQueue for CardQueue<T> {
    type Done = ();
    type Error = CardError;

    fn slots(&self) -> usize {
        1
    }

    fn verifies(&self) -> bool {
        self.card.info().has_verify()
    }

    fn check(&mut self) -> Result<(), String> {
        crate::check::self_test(&mut self.card)
    }

    fn enqueue_verify(
        &mut self,
        _slot: usize,
        batch: &Batch,
        profile: Profile,
    ) -> Result<(), Refusal<CardError>> {
        let valid = self.card.verify_batch(batch, profile).map_err(refusal)?;
        self.verdicts.clear();
        self.verdicts.extend(valid.into_iter().map(u8::from));
        Ok(())
    }

    fn enqueue_merkle(&mut self, _slot: usize, leaves: &Leaves) -> Result<(), Refusal<CardError>> {
        let root = self.card.merkle_root(leaves).map_err(refusal)?;
        for (word, bytes) in self.root.iter_mut().zip(root.chunks_exact(4)) {
            *word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        Ok(())
    }

    fn wait(&mut self, _slot: usize, _done: ()) -> Result<(), CardError> {
        Ok(())
    }

    fn verdicts(&self, _slot: usize) -> &[u8] {
        &self.verdicts
    }

    fn root(&self, _slot: usize) -> Option<[u32; 8]> {
        Some(self.root)
    }
}

/// The FPGA cards of a machine as one [`Backend`]: every card that passed its identity
/// check and self-tests, each with its own runtime worker; work goes to the card in
/// service with the least in flight. A card that fails leaves service alone: the
/// backend serves on with the others ([`Backend::devices_in_service`]) and fails only
/// when none is left.
pub struct FpgaBackend {
    opened: Opened<String>,
    /// What each card in service reported when it was opened, in service order.
    cards: Vec<CardInfo>,
}

impl std::fmt::Debug for FpgaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FpgaBackend")
            .field("name", &self.opened.pool().info().name)
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
    /// the self-tests. `Unavailable`, with every card's reason, if there is none.
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
    /// passes its self-tests.
    fn assemble<T: Transport + 'static>(
        name: &str,
        found: Vec<(String, Result<Card<T>, String>)>,
    ) -> Result<FpgaBackend, BackendError> {
        let mut roster = Roster::default();
        // What each card found reported, in the roster's order (`None`: not opened).
        let mut infos = Vec::new();
        for (what, card) in found {
            let card = match card {
                Ok(card) => card,
                Err(why) => {
                    roster.refuse(what, why);
                    infos.push(None);
                    continue;
                }
            };
            let info = *card.info();
            let backend_info = BackendInfo {
                name: name.into(),
                devices: vec![format!("{what}: {info}")],
                preferred_batch: preferred_batch(&info),
            };
            let started = Device::start(CardQueue::new(card), what.clone(), backend_info)
                .map(|device| (device, info.to_string()))
                .map_err(|e| e.to_string());
            roster.admit(what, started);
            infos.push(Some(info));
        }
        let preferred = infos.iter().flatten().map(preferred_batch).max();
        let opened = roster.finish(name, "card", preferred.unwrap_or(1))?;
        // Just opened, a card's status is `Ok` exactly when it went into service.
        let cards = opened
            .devices()
            .iter()
            .zip(&infos)
            .filter(|(status, _)| status.status.is_ok())
            .filter_map(|(_, info)| *info)
            .collect();
        Ok(FpgaBackend { opened, cards })
    }
}

/// Signatures (or leaves) at which a card is full: Merkle requests take MAX_LEAVES
/// leaves; signatures fill a card at engines x contexts.
fn preferred_batch(info: &CardInfo) -> usize {
    (info.max_leaves as usize).max(info.verify_slots())
}

impl FpgaBackend {
    /// What the first card in service reported when it was opened.
    pub fn card_info(&self) -> &CardInfo {
        // `assemble` never builds a backend without a card in service.
        &self.cards[0]
    }

    /// Every card found: what it is, and its identity if in service or why it is not
    /// (failed identity check or self-test, or taken out of service since).
    pub fn card_statuses(&self) -> Vec<(String, Result<String, String>)> {
        self.opened
            .devices()
            .into_iter()
            .map(|d| (d.summary, d.status))
            .collect()
    }

    /// Why the backend is out of service: every card has been taken out (their reasons),
    /// or `None` while one serves.
    pub fn failure(&self) -> Option<String> {
        let reasons: Option<Vec<String>> = self
            .opened
            .in_service()
            .iter()
            .map(|d| d.fault().map(|f| f.to_string()))
            .collect();
        reasons.map(|r| r.join("; "))
    }
}

impl Backend for FpgaBackend {
    fn info(&self) -> BackendInfo {
        self.opened.pool().info()
    }

    fn verify(&self, batch: Arc<Batch>, profile: Profile) -> Pending<Verdicts> {
        let pool = self.opened.pool();
        if !pool.verifies() && pool.devices_in_service() != Some(0) {
            return Pending::ready(Err(unavailable(
                &pool.info().name,
                "signature verification needs the card's Ed25519 engine, which no card in \
                 service has",
            )));
        }
        pool.verify(batch, profile)
    }

    fn merkle_root(&self, leaves: Arc<Leaves>) -> Pending<[u8; 32]> {
        self.opened.pool().merkle_root(leaves)
    }

    fn verifies(&self) -> bool {
        self.opened.pool().verifies()
    }

    fn devices_in_service(&self) -> Option<usize> {
        self.opened.pool().devices_in_service()
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use crate::check::tests::CHECK_REQUESTS;
    use crate::fake::{FakeCard, Mangle};
    use std::sync::atomic::Ordering;
    use vigil_core::synth;

    fn backend(fake: FakeCard) -> Result<FpgaBackend, BackendError> {
        FpgaBackend::from_card(Card::open(fake).unwrap(), "fpga-test")
    }

    /// Requests a card like `FakeCard::new(8, 2048)` receives before it serves: its own
    /// check, then the runtime's shared self-test. The next one is the first real one.
    fn opening_requests() -> usize {
        let fake = FakeCard::new(8, 2048);
        let seen = Arc::clone(&fake.seen);
        drop(backend(fake).unwrap());
        usize::try_from(seen.load(Ordering::SeqCst)).unwrap()
    }

    #[test]
    fn a_card_passes_its_own_check_and_the_shared_self_test_before_serving() {
        let opening = opening_requests();
        // The shared self-test verifies dozens of signatures under each profile.
        assert!(opening > CHECK_REQUESTS + 3 * 20, "{opening} requests");
        // A card whose messages are too short for the shared self-test's signatures
        // cannot be trusted with signatures: it is not used, and says why.
        let mut fake = FakeCard::new(8, 2048);
        fake.regs
            .insert(crate::regs::regs::MAX_MESSAGE_BYTES, 64 + 3);
        let err = backend(fake).unwrap_err().to_string();
        assert!(
            err.contains("failed its self-test") && err.contains("at most 3"),
            "{err}"
        );
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
        // A leaf too long: Unfit, and the card stays in service.
        let long: Leaves = [vec![0u8; 2049]].into_iter().collect();
        assert!(matches!(
            b.merkle_root(Arc::new(long)).wait(),
            Err(BackendError::Unfit { .. })
        ));
        assert_eq!(b.failure(), None);
        assert_eq!(b.devices_in_service(), Some(1));
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
    fn a_message_too_long_for_the_card_is_unfit_and_the_card_serves_on() {
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
        assert!(matches!(err, BackendError::Unfit { .. }), "{err}");
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
        fake.mangle = Some((opening_requests(), Mangle::Swallow));
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
        let opening = opening_requests();
        for how in [
            Mangle::Status(crate::regs::status::BAD_PROFILE),
            Mangle::OrBits(1 << 7),
            Mangle::ShortPayload,
            Mangle::UnknownTag,
            Mangle::Swallow,
        ] {
            let mut fake = FakeCard::new(8, 2048).shuffled(5);
            fake.mangle = Some((opening + 20, how));
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
        for request in 0..CHECK_REQUESTS {
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
        bad.mangle = Some((opening_requests(), Mangle::Swallow));
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
        let opening = opening_requests();
        let fakes: Vec<FakeCard> = (0..2)
            .map(|_| {
                let mut f = FakeCard::new(8, 2048);
                f.mangle = Some((opening, Mangle::UnknownTag));
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
            err.contains("every fpga-test device has been taken out of service"),
            "{err}"
        );
        assert_eq!(err.matches("unknown tag").count(), 2, "{err}");
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
