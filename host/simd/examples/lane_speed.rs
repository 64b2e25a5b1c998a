//! Single-thread throughput of each lane verifier this CPU runs against
//! ed25519-dalek `verify_strict`, on the same signatures, interleaved, and the share of
//! SHA-512(R || A || M) in a verification (the hash alone, timed on the same data):
//! `cargo run --release -p vigil-simd --example lane_speed [COUNT] [MSG_LEN]`.

#![allow(clippy::unwrap_used)]

use std::time::Instant;

use ed25519_dalek::{Signer, SigningKey};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha512};
use vigil_simd::{Isa, Item, LaneVerifier, Rule};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(20_000, |a| a.parse().unwrap());
    let len: usize = args.next().map_or(200, |a| a.parse().unwrap());
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let data: Vec<([u8; 32], [u8; 64], Vec<u8>)> = (0..n)
        .map(|_| {
            let key = SigningKey::from_bytes(&rng.gen());
            let msg: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            (
                key.verifying_key().to_bytes(),
                key.sign(&msg).to_bytes(),
                msg,
            )
        })
        .collect();
    let items: Vec<Item<'_>> = data
        .iter()
        .map(|(pubkey, signature, message)| Item {
            pubkey,
            signature,
            message,
        })
        .collect();
    for round in 0..3 {
        let t = Instant::now();
        let ok = data
            .iter()
            .filter(|(pk, sig, msg)| {
                ed25519_dalek::VerifyingKey::from_bytes(pk)
                    .unwrap()
                    .verify_strict(msg, &ed25519_dalek::Signature::from_bytes(sig))
                    .is_ok()
            })
            .count();
        let base = n as f64 / t.elapsed().as_secs_f64();
        assert_eq!(ok, n);
        println!("round {round}: dalek verify_strict {base:.0}/s");
        let t = Instant::now();
        let mut acc = 0u8;
        for (pk, sig, msg) in &data {
            let mut h = Sha512::new();
            h.update(&sig[..32]);
            h.update(pk);
            h.update(msg);
            acc ^= h.finalize()[0];
        }
        let hash_s = t.elapsed().as_secs_f64() / n as f64;
        std::hint::black_box(acc);
        for isa in [Isa::Ifma, Isa::Avx2] {
            let Some(v) = LaneVerifier::new(isa) else {
                println!("  {isa}: not on this CPU");
                continue;
            };
            for rule in [Rule::Strict, Rule::Rfc8032, Rule::Zip215] {
                let mut out = vec![false; n];
                let t = Instant::now();
                v.verify(rule, &items, &mut out);
                let r = n as f64 / t.elapsed().as_secs_f64();
                assert!(out.iter().all(|&b| b));
                println!(
                    "  {isa} {rule:?}: {r:.0}/s ({:.2}x; SHA-512 {:.1} % of it)",
                    r / base,
                    100.0 * hash_s * r
                );
            }
        }
    }
}
