//! Signatures to check the program and the engine with, and the job the card's front end
//! makes of each: every edge case in `testdata/` (through `vigil_core::conformance`),
//! the Wycheproof vectors, and seeded random honest and broken signatures. The model's
//! tests, the engine's testbench and the card's testbench all draw from here, so each
//! is held to the reference verifiers on the same cases.

use ed25519_dalek::Signer as _;
use num_bigint::BigUint;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha512};
use vigil_core::conformance::{EDGE_JSONL, WYCHEPROOF_JSON};
use vigil_core::profile::Profile;

use crate::field;
use crate::model::{self, Job};

/// The engine's code of a profile.
pub fn profile_code(p: Profile) -> u8 {
    match p {
        Profile::Strict => model::profile::STRICT,
        Profile::Rfc8032 => model::profile::RFC8032,
        Profile::Zip215 => model::profile::ZIP215,
    }
}

/// Half `i` of a signature: R (0) or S (1).
fn half(sig: &[u8; 64], i: usize) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&sig[32 * i..32 * i + 32]);
    out
}

/// The bytes of the hex string at `v[key]`, if it is one.
fn bytes(v: &serde_json::Value, key: &str) -> Option<Vec<u8>> {
    hex::decode(v[key].as_str()?).ok()
}

fn text<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

fn items(v: &serde_json::Value) -> impl Iterator<Item = &serde_json::Value> {
    v.as_array().into_iter().flatten()
}

/// The job the card's front end makes of a signature: k = SHA-512(R || A || M) mod L.
pub fn job(profile: Profile, pk: &[u8; 32], sig: &[u8; 64], msg: &[u8]) -> Job {
    let mut h = Sha512::new();
    h.update(&sig[..32]);
    h.update(pk);
    h.update(msg);
    let k = BigUint::from_bytes_le(&h.finalize()) % field::l();
    Job {
        profile: profile_code(profile),
        s: half(sig, 1),
        k: field::le_bytes(&k),
        a: *pk,
        r: half(sig, 0),
    }
}

/// One signature to verify.
#[derive(Debug, Clone)]
pub struct Case {
    /// Where it comes from.
    pub name: String,
    /// The public key A.
    pub pk: [u8; 32],
    /// R || S.
    pub sig: [u8; 64],
    /// The message.
    pub msg: Vec<u8>,
}

/// Every signature of every edge case in `testdata/edge` (malformed lengths skipped).
pub fn edge_cases() -> Vec<Case> {
    let mut out = Vec::new();
    for line in EDGE_JSONL.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let Some(msg) = bytes(&v, "msg") else {
            continue;
        };
        for (i, s) in items(&v["signers"]).enumerate() {
            let (Ok(pk), Ok(sig)) = (
                <[u8; 32]>::try_from(bytes(s, "pubkey").unwrap_or_default()),
                <[u8; 64]>::try_from(bytes(s, "sig").unwrap_or_default()),
            ) else {
                continue;
            };
            out.push(Case {
                name: format!("{}#{i}", text(&v, "id")),
                pk,
                sig,
                msg: msg.clone(),
            });
        }
    }
    out
}

/// Every Wycheproof test with a 32-byte key and a 64-byte signature.
pub fn wycheproof_cases() -> Vec<Case> {
    let v: serde_json::Value = serde_json::from_str(WYCHEPROOF_JSON).unwrap_or_default();
    let mut out = Vec::new();
    for g in items(&v["testGroups"]) {
        let Ok(pk) = <[u8; 32]>::try_from(bytes(&g["publicKey"], "pk").unwrap_or_default()) else {
            continue;
        };
        for t in items(&g["tests"]) {
            let Ok(sig) = <[u8; 64]>::try_from(bytes(t, "sig").unwrap_or_default()) else {
                continue;
            };
            out.push(Case {
                name: format!("wycheproof {}", t["tcId"]),
                pk,
                sig,
                msg: bytes(t, "msg").unwrap_or_default(),
            });
        }
    }
    out
}

/// Honest signatures and broken ones: flipped bits in R, S, A or the message, S + L.
pub fn random_cases(n: usize, seed: u64) -> Vec<Case> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let mut secret = [0u8; 32];
            rng.fill_bytes(&mut secret);
            let key = ed25519_dalek::SigningKey::from_bytes(&secret);
            let mut msg = vec![0u8; rng.gen_range(0..200)];
            rng.fill_bytes(&mut msg);
            let mut sig = key.sign(&msg).to_bytes();
            let mut pk = key.verifying_key().to_bytes();
            match i % 6 {
                0 | 1 => {}
                2 => sig[rng.gen_range(0..32)] ^= 1 << rng.gen_range(0..8),
                3 => sig[32 + rng.gen_range(0..32)] ^= 1 << rng.gen_range(0..8),
                4 => pk[rng.gen_range(0..32)] ^= 1 << rng.gen_range(0..8),
                _ => {
                    let s = BigUint::from_bytes_le(&sig[32..]) + field::l();
                    sig[32..].copy_from_slice(&field::le_bytes(&s));
                }
            }
            Case {
                name: format!("random {i}"),
                pk,
                sig,
                msg,
            }
        })
        .collect()
}
