//! Testbench of `hdl/rtl/vigil_blake3_compress.sv`, against the `blake3` crate and
//! `vigil_core`'s Merkle tree.
//!
//! - Interface: the latency is the package's `CompressLatency`; one compression per
//!   clock with no stalls; a stalled output freezes the pipeline and holds; reset drops
//!   what is in flight.
//! - Single compressions with random inputs (every field, the counter's high word,
//!   every flag byte) against the crate's portable compression, all 16 output words.
//! - Whole hashes with every compression on the core (`vigil_hdl_sim::blake3_hash`):
//!   BLAKE3's official test vectors in all three modes with their 131-byte extended
//!   outputs, random inputs of chosen lengths, and the Merkle tree's LEAF, NODE, EMPTY
//!   and roots against `vigil_core::merkle::root`.
//!
//! All multi-compression runs keep the pipeline full and stall both sides at random
//! (`Traffic::stalls`), and results are matched by tag; the driver also checks the
//! handshake contract on every cycle (see `blake3_hash`'s docs).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

use blake3::hazmat::hash_derive_key_context;
use blake3::platform::{le_bytes_from_words_32, words_from_le_bytes_32, Platform};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use vigil_core::batch::Leaves;
use vigil_core::merkle::{self, EMPTY_CONTEXT, LEAF_CONTEXT, NODE_CONTEXT};
use vigil_hdl_sim::blake3_compress::{Blake3Compress, Compression};
use vigil_hdl_sim::blake3_hash::{
    block_words, hash_many, le_bytes, run, HashRequest, Work, DERIVE_KEY_MATERIAL,
};
use vigil_hdl_sim::rtl::{blake3_pkg, Package};
use vigil_hdl_sim::Traffic;

fn core() -> Blake3Compress {
    Blake3Compress::new().unwrap_or_else(|e| panic!("{e}"))
}

fn pkg() -> Package {
    blake3_pkg().unwrap_or_else(|e| panic!("{e}"))
}

fn latency() -> u64 {
    pkg().int("CompressLatency").unwrap()
}

/// The crate's compression of `c`: all 16 output words.
fn reference(c: &Compression) -> [u32; 16] {
    let block: Vec<u8> = le_bytes(&c.block);
    let out = Platform::portable().compress_xof(
        &c.cv,
        &block.try_into().unwrap(),
        u8::try_from(c.block_len).unwrap(),
        c.counter,
        u8::try_from(c.flags).unwrap(),
    );
    core::array::from_fn(|i| u32::from_le_bytes(out[4 * i..4 * i + 4].try_into().unwrap()))
}

fn random_compression(rng: &mut ChaCha8Rng, tag: u32) -> Compression {
    Compression {
        cv: rng.gen(),
        block: rng.gen(),
        counter: match rng.gen_range(0..4) {
            0 => rng.gen_range(0..16),
            1 => u64::from(rng.gen::<u32>()),
            _ => rng.gen(),
        },
        block_len: rng.gen_range(0..=64),
        flags: u32::from(rng.gen::<u8>()),
        tag,
    }
}

/// Independent compressions, for `run`.
struct Compressions {
    ready: Vec<(Compression, usize)>,
    inputs: Vec<Compression>,
    results: Vec<Option<[u32; 16]>>,
}

impl Compressions {
    fn new(inputs: Vec<Compression>) -> Self {
        Compressions {
            ready: inputs.iter().copied().zip(0..).collect(),
            results: vec![None; inputs.len()],
            inputs,
        }
    }
}

impl Work for Compressions {
    type Ticket = usize;
    fn ready(&mut self) -> &mut Vec<(Compression, usize)> {
        &mut self.ready
    }
    fn complete(&mut self, i: usize, state: [u32; 16]) -> Result<(), vigil_hdl_sim::SimError> {
        assert!(self.results[i].is_none(), "compression {i} came back twice");
        self.results[i] = Some(state);
        Ok(())
    }
    fn is_done(&self) -> bool {
        self.ready.is_empty() && self.results.iter().all(Option::is_some)
    }
}

// ---------------------------------------------------------------------------------------
// The interface.

#[test]
fn latency_is_the_packages() {
    let latency = latency();
    let mut core = core();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let c = random_compression(&mut rng, 0x1234_5678);
    assert!(core.cycle(Some(&c), true).accepted);
    for k in 1..=latency + 5 {
        let cycle = core.cycle(None, true);
        if let Some(out) = cycle.out {
            assert_eq!(k, latency, "result after {k} cycles");
            assert_eq!(out.tag, c.tag);
            assert_eq!(out.state, reference(&c));
            return;
        }
    }
    panic!("no result within {} cycles", latency + 5);
}

#[test]
fn one_compression_per_clock_without_stalls() {
    let latency = latency();
    let mut core = core();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let n = 300u64;
    let inputs: Vec<Compression> = (0..n)
        .map(|i| random_compression(&mut rng, u32::try_from(i).unwrap()))
        .collect();
    // Input i is taken in cycle i and its result shown in cycle i + latency.
    for t in 0..n + latency {
        let offer = inputs.get(usize::try_from(t).unwrap());
        let cycle = core.cycle(offer, true);
        assert!(
            cycle.in_ready,
            "in_ready low in cycle {t} with out_ready high"
        );
        assert_eq!(cycle.accepted, t < n);
        if t < latency {
            assert_eq!(cycle.out, None, "cycle {t}");
        } else {
            let expect = &inputs[usize::try_from(t - latency).unwrap()];
            let out = cycle
                .out
                .unwrap_or_else(|| panic!("no result in cycle {t}"));
            assert_eq!(out.tag, expect.tag, "cycle {t}");
            assert_eq!(out.state, reference(expect), "cycle {t}");
        }
    }
    assert_eq!(core.cycle(None, true).out, None);
}

#[test]
fn a_stalled_output_freezes_the_pipeline() {
    let latency = latency();
    let mut core = core();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let inputs: Vec<Compression> = (0..200).map(|i| random_compression(&mut rng, i)).collect();
    let mut next = 0usize;
    let mut results = Vec::new();

    // With out_ready low, exactly `latency` inputs get in (one per stage and the output
    // register), then in_ready falls and the first result is held, unchanged.
    for t in 0..latency + 40 {
        let cycle = core.cycle(inputs.get(next), false);
        if cycle.accepted {
            next += 1;
        }
        assert_eq!(cycle.in_ready, t < latency, "in_ready in cycle {t}");
        if t >= latency {
            let out = cycle.out.expect("a held result");
            assert_eq!(out.tag, inputs[0].tag);
            assert_eq!(out.state, reference(&inputs[0]));
        }
    }
    assert_eq!(next, usize::try_from(latency).unwrap());

    // Release it in a stop-and-go pattern while offering the rest: every result comes
    // out once, in order.
    let mut t = 0u64;
    while results.len() < inputs.len() {
        let out_ready = t % 3 != 1 && !t.is_multiple_of(7);
        let cycle = core.cycle(inputs.get(next), out_ready);
        if cycle.accepted {
            next += 1;
        }
        if let (Some(out), true) = (cycle.out, cycle.taken) {
            results.push(out);
        }
        t += 1;
        assert!(t < 10_000, "stuck");
    }
    for (out, c) in results.iter().zip(&inputs) {
        assert_eq!(out.tag, c.tag);
        assert_eq!(out.state, reference(c), "tag {}", c.tag);
    }
}

#[test]
fn reset_drops_work_in_flight() {
    let latency = latency();
    let mut core = core();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for i in 0..10 {
        assert!(
            core.cycle(Some(&random_compression(&mut rng, i)), true)
                .accepted
        );
    }
    core.reset();
    for t in 0..2 * latency {
        assert_eq!(core.cycle(None, true).out, None, "cycle {t} after reset");
    }
    // And it works afterwards.
    let c = random_compression(&mut rng, 99);
    let mut work = Compressions::new(vec![c]);
    run(&mut core, &mut work, &Traffic::FULL).unwrap();
    assert_eq!(work.results[0], Some(reference(&c)));
}

// ---------------------------------------------------------------------------------------
// Single compressions.

#[test]
fn random_compressions_match_the_crate() {
    let mut core = core();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    // No stalls, the usual random stalls, and a starved input with a slow consumer.
    let patterns = [
        Traffic::FULL,
        Traffic::stalls(5),
        Traffic {
            in_valid_percent: 30,
            out_ready_percent: 15,
            seed: 6,
        },
    ];
    for traffic in patterns {
        let inputs: Vec<Compression> = (0..4000).map(|_| random_compression(&mut rng, 0)).collect();
        let mut work = Compressions::new(inputs);
        let stats = run(&mut core, &mut work, &traffic).unwrap();
        assert_eq!(stats.compressions, 4000);
        for (i, (c, out)) in work.inputs.iter().zip(&work.results).enumerate() {
            assert_eq!(
                out.unwrap(),
                reference(c),
                "{traffic:?}, compression {i}: {c:x?}"
            );
        }
        if traffic == Traffic::FULL {
            // Back to back: one per clock, plus the pipeline's fill.
            assert_eq!(stats.cycles, 4000 + latency());
        }
    }
}

// ---------------------------------------------------------------------------------------
// Whole hashes.

fn input(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// The crate's derive-key context key, as the RTL core computes it.
fn context_key(core: &mut Blake3Compress, context: &str, seed: u64) -> [u8; 32] {
    let (out, _) = hash_many(
        core,
        &[HashRequest::derive_key_context(context)],
        &Traffic::stalls(seed),
    )
    .unwrap();
    let key: [u8; 32] = out[0].as_slice().try_into().unwrap();
    assert_eq!(key, hash_derive_key_context(context), "{context:?}");
    key
}

#[test]
fn official_test_vectors() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/blake3/test_vectors.json"
    ))
    .unwrap();
    let vectors: Value = serde_json::from_str(&text).unwrap();
    let key: [u8; 32] = vectors["key"]
        .as_str()
        .unwrap()
        .as_bytes()
        .try_into()
        .unwrap();
    let context = vectors["context_string"].as_str().unwrap();
    let cases = vectors["cases"].as_array().unwrap();
    assert!(cases.len() >= 30, "{} cases", cases.len());

    let mut core = core();
    let context_key = context_key(&mut core, context, 6);

    let mut requests = Vec::new();
    let mut expected = Vec::new();
    for case in cases {
        let len = usize::try_from(case["input_len"].as_u64().unwrap()).unwrap();
        let data = input(len);
        for (mode, request) in [
            ("hash", HashRequest::hash(&data)),
            ("keyed_hash", HashRequest::keyed(&key, &data)),
            (
                "derive_key",
                HashRequest::derive_key_material(&context_key, &data),
            ),
        ] {
            let want = hex::decode(case[mode].as_str().unwrap()).unwrap();
            requests.push(request.out_len(want.len()));
            expected.push((len, mode, want));
        }
    }
    let (outputs, stats) = hash_many(&mut core, &requests, &Traffic::stalls(7)).unwrap();
    for (out, (len, mode, want)) in outputs.iter().zip(&expected) {
        assert_eq!(hex::encode(out), hex::encode(want), "{mode} of {len} bytes");
    }
    // Most cycles did work: the schedule kept the pipeline busy despite the stalls.
    assert!(
        stats.compressions * 2 > stats.cycles,
        "{} compressions in {} cycles",
        stats.compressions,
        stats.cycles
    );
}

#[test]
fn random_inputs_in_every_mode() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let mut core = core();
    let context = "vigil-hdl-sim 2025 random test context";
    let context_key = context_key(&mut core, context, 8);
    let key: [u8; 32] = rng.gen();

    let mut lengths = vec![
        0, 1, 63, 64, 65, 127, 128, 1023, 1024, 1025, 2048, 2049, 3072, 3073,
    ];
    lengths.extend((0..12).map(|_| rng.gen_range(0..9000)));
    let mut requests = Vec::new();
    let mut expected = Vec::new();
    for &len in &lengths {
        let data: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        let out_len = if rng.gen_ratio(1, 3) {
            rng.gen_range(1..300)
        } else {
            32
        };
        let xof = |mut h: blake3::Hasher| {
            let mut out = vec![0u8; out_len];
            h.update(&data).finalize_xof().fill(&mut out);
            out
        };
        requests.push(HashRequest::hash(&data).out_len(out_len));
        expected.push((len, "hash", xof(blake3::Hasher::new())));
        requests.push(HashRequest::keyed(&key, &data).out_len(out_len));
        expected.push((len, "keyed", xof(blake3::Hasher::new_keyed(&key))));
        requests.push(HashRequest::derive_key_material(&context_key, &data).out_len(out_len));
        expected.push((
            len,
            "derive_key",
            xof(blake3::Hasher::new_derive_key(context)),
        ));
    }
    let (outputs, _) = hash_many(&mut core, &requests, &Traffic::stalls(9)).unwrap();
    for (out, (len, mode, want)) in outputs.iter().zip(&expected) {
        assert_eq!(hex::encode(out), hex::encode(want), "{mode} of {len} bytes");
    }
}

// ---------------------------------------------------------------------------------------
// The Merkle tree, with the package's context keys.

struct MerkleKeys {
    leaf: [u32; 8],
    node: [u32; 8],
    empty: [u32; 8],
    one_block_flags: u32,
}

fn merkle_keys() -> MerkleKeys {
    let pkg = pkg();
    MerkleKeys {
        leaf: pkg.words("MerkleLeafKey").unwrap(),
        node: pkg.words("MerkleNodeKey").unwrap(),
        empty: pkg.words("MerkleEmptyKey").unwrap(),
        one_block_flags: u32::try_from(pkg.int("MerkleOneBlockFlags").unwrap()).unwrap(),
    }
}

/// NODE(l, r) for each pair, as single compressions with the package's flags.
fn nodes(
    core: &mut Blake3Compress,
    keys: &MerkleKeys,
    pairs: &[[u32; 16]],
    seed: u64,
) -> Vec<[u32; 8]> {
    let inputs = pairs
        .iter()
        .map(|block| Compression {
            cv: keys.node,
            block: *block,
            counter: 0,
            block_len: 64,
            flags: keys.one_block_flags,
            tag: 0,
        })
        .collect();
    let mut work = Compressions::new(inputs);
    run(core, &mut work, &Traffic::stalls(seed)).unwrap();
    work.results
        .iter()
        .map(|r| core::array::from_fn(|i| r.unwrap()[i]))
        .collect()
}

/// The root of `leaves` with every hash on the core: LEAF of each, then levels of NODE,
/// carrying an odd last node; EMPTY for none.
fn rtl_root(
    core: &mut Blake3Compress,
    keys: &MerkleKeys,
    leaves: &[Vec<u8>],
    seed: u64,
) -> [u8; 32] {
    if leaves.is_empty() {
        let empty = Compression {
            cv: keys.empty,
            block: [0; 16],
            counter: 0,
            block_len: 0,
            flags: keys.one_block_flags,
            tag: 0,
        };
        let mut work = Compressions::new(vec![empty]);
        run(core, &mut work, &Traffic::stalls(seed)).unwrap();
        let state = work.results[0].unwrap();
        return le_bytes(&state[..8]).try_into().unwrap();
    }
    let requests: Vec<HashRequest> = leaves
        .iter()
        .map(|d| HashRequest::with_key(keys.leaf, DERIVE_KEY_MATERIAL, d))
        .collect();
    let (hashes, _) = hash_many(core, &requests, &Traffic::stalls(seed)).unwrap();
    let mut level: Vec<[u32; 8]> = hashes
        .iter()
        .map(|h| words_from_le_bytes_32(h.as_slice().try_into().unwrap()))
        .collect();
    while level.len() > 1 {
        let pairs: Vec<[u32; 16]> = level
            .chunks_exact(2)
            .map(|p| core::array::from_fn(|i| if i < 8 { p[0][i] } else { p[1][i - 8] }))
            .collect();
        let mut next = nodes(core, keys, &pairs, seed);
        if level.len() % 2 == 1 {
            next.push(level[level.len() - 1]);
        }
        level = next;
    }
    le_bytes_from_words_32(&level[0])
}

#[test]
fn merkle_leaf_and_node_hashes() {
    let keys = merkle_keys();
    let mut core = core();
    let mut rng = ChaCha8Rng::seed_from_u64(10);

    let lengths = [
        0usize, 1, 31, 32, 33, 63, 64, 65, 100, 1024, 1025, 1232, 3000,
    ];
    let leaves: Vec<Vec<u8>> = lengths
        .iter()
        .map(|&n| (0..n).map(|_| rng.gen()).collect())
        .collect();
    let requests: Vec<HashRequest> = leaves
        .iter()
        .map(|d| HashRequest::with_key(keys.leaf, DERIVE_KEY_MATERIAL, d))
        .collect();
    let (hashes, _) = hash_many(&mut core, &requests, &Traffic::stalls(10)).unwrap();
    for (d, h) in leaves.iter().zip(&hashes) {
        let want = blake3::Hasher::new_derive_key(LEAF_CONTEXT)
            .update(d)
            .finalize();
        assert_eq!(h.as_slice(), want.as_bytes(), "LEAF of {} bytes", d.len());
    }

    let pairs: Vec<[u32; 16]> = (0..50).map(|_| rng.gen()).collect();
    for (pair, got) in pairs.iter().zip(nodes(&mut core, &keys, &pairs, 11)) {
        let lr = le_bytes(pair);
        let want = blake3::Hasher::new_derive_key(NODE_CONTEXT)
            .update(&lr)
            .finalize();
        assert_eq!(le_bytes_from_words_32(&got), *want.as_bytes());
    }

    // NODE as a whole derive-key hash through the schedule gives the same.
    let lr = le_bytes(&pairs[0]);
    let (out, _) = hash_many(
        &mut core,
        &[HashRequest::with_key(keys.node, DERIVE_KEY_MATERIAL, &lr)],
        &Traffic::FULL,
    )
    .unwrap();
    assert_eq!(
        out[0].as_slice(),
        blake3::Hasher::new_derive_key(NODE_CONTEXT)
            .update(&lr)
            .finalize()
            .as_bytes()
    );

    // EMPTY.
    assert_eq!(
        rtl_root(&mut core, &keys, &[], 12),
        *blake3::Hasher::new_derive_key(EMPTY_CONTEXT)
            .finalize()
            .as_bytes()
    );
}

#[test]
fn merkle_roots_match_vigil_core() {
    let keys = merkle_keys();
    let mut core = core();
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    for n in [0usize, 1, 2, 3, 5, 8, 9, 1000] {
        let leaves: Vec<Vec<u8>> = (0..n)
            .map(|_| {
                let len = if rng.gen_ratio(1, 20) {
                    rng.gen_range(65..1300)
                } else {
                    rng.gen_range(0..=64)
                };
                (0..len).map(|_| rng.gen()).collect()
            })
            .collect();
        let want = merkle::root(&leaves.iter().collect::<Leaves>());
        assert_eq!(
            hex::encode(rtl_root(&mut core, &keys, &leaves, n as u64)),
            hex::encode(want),
            "root of {n} leaves"
        );
    }
}

/// A block of words from bytes, checked against the crate's own conversion (the driver's
/// helpers are part of what the hash tests rely on).
#[test]
fn driver_word_order_is_the_crates() {
    let bytes: [u8; 64] = core::array::from_fn(|i| (i * 37 + 5) as u8);
    assert_eq!(
        block_words(&bytes),
        blake3::platform::words_from_le_bytes_64(&bytes)
    );
    assert_eq!(le_bytes(&block_words(&bytes)), bytes.to_vec());
    let short = block_words(&bytes[..5]);
    assert_eq!(
        short[0],
        u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
    );
    assert_eq!(short[1], u32::from(bytes[4]));
    assert!(short[2..].iter().all(|&w| w == 0));
}
