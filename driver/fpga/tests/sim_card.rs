//! The driver against the RTL itself: `FpgaBackend::open_sim` on the Verilator-simulated
//! card (`vigil_hdl_sim::card::SimCard`), results checked against the CPU oracle
//! (`vigil_core::merkle`) and `sha2` / `curve25519-dalek`, and against the pinned
//! vigil-merkle-v1 known answers (`testdata/merkle/vectors.json`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha512};
use vigil_core::{conformance, merkle, synth, Backend, Leaves, Profile, Verdicts};
use vigil_fpga::card::{Card, CardOptions};
use vigil_fpga::sim::SimTransport;
use vigil_fpga::{FpgaBackend, Transport, TransportError};
use vigil_hdl_sim::card::SimCard;

fn random_leaves(rng: &mut ChaCha8Rng, n: usize, max_len: usize) -> Leaves {
    (0..n)
        .map(|_| {
            let len = rng.gen_range(0..max_len.min(1500));
            (0..len).map(|_| rng.gen()).collect::<Vec<u8>>()
        })
        .collect()
}

#[test]
fn merkle_roots_on_the_simulated_card_match_the_cpu() {
    let sim = SimCard::spawn().expect("starting the simulated card");
    let backend = FpgaBackend::open_sim(sim.socket_path()).expect("opening the simulated card");
    let info = *backend.card_info();
    assert_eq!(backend.info().name, "fpga-sim");
    let max_len = info.max_leaf_bytes as usize + 1;
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    for n in [0usize, 1, 2, 3, 4, 5, 7, 8, 9, 1000] {
        let leaves = random_leaves(&mut rng, n, max_len);
        let want = merkle::root(&leaves);
        let started = Instant::now();
        let got = backend.merkle_root(Arc::new(leaves)).wait();
        assert_eq!(got, Ok(want), "n = {n}");
        eprintln!("n = {n}: {:?}", started.elapsed());
    }
}

/// Every root of the vigil-merkle-v1 known-answer vectors (checked independently by
/// `testdata/merkle/check.py`), 2^20 + 1 leaves included: docs/MERKLE.md's whole list of sizes,
/// the largest split by the driver into 257 requests and a level of subtree roots.
#[test]
fn merkle_known_answer_vectors_on_the_simulated_card() {
    let vectors: serde_json::Value =
        serde_json::from_str(conformance::MERKLE_VECTORS_JSON).unwrap();
    let cases = vectors["cases"].as_array().unwrap();
    assert!(cases.len() >= 20, "{} cases", cases.len());
    let sim = SimCard::spawn().expect("starting the simulated card");
    let backend = FpgaBackend::open_sim(sim.socket_path()).expect("opening the simulated card");
    for case in cases {
        let set = case["leaf_set"].as_str().unwrap();
        let n = usize::try_from(case["n"].as_u64().unwrap()).unwrap();
        let leaves = conformance::merkle_vector_leaves(set, n).expect("a known leaf set");
        let started = Instant::now();
        let got = backend.merkle_root(Arc::new(leaves)).wait().unwrap();
        assert_eq!(
            hex::encode(got),
            case["root"].as_str().unwrap(),
            "{set} n={n}"
        );
        eprintln!("{set} n = {n}: {:?}", started.elapsed());
    }
}

#[test]
fn trees_larger_than_one_request_are_split_on_the_simulated_card() {
    let sim = SimCard::spawn().expect("starting the simulated card");
    let backend = FpgaBackend::open_sim(sim.socket_path()).expect("opening the simulated card");
    let m = backend.card_info().max_leaves as usize;
    // Short leaves keep the simulation quick; skip if the card's limit makes it long.
    let n = 2 * m + 3;
    if n > 20_000 {
        eprintln!("MAX_LEAVES is {m}: a split tree would take too long here, skipped");
        return;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let leaves = random_leaves(&mut rng, n, 40);
    let want = merkle::root(&leaves);
    let started = Instant::now();
    assert_eq!(backend.merkle_root(Arc::new(leaves)).wait(), Ok(want));
    eprintln!("n = {n} (MAX_LEAVES {m}): {:?}", started.elapsed());
}

#[test]
fn sha512_k_on_the_simulated_card_matches_sha2() {
    let sim = SimCard::spawn().expect("starting the simulated card");
    let mut card = Card::open(SimTransport::connect(sim.socket_path()).unwrap()).unwrap();
    if !card.info().has_sha512() {
        panic!("the simulated card has no SHA-512 engine: {}", card.info());
    }
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let max = card.info().max_message_bytes as usize;
    for len in [0usize, 1, 111, 112, 128, 1000] {
        let len = len.min(max);
        let msg: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        let (digest, k) = card.sha512_k(&msg).unwrap();
        let want: [u8; 64] = Sha512::digest(&msg).into();
        assert_eq!(digest, want, "len {len}");
        assert_eq!(
            k,
            curve25519_dalek::Scalar::from_bytes_mod_order_wide(&want).to_bytes(),
            "len {len}"
        );
    }
    let counters = card.counters().unwrap();
    assert!(counters.requests >= 6, "{counters:?}");
}

/// A transport that counts the requests in flight (sent, not yet answered).
struct Counting {
    inner: SimTransport,
    outstanding: usize,
    max_outstanding: usize,
}

impl Transport for Counting {
    fn read32(&mut self, offset: u32) -> Result<u32, TransportError> {
        self.inner.read32(offset)
    }
    fn write32(&mut self, offset: u32, value: u32) -> Result<(), TransportError> {
        self.inner.write32(offset, value)
    }
    fn send_frame(&mut self, frame: &[u8]) -> Result<(), TransportError> {
        self.inner.send_frame(frame)?;
        self.outstanding += 1;
        self.max_outstanding = self.max_outstanding.max(self.outstanding);
        Ok(())
    }
    fn recv_frame(&mut self, timeout: Duration) -> Result<Option<Vec<u8>>, TransportError> {
        let frame = self.inner.recv_frame(timeout)?;
        if frame.is_some() {
            self.outstanding = self.outstanding.saturating_sub(1);
        }
        Ok(frame)
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// The simulated card with 2 verification engines and 2 SHA-512 cores: the driver reads
/// the counts, keeps engines x contexts VERIFY requests in flight although its own
/// window is smaller, and gets the reference's verdicts.
#[test]
fn the_two_engine_simulated_card_is_kept_full_and_verifies_like_the_reference() {
    let sim = SimCard::spawn_with_engines(2).expect("starting the simulated card");
    let transport = Counting {
        inner: SimTransport::connect(sim.socket_path()).unwrap(),
        outstanding: 0,
        max_outstanding: 0,
    };
    let opts = CardOptions {
        window: 4,
        ..CardOptions::default()
    };
    let mut card = Card::open_with(transport, &opts).unwrap();
    let info = *card.info();
    assert_eq!(
        (
            info.verify_engines,
            info.verify_contexts,
            info.sha512_cores,
            info.verify_slots()
        ),
        (2, 16, 2, 32)
    );
    assert!(
        info.to_string()
            .contains("2 verify engines x 16 contexts, 2 SHA-512 cores"),
        "{info}"
    );
    assert_eq!(card.verify_window(), 32);
    let batch = synth::batch(&synth::SynthSpec {
        count: 64,
        profile: Profile::Rfc8032,
        invalid_fraction: 0.3,
        msg_len: 0..=300,
        signers: 1,
        format: synth::Format::Jsonl,
        seed: 21,
    })
    .unwrap();
    for profile in [Profile::Rfc8032, Profile::Strict] {
        let want = Verdicts::reference(&batch, profile).signature_valid;
        assert!(want.contains(&true) && want.contains(&false));
        let got = card.verify_batch(&batch, profile).unwrap();
        assert_eq!(got, want, "{profile}");
    }
    assert_eq!(card.transport().max_outstanding, 32);
    assert_eq!(card.transport().outstanding, 0);
}
