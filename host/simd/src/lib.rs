//! vigil-simd: Ed25519 verification of several signatures per instruction stream, one
//! signature per 64-bit SIMD lane, bit-exact with the reference crates under each of
//! Vigil's rules.
//!
//! Why its own crate: the CPU backend is in every appliance (it takes the small batches,
//! and everything when no accelerator is present or one fails), and the reference
//! crates verify one signature at a time. Modern server CPUs multiply eight 52-bit
//! numbers per instruction (AVX-512 IFMA) or four 32-bit ones (AVX2); laid out one
//! signature per lane, the whole verification runs that many signatures at the cost of
//! about one. Keeping it here keeps `unsafe` (the intrinsics) out of vigil-core.
//!
//! Layout, one job per file:
//!
//! * [`lanes`](crate::lanes): the field contract every instruction set implements;
//! * `ifma` (8 lanes, radix 2^51) and `avx2` (4 lanes, radix 2^25.5): the
//!   implementations, the only modules with `unsafe`;
//! * `point`: group formulas, decompression, encoding, table selection;
//! * `scalar`: S < L, k = SHA-512(R || A || M) mod L, signed radix-16 digits;
//! * `verify`: one group of lanes under a rule;
//! * `consts`: d, 2d, sqrt(-1) and the base-point table, checked against
//!   curve25519-dalek.
//!
//! **Run-time choice.** The crate builds for baseline x86-64: the lane code is
//! compiled per function with `#[target_feature]` and reached only through a
//! [`LaneVerifier`], which [`LaneVerifier::new`] makes only after
//! `is_x86_feature_detected!` found the instructions. One binary therefore runs on
//! every machine; on other architectures (or CPUs with neither instruction set) no
//! `LaneVerifier` can be made and the caller uses the reference crates.
//!
//! **The rules** (what the reference crates do, and so what every lane computes):
//!
//! * every rule: S < L; A decompresses as curve25519-dalek does (y >= p accepted);
//!   R' = [S]B + [k](-A) with k = SHA-512(R || A || M) mod L over the bytes as received;
//! * [`Rule::Rfc8032`] (ed25519-dalek `verify`): encode(R') = R, byte for byte;
//! * [`Rule::Strict`] (ed25519-dalek `verify_strict`): also neither A nor R of small
//!   order (R's order is R''s, since encode(R') = R);
//! * [`Rule::Zip215`] (ed25519-zebra): R decompresses (y >= p accepted) and
//!   [8](R - R') is the identity.

mod consts;
mod lanes;
mod point;
mod scalar;
mod verify;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod ifma;

#[cfg(test)]
mod lanes_tests;
#[cfg(test)]
mod point_tests;

pub use verify::Item;

use lanes::MAX_LANES;
use verify::Prepared;

/// Which signatures count as valid (Vigil's profiles; see the crate docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// ed25519-dalek 2 `verify_strict`.
    Strict,
    /// ed25519-dalek 2 `verify`.
    Rfc8032,
    /// ed25519-zebra 4 (ZIP-215).
    Zip215,
}

/// An instruction set with a lane-parallel verifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Isa {
    /// AVX-512 IFMA (with AVX-512F and DQ): 8 signatures per instruction stream.
    Ifma,
    /// AVX2: 4 signatures per instruction stream.
    Avx2,
}

impl Isa {
    /// Every instruction set, fastest first.
    pub const ALL: [Isa; 2] = [Isa::Ifma, Isa::Avx2];

    /// The name used in logs, `vigil devices` and `VIGIL_CPU_PATH`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Ifma => "avx512ifma",
            Isa::Avx2 => "avx2",
        }
    }

    /// Whether `VIGIL_REQUIRE_ISA` (a comma-separated list of names) names this
    /// instruction set: a test that would skip it because the CPU lacks it must fail
    /// instead, so that a path never passes untested where it was meant to run.
    pub fn required_by_env(self) -> bool {
        std::env::var("VIGIL_REQUIRE_ISA")
            .unwrap_or_default()
            .split(',')
            .any(|r| r == self.name())
    }

    /// Signatures per instruction stream.
    pub fn lanes(self) -> usize {
        match self {
            Isa::Ifma => 8,
            Isa::Avx2 => 4,
        }
    }
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A lane-parallel verifier for an instruction set this CPU has. Only
/// [`LaneVerifier::new`] (or [`LaneVerifier::best`]) makes one, after checking the CPU.
#[derive(Debug, Clone, Copy)]
pub struct LaneVerifier {
    imp: Imp,
}

#[derive(Debug, Clone, Copy)]
enum Imp {
    #[cfg(target_arch = "x86_64")]
    Ifma(ifma::Ifma),
    #[cfg(target_arch = "x86_64")]
    Avx2(avx2::Avx2),
}

impl LaneVerifier {
    /// A verifier for `isa`, or `None` if this CPU lacks it.
    pub fn new(isa: Isa) -> Option<LaneVerifier> {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Ifma => ifma::Ifma::detect().map(|t| LaneVerifier { imp: Imp::Ifma(t) }),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => avx2::Avx2::detect().map(|t| LaneVerifier { imp: Imp::Avx2(t) }),
            #[cfg(not(target_arch = "x86_64"))]
            _ => None,
        }
    }

    /// The fastest verifier this CPU runs, if any.
    pub fn best() -> Option<LaneVerifier> {
        Isa::ALL.into_iter().find_map(LaneVerifier::new)
    }

    /// Its instruction set.
    pub fn isa(&self) -> Isa {
        match self.imp {
            #[cfg(target_arch = "x86_64")]
            Imp::Ifma(_) => Isa::Ifma,
            #[cfg(target_arch = "x86_64")]
            Imp::Avx2(_) => Isa::Avx2,
        }
    }

    /// Verdicts of `items` under `rule` into `out` (`out[i]` for `items[i]`), one group
    /// of lanes at a time. Panics if the lengths differ (a caller's bug).
    pub fn verify(&self, rule: Rule, items: &[Item<'_>], out: &mut [bool]) {
        assert_eq!(items.len(), out.len(), "one verdict per item");
        let lanes = self.isa().lanes();
        for (group, verdicts) in items.chunks(lanes).zip(out.chunks_mut(lanes)) {
            let bits = self.verify_group(rule, group);
            for (i, v) in verdicts.iter_mut().enumerate() {
                *v = (bits >> i) & 1 == 1;
            }
        }
    }

    /// Verdicts of a prepared group, bit i for lane i.
    fn verify_group(&self, rule: Rule, group: &[Item<'_>]) -> u8 {
        debug_assert!(group.len() <= MAX_LANES);
        let prepared = Prepared::new(group);
        match self.imp {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the token exists only because the CPU has the features that
            // `verify_group` is compiled for.
            #[allow(unsafe_code)]
            Imp::Ifma(t) => unsafe { ifma::verify_group(t, rule, &prepared) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above, for AVX2.
            #[allow(unsafe_code)]
            Imp::Avx2(t) => unsafe { avx2::verify_group(t, rule, &prepared) },
        }
    }
}
