//! Testbench of `hdl/rtl/vigil_merkle_engine.sv`, against `vigil_core::merkle` (the CPU
//! oracle: the `blake3` crate in derive-key mode, the CT tree shape), which shares no
//! code with the RTL.
//!
//! - MERKLE_ROOT: every tree size docs/MERKLE.md pins (0, 1, 2, 3, 4, 5, 7, 8, 9, 1000
//!   leaves), leaf lengths on and around every block and chunk boundary up to
//!   `MaxLeafBytes`, garbage in the final word's padding, and random trees.
//! - MERKLE_NODES: roots over given level-0 nodes, against the CPU oracle's reduction
//!   with `vigil_core::merkle::root_of_nodes`, up to `MaxLeaves` nodes.
//! - Leaves hashed at once (the engine's contexts and block queues): many long leaves
//!   back to back (every context busy, queues full, the input held back), long and
//!   short leaves mixed, a short leaf right after long ones, `MaxLeafBytes` leaves
//!   around a one-byte leaf.
//! - Every error status (BAD_HEADER, TOO_MANY, TOO_LONG, FRAME_SHORT, FRAME_LONG), each
//!   followed by a good request on the same engine that must give the right root; the
//!   stream errors also with several long leaves in flight.
//! - Cycle counts for hdl/README.md (`cargo test -p vigil-hdl-sim --test
//!   vigil_merkle_engine -- --nocapture cycle_counts`), with the roots, the exact
//!   number of compressions and the exact cycles asserted.
//!
//! Every run but the cycle counts stalls the input and the output at random; the driver
//! (`vigil_hdl_sim::merkle_engine::run`) checks the handshake contract on every cycle.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vigil_core::batch::Leaves;
use vigil_core::merkle;
use vigil_hdl_sim::merkle_engine::{
    nodes_request, root_request, run, status, MerkleEngine, Outcome, Request, MAX_LEAF_BYTES,
    MAX_LEAVES,
};
use vigil_hdl_sim::Traffic;

/// Random stalls on both sides, at this testbench's rates (the engine's input is
/// offered in 70 % of cycles and its result taken in 60 %).
fn stalls(seed: u64) -> Traffic {
    Traffic {
        in_valid_percent: 70,
        out_ready_percent: 60,
        seed,
    }
}

fn engine() -> MerkleEngine {
    MerkleEngine::new().unwrap_or_else(|e| panic!("{e}"))
}

fn leaves_of(list: &[Vec<u8>]) -> Leaves {
    let mut leaves = Leaves::default();
    for l in list {
        leaves.push(l).unwrap();
    }
    leaves
}

fn random_leaves(rng: &mut ChaCha8Rng, n: usize, max_len: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|_| {
            let len = rng.gen_range(0..=max_len);
            (0..len).map(|_| rng.gen()).collect()
        })
        .collect()
}

fn request_of(list: &[Vec<u8>]) -> Request {
    root_request(list.iter().map(Vec::as_slice))
}

fn send(e: &mut MerkleEngine, request: &Request, traffic: &Traffic) -> Outcome {
    run(e, request, traffic).unwrap_or_else(|err| panic!("{err}"))
}

/// Sends the MERKLE_ROOT request of `list` and checks its root against the oracle.
fn check_root(e: &mut MerkleEngine, list: &[Vec<u8>], traffic: &Traffic) -> Outcome {
    let out = send(e, &request_of(list), traffic);
    let expected = merkle::root(&leaves_of(list));
    assert_eq!(out.response.status, status::OK, "{} leaves", list.len());
    assert_eq!(
        hex::encode(out.response.root),
        hex::encode(expected),
        "root of {} leaves (lengths {:?})",
        list.len(),
        list.iter().map(Vec::len).take(20).collect::<Vec<_>>()
    );
    out
}

fn bytes(rng: &mut ChaCha8Rng, len: usize) -> Vec<u8> {
    (0..len).map(|_| rng.gen()).collect()
}

fn random_nodes(rng: &mut ChaCha8Rng, n: usize) -> Vec<[u8; 32]> {
    (0..n).map(|_| rng.gen()).collect()
}

/// BLAKE3 compressions of one leaf: a block per 64 bytes of each chunk (at least one),
/// and a parent per chunk after the first.
fn leaf_compressions(len: usize) -> u64 {
    let chunks = len.div_ceil(1024).max(1);
    let blocks: usize = (0..chunks)
        .map(|c| (len - (c * 1024).min(len)).min(1024).div_ceil(64).max(1))
        .sum();
    (blocks + chunks - 1) as u64
}

#[test]
fn merkle_md_sizes() {
    let mut e = engine();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for (i, n) in [0usize, 1, 2, 3, 4, 5, 7, 8, 9, 1000]
        .into_iter()
        .enumerate()
    {
        let list = random_leaves(&mut rng, n, 160);
        check_root(&mut e, &list, &stalls(100 + i as u64));
    }
}

#[test]
fn leaf_lengths_across_boundaries() {
    let mut e = engine();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let lengths = [
        0usize,
        1,
        7,
        8,
        63,
        64,
        65,
        127,
        128,
        1023,
        1024,
        1025,
        2047,
        2048,
        3000,
        4096,
        5000,
        MAX_LEAF_BYTES,
    ];
    let list: Vec<Vec<u8>> = lengths
        .iter()
        .map(|&len| (0..len).map(|_| rng.gen()).collect())
        .collect();
    // Each alone (count 1: the root is the leaf's hash), then all in one tree.
    for (i, leaf) in list.iter().enumerate() {
        let out = check_root(&mut e, std::slice::from_ref(leaf), &stalls(i as u64));
        assert_eq!(out.response.root, merkle::leaf_hash(leaf));
    }
    check_root(&mut e, &list, &stalls(99));
}

#[test]
fn padding_bytes_are_ignored() {
    let mut e = engine();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let list: Vec<Vec<u8>> = [1usize, 5, 63, 100, 1027]
        .iter()
        .map(|&len| (0..len).map(|_| rng.gen()).collect())
        .collect();
    let mut request = request_of(&list);
    // Fill the padding of each leaf's final word with ones.
    let mut at = 1;
    for leaf in &list {
        let words = leaf.len().div_ceil(8);
        at += 1 + words;
        let used = leaf.len() % 8;
        if used != 0 {
            request.words[at - 1] |= u64::MAX << (8 * used);
        }
    }
    assert_eq!(at, request.words.len());
    let out = send(&mut e, &request, &stalls(7));
    assert_eq!(out.response.status, status::OK);
    assert_eq!(out.response.root, merkle::root(&leaves_of(&list)));
}

#[test]
fn random_trees() {
    let mut e = engine();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for t in 0..8u64 {
        let n = rng.gen_range(0..=300);
        let list = random_leaves(&mut rng, n, 2500);
        check_root(&mut e, &list, &stalls(1000 + t));
    }
    // Many small trees: sizes and lengths where the edge cases are dense.
    for t in 0..40u64 {
        let n = rng.gen_range(0..=40);
        let list = random_leaves(&mut rng, n, 200);
        check_root(&mut e, &list, &stalls(2000 + t));
    }
}

#[test]
fn nodes_mode() {
    let mut e = engine();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for (i, n) in [0usize, 1, 2, 3, 4, 5, 7, 8, 9, 31, 1000, MAX_LEAVES]
        .into_iter()
        .enumerate()
    {
        let nodes = random_nodes(&mut rng, n);
        let out = send(&mut e, &nodes_request(&nodes), &stalls(i as u64));
        assert_eq!(out.response.status, status::OK, "{n} nodes");
        assert_eq!(
            out.response.root,
            merkle::root_of_nodes(&nodes),
            "{n} nodes"
        );
    }
    // The same leaf hashes through both modes give the same root.
    let list = random_leaves(&mut rng, 13, 100);
    let hashes: Vec<[u8; 32]> = list.iter().map(|l| merkle::leaf_hash(l)).collect();
    let out = send(&mut e, &nodes_request(&hashes), &stalls(50));
    assert_eq!(out.response.root, merkle::root(&leaves_of(&list)));
}

/// Sends `bad`, expects `code` with a zero root and all words taken, then a good request.
fn error_then_good(e: &mut MerkleEngine, bad: &Request, code: u8, seed: u64) {
    error_then_good_with(e, bad, code, seed, &stalls(seed));
}

/// [`error_then_good`] with the bad request sent under `traffic`.
fn error_then_good_with(
    e: &mut MerkleEngine,
    bad: &Request,
    code: u8,
    seed: u64,
    traffic: &Traffic,
) {
    let out = send(e, bad, traffic);
    assert_eq!(
        out.response.status,
        code,
        "request {:x?}",
        &bad.words[..bad.words.len().min(8)]
    );
    assert_eq!(out.response.root, [0u8; 32]);
    assert_eq!(out.words_taken, bad.words.len());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = rng.gen_range(1..=12);
    let list = random_leaves(&mut rng, n, 300);
    check_root(e, &list, &stalls(seed + 1));
}

#[test]
fn errors_keep_sync() {
    let mut e = engine();
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let good = request_of(&random_leaves(&mut rng, 5, 100));
    let big = request_of(&[(0..3000).map(|_| rng.gen()).collect(), vec![1, 2, 3]]);
    let nodes = nodes_request(&random_nodes(&mut rng, 6));

    // BAD_HEADER: with a payload to discard, and alone.
    let mut bad = good.clone();
    bad.words[0] |= 1 << 32;
    error_then_good(&mut e, &bad, status::BAD_HEADER, 10);
    let bad = Request {
        words: vec![(1 << 63) | 2],
        nodes: false,
    };
    error_then_good(&mut e, &bad, status::BAD_HEADER, 11);
    let mut bad = nodes.clone();
    bad.words[0] |= 1 << 40;
    error_then_good(&mut e, &bad, status::BAD_HEADER, 12);

    // TOO_MANY: MaxLeaves + 1 empty leaves; MaxLeaves + 1 nodes declared; alone.
    let empties = vec![Vec::new(); MAX_LEAVES + 1];
    error_then_good(&mut e, &request_of(&empties), status::TOO_MANY, 20);
    let mut bad = nodes.clone();
    bad.words[0] = MAX_LEAVES as u64 + 1;
    error_then_good(&mut e, &bad, status::TOO_MANY, 21);
    let bad = Request {
        words: vec![u64::from(u32::MAX)],
        nodes: false,
    };
    error_then_good(&mut e, &bad, status::TOO_MANY, 22);
    // ... and exactly MaxLeaves empty leaves is fine.
    check_root(&mut e, &empties[..MAX_LEAVES], &stalls(23));

    // TOO_LONG: a length of MaxLeafBytes + 1 (the rest of the frame discarded), a
    // length with bits 63:32 set, and as the frame's last word. After a multi-chunk
    // leaf, so its compressions are in flight when the error comes.
    let mut bad = big.clone();
    let second = 2 + 3000 / 8; // the second leaf's length word
    bad.words[second] = MAX_LEAF_BYTES as u64 + 1;
    error_then_good(&mut e, &bad, status::TOO_LONG, 30);
    let mut bad = good.clone();
    bad.words[1] |= 1 << 32;
    error_then_good(&mut e, &bad, status::TOO_LONG, 31);
    let bad = Request {
        words: vec![1, MAX_LEAF_BYTES as u64 + 1],
        nodes: false,
    };
    error_then_good(&mut e, &bad, status::TOO_LONG, 32);

    // FRAME_SHORT: cut after word 1, inside a leaf's data (mid multi-chunk leaf), at a
    // length word, inside a node, before the last node.
    for (i, (req, keep)) in [
        (&good, 1),
        (&big, 200),
        (&big, second),
        (&big, second + 1),
        (&good, good.words.len() - 1),
        (&nodes, 3),
        (&nodes, nodes.words.len() - 4),
        (&nodes, nodes.words.len() - 1),
    ]
    .into_iter()
    .enumerate()
    {
        let mut bad = req.clone();
        bad.words.truncate(keep);
        error_then_good(&mut e, &bad, status::FRAME_SHORT, 40 + 2 * i as u64);
    }

    // FRAME_LONG: one or more words past the contents, for each kind of final word
    // (data word, empty leaf's length word, node word, word 1 of count 0).
    let with_empty_last = request_of(&[vec![9; 20], Vec::new()]);
    let count0 = Request {
        words: vec![0],
        nodes: false,
    };
    let count0_nodes = Request {
        words: vec![0],
        nodes: true,
    };
    for (i, (req, extra)) in [
        (&good, 1),
        (&big, 5),
        (&with_empty_last, 1),
        (&nodes, 2),
        (&count0, 1),
        (&count0_nodes, 3),
    ]
    .into_iter()
    .enumerate()
    {
        let mut bad = req.clone();
        bad.words
            .extend(std::iter::repeat_n(0xFFFF_FFFF_FFFF_FFFF, extra));
        error_then_good(&mut e, &bad, status::FRAME_LONG, 60 + 2 * i as u64);
    }
    // Stream errors with several long leaves in flight: 10 leaves of 3000 bytes (376
    // words each with the length word) sent without stalls, so every context is busy
    // and queues are full when the error comes; then an 11th leaf of 3 bytes.
    let mut longs: Vec<Vec<u8>> = (0..10).map(|_| bytes(&mut rng, 3000)).collect();
    longs.push(vec![4, 5, 6]);
    let many = request_of(&longs);
    let eleventh = 1 + 10 * 376; // the 11th leaf's length word
    assert_eq!(many.words[eleventh], 3);
    let mut bad = many.clone();
    bad.words[eleventh] = MAX_LEAF_BYTES as u64 + 1;
    error_then_good_with(&mut e, &bad, status::TOO_LONG, 90, &Traffic::FULL);
    for (i, keep) in [3000, eleventh, eleventh + 1].into_iter().enumerate() {
        let mut bad = many.clone();
        bad.words.truncate(keep);
        error_then_good_with(
            &mut e,
            &bad,
            status::FRAME_SHORT,
            92 + 2 * i as u64,
            &Traffic::FULL,
        );
    }
    let mut bad = many.clone();
    bad.words.extend([0, 0, 0]);
    error_then_good_with(&mut e, &bad, status::FRAME_LONG, 98, &Traffic::FULL);
    // Cut inside a MaxLeafBytes leaf whose queue is full, after two long leaves.
    let mut bad = request_of(&[
        bytes(&mut rng, 5000),
        bytes(&mut rng, 2100),
        bytes(&mut rng, MAX_LEAF_BYTES),
    ]);
    bad.words.truncate(4000);
    error_then_good_with(&mut e, &bad, status::FRAME_SHORT, 100, &Traffic::FULL);

    // The good requests themselves, for the record.
    let out = send(&mut e, &with_empty_last, &stalls(80));
    assert_eq!(out.response.status, status::OK);
    let out = send(&mut e, &count0_nodes, &stalls(81));
    assert_eq!(out.response.root, merkle::empty_root());
}

/// Several leaves in flight at once, each in its own context with its blocks queued.
#[test]
fn interleaved_leaves() {
    let mut e = engine();
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    // 24 leaves of 2..6 KiB without stalls: more leaves than contexts, each leaf more
    // blocks than its queue holds, so the input must be held back at times.
    let list: Vec<Vec<u8>> = (0..24)
        .map(|_| {
            let len = rng.gen_range(2049..=6000);
            bytes(&mut rng, len)
        })
        .collect();
    let out = check_root(&mut e, &list, &Traffic::FULL);
    assert!(out.in_waits > 0, "no backpressure from full queues");
    check_root(&mut e, &list, &stalls(300));
    // Long and short leaves mixed, with and without stalls.
    for t in 0..6u64 {
        let n = rng.gen_range(10..=40);
        let list: Vec<Vec<u8>> = (0..n)
            .map(|_| {
                let len = match rng.gen_range(0..4) {
                    0 => rng.gen_range(0..=64),
                    1 => rng.gen_range(65..=1024),
                    2 => rng.gen_range(1025..=4096),
                    _ => rng.gen_range(4097..=9000),
                };
                bytes(&mut rng, len)
            })
            .collect();
        let traffic = if t % 2 == 0 {
            Traffic::FULL
        } else {
            stalls(310 + t)
        };
        check_root(&mut e, &list, &traffic);
    }
    // A short leaf and an empty one right after 9 long ones (every context busy).
    let mut list: Vec<Vec<u8>> = (0..9).map(|_| bytes(&mut rng, 3000)).collect();
    list.push(bytes(&mut rng, 10));
    list.push(Vec::new());
    check_root(&mut e, &list, &Traffic::FULL);
    // Two leaves of MaxLeafBytes around a one-byte leaf.
    let list = vec![
        bytes(&mut rng, MAX_LEAF_BYTES),
        vec![7],
        bytes(&mut rng, MAX_LEAF_BYTES),
    ];
    check_root(&mut e, &list, &Traffic::FULL);
}

#[test]
fn cycle_counts() {
    let mut e = engine();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    println!(
        "vigil_merkle_engine, no stalls: cycles from the first word offered to the result taken"
    );
    // Measured (hdl/README.md): a change of any figure is a change of the design.
    for (len, cycles) in [(64usize, 10_361u64), (200, 27_440), (1232, 156_856)] {
        let list: Vec<Vec<u8>> = (0..1000)
            .map(|_| (0..len).map(|_| rng.gen()).collect())
            .collect();
        let out = check_root(&mut e, &list, &Traffic::FULL);
        let expected = 1000 * leaf_compressions(len) + 999;
        assert_eq!(
            out.compressions, expected,
            "compressions, 1000 leaves of {len}"
        );
        println!(
            "  MERKLE_ROOT  1000 leaves of {len:>4} bytes: {:>7} words, {:>7} cycles, {:>6} compressions ({:.2} cycles/leaf), input held {} cycles",
            out.words_taken,
            out.cycles,
            out.compressions,
            out.cycles as f64 / 1000.0,
            out.in_waits
        );
        assert_eq!(out.cycles, cycles, "cycles, 1000 leaves of {len}");
    }
    // Leaves longer than a queue's backlog (32 blocks): the input waits for the chain.
    let list: Vec<Vec<u8>> = (0..100).map(|_| bytes(&mut rng, 4096)).collect();
    let out = check_root(&mut e, &list, &Traffic::FULL);
    assert_eq!(out.compressions, 100 * leaf_compressions(4096) + 99);
    println!(
        "  MERKLE_ROOT   100 leaves of 4096 bytes: {:>7} words, {:>7} cycles, {:>6} compressions ({:.2} cycles/leaf), input held {} cycles",
        out.words_taken,
        out.cycles,
        out.compressions,
        out.cycles as f64 / 100.0,
        out.in_waits
    );
    assert_eq!(out.cycles, 102_580, "cycles, 100 leaves of 4096");
    let nodes = random_nodes(&mut rng, 1000);
    let out = send(&mut e, &nodes_request(&nodes), &Traffic::FULL);
    assert_eq!(out.response.root, merkle::root_of_nodes(&nodes));
    assert_eq!(out.compressions, 999);
    println!(
        "  MERKLE_NODES 1000 nodes:                 {:>7} words, {:>7} cycles, {:>6} compressions",
        out.words_taken, out.cycles, out.compressions
    );
    assert_eq!(out.cycles, 5_329, "cycles, 1000 nodes");
    let out = send(
        &mut e,
        &Request {
            words: vec![0],
            nodes: false,
        },
        &Traffic::FULL,
    );
    assert_eq!(out.response.root, merkle::empty_root());
    assert_eq!(out.compressions, 1);
    println!(
        "  MERKLE_ROOT  0 leaves (EMPTY):           {:>7} cycles",
        out.cycles
    );
    assert_eq!(out.cycles, 37, "cycles, EMPTY");
}
