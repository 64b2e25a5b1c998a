//! Which code the CPU backend verifies signatures with, chosen once at start-up.
//!
//! * a lane-parallel verifier from `vigil-simd` (AVX-512 IFMA: 8 signatures per
//!   instruction stream; AVX2: 4), when the CPU has the instructions: the default;
//! * the reference crates themselves, one signature at a time (with ed25519-zebra's
//!   batch equation for `zip215`): every other CPU and architecture, and the
//!   `cpu-ref` backend that operators compare against.
//!
//! Every path gives exactly the reference crates' verdicts (the conformance harness
//! runs through each). `VIGIL_CPU_PATH` forces one (`auto`, `avx512ifma`, `avx2`,
//! `reference`) for tests and benchmarks; forcing a path this CPU lacks is an error, not
//! a silent fallback, so a benchmark never measures something other than it says.

use std::fmt;

pub use vigil_simd::Isa;
use vigil_simd::{LaneVerifier, Rule};

use crate::profile::Profile;

/// The environment variable that forces a path.
pub const ENV: &str = "VIGIL_CPU_PATH";

/// How the CPU backend verifies signatures.
#[derive(Debug, Clone, Copy)]
pub enum CpuPath {
    /// A lane-parallel verifier this CPU runs.
    Lanes(LaneVerifier),
    /// The reference crates, one signature at a time.
    Reference,
}

/// A path asked for by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathChoice {
    /// The fastest this CPU runs.
    Auto,
    /// A lane-parallel instruction set.
    Lanes(Isa),
    /// The reference crates.
    Reference,
}

/// Why a path cannot be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// Not one of the names.
    #[error("unknown CPU path {0:?} (expected auto, avx512ifma, avx2 or reference)")]
    Unknown(String),
    /// The CPU lacks the instructions.
    #[error("this CPU does not support the {0} path")]
    Unsupported(Isa),
}

impl std::str::FromStr for PathChoice {
    type Err = PathError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" | "" => Ok(PathChoice::Auto),
            "reference" => Ok(PathChoice::Reference),
            other => Isa::ALL
                .into_iter()
                .find(|i| i.name() == other)
                .map(PathChoice::Lanes)
                .ok_or_else(|| PathError::Unknown(other.to_owned())),
        }
    }
}

impl PathChoice {
    /// The choice in `VIGIL_CPU_PATH` (`Auto` when unset).
    pub fn from_env() -> Result<PathChoice, PathError> {
        match std::env::var(ENV) {
            Ok(v) => v.parse(),
            Err(_) => Ok(PathChoice::Auto),
        }
    }

    /// The path this choice means on this CPU.
    pub fn resolve(self) -> Result<CpuPath, PathError> {
        match self {
            PathChoice::Auto => Ok(LaneVerifier::best().map_or(CpuPath::Reference, CpuPath::Lanes)),
            PathChoice::Reference => Ok(CpuPath::Reference),
            PathChoice::Lanes(isa) => LaneVerifier::new(isa)
                .map(CpuPath::Lanes)
                .ok_or(PathError::Unsupported(isa)),
        }
    }
}

impl CpuPath {
    /// The path's name (`avx512ifma`, `avx2`, `reference`).
    pub fn name(&self) -> &'static str {
        match self {
            CpuPath::Lanes(v) => v.isa().name(),
            CpuPath::Reference => "reference",
        }
    }

    /// Signatures one instruction stream verifies (1 for the reference crates).
    pub fn lanes(&self) -> usize {
        match self {
            CpuPath::Lanes(v) => v.isa().lanes(),
            CpuPath::Reference => 1,
        }
    }
}

impl fmt::Display for CpuPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CpuPath::Lanes(v) => write!(f, "{} ({} lanes)", v.isa(), v.isa().lanes()),
            CpuPath::Reference => f.write_str("reference crates"),
        }
    }
}

/// The lane verifier's rule for a profile (the same reference crate behind each).
pub fn rule(profile: Profile) -> Rule {
    match profile {
        Profile::Strict => Rule::Strict,
        Profile::Rfc8032 => Rule::Rfc8032,
        Profile::Zip215 => Rule::Zip215,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_unknown_ones_are_refused() {
        assert_eq!("auto".parse::<PathChoice>(), Ok(PathChoice::Auto));
        assert_eq!("reference".parse::<PathChoice>(), Ok(PathChoice::Reference));
        for isa in Isa::ALL {
            assert_eq!(isa.name().parse::<PathChoice>(), Ok(PathChoice::Lanes(isa)));
        }
        assert!(matches!(
            "avx1024".parse::<PathChoice>(),
            Err(PathError::Unknown(_))
        ));
        assert_eq!(
            PathChoice::Reference.resolve().map(|p| p.name()),
            Ok("reference")
        );
    }

    #[test]
    fn auto_takes_the_fastest_lanes_the_cpu_has() {
        let auto = PathChoice::Auto.resolve().map(|p| p.name());
        let best = LaneVerifier::best().map_or("reference", |v| v.isa().name());
        assert_eq!(auto, Ok(best));
        for isa in Isa::ALL {
            let forced = PathChoice::Lanes(isa).resolve();
            match LaneVerifier::new(isa) {
                Some(_) => assert_eq!(forced.map(|p| p.name()), Ok(isa.name())),
                None => assert!(matches!(forced, Err(PathError::Unsupported(i)) if i == isa)),
            }
        }
    }
}
