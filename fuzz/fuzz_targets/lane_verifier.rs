//! Differential fuzzing of the lane-parallel verifiers (`vigil-simd`) against the
//! reference crates, under every profile, on every instruction set this CPU runs.
//!
//! The input describes one group of 1 to 9 signatures (9 spills into a second group,
//! so partial groups and idle lanes are covered). Each signature is built the way an
//! attacker would aim at the places verifiers disagree: A and R are canonical points,
//! mixed-order points ([x]B plus an 8-torsion point), any encoding of a small-order
//! point, a non-canonical encoding, or raw bytes; the signature is the one the secret
//! scalars make over those exact encodings (so the equations hold where they should),
//! then S may be replaced by S + kL, have a bit flipped, or be raw bytes; the message is
//! the rest of the input. Any verdict that differs from `reference_verify` aborts.

#![no_main]

use curve25519_dalek::scalar::Scalar;
use libfuzzer_sys::fuzz_target;
use vigil_core::cpu_path::Isa;
use vigil_core::craft;
use vigil_core::profile::{reference_verify, Profile};
use vigil_simd::{Item, LaneVerifier, Rule};

/// Reads the input a byte (or 32) at a time, zeros once it runs out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    fn bytes32(&mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for b in &mut out {
            *b = self.byte();
        }
        out
    }
}

/// An encoding of a point chosen by the input, and the secret scalar behind it (zero
/// where nobody knows one).
fn point(input: &mut Input<'_>) -> ([u8; 32], Scalar) {
    let kind = input.byte();
    let secret = Scalar::from_bytes_mod_order(input.bytes32());
    let pick = usize::from(input.byte());
    match kind % 6 {
        0 | 1 => (craft::mixed(&secret, 0), secret),
        2 => (craft::mixed(&secret, 1 + pick % 7), secret),
        3 => {
            let aliases = &craft::small_order_aliases()[pick % 8];
            (
                aliases[usize::from(input.byte()) % aliases.len()],
                Scalar::ZERO,
            )
        }
        4 => {
            let all = craft::noncanonical_encodings();
            (all[pick % all.len()], Scalar::ZERO)
        }
        _ => (input.bytes32(), Scalar::ZERO),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let count = 1 + usize::from(input.byte() % 9);
    let mut sigs: Vec<([u8; 32], [u8; 64], Vec<u8>)> = Vec::with_capacity(count);
    for _ in 0..count {
        let (a_enc, a) = point(&mut input);
        let (r_enc, r) = point(&mut input);
        let msg_len = usize::from(input.byte());
        let msg: Vec<u8> = (0..msg_len).map(|_| input.byte()).collect();
        let mut sig = craft::sign_with(&a, &a_enc, &r, &r_enc, &msg);
        match input.byte() % 8 {
            0 => {
                let mut s = [0u8; 32];
                s.copy_from_slice(&sig[32..]);
                if let Some(big) = craft::add_multiple_of_l(&s, 1 + input.byte() % 15) {
                    sig[32..].copy_from_slice(&big);
                }
            }
            1 => {
                let bit = usize::from(input.byte());
                sig[bit / 8 % 64] ^= 1 << (bit % 8);
            }
            2 => sig[32..].copy_from_slice(&input.bytes32()),
            _ => {}
        }
        sigs.push((a_enc, sig, msg));
    }
    let items: Vec<Item<'_>> = sigs
        .iter()
        .map(|(pubkey, signature, message)| Item {
            pubkey,
            signature,
            message,
        })
        .collect();
    for isa in Isa::ALL {
        let Some(verifier) = LaneVerifier::new(isa) else {
            continue;
        };
        for (profile, rule) in [
            (Profile::Strict, Rule::Strict),
            (Profile::Rfc8032, Rule::Rfc8032),
            (Profile::Zip215, Rule::Zip215),
        ] {
            let mut got = vec![false; items.len()];
            verifier.verify(rule, &items, &mut got);
            for ((pk, sig, msg), v) in sigs.iter().zip(&got) {
                let want = reference_verify(profile, pk, sig, msg);
                assert_eq!(
                    *v,
                    want,
                    "{isa} {profile}: pubkey {} sig {} msg {}",
                    hex(pk),
                    hex(sig),
                    hex(msg)
                );
            }
        }
    }
});

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
