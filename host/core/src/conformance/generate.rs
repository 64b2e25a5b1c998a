//! The seeded generator: random and adversarial transactions (the `generated` set) and
//! Solana wire transactions (the `solana` set), each with the reference crates' verdicts.
//!
//! The fixed vector files cover known edge cases; this covers the space between them,
//! reproducibly from a seed, so a failure found once is found again. The adversarial
//! points and encodings come from [`crate::craft`] and the Solana wire bytes from
//! [`crate::synth`]; neither of them depends on this module.

use std::ops::Range;

use ed25519_dalek::Signer as _;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;

use super::case::{reference_all, Case};
use crate::batch::Signer;
use crate::profile::Profile;
use crate::synth::{self, Format, SynthSpec, SynthTx};

/// Generated transactions made from one RNG stream.
pub(super) const GEN_BLOCK: usize = 256;

/// Generated transactions `range` (by global index) for `seed`. Transaction `i` depends
/// only on `seed` and `i`'s block, so windows are made in parallel and reproducibly.
pub(super) fn generate(seed: u64, range: Range<usize>) -> Vec<Case> {
    let first_block = range.start / GEN_BLOCK;
    let last_block = range.end.div_ceil(GEN_BLOCK);
    (first_block..last_block)
        .into_par_iter()
        .flat_map_iter(|block| {
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            rng.set_stream(block as u64);
            let lo = block * GEN_BLOCK;
            let hi = lo + GEN_BLOCK;
            let mut out = Vec::new();
            for i in lo..hi {
                // Draw every transaction of the block so each index's stream position
                // is fixed, keep those asked for.
                let case = generate_one(&mut rng, i);
                if range.contains(&i) {
                    out.push(case);
                }
            }
            out
        })
        .collect()
}

fn generate_one(rng: &mut ChaCha20Rng, index: usize) -> Case {
    let len = if rng.gen_ratio(1, 20) {
        rng.gen_range(301..=4096)
    } else {
        rng.gen_range(0..=300)
    };
    let mut msg = vec![0u8; len];
    rng.fill_bytes(&mut msg);
    if rng.gen_ratio(1, 100) {
        return Case {
            id: format!("gen-{index} [malformed]"),
            msg,
            signers: Vec::new(),
            malformed: Some("generated: unparseable transaction".into()),
            wire: None,
            expect: Default::default(),
        };
    }
    let n = rng.gen_range(1..=4);
    let mut signers = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n + 1);
    for _ in 0..n {
        let (signer, label) = generate_signer(rng, &msg);
        signers.push(signer);
        labels.push(label);
    }
    match rng.gen_range(0..100) {
        0..=2 => {
            if msg.is_empty() {
                msg.push(rng.gen());
            } else {
                let bit = rng.gen_range(0..msg.len() * 8);
                msg[bit / 8] ^= 1 << (bit % 8);
            }
            labels.push("tx:message-bit-flip");
        }
        3..=4 if n >= 2 => {
            let (a, b) = (signers[0].signature, signers[n - 1].signature);
            signers[0].signature = b;
            signers[n - 1].signature = a;
            labels.push("tx:signatures-swapped");
        }
        5 if n >= 2 => {
            let (a, b) = (signers[0].pubkey, signers[1].pubkey);
            signers[0].pubkey = b;
            signers[1].pubkey = a;
            labels.push("tx:keys-swapped");
        }
        6 if n >= 2 => {
            signers[1] = signers[0];
            labels.push("tx:duplicate-signer");
        }
        _ => {}
    }
    let expect = reference_all(&msg, &signers);
    Case {
        id: format!("gen-{index} [{}]", labels.join(",")),
        msg,
        signers,
        malformed: None,
        wire: None,
        expect,
    }
}

/// Solana wire transactions: `generated / 10` (at least 180) from the synthetic
/// generator, legacy and v0 messages with 1 to 3 signers, a third of them with a
/// signature broken in a way chosen for each profile in turn (so small-order and
/// mixed-order keys are among them), plus damaged copies of some (cut short, with
/// trailing bytes, with the signature count changed) that must come back malformed.
/// Expected verdicts are the reference crates' over the message and keys the wire bytes
/// hold, so a backend is checked on locating them inside the raw transaction too.
pub(super) fn solana_cases(seed: u64, generated: usize) -> Vec<Case> {
    let per_spec = (generated / 90).max(20);
    let mut cases = Vec::new();
    for (p, profile) in Profile::ALL.into_iter().enumerate() {
        for signers in 1..=3 {
            let spec = SynthSpec {
                count: per_spec,
                profile,
                invalid_fraction: 0.35,
                msg_len: 0..=300,
                signers,
                format: Format::Solana,
                seed: seed ^ (10 * p + signers) as u64,
            };
            let Ok(txs) = synth::generate(&spec) else {
                continue;
            };
            for (i, tx) in txs.into_iter().enumerate() {
                let SynthTx::Solana { mut wire, .. } = tx else {
                    continue;
                };
                let id = format!("solana-{profile}-{signers}-{i}");
                match i % 10 {
                    7 => wire.truncate(wire.len() / 2),
                    8 => wire.push(0),
                    9 => wire[0] = wire[0].wrapping_add(1),
                    _ => {}
                }
                cases.push(solana_case(id, wire));
            }
        }
    }
    cases
}

/// A Solana case with the reference verdicts of what the parser finds in `wire`.
fn solana_case(id: String, wire: Vec<u8>) -> Case {
    let Ok(layout) = crate::input::solana::parse(&wire) else {
        return Case {
            id: format!("{id} [malformed]"),
            msg: Vec::new(),
            signers: Vec::new(),
            malformed: Some("does not parse".into()),
            wire: Some(wire),
            expect: Default::default(),
        };
    };
    let msg = wire[layout.message_at..].to_vec();
    let signers: Vec<Signer> = (0..layout.signer_count)
        .map(|i| {
            let mut pubkey = [0u8; 32];
            let mut signature = [0u8; 64];
            let k = layout.pubkeys_at + 32 * i;
            let g = layout.signatures_at + 64 * i;
            pubkey.copy_from_slice(&wire[k..k + 32]);
            signature.copy_from_slice(&wire[g..g + 64]);
            Signer { pubkey, signature }
        })
        .collect();
    let expect = reference_all(&msg, &signers);
    Case {
        id,
        msg,
        signers,
        malformed: None,
        wire: Some(wire),
        expect,
    }
}

/// An honest RFC 8032 signature by a fresh random key.
fn honest(rng: &mut impl RngCore, msg: &[u8]) -> Signer {
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    Signer {
        pubkey: key.verifying_key().to_bytes(),
        signature: key.sign(msg).to_bytes(),
    }
}

fn flip_bit(rng: &mut impl Rng, bytes: &mut [u8]) {
    let bit = rng.gen_range(0..bytes.len() * 8);
    bytes[bit / 8] ^= 1 << (bit % 8);
}

/// One signer: honest about half the time, otherwise one adversarial construction.
fn generate_signer(rng: &mut ChaCha20Rng, msg: &[u8]) -> (Signer, &'static str) {
    use crate::craft::*;
    use curve25519_dalek::edwards::EdwardsPoint;
    use curve25519_dalek::scalar::Scalar;
    use curve25519_dalek::traits::IsIdentity;

    let roll = rng.gen_range(0..100);
    if roll < 45 {
        return (honest(rng, msg), "honest");
    }
    if roll < 65 {
        let mut s = honest(rng, msg);
        let label = match roll {
            45..=49 => {
                flip_bit(rng, &mut s.signature[..32]);
                "R-bit-flip"
            }
            50..=54 => {
                flip_bit(rng, &mut s.signature[32..]);
                "S-bit-flip"
            }
            55..=59 => {
                flip_bit(rng, &mut s.pubkey);
                "A-bit-flip"
            }
            60..=62 => {
                let mut sig_s = [0u8; 32];
                sig_s.copy_from_slice(&s.signature[32..]);
                let k = rng.gen_range(1..=15u8);
                if let Some(big) = add_multiple_of_l(&sig_s, k) {
                    s.signature[32..].copy_from_slice(&big);
                }
                "S+kL"
            }
            _ => {
                s.signature[63] |= 0x20 << rng.gen_range(0..3);
                "S-high-bits"
            }
        };
        return (s, label);
    }
    let a = random_scalar(rng);
    let r = random_scalar(rng);
    let small = |rng: &mut ChaCha20Rng| {
        let aliases = small_order_aliases();
        let t = &aliases[rng.gen_range(0..8)];
        t[rng.gen_range(0..t.len())]
    };
    let ordinary = |s: &Scalar| EdwardsPoint::mul_base(s).compress().to_bytes();
    let (pubkey, signature, label) = match roll {
        65..=69 => {
            let pk = small(rng);
            let r_enc = ordinary(&r);
            (
                pk,
                sign_with(&Scalar::ZERO, &pk, &r, &r_enc, msg),
                "small-order-A",
            )
        }
        70..=72 => {
            let pk = small(rng);
            let r_enc = small(rng);
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(&r_enc);
            (pk, sig, "small-order-A-and-R,S=0")
        }
        73..=76 => {
            let pk = ordinary(&a);
            let r_enc = small(rng);
            (
                pk,
                sign_with(&a, &pk, &Scalar::ZERO, &r_enc, msg),
                "small-order-R",
            )
        }
        77..=81 => {
            let pk = mixed(&a, rng.gen_range(1..8));
            let r_enc = ordinary(&r);
            (pk, sign_with(&a, &pk, &r, &r_enc, msg), "torsion-shifted-A")
        }
        82..=85 => {
            let pk = ordinary(&a);
            let r_enc = mixed(&r, rng.gen_range(1..8));
            (pk, sign_with(&a, &pk, &r, &r_enc, msg), "torsion-shifted-R")
        }
        86..=88 => {
            // Both shifted; half the time search for the R torsion that makes the
            // cofactorless equation hold too.
            let ta = rng.gen_range(1..8);
            let pk = mixed(&a, ta);
            let want_both = rng.gen_bool(0.5);
            let mut r_enc = mixed(&r, rng.gen_range(1..8));
            if want_both {
                for tr in 0..8 {
                    let candidate = mixed(&r, tr);
                    let k = challenge(&candidate, &pk, msg);
                    if (torsion(tr) + k * torsion(ta)).is_identity() {
                        r_enc = candidate;
                        break;
                    }
                }
            }
            (
                pk,
                sign_with(&a, &pk, &r, &r_enc, msg),
                "torsion-shifted-A-and-R",
            )
        }
        89..=90 => {
            let list = noncanonical_ordinary();
            let pk = list[rng.gen_range(0..list.len())];
            let r_enc = ordinary(&r);
            (pk, sign_with(&a, &pk, &r, &r_enc, msg), "noncanonical-A")
        }
        91..=92 => {
            let list = noncanonical_ordinary();
            let pk = ordinary(&a);
            let r_enc = list[rng.gen_range(0..list.len())];
            (pk, sign_with(&a, &pk, &r, &r_enc, msg), "noncanonical-R")
        }
        93..=94 => {
            let pk = off_curve(rng);
            let r_enc = ordinary(&r);
            (pk, sign_with(&a, &pk, &r, &r_enc, msg), "off-curve-A")
        }
        95..=96 => {
            let pk = ordinary(&a);
            let r_enc = off_curve(rng);
            (pk, sign_with(&a, &pk, &r, &r_enc, msg), "off-curve-R")
        }
        _ => {
            let other: Vec<u8> = msg.iter().map(|b| b ^ 1).chain([7]).collect();
            let s = honest(rng, &other);
            (s.pubkey, s.signature, "other-message")
        }
    };
    (Signer { pubkey, signature }, label)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::test_backend::small_opts;

    #[test]
    fn conformance_solana_set_is_varied() {
        let opts = small_opts();
        let cases = solana_cases(opts.seed, opts.generated);
        assert!(cases.len() >= 9 * 20);
        let malformed = cases.iter().filter(|c| c.malformed.is_some()).count();
        assert!(malformed >= cases.len() / 10, "{malformed}");
        assert!(cases.iter().all(|c| c.wire.is_some()));
        let v0 = cases
            .iter()
            .filter(|c| c.malformed.is_none() && c.msg[0] & 0x80 != 0)
            .count();
        assert!(v0 > 0 && v0 < cases.len() - malformed, "{v0}");
        for profile in Profile::ALL {
            let verdicts: Vec<bool> = cases
                .iter()
                .flat_map(|c| c.expect(profile).iter().copied())
                .collect();
            assert!(
                verdicts.contains(&true) && verdicts.contains(&false),
                "{profile}"
            );
        }
        // The strict-only adversarial kinds are in: some signature valid under rfc8032
        // is invalid under strict.
        assert!(cases.iter().any(|c| c
            .expect(Profile::Strict)
            .iter()
            .zip(c.expect(Profile::Rfc8032))
            .any(|(s, r)| !s && *r)));
    }

    #[test]
    fn conformance_generation_is_deterministic_and_windowed() {
        let whole = generate(11, 0..700);
        assert_eq!(whole.len(), 700);
        let mut parts = generate(11, 0..300);
        parts.extend(generate(11, 300..700));
        assert_eq!(whole, parts);
        assert_ne!(generate(12, 0..10), whole[..10].to_vec());
        // The generator makes every label, and both verdicts in every profile.
        let labels: Vec<&str> = whole.iter().map(|c| c.id.as_str()).collect();
        for l in [
            "honest",
            "small-order-A",
            "small-order-R",
            "torsion-shifted-A-and-R",
            "noncanonical-R",
            "off-curve-A",
            "malformed",
            "S+kL",
        ] {
            assert!(labels.iter().any(|id| id.contains(l)), "{l}");
        }
        for p in Profile::ALL {
            let v: Vec<bool> = whole.iter().flat_map(|c| c.expect(p).to_vec()).collect();
            let valid = v.iter().filter(|&&b| b).count();
            assert!(
                valid > v.len() / 3 && valid < v.len() * 9 / 10,
                "{p}: {valid}/{}",
                v.len()
            );
        }
    }
}
