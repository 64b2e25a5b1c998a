//! Every instruction set this CPU has against the reference crates, on random valid
//! signatures and on mutations of them (flipped bits in A, R, S and M; S + L; small-order
//! and non-canonical encodings), under every rule.
//!
//! A test of an instruction set the CPU lacks says so on stderr; with
//! `VIGIL_REQUIRE_ISA=<name>[,<name>]` (set it on a machine known to have them) it fails
//! instead, so a missing path can never pass silently.

#![allow(clippy::unwrap_used)]

use ed25519_dalek::{Signer, SigningKey, Verifier};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use vigil_simd::{Isa, Item, LaneVerifier, Rule};

fn reference(rule: Rule, pk: &[u8; 32], sig: &[u8; 64], msg: &[u8]) -> bool {
    match rule {
        Rule::Strict => ed25519_dalek::VerifyingKey::from_bytes(pk).is_ok_and(|k| {
            k.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(sig))
                .is_ok()
        }),
        Rule::Rfc8032 => ed25519_dalek::VerifyingKey::from_bytes(pk).is_ok_and(|k| {
            k.verify(msg, &ed25519_dalek::Signature::from_bytes(sig))
                .is_ok()
        }),
        Rule::Zip215 => ed25519_zebra::VerificationKey::try_from(*pk).is_ok_and(|k| {
            k.verify(&ed25519_zebra::Signature::from_bytes(sig), msg)
                .is_ok()
        }),
    }
}

/// The verifier for `isa`, or `None` after saying why on stderr (a failure when the
/// environment requires the instruction set).
pub fn verifier_or_skip(isa: Isa) -> Option<LaneVerifier> {
    let v = LaneVerifier::new(isa);
    if v.is_none() {
        assert!(
            !isa.required_by_env(),
            "VIGIL_REQUIRE_ISA names {isa} but this CPU lacks it"
        );
        eprintln!("NOT TESTED: this CPU lacks {isa}; its lane verifier was not run");
    }
    v
}

const SMALL_ORDER: [&str; 2] = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
];

fn cases(n: usize, seed: u64) -> Vec<([u8; 32], [u8; 64], Vec<u8>)> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let l: [u8; 32] = {
        let mut l = [0u8; 32];
        hex_into(
            "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010",
            &mut l,
        );
        l
    };
    (0..n)
        .map(|i| {
            let key = SigningKey::from_bytes(&rng.gen());
            let len = rng.gen_range(0..300);
            let mut msg: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            let mut sig = key.sign(&msg).to_bytes();
            let mut pk = key.verifying_key().to_bytes();
            match i % 12 {
                0..=3 => {}
                4 => pk[rng.gen_range(0..32)] ^= 1 << rng.gen_range(0..8),
                5 => sig[rng.gen_range(0..32)] ^= 1 << rng.gen_range(0..8),
                6 => sig[32 + rng.gen_range(0..32)] ^= 1 << rng.gen_range(0..8),
                7 => msg.push(1),
                8 => {
                    // S + L: the same point equation, S out of range.
                    let mut carry = 0u16;
                    for j in 0..32 {
                        let v = u16::from(sig[32 + j]) + u16::from(l[j]) + carry;
                        sig[32 + j] = (v & 0xff) as u8;
                        carry = v >> 8;
                    }
                }
                9 => hex_into(SMALL_ORDER[rng.gen_range(0..2)], &mut pk),
                10 => {
                    let mut r = [0u8; 32];
                    hex_into(SMALL_ORDER[rng.gen_range(0..2)], &mut r);
                    sig[..32].copy_from_slice(&r);
                }
                _ => {
                    // A non-canonical or random R or A.
                    let target = if rng.gen() {
                        &mut pk[..]
                    } else {
                        &mut sig[..32]
                    };
                    for b in target.iter_mut() {
                        *b = rng.gen();
                    }
                    if rng.gen() {
                        target[31] |= 0x7f;
                        target[1..31].fill(0xff);
                    }
                }
            }
            (pk, sig, msg)
        })
        .collect()
}

fn hex_into(h: &str, out: &mut [u8; 32]) {
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap();
    }
}

fn check(isa: Isa, n: usize, seed: u64) {
    let Some(v) = verifier_or_skip(isa) else {
        return;
    };
    let cases = cases(n, seed);
    let items: Vec<Item<'_>> = cases
        .iter()
        .map(|(pk, sig, msg)| Item {
            pubkey: pk,
            signature: sig,
            message: msg,
        })
        .collect();
    for rule in [Rule::Strict, Rule::Rfc8032, Rule::Zip215] {
        let mut out = vec![false; items.len()];
        v.verify(rule, &items, &mut out);
        let mut valid = 0;
        for (i, (c, got)) in cases.iter().zip(&out).enumerate() {
            let want = reference(rule, &c.0, &c.1, &c.2);
            valid += usize::from(want);
            assert_eq!(*got, want, "{isa} {rule:?} case {i} ({} mod 12)", i % 12);
        }
        assert!(valid > n / 4, "{rule:?}: only {valid} valid of {n}");
    }
}

#[test]
fn ifma_matches_the_references() {
    check(Isa::Ifma, 3000, 1);
}

#[test]
fn avx2_matches_the_references() {
    check(Isa::Avx2, 3000, 2);
}
