//! Testbench of `hdl/rtl/vigil_sha512_core.sv`, against the `sha2` crate and
//! `curve25519-dalek`.
//!
//! - Every block-boundary length (0, 1, 111, 112, 113, 127, 128, 129, 239, 240, 255,
//!   256, 257, 4095, 4096) and random lengths 0..=4200: the digest against
//!   `sha2::Sha512`, k against `Scalar::from_bytes_mod_order_wide(&digest)`, the tag
//!   returned, under random input stalls and output backpressure
//!   (`vigil_hdl_sim::sha512_core::hash_messages` checks the handshakes every cycle).
//! - Ed25519-shaped messages R || A || M.
//! - Reset drops a message in progress.
//! - Cycle counts with no stalls, printed: per 128-byte block, and for a 296-byte
//!   R || A || M.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use curve25519_dalek::Scalar;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha512};
use vigil_hdl_sim::sha512_core::{hash_messages, words, Output, Sha512Core};
use vigil_hdl_sim::Traffic;

fn core() -> Sha512Core {
    Sha512Core::new().unwrap_or_else(|e| panic!("{e}"))
}

fn check(out: &Output, msg: &[u8], tag: u32) {
    let digest: [u8; 64] = Sha512::digest(msg).into();
    assert_eq!(
        hex::encode(out.digest),
        hex::encode(digest),
        "digest of {} bytes (tag {tag:#x})",
        msg.len()
    );
    let k = Scalar::from_bytes_mod_order_wide(&digest).to_bytes();
    assert_eq!(
        hex::encode(out.k),
        hex::encode(k),
        "k of {} bytes",
        msg.len()
    );
    assert_eq!(out.tag, tag, "tag of the {}-byte message", msg.len());
}

fn run_and_check(messages: &[(Vec<u8>, u32)], traffic: Traffic) {
    let mut core = core();
    let outs = hash_messages(&mut core, messages, traffic).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outs.len(), messages.len());
    for (out, (msg, tag)) in outs.iter().zip(messages) {
        check(out, msg, *tag);
    }
}

fn random_message(rng: &mut ChaCha8Rng, len: usize) -> Vec<u8> {
    let mut m = vec![0u8; len];
    rng.fill(&mut m[..]);
    m
}

const BOUNDARIES: &[usize] = &[
    0, 1, 7, 8, 9, 111, 112, 113, 119, 120, 127, 128, 129, 239, 240, 255, 256, 257, 4095, 4096,
];

#[test]
fn block_boundary_lengths() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let messages: Vec<(Vec<u8>, u32)> = BOUNDARIES
        .iter()
        .zip(0u32..)
        .map(|(&len, i)| (random_message(&mut rng, len), 0xB000_0000 | i))
        .collect();
    run_and_check(&messages, Traffic::FULL);
    run_and_check(&messages, Traffic::stalls(2));
    // Constant-byte messages too: all zeros and all ones.
    let fixed: Vec<(Vec<u8>, u32)> = BOUNDARIES
        .iter()
        .zip(0u32..)
        .flat_map(|(&len, i)| [(vec![0u8; len], 2 * i), (vec![0xFF; len], 2 * i + 1)])
        .collect();
    run_and_check(&fixed, Traffic::stalls(3));
}

#[test]
fn random_lengths() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let messages: Vec<(Vec<u8>, u32)> = (0..60u32)
        .map(|i| {
            let len = rng.gen_range(0..=4200);
            (random_message(&mut rng, len), rng.gen::<u32>() ^ i)
        })
        .collect();
    run_and_check(&messages, Traffic::stalls(5));
    let short: Vec<(Vec<u8>, u32)> = (0..200u32)
        .map(|i| {
            let len = rng.gen_range(0..=300);
            (random_message(&mut rng, len), i)
        })
        .collect();
    run_and_check(
        &short,
        Traffic {
            in_valid_percent: 50,
            out_ready_percent: 30,
            seed: 6,
        },
    );
}

#[test]
fn ed25519_messages() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let messages: Vec<(Vec<u8>, u32)> = (0..40u32)
        .map(|i| {
            let m_len = rng.gen_range(0..=400);
            (random_message(&mut rng, 64 + m_len), i)
        })
        .collect();
    run_and_check(&messages, Traffic::stalls(9));
}

#[test]
fn reset_drops_a_message_in_progress() {
    let mut core = core();
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let first = random_message(&mut rng, 200);
    // Feed part of a message, then reset.
    for w in words(&first, 1).iter().take(20) {
        while !core.cycle(Some(w), true).accepted {}
    }
    core.reset();
    let second = random_message(&mut rng, 50);
    let outs = hash_messages(&mut core, &[(second.clone(), 2)], Traffic::FULL).unwrap();
    check(&outs[0], &second, 2);
}

/// Cycles from the first word offered to the result taken, no stalls.
fn cycles_for(len: usize) -> u64 {
    let mut core = core();
    let msg = vec![0x5Au8; len];
    let before = core.cycles();
    let outs = hash_messages(&mut core, &[(msg.clone(), 0)], Traffic::FULL).unwrap();
    check(&outs[0], &msg, 0);
    core.cycles() - before
}

#[test]
fn cycle_counts() {
    let one = cycles_for(100);
    let two = cycles_for(228);
    let per_block = two - one;
    let ed = cycles_for(64 + 32 + 200);
    println!("vigil_sha512_core: {per_block} cycles per 128-byte block (streaming input)");
    println!("vigil_sha512_core: 100-byte message (1 block): {one} cycles, first word to result");
    println!("vigil_sha512_core: 296-byte R || A || M (3 blocks): {ed} cycles");
    // 16 load + 80 rounds + 1 feed-forward.
    assert_eq!(per_block, 97);
    // Two more blocks; its last block loads 5 words where the 100-byte one loads 13.
    assert_eq!(ed, one + 2 * per_block - (13 - 5));
}
